/*
 * test_apiclock: the API's clock from its answers: the estimate and its
 * error, the lag a lookup adds (the largest seen, never shrinking), the
 * warning's edges with their hysteresis, and samples that say nothing.
 * Also the HTTP date reader it is fed by (backoff_parse_http_date).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "apiclock.h"
#include "backoff.h"

#define T0 1796000000000LL /* ms, a Saturday in December 2026 */

START_TEST(test_in_step)
{
	struct api_clock c = { 0 };

	ck_assert(!c.known);
	ck_assert_int_eq(api_clock_lag_s(&c), 0);
	ck_assert_int_eq(api_clock_lookup_margin_s(&c), API_CLOCK_LOOKUP_MARGIN_S);
	/* asked at T0, answered 200 ms later, the server's second is T0's */
	ck_assert_int_eq(api_clock_note(&c, T0, T0 + 200, T0 / 1000), API_CLOCK_SAME);
	ck_assert(c.known && !c.off);
	ck_assert_int_eq(c.offset_ms, 400);  /* T0 + 500 - (T0 + 100) */
	ck_assert_int_eq(c.error_ms, 600);
	ck_assert_int_eq(c.max_lag_ms, 200); /* the server's second may have begun 200 ms before our answer */
	ck_assert_int_eq(api_clock_lag_s(&c), 1);
}
END_TEST

START_TEST(test_behind_widens_for_good)
{
	struct api_clock c = { 0 };

	/* the API ten minutes behind: warned, the lookup looks 600 s further back */
	ck_assert_int_eq(api_clock_note(&c, T0, T0 + 50, T0 / 1000 - 600), API_CLOCK_OFF);
	ck_assert(c.off);
	ck_assert_int_eq(c.offset_ms, -600000 + 475);
	ck_assert_int_eq(api_clock_lag_s(&c), 601);
	ck_assert_int_eq(api_clock_lookup_margin_s(&c), 901);
	ck_assert_int_eq(api_clock_note(&c, T0 + 1000, T0 + 1050, T0 / 1000 - 599), API_CLOCK_SAME);
	/* its clock is put right: back within range, but the lag stays (a
	 * batch made while it was behind still carries the old time) */
	ck_assert_int_eq(api_clock_note(&c, T0 + 2000, T0 + 2050, T0 / 1000 + 2), API_CLOCK_BACK);
	ck_assert(!c.off);
	ck_assert_int_eq(api_clock_lag_s(&c), 601);
	ck_assert_int_eq(c.offset_ms, 475);
}
END_TEST

START_TEST(test_ahead_warns_without_lag)
{
	struct api_clock c = { 0 };

	ck_assert_int_eq(api_clock_note(&c, T0, T0 + 10, T0 / 1000 + 3600), API_CLOCK_OFF);
	ck_assert_int_eq(c.max_lag_ms, 0);
	ck_assert_int_eq(api_clock_lag_s(&c), 0);
	ck_assert(c.offset_ms > 3599000 && c.offset_ms < 3601000);
}
END_TEST

START_TEST(test_warning_edges)
{
	struct api_clock c = { 0 };

	/* 61 s behind with 500 ms error on a fast answer: |offset| - error
	 * must pass 60 s. 60.4 s is not enough. */
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 61), API_CLOCK_SAME);
	ck_assert(!c.off);
	ck_assert_int_eq(c.offset_ms, -60500);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 62), API_CLOCK_OFF);
	/* a slow answer's uncertainty holds the warning back */
	c = (struct api_clock){ 0 };
	ck_assert_int_eq(api_clock_note(&c, T0, T0 + 20000, T0 / 1000 - 60), API_CLOCK_SAME);
	ck_assert_int_eq(c.error_ms, 10500);
	/* hysteresis: back only within half the threshold, error included */
	c = (struct api_clock){ 0 };
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 120), API_CLOCK_OFF);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 45), API_CLOCK_SAME);
	ck_assert(c.off);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 30), API_CLOCK_BACK); /* 29.5 s + 0.5 s error */
	ck_assert(!c.off);
	c = (struct api_clock){ 0 };
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 120), API_CLOCK_OFF);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, T0 / 1000 - 29), API_CLOCK_BACK);
}
END_TEST

START_TEST(test_nonsense_ignored)
{
	struct api_clock c = { 0 };

	ck_assert_int_eq(api_clock_note(&c, T0, T0 - 1, T0 / 1000), API_CLOCK_SAME); /* answered before asked */
	ck_assert_int_eq(api_clock_note(&c, -1, T0, T0 / 1000), API_CLOCK_SAME);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, -5), API_CLOCK_SAME);
	ck_assert_int_eq(api_clock_note(&c, T0, T0, INT64_MAX), API_CLOCK_SAME);
	ck_assert(!c.known);
	ck_assert_int_eq(c.max_lag_ms, 0);
	/* a Date of 1970 is believed: the lookup then reads the whole list
	 * (wider is the safe side) */
	ck_assert_int_eq(api_clock_note(&c, T0, T0, 0), API_CLOCK_OFF);
	ck_assert_int_eq(api_clock_lag_s(&c), T0 / 1000);
}
END_TEST

START_TEST(test_http_date)
{
	int64_t t = -1, now = T0 / 1000;

	ck_assert_int_eq(backoff_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now, &t), 0);
	ck_assert_int_eq(t, 784111777);
	ck_assert_int_eq(backoff_parse_http_date("  Sunday, 06-Nov-94 08:49:37 GMT\t", now, &t), 0);
	ck_assert_int_eq(t, 784111777);
	ck_assert_int_eq(backoff_parse_http_date("Sun Nov  6 08:49:37 1994", now, &t), 0);
	ck_assert_int_eq(t, 784111777);
	/* a delay is a Retry-After, not a date */
	ck_assert_int_eq(backoff_parse_http_date("120", now, &t), -EINVAL);
	ck_assert_int_eq(backoff_parse_http_date("", now, &t), -EINVAL);
	ck_assert_int_eq(backoff_parse_http_date(NULL, now, &t), -EINVAL);
	ck_assert_int_eq(backoff_parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT", now, &t), -EINVAL);
	ck_assert_int_eq(t, 784111777);
}
END_TEST

static Suite *apiclock_suite(void)
{
	Suite *s = suite_create("apiclock");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_in_step);
	tcase_add_test(tc, test_behind_widens_for_good);
	tcase_add_test(tc, test_ahead_warns_without_lag);
	tcase_add_test(tc, test_warning_edges);
	tcase_add_test(tc, test_nonsense_ignored);
	tcase_add_test(tc, test_http_date);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(apiclock_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
