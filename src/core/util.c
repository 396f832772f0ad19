/*
 * util: small helpers shared by every module.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Out of memory: a daemon cannot go on. The core writes nothing (no I/O);
 * the abort is in the journal as the process's end (SIGABRT). */
static void oom(void)
{
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void xgrow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	if (need <= c)
		return;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			oom();
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		oom();
	*p = xrealloc(*p, c * size);
	*cap = c;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

void str_copy(char *buf, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void freep(void *p)
{
	void **pp = p;
	free(*pp);
	*pp = NULL;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0' || end == s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_timespan(const char *s, int64_t *ret)
{
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {
		{ "seconds", 1 }, { "second", 1 }, { "sec", 1 },  { "s", 1 },	  { "minutes", 60 },
		{ "minute", 60 }, { "min", 60 },   { "m", 60 },	  { "hours", 3600 }, { "hour", 3600 },
		{ "hr", 3600 },	  { "h", 3600 },   { "days", 86400 }, { "day", 86400 },  { "d", 86400 },
		{ "weeks", 604800 }, { "week", 604800 }, { "w", 604800 },
	};
	const int64_t max = (int64_t)3660 * 86400;
	int64_t total = 0;
	bool any = false;

	if (!s)
		return -EINVAL;
	for (;;) {
		int64_t v = 0, unit = 1;
		size_t len;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > max)
				return -ERANGE;
			v = v * 10 + (*s - '0');
		}
		while (*s == ' ' || *s == '\t')
			s++;
		len = strspn(s, "abcdefghijklmnopqrstuvwxyz");
		if (len > 0) {
			size_t i;
			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].name) == len && strncmp(s, units[i].name, len) == 0)
					break;
			if (i == sizeof(units) / sizeof(units[0]))
				return -EINVAL;
			unit = units[i].secs;
			s += len;
		} else if (*s) {
			/* a bare number only alone (or last) */
			return -EINVAL;
		}
		if (v > max / unit || total + v * unit > max)
			return -ERANGE;
		total += v * unit;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret = total;
	return 0;
}

void diag_vadd(struct diag *d, const char *file, int line, const char *fmt, va_list ap)
{
	xgrow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n].file = xstrdup(file);
	d->v[d->n].line = line;
	d->v[d->n].msg = xvasprintf(fmt, ap);
	d->n++;
}

void diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, file, line, fmt, ap);
	va_end(ap);
}

char *diag_format(const struct diag *d, size_t i)
{
	const struct diag_entry *e = &d->v[i];
	if (e->file && e->line > 0)
		return xasprintf("%s:%d: %s", e->file, e->line, e->msg);
	if (e->file)
		return xasprintf("%s: %s", e->file, e->msg);
	return xstrdup(e->msg);
}

void diag_move(struct diag *dst, struct diag *src)
{
	xgrow((void **)&dst->v, &dst->cap, dst->n + src->n, sizeof(*dst->v));
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	free(src->v);
	src->v = NULL;
	src->n = src->cap = 0;
}

void diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}


static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row, best;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = diag + cost;
			if (row[j] + 1 < v)
				v = row[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	best = row[lb];
	free(row);
	return best;
}

const char *closest_word(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, limit = strlen(word) / 3;

	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++) {
		size_t d = levenshtein(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

uint64_t fnv1a64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
