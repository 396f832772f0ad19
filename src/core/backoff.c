/*
 * backoff: retry delays, full jitter and Retry-After, as pure functions.
 *
 * Everything saturates instead of overflowing: the inputs come from job
 * files and from HTTP headers, and a huge retry number or a far-future date
 * must give "wait as long as allowed", never a negative or garbage delay.
 * HTTP dates are converted with days-from-civil arithmetic so that the
 * result cannot depend on the process time zone (TZ, /etc/localtime).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "backoff.h"
#include "civil.h"
#include "util.h"

int64_t backoff_retry_delay(const struct retry_policy *p, int n)
{
	double delay, cap, factor, d;

	if (!p)
		return 0;
	delay = p->delay > 0 ? p->delay : 0;
	cap = p->max_delay > 0 ? p->max_delay : 0;
	if (delay == 0 || cap == 0)
		return 0;
	if (n < 1)
		n = 1;
	/* The config refuses backoff < 1.0; a NaN or non-positive factor
	 * that slipped through must not turn the delay into NaN or 0. */
	factor = p->backoff;
	if (!(factor > 0))
		factor = 1.0;
	/* pow() overflows to +inf for huge n, and inf compares above the cap;
	 * delay > 0 here so the product is never 0 * inf = NaN. */
	d = delay * pow(factor, (double)(n - 1));
	if (!(d < cap))
		d = cap;
	return llround(d);
}

/* The high 64 bits of a * b, without relying on a 128-bit type. */
static uint64_t mul_high64(uint64_t a, uint64_t b)
{
	uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
	uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
	uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
	uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
	uint64_t cross = (lo_lo >> 32) + (uint32_t)hi_lo + lo_hi;

	return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

/* min(cap_ms, base_ms * 2^attempt), saturating; negatives count as 0. */
static int64_t ceiling_ms(int64_t base_ms, int64_t cap_ms, int attempt)
{
	int64_t ceiling;

	if (base_ms < 0)
		base_ms = 0;
	if (cap_ms < 0)
		cap_ms = 0;
	if (attempt < 0)
		attempt = 0;
	if (base_ms == 0)
		ceiling = 0;
	else if (attempt >= 63 || base_ms > (INT64_MAX >> attempt))
		ceiling = INT64_MAX;
	else
		ceiling = base_ms << attempt;
	return ceiling > cap_ms ? cap_ms : ceiling;
}

int64_t backoff_full_jitter_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint64_t rnd)
{
	int64_t ceiling = ceiling_ms(base_ms, cap_ms, attempt);

	/* Scale rnd into [0, ceiling] by multiplication rather than modulo:
	 * no bias worth speaking of, monotonic in rnd, and both ends are
	 * reachable (rnd = UINT64_MAX gives exactly the ceiling). */
	return (int64_t)mul_high64(rnd, (uint64_t)ceiling + 1);
}

int64_t backoff_wait_ms(struct backoff_rule b, int attempt, uint64_t rnd, int64_t retry_after_s)
{
	int64_t d = b.jitter ? backoff_full_jitter_ms(b.base_ms, b.cap_ms, attempt, rnd)
			     : ceiling_ms(b.base_ms, b.cap_ms, attempt);

	if (d < b.min_ms)
		d = b.min_ms;
	if (retry_after_s >= 0) {
		int64_t floor_ms = retry_after_s > INT64_MAX / 1000 ? INT64_MAX : retry_after_s * 1000;
		if (floor_ms > d)
			d = floor_ms;
	}
	return d;
}

/* A cursor over the trimmed header value; every matcher advances it only
 * on success, and the formats are tried one after the other. */
struct cur {
	const char *p, *end;
};

static bool lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Exactly n decimal digits. */
static bool digits(struct cur *c, int n, int *ret)
{
	int v = 0;
	if (c->end - c->p < n)
		return false;
	for (int i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return false;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*ret = v;
	return true;
}

/* One of the n words, each in a slot of `stride` characters (civil's name
 * arrays); the longest match wins so "Mon" never shadows "Monday". */
static int word_in(struct cur *c, const char *words, size_t stride, int n)
{
	int best = -1;
	size_t best_len = 0;
	for (int i = 0; i < n; i++) {
		const char *w = words + (size_t)i * stride;
		size_t len = strlen(w);
		if ((size_t)(c->end - c->p) >= len && memcmp(c->p, w, len) == 0 && len > best_len) {
			best = i;
			best_len = len;
		}
	}
	c->p += best_len;
	return best;
}
#define word(c, names, n) word_in((c), (names)[0], sizeof (names)[0], (n))

struct http_date {
	int64_t year;
	int month, day, hour, min, sec;
};

static bool time_of_day(struct cur *c, struct http_date *d)
{
	return digits(c, 2, &d->hour) && lit(c, ":") && digits(c, 2, &d->min) && lit(c, ":") &&
	       digits(c, 2, &d->sec);
}

static bool month(struct cur *c, struct http_date *d)
{
	int m = word(c, civil_month_short, 12);
	d->month = m + 1;
	return m >= 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool parse_imf(struct cur c, struct http_date *d)
{
	int y;
	if (word(&c, civil_wday_short, 7) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d->day) ||
	    !lit(&c, " ") || !month(&c, d) || !lit(&c, " ") || !digits(&c, 4, &y) ||
	    !lit(&c, " ") || !time_of_day(&c, d) || !lit(&c, " GMT"))
		return false;
	d->year = y;
	return c.p == c.end;
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; the century is resolved by
 * the caller against now (RFC 9110 §5.6.7). */
static bool parse_rfc850(struct cur c, struct http_date *d)
{
	int y;
	if (word(&c, civil_wday_long, 7) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d->day) ||
	    !lit(&c, "-") || !month(&c, d) || !lit(&c, "-") || !digits(&c, 2, &y) ||
	    !lit(&c, " ") || !time_of_day(&c, d) || !lit(&c, " GMT"))
		return false;
	d->year = y;
	return c.p == c.end;
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day as two digits or SP DIGIT). */
static bool parse_asctime(struct cur c, struct http_date *d)
{
	int y;
	if (word(&c, civil_wday_short, 7) < 0 || !lit(&c, " ") || !month(&c, d) || !lit(&c, " "))
		return false;
	if (!lit(&c, " ") ? !digits(&c, 2, &d->day) : !digits(&c, 1, &d->day))
		return false;
	if (!lit(&c, " ") || !time_of_day(&c, d) || !lit(&c, " ") || !digits(&c, 4, &y))
		return false;
	d->year = y;
	return c.p == c.end;
}

/* Delta-seconds, saturating; a leading '-' is accepted as "no wait". */
static bool parse_delta(struct cur c, int64_t *ret)
{
	bool neg = lit(&c, "-");
	int64_t v = 0;

	if (c.p == c.end)
		return false;
	for (; c.p < c.end; c.p++) {
		if (*c.p < '0' || *c.p > '9')
			return false;
		if (v > (INT64_MAX - (*c.p - '0')) / 10)
			v = INT64_MAX;
		else
			v = v * 10 + (*c.p - '0');
	}
	*ret = neg ? 0 : v;
	return true;
}

/* The value without its optional whitespace (OWS) around it. */
static struct cur trimmed(const char *value)
{
	struct cur c = { value, value + strlen(value) };

	while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
		c.p++;
	while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
		c.end--;
	return c;
}

static int parse_date(struct cur c, int64_t now, int64_t *ret_unix)
{
	struct http_date d = { 0 };
	bool two_digit_year = false;

	if (parse_rfc850(c, &d))
		two_digit_year = true;
	else if (!parse_imf(c, &d) && !parse_asctime(c, &d))
		return -EINVAL;

	if (two_digit_year) {
		/* clamped so that an absurd `now` cannot overflow the
		 * arithmetic below; real clocks are far inside the range */
		int64_t now_year;
		civil_from_days(civil_day_of(now), &now_year, NULL, NULL);
		if (now_year < 0)
			now_year = 0;
		if (now_year > 9999)
			now_year = 9999;
		int64_t y = now_year - (now_year % 100 + 100) % 100 + d.year;
		/* "more than 50 years in the future" means the previous century */
		if (y > now_year + 50)
			y -= 100;
		else if (y + 100 <= now_year + 50)
			y += 100;
		d.year = y;
	}
	if (d.day < 1 || d.day > civil_days_in_month(d.year, d.month) || d.hour > 23 || d.min > 59 ||
	    d.sec > 60)
		return -EINVAL;
	*ret_unix = civil_to_days(d.year, d.month, d.day) * 86400 + d.hour * 3600 + d.min * 60 + d.sec;
	return 0;
}

int backoff_parse_http_date(const char *value, int64_t now, int64_t *ret_unix)
{
	return value ? parse_date(trimmed(value), now, ret_unix) : -EINVAL;
}

int backoff_parse_retry_after(const char *value, int64_t now, int64_t *ret_seconds)
{
	struct cur c;
	int64_t t, wait;

	if (!value)
		return -EINVAL;
	c = trimmed(value);
	if (parse_delta(c, &wait)) {
		*ret_seconds = wait < RETRY_AFTER_MAX_S ? wait : RETRY_AFTER_MAX_S;
		return 0;
	}
	if (parse_date(c, now, &t) < 0)
		return -EINVAL;
	if (__builtin_sub_overflow(t, now, &wait))
		wait = now < 0 ? INT64_MAX : 0;
	*ret_seconds = wait <= 0 ? 0 : wait < RETRY_AFTER_MAX_S ? wait : RETRY_AFTER_MAX_S;
	return 0;
}
