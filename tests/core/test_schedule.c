/*
 * test_schedule: occurrences, the latest due one, submit times under
 * calling hours and zone groups, with jobs built by hand (no configuration
 * files; tests/shell/test_schedule_files.c reads whole ones) and zones from
 * the tz database through the test fixture. Values only.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "fixture.h"
#include "schedule.h"
#include "tz.h"
#include "util.h"
#include "window.h"

#define T0 1800000000LL /* 2027-01-15 08:00 UTC, a Friday */
#define DAY 86400

static struct jobspec spec;
static struct tz *utc, *tokyo;
static struct recipient rcpts[3];
static struct window hours;

static void spec_init(void)
{
	memset(&spec, 0, sizeof(spec));
	memset(rcpts, 0, sizeof(rcpts));
	memset(&hours, 0, sizeof(hours));
	utc = fixture_tz("UTC");
	tokyo = fixture_tz("Asia/Tokyo");
	spec.name = (char *)"job";
	spec.agent_id = (char *)"agent_1";
	spec.timezone = (char *)"UTC";
	spec.tz = utc;
	spec.start = T0;
	spec.anchored = true;
	spec.max_lateness = 900;
	spec.enabled = true;
	rcpts[0].phone_number = (char *)"+15550100001";
	rcpts[1].phone_number = (char *)"+81312345671";
	rcpts[1].timezone = (char *)"Asia/Tokyo";
	rcpts[1].tz = tokyo;
	rcpts[2].phone_number = (char *)"+15550100002";
	spec.recipients = rcpts;
	spec.n_recipients = 3;
}

static void spec_done(void)
{
	calendar_free(spec.repeat);
	tz_free(utc);
	tz_free(tokyo);
}

static void set_repeat(const char *text)
{
	char *cause = NULL;

	ck_assert_msg(calendar_parse(text, &spec.repeat, &cause) == 0, "%s", cause ? cause : "");
}

/* Calling hours from..to (seconds after local midnight) every day. */
static void set_hours(int from, int to, enum outside_window outside)
{
	hours.days = 0x7f;
	hours.from = from;
	hours.to = to;
	spec.hours = &hours;
	spec.outside = outside;
}

START_TEST(test_single_run)
{
	int64_t v[4];
	size_t n = 9;

	/* a job without repeat: its start, if at or after from */
	ck_assert_int_eq(schedule_occurrences(&spec, T0 - DAY, 4, v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0], T0);
	ck_assert_int_eq(schedule_occurrences(&spec, T0, 4, v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(schedule_occurrences(&spec, T0 + 1, 4, v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(schedule_latest_due(&spec, T0 + 5, &v[0]), 0);
	ck_assert_int_eq(v[0], T0);
	ck_assert_int_eq(schedule_latest_due(&spec, T0 - 1, &v[0]), -ENOENT);
}
END_TEST

START_TEST(test_recurring_bounds)
{
	int64_t v[8], t;
	size_t n = 0;

	set_repeat("*-*-* 08:00");
	/* anchored at start: from long before, the first is start itself */
	ck_assert_int_eq(schedule_occurrences(&spec, 0, 3, v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0], T0);
	ck_assert_int_eq(v[1], T0 + DAY);
	ck_assert_int_eq(v[2], T0 + 2 * DAY);
	/* from between two: the next one */
	ck_assert_int_eq(schedule_occurrences(&spec, T0 + 1, 1, v, &n), 0);
	ck_assert_int_eq(v[0], T0 + DAY);
	/* count = 2: two in all, whatever max asks */
	spec.count = 2;
	ck_assert_int_eq(schedule_occurrences(&spec, 0, 8, v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(v[1], T0 + DAY);
	spec.count = 0;
	/* until: the last at or before it */
	spec.has_until = true;
	spec.until = T0 + 3 * DAY;
	ck_assert_int_eq(schedule_occurrences(&spec, 0, 8, v, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(v[3], T0 + 3 * DAY);
	/* the newest at or before now */
	ck_assert_int_eq(schedule_latest_due(&spec, T0 + 2 * DAY + 3600, &t), 0);
	ck_assert_int_eq(t, T0 + 2 * DAY);
	ck_assert_int_eq(schedule_latest_due(&spec, T0 + 9 * DAY, &t), 0);
	ck_assert_int_eq(t, T0 + 3 * DAY);
	ck_assert_int_eq(schedule_latest_due(&spec, T0 - 1, &t), -ENOENT);
	/* not anchored: it begins where the caller looks */
	spec.has_until = false;
	spec.anchored = false;
	ck_assert_int_eq(schedule_occurrences(&spec, T0 - 10 * DAY + 1, 1, v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0], T0 - 9 * DAY);
}
END_TEST

/* schedule_count gives what schedule_occurrences lists, with and without
 * count and until, anchored or not; and the downtime of the review (a
 * minutely job with count = 13000, 12,000 occurrences missed) in one walk. */
START_TEST(test_count)
{
	static int64_t v[13000];
	size_t n = 0;
	struct {
		int count;
		bool until, anchored;
	} cases[] = { { 0, false, true }, { 100, false, true }, { 0, true, true }, { 30, true, true },
		      { 0, false, false }, { 0, true, false } };

	set_repeat("*:*:00");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		spec.count = cases[c].count;
		spec.has_until = cases[c].until;
		spec.until = T0 + 50 * 60;
		spec.anchored = cases[c].anchored;
		for (int64_t from = T0 - 120; from <= T0 + 200 * 60; from += 7 * 60 + 13) {
			for (int64_t to = from; to <= from + 120 * 60; to += 11 * 60 + 29) {
				size_t want = 0;
				ck_assert_int_eq(schedule_occurrences(&spec, from, 1000, v, &n), 0);
				for (size_t i = 0; i < n; i++)
					if (v[i] < to)
						want++;
				ck_assert_uint_eq(schedule_count(&spec, from, to, 1000), want);
				ck_assert_uint_eq(schedule_count(&spec, from, to, 3), want < 3 ? want : 3);
			}
		}
	}
	spec.count = 13000;
	spec.has_until = false;
	spec.anchored = true;
	ck_assert_uint_eq(schedule_count(&spec, T0, T0 + 12000 * 60, 100000), 12000);
	ck_assert_uint_eq(schedule_count(&spec, T0 + 60, T0 + 20000 * 60, 100000), 12999);
	ck_assert_int_eq(schedule_occurrences(&spec, T0, 13000, v, &n), 0);
	ck_assert_uint_eq(n, 13000);
	ck_assert_int_eq(v[12999], T0 + 12999 * 60);
}
END_TEST

START_TEST(test_submit_time)
{
	int64_t t;
	bool skipped = true;

	/* no calling hours: at the occurrence */
	ck_assert_int_eq(schedule_submit_time(&spec, NULL, T0, &t, &skipped), 0);
	ck_assert_int_eq(t, T0);
	ck_assert(!skipped);
	/* 09:00-17:00 UTC, the occurrence at 08:00: deferred to 09:00 */
	set_hours(9 * 3600, 17 * 3600, OUTSIDE_DEFER);
	ck_assert_int_eq(schedule_submit_time(&spec, NULL, T0, &t, &skipped), 0);
	ck_assert_int_eq(t, T0 + 3600);
	ck_assert(!skipped);
	/* inside: at the occurrence */
	ck_assert_int_eq(schedule_submit_time(&spec, NULL, T0 + 7200, &t, &skipped), 0);
	ck_assert_int_eq(t, T0 + 7200);
	/* outside with skip: skipped, at the occurrence */
	spec.outside = OUTSIDE_SKIP;
	ck_assert_int_eq(schedule_submit_time(&spec, NULL, T0, &t, &skipped), 0);
	ck_assert(skipped);
	ck_assert_int_eq(t, T0);
	/* in another zone: 08:00 UTC is 17:00 in Tokyo, past its close:
	 * deferred to Tokyo's 09:00 the next day (00:00 UTC) */
	spec.outside = OUTSIDE_DEFER;
	ck_assert_int_eq(schedule_submit_time(&spec, tokyo, T0, &t, &skipped), 0);
	ck_assert_int_eq(t, T0 + 16 * 3600);
	/* never open (no weekday): -ENOENT */
	hours.days = 0;
	ck_assert_int_eq(schedule_submit_time(&spec, NULL, T0, &t, &skipped), -ENOENT);
	ck_assert_str_eq(schedule_window_name(SCHEDULE_OPEN), "open");
	ck_assert_str_eq(schedule_window_name(SCHEDULE_DEFERRED), "deferred");
	ck_assert_str_eq(schedule_window_name(SCHEDULE_SKIPPED), "skipped");
}
END_TEST

START_TEST(test_zone_groups)
{
	struct schedule_group *g = NULL;
	size_t n = 0;

	/* no calling hours: one group of everyone */
	spec.has_recipient_zones = true;
	ck_assert_int_eq(schedule_zone_groups(&spec, T0, &g, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(g[0].n_recipients, 3);
	ck_assert_int_eq(g[0].submit_at, T0);
	schedule_groups_free(g, n);
	/* 09:00-17:00 in each zone, at 08:00 UTC: UTC's group at 09:00 UTC,
	 * Tokyo's (17:00 there, closed) at its 09:00, 00:00 UTC next day;
	 * sorted by submit time, recipients in file order */
	set_hours(9 * 3600, 17 * 3600, OUTSIDE_DEFER);
	ck_assert_int_eq(schedule_zone_groups(&spec, T0, &g, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(g[0].timezone, "UTC");
	ck_assert_int_eq(g[0].submit_at, T0 + 3600);
	ck_assert_int_eq(g[0].window, SCHEDULE_DEFERRED);
	ck_assert_uint_eq(g[0].n_recipients, 2);
	ck_assert_uint_eq(g[0].recipients[0], 0);
	ck_assert_uint_eq(g[0].recipients[1], 2);
	ck_assert_str_eq(g[1].timezone, "Asia/Tokyo");
	ck_assert_int_eq(g[1].submit_at, T0 + 16 * 3600);
	ck_assert_uint_eq(g[1].n_recipients, 1);
	ck_assert_uint_eq(g[1].recipients[0], 1);
	schedule_groups_free(g, n);
	/* at 10:00 UTC (19:00 in Tokyo) with skip: UTC open, Tokyo skipped */
	spec.outside = OUTSIDE_SKIP;
	ck_assert_int_eq(schedule_zone_groups(&spec, T0 + 7200, &g, &n), 0);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(g[i].submit_at, T0 + 7200);
		ck_assert_int_eq(g[i].window, strcmp(g[i].timezone, "UTC") == 0 ? SCHEDULE_OPEN : SCHEDULE_SKIPPED);
	}
	schedule_groups_free(g, n);
	schedule_groups_free(NULL, 0);
}
END_TEST

static Suite *schedule_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, spec_init, spec_done);
	tcase_add_test(tc, test_single_run);
	tcase_add_test(tc, test_recurring_bounds);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_submit_time);
	tcase_add_test(tc, test_zone_groups);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(schedule_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
