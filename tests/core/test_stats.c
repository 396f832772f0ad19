/*
 * test_stats: the submit lateness histogram that /metrics exposes. Its
 * bounds rise; each first submit is counted in every bucket whose bound
 * it does not exceed (Prometheus' cumulative buckets: a bound is
 * inclusive) and in +Inf; a submit handed over early counts as on time;
 * the sum is in seconds. The stage histograms of a first submit count
 * each stage it reached from its due instant; the added latency is the
 * first byte's instant minus the later of the due instant and the moment
 * its slot became free, never below 0.
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

START_TEST(test_hist)
{
	const double bounds[3] = { 0.001, 0.002, 0.005 };
	struct stats_hist h;

	memset(&h, 0, sizeof(h));
	stats_hist_note(&h, bounds, 3, 0.0015);
	stats_hist_note(&h, bounds, 3, 0.002); /* a bound: inside it */
	stats_hist_note(&h, bounds, 3, -0.5);  /* early: 0 */
	stats_hist_note(&h, bounds, 3, 7);
	ck_assert_uint_eq(h.buckets[0], 1);
	ck_assert_uint_eq(h.buckets[1], 3);
	ck_assert_uint_eq(h.buckets[2], 3);
	ck_assert_uint_eq(h.buckets[3], 4); /* +Inf */
	ck_assert_uint_eq(h.count, 4);
	ck_assert_double_eq_tol(h.sum, 7.0035, 1e-12);
	ck_assert_double_eq(h.max, 7);
	for (size_t i = 1; i < STATS_STAGE_BOUNDS; i++)
		ck_assert(stats_stage_bounds[i - 1] < stats_stage_bounds[i]);
	for (size_t i = 1; i < STATS_ADDED_BOUNDS; i++)
		ck_assert(stats_added_bounds[i - 1] < stats_added_bounds[i]);
	ck_assert(STATS_STAGE_BOUNDS < STATS_HIST_MAX && STATS_ADDED_BOUNDS < STATS_HIST_MAX);
	ck_assert_double_eq(stats_added_bounds[0], 0.0001);
	ck_assert_str_eq(stats_stage_name(STATS_STAGE_FIRED), "fired");
	ck_assert_str_eq(stats_stage_name(STATS_STAGE_ANSWERED), "answered");
}
END_TEST

START_TEST(test_added)
{
	struct stats_submit_times t = { .due_us = 1000000 };

	/* never written: nothing added */
	ck_assert_int_eq(stats_added_latency_us(&t), -1);
	/* a slot free since before the due instant: from the instant */
	t.slot_free_us = 400000;
	t.at_us[STATS_STAGE_WRITTEN] = 1001500;
	ck_assert_int_eq(stats_added_latency_us(&t), 1500);
	/* a slot that came free after it: from then (the wait for a slot is
	 * the server's, not the daemon's) */
	t.slot_free_us = 1020000;
	t.at_us[STATS_STAGE_WRITTEN] = 1020300;
	ck_assert_int_eq(stats_added_latency_us(&t), 300);
	/* no slot time (0): from the instant */
	t.slot_free_us = 0;
	ck_assert_int_eq(stats_added_latency_us(&t), 20300);
	/* written before its instant (submit ahead): 0 */
	t.at_us[STATS_STAGE_WRITTEN] = 900000;
	ck_assert_int_eq(stats_added_latency_us(&t), 0);
}
END_TEST

START_TEST(test_note_submit)
{
	struct stats s;
	struct stats_submit_times a = { .due_us = 5000000 }, b = { .due_us = 5000000, .slot_free_us = 5030000 };

	memset(&s, 0, sizeof(s));
	/* at hand-over: the timer and the group commit */
	a.at_us[STATS_STAGE_FIRED] = 5000200;
	a.at_us[STATS_STAGE_DURABLE] = 5003000;
	stats_note_submit(&s, &a);
	ck_assert_uint_eq(s.stage[STATS_STAGE_FIRED].count, 1);
	ck_assert_uint_eq(s.stage[STATS_STAGE_FIRED].buckets[0], 1);   /* <= 0.5 ms */
	ck_assert_uint_eq(s.stage[STATS_STAGE_DURABLE].buckets[1], 0); /* 3 ms: not <= 1 ms */
	ck_assert_uint_eq(s.stage[STATS_STAGE_DURABLE].buckets[3], 1); /* <= 5 ms */
	ck_assert_uint_eq(s.stage[STATS_STAGE_WRITTEN].count, 0);
	ck_assert_uint_eq(s.added.count, 0);
	/* at the answer: the request's stages, waited 30 ms for a slot */
	b.at_us[STATS_STAGE_QUEUED] = 5003100;
	b.at_us[STATS_STAGE_CONNECTED] = 5030400;
	b.at_us[STATS_STAGE_WRITTEN] = 5030600;
	b.at_us[STATS_STAGE_ANSWERED] = 5051000;
	stats_note_submit(&s, &b);
	ck_assert_uint_eq(s.stage[STATS_STAGE_FIRED].count, 1);
	ck_assert_uint_eq(s.stage[STATS_STAGE_QUEUED].count, 1);
	ck_assert_uint_eq(s.stage[STATS_STAGE_WRITTEN].count, 1);
	ck_assert_double_eq_tol(s.stage[STATS_STAGE_ANSWERED].sum, 0.051, 1e-9);
	ck_assert_uint_eq(s.added.count, 1);
	ck_assert_double_eq_tol(s.added.sum, 0.0006, 1e-9);
	ck_assert_uint_eq(s.added.buckets[2], 0); /* 0.6 ms: not <= 0.5 ms */
	ck_assert_uint_eq(s.added.buckets[3], 1); /* <= 0.75 ms */
	ck_assert_double_eq_tol(s.added.max, 0.0006, 1e-9);
	/* the lateness histogram is its own */
	ck_assert_uint_eq(s.lateness_count, 0);
	/* stepped ahead of its instant: its timer and intent count as 0 */
	memset(&a, 0, sizeof(a));
	a.due_us = 5000000;
	a.at_us[STATS_STAGE_FIRED] = 4900000;
	a.at_us[STATS_STAGE_DURABLE] = 4908000;
	stats_note_submit(&s, &a);
	ck_assert_uint_eq(s.stage[STATS_STAGE_FIRED].count, 2);
	ck_assert_uint_eq(s.stage[STATS_STAGE_FIRED].buckets[0], 2);
	ck_assert_double_eq_tol(s.stage[STATS_STAGE_FIRED].sum, 0.0002, 1e-9);
	ck_assert_uint_eq(s.stage[STATS_STAGE_DURABLE].buckets[0], 1);
	ck_assert_double_eq_tol(s.stage[STATS_STAGE_DURABLE].sum, 0.003, 1e-9);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_lateness);
	tcase_add_test(tc, test_hist);
	tcase_add_test(tc, test_added);
	tcase_add_test(tc, test_note_submit);
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
