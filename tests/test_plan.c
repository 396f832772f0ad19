/*
 * test_plan: run states at their boundaries, the order of runs, --from
 * parsing, and the exact text and JSON of `plan` for the good fixture at a
 * fixed instant.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "plan.h"
#include "tz.h"

#define GOOD TEST_DATADIR "/good/batchcalld.conf"
/* 2026-12-01T14:05:00Z: five minutes after dec-renewals' start */
#define FROM 1796133900

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
	struct tz_cache *zc = tz_cache_new();
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
	ck_assert_int_eq(plan_build(&c, 150, &p), 0);
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

START_TEST(test_offsets)
{
	char b[16];
	plan_format_offset(-18000, b, sizeof(b));
	ck_assert_str_eq(b, "-05:00");
	plan_format_offset(19800, b, sizeof(b));
	ck_assert_str_eq(b, "+05:30");
	plan_format_offset(45900, b, sizeof(b));
	ck_assert_str_eq(b, "+12:45");
	plan_format_offset(0, b, sizeof(b));
	ck_assert_str_eq(b, "+00:00");
	plan_format_offset(-12600, b, sizeof(b));
	ck_assert_str_eq(b, "-03:30");
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

static struct plan *good_plan(struct daemonconf **ret_c)
{
	struct diag d = { 0 };
	struct plan *p = NULL;

	ck_assert_int_eq(cfg_load(GOOD, ret_c, &d), 0);
	ck_assert_int_eq(plan_build(*ret_c, FROM, &p), 0);
	return p;
}

START_TEST(test_text_output)
{
	struct daemonconf *c = NULL;
	struct plan *p = good_plan(&c);
	char *t = plan_format_text(p);

	ck_assert_str_eq(t,
		"JOB           LOCAL TIME                        TIMEZONE          UTC                         UNIX  STATE\n"
		"gap-job       2026-03-08 03:30 -04:00 (EDT)     America/New_York  2026-03-08T07:30:00Z  1772955000  disabled\n"
		"wa.sg         2026-12-01 03:00 -05:00 (EST)     America/New_York  2026-12-01T08:00:00Z  1796112000  missed by 6h5m\n"
		"dec-renewals  2026-12-01 09:00 -05:00 (EST)     America/New_York  2026-12-01T14:00:00Z  1796133600  late by 5m\n"
		"kolkata       2026-12-01 19:30:15 +05:30 (IST)  Asia/Kolkata      2026-12-01T14:00:15Z  1796133615  missed by 4m45s\n");
	free(t);
	plan_free(p);
	daemonconf_free(c);
}
END_TEST

START_TEST(test_json_output)
{
	struct daemonconf *c = NULL;
	struct plan *p = good_plan(&c);
	char *t = plan_format_json(p);

	ck_assert_str_eq(t,
		"{\n"
		"  \"from\": 1796133900,\n"
		"  \"runs\": [\n"
		"    {\n"
		"      \"job\": \"gap-job\",\n"
		"      \"local\": \"2026-03-08T03:30:00-04:00\",\n"
		"      \"timezone\": \"America/New_York\",\n"
		"      \"abbreviation\": \"EDT\",\n"
		"      \"utc\": \"2026-03-08T07:30:00Z\",\n"
		"      \"unix\": 1772955000,\n"
		"      \"state\": \"disabled\",\n"
		"      \"file\": \"" TEST_DATADIR "/good/jobs.d/10-us.conf\",\n"
		"      \"line\": 17\n"
		"    },\n"
		"    {\n"
		"      \"job\": \"wa.sg\",\n"
		"      \"local\": \"2026-12-01T03:00:00-05:00\",\n"
		"      \"timezone\": \"America/New_York\",\n"
		"      \"abbreviation\": \"EST\",\n"
		"      \"utc\": \"2026-12-01T08:00:00Z\",\n"
		"      \"unix\": 1796112000,\n"
		"      \"state\": \"missed\",\n"
		"      \"late_by\": 21900,\n"
		"      \"file\": \"" TEST_DATADIR "/good/jobs.d/20-world.conf\",\n"
		"      \"line\": 12\n"
		"    },\n"
		"    {\n"
		"      \"job\": \"dec-renewals\",\n"
		"      \"local\": \"2026-12-01T09:00:00-05:00\",\n"
		"      \"timezone\": \"America/New_York\",\n"
		"      \"abbreviation\": \"EST\",\n"
		"      \"utc\": \"2026-12-01T14:00:00Z\",\n"
		"      \"unix\": 1796133600,\n"
		"      \"state\": \"late\",\n"
		"      \"late_by\": 300,\n"
		"      \"file\": \"" TEST_DATADIR "/good/jobs.d/10-us.conf\",\n"
		"      \"line\": 3\n"
		"    },\n"
		"    {\n"
		"      \"job\": \"kolkata\",\n"
		"      \"local\": \"2026-12-01T19:30:15+05:30\",\n"
		"      \"timezone\": \"Asia/Kolkata\",\n"
		"      \"abbreviation\": \"IST\",\n"
		"      \"utc\": \"2026-12-01T14:00:15Z\",\n"
		"      \"unix\": 1796133615,\n"
		"      \"state\": \"missed\",\n"
		"      \"late_by\": 285,\n"
		"      \"file\": \"" TEST_DATADIR "/good/jobs.d/20-world.conf\",\n"
		"      \"line\": 2\n"
		"    }\n"
		"  ]\n"
		"}\n");
	free(t);
	plan_free(p);
	daemonconf_free(c);
}
END_TEST

START_TEST(test_empty_plan)
{
	struct daemonconf c = { 0 };
	struct plan *p = NULL;
	char *t;

	ck_assert_int_eq(plan_build(&c, 7, &p), 0);
	ck_assert_uint_eq(p->n_runs, 0);
	t = plan_format_text(p);
	ck_assert_str_eq(t, "JOB  LOCAL TIME  TIMEZONE  UTC  UNIX  STATE\n");
	free(t);
	t = plan_format_json(p);
	ck_assert_str_eq(t, "{\n  \"from\": 7,\n  \"runs\": [\n  ]\n}\n");
	free(t);
	plan_free(p);
	plan_free(NULL);
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
	tcase_add_test(tc, test_offsets);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_text_output);
	tcase_add_test(tc, test_json_output);
	tcase_add_test(tc, test_empty_plan);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
