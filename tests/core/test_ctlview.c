/*
 * test_ctlview: the exact JSON of a job, the golden `status` table and
 * `show` page for fixed runs at a fixed `now` (plain, coloured and narrow),
 * relative times, and the metrics text for fixed counters.
 */
#include "fixture.h"
#include "config.h"

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlview.h"
#include "tz.h"
#include "util.h"

/* 2026-12-01 09:00 America/New_York = 14:00Z */
#define START 1796133600
/* five minutes later */
#define NOW (START + 300)

struct fixture {
	struct tz_cache *zones;
	struct jobspec specs[3];
	struct run runs[4];
	const struct run *rp[4];
	const struct jobspec *sp[4];
};

static void fixture_init(struct fixture *f)
{
	const struct tz *ny, *utc;
	char *cause = NULL;

	memset(f, 0, sizeof(*f));
	f->zones = fixture_zones();
	ck_assert_int_eq(tz_cache_get(f->zones, "America/New_York", &ny, &cause), 0);
	ck_assert_int_eq(tz_cache_get(f->zones, "UTC", &utc, &cause), 0);
	f->specs[0] = (struct jobspec){
		.name = "dec-renewals", .file = "/etc/batchcalld/jobs.d/renewals.conf", .line = 3,
		.agent_id = "agent_01jx", .phone_number_id = "phnum_01jx", .timezone = "America/New_York",
		.tz = ny, .has_start = true, .start_text = "2026-12-01 09:00", .start = START,
		.call_name = "December renewals", .n_recipients = 120, .target_concurrency_limit = 5,
		.retry = { .max_retries = 2, .delay = 600, .backoff = 2.0, .max_delay = 3600 },
		.max_lateness = 900, .enabled = true,
	};
	f->specs[1] = (struct jobspec){
		.name = "jan-reminders", .file = "/etc/batchcalld/jobs.d/jan.conf", .line = 1,
		.agent_id = "agent_02", .timezone = "UTC", .tz = utc, .start = NOW + 3 * 3600 + 12 * 60,
		.n_recipients = 2, .retry = { .max_retries = 1, .delay = 60, .backoff = 1.0, .max_delay = 60 },
		.max_lateness = 900, .submit_ahead = 30, .on_removal = ON_REMOVAL_KEEP, .enabled = true,
	};
	f->specs[2] = (struct jobspec){
		.name = "rejected", .file = "/etc/batchcalld/jobs.d/bad.conf", .line = 7, .agent_id = "agent_03",
		.timezone = "UTC", .tz = utc, .start = START - 86400 - 7200, .n_recipients = 1,
		.retry = { .max_retries = 0, .delay = 600, .backoff = 2.0, .max_delay = 3600 },
		.max_lateness = 900, .enabled = true,
	};
	f->runs[0] = (struct run){
		.job = "dec-renewals", .start = START, .call_name = "December renewals 2026-12-01 09:00",
		.state = RUN_IN_PROGRESS, .batch_id = "btcal_01", .submit_attempts = 1, .retries = 1,
		.batch = { .status = BATCH_IN_PROGRESS, .total_calls_scheduled = 120, .total_calls_dispatched = 80,
			   .total_calls_finished = 57, .retry_count = 1 },
		.counts = { [BATCH_RCPT_COMPLETED] = 54, [BATCH_RCPT_FAILED] = 3, [BATCH_RCPT_PENDING] = 63 },
		.counts_valid = true, .submitted_at = START, .due_ms = 0,
	};
	f->runs[1] = (struct run){
		.job = "jan-reminders", .start = NOW + 3 * 3600 + 12 * 60, .call_name = "jan-reminders 2026-12-01 17:17",
		.state = RUN_SCHEDULED, .due_ms = (NOW + 3 * 3600 + 12 * 60 - 30) * 1000LL,
	};
	f->runs[2] = (struct run){
		.job = "old-job", .start = START - 7 * 86400, .call_name = "old-job 2026-11-24 14:00",
		.state = RUN_COMPLETED, .batch_id = "btcal_00", .submit_attempts = 1,
		.batch = { .status = BATCH_COMPLETED, .total_calls_scheduled = 2, .total_calls_dispatched = 2,
			   .total_calls_finished = 2 },
		.counts = { [BATCH_RCPT_COMPLETED] = 1, [BATCH_RCPT_VOICEMAIL] = 1 }, .counts_valid = true,
		.submitted_at = START - 7 * 86400, .finished_at = START - 7 * 86400 + 60,
	};
	f->runs[3] = (struct run){
		.job = "rejected", .start = START - 86400 - 7200, .call_name = "rejected 2026-11-30 12:00",
		.state = RUN_ERROR, .submit_attempts = 1,
		.error = "HTTP 422: recipients.0.phone_number: Field required",
	};
	f->rp[0] = &f->runs[0];
	f->rp[1] = &f->runs[1];
	f->rp[2] = &f->runs[2];
	f->rp[3] = &f->runs[3];
	f->sp[0] = &f->specs[0];
	f->sp[1] = &f->specs[1];
	f->sp[2] = NULL; /* old-job left the files */
	f->sp[3] = &f->specs[2];
}

static void fixture_free(struct fixture *f)
{
	tz_cache_free(f->zones);
}

/* Parse text (freed) the way batchcallctl does; the text must be JSON. */
static struct json_object *parse(char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_ptr_nonnull(o);
	free(text);
	return o;
}

START_TEST(test_job_json)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	s = ctlview_job_text(&f.runs[0], &f.specs[0], NULL);
	ck_assert_str_eq(s,
		"{\"name\":\"dec-renewals\",\"state\":\"in_progress\",\"defined\":true,\"enabled\":true,"
		"\"start_unix\":1796133600,\"start_local\":\"2026-12-01T09:00:00-05:00\","
		"\"timezone\":\"America/New_York\",\"zone_abbr\":\"EST\",\"start_utc\":\"2026-12-01T14:00:00Z\","
		"\"call_name\":\"December renewals 2026-12-01 09:00\",\"batch_id\":\"btcal_01\","
		"\"batch_status\":\"in_progress\",\"total_calls_scheduled\":120,\"total_calls_dispatched\":80,"
		"\"total_calls_finished\":57,\"retry_count\":1,"
		"\"outcomes\":{\"pending\":63,\"dispatched\":0,\"initiated\":0,\"in_progress\":0,\"completed\":54,"
		"\"failed\":3,\"cancelled\":0,\"voicemail\":0,\"unknown\":0},\"results\":null,"
		"\"touch\":0,\"follow_up\":null,\"retries_used\":1,\"retries_allowed\":2,\"submit_attempts\":1,\"last_error\":null,"
		"\"next_due_unix\":null,\"submitted_at\":1796133600,\"finished_at\":null,\"uncertain\":false,"
		"\"cancel_requested\":false,"
		"\"definition\":{\"file\":\"/etc/batchcalld/jobs.d/renewals.conf\",\"line\":3,"
		"\"agent_id\":\"agent_01jx\",\"phone_number_id\":\"phnum_01jx\",\"timezone\":\"America/New_York\","
		"\"start\":\"2026-12-01 09:00\",\"scheduled_time_unix\":null,\"call_name\":\"December renewals\","
		"\"recipients\":120,\"recipients_csv\":null,\"target_concurrency_limit\":5,"
		"\"ringing_timeout_secs\":null,\"whatsapp\":false,"
		"\"retry\":{\"max_retries\":2,\"delay\":600,\"backoff\":2.0,\"max_delay\":3600},"
		"\"max_lateness\":900,\"submit_ahead\":0,\"on_removal\":\"cancel\",\"enabled\":true}}");
	free(s);
	/* What the results files say, when they were written. */
	{
		struct ctlview_results res = { .known = true, .rows = 120, .answered = 54, .successful = 40 };
		s = ctlview_job_text(&f.runs[0], &f.specs[0], &res);
		ck_assert_ptr_nonnull(strstr(s, "\"unknown\":0},\"results\":{\"rows\":120,\"answered\":54,"
						"\"successful\":40},\"touch\":0,\"follow_up\":null,\"retries_used\":1,"));
		free(s);
	}
	/* A job that left the files: no zone, no definition, no allowance. */
	s = ctlview_job_text(&f.runs[2], NULL, NULL);
	ck_assert_ptr_nonnull(strstr(s, "\"defined\":false,\"enabled\":null,"));
	ck_assert_ptr_nonnull(strstr(s, "\"start_local\":null,\"timezone\":null,\"zone_abbr\":null,"));
	ck_assert_ptr_nonnull(strstr(s, "\"retries_allowed\":null,"));
	ck_assert_ptr_nonnull(strstr(s, "\"finished_at\":1795528860,"));
	ck_assert_ptr_nonnull(strstr(s, "\"definition\":null}"));
	free(s);
	/* Text from the API or the files is escaped as JSON wants it. */
	{
		static const char nasty[] = "say \"hi\"\\ a/b\n\t\x01\x1f \xc3\xa9";
		struct json_object *o, *v;
		f.runs[3].error = (char *)nasty;
		s = ctlview_job_text(&f.runs[3], &f.specs[2], NULL);
		ck_assert_ptr_nonnull(strstr(s, "\"last_error\":\"say \\\"hi\\\"\\\\ a/b\\n\\t\\u0001\\u001f \xc3\xa9\","));
		o = parse(s);
		ck_assert(json_object_object_get_ex(o, "last_error", &v));
		ck_assert_str_eq(json_object_get_string(v), nasty);
		json_object_put(o);
	}
	fixture_free(&f);
}
END_TEST

START_TEST(test_jobs_json_and_error)
{
	struct fixture f;
	struct json_object *o, *jobs, *j, *v;
	char *s;

	fixture_init(&f);
	o = parse(ctlview_jobs_text(f.rp, f.sp, NULL, 4, NOW));
	ck_assert(json_object_object_get_ex(o, "now", &v));
	ck_assert_int_eq(json_object_get_int64(v), NOW);
	ck_assert(json_object_object_get_ex(o, "jobs", &jobs));
	ck_assert_int_eq(json_object_array_length(jobs), 4);
	j = json_object_array_get_idx(jobs, 1);
	ck_assert(json_object_object_get_ex(j, "next_due_unix", &v));
	ck_assert_int_eq(json_object_get_int64(v), NOW + 3 * 3600 + 12 * 60 - 30);
	/* The list leaves definitions to GET /v1/jobs/NAME. */
	ck_assert(!json_object_object_get_ex(j, "definition", &v));
	json_object_put(o);
	s = ctlview_error_text("refused", "the run is already \"finished\"");
	ck_assert_str_eq(s, "{\"error\":{\"code\":\"refused\",\"message\":\"the run is already \\\"finished\\\"\"}}");
	free(s);
	/* Invalid UTF-8 (an API message, a name from a file) becomes
	 * \ufffd: the document stays valid JSON for any parser. */
	s = ctlview_error_text("api", "caf\xc3 \xff\x01");
	ck_assert_str_eq(s, "{\"error\":{\"code\":\"api\",\"message\":\"caf\\ufffd \\ufffd\\u0001\"}}");
	free(s);
	fixture_free(&f);
}
END_TEST

START_TEST(test_relative)
{
	static const struct {
		int64_t d;
		const char *want;
	} cases[] = {
		{ 0, "now" },          { 59, "in 59s" },         { -59, "59s ago" },
		{ 60, "in 1m" },       { -300, "5m ago" },       { 3599, "in 59m" },
		{ 3600, "in 1h 0m" },  { 11520, "in 3h 12m" },   { -86399, "23h 59m ago" },
		{ 86400, "in 1d 0h" }, { -8 * 86400 - 7200, "8d 2h ago" },
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ctlview_relative(1000000 + cases[i].d, 1000000, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].want);
	}
}
END_TEST

/* The table at three terminal widths (0: a pipe, no limit). */
static const struct {
	int width;
	const char *want;
} golden_status[] = {
	{ 0, "JOB            STATE        RUN                   WHEN       BATCH     PROGRESS                   RETRIES\n"
	     "dec-renewals   in_progress  2026-12-01 09:00 EST  5m ago     btcal_01  57/120 finished, 3 failed  1/2\n"
	     "jan-reminders  scheduled    2026-12-01 17:17 UTC  in 3h 12m  -         -                          0/1\n"
	     "old-job        completed    2026-11-24 14:00 UTC  7d 0h ago  btcal_00  2/2 finished, 0 failed     0/-\n"
	     "rejected       error        2026-11-30 12:00 UTC  1d 2h ago  -         -                          0/0\n" },
	/* 100 columns: the batch id goes, the rest stays aligned */
	{ 100, "JOB            STATE        RUN                   WHEN       PROGRESS                   RETRIES\n"
	       "dec-renewals   in_progress  2026-12-01 09:00 EST  5m ago     57/120 finished, 3 failed  1/2\n"
	       "jan-reminders  scheduled    2026-12-01 17:17 UTC  in 3h 12m  -                          0/1\n"
	       "old-job        completed    2026-11-24 14:00 UTC  7d 0h ago  2/2 finished, 0 failed     0/-\n"
	       "rejected       error        2026-11-30 12:00 UTC  1d 2h ago  -                          0/0\n" },
	/* 80 columns: the absolute time goes too */
	{ 80, "JOB            STATE        WHEN       PROGRESS                   RETRIES\n"
	      "dec-renewals   in_progress  5m ago     57/120 finished, 3 failed  1/2\n"
	      "jan-reminders  scheduled    in 3h 12m  -                          0/1\n"
	      "old-job        completed    7d 0h ago  2/2 finished, 0 failed     0/-\n"
	      "rejected       error        1d 2h ago  -                          0/0\n" },
};

START_TEST(test_status_golden)
{
	struct fixture f;
	struct json_object *o;
	struct ctlview_style st = { .width = 0, .colour = false };
	char *s;

	fixture_init(&f);
	o = parse(ctlview_jobs_text(f.rp, f.sp, NULL, 4, NOW));
	for (size_t i = 0; i < ARRAY_SIZE(golden_status); i++) {
		st.width = golden_status[i].width;
		s = ctlview_status_text(o, NOW, &st);
		ck_assert_str_eq(s, golden_status[i].want);
		free(s);
	}

	/* Colour: bold header, coloured states; padding ignores the codes. */
	st.width = 0;
	st.colour = true;
	s = ctlview_status_text(o, NOW, &st);
	ck_assert_ptr_nonnull(strstr(s, "\033[1mJOB\033[0m            \033[1mSTATE\033[0m"));
	ck_assert_ptr_nonnull(strstr(s, "dec-renewals   \033[36min_progress\033[0m  2026-12-01 09:00 EST"));
	ck_assert_ptr_nonnull(strstr(s, "rejected       \033[31merror\033[0m        2026-11-30"));
	ck_assert_ptr_nonnull(strstr(s, "jan-reminders  scheduled    2026"));
	free(s);
	json_object_put(o);

	o = parse(ctlview_jobs_text(f.rp, f.sp, NULL, 0, NOW));
	s = ctlview_status_text(o, NOW, &st);
	ck_assert_str_eq(s, "no jobs\n");
	free(s);
	json_object_put(o);
	fixture_free(&f);
}
END_TEST

static const char golden_show[] =
	"Job dec-renewals: in_progress\n"
	"  file          /etc/batchcalld/jobs.d/renewals.conf:3\n"
	"  agent         agent_01jx\n"
	"  phone number  phnum_01jx\n"
	"  start         2026-12-01 09:00 (America/New_York)\n"
	"  call name     December renewals\n"
	"  recipients    120\n"
	"  concurrency   5\n"
	"  retry         up to 2, first after 600s, x2.0, at most 3600s\n"
	"  max lateness  900s\n"
	"  on removal    cancel\n"
	"  enabled       yes\n"
	"\n"
	"Run\n"
	"  start         2026-12-01 09:00 EST, 5m ago\n"
	"  utc           2026-12-01T14:00:00Z (unix 1796133600)\n"
	"  call name     December renewals 2026-12-01 09:00\n"
	"  submits       1 attempt\n"
	"  retries       1/2\n"
	"  submitted     2026-12-01T14:00:00Z, 5m ago\n"
	"\n"
	"Batch btcal_01\n"
	"  status        in_progress\n"
	"  progress      57/120 finished, 3 failed\n"
	"  dispatched    80\n"
	"  retry count   1\n"
	"\n"
	"Outcomes\n"
	"  pending       63\n"
	"  completed     54\n"
	"  failed        3\n";

START_TEST(test_show_golden)
{
	struct fixture f;
	struct json_object *o;
	struct ctlview_style st = { 0 };
	char *s;

	fixture_init(&f);
	o = parse(ctlview_job_text(&f.runs[0], &f.specs[0], NULL));
	s = ctlview_show_text(o, NOW, &st);
	ck_assert_str_eq(s, golden_show);
	free(s);
	json_object_put(o);

	o = parse(ctlview_job_text(&f.runs[3], &f.specs[2], NULL));
	s = ctlview_show_text(o, NOW, &st);
	ck_assert_str_eq(s,
		"Job rejected: error\n"
		"  file          /etc/batchcalld/jobs.d/bad.conf:7\n"
		"  agent         agent_03\n"
		"  phone number  -\n"
		"  start         unix 1796040000 (timezone UTC)\n"
		"  recipients    1\n"
		"  retry         up to 0, first after 600s, x2.0, at most 3600s\n"
		"  max lateness  900s\n"
		"  on removal    cancel\n"
		"  enabled       yes\n"
		"\n"
		"Run\n"
		"  start         2026-11-30 12:00 UTC, 1d 2h ago\n"
		"  utc           2026-11-30T12:00:00Z (unix 1796040000)\n"
		"  call name     rejected 2026-11-30 12:00\n"
		"  submits       1 attempt\n"
		"  retries       0/0\n"
		"\n"
		"Batch\n"
		"  status        not submitted\n"
		"\n"
		"Last error\n"
		"  HTTP 422: recipients.0.phone_number: Field required\n");
	free(s);
	json_object_put(o);

	o = parse(ctlview_job_text(&f.runs[2], NULL, NULL));
	s = ctlview_show_text(o, NOW, &st);
	ck_assert_ptr_eq(strstr(s, "Job old-job: completed\n  definition    none: the job left the files\n"), s);
	ck_assert_ptr_nonnull(strstr(s, "  finished      2026-11-24T14:01:00Z, 7d 0h ago\n"));
	ck_assert_ptr_nonnull(strstr(s, "Outcomes\n  completed     1\n  voicemail     1\n"));
	free(s);
	json_object_put(o);
	fixture_free(&f);
}
END_TEST

START_TEST(test_metrics_text)
{
	static const double bounds[3] = { 0.005, 0.1, 2.5 };
	static const char *const ops[2] = { "submit", "list" };
	struct fixture f;
	struct stats st = {
		.submits_ok = 3, .submits_failed = 1, .submits_rejected = 2, .adopted = 1,
		.retries = 4, .cancels = 5, .missed = 6, .late = 7,
		.results_files_written = 11, .results_files_failed = 12,
		.suppressed_submit = 13, .suppressed_retry = 14, .suppress_entries_files = 1000000,
		.suppress_entries_own = 15,
		.reloads_ok = 2, .reloads_failed = 1, .last_reload_unix = 1796130000, .last_reload_ok = false,
		.started_unix = 1796120000,
		.webhook_conns = { .open = 5, .refused = 6, .accept_errors = 7 },
		.lateness_buckets = { 1, 2, 3, 4 }, .lateness_sum = 0.0625, .lateness_count = 4,
	};
	struct ctlview_metrics m = {
		.stats = &st, .lateness_bounds = bounds, .n_lateness_bounds = 3, .op_names = ops, .n_ops = 2,
		.version = "1.2\"x", .control_connections = 3, .control_refused = 9,
		.control_accept_errors = 4,
		.control_requests = { 0, 0, 10, 0, 2, 1 },
	};
	char *s;

	st.api_requests[0][2] = 3;
	st.api_requests[0][5] = 1;
	{
		/* one first submit: written 0.6 ms after its slot came free */
		struct stats_submit_times t = { .due_us = 1000000, .slot_free_us = 1030000 };
		t.at_us[STATS_STAGE_FIRED] = 1000100;
		t.at_us[STATS_STAGE_WRITTEN] = 1030600;
		stats_note_submit(&st, &t);
	}
	st.api_requests[1][0] = 2;
	fixture_init(&f);
	m.runs = f.rp;
	m.n_runs = 4;
	s = ctlview_metrics_text(&m);
	ck_assert_ptr_nonnull(strstr(s, "# HELP batchcalld_build_info Version of the running daemon.\n"
					"# TYPE batchcalld_build_info gauge\n"
					"batchcalld_build_info{version=\"1.2\\\"x\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_start_time_seconds 1796120000\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_jobs{state=\"scheduled\"} 1\n"
					"batchcalld_jobs{state=\"submitting\"} 0\n"
					"batchcalld_jobs{state=\"pending\"} 0\n"
					"batchcalld_jobs{state=\"in_progress\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_jobs{state=\"completed\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_jobs{state=\"error\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_active_batches 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_next_run_timestamp_seconds 1796145420\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submits_total{result=\"ok\"} 3\n"
					"batchcalld_submits_total{result=\"failed\"} 1\n"
					"batchcalld_submits_total{result=\"rejected\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_api_requests_total{endpoint=\"submit\",status_class=\"2xx\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_api_requests_total{endpoint=\"submit\",status_class=\"5xx\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_api_requests_total{endpoint=\"list\",status_class=\"none\"} 2\n"));
	ck_assert_ptr_null(strstr(s, "endpoint=\"get\""));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_retries_total 4\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_results_files_total{result=\"ok\"} 11\n"
					"batchcalld_results_files_total{result=\"failed\"} 12\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_suppressed_recipients_total{at=\"submit\"} 13\n"
					"batchcalld_suppressed_recipients_total{at=\"retry\"} 14\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE batchcalld_suppression_entries gauge\n"
					"batchcalld_suppression_entries{list=\"files\"} 1000000\n"
					"batchcalld_suppression_entries{list=\"own\"} 15\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_cancels_total 5\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_runs_missed_total 6\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_runs_late_total 7\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE batchcalld_submit_lateness_seconds histogram\n"
					"batchcalld_submit_lateness_seconds_bucket{le=\"0.005\"} 1\n"
					"batchcalld_submit_lateness_seconds_bucket{le=\"0.1\"} 2\n"
					"batchcalld_submit_lateness_seconds_bucket{le=\"2.5\"} 3\n"
					"batchcalld_submit_lateness_seconds_bucket{le=\"+Inf\"} 4\n"
					"batchcalld_submit_lateness_seconds_sum 0.0625\n"
					"batchcalld_submit_lateness_seconds_count 4\n"));
	/* the stages, one label each, and the added latency */
	ck_assert_ptr_nonnull(strstr(s, "# TYPE batchcalld_submit_stage_seconds histogram\n"
					"batchcalld_submit_stage_seconds_bucket{stage=\"fired\",le=\"0.0005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_stage_seconds_bucket{stage=\"fired\",le=\"+Inf\"} 1\n"
					"batchcalld_submit_stage_seconds_sum{stage=\"fired\"} 0.0001\n"
					"batchcalld_submit_stage_seconds_count{stage=\"fired\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_stage_seconds_bucket{stage=\"written\",le=\"0.025\"} 0\n"
					"batchcalld_submit_stage_seconds_bucket{stage=\"written\",le=\"0.05\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_stage_seconds_count{stage=\"durable\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_added_latency_seconds_bucket{le=\"0.0005\"} 0\n"
					"batchcalld_submit_added_latency_seconds_bucket{le=\"0.00075\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_added_latency_seconds_bucket{le=\"+Inf\"} 1\n"
					"batchcalld_submit_added_latency_seconds_sum 0.0006\n"
					"batchcalld_submit_added_latency_seconds_count 1\n"
					"# HELP batchcalld_submit_added_latency_max_seconds "));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_submit_added_latency_max_seconds 0.0006\n"));
	/* 54 + 1 completed, 3 failed, 63 pending, 1 voicemail */
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_recipients{outcome=\"pending\"} 63\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_recipients{outcome=\"completed\"} 55\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_recipients{outcome=\"failed\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_recipients{outcome=\"voicemail\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_reloads_total{result=\"ok\"} 2\n"
					"batchcalld_reloads_total{result=\"failed\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_last_reload_timestamp_seconds 1796130000\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_last_reload_success 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_control_connections 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_control_connections_refused_total 9\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_control_accept_errors_total 4\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_webhook_connections 5\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_webhook_connections_refused_total 6\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_webhook_accept_errors_total 7\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_control_requests_total{status_class=\"2xx\"} 10\n"
					"batchcalld_control_requests_total{status_class=\"3xx\"} 0\n"
					"batchcalld_control_requests_total{status_class=\"4xx\"} 2\n"
					"batchcalld_control_requests_total{status_class=\"5xx\"} 1\n"));
	/* Every family has HELP and TYPE; the text ends with a newline. */
	{
		size_t help = 0, type = 0;
		for (const char *p = s; (p = strstr(p, "# HELP ")); p++)
			help++;
		for (const char *p = s; (p = strstr(p, "# TYPE ")); p++)
			type++;
		ck_assert_uint_eq(help, 38);
		ck_assert_uint_eq(type, 38);
	}
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_contact_limited_recipients_total{at=\"submit\"} 0\n"
					"batchcalld_contact_limited_recipients_total{at=\"retry\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_contact_ledger_entries 0\n"));
	ck_assert_int_eq(s[strlen(s) - 1], '\n');
	/* the API's clock: no sample before its first answer, the margin
	 * is the fixed one */
	ck_assert_ptr_null(strstr(s, "\nbatchcalld_api_clock_offset_seconds "));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_lookup_margin_seconds 300\n"));
	free(s);
	/* ten minutes behind: the offset, and the margin grown by the lag */
	api_clock_note(&st.api_clock, 1796120000000, 1796120000100, 1796120000 - 600);
	s = ctlview_metrics_text(&m);
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_api_clock_offset_seconds -599.550\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nbatchcalld_lookup_margin_seconds 901\n"));
	free(s);

	/* Nothing scheduled: the next-run gauge has no sample. */
	m.n_runs = 1;
	s = ctlview_metrics_text(&m);
	ck_assert_ptr_null(strstr(s, "\nbatchcalld_next_run_timestamp_seconds "));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE batchcalld_next_run_timestamp_seconds gauge\n"));
	free(s);
	fixture_free(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctlview");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_job_json);
	tcase_add_test(tc, test_jobs_json_and_error);
	tcase_add_test(tc, test_relative);
	tcase_add_test(tc, test_status_golden);
	tcase_add_test(tc, test_show_golden);
	tcase_add_test(tc, test_metrics_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
