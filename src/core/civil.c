/*
 * civil: proleptic Gregorian arithmetic. See civil.h.
 *
 * The conversions work on 64-bit years so that the tz footer rules, which
 * are evaluated for any instant a TZif file may name, never overflow.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "util.h"

#define SECS_PER_DAY 86400
/* Days in the 400-year Gregorian cycle; a multiple of 7, so weekdays repeat too. */
#define DAYS_PER_CYCLE 146097

const char civil_wday_short[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
const char civil_wday_long[7][10] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
				       "Thursday", "Friday", "Saturday" };
const char civil_month_short[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

bool civil_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_days_in_month(int64_t y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && civil_is_leap(y) ? 29 : mdays[m - 1];
}

/* Hinnant's days_from_civil. */
int64_t civil_to_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	/* Normalise an out-of-range month instead of producing garbage. */
	y += floor_div(m - 1, 12);
	m = (int)(m - 1 - floor_div(m - 1, 12) * 12) + 1;
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_CYCLE + doe - 719468;
}

/* Hinnant's civil_from_days. */
void civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, DAYS_PER_CYCLE);
	int64_t doe = z - era * DAYS_PER_CYCLE;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	if (ret_d)
		*ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	if (ret_m)
		*ret_m = m;
	if (ret_y)
		*ret_y = yoe + era * 400 + (m <= 2);
}

int64_t civil_day_of(int64_t t)
{
	return floor_div(t, SECS_PER_DAY);
}

int civil_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday. */
	int64_t w = (days + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

int64_t civil_to_unix_utc(const struct civil *c)
{
	return civil_to_days(c->year, c->month, c->day) * SECS_PER_DAY +
	       (int64_t)c->hour * 3600 + (int64_t)c->min * 60 + c->sec;
}

void unix_to_civil_utc(int64_t t, struct civil *ret)
{
	int64_t days = floor_div(t, SECS_PER_DAY);
	/* Not t - days * 86400: that product overflows near INT64_MIN. */
	int64_t secs = t % SECS_PER_DAY;
	int64_t y;

	if (secs < 0)
		secs += SECS_PER_DAY;

	civil_from_days(days, &y, &ret->month, &ret->day);
	ret->year = (int)y;
	ret->hour = (int)(secs / 3600);
	ret->min = (int)(secs / 60 % 60);
	ret->sec = (int)(secs % 60);
}

bool civil_valid(const struct civil *c)
{
	return c->month >= 1 && c->month <= 12 && c->day >= 1 &&
	       c->day <= civil_days_in_month(c->year, c->month) && c->hour >= 0 && c->hour <= 23 &&
	       c->min >= 0 && c->min <= 59 && c->sec >= 0 && c->sec <= 59;
}

/* Exactly n ASCII digits at s. */
static bool digits(const char *s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int civil_parse(const char *s, struct civil *ret)
{
	struct civil c = { 0 };
	size_t len;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	if (len != 16 && len != 19)
		return -EINVAL;
	if (!digits(s, 4, &c.year) || s[4] != '-' || !digits(s + 5, 2, &c.month) || s[7] != '-' ||
	    !digits(s + 8, 2, &c.day) || (s[10] != ' ' && s[10] != 'T') ||
	    !digits(s + 11, 2, &c.hour) || s[13] != ':' || !digits(s + 14, 2, &c.min))
		return -EINVAL;
	if (len == 19 && (s[16] != ':' || !digits(s + 17, 2, &c.sec)))
		return -EINVAL;
	if (!civil_valid(&c))
		return -EINVAL;
	*ret = c;
	return 0;
}

/* v as "%0*d" writes it (width counts a '-'). */
static char *put_int(char *p, int v, int width)
{
	char tmp[16];
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	int n = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0) {
		*p++ = '-';
		width--;
	}
	for (; width > n; width--)
		*p++ = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

size_t civil_print(const struct civil *c, char sep, bool secs, char *out)
{
	char *p = out;

	p = put_int(p, c->year, 4);
	*p++ = '-';
	p = put_int(p, c->month, 2);
	*p++ = '-';
	p = put_int(p, c->day, 2);
	*p++ = sep;
	p = put_int(p, c->hour, 2);
	*p++ = ':';
	p = put_int(p, c->min, 2);
	if (secs) {
		*p++ = ':';
		p = put_int(p, c->sec, 2);
	}
	*p = '\0';
	return (size_t)(p - out);
}

void civil_format(const struct civil *c, char *buf, size_t size)
{
	char t[40];

	civil_print(c, ' ', c->sec != 0, t);
	str_copy(buf, size, t);
}
