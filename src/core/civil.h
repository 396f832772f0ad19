/*
 * civil: the proleptic Gregorian calendar without zones. Dates to day
 * counts (days since 1970-01-01) and back on 64-bit years, weekdays and
 * their names, days in a month, UTC wall time <-> unix seconds, and the
 * "YYYY-MM-DD HH:MM[:SS]" text of a wall time. Pure arithmetic (H. Hinnant's
 * algorithms): nothing here depends on TZ, mktime or the process.
 */
#ifndef BC_CIVIL_H
#define BC_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Broken-down civil (proleptic Gregorian) time, without a zone. */
struct civil {
	int year;  /* e.g. 2026 */
	int month; /* 1..12 */
	int day;   /* 1..31 */
	int hour;  /* 0..23 */
	int min;   /* 0..59 */
	int sec;   /* 0..59 */
};

/* Weekday names in civil_weekday's order (0 = Sunday), and month names
 * (0 = January): "Sun", "Sunday", "Jan". Arrays of characters, not of
 * pointers: they need no relocation, so they are read-only data (nm's R)
 * in every build, as tests/layers.sh requires of the core's exports. */
extern const char civil_wday_short[7][4];
extern const char civil_wday_long[7][10];
extern const char civil_month_short[12][4];

/* Days since 1970-01-01 of a date; a month outside 1..12 is carried into
 * the year. */
int64_t civil_to_days(int64_t year, int month, int day);
/* The date of a day count (any output may be NULL). */
void civil_from_days(int64_t days, int64_t *ret_year, int *ret_month, int *ret_day);
/* The day count of an instant (unix seconds, UTC): -1 is 1969-12-31. */
int64_t civil_day_of(int64_t t);
/* Day of week of a day count: 0 = Sunday .. 6 = Saturday. */
int civil_weekday(int64_t days);
bool civil_is_leap(int64_t year);
/* 28..31; month in 1..12. */
int civil_days_in_month(int64_t year, int month);

/* Seconds since the epoch of a civil time read as UTC, and back. */
int64_t civil_to_unix_utc(const struct civil *c);
void unix_to_civil_utc(int64_t t, struct civil *ret);
/* True when the fields name a real date and time (Feb 29 only in leap years). */
bool civil_valid(const struct civil *c);

/* Parse "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (also with 'T'); 0 or -EINVAL. */
int civil_parse(const char *s, struct civil *ret);
/* Format as "YYYY-MM-DD HH:MM" (seconds only when non-zero) into buf. */
void civil_format(const struct civil *c, char *buf, size_t size);
/* "YYYY-MM-DD", sep, "HH:MM:SS" (":SS" only when secs) into out, which
 * holds 40 bytes, as "%04d-%02d-%02d%c%02d:%02d:%02d" writes it but
 * without printf (a start of 100,000 jobs formats a few per job); the
 * length, out NUL-terminated. */
size_t civil_print(const struct civil *c, char sep, bool secs, char *out);

#endif
