/*
 * sbuf: a growable string, the one way the core and the simulator build
 * text (JSON written by hand, tables, messages). Allocation never fails
 * (util.h's allocators abort), so callers need no error paths.
 */
#ifndef BC_SBUF_H
#define BC_SBUF_H

#include <stddef.h>
#include <stdint.h>

/* Start from { 0 }; NUL-terminated once anything was added. */
struct sbuf {
	char *s;
	size_t len, cap;
};

/* Append n bytes as they are (no format to parse: the JSON writers call
 * this a million times for a big document). */
void sbuf_add(struct sbuf *b, const char *s, size_t n);
/* Append a NUL-terminated string. */
void sbuf_adds(struct sbuf *b, const char *s);
/* Append printf-style. */
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append v in decimal, without a format to parse. */
void sbuf_add_int(struct sbuf *b, int64_t v);
/* Append a JSON string literal of the n bytes at s, or null when s is
 * NULL: '"', '\\' and control characters escaped (\n, \t, ... or \u00XX),
 * invalid UTF-8 replaced by \ufffd byte by byte, so the output is always
 * valid JSON. The one JSON string escaper of the daemon's views and of the
 * simulator. */
void sbuf_add_json_strn(struct sbuf *b, const char *s, size_t n);
/* The same for a NUL-terminated s (or NULL). */
void sbuf_add_json_str(struct sbuf *b, const char *s);
/* The same, but bytes from 0x80 on go out as they are, valid UTF-8 or
 * not, as json-c writes them: for records that must read back byte for
 * byte what was held (a job name in Latin-1 stays that job's). */
void sbuf_add_json_bytes(struct sbuf *b, const char *s);
/* Free the text and empty the buffer (accepts NULL). */
void sbuf_free(struct sbuf *b);
/* Hand the text over to the caller (who frees it; "" when nothing was
 * added) and empty the buffer; its length in *ret_len (may be NULL). */
char *sbuf_steal(struct sbuf *b, size_t *ret_len);

#endif
