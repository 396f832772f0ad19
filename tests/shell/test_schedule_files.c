/*
 * test_schedule: occurrences with start, until and count, catch-up after
 * downtime, submit times after calling hours and blackout dates, and the
 * split of a run into recipient zone groups, on the good-repeat fixture and
 * on jobs built here. Every expected instant was computed with Python's
 * zoneinfo (fold=0, RFC 5545's rule) from the wall time in the comment
 * beside it, never with this code.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cfg.h"
#include "schedule.h"
#include "tz.h"
#include "util.h"
#include "window.h"

#define GOOD_REPEAT TEST_DATADIR "/good-repeat/batchcalld.conf"

static struct daemonconf *load(void)
{
	struct diag d = { 0 };
	struct daemonconf *c = NULL;

	ck_assert_int_eq(cfg_load(GOOD_REPEAT, &c, &d), 0);
	return c;
}

static const struct jobspec *job(const struct daemonconf *c, const char *name)
{
	const struct jobspec *j = daemonconf_find(c, name);
	ck_assert_msg(j != NULL, "no job %s", name);
	return j;
}

START_TEST(test_occurrences_until)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "weekday");
	int64_t v[40];
	size_t n = 0;

	/* from long before start: the first is the first match at or after start */
	ck_assert_int_eq(schedule_occurrences(j, 0, 40, v, &n), 0);
	ck_assert_uint_eq(n, 23); /* the weekdays of December 2026 */
	ck_assert_int_eq(v[0], 1796133600 /* 2026-12-01 09:00 America/New_York */);
	ck_assert_int_eq(v[1], 1796220000 /* 2026-12-02 09:00 America/New_York */);
	ck_assert_int_eq(v[4], 1796652000 /* 2026-12-07 09:00 America/New_York */); /* over the weekend */
	ck_assert_int_eq(v[22], 1798725600 /* 2026-12-31 09:00 America/New_York */);
	/* at or after from: an occurrence at from itself is included */
	ck_assert_int_eq(schedule_occurrences(j, 1796220000 /* 2026-12-02 09:00 America/New_York */, 2, v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[0], 1796220000 /* 2026-12-02 09:00 America/New_York */);
	ck_assert_int_eq(v[1], 1796306400 /* 2026-12-03 09:00 America/New_York */);
	ck_assert_int_eq(schedule_occurrences(j, 1796220001 /* 2026-12-02 09:00:01 America/New_York */, 1, v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0], 1796306400 /* 2026-12-03 09:00 America/New_York */);
	/* past until: nothing */
	ck_assert_int_eq(schedule_occurrences(j, 1798725601 /* 2026-12-31 09:00:01 America/New_York */, 5, v, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* max 0 */
	ck_assert_int_eq(schedule_occurrences(j, 0, 0, v, &n), 0);
	ck_assert_uint_eq(n, 0);
	daemonconf_free(c);
}
END_TEST

/* count is counted from start, whatever from is; the gap day runs once */
START_TEST(test_occurrences_count_gap)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "gap-daily");
	int64_t v[10];
	size_t n = 0;

	ck_assert_int_eq(schedule_occurrences(j, 0, 10, v, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(v[0], 1772955000 /* 2026-03-08 02:30 America/New_York */); /* in the gap: EST */
	ck_assert_int_eq(v[1], 1773037800 /* 2026-03-09 02:30 America/New_York */);
	ck_assert_int_eq(v[2], 1773124200 /* 2026-03-10 02:30 America/New_York */);
	ck_assert_int_eq(v[3], 1773210600 /* 2026-03-11 02:30 America/New_York */);
	ck_assert_int_eq(v[4], 1773297000 /* 2026-03-12 02:30 America/New_York */);
	ck_assert_int_eq(schedule_occurrences(j, 1773115200 /* 2026-03-10 00:00 America/New_York */, 10, v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0], 1773124200 /* 2026-03-10 02:30 America/New_York */);
	ck_assert_int_eq(schedule_occurrences(j, 1773297060 /* 2026-03-12 02:31 America/New_York */, 10, v, &n), 0);
	ck_assert_uint_eq(n, 0);
	daemonconf_free(c);
}
END_TEST

START_TEST(test_occurrences_single_and_unanchored)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "xmas");
	int64_t v[4];
	size_t n = 0;

	ck_assert_int_eq(schedule_occurrences(j, 0, 4, v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0], 1798210800 /* 2026-12-25 10:00 America/New_York */);
	ck_assert_int_eq(schedule_occurrences(j, v[0] + 1, 4, v, &n), 0);
	ck_assert_uint_eq(n, 0);
	{
		/* from = INT64_MIN: from the first occurrence on */
		const struct jobspec *w = job(c, "weekday");
		ck_assert_int_eq(schedule_occurrences(w, INT64_MIN, 1, v, &n), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(v[0], 1796133600 /* 2026-12-01 09:00 America/New_York */);
	}
	/* no start: the occurrences begin at from */
	j = job(c, "hourly");
	ck_assert_int_eq(schedule_occurrences(j, 1796139000 /* 2026-12-01 10:30 America/New_York */, 3, v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0], 1796140800 /* 2026-12-01 11:00 America/New_York */);
	ck_assert_int_eq(v[1], 1796144400 /* 2026-12-01 12:00 America/New_York */);
	ck_assert_int_eq(v[2], 1796148000 /* 2026-12-01 13:00 America/New_York */);
	ck_assert_int_eq(schedule_occurrences(j, 1796140800 /* 2026-12-01 11:00 America/New_York */, 1, v, &n), 0);
	ck_assert_int_eq(v[0], 1796140800 /* 2026-12-01 11:00 America/New_York */);
	daemonconf_free(c);
}
END_TEST

START_TEST(test_latest_due)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "weekday");
	int64_t t = 42;

	/* before start: none, output untouched */
	ck_assert_int_eq(schedule_latest_due(j, 1796133540 /* 2026-12-01 08:59 America/New_York */, &t), -ENOENT);
	ck_assert_int_eq(t, 42);
	ck_assert_int_eq(schedule_latest_due(j, 1796133600 /* 2026-12-01 09:00 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1796133600 /* 2026-12-01 09:00 America/New_York */);
	/* down over a weekend: only the newest counts */
	ck_assert_int_eq(schedule_latest_due(j, 1796616000 /* 2026-12-06 23:00 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1796392800 /* 2026-12-04 09:00 America/New_York */);
	/* long after until: the last occurrence */
	ck_assert_int_eq(schedule_latest_due(j, 1803877200 /* 2027-03-01 00:00 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1798725600 /* 2026-12-31 09:00 America/New_York */);
	/* count: the fifth is the last, whatever now is */
	j = job(c, "gap-daily");
	ck_assert_int_eq(schedule_latest_due(j, 1798779600 /* 2027-01-01 00:00 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1773297000 /* 2026-03-12 02:30 America/New_York */);
	ck_assert_int_eq(schedule_latest_due(j, 1773037740 /* 2026-03-09 02:29 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1772955000 /* 2026-03-08 02:30 America/New_York */);
	/* unanchored: the last match at or before now, even far back */
	j = job(c, "hourly");
	ck_assert_int_eq(schedule_latest_due(j, 1796140799 /* 2026-12-01 10:59:59 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1796137200 /* 2026-12-01 10:00 America/New_York */);
	/* "ever" as INT64_MIN / INT64_MAX does not overflow */
	ck_assert_int_eq(schedule_latest_due(j, INT64_MIN, &t), -ENOENT);
	j = job(c, "weekday");
	ck_assert_int_eq(schedule_latest_due(j, INT64_MAX, &t), 0);
	ck_assert_int_eq(t, 1798725600 /* 2026-12-31 09:00 America/New_York */);
	/* single run */
	j = job(c, "xmas");
	ck_assert_int_eq(schedule_latest_due(j, 1798210740 /* 2026-12-25 09:59 America/New_York */, &t), -ENOENT);
	ck_assert_int_eq(schedule_latest_due(j, 1798261200 /* 2026-12-26 00:00 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1798210800 /* 2026-12-25 10:00 America/New_York */);
	daemonconf_free(c);
}
END_TEST

/* A yearly job down for three years: the newest occurrence is found by
 * looking further back, without walking every year from the epoch. */
START_TEST(test_latest_due_sparse)
{
	struct daemonconf *c = load();
	struct jobspec j = *job(c, "hourly");
	struct calendar *cal = NULL;
	char *cause = NULL;
	int64_t t = 0;

	ck_assert_int_eq(calendar_parse("*-07-04 12:00", &cal, &cause), 0);
	j.repeat = cal;
	ck_assert_int_eq(schedule_latest_due(&j, 1877875140 /* 2029-07-04 11:59 America/New_York */, &t), 0);
	ck_assert_int_eq(t, 1846339200 /* 2028-07-04 12:00 America/New_York */);
	/* anchored after the last one: none */
	j.anchored = true;
	j.start = 1846382400 /* 2028-07-05 00:00 America/New_York */;
	ck_assert_int_eq(schedule_latest_due(&j, 1877875140 /* 2029-07-04 11:59 America/New_York */, &t), -ENOENT);
	calendar_free(cal);
	daemonconf_free(c);
}
END_TEST

START_TEST(test_submit_time)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "gap-daily");
	int64_t t;
	bool skipped = true;

	/* 02:30 is outside 08:00-21:00: deferred to 08:00 the same day */
	ck_assert_int_eq(schedule_submit_time(j, NULL, 1772955000 /* 2026-03-08 02:30 America/New_York */, &t, &skipped), 0);
	ck_assert_int_eq(t, 1772971200 /* 2026-03-08 08:00 America/New_York */);
	ck_assert(!skipped);
	/* inside: the occurrence itself */
	ck_assert_int_eq(schedule_submit_time(j, NULL, 1773072000 /* 2026-03-09 12:00 America/New_York */, &t, &skipped), 0);
	ck_assert_int_eq(t, 1773072000 /* 2026-03-09 12:00 America/New_York */);
	/* a blackout date defers a one-off run past the weekend too */
	j = job(c, "xmas");
	ck_assert_int_eq(schedule_submit_time(j, NULL, j->start, &t, &skipped), 0);
	ck_assert_int_eq(t, 1798466400 /* 2026-12-28 09:00 America/New_York */);
	ck_assert(!skipped);
	/* skip: Saturday 21:00 is outside a window that opens on Fridays */
	j = job(c, "night");
	ck_assert_int_eq(schedule_submit_time(j, NULL, 1796500800 /* 2026-12-05 21:00 Europe/Berlin */, &t, &skipped), 0);
	ck_assert(skipped);
	ck_assert_int_eq(t, 1796500800 /* 2026-12-05 21:00 Europe/Berlin */);
	ck_assert_int_eq(schedule_submit_time(j, NULL, 1796414400 /* 2026-12-04 21:00 Europe/Berlin */, &t, &skipped), 0);
	ck_assert(!skipped);
	ck_assert_int_eq(t, 1796414400 /* 2026-12-04 21:00 Europe/Berlin */);
	/* no window at all: the occurrence */
	{
		struct jobspec k = *j;
		k.hours = NULL;
		ck_assert_int_eq(schedule_submit_time(&k, NULL, 12345, &t, &skipped), 0);
		ck_assert_int_eq(t, 12345);
		ck_assert(!skipped);
	}
	ck_assert_str_eq(schedule_window_name(SCHEDULE_OPEN), "open");
	ck_assert_str_eq(schedule_window_name(SCHEDULE_DEFERRED), "deferred");
	ck_assert_str_eq(schedule_window_name(SCHEDULE_SKIPPED), "skipped");
	daemonconf_free(c);
}
END_TEST

/* Tuesday 08:00 in New York, calling hours Mon..Fri 09:00-20:00 in each
 * recipient's zone: London is open (13:00), the others wait for 09:00. */
START_TEST(test_zone_groups)
{
	struct daemonconf *c = load();
	const struct jobspec *j = job(c, "zones");
	struct schedule_group *g = NULL;
	size_t n = 0;

	ck_assert_int_eq(schedule_zone_groups(j, 1796130000 /* 2026-12-01 08:00 America/New_York */, &g, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(g[0].timezone, "Europe/London");
	ck_assert_int_eq(g[0].submit_at, 1796130000 /* 2026-12-01 08:00 America/New_York */);
	ck_assert_int_eq(g[0].window, SCHEDULE_OPEN);
	ck_assert_uint_eq(g[0].n_recipients, 1);
	ck_assert_uint_eq(g[0].recipients[0], 1);
	ck_assert_str_eq(g[1].timezone, "America/New_York");
	ck_assert_int_eq(g[1].submit_at, 1796133600 /* 2026-12-01 09:00 America/New_York */);
	ck_assert_int_eq(g[1].window, SCHEDULE_DEFERRED);
	ck_assert_uint_eq(g[1].n_recipients, 2); /* inline without zone, CSV with an empty cell */
	ck_assert_uint_eq(g[1].recipients[0], 2);
	ck_assert_uint_eq(g[1].recipients[1], 4);
	ck_assert_str_eq(g[2].timezone, "America/Chicago");
	ck_assert_int_eq(g[2].submit_at, 1796137200 /* 2026-12-01 09:00 America/Chicago */);
	ck_assert_uint_eq(g[2].recipients[0], 3);
	ck_assert_str_eq(g[3].timezone, "America/Los_Angeles");
	ck_assert_int_eq(g[3].submit_at, 1796144400 /* 2026-12-01 09:00 America/Los_Angeles */);
	ck_assert_uint_eq(g[3].recipients[0], 0);
	schedule_groups_free(g, n);

	/* Friday 15:00 New York: London (20:00) has closed, and its next opening
	 * is Monday; New York is open; Los Angeles (12:00) is open */
	ck_assert_int_eq(schedule_zone_groups(j, 1796414400 /* 2026-12-04 15:00 America/New_York */, &g, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(g[0].timezone, "America/Chicago");
	ck_assert_int_eq(g[0].window, SCHEDULE_OPEN);
	ck_assert_str_eq(g[1].timezone, "America/Los_Angeles");
	ck_assert_str_eq(g[2].timezone, "America/New_York");
	ck_assert_int_eq(g[2].submit_at, 1796414400 /* 2026-12-04 15:00 America/New_York */);
	ck_assert_str_eq(g[3].timezone, "Europe/London");
	ck_assert_int_eq(g[3].submit_at, 1796634000 /* 2026-12-07 09:00 Europe/London */);
	ck_assert_int_eq(g[3].window, SCHEDULE_DEFERRED);
	schedule_groups_free(g, n);

	/* without recipient zones: one group of everyone in the job's zone */
	j = job(c, "weekday");
	ck_assert_int_eq(schedule_zone_groups(j, 1796479200 /* 2026-12-05 09:00 America/New_York */, &g, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(g[0].timezone, "America/New_York");
	ck_assert_uint_eq(g[0].n_recipients, 1);
	ck_assert_int_eq(g[0].submit_at, 1796652000 /* 2026-12-07 09:00 America/New_York */); /* Saturday -> Monday */
	ck_assert_int_eq(g[0].window, SCHEDULE_DEFERRED);
	schedule_groups_free(g, n);
	schedule_groups_free(NULL, 0);
	daemonconf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_occurrences_until);
	tcase_add_test(tc, test_occurrences_count_gap);
	tcase_add_test(tc, test_occurrences_single_and_unanchored);
	tcase_add_test(tc, test_latest_due);
	tcase_add_test(tc, test_latest_due_sparse);
	tcase_add_test(tc, test_submit_time);
	tcase_add_test(tc, test_zone_groups);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
