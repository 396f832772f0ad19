/*
 * util: allocation that never returns NULL, string helpers, and the
 * diagnostics list that every loader fills with "FILE:LINE: message" entries
 * so that all errors of a load are reported, not only the first.
 */
#ifndef BC_UTIL_H
#define BC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocators that abort the process on exhaustion (a daemon cannot go on). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow *p (holding *cap elements of size) so that it holds at least need. */
void xgrow(void **p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copy s into buf of size bytes, cut to fit, as snprintf(buf, size, "%s",
 * s) does, without printf. */
void str_copy(char *buf, size_t size, const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* FNV-1a 64: small and stable across builds and hosts; notices a change,
 * no defence against a forger. Start from FNV1A64_INIT. */
#define FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a64(uint64_t h, const void *data, size_t len);

/* Free *p and set it to NULL. */
void freep(void *p);

/* Parse a decimal integer in [min, max]; 0 or -EINVAL/-ERANGE. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* A time span in systemd's syntax (systemd.time(7)), whole seconds: one
 * or more numbers each with a unit, "2d", "1h 30min", "1w2d"; units s
 * sec second(s), m min minute(s), h hr hour(s), d day(s), w week(s); a
 * bare number is seconds. 0 and *ret, or -EINVAL (not a span) or
 * -ERANGE (beyond ten years). */
int parse_timespan(const char *s, int64_t *ret);

/* One diagnostic: where it is and what is wrong. */
struct diag_entry {
	char *file; /* NULL when there is no file */
	int line;   /* 0 when there is no line */
	char *msg;
};

/* An ordered list of diagnostics, collected during one load. */
struct diag {
	struct diag_entry *v;
	size_t n, cap;
};

/* Append "FILE:LINE: message" (file may be NULL, line may be 0). */
void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void diag_vadd(struct diag *d, const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* Format entry i as one line, the caller frees. */
char *diag_format(const struct diag *d, size_t i);
/* Move every entry of src to the end of dst (src is left empty). */
void diag_move(struct diag *dst, struct diag *src);
void diag_clear(struct diag *d);


/* The closest of the candidates to word (Levenshtein distance at most 2 or a
 * third of the word), or NULL: for "did you mean" hints. */
const char *closest_word(const char *word, const char *const *candidates, size_t n);

#endif
