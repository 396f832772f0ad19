/*
 * test_civil: the calendar arithmetic every date in the daemon goes
 * through (tz's footer rules, calendar events, calling hours, HTTP dates):
 * known day counts and weekdays, two million consecutive days round-trip,
 * 64-bit years, month lengths, the names in civil_weekday's order, UTC
 * wall time <-> unix seconds, and strict parsing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civil.h"
#include "util.h"

START_TEST(test_civil_days)
{
	int64_t y;
	int m, d;

	ck_assert_int_eq(civil_to_days(1970, 1, 1), 0);
	ck_assert_int_eq(civil_to_days(1969, 12, 31), -1);
	ck_assert_int_eq(civil_to_days(2026, 1, 1), 20454);
	ck_assert_int_eq(civil_to_days(2026, 3, 8), 20520);
	ck_assert_int_eq(civil_to_days(2000, 2, 29), 11016);
	ck_assert_int_eq(civil_to_days(1600, 1, 1), -135140);
	ck_assert_int_eq(civil_to_days(9999, 12, 31), 2932896);
	ck_assert_int_eq(civil_to_days(1, 1, 1), -719162);
	ck_assert_int_eq(civil_weekday(0), 4);      /* Thursday */
	ck_assert_int_eq(civil_weekday(-1), 3);     /* Wednesday */
	ck_assert_int_eq(civil_weekday(20520), 0);  /* 2026-03-08, Sunday */
	ck_assert_int_eq(civil_weekday(-135140), 6); /* 1600-01-01, Saturday */
	/* Two million consecutive days round-trip, and weekdays follow in turn. */
	for (int64_t n = -1000000; n <= 1000000; n++) {
		int64_t back;

		civil_from_days(n, &y, &m, &d);
		back = civil_to_days(y, m, d);
		if (back != n)
			ck_abort_msg("day %" PRId64 " -> %" PRId64 "-%d-%d -> %" PRId64, n, y, m, d, back);
		if (civil_weekday(n + 1) != (civil_weekday(n) + 1) % 7)
			ck_abort_msg("weekday sequence broken at %" PRId64, n);
	}
	civil_from_days(11016, &y, &m, &d);
	ck_assert_int_eq(y, 2000);
	ck_assert_int_eq(m, 2);
	ck_assert_int_eq(d, 29);
}
END_TEST

START_TEST(test_civil_unix)
{
	struct civil c = { 2026, 3, 8, 7, 30, 0 }, r;

	ck_assert_int_eq(civil_to_unix_utc(&c), 1772955000);
	unix_to_civil_utc(-1, &r);
	ck_assert_int_eq(r.year, 1969);
	ck_assert_int_eq(r.month, 12);
	ck_assert_int_eq(r.day, 31);
	ck_assert_int_eq(r.hour, 23);
	ck_assert_int_eq(r.min, 59);
	ck_assert_int_eq(r.sec, 59);
	unix_to_civil_utc(4107542399LL, &r);
	ck_assert(r.year == 2100 && r.month == 2 && r.day == 28 && r.hour == 23 && r.min == 59 &&
		  r.sec == 59);
	unix_to_civil_utc(4107542400LL, &r); /* 2100 is not a leap year */
	ck_assert(r.year == 2100 && r.month == 3 && r.day == 1 && r.hour == 0);
	ck_assert(civil_valid(&(struct civil){ 2024, 2, 29, 0, 0, 0 }));
	ck_assert(civil_valid(&(struct civil){ 2000, 2, 29, 23, 59, 59 }));
	ck_assert(!civil_valid(&(struct civil){ 2100, 2, 29, 0, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 2, 30, 0, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 4, 31, 0, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 0, 1, 0, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 13, 1, 0, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 1, 1, 24, 0, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 1, 1, 0, 60, 0 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 1, 1, 0, 0, 60 }));
	ck_assert(!civil_valid(&(struct civil){ 2026, 1, 1, -1, 0, 0 }));
}
END_TEST

START_TEST(test_civil_parse)
{
	static const char *const bad[] = {
		"", "2026-02-30 10:00", "2025-02-29 10:00", "2100-02-29 10:00", "2026-13-01 10:00",
		"2026-00-10 10:00", "2026-01-00 10:00", "2026-01-32 10:00", "2026-04-31 10:00",
		"2026-01-01 24:00", "2026-01-01 23:60", "2026-01-01 23:59:60", "2026-01-01 10:00 ",
		"2026-01-01 10:00Z", "2026-01-01  10:00", "2026-1-01 10:00", "2026-01-01 10:0",
		"2026-01-01", "+026-01-01 10:00", "2026-01-01 10:00:5", "2026-01-01x10:00",
		"2026/01/01 10:00", "2026-01-01 10:00:00.5", " 2026-01-01 10:00", "2026-01-01t10:00",
		"2026-01-01 10:00:00x", "20260-01-01 10:00", "2026-01-01 -1:00", "2026-01-01 10:00:",
		"2026-01-01 10:00\n",
	};
	struct civil c = { 1, 2, 3, 4, 5, 6 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(civil_parse(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
		/* Outputs are untouched on failure. */
		ck_assert(c.year == 1 && c.month == 2 && c.day == 3 && c.hour == 4 && c.min == 5 &&
			  c.sec == 6);
	}
	ck_assert_int_eq(civil_parse(NULL, &c), -EINVAL);
	ck_assert_int_eq(civil_parse("2026-03-08 02:30", &c), 0);
	ck_assert(c.year == 2026 && c.month == 3 && c.day == 8 && c.hour == 2 && c.min == 30 &&
		  c.sec == 0);
	ck_assert_int_eq(civil_parse("2024-02-29T23:59:58", &c), 0);
	ck_assert(c.year == 2024 && c.month == 2 && c.day == 29 && c.hour == 23 && c.min == 59 &&
		  c.sec == 58);
	ck_assert_int_eq(civil_parse("2000-02-29 00:00:00", &c), 0);
	ck_assert_int_eq(civil_parse("2026-12-31 23:59:59", &c), 0);
	ck_assert_int_eq(c.sec, 59);
}
END_TEST

START_TEST(test_civil_far_years)
{
	/* tz's footer rules are evaluated for instants up to 2^60 s away:
	 * years far outside int must survive the round trip */
	static const int64_t years[] = { -1000000000000LL, -292277022657LL, -400, -1, 0, 1,
					 1969, 2000, 2100, 9999, 10000, 292277026596LL, 1000000000000LL };

	for (size_t i = 0; i < ARRAY_SIZE(years); i++) {
		for (int m = 1; m <= 12; m++) {
			int64_t y, days = civil_to_days(years[i], m, civil_days_in_month(years[i], m));
			int mm, dd;

			civil_from_days(days, &y, &mm, &dd);
			ck_assert_msg(y == years[i] && mm == m && dd == civil_days_in_month(years[i], m),
				      "%" PRId64 "-%02d: %" PRId64 "-%02d-%02d", years[i], m, y, mm, dd);
			ck_assert_int_eq(civil_to_days(years[i], m + 1, 1), days + 1);
		}
	}
	/* a month outside 1..12 is carried into the year */
	ck_assert_int_eq(civil_to_days(2026, 13, 1), civil_to_days(2027, 1, 1));
	ck_assert_int_eq(civil_to_days(2026, 0, 1), civil_to_days(2025, 12, 1));
	ck_assert_int_eq(civil_to_days(2026, -11, 1), civil_to_days(2025, 1, 1));
	/* every output may be NULL */
	civil_from_days(0, NULL, NULL, NULL);
}
END_TEST

START_TEST(test_civil_months_and_leap_years)
{
	static const int common[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	for (int m = 1; m <= 12; m++) {
		ck_assert_int_eq(civil_days_in_month(2026, m), common[m - 1]);
		ck_assert_int_eq(civil_days_in_month(2024, m), m == 2 ? 29 : common[m - 1]);
	}
	ck_assert(civil_is_leap(2000));
	ck_assert(civil_is_leap(2024));
	ck_assert(civil_is_leap(-4));
	ck_assert(civil_is_leap(0));
	ck_assert(!civil_is_leap(1900));
	ck_assert(!civil_is_leap(2100));
	ck_assert(!civil_is_leap(2026));
	ck_assert_int_eq(civil_days_in_month(1900, 2), 28);
	ck_assert_int_eq(civil_days_in_month(2000, 2), 29);
}
END_TEST

START_TEST(test_civil_day_of)
{
	ck_assert_int_eq(civil_day_of(0), 0);
	ck_assert_int_eq(civil_day_of(86399), 0);
	ck_assert_int_eq(civil_day_of(86400), 1);
	ck_assert_int_eq(civil_day_of(-1), -1);
	ck_assert_int_eq(civil_day_of(-86400), -1);
	ck_assert_int_eq(civil_day_of(-86401), -2);
	ck_assert_int_eq(civil_day_of(1772955000), 20520); /* 2026-03-08 07:30Z */
	ck_assert_int_eq(civil_day_of(INT64_MIN), INT64_MIN / 86400 - 1);
	ck_assert_int_eq(civil_day_of(INT64_MAX), INT64_MAX / 86400);
}
END_TEST

/* civil_print writes what "%04d-%02d-%02d%c%02d:%02d[:%02d]" writes, far
 * and negative years included; civil_format and str_copy cut as snprintf. */
START_TEST(test_civil_print)
{
	static const int years[] = { 0, 7, 99, 999, 1970, 2026, 9999, 10000, 123456, -1, -45, -2026 };
	char a[64], b[64], cut[8];

	for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++)
		for (int k = 0; k < 4; k++) {
			struct civil c = { years[i], 1 + k * 3, 1 + k * 9, k * 7, k * 19, k * 17 };
			size_t n = civil_print(&c, k % 2 ? 'T' : ' ', k != 2, a);
			if (k != 2)
				snprintf(b, sizeof(b), "%04d-%02d-%02d%c%02d:%02d:%02d", c.year, c.month, c.day,
					 k % 2 ? 'T' : ' ', c.hour, c.min, c.sec);
			else
				snprintf(b, sizeof(b), "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour,
					 c.min);
			ck_assert_str_eq(a, b);
			ck_assert_uint_eq(n, strlen(b));
		}
	civil_format(&(struct civil){ 2026, 12, 1, 9, 5, 0 }, cut, sizeof(cut));
	ck_assert_str_eq(cut, "2026-12");
	str_copy(cut, 1, "x");
	ck_assert_str_eq(cut, "");
	str_copy(cut, sizeof(cut), "abc");
	ck_assert_str_eq(cut, "abc");
}
END_TEST

START_TEST(test_civil_names)
{
	/* one order for everyone: civil_weekday's, Sunday first */
	ck_assert_str_eq(civil_wday_short[civil_weekday(civil_to_days(2026, 3, 8))], "Sun");
	ck_assert_str_eq(civil_wday_long[civil_weekday(civil_to_days(2026, 3, 9))], "Monday");
	ck_assert_str_eq(civil_wday_short[civil_weekday(0)], "Thu");
	ck_assert_str_eq(civil_wday_long[civil_weekday(-1)], "Wednesday");
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(strncmp(civil_wday_short[i], civil_wday_long[i], 3), 0);
	ck_assert_str_eq(civil_month_short[0], "Jan");
	ck_assert_str_eq(civil_month_short[11], "Dec");
}
END_TEST

static Suite *civil_suite(void)
{
	Suite *s = suite_create("civil");
	TCase *tc = tcase_create("civil");

	tcase_add_test(tc, test_civil_days);
	tcase_add_test(tc, test_civil_far_years);
	tcase_add_test(tc, test_civil_months_and_leap_years);
	tcase_add_test(tc, test_civil_day_of);
	tcase_add_test(tc, test_civil_names);
	tcase_add_test(tc, test_civil_print);
	tcase_add_test(tc, test_civil_unix);
	tcase_add_test(tc, test_civil_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(civil_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
