/*
 * test_plan: what `batchcallctl plan` says, with jobs built by hand (no
 * configuration files; tests/shell/test_plan_files.c holds the exact text
 * and JSON of whole fixtures): run states at their boundaries, the order of
 * runs, --from parsing, a recurring job's occurrences, a disabled job, and
 * a run deferred by calling hours. Zones come from the tz database through
 * the test fixture. Values only.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "calendar.h"
#include "conv.h"
#include "fixture.h"
#include "plan.h"
#include "tz.h"
#include "util.h"
#include "window.h"

/* 2026-12-01T14:05:00Z */
#define FROM 1796133900
#define T0 1800000000LL /* 2027-01-15 08:00 UTC, a Friday */
#define DAY 86400

START_TEST(test_state_boundaries)
{
	struct jobspec j = { .enabled = true, .max_lateness = 900 };
	int64_t late;

	ck_assert_int_eq(plan_state_of(&j, 1000, 0, &late), PLAN_FUTURE);
	ck_assert_int_eq(late, 0);
	/* at the instant itself: due, not late */
	ck_assert_int_eq(plan_state_of(&j, 1000, 1000, &late), PLAN_FUTURE);
	ck_assert_int_eq(late, 0);
	ck_assert_int_eq(plan_state_of(&j, 1000, 1001, &late), PLAN_LATE);
	ck_assert_int_eq(late, 1);
	ck_assert_int_eq(plan_state_of(&j, 1000, 1900, &late), PLAN_LATE);
	ck_assert_int_eq(late, 900);
	ck_assert_int_eq(plan_state_of(&j, 1000, 1901, &late), PLAN_MISSED);
	ck_assert_int_eq(late, 901);
	j.max_lateness = 0;
	ck_assert_int_eq(plan_state_of(&j, 1000, 1000, NULL), PLAN_FUTURE);
	ck_assert_int_eq(plan_state_of(&j, 1000, 1001, NULL), PLAN_MISSED);
	j.enabled = false;
	ck_assert_int_eq(plan_state_of(&j, 1000, 0, NULL), PLAN_DISABLED);
	ck_assert_int_eq(plan_state_of(&j, 1000, 5000, &late), PLAN_DISABLED);
	ck_assert_int_eq(late, 4000);
	ck_assert_str_eq(plan_state_name(PLAN_FUTURE), "future");
	ck_assert_str_eq(plan_state_name(PLAN_LATE), "late");
	ck_assert_str_eq(plan_state_name(PLAN_MISSED), "missed");
	ck_assert_str_eq(plan_state_name(PLAN_DISABLED), "disabled");
}
END_TEST

START_TEST(test_sorted_by_instant_then_name)
{
	const struct tz *utc;
	char *cause = NULL;
	struct tz_cache *zc = fixture_zones();
	struct jobspec jobs[3] = {
		{ .name = "b", .timezone = "UTC", .start = 200, .enabled = true },
		{ .name = "c", .timezone = "UTC", .start = 100, .enabled = true },
		{ .name = "a", .timezone = "UTC", .start = 200, .enabled = true },
	};
	struct daemonconf c = { .jobs = jobs, .n_jobs = 3 };
	struct plan *p = NULL;

	ck_assert_int_eq(tz_cache_get(zc, "UTC", &utc, &cause), 0);
	for (int i = 0; i < 3; i++)
		jobs[i].tz = utc;
	ck_assert_int_eq(plan_build_count(&c, 150, 1, &p), 0);
	ck_assert_uint_eq(p->n_runs, 3);
	ck_assert_str_eq(p->runs[0].job->name, "c");
	ck_assert_str_eq(p->runs[1].job->name, "a");
	ck_assert_str_eq(p->runs[2].job->name, "b");
	ck_assert_int_eq(p->runs[0].state, PLAN_MISSED);
	ck_assert_str_eq(p->runs[1].local, "1970-01-01 00:03:20 +00:00 (UTC)");
	ck_assert_str_eq(p->runs[1].utc, "1970-01-01T00:03:20Z");
	plan_free(p);
	tz_cache_free(zc);
}
END_TEST


/* A pending touch is shown as its rule: its time is known only once the
 * touch before it ended. */
START_TEST(test_touches_shown_as_rules)
{
	const struct tz *utc;
	char *cause = NULL, *text;
	struct tz_cache *zc = fixture_zones();
	struct touch_data d = { "decision", "\"later\"" };
	struct touch t[2] = { { .after_s = 2 * DAY, .status = TOUCH_VOICEMAIL | TOUCH_NOT_DIALLED,
				.suffix = "second try" },
			      { .after_s = 7 * DAY + 3600, .verdicts = 1u << CONV_FAILURE, .data = &d, .n_data = 1 } };
	struct jobspec jobs[1] = { { .name = "camp", .file = "f", .timezone = "UTC", .start = 200, .enabled = true,
				     .max_lateness = 900, .touches = t, .n_touches = 2 } };
	struct daemonconf c = { .jobs = jobs, .n_jobs = 1 };
	struct plan *p = NULL;
	struct json_object *o, *a, *x;

	ck_assert_int_eq(tz_cache_get(zc, "UTC", &utc, &cause), 0);
	jobs[0].tz = utc;
	ck_assert_int_eq(plan_build_count(&c, 150, 1, &p), 0);
	text = plan_format_text(p);
	ck_assert_ptr_nonnull(strstr(text, "\n      + second try                      UTC   "));
	ck_assert_ptr_nonnull(strstr(text, "2d after the run ends"));
	ck_assert_ptr_nonnull(strstr(text, "+ follow-up 2"));
	ck_assert_ptr_nonnull(strstr(text, "7d1h after follow-up 1 ends  pending\n"));
	free(text);
	text = plan_format_json(p);
	o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	a = json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "runs"), 0), "follow_up");
	ck_assert_uint_eq(json_object_array_length(a), 2);
	x = json_object_array_get_idx(a, 0);
	ck_assert_str_eq(json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN),
			 "{\"touch\":1,\"call_name_suffix\":\"second try\",\"after\":172800,"
			 "\"status\":[\"voicemail\",\"not_dialled\"],\"call_successful\":null,\"data\":null,"
			 "\"own_calling_hours\":false}");
	x = json_object_array_get_idx(a, 1);
	ck_assert_str_eq(json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN),
			 "{\"touch\":2,\"call_name_suffix\":\"follow-up 2\",\"after\":608400,\"status\":null,"
			 "\"call_successful\":[\"failure\"],\"data\":{\"decision\":\"later\"},\"own_calling_hours\":false}");
	json_object_put(o);
	free(text);
	/* a missed run has no touches to come */
	plan_free(p);
	ck_assert_int_eq(plan_build_count(&c, 200 + 901, 1, &p), 0);
	text = plan_format_text(p);
	ck_assert_ptr_null(strstr(text, "follow-up"));
	free(text);
	plan_free(p);
	tz_cache_free(zc);
}
END_TEST

START_TEST(test_parse_time)
{
	int64_t t;

	ck_assert_int_eq(plan_parse_time("1796133900", &t), 0);
	ck_assert_int_eq(t, FROM);
	ck_assert_int_eq(plan_parse_time("0", &t), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(plan_parse_time("2026-12-01 14:05", &t), 0);
	ck_assert_int_eq(t, FROM);
	ck_assert_int_eq(plan_parse_time("2026-12-01 14:05:30", &t), 0);
	ck_assert_int_eq(t, FROM + 30);
	ck_assert_int_eq(plan_parse_time("2026-12-01T14:05:00Z", &t), 0);
	ck_assert_int_eq(t, FROM);
	ck_assert_int_eq(plan_parse_time("2026-12-01T09:05:00-05:00", &t), 0);
	ck_assert_int_eq(t, FROM);
	ck_assert_int_eq(plan_parse_time("2026-12-01T19:35+05:30", &t), 0);
	ck_assert_int_eq(t, FROM);
	ck_assert_int_eq(plan_parse_time("2026-12-02T02:50:00+1245", &t), 0);
	ck_assert_int_eq(t, FROM);
	t = 42;
	ck_assert_int_eq(plan_parse_time("", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("tomorrow", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("2026-12-01", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("2026-02-30 10:00", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("2026-12-01T14:05:00Zjunk", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("2026-12-01T14:05:00+25:00", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("-5", &t), -EINVAL);
	ck_assert_int_eq(plan_parse_time("17961339001796133900", &t), -EINVAL);
	ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(test_recurring_disabled_and_deferred)
{
	const struct tz *utc;
	char *cause = NULL;
	struct tz_cache *zc = fixture_zones();
	struct window w = { .days = 0x7f, .from = 9 * 3600, .to = 17 * 3600 };
	struct jobspec jobs[3] = {
		{ .name = "daily", .file = "a.conf", .line = 1, .timezone = "UTC", .start = T0, .anchored = true,
		  .count = 3, .enabled = true },
		{ .name = "off", .file = "b.conf", .line = 1, .timezone = "UTC", .start = T0 + 60, .enabled = false },
		{ .name = "hours", .file = "c.conf", .line = 2, .timezone = "UTC", .start = T0 + 120, .hours = &w,
		  .enabled = true },
	};
	struct daemonconf c = { .jobs = jobs, .n_jobs = 3 };
	struct plan *p = NULL;
	struct json_object *o, *runs, *r, *v;
	char *text;

	ck_assert_int_eq(tz_cache_get(zc, "UTC", &utc, &cause), 0);
	for (int i = 0; i < 3; i++)
		jobs[i].tz = utc;
	ck_assert_int_eq(calendar_parse("*-*-* 08:00", &jobs[0].repeat, &cause), 0);
	/* five asked, count = 3 gives three; the others one run each */
	ck_assert_int_eq(plan_build_count(&c, T0 - 1, 5, &p), 0);
	ck_assert_uint_eq(p->n_runs, 5);
	ck_assert_str_eq(p->runs[0].job->name, "daily");
	ck_assert_int_eq(p->runs[0].instant, T0);
	ck_assert_int_eq(p->runs[0].state, PLAN_FUTURE);
	ck_assert(p->runs[0].submitted);
	ck_assert_int_eq(p->runs[0].submit_at, T0);
	ck_assert_int_eq(p->runs[0].window, SCHEDULE_OPEN);
	ck_assert_str_eq(p->runs[1].job->name, "off");
	ck_assert_int_eq(p->runs[1].state, PLAN_DISABLED);
	ck_assert(!p->runs[1].submitted);
	/* 08:02 is before the 09:00 opening: submitted then */
	ck_assert_str_eq(p->runs[2].job->name, "hours");
	ck_assert_int_eq(p->runs[2].state, PLAN_FUTURE);
	ck_assert_int_eq(p->runs[2].window, SCHEDULE_DEFERRED);
	ck_assert_int_eq(p->runs[2].submit_at, T0 + 3600);
	ck_assert_int_eq(p->runs[3].instant, T0 + DAY);
	ck_assert_int_eq(p->runs[4].instant, T0 + 2 * DAY);
	ck_assert_str_eq(p->runs[4].utc, "2027-01-17T08:00:00Z");
	/* the JSON document says the same */
	text = plan_format_json(p);
	o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "runs", &runs));
	ck_assert_uint_eq(json_object_array_length(runs), 5);
	r = json_object_array_get_idx(runs, 1);
	ck_assert(json_object_object_get_ex(r, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "disabled");
	ck_assert(json_object_object_get_ex(r, "file", &v));
	ck_assert_str_eq(json_object_get_string(v), "b.conf");
	json_object_put(o);
	free(text);
	/* and the table names every job */
	text = plan_format_text(p);
	ck_assert_ptr_nonnull(strstr(text, "daily"));
	ck_assert_ptr_nonnull(strstr(text, "off"));
	ck_assert_ptr_nonnull(strstr(text, "hours"));
	free(text);
	plan_free(p);
	calendar_free(jobs[0].repeat);
	tz_cache_free(zc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("plan");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_state_boundaries);
	tcase_add_test(tc, test_sorted_by_instant_then_name);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_touches_shown_as_rules);
	tcase_add_test(tc, test_recurring_disabled_and_deferred);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
