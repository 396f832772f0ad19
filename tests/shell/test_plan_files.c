/*
 * test_plan_files: the exact text and JSON of `plan` for the good fixture
 * at a fixed instant; for the good-repeat fixture the occurrences of recurring
 * jobs (--count), the catch-up row, and when each run really starts after
 * calling hours, per recipient zone group. Instants checked one by one
 * were computed with Python's zoneinfo. Run states, the order of runs and
 * --from parsing, with jobs built by hand, are tests/core/test_plan.c's.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cfg.h"
#include "tzdb.h"
#include "plan.h"
#include "tz.h"

#define GOOD TEST_DATADIR "/good/batchcalld.conf"
#define GOOD_REPEAT TEST_DATADIR "/good-repeat/batchcalld.conf"
/* 2026-12-01T14:05:00Z: five minutes after dec-renewals' start */
#define FROM 1796133900

static struct plan *good_plan(struct daemonconf **ret_c)
{
	struct diag d = { 0 };
	struct plan *p = NULL;

	ck_assert_int_eq(cfg_load(GOOD, ret_c, &d), 0);
	ck_assert_int_eq(plan_build_count(*ret_c, FROM, 1, &p), 0);
	return p;
}

START_TEST(test_text_output)
{
	struct daemonconf *c = NULL;
	struct plan *p = good_plan(&c);
	char *t = plan_format_text(p);

	ck_assert_str_eq(t,
		"JOB           LOCAL TIME                        TIMEZONE          UTC                         UNIX  SUBMIT AT                STATE\n"
		"gap-job       2026-03-08 03:30 -04:00 (EDT)     America/New_York  2026-03-08T07:30:00Z  1772955000  -                        disabled\n"
		"wa.sg         2026-12-01 03:00 -05:00 (EST)     America/New_York  2026-12-01T08:00:00Z  1796112000  -                        missed by 6h5m\n"
		"dec-renewals  2026-12-01 09:00 -05:00 (EST)     America/New_York  2026-12-01T14:00:00Z  1796133600  2026-12-01 09:05 -05:00  late by 5m\n"
		"kolkata       2026-12-01 19:30:15 +05:30 (IST)  Asia/Kolkata      2026-12-01T14:00:15Z  1796133615  -                        missed by 4m45s\n");
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
		"      \"submit_at\": null,\n"
		"      \"submit_local\": null,\n"
		"      \"window\": null,\n"
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
		"      \"submit_at\": null,\n"
		"      \"submit_local\": null,\n"
		"      \"window\": null,\n"
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
		"      \"submit_at\": 1796133900,\n"
		"      \"submit_local\": \"2026-12-01T09:05:00-05:00\",\n"
		"      \"window\": \"open\",\n"
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
		"      \"submit_at\": null,\n"
		"      \"submit_local\": null,\n"
		"      \"window\": null,\n"
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

static struct plan *repeat_plan(struct daemonconf **ret_c, int64_t from, size_t count)
{
	struct diag d = { 0 };
	struct plan *p = NULL;

	ck_assert_int_eq(cfg_load(GOOD_REPEAT, ret_c, &d), 0);
	ck_assert_int_eq(plan_build_count(*ret_c, from, count, &p), 0);
	return p;
}

/* the rows of job name, in order */
static size_t rows_of(const struct plan *p, const char *name, const struct plan_run **ret, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_runs && n < max; i++)
		if (strcmp(p->runs[i].job->name, name) == 0)
			ret[n++] = &p->runs[i];
	return n;
}

/* --count 3 on Friday 2026-12-04 19:00Z (14:00 in New York) */
START_TEST(test_repeat_count)
{
	struct daemonconf *c = NULL;
	struct plan *p = repeat_plan(&c, 1796410800, 3);
	const struct plan_run *r[8];

	ck_assert_uint_eq(p->n_runs, 13); /* 3 each of four recurring jobs, xmas, nothing of gap-daily */
	ck_assert_uint_eq(rows_of(p, "gap-daily", r, 8), 0); /* its count ended in March */
	ck_assert_uint_eq(rows_of(p, "hourly", r, 8), 3);
	ck_assert_int_eq(r[0]->instant, 1796410800); /* 14:00 EST, at from: due, not late */
	ck_assert_int_eq(r[0]->state, PLAN_FUTURE);
	ck_assert_int_eq(r[2]->instant, 1796418000); /* 16:00 EST */
	ck_assert_int_eq(r[2]->window, SCHEDULE_OPEN);
	ck_assert_uint_eq(rows_of(p, "night", r, 8), 3);
	ck_assert_int_eq(r[0]->instant, 1796414400); /* Fri 21:00 CET: inside the Friday window */
	ck_assert_int_eq(r[0]->window, SCHEDULE_OPEN);
	ck_assert_int_eq(r[0]->submit_at, 1796414400);
	ck_assert_int_eq(r[1]->instant, 1796500800); /* Sat 21:00 CET: outside, skipped */
	ck_assert_int_eq(r[1]->window, SCHEDULE_SKIPPED);
	ck_assert(r[1]->submitted);
	ck_assert_int_eq(r[2]->instant, 1797019200); /* next Fri */
	ck_assert_uint_eq(rows_of(p, "weekday", r, 8), 3);
	ck_assert_int_eq(r[0]->instant, 1796652000); /* Mon 12-07 09:00 EST */
	ck_assert_int_eq(r[1]->instant, 1796738400);
	ck_assert_int_eq(r[2]->instant, 1796824800);
	ck_assert_uint_eq(rows_of(p, "xmas", r, 8), 1);
	ck_assert_int_eq(r[0]->submit_at, 1798466400); /* blackout 12-25, weekend: Mon 12-28 09:00 EST */
	ck_assert_int_eq(r[0]->window, SCHEDULE_DEFERRED);
	/* sorted by instant, then name */
	for (size_t i = 1; i < p->n_runs; i++)
		ck_assert(p->runs[i - 1].instant < p->runs[i].instant ||
			  (p->runs[i - 1].instant == p->runs[i].instant &&
			   strcmp(p->runs[i - 1].job->name, p->runs[i].job->name) < 0));
	plan_free(p);
	daemonconf_free(c);
}
END_TEST

/* Zone groups: Wednesday 2026-12-02 08:00 New York */
START_TEST(test_repeat_zone_groups)
{
	struct daemonconf *c = NULL;
	struct plan *p = repeat_plan(&c, FROM, 1);
	const struct plan_run *r[4];
	char *t;
	json_object *root, *runs, *o, *g;

	ck_assert_uint_eq(rows_of(p, "zones", r, 4), 1);
	ck_assert_int_eq(r[0]->instant, 1796216400);
	ck_assert_uint_eq(r[0]->n_groups, 4);
	ck_assert_int_eq(r[0]->submit_at, 1796216400); /* London, open: the first batch */
	ck_assert_int_eq(r[0]->window, SCHEDULE_DEFERRED);
	ck_assert_str_eq(r[0]->groups[0].timezone, "Europe/London");
	ck_assert_int_eq(r[0]->groups[1].submit_at, 1796220000);
	ck_assert_int_eq(r[0]->groups[2].submit_at, 1796223600);
	ck_assert_int_eq(r[0]->groups[3].submit_at, 1796230800);

	t = plan_format_json(p);
	root = json_tokener_parse(t);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "runs", &runs));
	o = NULL;
	for (size_t i = 0; i < json_object_array_length(runs); i++) {
		json_object *x = json_object_array_get_idx(runs, i), *job;
		json_object_object_get_ex(x, "job", &job);
		if (strcmp(json_object_get_string(job), "zones") == 0)
			o = x;
	}
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "repeat", &g));
	ck_assert_str_eq(json_object_get_string(g), "Mon..Fri *-*-* 08:00:00");
	ck_assert(json_object_object_get_ex(o, "window", &g));
	ck_assert_str_eq(json_object_get_string(g), "deferred");
	ck_assert(json_object_object_get_ex(o, "zone_groups", &g));
	ck_assert_uint_eq(json_object_array_length(g), 4);
	{
		json_object *g3 = json_object_array_get_idx(g, 3), *v;
		ck_assert(json_object_object_get_ex(g3, "timezone", &v));
		ck_assert_str_eq(json_object_get_string(v), "America/Los_Angeles");
		ck_assert(json_object_object_get_ex(g3, "recipients", &v));
		ck_assert_int_eq(json_object_get_int64(v), 1);
		ck_assert(json_object_object_get_ex(g3, "submit_at", &v));
		ck_assert_int_eq(json_object_get_int64(v), 1796230800);
		ck_assert(json_object_object_get_ex(g3, "submit_local", &v));
		ck_assert_str_eq(json_object_get_string(v), "2026-12-02T09:00:00-08:00");
		ck_assert(json_object_object_get_ex(g3, "window", &v));
		ck_assert_str_eq(json_object_get_string(v), "deferred");
	}
	json_object_put(root);
	free(t);
	plan_free(p);
	daemonconf_free(c);
}
END_TEST

/* At 09:05 on Tuesday 2026-12-01 the 09:00 runs are late by 5 minutes:
 * each recurring job shows its catch-up row, then its next occurrence. */
START_TEST(test_repeat_text_output)
{
	struct daemonconf *c = NULL;
	struct plan *p = repeat_plan(&c, FROM, 1);
	char *t = plan_format_text(p);

	ck_assert_str_eq(t,
		"JOB      LOCAL TIME                     TIMEZONE             UTC                         UNIX  SUBMIT AT                             STATE\n"
		"hourly   2026-12-01 09:00 -05:00 (EST)  America/New_York     2026-12-01T14:00:00Z  1796133600  2026-12-01 09:05 -05:00               late by 5m\n"
		"weekday  2026-12-01 09:00 -05:00 (EST)  America/New_York     2026-12-01T14:00:00Z  1796133600  2026-12-01 09:05 -05:00               late by 5m\n"
		"hourly   2026-12-01 10:00 -05:00 (EST)  America/New_York     2026-12-01T15:00:00Z  1796137200  2026-12-01 10:00 -05:00               future\n"
		"zones    2026-12-02 08:00 -05:00 (EST)  America/New_York     2026-12-02T13:00:00Z  1796216400  2026-12-02 08:00 -05:00 (first of 4)  future\n"
		"         + 1 recipient                  Europe/London                                          2026-12-02 13:00 +00:00               open\n"
		"         + 2 recipients                 America/New_York                                       2026-12-02 09:00 -05:00               deferred\n"
		"         + 1 recipient                  America/Chicago                                        2026-12-02 09:00 -06:00               deferred\n"
		"         + 1 recipient                  America/Los_Angeles                                    2026-12-02 09:00 -08:00               deferred\n"
		"weekday  2026-12-02 09:00 -05:00 (EST)  America/New_York     2026-12-02T14:00:00Z  1796220000  2026-12-02 09:00 -05:00               future\n"
		"night    2026-12-04 21:00 +01:00 (CET)  Europe/Berlin        2026-12-04T20:00:00Z  1796414400  2026-12-04 21:00 +01:00               future\n"
		"xmas     2026-12-25 10:00 -05:00 (EST)  America/New_York     2026-12-25T15:00:00Z  1798210800  2026-12-28 09:00 -05:00 (deferred)    future\n");
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

	ck_assert_int_eq(plan_build_count(&c, 7, 1, &p), 0);
	ck_assert_uint_eq(p->n_runs, 0);
	t = plan_format_text(p);
	ck_assert_str_eq(t, "JOB  LOCAL TIME  TIMEZONE  UTC  UNIX  SUBMIT AT  STATE\n");
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

	tcase_add_test(tc, test_text_output);
	tcase_add_test(tc, test_json_output);
	tcase_add_test(tc, test_empty_plan);
	tcase_add_test(tc, test_repeat_count);
	tcase_add_test(tc, test_repeat_zone_groups);
	tcase_add_test(tc, test_repeat_text_output);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
