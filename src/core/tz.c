/*
 * tz: time zones read straight from TZif files (RFC 8536), plus the POSIX TZ
 * footer rule that such files carry for instants after their last
 * transition (the calendar arithmetic is civil.c's).
 *
 * Nothing here consults TZ, mktime or localtime: their answers depend on
 * process-global state and on earlier calls, and a schedule must not.
 * tz_parse() treats its input as hostile (it is fuzzed): every count and
 * index is checked against the bytes actually present.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"
#include "util.h"

#define SECS_PER_DAY 86400
/* Days in the 400-year Gregorian cycle; a multiple of 7, so weekdays repeat too. */
#define DAYS_PER_CYCLE 146097
/* RFC 8536 bounds for a UT offset (-25:59:59 .. +25:59:59 rounded to its text). */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* Any instant whose wall time is L lies within this distance of L. */
#define WINDOW (27 * 3600)
/* Transition times beyond this are nonsense (the "big bang" marker is -2^59). */
#define TRANS_LIMIT ((int64_t)1 << 60)
#define ABBR_MAX 31
#define FOOTER_MAX 256

struct tz_type {
	int32_t utoff;
	bool isdst;
	const char *abbr; /* points into tz.chars */
};

/* One end of a POSIX DST rule: a date form and a local time of day. */
struct tz_rule {
	char form; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
	int n, month, week, wday;
	int32_t time; /* seconds after local midnight, may be negative or > 24h */
};

struct tz_footer {
	bool present, has_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	char std_abbr[ABBR_MAX + 1], dst_abbr[ABBR_MAX + 1];
	struct tz_rule start, end;
};

struct tz {
	char *name;
	size_t ntrans;
	int64_t *trans;   /* strictly ascending */
	uint8_t *idx;     /* type index of each transition */
	size_t ntypes;
	struct tz_type *types;
	char *chars;      /* designations, with one extra NUL appended */
	struct tz_footer ft;
};

/* ---- POSIX TZ footer ---- */

/* The day (since the epoch) on which a rule falls in year y. */
static int64_t rule_day(const struct tz_rule *r, int64_t y)
{
	int64_t jan1 = civil_to_days(y, 1, 1);

	switch (r->form) {
	case 'J':
		/* Jn never counts Feb 29: day 60 is always March 1. */
		return jan1 + r->n - 1 + (civil_is_leap(y) && r->n >= 60);
	case 'N':
		return jan1 + r->n;
	default: {
		int64_t first = civil_to_days(y, r->month, 1);
		int d = 1 + (r->wday - civil_weekday(first) + 7) % 7 + (r->week - 1) * 7;
		int mdays = civil_days_in_month(y, r->month);

		while (d > mdays)
			d -= 7;
		return first + d - 1;
	}
	}
}

/* The DST start and end instants of the footer rule in year y. */
static void footer_year(const struct tz_footer *f, int64_t y, int64_t *ret_start, int64_t *ret_end)
{
	/* Each rule time is in the local time in force just before it. */
	*ret_start = rule_day(&f->start, y) * SECS_PER_DAY + f->start.time - f->std_off;
	*ret_end = rule_day(&f->end, y) * SECS_PER_DAY + f->end.time - f->dst_off;
}

static bool footer_isdst(const struct tz_footer *f, int64_t t)
{
	const int64_t cycle = (int64_t)DAYS_PER_CYCLE * SECS_PER_DAY;
	int64_t tr, y, best = INT64_MIN;
	bool dst = false;
	int m, d;

	if (!f->has_dst)
		return false;
	/* The rule repeats every 400 years; fold t into 1970..2370 so the
	 * neighbouring years' arithmetic cannot overflow. */
	tr = t % cycle;
	if (tr < 0)
		tr += cycle;
	civil_from_days(civil_day_of(tr), &y, &m, &d);
	/* Rule times may reach past a year's end (v3 allows 167h), so look at
	 * the neighbours too and take the latest change at or before tr. At a
	 * tie (DST all year) the start wins. */
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		int64_t s, e;

		footer_year(f, yy, &s, &e);
		if (e <= tr && (e > best)) {
			best = e;
			dst = false;
		}
		if (s <= tr && (s >= best)) {
			best = s;
			dst = true;
		}
	}
	return dst;
}

/* Parse an abbreviation, plain (letters) or quoted (<...>). */
static bool parse_abbr(const char **pp, char *out)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '<') {
		p++;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= '0' && *p <= '9') || *p == '+' || *p == '-') {
			if (n == ABBR_MAX)
				return false;
			out[n++] = *p++;
		}
		if (*p != '>')
			return false;
		p++;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
			if (n == ABBR_MAX)
				return false;
			out[n++] = *p++;
		}
	}
	if (n < 3)
		return false;
	out[n] = '\0';
	*pp = p;
	return true;
}

/* An unsigned decimal of 1..maxdigits digits. */
static bool parse_num(const char **pp, int maxdigits, int *ret)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (*p >= '0' && *p <= '9') {
		if (++n > maxdigits)
			return false;
		v = v * 10 + (*p++ - '0');
	}
	if (n == 0)
		return false;
	*pp = p;
	*ret = v;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh at most maxh; returns signed seconds. */
static bool parse_hms(const char **pp, int maxh, int32_t *ret)
{
	const char *p = *pp;
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!parse_num(&p, 3, &h) || h > maxh)
		return false;
	if (*p == ':') {
		p++;
		if (!parse_num(&p, 2, &m) || m > 59)
			return false;
		if (*p == ':') {
			p++;
			if (!parse_num(&p, 2, &s) || s > 59)
				return false;
		}
	}
	*pp = p;
	*ret = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool parse_rule(const char **pp, struct tz_rule *r)
{
	const char *p = *pp;

	if (*p == 'J') {
		p++;
		r->form = 'J';
		if (!parse_num(&p, 3, &r->n) || r->n < 1 || r->n > 365)
			return false;
	} else if (*p == 'M') {
		p++;
		r->form = 'M';
		if (!parse_num(&p, 2, &r->month) || r->month < 1 || r->month > 12 || *p++ != '.' ||
		    !parse_num(&p, 1, &r->week) || r->week < 1 || r->week > 5 || *p++ != '.' ||
		    !parse_num(&p, 1, &r->wday) || r->wday > 6)
			return false;
	} else {
		r->form = 'N';
		if (!parse_num(&p, 3, &r->n) || r->n > 365)
			return false;
	}
	r->time = 2 * 3600;
	/* TZif v3 lets the time be negative or run to 167 hours. */
	if (*p == '/') {
		p++;
		if (!parse_hms(&p, 167, &r->time))
			return false;
	}
	*pp = p;
	return true;
}

/* Parse a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0". */
static bool parse_footer(const char *s, struct tz_footer *f, const char **why)
{
	const char *p = s;
	int32_t off;

	memset(f, 0, sizeof(*f));
	*why = "bad standard-time name in the TZ string";
	if (!parse_abbr(&p, f->std_abbr))
		return false;
	*why = "bad standard-time offset in the TZ string";
	if (!parse_hms(&p, 24, &off))
		return false;
	/* POSIX counts hours west; TZif and this module count seconds east. */
	f->std_off = -off;
	f->present = true;
	if (!*p)
		return true;
	*why = "bad daylight-time name in the TZ string";
	if (!parse_abbr(&p, f->dst_abbr))
		return false;
	f->has_dst = true;
	f->dst_off = f->std_off + 3600;
	if (*p && *p != ',') {
		*why = "bad daylight-time offset in the TZ string";
		if (!parse_hms(&p, 24, &off))
			return false;
		f->dst_off = -off;
	}
	*why = "bad DST rule in the TZ string";
	if (!*p) {
		/* POSIX leaves the default to the implementation; tzcode uses
		 * the US rules, and so do we. */
		f->start = (struct tz_rule){ .form = 'M', .month = 3, .week = 2, .time = 7200 };
		f->end = (struct tz_rule){ .form = 'M', .month = 11, .week = 1, .time = 7200 };
		return true;
	}
	if (*p++ != ',' || !parse_rule(&p, &f->start) || *p++ != ',' || !parse_rule(&p, &f->end))
		return false;
	*why = "trailing characters in the TZ string";
	return *p == '\0';
}

/* ---- TZif ---- */

struct tzif_reader {
	const uint8_t *p;
	size_t left;
};

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static const uint8_t *take(struct tzif_reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_header(struct tzif_reader *r, struct tzif_header *h, const char **why)
{
	const uint8_t *p = take(r, 44);

	if (!p) {
		*why = "truncated header";
		return false;
	}
	if (memcmp(p, "TZif", 4) != 0) {
		*why = "no TZif magic";
		return false;
	}
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4')) {
		*why = "unknown TZif version";
		return false;
	}
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256) {
		*why = "type count out of range";
		return false;
	}
	if (h->charcnt == 0) {
		*why = "no time zone designations";
		return false;
	}
	if ((h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt)) {
		*why = "standard/UT indicator count does not match the type count";
		return false;
	}
	return true;
}

static uint64_t block_size(const struct tzif_header *h, unsigned timesize)
{
	return (uint64_t)h->timecnt * (timesize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

/* Read one data block into z; the block's size was already checked. */
static bool read_block(struct tzif_reader *r, const struct tzif_header *h, unsigned timesize,
		       struct tz *z, const char **why)
{
	const uint8_t *tp, *ip, *yp, *cp, *sp, *up;

	if (block_size(h, timesize) > r->left) {
		*why = "truncated data block";
		return false;
	}
	tp = take(r, (size_t)h->timecnt * timesize);
	ip = take(r, h->timecnt);
	yp = take(r, (size_t)h->typecnt * 6);
	cp = take(r, h->charcnt);
	if (h->leapcnt) {
		/* Leap-second ("right/") zones count TAI-like seconds; a
		 * schedule in POSIX time would drift by the leap count. */
		*why = "leap-second records are not supported";
		return false;
	}
	sp = take(r, h->isstdcnt);
	up = take(r, h->isutcnt);

	z->ntrans = h->timecnt;
	z->trans = xcalloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
	z->idx = xcalloc(h->timecnt ? h->timecnt : 1, 1);
	for (size_t i = 0; i < h->timecnt; i++) {
		int64_t t = timesize == 8 ? be64(tp + 8 * i) : (int32_t)be32(tp + 4 * i);

		if (t < -TRANS_LIMIT || t > TRANS_LIMIT) {
			*why = "transition time out of range";
			return false;
		}
		if (i > 0 && t <= z->trans[i - 1]) {
			*why = "transition times not strictly ascending";
			return false;
		}
		if (ip[i] >= h->typecnt) {
			*why = "transition names a type that does not exist";
			return false;
		}
		z->trans[i] = t;
		z->idx[i] = ip[i];
	}
	z->chars = xmalloc((size_t)h->charcnt + 1);
	memcpy(z->chars, cp, h->charcnt);
	z->chars[h->charcnt] = '\0';
	z->ntypes = h->typecnt;
	z->types = xcalloc(h->typecnt, sizeof(*z->types));
	for (size_t i = 0; i < h->typecnt; i++) {
		const uint8_t *q = yp + 6 * i;
		int32_t off = (int32_t)be32(q);

		if (off < UTOFF_MIN || off > UTOFF_MAX) {
			*why = "UT offset out of range";
			return false;
		}
		if (q[4] > 1) {
			*why = "DST flag is neither 0 nor 1";
			return false;
		}
		if (q[5] >= h->charcnt) {
			*why = "designation index out of range";
			return false;
		}
		z->types[i] = (struct tz_type){ .utoff = off, .isdst = q[4], .abbr = z->chars + q[5] };
	}
	for (size_t i = 0; i < h->isstdcnt; i++)
		if (sp[i] > 1) {
			*why = "standard/wall indicator is neither 0 nor 1";
			return false;
		}
	for (size_t i = 0; i < h->isutcnt; i++)
		if (up[i] > 1 || (up[i] == 1 && (h->isstdcnt == 0 || sp[i] != 1))) {
			*why = "bad UT/local indicator";
			return false;
		}
	return true;
}

static bool read_footer(struct tzif_reader *r, struct tz *z, const char **why)
{
	const uint8_t *nl;
	char buf[FOOTER_MAX + 1];
	size_t len;

	if (!take(r, 1) || r->p[-1] != '\n') {
		*why = "missing TZ string footer";
		return false;
	}
	nl = memchr(r->p, '\n', r->left);
	if (!nl) {
		*why = "unterminated TZ string footer";
		return false;
	}
	len = (size_t)(nl - r->p);
	if (len > FOOTER_MAX || memchr(r->p, '\0', len)) {
		*why = "TZ string footer too long or not text";
		return false;
	}
	memcpy(buf, r->p, len);
	buf[len] = '\0';
	take(r, len + 1);
	if (len == 0)
		return true; /* v2+ may say "no rule": the last type holds forever */
	return parse_footer(buf, &z->ft, why);
}

void tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->trans);
	free(z->idx);
	free(z->types);
	free(z->chars);
	free(z);
}

int tz_parse(const char *name, const void *data, size_t len, struct tz **ret, char **cause)
{
	struct tzif_reader r = { data, len };
	struct tzif_header h;
	struct tz *z = xcalloc(1, sizeof(*z));
	const char *why = NULL;
	unsigned timesize = 4;
	int rc = -EBADMSG;

	if (!data)
		r.left = 0;
	z->name = xstrdup(name ? name : "");
	if (!read_header(&r, &h, &why))
		goto out;
	if (h.version != 0) {
		/* Skip the 32-bit data; the 64-bit block after it is exact. */
		if (block_size(&h, 4) > r.left) {
			why = "truncated version-1 data block";
			goto out;
		}
		take(&r, (size_t)block_size(&h, 4));
		if (!read_header(&r, &h, &why))
			goto out;
		timesize = 8;
	}
	if (!read_block(&r, &h, timesize, z, &why))
		goto out;
	if (timesize == 8 && !read_footer(&r, z, &why))
		goto out;
	*ret = z;
	z = NULL;
	rc = 0;
out:
	if (rc < 0 && cause)
		*cause = xasprintf("time zone '%s': not a valid TZif file (%s)", name ? name : "", why);
	tz_free(z);
	return rc;
}

/* ---- lookups and conversions ---- */

void tz_lookup(const struct tz *z, int64_t t, int *ret_offset, const char **ret_abbr, bool *ret_isdst)
{
	int off;
	const char *abbr;
	bool dst;

	if (z->ft.present && (z->ntrans == 0 || t >= z->trans[z->ntrans - 1])) {
		dst = footer_isdst(&z->ft, t);
		off = dst ? z->ft.dst_off : z->ft.std_off;
		abbr = dst ? z->ft.dst_abbr : z->ft.std_abbr;
	} else {
		const struct tz_type *ty;

		if (z->ntrans == 0 || t < z->trans[0]) {
			ty = &z->types[0];
		} else {
			/* The last transition at or before t. */
			size_t lo = 0, hi = z->ntrans;
			while (hi - lo > 1) {
				size_t mid = lo + (hi - lo) / 2;
				if (z->trans[mid] <= t)
					lo = mid;
				else
					hi = mid;
			}
			ty = &z->types[z->idx[lo]];
		}
		off = ty->utoff;
		abbr = ty->abbr;
		dst = ty->isdst;
	}
	if (ret_offset)
		*ret_offset = off;
	if (ret_abbr)
		*ret_abbr = abbr;
	if (ret_isdst)
		*ret_isdst = dst;
}

static int lookup_offset(const struct tz *z, int64_t t)
{
	int off;

	tz_lookup(z, t, &off, NULL, NULL);
	return off;
}

static void push(int64_t **v, size_t *n, size_t *cap, int64_t t)
{
	xgrow((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = t;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Every instant in (lo, hi] at which the offset may change, ascending. */
static size_t transitions_between(const struct tz *z, int64_t lo, int64_t hi, int64_t **ret)
{
	int64_t *v = NULL;
	size_t n = 0, cap = 0, i = 0, hiidx = z->ntrans;

	/* First table transition after lo. */
	while (hiidx > i) {
		size_t mid = i + (hiidx - i) / 2;
		if (z->trans[mid] <= lo)
			i = mid + 1;
		else
			hiidx = mid;
	}
	for (; i < z->ntrans && z->trans[i] <= hi; i++)
		push(&v, &n, &cap, z->trans[i]);
	if (z->ft.present && z->ft.has_dst) {
		int64_t from = z->ntrans ? z->trans[z->ntrans - 1] : INT64_MIN;
		int64_t y0, y1;
		int m, d;

		civil_from_days(civil_day_of(lo), &y0, &m, &d);
		civil_from_days(civil_day_of(hi), &y1, &m, &d);
		for (int64_t y = y0 - 1; y <= y1 + 1; y++) {
			int64_t ev[2];

			footer_year(&z->ft, y, &ev[0], &ev[1]);
			for (int k = 0; k < 2; k++)
				if (ev[k] > lo && ev[k] <= hi && ev[k] > from)
					push(&v, &n, &cap, ev[k]);
		}
		if (n > 1)
			qsort(v, n, sizeof(*v), cmp_i64);
	}
	*ret = v;
	return n;
}

int64_t tz_to_instant(const struct tz *z, const struct civil *local, enum tz_kind *ret_kind)
{
	int64_t L = civil_to_unix_utc(local);
	int64_t lo = L - WINDOW, hi = L + WINDOW;
	int64_t *tr = NULL, result = 0, seg_start = lo;
	size_t n = transitions_between(z, lo, hi, &tr), found = 0;
	int seg_off = lookup_offset(z, lo);
	enum tz_kind kind = TZ_NORMAL;

	/* The offset is constant on each segment between transitions; a
	 * reading L - off is real when it falls inside its own segment. */
	for (size_t i = 0; i <= n; i++) {
		int64_t seg_end = i < n ? tr[i] : hi + 1;
		int64_t cand = L - seg_off;

		if (cand >= seg_start && cand < seg_end && found++ == 0)
			result = cand;
		if (i < n) {
			seg_start = tr[i];
			seg_off = lookup_offset(z, tr[i]);
		}
	}
	if (found > 1)
		kind = TZ_OVERLAP;
	if (found == 0) {
		/* A gap: read the wall time with the offset in force before it. */
		kind = TZ_GAP;
		result = L - lookup_offset(z, lo);
		for (size_t i = 0; i < n; i++) {
			int before = lookup_offset(z, tr[i] - 1), after = lookup_offset(z, tr[i]);

			if (before < after && L >= tr[i] + before && L < tr[i] + after) {
				result = L - before;
				break;
			}
		}
	}
	free(tr);
	if (ret_kind)
		*ret_kind = kind;
	return result;
}

void tz_to_local(const struct tz *z, int64_t t, struct civil *ret, int *ret_offset)
{
	int off = lookup_offset(z, t);
	int64_t l;

	if (__builtin_add_overflow(t, off, &l))
		l = off > 0 ? INT64_MAX : INT64_MIN;
	unix_to_civil_utc(l, ret);
	if (ret_offset)
		*ret_offset = off;
}

void tz_format_offset(int offset, char *buf, size_t size)
{
	int a = offset < 0 ? -offset : offset;

	if (a % 60)
		snprintf(buf, size, "%c%02d:%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
	else
		snprintf(buf, size, "%c%02d:%02d", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

void tz_format_local(const struct tz *z, int64_t t, char *buf, size_t size)
{
	struct civil c;
	char o[16], s[64];
	int off;
	size_t n;

	tz_to_local(z, t, &c, &off);
	tz_format_offset(off, o, sizeof(o));
	n = civil_print(&c, 'T', true, s);
	memcpy(s + n, o, strlen(o) + 1);
	str_copy(buf, size, s);
}

void format_utc(int64_t t, char *buf, size_t size)
{
	struct civil c;

	char s[48];
	size_t n;

	unix_to_civil_utc(t, &c);
	n = civil_print(&c, 'T', true, s);
	s[n] = 'Z';
	s[n + 1] = '\0';
	str_copy(buf, size, s);
}

/* ---- loading by name ---- */

bool tz_name_valid(const char *name)
{
	size_t len, comp = 0;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > 255)
		return false;
	for (const char *p = name; *p; p++) {
		char ch = *p;

		if (ch == '/') {
			/* No empty components, hence no leading '/' and no "//". */
			if (comp == 0)
				return false;
			comp = 0;
			continue;
		}
		/* '.' is refused outright, which also rules out "..". */
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-'))
			return false;
		/* A leading '-' would read as an option to any tool it reaches. */
		if (comp == 0 && ch == '-')
			return false;
		comp++;
	}
	return comp > 0;
}

/* ---- cache ---- */

/* A sorted array: a few dozen zones, looked up by binary search. */
struct tz_cache {
	struct tz **v;
	size_t n, cap;
	tz_loader load;
	void *arg;
};

struct tz_cache *tz_cache_new(tz_loader load, void *arg)
{
	struct tz_cache *c = xcalloc(1, sizeof(struct tz_cache));

	c->load = load;
	c->arg = arg;
	return c;
}

void tz_cache_free(struct tz_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		tz_free(c->v[i]);
	free(c->v);
	free(c);
}

int tz_cache_get(struct tz_cache *c, const char *name, const struct tz **ret, char **cause)
{
	size_t lo = 0, hi = c->n;
	struct tz *z;
	int r;

	if (!tz_name_valid(name)) {
		if (cause)
			*cause = xasprintf("invalid time zone name '%s' (expected an IANA name such as 'Europe/Berlin')",
					   name ? name : "");
		return -EINVAL;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->v[mid]->name, name);

		if (cmp == 0) {
			*ret = c->v[mid];
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = c->load(name, &z, cause, c->arg);
	if (r < 0)
		return r;
	xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	memmove(c->v + lo + 1, c->v + lo, (c->n - lo) * sizeof(*c->v));
	c->v[lo] = z;
	c->n++;
	*ret = z;
	return 0;
}
