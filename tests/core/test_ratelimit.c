/*
 * test_ratelimit: the token bucket with plain numbers — burst, spacing,
 * refill after idle, never more than burst, unlimited mode, odd rates.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "ratelimit.h"

START_TEST(test_burst_then_spacing)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 10.0, 3);
	int64_t t = 1000000;
	ck_assert_int_eq(ratelimit_take(&rl, t), 0);
	ck_assert_int_eq(ratelimit_take(&rl, t), 0);
	ck_assert_int_eq(ratelimit_take(&rl, t), 0);
	/* Bucket empty: the next token comes one interval after the first. */
	ck_assert_int_eq(ratelimit_take(&rl, t), 100000);
	ck_assert_int_eq(ratelimit_take(&rl, t + 40000), 60000);
	ck_assert_int_eq(ratelimit_take(&rl, t + 99999), 1);
	ck_assert_int_eq(ratelimit_take(&rl, t + 100000), 0);
	ck_assert_int_eq(ratelimit_take(&rl, t + 100000), 100000);
	ck_assert_int_eq(ratelimit_take(&rl, t + 200000), 0);
}
END_TEST

START_TEST(test_refill_capped_at_burst)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 2.0, 2);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 500000);
	/* An hour idle refills two tokens, not 7200. */
	int64_t t = 3600LL * 1000000;
	ck_assert_int_eq(ratelimit_take(&rl, t), 0);
	ck_assert_int_eq(ratelimit_take(&rl, t), 0);
	ck_assert_int_eq(ratelimit_take(&rl, t), 500000);
}
END_TEST

START_TEST(test_long_run_rate_exact)
{
	/* Taking greedily for 10 s at 7/s with burst 4 yields exactly
	 * 4 + floor(10 s / ceil(1e6/7) us) tokens, and never two tokens closer
	 * than one interval once the burst is spent. */
	struct ratelimit rl;
	ratelimit_init(&rl, 7.0, 4);
	int64_t iv = 142858; /* ceil(1e6 / 7) */
	int64_t t = 0, last = -1;
	int n = 0;
	while (t <= 10000000) {
		int64_t w = ratelimit_take(&rl, t);
		if (w == 0) {
			n++;
			if (n > 4)
				ck_assert_int_ge(t - last, iv);
			last = t;
		} else {
			ck_assert_int_gt(w, 0);
			t += w;
		}
	}
	ck_assert_int_eq(n, 4 + 10000000 / iv);
}
END_TEST

START_TEST(test_unlimited)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 5);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ratelimit_init(&rl, -3, 5);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
}
END_TEST

START_TEST(test_burst_below_one_is_one)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 4.0, 0);
	ck_assert_int_eq(ratelimit_take(&rl, 5), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 5), 250000);
	ratelimit_init(&rl, 4.0, -7);
	ck_assert_int_eq(ratelimit_take(&rl, 5), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 6), 249999);
}
END_TEST

START_TEST(test_fractional_and_huge_rates)
{
	struct ratelimit rl;
	/* 0.5/s: one token every 2 s. */
	ratelimit_init(&rl, 0.5, 1);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 2000000);
	/* Rates above 1e6/s still space by at least 1 us. */
	ratelimit_init(&rl, 1e12, 1);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 1);
	ck_assert_int_eq(ratelimit_take(&rl, 1), 0);
}
END_TEST

START_TEST(test_waiting_takes_nothing)
{
	/* A refused take must not consume: asking repeatedly while waiting
	 * does not push the next token further out. */
	struct ratelimit rl;
	ratelimit_init(&rl, 10.0, 1);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(ratelimit_take(&rl, 1000), 99000);
	ck_assert_int_eq(ratelimit_take(&rl, 100000), 0);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_burst_then_spacing);
	tcase_add_test(tc, test_refill_capped_at_burst);
	tcase_add_test(tc, test_long_run_rate_exact);
	tcase_add_test(tc, test_unlimited);
	tcase_add_test(tc, test_burst_below_one_is_one);
	tcase_add_test(tc, test_fractional_and_huge_rates);
	tcase_add_test(tc, test_waiting_takes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
