/*
 * sbuf: see sbuf.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "utf8.h"
#include "util.h"

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	xgrow((void **)&b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* format straight into spare room (the common case, one pass); only a
	 * long result needs a second pass after growing */
	xgrow((void **)&b->s, &b->cap, b->len + 256, 1);
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->s[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		xgrow((void **)&b->s, &b->cap, b->len + (size_t)n + 1, 1);
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sbuf_add_int(struct sbuf *b, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	sbuf_add(b, p, (size_t)(buf + sizeof(buf) - p));
}

void sbuf_free(struct sbuf *b)
{
	if (!b)
		return;
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *sbuf_steal(struct sbuf *b, size_t *ret_len)
{
	char *s = b->s ? b->s : xstrdup("");

	if (ret_len)
		*ret_len = b->len;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

/* The escaper of both: raw_high passes bytes >= 0x80 on as they are. */
static void add_json(struct sbuf *b, const char *s, size_t n, bool raw_high)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	if (!s) {
		sbuf_add(b, "null", 4);
		return;
	}
	sbuf_add(b, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		size_t l;
		if (c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || raw_high)) {
			run++;
			i++;
			continue;
		}
		/* a run of plain bytes at once */
		if (run)
			sbuf_add(b, (const char *)p + i - run, run);
		run = 0;
		if (c >= 0x80) {
			l = utf8_decode(p + i, n - i, NULL);
			if (l == 0) {
				sbuf_add(b, "\\ufffd", 6);
				i++;
			} else {
				sbuf_add(b, (const char *)p + i, l);
				i += l;
			}
			continue;
		}
		switch (c) {
		case '"': sbuf_add(b, "\\\"", 2); break;
		case '\\': sbuf_add(b, "\\\\", 2); break;
		case '\b': sbuf_add(b, "\\b", 2); break;
		case '\f': sbuf_add(b, "\\f", 2); break;
		case '\n': sbuf_add(b, "\\n", 2); break;
		case '\r': sbuf_add(b, "\\r", 2); break;
		case '\t': sbuf_add(b, "\\t", 2); break;
		default: sbuf_addf(b, "\\u%04x", c); break;
		}
		i++;
	}
	if (run)
		sbuf_add(b, (const char *)p + i - run, run);
	sbuf_add(b, "\"", 1);
}

void sbuf_add_json_strn(struct sbuf *b, const char *s, size_t n)
{
	add_json(b, s, n, false);
}

void sbuf_add_json_bytes(struct sbuf *b, const char *s)
{
	add_json(b, s, s ? strlen(s) : 0, true);
}

void sbuf_add_json_str(struct sbuf *b, const char *s)
{
	sbuf_add_json_strn(b, s, s ? strlen(s) : 0);
}
