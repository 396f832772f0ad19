/*
 * test_jobspec: the checks on single values (E.164 numbers, job names), the
 * call names a job sends, the rule that keeps two jobs' call names apart,
 * the digest that tells the daemon a job changed (its value is pinned:
 * digests are kept in the state, so a change of the hash would read as a
 * change of every job after an upgrade), the lookup by name, and the
 * destructors.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "jobspec.h"
#include "util.h"
#include "window.h"

START_TEST(test_e164)
{
	ck_assert(e164_valid("+15550100001"));
	ck_assert(e164_valid("+12345678"));        /* 8 digits */
	ck_assert(e164_valid("+123456789012345")); /* 15 */
	ck_assert(!e164_valid("+1234567"));        /* 7 */
	ck_assert(!e164_valid("+1234567890123456"));
	ck_assert(!e164_valid("15550100001"));
	ck_assert(!e164_valid("+1555 0100001"));
	ck_assert(!e164_valid("+"));
	ck_assert(!e164_valid(""));
	ck_assert(!e164_valid(NULL));
}
END_TEST

START_TEST(test_job_name)
{
	char name[JOB_NAME_MAX + 2];

	ck_assert(job_name_valid("dec-renewals"));
	ck_assert(job_name_valid("A.b_9-x"));
	ck_assert(!job_name_valid(""));
	ck_assert(!job_name_valid(NULL));
	ck_assert(!job_name_valid("two words"));
	ck_assert(!job_name_valid("a/b"));
	ck_assert(!job_name_valid("caf\xc3\xa9"));
	memset(name, 'n', JOB_NAME_MAX);
	name[JOB_NAME_MAX] = '\0';
	ck_assert(job_name_valid(name));
	name[JOB_NAME_MAX] = 'n';
	name[JOB_NAME_MAX + 1] = '\0';
	ck_assert(!job_name_valid(name));
}
END_TEST

START_TEST(test_call_names)
{
	struct jobspec j = { .name = (char *)"dec-renewals" };
	char *s;

	ck_assert_str_eq(jobspec_call_base(&j), "dec-renewals");
	s = jobspec_run_call_name(&j, "2026-12-01 09:00");
	ck_assert_str_eq(s, "dec-renewals 2026-12-01 09:00");
	free(s);
	j.call_name = (char *)"December renewals";
	ck_assert_str_eq(jobspec_call_base(&j), "December renewals");
	s = jobspec_run_call_name(&j, "2026-12-01 09:00:30");
	ck_assert_str_eq(s, "December renewals 2026-12-01 09:00:30");
	free(s);

	/* A base that is another's, a space and a digit could meet it. */
	ck_assert(jobspec_call_base_extends("Renewals 2026", "Renewals"));
	ck_assert(jobspec_call_base_extends("Renewals 9", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals x", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals2026", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals ", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewal 2026", "Renewals"));
	ck_assert(!jobspec_call_base_extends("Renewals", "Renewals 2026"));
}
END_TEST

/* A job with something in every hashed field's neighbourhood. */
static void job_init(struct jobspec *j)
{
	struct recipient *r;

	memset(j, 0, sizeof(*j));
	j->name = xstrdup("dec-renewals");
	j->file = xstrdup("/etc/batchcalld/jobs.d/10-us.conf");
	j->agent_id = xstrdup("agent_1");
	j->phone_number_id = xstrdup("phnum_1");
	j->timezone = xstrdup("America/New_York");
	j->start = 1796133600;
	j->call_name = xstrdup("December renewals");
	j->target_concurrency_limit = 5;
	j->ringing_timeout_secs = 30;
	j->branch_id = xstrdup("main");
	j->retry = (struct retry_policy){ .max_retries = 2, .delay = 600, .backoff = 2.0, .max_delay = 3600 };
	j->max_lateness = 900;
	j->enabled = true;
	j->n_recipients = 2;
	j->recipients = xcalloc(2, sizeof(*j->recipients));
	r = &j->recipients[0];
	r->phone_number = xstrdup("+15550100001");
	r->n_vars = 4;
	r->vars = xcalloc(4, sizeof(*r->vars));
	r->vars[0] = (struct var){ .name = xstrdup("customer"), .type = VAR_STRING, .s = xstrdup("Ada") };
	r->vars[1] = (struct var){ .name = xstrdup("count"), .type = VAR_INT, .i = 3 };
	r->vars[2] = (struct var){ .name = xstrdup("ratio"), .type = VAR_FLOAT, .f = 0.5 };
	r->vars[3] = (struct var){ .name = xstrdup("vip"), .type = VAR_BOOL, .b = true };
	r = &j->recipients[1];
	r->id = xstrdup("r2");
	r->phone_number = xstrdup("+15550100002");
	r->language = xstrdup("en");
}

START_TEST(test_digest)
{
	struct jobspec j, k;
	uint64_t d;

	job_init(&j);
	jobspec_compute_digest(&j);
	d = j.digest;
	/* Pinned (see the top of this file). */
	ck_assert_uint_eq(d, 0x95b8fb12c0a9f4dbULL);

	/* The same job gives the same digest; where it was read does not count. */
	job_init(&k);
	free(k.file);
	k.file = xstrdup("/elsewhere.conf");
	k.line = 12;
	jobspec_compute_digest(&k);
	ck_assert_uint_eq(k.digest, d);
	jobspec_clear(&k);

	/* What is sent, or decides when, does. */
	job_init(&k);
	k.start++;
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);
	job_init(&k);
	k.recipients[0].vars[2].f = 0.25;
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);
	job_init(&k);
	k.recipients[1].language[0] = 'E';
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);
	job_init(&k);
	k.retry.backoff = 2.5;
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);

	/* An unset value differs from an empty one. */
	job_init(&k);
	k.environment = xstrdup("");
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);

	/* Values do not run into each other: "ab" + "c" is not "a" + "bc". */
	job_init(&k);
	free(k.agent_id);
	k.agent_id = xstrdup("agent_1p");
	free(k.phone_number_id);
	k.phone_number_id = xstrdup("hnum_1");
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, d);
	jobspec_clear(&k);

	/* on_removal changes no run: not hashed. */
	job_init(&k);
	k.on_removal = ON_REMOVAL_KEEP;
	jobspec_compute_digest(&k);
	ck_assert_uint_eq(k.digest, d);
	jobspec_clear(&k);
	jobspec_clear(&j);
}
END_TEST

/* The keys added with recurring jobs are hashed only when used, so a job
 * written before them keeps its digest. */
START_TEST(test_digest_later_keys)
{
	struct jobspec j, k;
	char *cause = NULL;

	job_init(&j);
	jobspec_compute_digest(&j);
	job_init(&k);
	k.count = 4; /* without repeat: not hashed */
	k.overlap = OVERLAP_ALLOW;
	k.outside = OUTSIDE_SKIP;
	k.resume = true;
	jobspec_compute_digest(&k);
	ck_assert_uint_eq(k.digest, j.digest);
	ck_assert_int_eq(calendar_parse("Mon..Fri 09:00", &k.repeat, &cause), 0);
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, j.digest);
	jobspec_clear(&k);

	job_init(&k);
	k.hours = xcalloc(1, sizeof(*k.hours));
	k.hours->all_day = true;
	jobspec_compute_digest(&k);
	ck_assert_uint_ne(k.digest, j.digest);
	jobspec_clear(&k); /* frees the window */
	jobspec_clear(&j);
}
END_TEST

START_TEST(test_find_and_free)
{
	struct daemonconf *c = xcalloc(1, sizeof(*c));
	const char *names[] = { "a-job", "m.job", "z_job" };

	c->n_jobs = 3;
	c->jobs = xcalloc(3, sizeof(*c->jobs));
	for (size_t i = 0; i < 3; i++)
		job_init(&c->jobs[i]), free(c->jobs[i].name), c->jobs[i].name = xstrdup(names[i]);
	c->file = xstrdup("/etc/batchcalld/batchcalld.conf");
	for (size_t i = 0; i < 3; i++)
		ck_assert_ptr_eq(daemonconf_find(c, names[i]), &c->jobs[i]);
	ck_assert_ptr_null(daemonconf_find(c, "b-job"));
	ck_assert_ptr_null(daemonconf_find(c, "zz"));
	ck_assert_ptr_null(daemonconf_find(c, ""));
	ck_assert_ptr_null(daemonconf_find(c, NULL));
	ck_assert_ptr_null(daemonconf_find(NULL, "a-job"));

	jobspec_clear(&c->jobs[1]);
	ck_assert_ptr_null(c->jobs[1].name);
	ck_assert_uint_eq(c->jobs[1].n_recipients, 0);
	jobspec_clear(&c->jobs[1]); /* twice: nothing left to free */
	jobspec_clear(NULL);
	recipient_clear(NULL);
	var_clear(NULL);
	daemonconf_free(c);
	daemonconf_free(NULL);
}
END_TEST

static Suite *jobspec_suite(void)
{
	Suite *s = suite_create("jobspec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_e164);
	tcase_add_test(tc, test_job_name);
	tcase_add_test(tc, test_call_names);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_digest_later_keys);
	tcase_add_test(tc, test_find_and_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jobspec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
