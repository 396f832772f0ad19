/*
 * calendar: the systemd.time(7) calendar-event subset of calendar.h, parsed
 * into one bit set per field, and the next-occurrence search.
 *
 * The search walks days, not seconds: for each day whose date fields and
 * weekday match, the first matching time of day is found from the bit sets
 * of hours, minutes and seconds, so a yearly event costs at most a year of
 * day steps. Instants come from tz_to_instant, whose map from wall time to
 * instant is increasing except inside spring-forward gaps (a gap wall time
 * is read with the offset before the gap, so it lands after the transition,
 * among the instants of the wall times just after the gap). Hence the walk
 * keeps the smallest instant seen and stops at the first wall time that is
 * not in a gap: no later wall time can give a smaller instant.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "sbuf.h"
#include "tz.h"
#include "util.h"

/* List elements per field: enough for every second of a minute written out. */
#define CAL_MAX_COMPS 64

enum { F_YEAR, F_MONTH, F_DAY, F_HOUR, F_MIN, F_SEC, F_N };

static const struct {
	const char *name;
	int min, max, width;
} field_info[F_N] = {
	{ "year", 1970, 2199, 4 }, { "month", 1, 12, 2 },  { "day", 1, 31, 2 },
	{ "hour", 0, 23, 2 },      { "minute", 0, 59, 2 }, { "second", 0, 59, 2 },
};

/* One list element: start..end every step (step 1 for a plain range). */
struct cal_comp {
	int start, end, step;
	bool range; /* written with "..": printed back that way */
	bool open;  /* "N/S" or "*\/S": runs to the field's maximum */
};

struct cal_field {
	bool any; /* "*" */
	struct cal_comp comp[CAL_MAX_COMPS];
	size_t n;
	uint64_t bits[4]; /* value - min; the year needs 230 bits */
};

struct calendar {
	unsigned weekdays; /* CALENDAR_ALL_WEEKDAYS when none were given */
	bool any_weekday;
	struct cal_field f[F_N];
};

static bool bit_get(const struct cal_field *f, int idx)
{
	return (f->bits[idx / 64] >> (idx % 64)) & 1;
}

static void bit_set(struct cal_field *f, int idx)
{
	f->bits[idx / 64] |= 1ULL << (idx % 64);
}

static bool field_has(const struct calendar *c, int field, int v)
{
	int min = field_info[field].min;
	if (v < min || v > field_info[field].max)
		return false;
	return bit_get(&c->f[field], v - min);
}

/* The smallest matching value >= v, or -1. */
static int field_next(const struct calendar *c, int field, int v)
{
	if (v < field_info[field].min)
		v = field_info[field].min;
	for (; v <= field_info[field].max; v++)
		if (field_has(c, field, v))
			return v;
	return -1;
}

static int weekday_of(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++) {
		if ((len == 3 && strncasecmp(s, civil_wday_short[i], 3) == 0) ||
		    (len == strlen(civil_wday_long[i]) && strncasecmp(s, civil_wday_long[i], len) == 0))
			return i;
	}
	return -1;
}

/* Monday-first position of a weekday, for ranges ("Mon..Sun" is the week). */
static int wday_pos(int wd)
{
	return (wd + 6) % 7;
}

/* One weekday name at *pp, blanks around it skipped (calling_hours.days may
 * read "Mon, Wed"); the weekday, or -1 with *cause. */
static int read_weekday(const char **pp, const char *whole, char **cause)
{
	const char *p = *pp + strspn(*pp, " \t");
	size_t len = strcspn(p, ",. \t");
	int wd = weekday_of(p, len);

	if (wd < 0) {
		if (!len)
			*cause = xasprintf("missing weekday in '%s'", whole);
		else if (memchr(p, '-', len))
			*cause = xasprintf("unknown weekday '%.*s' (a range is written 'Mon..Fri')", (int)len, p);
		else
			*cause = xasprintf("unknown weekday '%.*s' (Mon, Tue, ... Sun, or full names)", (int)len, p);
		return -1;
	}
	p += len;
	*pp = p + strspn(p, " \t");
	return wd;
}

int calendar_parse_weekdays(const char *s, unsigned *ret_mask, char **cause)
{
	unsigned mask = 0;
	const char *p = s;

	if (!s || !*s) {
		*cause = xstrdup("no weekday given");
		return -EINVAL;
	}
	for (;;) {
		int a = read_weekday(&p, s, cause), b;

		if (a < 0)
			return -EINVAL;
		b = a;
		if (p[0] == '.') {
			if (p[1] != '.') {
				*cause = xasprintf("a weekday range is written 'Mon..Fri' (in '%s')", s);
				return -EINVAL;
			}
			p += 2;
			b = read_weekday(&p, s, cause);
			if (b < 0)
				return -EINVAL;
			if (wday_pos(b) < wday_pos(a)) {
				*cause = xasprintf("weekday range '%s..%s' runs backwards (the week runs Mon..Sun)",
						   civil_wday_short[a], civil_wday_short[b]);
				return -EINVAL;
			}
			if (p[0] == '.') {
				*cause = xasprintf("a weekday range is written 'Mon..Fri' (in '%s')", s);
				return -EINVAL;
			}
		}
		for (int i = wday_pos(a); i <= wday_pos(b); i++)
			mask |= 1u << ((i + 1) % 7);
		if (!*p)
			break;
		if (*p != ',') {
			*cause = xasprintf("cannot read the weekdays '%s': write 'Mon..Fri' or 'Mon,Wed'", s);
			return -EINVAL;
		}
		p++;
	}
	*ret_mask = mask;
	return 0;
}

void calendar_format_weekdays(unsigned mask, char *buf, size_t size)
{
	size_t n = 0;
	int i = 0;

	buf[0] = '\0';
	/* Monday first, like systemd; runs of three or more become ranges */
	while (i < 7) {
		int j = i;
		if (!(mask & (1u << ((i + 1) % 7)))) {
			i++;
			continue;
		}
		while (j + 1 < 7 && (mask & (1u << ((j + 2) % 7))))
			j++;
		if (n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s", n ? "," : "");
		if (j - i >= 2) {
			if (n < size)
				n += (size_t)snprintf(buf + n, size - n, "%s..%s", civil_wday_short[(i + 1) % 7],
						      civil_wday_short[(j + 1) % 7]);
		} else {
			for (int k = i; k <= j && n < size; k++)
				n += (size_t)snprintf(buf + n, size - n, "%s%s", k > i ? "," : "",
						      civil_wday_short[(k + 1) % 7]);
		}
		i = j + 1;
	}
}

/* A decimal number of at most 4 digits filling [s, s+len). */
static bool number(const char *s, size_t len, int *ret)
{
	int v = 0;

	if (len == 0 || len > 4)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static int bad_value(int field, int v, char **cause)
{
	*cause = xasprintf("%s %d is out of range %d..%d", field_info[field].name, v, field_info[field].min,
			   field_info[field].max);
	return -EINVAL;
}

/* One list element of a field: "*", "N", "N..M", each optionally "/S". */
static int parse_comp(int field, const char *s, size_t len, struct cal_comp *ret, bool *ret_star, char **cause)
{
	const struct cal_comp none = { 0 };
	const char *slash = memchr(s, '/', len);
	size_t blen = slash ? (size_t)(slash - s) : len;
	const char *dots = NULL;
	struct cal_comp c = none;
	int min = field_info[field].min, max = field_info[field].max;

	for (size_t i = 0; i + 1 < blen; i++)
		if (s[i] == '.' && s[i + 1] == '.') {
			dots = s + i;
			break;
		}
	*ret_star = false;
	c.step = 1;
	if (blen == 1 && s[0] == '*') {
		*ret_star = true;
		c.start = min;
		c.end = max;
		c.open = true;
	} else if (dots) {
		c.range = true;
		if (!number(s, (size_t)(dots - s), &c.start) || !number(dots + 2, blen - (size_t)(dots - s) - 2, &c.end))
			goto unreadable;
		if (c.start < min || c.start > max)
			return bad_value(field, c.start, cause);
		if (c.end < min || c.end > max)
			return bad_value(field, c.end, cause);
		if (c.end < c.start) {
			*cause = xasprintf("%s range '%.*s' runs backwards", field_info[field].name, (int)blen, s);
			return -EINVAL;
		}
	} else {
		if (!number(s, blen, &c.start))
			goto unreadable;
		if (c.start < min || c.start > max)
			return bad_value(field, c.start, cause);
		c.end = c.start;
	}
	if (slash) {
		int step;
		size_t slen = len - blen - 1;
		if (!number(slash + 1, slen, &step))
			goto unreadable;
		if (step < 1) {
			*cause = xasprintf("%s step must be at least 1 (in '%.*s')", field_info[field].name, (int)len, s);
			return -EINVAL;
		}
		c.step = step;
		if (!dots && !*ret_star) {
			/* "8/2": from 8 to the end of the field */
			c.end = max;
			c.open = true;
		}
	}
	*ret = c;
	return 0;
unreadable:
	if (memchr(s, '~', len))
		*cause = xasprintf("'~' (days from the end of the month) is not supported (in '%.*s')", (int)len, s);
	else if (field == F_SEC && memchr(s, '.', len))
		*cause = xasprintf("fractional seconds are not supported (in '%.*s')", (int)len, s);
	else
		*cause = xasprintf("cannot read the %s '%.*s': a number, '*', a list '1,15', a range '1..5' or a step "
				   "'*/2'",
				   field_info[field].name, (int)len, s);
	return -EINVAL;
}

static int parse_field(int field, const char *s, size_t len, struct cal_field *f, char **cause)
{
	const char *p = s, *end = s + len;

	memset(f, 0, sizeof(*f));
	if (len == 0) {
		*cause = xasprintf("the %s is missing", field_info[field].name);
		return -EINVAL;
	}
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t clen = comma ? (size_t)(comma - p) : (size_t)(end - p);
		struct cal_comp c;
		bool star;
		int r;

		if (clen == 0) {
			*cause = xasprintf("empty element in the %s list '%.*s'", field_info[field].name, (int)len, s);
			return -EINVAL;
		}
		r = parse_comp(field, p, clen, &c, &star, cause);
		if (r < 0)
			return r;
		if (star && !memchr(p, '/', clen)) {
			if (len != 1) {
				*cause = xasprintf("'*' cannot be part of the %s list '%.*s'", field_info[field].name,
						   (int)len, s);
				return -EINVAL;
			}
			f->any = true;
		}
		if (f->n == CAL_MAX_COMPS) {
			*cause = xasprintf("the %s list has more than %d elements", field_info[field].name,
					   CAL_MAX_COMPS);
			return -EINVAL;
		}
		f->comp[f->n++] = c;
		for (int v = c.start; v <= c.end; v += c.step)
			bit_set(f, v - field_info[field].min);
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Split s into fields at sep; 0 and *ret_n fields, or -EINVAL. */
static int split(const char *s, char sep, const char **ret_start, size_t *ret_len, size_t max, size_t *ret_n)
{
	size_t n = 0;
	const char *p = s;

	for (;;) {
		const char *q = strchr(p, sep);
		size_t len = q ? (size_t)(q - p) : strlen(p);
		if (n == max)
			return -EINVAL;
		ret_start[n] = p;
		ret_len[n] = len;
		n++;
		if (!q)
			break;
		p = q + 1;
	}
	*ret_n = n;
	return 0;
}

static int parse_date(struct calendar *c, const char *tok, char **cause)
{
	const char *part[4];
	size_t len[4], n;
	int r, first;

	if (split(tok, '-', part, len, 4, &n) < 0 || n < 2 || n > 3) {
		if (strchr(tok, '~'))
			*cause = xasprintf("'~' (days from the end of the month) is not supported (in '%s')", tok);
		else
			*cause = xasprintf("cannot read the date '%s': write YYYY-MM-DD or MM-DD, each field a number, "
					   "'*', a list, a range or a step",
					   tok);
		return -EINVAL;
	}
	first = n == 3 ? F_YEAR : F_MONTH;
	if (n == 2) {
		r = parse_field(F_YEAR, "*", 1, &c->f[F_YEAR], cause);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = parse_field(first + (int)i, part[i], len[i], &c->f[first + (int)i], cause);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_time(struct calendar *c, const char *tok, char **cause)
{
	const char *part[4];
	size_t len[4], n;
	int r;

	if (split(tok, ':', part, len, 4, &n) < 0 || n < 2 || n > 3) {
		*cause = xasprintf("cannot read the time '%s': write HH:MM or HH:MM:SS, each field a number, '*', a "
				   "list, a range or a step",
				   tok);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		r = parse_field(F_HOUR + (int)i, part[i], len[i], &c->f[F_HOUR + (int)i], cause);
		if (r < 0)
			return r;
	}
	if (n == 2)
		return parse_field(F_SEC, "00", 2, &c->f[F_SEC], cause);
	return 0;
}

/* The shorthands, as systemd expands them. */
static const struct {
	const char *name, *expansion;
} shorthands[] = {
	{ "hourly", "*-*-* *:00:00" },     { "daily", "*-*-* 00:00:00" },   { "weekly", "Mon *-*-* 00:00:00" },
	{ "monthly", "*-*-01 00:00:00" }, { "yearly", "*-01-01 00:00:00" }, { "annually", "*-01-01 00:00:00" },
};

static int parse_tokens(struct calendar *c, char *text, char **cause)
{
	char *tok[8];
	size_t n = 0, i = 0;
	char *save = NULL;
	int r;

	for (char *t = strtok_r(text, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n == ARRAY_SIZE(tok)) {
			*cause = xstrdup("too many parts: write [WEEKDAYS] [DATE] [TIME]");
			return -EINVAL;
		}
		tok[n++] = t;
	}
	if (n == 0) {
		*cause = xstrdup("the calendar event is empty");
		return -EINVAL;
	}
	if (n == 1 && strcasecmp(tok[0], "minutely") == 0) {
		*cause = xstrdup("'minutely' is not supported: the shortest shorthand is 'hourly'");
		return -EINVAL;
	}
	c->weekdays = CALENDAR_ALL_WEEKDAYS;
	c->any_weekday = true;
	if (isalpha((unsigned char)tok[0][0]) && !strchr(tok[0], ':')) {
		r = calendar_parse_weekdays(tok[0], &c->weekdays, cause);
		if (r < 0)
			return r;
		c->any_weekday = false;
		i++;
	}
	if (i < n && !strchr(tok[i], ':') && (strchr(tok[i], '-') || strchr(tok[i], '~'))) {
		r = parse_date(c, tok[i], cause);
		if (r < 0)
			return r;
		i++;
	} else {
		parse_field(F_YEAR, "*", 1, &c->f[F_YEAR], cause);
		parse_field(F_MONTH, "*", 1, &c->f[F_MONTH], cause);
		parse_field(F_DAY, "*", 1, &c->f[F_DAY], cause);
	}
	if (i < n && strchr(tok[i], ':')) {
		r = parse_time(c, tok[i], cause);
		if (r < 0)
			return r;
		i++;
	} else {
		parse_field(F_HOUR, "00", 2, &c->f[F_HOUR], cause);
		parse_field(F_MIN, "00", 2, &c->f[F_MIN], cause);
		parse_field(F_SEC, "00", 2, &c->f[F_SEC], cause);
	}
	if (i < n) {
		/* "Mon 09:00 Europe/Berlin": systemd's zone suffix */
		if (i > 0 && i == n - 1 && isalpha((unsigned char)tok[i][0]))
			*cause = xasprintf("a time zone suffix ('%s') is not supported: the job's 'timezone' applies",
					   tok[i]);
		else
			*cause = xasprintf("cannot read '%s': write [WEEKDAYS] [YYYY-MM-DD] [HH:MM[:SS]]", tok[i]);
		return -EINVAL;
	}
	return 0;
}

int calendar_parse(const char *s, struct calendar **ret, char **cause)
{
	struct calendar *c = xcalloc(1, sizeof(*c));
	char *text = NULL;
	int r;
	bool possible = false;

	*cause = NULL;
	if (!s) {
		*cause = xstrdup("the calendar event is empty");
		r = -EINVAL;
		goto out;
	}
	text = xstrdup(s);
	for (size_t i = 0; i < ARRAY_SIZE(shorthands); i++) {
		size_t len = strspn(s, " \t");
		if (strncasecmp(s + len, shorthands[i].name, strlen(shorthands[i].name)) == 0 &&
		    !s[len + strlen(shorthands[i].name) + strspn(s + len + strlen(shorthands[i].name), " \t")]) {
			free(text);
			text = xstrdup(shorthands[i].expansion);
			break;
		}
	}
	r = parse_tokens(c, text, cause);
	if (r < 0)
		goto out;
	/* "*-02-30" is grammatical but never happens: say so now, not in ten years */
	for (int m = 1; m <= 12 && !possible; m++)
		for (int d = 1; d <= civil_days_in_month(2000, m) && !possible && field_has(c, F_MONTH, m); d++)
			possible = field_has(c, F_DAY, d);
	if (!possible) {
		*cause = xstrdup("the date never occurs: no chosen month has the chosen day");
		r = -EINVAL;
		goto out;
	}
	*ret = c;
	c = NULL;
out:
	free(text);
	free(c);
	return r;
}

void calendar_free(struct calendar *c)
{
	free(c);
}

static void format_field(struct sbuf *b, const struct calendar *c, int field)
{
	const struct cal_field *fd = &c->f[field];
	int w = field_info[field].width;

	if (fd->any) {
		sbuf_add(b, "*", 1);
		return;
	}
	for (size_t i = 0; i < fd->n; i++) {
		const struct cal_comp *k = &fd->comp[i];
		if (i)
			sbuf_add(b, ",", 1);
		if (k->range)
			sbuf_addf(b, "%0*d..%0*d", w, k->start, w, k->end);
		else
			sbuf_addf(b, "%0*d", w, k->start);
		if (k->step > 1 || k->open)
			sbuf_addf(b, "/%d", k->step);
	}
}

char *calendar_format(const struct calendar *c)
{
	/* the text has no useful upper bound (64-element lists) */
	struct sbuf b = { 0 };

	if (!c->any_weekday) {
		char wd[64];
		calendar_format_weekdays(c->weekdays, wd, sizeof(wd));
		sbuf_addf(&b, "%s ", wd);
	}
	for (int k = F_YEAR; k < F_N; k++) {
		static const char sep[F_N] = { '-', '-', ' ', ':', ':', '\0' };
		format_field(&b, c, k);
		if (sep[k])
			sbuf_add(&b, &sep[k], 1);
	}
	return sbuf_steal(&b, NULL);
}

static bool day_matches(const struct calendar *c, int64_t days, int y, int m, int d)
{
	return field_has(c, F_YEAR, y) && field_has(c, F_MONTH, m) && field_has(c, F_DAY, d) &&
	       (c->weekdays & (1u << civil_weekday(days)));
}

/* The first matching second of the day at or after tod; -1 when none. */
static int next_time(const struct calendar *c, int tod)
{
	int h0 = tod / 3600, m0 = tod / 60 % 60, s0 = tod % 60;

	for (int h = field_next(c, F_HOUR, h0); h >= 0; h = field_next(c, F_HOUR, h + 1)) {
		for (int m = field_next(c, F_MIN, h == h0 ? m0 : 0); m >= 0; m = field_next(c, F_MIN, m + 1)) {
			int s = field_next(c, F_SEC, h == h0 && m == m0 ? s0 : 0);
			if (s >= 0)
				return h * 3600 + m * 60 + s;
		}
	}
	return -1;
}

/* The first matching wall time at or after wall (seconds of a wall clock read
 * as UTC), no later than day limit; 0 or -ENOENT. */
static int next_wall(const struct calendar *c, int64_t wall, int64_t limit, int64_t *ret)
{
	int64_t day = civil_day_of(wall);
	int tod = (int)(wall - day * 86400);

	while (day <= limit) {
		int64_t y64;
		int y, m, d, t;

		civil_from_days(day, &y64, &m, &d);
		if (y64 > field_info[F_YEAR].max)
			return -ENOENT;
		y = (int)y64;
		if (!field_has(c, F_YEAR, y)) {
			/* on to the next year */
			day = civil_to_days(y + 1, 1, 1);
			tod = 0;
			continue;
		}
		if (!field_has(c, F_MONTH, m)) {
			day = m == 12 ? civil_to_days(y + 1, 1, 1) : civil_to_days(y, m + 1, 1);
			tod = 0;
			continue;
		}
		if (day_matches(c, day, y, m, d) && (t = next_time(c, tod)) >= 0) {
			*ret = day * 86400 + t;
			return 0;
		}
		day++;
		tod = 0;
	}
	return -ENOENT;
}

int calendar_next(const struct calendar *c, const struct tz *z, int64_t after, int64_t *ret)
{
	int off_now, off_before;
	int64_t wall, limit, best = 0;
	bool found = false;

	/* nothing happens before 1970 (local), nor after 2199 */
	if (after < -2 * 86400)
		after = -2 * 86400;
	if (after > 7258118400LL) /* 2200-01-01 */
		return -ENOENT;
	tz_lookup(z, after, &off_now, NULL, NULL);
	tz_lookup(z, after - 2 * 86400, &off_before, NULL, NULL);
	/* Start early enough to see the wall times of a gap just behind us: read
	 * with the offset before the gap, they may still lie after `after`. */
	wall = after + (off_before < off_now ? off_before : off_now);
	limit = civil_day_of(after + off_now) + CALENDAR_SEARCH_YEARS * 366;
	for (;;) {
		int64_t w, inst;
		struct civil cv;
		enum tz_kind kind;
		int r = next_wall(c, wall, limit, &w);

		if (r < 0)
			break;
		unix_to_civil_utc(w, &cv);
		inst = tz_to_instant(z, &cv, &kind);
		if (inst > after) {
			if (!found || inst < best)
				best = inst;
			found = true;
			/* past a gap the map is increasing again: nothing later is earlier */
			if (kind != TZ_GAP)
				break;
		}
		wall = w + 1;
	}
	if (!found)
		return -ENOENT;
	*ret = best;
	return 0;
}
