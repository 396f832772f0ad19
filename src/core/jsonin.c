/*
 * jsonin: one strict pass (grammar, UTF-8, depth, the parse budget, the
 * caller's set-aside and capture rule) that builds the json-c tree as it
 * reads, and the typed field getters. See jsonin.h.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonin.h"
#include "utf8.h"
#include "util.h"

/* --- errors ------------------------------------------------------------ */

static int failv(char **cause, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int failv(char **cause, const char *fmt, va_list ap)
{
	if (cause)
		*cause = xvasprintf(fmt, ap);
	return -EBADMSG;
}

int jsonin_fail(char **cause, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = failv(cause, fmt, ap);
	va_end(ap);
	return r;
}

int jsonin_field_fail(char **cause, const char *prefix, const char *key, const char *why)
{
	return jsonin_fail(cause, "%s%s%s: %s", prefix, *prefix ? "." : "", key, why);
}

/* --- the lexer ----------------------------------------------------------- */

/* A stretch inside a string that reads as U+FFFD: an
 * unpaired surrogate escape, or bytes that are not UTF-8 (text cut
 * mid-character by the sender: one event is not lost for one character). */
struct fix {
	size_t from, to;
};

struct lexer {
	const unsigned char *s;
	size_t n, i;
	const char *err; /* NULL: ran out of input */
	bool nul;        /* the last string held "\u0000" */
	bool plain;      /* ... and was its own text: no escape, no fix */
	struct fix *fix; /* in order of position (the owner frees) */
	size_t n_fix, cap_fix;
};

static const char fix_text[] = "\\ufffd";
#define FIX_LEN (sizeof(fix_text) - 1)

static bool lex_fail(struct lexer *lx, const char *why)
{
	lx->err = why;
	return false;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void lex_ws(struct lexer *lx)
{
	while (lx->i < lx->n && is_ws(lx->s[lx->i]))
		lx->i++;
}

static bool lex_digits(struct lexer *lx)
{
	size_t start = lx->i;
	while (lx->i < lx->n && lx->s[lx->i] >= '0' && lx->s[lx->i] <= '9')
		lx->i++;
	if (lx->i == start)
		return lx->i < lx->n ? lex_fail(lx, "digit expected") : false;
	return true;
}

static bool lex_number(struct lexer *lx)
{
	if (lx->s[lx->i] == '-')
		lx->i++;
	if (lx->i < lx->n && lx->s[lx->i] == '0')
		lx->i++;
	else if (!lex_digits(lx))
		return false;
	if (lx->i < lx->n && lx->s[lx->i] == '.') {
		lx->i++;
		if (!lex_digits(lx))
			return false;
	}
	if (lx->i < lx->n && (lx->s[lx->i] == 'e' || lx->s[lx->i] == 'E')) {
		lx->i++;
		if (lx->i < lx->n && (lx->s[lx->i] == '+' || lx->s[lx->i] == '-'))
			lx->i++;
		if (!lex_digits(lx))
			return false;
	}
	/* a number at the very end is not cut: the caller sees the end */
	return true;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Four hex digits after "\u". */
static bool lex_hex4(struct lexer *lx, uint32_t *ret)
{
	uint32_t v = 0;
	for (int k = 0; k < 4; k++, lx->i++) {
		int h;
		if (lx->i >= lx->n)
			return false;
		h = hex_value(lx->s[lx->i]);
		if (h < 0)
			return lex_fail(lx, "invalid \\u escape");
		v = v * 16 + (uint32_t)h;
	}
	*ret = v;
	return true;
}

static void lex_fix(struct lexer *lx, size_t from, size_t to)
{
	xgrow((void **)&lx->fix, &lx->cap_fix, lx->n_fix + 1, sizeof(*lx->fix));
	lx->fix[lx->n_fix++] = (struct fix){ from, to };
}

static bool lex_string(struct lexer *lx)
{
	uint32_t cp, lo;
	size_t k, esc, after;

	lx->i++; /* the opening quote */
	lx->nul = false;
	lx->plain = true;
	while (lx->i < lx->n) {
		unsigned char c = lx->s[lx->i];
		if (c == '"') {
			lx->i++;
			return true;
		}
		if (c < 0x20)
			return lex_fail(lx, "control character in string");
		if (c < 0x80 && c != '\\') {
			lx->i++; /* most of any body: no call for it */
			continue;
		}
		if (c != '\\') {
			k = utf8_decode(lx->s + lx->i, lx->n - lx->i, &cp);
			if (k == 0) {
				/* a multi-byte sequence cut by the end of input
				 * is truncation, not junk */
				if (lx->n - lx->i < 4 && c >= 0xc2 && c <= 0xf4) {
					size_t m = 1;
					while (lx->i + m < lx->n && (lx->s[lx->i + m] & 0xc0) == 0x80)
						m++;
					if (lx->i + m == lx->n)
						return false;
				}
				/* one U+FFFD a byte, as sbuf writes them */
				k = 1;
				lex_fix(lx, lx->i, lx->i + 1);
				lx->plain = false;
			}
			lx->i += k;
			continue;
		}
		esc = lx->i;
		lx->plain = false;
		if (++lx->i >= lx->n)
			return false;
		c = lx->s[lx->i++];
		if (c == 'u') {
			if (!lex_hex4(lx, &cp))
				return false;
			lx->nul |= cp == 0;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				lex_fix(lx, esc, lx->i);
				continue;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (lx->i + 2 > lx->n)
					return false;
				if (lx->s[lx->i] != '\\' || lx->s[lx->i + 1] != 'u') {
					lex_fix(lx, esc, lx->i);
					continue;
				}
				after = lx->i;
				lx->i += 2;
				if (!lex_hex4(lx, &lo))
					return false;
				if (lo < 0xdc00 || lo > 0xdfff) {
					/* the next escape is read on its own */
					lex_fix(lx, esc, after);
					lx->i = after;
				}
			}
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return lex_fail(lx, "invalid escape in string");
		}
	}
	return false;
}

static bool lex_literal(struct lexer *lx, const char *lit)
{
	for (size_t k = 0; lit[k]; k++, lx->i++) {
		if (lx->i >= lx->n)
			return false;
		if (lx->s[lx->i] != (unsigned char)lit[k])
			return lex_fail(lx, "invalid literal");
	}
	return true;
}

static bool lex_scalar(struct lexer *lx)
{
	unsigned char c = lx->s[lx->i];

	if (c == '"')
		return lex_string(lx);
	if (c == '-' || (c >= '0' && c <= '9'))
		return lex_number(lx);
	if (c == 't')
		return lex_literal(lx, "true");
	if (c == 'f')
		return lex_literal(lx, "false");
	if (c == 'n')
		return lex_literal(lx, "null");
	return lex_fail(lx, "value expected");
}

/* Object key and colon, after '{' or ','; *ret_key and *ret_len get the
 * key's raw text (between the quotes, escapes as written). */
static bool lex_key(struct lexer *lx, size_t *ret_key, size_t *ret_len)
{
	lex_ws(lx);
	if (lx->i >= lx->n)
		return false;
	if (lx->s[lx->i] != '"')
		return lex_fail(lx, "quoted key expected");
	*ret_key = lx->i + 1;
	if (!lex_string(lx))
		return false;
	/* json-c keeps keys as C strings: "a\u0000b" would become "a" and
	 * could collapse into another key */
	if (lx->nul)
		return lex_fail(lx, "NUL character in a key");
	*ret_len = lx->i - 1 - *ret_key;
	lex_ws(lx);
	if (lx->i >= lx->n)
		return false;
	if (lx->s[lx->i] != ':')
		return lex_fail(lx, "':' expected");
	lx->i++;
	return true;
}

/* --- paths --------------------------------------------------------------- */

/* The next character of a raw key (escapes decoded) as UTF-8 bytes in
 * out; how many (0 at the end). The lexer has checked the escapes. */
static size_t key_next(const unsigned char *s, size_t n, size_t *i, unsigned char out[4])
{
	uint32_t cp, lo;

	if (*i >= n)
		return 0;
	if (s[*i] != '\\') {
		size_t k = utf8_decode(s + *i, n - *i, NULL);
		if (k == 0) {
			/* not UTF-8 (the lexer reads it as U+FFFD) */
			(*i)++;
			memcpy(out, "\xef\xbf\xbd", 3);
			return 3;
		}
		memcpy(out, s + *i, k);
		*i += k;
		return k;
	}
	(*i)++;
	switch (s[(*i)++]) {
	case 'b': out[0] = '\b'; return 1;
	case 'f': out[0] = '\f'; return 1;
	case 'n': out[0] = '\n'; return 1;
	case 'r': out[0] = '\r'; return 1;
	case 't': out[0] = '\t'; return 1;
	case 'u': break;
	default: out[0] = s[*i - 1]; return 1;
	}
	cp = 0;
	for (int k = 0; k < 4; k++)
		cp = cp * 16 + (uint32_t)hex_value(s[(*i)++]);
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		cp = 0xfffd; /* unpaired */
	} else if (cp >= 0xd800 && cp <= 0xdbff) {
		lo = 0;
		if (*i + 6 <= n && s[*i] == '\\' && s[*i + 1] == 'u') {
			for (int k = 2; k < 6; k++)
				lo = lo * 16 + (uint32_t)hex_value(s[*i + k]);
		}
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			*i += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		} else {
			cp = 0xfffd; /* unpaired: the next escape on its own */
		}
	}
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

bool jsonin_path_key(const struct jsonin_path *p, int level, const char *want)
{
	const struct jsonin_level *l;
	const unsigned char *s, *w = (const unsigned char *)want;
	unsigned char ch[4];
	size_t i = 0, k;

	if (level < 0 || level >= p->depth)
		return false;
	l = &p->lv[level];
	if (l->kind != '{')
		return false;
	s = p->body + l->key_off;
	/* the common case: no escape, compare the bytes */
	if (!memchr(s, '\\', l->key_len))
		return strlen(want) == l->key_len && memcmp(s, want, l->key_len) == 0;
	while ((k = key_next(s, l->key_len, &i, ch)) > 0) {
		for (size_t m = 0; m < k; m++, w++)
			if (*w != ch[m])
				return false;
	}
	return *w == '\0';
}

char *jsonin_unquote(const char *json, size_t len)
{
	const unsigned char *s = (const unsigned char *)json + 1;
	unsigned char ch[4];
	size_t n, i = 0, k = 0;
	char *out;

	struct lexer lx = { .s = (const unsigned char *)json, .n = len };

	/* exactly one valid string literal, or nothing */
	if (len < 2 || json[0] != '"' || !lex_string(&lx) || lx.i != len) {
		free(lx.fix);
		return NULL;
	}
	free(lx.fix);
	n = len - 2;
	/* decoded text is never longer than its escapes; a NUL's replacement
	 * is, so room for three bytes each */
	out = xmalloc(3 * n + 1);
	while ((len = key_next(s, n, &i, ch)) > 0) {
		if (len == 1 && ch[0] == 0) {
			memcpy(out + k, "\xef\xbf\xbd", 3);
			k += 3;
			continue;
		}
		memcpy(out + k, ch, len);
		k += len;
	}
	out[k] = '\0';
	return out;
}

/* --- the pass ------------------------------------------------------------ */

/* What json-c spends on a parsed value, in bytes (json-c 0.16, glibc,
 * x86-64, measured: 16 MiB of "[{},{},...]" took 4.3 GB): an object
 * allocates a hash table of 16 entries up front, an array 32 slots. A
 * body made of small containers costs 250 times its size, so the budget,
 * not the size of the body, is what bounds a parse's memory. */
#define COST_OBJECT 800
#define COST_ARRAY 160
#define COST_SCALAR 96 /* string, number, boolean (null is a NULL slot) */
#define COST_MEMBER 64 /* an object member: its key and hash entry */
#define COST_SLOT 8    /* the pointer that holds any value */
/* The most any byte of a body can add to the estimate: half of "{}". */
#define WORST_COST ((COST_SLOT + COST_OBJECT + 1) / 2)

/* The value being read lies inside a set-aside or captured one. */
#define IN_REGION (-1)

struct walk {
	struct lexer lx;
	const struct jsonin_opts *o;
	struct jsonin_level lv[JSONIN_MAX_DEPTH];
	bool key_plain[JSONIN_MAX_DEPTH]; /* lv[i]'s key is its own text */
	json_object *node[JSONIN_MAX_DEPTH]; /* lv[i] as built (while building) */
	int depth;
	bool building; /* the tree, as the walk goes */
	/* the value being set aside or captured (region_depth < 0: none) */
	int region_depth;
	enum jsonin_take region_take;
	int region_tag;
	unsigned char region_kind;
	size_t region_from;
	size_t cap_captures;
	char *buf; /* a key or a value's text, NUL-terminated, for json-c */
	size_t cap_buf;
	struct jsonin_doc *doc;
};

static size_t value_cost(unsigned char c)
{
	return COST_SLOT + (c == '{' ? COST_OBJECT : c == '[' ? COST_ARRAY : c == 'n' ? 0 : COST_SCALAR);
}

/* The first of the n fixes that begins at or after pos. */
static size_t fix_at(const struct fix *fx, size_t n, size_t pos)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fx[mid].from < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The text of body[from..to) without the whitespace between tokens, its
 * fixes written as U+FFFD escapes. */
static void compact(const unsigned char *s, size_t from, size_t to, const struct fix *fx, size_t nfx,
		    struct jsonin_capture *ret)
{
	size_t f = fix_at(fx, nfx, from), nf = fix_at(fx, nfx, to) - f;
	char *out = xmalloc(to - from + nf * FIX_LEN + 1);
	size_t n = 0;
	bool in_string = false;

	for (size_t i = from; i < to; i++) {
		unsigned char c = s[i];
		if (in_string) {
			if (f < nfx && fx[f].from == i) {
				memcpy(out + n, fix_text, FIX_LEN);
				n += FIX_LEN;
				i = fx[f++].to - 1;
				continue;
			}
			out[n++] = (char)c;
			if (c == '\\')
				out[n++] = (char)s[++i];
			else if (c == '"')
				in_string = false;
		} else if (!is_ws(c)) {
			out[n++] = (char)c;
			in_string = c == '"';
		}
	}
	out[n] = '\0';
	ret->text = out;
	ret->len = n;
}

static void end_region(struct walk *w)
{
	struct jsonin_doc *d = w->doc;

	if (w->region_take == JSONIN_CAPTURE) {
		xgrow((void **)&d->captures, &w->cap_captures, d->n_captures + 1, sizeof(*d->captures));
		compact(w->lx.s, w->region_from, w->lx.i, w->lx.fix, w->lx.n_fix, &d->captures[d->n_captures]);
		d->cost += d->captures[d->n_captures].len;
		d->n_captures++;
	} else {
		d->aside[w->region_tag].bytes += w->lx.i - w->region_from;
	}
	w->region_depth = -1;
}

/* The next member's key of the object at the top: where it is, and what
 * it costs unless it lies in a region. */
static bool next_key(struct walk *w)
{
	struct jsonin_level *l = &w->lv[w->depth - 1];

	if (!lex_key(&w->lx, &l->key_off, &l->key_len))
		return false;
	w->key_plain[w->depth - 1] = w->lx.plain;
	if (w->region_depth < 0)
		w->doc->cost += COST_MEMBER + l->key_len;
	return true;
}

/* A value starts at lx.i: the rule's choice (IN_REGION inside a value
 * set aside or captured), its price, its items. */
static int value_start(struct walk *w, unsigned char c)
{
	struct jsonin_doc *d = w->doc;
	enum jsonin_take take = JSONIN_BUILD;
	int tag = 0;

	if (w->region_depth >= 0) {
		if (w->depth == w->region_depth + 1 && w->region_take == JSONIN_SET_ASIDE && w->region_kind == '[') {
			d->aside[w->region_tag].items++;
			if (c != '{')
				d->aside[w->region_tag].non_objects++;
		}
		return IN_REGION;
	}
	if (w->o->rule) {
		struct jsonin_path p = { w->lx.s, w->lv, w->depth };
		take = w->o->rule(&p, c, &tag, w->o->arg);
		if (tag < 0 || tag >= JSONIN_TAGS)
			tag = 0;
	}
	if (take == JSONIN_SET_ASIDE && c != '{' && c != '[' && c != '"')
		take = JSONIN_BUILD;
	if (take == JSONIN_BUILD) {
		d->cost += value_cost(c);
		return take;
	}
	w->region_depth = w->depth;
	w->region_take = take;
	w->region_tag = tag;
	w->region_kind = c;
	w->region_from = w->lx.i;
	/* the tree holds what stands in its place: {} [] "" or a number */
	d->cost += take == JSONIN_CAPTURE ? value_cost('0') : value_cost(c);
	if (take == JSONIN_SET_ASIDE)
		d->aside[tag].values++;
	return take;
}

/* --- building ------------------------------------------------------------ */

/* json-c's constructors return NULL only when out of memory. */
static json_object *made(json_object *o)
{
	if (!o)
		abort(); /* allocation failure, as xmalloc would */
	return o;
}

/* Room for n bytes and a NUL in w->buf. */
static char *buf_for(struct walk *w, size_t n)
{
	xgrow((void **)&w->buf, &w->cap_buf, n + 1, 1);
	return w->buf;
}

/* The raw text of a string (between its quotes) as json-c holds it, in
 * w->buf: escapes decoded ("\u0000" a NUL byte, counted in the length),
 * each fix as U+FFFD. The lexer has checked it. */
static size_t decode(struct walk *w, const unsigned char *s, size_t n, bool plain)
{
	/* an escape is never shorter than what it stands for; a byte that is
	 * not UTF-8 becomes three */
	char *out = buf_for(w, plain ? n : 3 * n);
	unsigned char ch[4];
	size_t i = 0, k = 0, m;

	if (plain) {
		memcpy(out, s, n);
		out[n] = '\0';
		return n;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] < 0x80 && s[j] != '\\')
			j++;
		memcpy(out + k, s + i, j - i);
		k += j - i;
		i = j;
		if (i < n && (m = key_next(s, n, &i, ch)) > 0) {
			memcpy(out + k, ch, m);
			k += m;
		}
	}
	out[k] = '\0';
	return k;
}

/* A number as json-c 0.16 reads one: with a fraction or an exponent a
 * double that keeps its text; else an int64, an integer above INT64_MAX
 * a uint64 (either saturated, as strtoll and strtoull do). */
static json_object *new_number(struct walk *w, const unsigned char *s, size_t n)
{
	char *t = buf_for(w, n);
	uint64_t u;

	memcpy(t, s, n);
	t[n] = '\0';
	if (memchr(t, '.', n) || memchr(t, 'e', n) || memchr(t, 'E', n))
		return json_object_new_double_s(strtod(t, NULL), t);
	if (t[0] == '-')
		return json_object_new_int64(strtoll(t, NULL, 10));
	u = strtoull(t, NULL, 10);
	return u <= (uint64_t)INT64_MAX ? json_object_new_int64((int64_t)u) : json_object_new_uint64(u);
}

/* The scalar body[from..to) (checked by the lexer) as json-c holds it;
 * NULL for null. */
static json_object *new_scalar(struct walk *w, size_t from, size_t to)
{
	const unsigned char *s = w->lx.s + from;
	size_t n;

	switch (s[0]) {
	case '"':
		n = decode(w, s + 1, to - from - 2, w->lx.plain);
		return made(json_object_new_string_len(w->buf, (int)n));
	case 't':
		return made(json_object_new_boolean(1));
	case 'f':
		return made(json_object_new_boolean(0));
	case 'n':
		return NULL;
	default:
		return made(new_number(w, s, to - from));
	}
}

/* What the tree holds for a value set aside or captured (take) that
 * begins with c. */
static json_object *stand_in(struct walk *w, int take, unsigned char c)
{
	if (take == JSONIN_CAPTURE)
		return made(json_object_new_int64((int64_t)w->doc->n_captures));
	if (c == '{')
		return made(json_object_new_object());
	if (c == '[')
		return made(json_object_new_array());
	return made(json_object_new_string_len("", 0));
}

/* Hang v (NULL: a null) on the container that holds the value at the
 * current depth, under its key; at depth 0, v is the root. */
static void attach(struct walk *w, json_object *v)
{
	const struct jsonin_level *l;
	int i = w->depth - 1;

	if (i < 0) {
		w->doc->root = v;
		return;
	}
	l = &w->lv[i];
	if (l->kind == '[') {
		if (json_object_array_add(w->node[i], v) < 0)
			abort();
		return;
	}
	/* a second member of the same name replaces the first, as json-c's
	 * own parser does */
	decode(w, w->lx.s + l->key_off, l->key_len, w->key_plain[i]);
	if (json_object_object_add(w->node[i], w->buf, v) < 0)
		abort();
}

/* --- the walk ------------------------------------------------------------ */

static int walk_body(struct walk *w, size_t len, char **cause)
{
	struct lexer *lx = &w->lx;
	bool have_value = false;
	size_t mark;

	lex_ws(lx);
	if (lx->i >= lx->n)
		return jsonin_fail(cause, "empty body");
	if (lx->s[lx->i] != '{')
		return jsonin_fail(cause, "expected a JSON object at the top level");
	for (;;) {
		lex_ws(lx);
		if (!have_value) {
			unsigned char c;
			int take;
			if (lx->i >= lx->n)
				goto cut;
			c = lx->s[lx->i];
			take = value_start(w, c);
			if (c == '{' || c == '[') {
				struct jsonin_level *l;
				if (w->depth == JSONIN_MAX_DEPTH)
					return jsonin_fail(cause, "not valid JSON: nested deeper than %d at offset %zu",
							   JSONIN_MAX_DEPTH, lx->i);
				if (take != IN_REGION && w->building) {
					json_object *o = take != JSONIN_BUILD ? stand_in(w, take, c)
							 : c == '{'	       ? made(json_object_new_object())
									       : made(json_object_new_array());
					attach(w, o);
					w->node[w->depth] = o;
				}
				l = &w->lv[w->depth++];
				*l = (struct jsonin_level){ .kind = c };
				lx->i++;
				lex_ws(lx);
				if (lx->i < lx->n && lx->s[lx->i] == (c == '{' ? '}' : ']')) {
					w->depth--;
					lx->i++;
					have_value = true;
					if (w->region_depth == w->depth)
						end_region(w);
				} else if (c == '{' && !next_key(w)) {
					goto bad;
				}
				continue;
			}
			mark = lx->i;
			if (take != IN_REGION && take != JSONIN_BUILD && w->building)
				attach(w, stand_in(w, take, c));
			if (!lex_scalar(lx))
				goto bad;
			if (w->region_depth < 0)
				w->doc->cost += lx->i - mark;
			else if (w->region_depth == w->depth)
				end_region(w);
			if (take == JSONIN_BUILD && w->building)
				attach(w, new_scalar(w, mark, lx->i));
			have_value = true;
			continue;
		}
		if (w->depth == 0) {
			if (lx->i != lx->n)
				return jsonin_fail(cause, "trailing data after the JSON value at offset %zu", lx->i);
			break;
		}
		if (lx->i >= lx->n)
			goto cut;
		if (lx->s[lx->i] == ',') {
			struct jsonin_level *l = &w->lv[w->depth - 1];
			lx->i++;
			have_value = false;
			if (l->kind == '[')
				l->index++;
			else if (!next_key(w))
				goto bad;
		} else if (lx->s[lx->i] == (w->lv[w->depth - 1].kind == '{' ? '}' : ']')) {
			lx->i++;
			w->depth--;
			if (w->region_depth == w->depth)
				end_region(w);
		} else {
			lx->err = w->lv[w->depth - 1].kind == '{' ? "',' or '}' expected" : "',' or ']' expected";
			goto bad;
		}
	}
	/* each byte read as U+FFFD grows the text (a 6-byte escape, as json-c
	 * once read it) and its string (3 bytes): counted wherever it lies,
	 * set aside or not */
	w->doc->cost += w->lx.n_fix * FIX_LEN;
	if (w->doc->cost > w->o->max_cost)
		return jsonin_fail(cause, "more JSON structure than a documented answer has (about %zu MiB to parse, "
				   "more than %zu MiB)", w->doc->cost >> 20, w->o->max_cost >> 20);
	return 0;
bad:
	if (lx->err)
		return jsonin_fail(cause, "not valid JSON: %s at offset %zu", lx->err, lx->i);
cut:
	return jsonin_fail(cause, "truncated JSON (%zu bytes)", len);
}

void jsonin_doc_clear(struct jsonin_doc *d)
{
	if (!d)
		return;
	json_object_put(d->root);
	for (size_t i = 0; i < d->n_captures; i++)
		free(d->captures[i].text);
	free(d->captures);
	*d = (struct jsonin_doc){ 0 };
}

int jsonin_parse(const char *body, size_t len, const struct jsonin_opts *o, struct jsonin_doc *ret, char **cause)
{
	struct jsonin_doc d = { 0 };
	struct walk w = { .o = o, .region_depth = -1, .doc = &d };
	const char *nul;
	int r;

	if (!body || len == 0)
		return jsonin_fail(cause, "empty body");
	/* json-c's strings take an int length */
	if (len > o->max_body || len > (size_t)INT32_MAX / 2)
		return jsonin_fail(cause, "body too large (%zu bytes)", len);
	/* C strings would stop at a NUL */
	nul = memchr(body, '\0', len);
	if (nul)
		return jsonin_fail(cause, "NUL byte at offset %zu", (size_t)(nul - body));

	/* The tree is built as the body is read, when the body is too short
	 * to pass the budget whatever it holds (no byte costs more than half
	 * of "{}"); a longer one is read once to be checked and priced, and
	 * built on a second reading only if it passes: nothing of a body
	 * over the budget is ever built. */
	w.building = len <= o->max_cost / WORST_COST;
	w.lx = (struct lexer){ .s = (const unsigned char *)body, .n = len };
	r = walk_body(&w, len, cause);
	if (r == 0 && !w.building) {
		jsonin_doc_clear(&d);
		free(w.lx.fix);
		w = (struct walk){ .o = o, .region_depth = -1, .building = true, .buf = w.buf, .cap_buf = w.cap_buf,
				   .doc = &d };
		w.lx = (struct lexer){ .s = (const unsigned char *)body, .n = len };
		r = walk_body(&w, len, cause);
	}
	if (r == 0) {
		*ret = d;
		d = (struct jsonin_doc){ 0 };
	}
	jsonin_doc_clear(&d);
	free(w.buf);
	free(w.lx.fix);
	return r;
}

const struct jsonin_capture *jsonin_capture_of(const struct jsonin_doc *d, json_object *v)
{
	int64_t i;

	if (!v || !json_object_is_type(v, json_type_int))
		return NULL;
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i >= d->n_captures)
		return NULL;
	return &d->captures[i];
}

/* --- getters ------------------------------------------------------------- */

static const char *type_text(enum json_type t)
{
	switch (t) {
	case json_type_string:
		return "expected a string";
	case json_type_int:
		return "expected an integer";
	case json_type_double:
		return "expected a number";
	case json_type_boolean:
		return "expected a boolean";
	case json_type_object:
		return "expected an object";
	case json_type_array:
		return "expected an array";
	default:
		return "unexpected type";
	}
}

int jsonin_get(json_object *o, const char *prefix, const char *key, enum json_type t, unsigned flags,
	       json_object **ret, char **cause)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (flags & JSONIN_REQUIRED)
			return jsonin_field_fail(cause, prefix, key, "missing");
		*ret = NULL;
		return 0;
	}
	/* json-c represents a JSON null as a NULL value */
	if (!v && (flags & JSONIN_NULLABLE) && !(flags & JSONIN_REQUIRED)) {
		*ret = NULL;
		return 0;
	}
	if (!v || !(json_object_is_type(v, t) || (t == json_type_double && json_object_is_type(v, json_type_int))))
		return jsonin_field_fail(cause, prefix, key, type_text(t));
	*ret = v;
	return 0;
}

int jsonin_get_cstr(json_object *o, const char *prefix, const char *key, unsigned flags, const char **ret,
		    char **cause)
{
	json_object *v;
	const char *s;
	int r;

	*ret = NULL; /* on every path, failures too */
	r = jsonin_get(o, prefix, key, json_type_string, flags, &v, cause);
	if (r < 0)
		return r;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return jsonin_field_fail(cause, prefix, key, "string contains a NUL character");
	*ret = s;
	return 0;
}

int jsonin_get_str(json_object *o, const char *prefix, const char *key, unsigned flags, char **ret, char **cause)
{
	const char *s;
	int r = jsonin_get_cstr(o, prefix, key, flags, &s, cause);
	if (r < 0)
		return r;
	*ret = s ? xstrdup(s) : NULL;
	return 0;
}

int jsonin_get_int64(json_object *o, const char *prefix, const char *key, unsigned flags, int64_t min,
		     int64_t max, int64_t *ret, char **cause)
{
	json_object *v;
	char why[80];
	int64_t i;
	int r;

	r = jsonin_get(o, prefix, key, json_type_int, flags, &v, cause);
	if (r < 0)
		return r;
	if (!v) {
		*ret = 0;
		return 0;
	}
	/* json-c saturates out-of-range integers: above INT64_MAX it keeps
	 * a uint64 we can see; below INT64_MIN it silently clamps, so
	 * INT64_MIN itself cannot be told from an overflow and is refused. */
	i = json_object_get_int64(v);
	if ((i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) || i == INT64_MIN)
		return jsonin_field_fail(cause, prefix, key, "integer out of range");
	if (i < min || i > max) {
		snprintf(why, sizeof(why), "%" PRId64 " is outside %" PRId64 "..%" PRId64, i, min, max);
		return jsonin_field_fail(cause, prefix, key, why);
	}
	*ret = i;
	return 0;
}

int jsonin_check_shapes(json_object *o, const char *prefix, const struct jsonin_shape *s, size_t n, char **cause)
{
	json_object *v;
	for (size_t i = 0; i < n; i++) {
		int r = jsonin_get(o, prefix, s[i].key, s[i].type, s[i].flags, &v, cause);
		if (r < 0)
			return r;
	}
	return 0;
}
