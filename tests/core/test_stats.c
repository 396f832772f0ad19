/*
 * test_stats: the submit lateness histogram that /metrics exposes. Its
 * bounds rise; each first submit is counted in every bucket whose bound
 * it does not exceed (Prometheus' cumulative buckets: a bound is
 * inclusive) and in +Inf; a submit handed over early counts as on time;
 * the sum is in seconds.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

START_TEST(test_bounds)
{
	ck_assert_double_eq(stats_lateness_bounds[0], 0.005);
	ck_assert_double_eq(stats_lateness_bounds[STATS_LATENESS_BUCKETS - 2], 10);
	for (size_t i = 1; i < STATS_LATENESS_BUCKETS - 1; i++)
		ck_assert(stats_lateness_bounds[i - 1] < stats_lateness_bounds[i]);
}
END_TEST

/* How many buckets a count fell in: the cumulative ones from the first
 * bound it does not exceed, and +Inf. */
static void assert_buckets(const struct stats *s, const uint64_t *want)
{
	for (size_t i = 0; i < STATS_LATENESS_BUCKETS; i++)
		ck_assert_msg(s->lateness_buckets[i] == want[i], "bucket %zu: %llu, want %llu", i,
			      (unsigned long long)s->lateness_buckets[i], (unsigned long long)want[i]);
}

START_TEST(test_lateness)
{
	struct stats s;
	/* bounds: 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf */
	const uint64_t on_time[STATS_LATENESS_BUCKETS] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	const uint64_t then_7ms[STATS_LATENESS_BUCKETS] = { 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
	const uint64_t then_1s[STATS_LATENESS_BUCKETS] = { 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3 };
	const uint64_t then_early[STATS_LATENESS_BUCKETS] = { 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4 };
	const uint64_t then_20s[STATS_LATENESS_BUCKETS] = { 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5 };

	memset(&s, 0, sizeof(s));
	stats_note_lateness(&s, 0);
	assert_buckets(&s, on_time);
	stats_note_lateness(&s, 7);
	assert_buckets(&s, then_7ms);
	stats_note_lateness(&s, 1000); /* exactly a bound: inside it */
	assert_buckets(&s, then_1s);
	stats_note_lateness(&s, -250); /* handed over before its instant */
	assert_buckets(&s, then_early);
	stats_note_lateness(&s, 20000);
	assert_buckets(&s, then_20s);
	ck_assert_uint_eq(s.lateness_count, 5);
	ck_assert_double_eq_tol(s.lateness_sum, 0.007 + 1 + 20, 1e-9);
	/* Nothing else is touched. */
	ck_assert_uint_eq(s.submits_ok, 0);
	ck_assert_uint_eq(s.late, 0);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_lateness);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
