/*
 * test_results: the rows of an occurrence and their two files, byte for
 * byte. A campaign with a whole run stopped at the close and its
 * follow-up, a busy number known only from its call_initiation_failure, a
 * voicemail still being analysed, a recipient no run holds and a batch
 * entry no longer in the job file gives golden CSV and JSON Lines; hostile
 * values are neutralised and escaped (and the JSON still reads back); each
 * status of a row never in a batch; each way of joining an entry; the file
 * name and the start read back from it; the results document (the one
 * both the daemon and batchcallctl's reading of the files print); 10,000
 * recipients (the times are printed); and docs/results.md names every
 * column.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "results.h"
#include "util.h"

#define START INT64_C(1796133600) /* 2026-12-01 09:00 America/New_York */

static struct tz *new_york;

static void setup(void)
{
	new_york = fixture_tz("America/New_York");
}

static void teardown(void)
{
	tz_free(new_york);
}

static struct jobspec job_of(struct recipient *r, size_t n)
{
	return (struct jobspec){ .name = "dec-renewals", .tz = new_york, .recipients = r, .n_recipients = n };
}

/* A conversation by hand (the strings are literals: never freed). */
static struct conv conv_of(const char *id, enum conv_status st, int64_t start, int64_t dur)
{
	return (struct conv){ .conversation_id = (char *)id, .agent_id = "agent_1", .status = st,
			      .start_time_unix_secs = start, .call_duration_secs = dur, .termination_reason = "" };
}

static char *csv_of(const struct results_input *in, struct results *r)
{
	results_build(in, r);
	return results_csv(r, NULL);
}

/* Every line of text is a JSON object that reads back strictly. */
static void assert_jsonl_valid(const char *text, size_t rows)
{
	size_t n = 0;
	for (const char *p = text; *p; n++) {
		const char *nl = strchr(p, '\n');
		struct json_tokener *tok = json_tokener_new();
		json_object *o;
		ck_assert_ptr_nonnull(nl);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, p, (int)(nl - p));
		ck_assert_msg(o && json_tokener_get_error(tok) == json_tokener_success &&
				      json_tokener_get_parse_end(tok) == (size_t)(nl - p),
			      "line %zu is not JSON: %.*s", n + 1, (int)(nl - p), p);
		ck_assert(json_object_is_type(o, json_type_object));
		json_object_put(o);
		json_tokener_free(tok);
		p = nl + 1;
	}
	ck_assert_uint_eq(n, rows);
}

/* --- the campaign --------------------------------------------------------- */

static struct recipient camp_rcpts[] = {
	{ .id = "crm-1", .phone_number = "+14155550101" },
	{ .phone_number = "+14155550102" },
	{ .id = "crm-3", .phone_number = "+14155550103" },
	{ .phone_number = "+14155550104" },
	{ .id = "crm-5", .phone_number = "+14155550105" },
};
static const char *const camp_keys_a[] = { "+14155550101", "+14155550102", "+14155550103", "+14155550104" };
static const char *const camp_keys_b[] = { "+14155550104" };
static struct batch_rcpt camp_detail_a[] = {
	{ .id = "crm-1", .phone_number = "+14155550101", .status = BATCH_RCPT_COMPLETED, .conversation_id = "conv_1" },
	{ .id = "btcrcp_2", .phone_number = "+14155550102", .status = BATCH_RCPT_FAILED, .conversation_id = "conv_2" },
	{ .id = "crm-3", .phone_number = "+14155550103", .status = BATCH_RCPT_VOICEMAIL, .conversation_id = "conv_3" },
	{ .id = "btcrcp_4", .phone_number = "+14155550104", .status = BATCH_RCPT_CANCELLED },
	{ .id = "btcrcp_9", .phone_number = "+14155550199", .status = BATCH_RCPT_COMPLETED, .conversation_id = "conv_9" },
};
static struct batch_rcpt camp_detail_b[] = {
	{ .id = "btcrcp_5", .phone_number = "+14155550104", .status = BATCH_RCPT_COMPLETED, .conversation_id = "conv_4" },
};

struct campaign {
	struct jobspec job;
	struct results_run runs[2];
	struct conv convs[5];
	struct conv_data data1[1], data4[2];
	struct conv_eval eval1[1], eval4[1];
	struct conv_failure fails[1];
	struct results_link links[1];
	struct results_input in;
};

static void campaign(struct campaign *c)
{
	memset(c, 0, sizeof(*c));
	c->job = job_of(camp_rcpts, ARRAY_SIZE(camp_rcpts));
	c->runs[0] = (struct results_run){ .call_name = "December renewals 2026-12-01 09:00", .state = RUN_CANCELLED,
					   .batch_id = "btcal_A", .keys = camp_keys_a, .n_keys = 4, .has_detail = true,
					   .rcpts = camp_detail_a, .n_rcpts = ARRAY_SIZE(camp_detail_a) };
	c->runs[1] = (struct results_run){ .part = "resume 1",
					   .call_name = "December renewals 2026-12-01 09:00 (resume 1)",
					   .state = RUN_COMPLETED, .batch_id = "btcal_B", .keys = camp_keys_b, .n_keys = 1,
					   .has_detail = true, .rcpts = camp_detail_b, .n_rcpts = 1 };
	c->data1[0] = (struct conv_data){ "renewal_decision", "\"renew\"" };
	c->eval1[0] = (struct conv_eval){ "renewal_confirmed", CONV_SUCCESS };
	c->data4[0] = (struct conv_data){ "amount", "12.50" };
	c->data4[1] = (struct conv_data){ "renewal_decision", "\"undecided, \\\"call back\\\"\"" };
	c->eval4[0] = (struct conv_eval){ "renewal_confirmed", CONV_FAILURE };
	c->convs[0] = conv_of("conv_1", CONV_DONE, START + 10, 74);
	c->convs[0].termination_reason = "Call ended by remote party";
	c->convs[0].call_result = CONV_CALL_ANSWERED;
	c->convs[0].has_analysis = true;
	c->convs[0].call_successful = CONV_SUCCESS;
	c->convs[0].transcript_summary = "Customer agreed to renew the Pro plan.";
	c->convs[0].data = c->data1, c->convs[0].n_data = 1;
	c->convs[0].evals = c->eval1, c->convs[0].n_evals = 1;
	c->convs[0].batch_call_id = "btcal_A", c->convs[0].batch_call_recipient_id = "crm-1";
	c->convs[1] = conv_of("conv_3", CONV_PROCESSING, START + 20, 31);
	c->convs[1].call_result = CONV_CALL_VOICEMAIL;
	c->convs[2] = conv_of("conv_4", CONV_DONE, START + 7200, 40);
	c->convs[2].has_analysis = true;
	c->convs[2].call_successful = CONV_FAILURE;
	c->convs[2].transcript_summary = "Wants a call back, \"next week\".\nNo decision.";
	c->convs[2].data = c->data4, c->convs[2].n_data = 2;
	c->convs[2].evals = c->eval4, c->convs[2].n_evals = 1;
	c->convs[3] = conv_of("conv_9", CONV_DONE, START + 30, 12);
	c->convs[3].has_analysis = true;
	c->convs[3].call_successful = CONV_UNKNOWN;
	c->fails[0] = (struct conv_failure){ "agent_1", "conv_2", CONV_FAILURE_BUSY };
	/* crm-1 was called once before, in an attempt a retry replaced */
	c->links[0] = (struct results_link){ "btcal_A", "crm-1", "conv_0" };
	c->in = (struct results_input){ .job = &c->job, .start = START,
					.call_name = "December renewals 2026-12-01 09:00", .runs = c->runs, .n_runs = 2,
					.convs = c->convs, .n_convs = 4, .failures = c->fails, .n_failures = 1,
					.links = c->links, .n_links = 1 };
}

static const char campaign_csv[] =
	"job,run_start,run_start_utc,call_name,part,touch,batch_id,recipient_id,phone_number,whatsapp_user_id,status,attempts,conversation_id,conversation_status,conversation_start,duration_secs,termination_reason,call_result,call_successful,transcript_summary,failure_reason,data.amount,data.renewal_decision,eval.renewal_confirmed\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00,,0,btcal_A,crm-1,'+14155550101,,completed,2,conv_1,done,2026-12-01T09:00:10-05:00,74,Call ended by remote party,answered,success,Customer agreed to renew the Pro plan.,,,renew,success\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00,,0,btcal_A,,'+14155550102,,failed,1,conv_2,,,,,,,,busy,,,\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00,,0,btcal_A,crm-3,'+14155550103,,voicemail,1,conv_3,processing,2026-12-01T09:00:20-05:00,31,,voicemail,,,,,,\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00 (resume 1),resume 1,0,btcal_B,,'+14155550104,,completed,1,conv_4,done,2026-12-01T11:00:00-05:00,40,,,failure,\"Wants a call back, \"\"next week\"\".\n"
	"No decision.\",,12.50,\"undecided, \"\"call back\"\"\",failure\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00,,,,crm-5,'+14155550105,,not_in_run,0,,,,,,,,,,,,\r\n"
	"dec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,December renewals 2026-12-01 09:00,,0,btcal_A,btcrcp_9,'+14155550199,,completed,1,conv_9,done,2026-12-01T09:00:30-05:00,12,,,unknown,,,,,\r\n";

static const char campaign_jsonl[] =
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00\",\"part\":null,\"touch\":0,\"batch_id\":\"btcal_A\",\"recipient_id\":\"crm-1\",\"phone_number\":\"+14155550101\",\"whatsapp_user_id\":null,\"status\":\"completed\",\"attempts\":2,\"conversation_id\":\"conv_1\",\"conversation_status\":\"done\",\"conversation_start\":\"2026-12-01T09:00:10-05:00\",\"duration_secs\":74,\"termination_reason\":\"Call ended by remote party\",\"call_result\":\"answered\",\"call_successful\":\"success\",\"transcript_summary\":\"Customer agreed to renew the Pro plan.\",\"failure_reason\":null,\"data\":{\"renewal_decision\":\"renew\"},\"eval\":{\"renewal_confirmed\":\"success\"}}\n"
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00\",\"part\":null,\"touch\":0,\"batch_id\":\"btcal_A\",\"recipient_id\":null,\"phone_number\":\"+14155550102\",\"whatsapp_user_id\":null,\"status\":\"failed\",\"attempts\":1,\"conversation_id\":\"conv_2\",\"conversation_status\":null,\"conversation_start\":null,\"duration_secs\":null,\"termination_reason\":null,\"call_result\":null,\"call_successful\":null,\"transcript_summary\":null,\"failure_reason\":\"busy\",\"data\":null,\"eval\":null}\n"
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00\",\"part\":null,\"touch\":0,\"batch_id\":\"btcal_A\",\"recipient_id\":\"crm-3\",\"phone_number\":\"+14155550103\",\"whatsapp_user_id\":null,\"status\":\"voicemail\",\"attempts\":1,\"conversation_id\":\"conv_3\",\"conversation_status\":\"processing\",\"conversation_start\":\"2026-12-01T09:00:20-05:00\",\"duration_secs\":31,\"termination_reason\":\"\",\"call_result\":\"voicemail\",\"call_successful\":null,\"transcript_summary\":null,\"failure_reason\":null,\"data\":{},\"eval\":{}}\n"
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00 (resume 1)\",\"part\":\"resume 1\",\"touch\":0,\"batch_id\":\"btcal_B\",\"recipient_id\":null,\"phone_number\":\"+14155550104\",\"whatsapp_user_id\":null,\"status\":\"completed\",\"attempts\":1,\"conversation_id\":\"conv_4\",\"conversation_status\":\"done\",\"conversation_start\":\"2026-12-01T11:00:00-05:00\",\"duration_secs\":40,\"termination_reason\":\"\",\"call_result\":null,\"call_successful\":\"failure\",\"transcript_summary\":\"Wants a call back, \\\"next week\\\".\\nNo decision.\",\"failure_reason\":null,\"data\":{\"amount\":12.50,\"renewal_decision\":\"undecided, \\\"call back\\\"\"},\"eval\":{\"renewal_confirmed\":\"failure\"}}\n"
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00\",\"part\":null,\"touch\":null,\"batch_id\":null,\"recipient_id\":\"crm-5\",\"phone_number\":\"+14155550105\",\"whatsapp_user_id\":null,\"status\":\"not_in_run\",\"attempts\":0,\"conversation_id\":null,\"conversation_status\":null,\"conversation_start\":null,\"duration_secs\":null,\"termination_reason\":null,\"call_result\":null,\"call_successful\":null,\"transcript_summary\":null,\"failure_reason\":null,\"data\":null,\"eval\":null}\n"
	"{\"job\":\"dec-renewals\",\"run_start\":\"2026-12-01T09:00:00-05:00\",\"run_start_utc\":\"2026-12-01T14:00:00Z\",\"call_name\":\"December renewals 2026-12-01 09:00\",\"part\":null,\"touch\":0,\"batch_id\":\"btcal_A\",\"recipient_id\":\"btcrcp_9\",\"phone_number\":\"+14155550199\",\"whatsapp_user_id\":null,\"status\":\"completed\",\"attempts\":1,\"conversation_id\":\"conv_9\",\"conversation_status\":\"done\",\"conversation_start\":\"2026-12-01T09:00:30-05:00\",\"duration_secs\":12,\"termination_reason\":\"\",\"call_result\":null,\"call_successful\":\"unknown\",\"transcript_summary\":null,\"failure_reason\":null,\"data\":{},\"eval\":{}}\n";

START_TEST(test_campaign_golden)
{
	struct campaign c;
	struct results r;
	char *csv, *jsonl;
	size_t len;

	campaign(&c);
	csv = csv_of(&c.in, &r);
	ck_assert_str_eq(csv, campaign_csv);
	jsonl = results_jsonl(&r, &len);
	ck_assert_uint_eq(len, strlen(campaign_jsonl));
	ck_assert_str_eq(jsonl, campaign_jsonl);
	assert_jsonl_valid(jsonl, 6);

	/* the rows behind them */
	ck_assert_uint_eq(r.n_rows, 6);
	ck_assert_ptr_eq(r.rows[0].rcpt, &camp_rcpts[0]);
	ck_assert_ptr_eq(r.rows[0].entry, &camp_detail_a[0]);
	ck_assert_ptr_eq(r.rows[3].run, &c.runs[1]);
	ck_assert_ptr_eq(r.rows[3].conv, &c.convs[2]);
	ck_assert_ptr_eq(r.rows[1].failure, &c.fails[0]);
	ck_assert_ptr_null(r.rows[4].run);
	ck_assert_ptr_null(r.rows[5].rcpt);
	ck_assert_uint_eq(r.n_data_ids, 2);
	ck_assert_uint_eq(r.n_eval_ids, 1);
	free(csv);
	free(jsonl);
	results_clear(&r);
	results_clear(&r);
	results_clear(NULL);
}
END_TEST


/* Which recipients a follow-up touch takes from the campaign's rows. */
static void assert_taken(const struct results *r, int prev, const struct touch *t, const char *want)
{
	char **keys, got[256] = "";
	size_t n = results_touch_select(r, prev, t, &keys);

	for (size_t i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, keys[i] + 9); /* the last 3 digits */
		free(keys[i]);
	}
	free(keys);
	ck_assert_str_eq(got, want);
}

START_TEST(test_touch_select)
{
	struct campaign c;
	struct results r;
	struct touch_data renew = { "renewal_decision", "\"renew\"" },
			  undecided = { "renewal_decision", "\"undecided, \\u0022call back\\\"\"" },
			  amount = { "amount", "12.50" }, missing = { "nothing", "true" };

	campaign(&c);
	results_build(&c.in, &r);
	/* every row of touch 0 that a file recipient holds: not crm-5 (no
	 * run), not the entry no longer in the file */
	assert_taken(&r, 0, &(struct touch){ 0 }, "101 102 103 104");
	assert_taken(&r, 1, &(struct touch){ 0 }, "");
	assert_taken(&r, 0, &(struct touch){ .status = TOUCH_VOICEMAIL | TOUCH_FAILED }, "102 103");
	assert_taken(&r, 0, &(struct touch){ .status = TOUCH_NOT_DIALLED }, "");
	assert_taken(&r, 0, &(struct touch){ .status = TOUCH_COMPLETED }, "101 104");
	/* by the verdict: none known (no conversation, no analysis) is unknown */
	assert_taken(&r, 0, &(struct touch){ .verdicts = 1u << CONV_FAILURE }, "104");
	assert_taken(&r, 0, &(struct touch){ .verdicts = 1u << CONV_UNKNOWN }, "102 103");
	assert_taken(&r, 0, &(struct touch){ .status = TOUCH_FAILED, .verdicts = 1u << CONV_UNKNOWN }, "102");
	/* by a data value: a string by its text (escapes decoded), a number
	 * by its JSON; every one must match */
	assert_taken(&r, 0, &(struct touch){ .data = &renew, .n_data = 1 }, "101");
	assert_taken(&r, 0, &(struct touch){ .data = &undecided, .n_data = 1 }, "104");
	assert_taken(&r, 0, &(struct touch){ .data = &amount, .n_data = 1 }, "104");
	assert_taken(&r, 0, &(struct touch){ .data = &missing, .n_data = 1 }, "");
	/* a touch that judges by the conversations waits while one of them
	 * is not final: 103's is processing (102's failed call has none) */
	ck_assert_uint_eq(results_touch_waiting(&r, 0, &(struct touch){ .status = TOUCH_VOICEMAIL }), 0);
	ck_assert_uint_eq(results_touch_waiting(&r, 0, &(struct touch){ .verdicts = 1u << CONV_FAILURE }), 2);
	ck_assert_uint_eq(results_touch_waiting(&r, 0, &(struct touch){ .data = &renew, .n_data = 1 }), 2);
	ck_assert_uint_eq(results_touch_waiting(&r, 1, &(struct touch){ .data = &renew, .n_data = 1 }), 0);
	{
		struct touch_data both[] = { amount, renew };
		assert_taken(&r, 0, &(struct touch){ .data = both, .n_data = 2 }, "");
	}
	results_clear(&r);
	/* the resume as a touch-1 run: its row belongs to touch 1 */
	c.runs[1].touch = 1;
	results_build(&c.in, &r);
	assert_taken(&r, 0, &(struct touch){ 0 }, "101 102 103");
	assert_taken(&r, 1, &(struct touch){ 0 }, "104");
	results_clear(&r);
	/* never dialled: a cancelled entry without a conversation is both
	 * cancelled and not dialled; a suppressed one is neither */
	{
		struct batch_rcpt det[] = { { .id = "x", .phone_number = "+14155550101", .status = BATCH_RCPT_CANCELLED } };
		static const char *const keys[] = { "+14155550101", "+14155550102" };
		static const char *const supp[] = { "+14155550102" };
		struct recipient rc[] = { { .phone_number = "+14155550101" }, { .phone_number = "+14155550102" } };
		struct jobspec job = job_of(rc, 2);
		struct results_run run = { .call_name = "n", .state = RUN_COMPLETED, .batch_id = "b", .keys = keys,
					   .n_keys = 2, .has_detail = true, .rcpts = det, .n_rcpts = 1,
					   .suppressed = supp, .n_suppressed = 1 };
		struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1 };
		results_build(&in, &r);
		assert_taken(&r, 0, &(struct touch){ .status = TOUCH_NOT_DIALLED }, "101");
		assert_taken(&r, 0, &(struct touch){ .status = TOUCH_CANCELLED }, "101");
		assert_taken(&r, 0, &(struct touch){ .status = TOUCH_FAILED }, "");
		results_clear(&r);
		/* a whole run (no keys of its own) names every recipient of the
		 * file: one its batch does not list (added to the file later)
		 * was never in that touch */
		run.keys = NULL;
		run.n_keys = 0;
		run.n_suppressed = 0;
		results_build(&in, &r);
		ck_assert_str_eq(r.rows[1].status, RESULTS_NOT_IN_BATCH);
		assert_taken(&r, 0, &(struct touch){ .status = TOUCH_NOT_DIALLED }, "101");
		assert_taken(&r, 0, &(struct touch){ 0 }, "101");
		results_clear(&r);
	}
}
END_TEST

/* No recipient at all: the header alone, and no line of JSON. */
START_TEST(test_empty)
{
	struct jobspec job = job_of(NULL, 0);
	struct results_input in = { .job = &job, .start = START, .call_name = "x" };
	struct results r;
	size_t len = 99;
	char *csv = csv_of(&in, &r), *jsonl = results_jsonl(&r, &len);

	ck_assert_str_eq(csv, "job,run_start,run_start_utc,call_name,part,touch,batch_id,recipient_id,phone_number,"
			      "whatsapp_user_id,status,attempts,conversation_id,conversation_status,conversation_start,"
			      "duration_secs,termination_reason,call_result,call_successful,transcript_summary,"
			      "failure_reason\r\n");
	ck_assert_str_eq(jsonl, "");
	ck_assert_uint_eq(len, 0);
	free(csv);
	free(jsonl);
	results_clear(&r);
}
END_TEST

/* What a spreadsheet would run, what breaks a CSV line, what is not
 * UTF-8, what a JSON string must escape. */
START_TEST(test_hostile_cells)
{
	struct recipient rc[] = {
		{ .id = "=HYPERLINK(\"http://x\",\"click\")", .whatsapp_user_id = "+447700900123" },
		{ .id = "@SUM(A1:A9)", .whatsapp_user_id = "-2+3" },
		{ .id = "\tTAB", .whatsapp_user_id = "\rCR" },
		{ .id = "bad \xff\xfe utf8, \xc3", .whatsapp_user_id = "ctl\x01\x1f\x7f" },
		{ .id = "multi\nline \"quoted\"", .whatsapp_user_id = "wa_5" },
	};
	static const char *const keys[] = { "+447700900123", "-2+3", "\rCR", "ctl\x01\x1f\x7f", "wa_5" };
	struct batch_rcpt det[] = {
		{ .id = "e1", .whatsapp_user_id = "+447700900123", .status = BATCH_RCPT_COMPLETED, .conversation_id = "c1" },
		{ .id = "e2", .whatsapp_user_id = "-2+3", .status = BATCH_RCPT_FAILED },
		{ .id = "e3", .whatsapp_user_id = "\rCR", .status = BATCH_RCPT_PENDING },
		{ .id = "e4", .whatsapp_user_id = "ctl\x01\x1f\x7f", .status = BATCH_RCPT_UNKNOWN },
		{ .id = "e5", .whatsapp_user_id = "wa_5", .status = BATCH_RCPT_DISPATCHED },
	};
	struct conv_data data[] = { { "=cmd|' /C calc'!A0", "\"+1 (555) 0100\"" },
				    { "nested", "{\"a\":[1,\"-x\"],\"b\":null}" },
				    { "nul", "\"a\\u0000b\"" } };
	struct conv_eval eval[] = { { "-crit,1", CONV_SUCCESS } };
	struct conv cv = conv_of("c1", CONV_DONE, START, 5);
	cv.termination_reason = "@reason";
	cv.has_analysis = true;
	cv.transcript_summary = "+ sign first\r\nthen \\ and \x02";
	cv.data = data, cv.n_data = 3;
	cv.evals = eval, cv.n_evals = 1;
	struct jobspec job = job_of(rc, ARRAY_SIZE(rc));
	job.name = "-job";
	struct results_run run = { .call_name = "=1+1", .part = "+part", .state = RUN_COMPLETED, .batch_id = "@b",
				   .keys = keys, .n_keys = 5, .has_detail = true, .rcpts = det, .n_rcpts = 5 };
	struct results_input in = { .job = &job, .start = START, .call_name = "=1+1", .runs = &run, .n_runs = 1,
				    .convs = &cv, .n_convs = 1 };
	struct results r;
	char *csv = csv_of(&in, &r), *jsonl;

	ck_assert_str_eq(csv,
		"job,run_start,run_start_utc,call_name,part,touch,batch_id,recipient_id,phone_number,whatsapp_user_id,status,attempts,conversation_id,conversation_status,conversation_start,duration_secs,termination_reason,call_result,call_successful,transcript_summary,failure_reason,data.=cmd|' /C calc'!A0,data.nested,data.nul,\"eval.-crit,1\"\r\n"
		"'-job,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,'=1+1,'+part,0,'@b,\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\",,'+447700900123,completed,1,c1,done,2026-12-01T09:00:00-05:00,5,'@reason,,success,\"'+ sign first\r\n"
		"then \\ and \x02" "\",,'+1 (555) 0100,\"{\"\"a\"\":[1,\"\"-x\"\"],\"\"b\"\":null}\",a\xef" "\xbf" "\xbd" "b,success\r\n"
		"'-job,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,'=1+1,'+part,0,'@b,'@SUM(A1:A9),,'-2+3,failed,1,,,,,,,,,,,,,\r\n"
		"'-job,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,'=1+1,'+part,0,'@b,'\tTAB,,\"'\rCR\",pending,0,,,,,,,,,,,,,\r\n"
		"'-job,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,'=1+1,'+part,0,'@b,\"bad \xef" "\xbf" "\xbd" "\xef" "\xbf" "\xbd" " utf8, \xef" "\xbf" "\xbd" "\",,ctl\x01" "\x1f" "\x7f" ",unknown,0,,,,,,,,,,,,,\r\n"
		"'-job,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,'=1+1,'+part,0,'@b,\"multi\n"
		"line \"\"quoted\"\"\",,wa_5,dispatched,0,,,,,,,,,,,,,\r\n");

	jsonl = results_jsonl(&r, NULL);
	assert_jsonl_valid(jsonl, 5);
	/* the JSON keeps every value as it is: no quote prefix, escapes */
	ck_assert_ptr_nonnull(strstr(jsonl, "{\"job\":\"-job\","));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"recipient_id\":\"=HYPERLINK(\\\"http://x\\\",\\\"click\\\")\""));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"transcript_summary\":\"+ sign first\\r\\nthen \\\\ and \\u0002\""));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"recipient_id\":\"bad \xef\xbf\xbd\xef\xbf\xbd utf8, \xef\xbf\xbd\""));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"whatsapp_user_id\":\"ctl\\u0001\\u001f\x7f\""));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"whatsapp_user_id\":\"\\rCR\""));
	ck_assert_ptr_nonnull(strstr(jsonl, "\"data\":{\"=cmd|' /C calc'!A0\":\"+1 (555) 0100\","
					    "\"nested\":{\"a\":[1,\"-x\"],\"b\":null},\"nul\":\"a\\u0000b\"},"
					    "\"eval\":{\"-crit,1\":\"success\"}}\n"));
	free(csv);
	free(jsonl);
	results_clear(&r);
}
END_TEST

/* A formula behind blanks (spaces, TAB, CR, LF) is still a formula to
 * a spreadsheet: the cell gets the quote too; blanks before text do not. */
START_TEST(test_formula_after_blanks)
{
	struct recipient rc[] = {
		{ .id = " =1+1", .phone_number = "+15550000001" },
		{ .id = "\n@SUM(A1)", .phone_number = "+15550000002" },
		{ .id = "  \t -2", .phone_number = "+15550000003" },
		{ .id = " \r\n+x", .phone_number = "+15550000004" },
		{ .id = "  plain", .phone_number = "+15550000005" },
		{ .id = "\nline", .phone_number = "+15550000006" },
	};
	struct jobspec job = job_of(rc, ARRAY_SIZE(rc));
	struct results_input in = { .job = &job, .start = START, .call_name = "n" };
	struct results r;
	char *csv = csv_of(&in, &r);

	ck_assert_ptr_nonnull(strstr(csv, ",' =1+1,"));
	ck_assert_ptr_nonnull(strstr(csv, ",\"'\n@SUM(A1)\","));
	ck_assert_ptr_nonnull(strstr(csv, ",'  \t -2,"));
	ck_assert_ptr_nonnull(strstr(csv, ",\"' \r\n+x\","));
	ck_assert_ptr_nonnull(strstr(csv, ",  plain,"));
	ck_assert_ptr_nonnull(strstr(csv, ",\"\nline\","));
	free(csv);
	results_clear(&r);
}
END_TEST

/* A job without a zone reads as UTC. */
START_TEST(test_no_zone)
{
	struct recipient rc[] = { { .phone_number = "+15550000001" } };
	struct jobspec job = job_of(rc, 1);
	job.tz = NULL;
	struct batch_rcpt det[] = { { .id = "x", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED,
				      .conversation_id = "c" } };
	struct conv cv = conv_of("c", CONV_DONE, START + 61, 9);
	struct results_run run = { .call_name = "n", .state = RUN_COMPLETED, .batch_id = "b", .has_detail = true,
				   .rcpts = det, .n_rcpts = 1 };
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1,
				    .convs = &cv, .n_convs = 1 };
	struct results r;
	char *csv = csv_of(&in, &r);

	ck_assert_ptr_nonnull(strstr(csv, "\r\ndec-renewals,2026-12-01T14:00:00+00:00,2026-12-01T14:00:00Z,n,,0,b,,"
					  "'+15550000001,,completed,1,c,done,2026-12-01T14:01:01+00:00,9,,,,,\r\n"));
	free(csv);
	results_clear(&r);
}
END_TEST

/* Each status of a row no batch entry decided. */
START_TEST(test_rows_never_in_a_batch)
{
	struct recipient rc[] = { { .phone_number = "+15550000001" }, { .phone_number = "+15550000002" } };
	static const char *const one[] = { "+15550000001" };
	struct jobspec job = job_of(rc, 2);
	static const struct {
		enum run_state state;
		const char *batch_id;
		bool has_detail;
		const char *want;
	} v[] = {
		{ RUN_SCHEDULED, NULL, false, "not_submitted" },
		{ RUN_SUBMITTING, NULL, false, "not_submitted" },
		{ RUN_PAUSED, NULL, false, "not_submitted" },
		{ RUN_MISSED, NULL, false, "missed" },
		{ RUN_ERROR, NULL, false, "refused" },
		{ RUN_DISABLED, NULL, false, "disabled" },
		{ RUN_CANCELLED, NULL, false, "withdrawn" },
		{ RUN_REMOVED, NULL, false, "withdrawn" },
		{ RUN_PENDING, "btcal_1", false, "submitted" },
		{ RUN_COMPLETED, "btcal_1", true, "not_in_batch" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct results_run run = { .call_name = "n", .state = v[i].state, .batch_id = v[i].batch_id,
					   .keys = one, .n_keys = 1, .has_detail = v[i].has_detail };
		struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1 };
		struct results r;
		results_build(&in, &r);
		ck_assert_uint_eq(r.n_rows, 2);
		ck_assert_str_eq(r.rows[0].status, v[i].want);
		ck_assert_int_eq(r.rows[0].attempts, 0);
		ck_assert_ptr_null(r.rows[0].conversation_id);
		ck_assert_ptr_eq(r.rows[0].run, &run);
		ck_assert_str_eq(r.rows[1].status, RESULTS_NOT_IN_RUN);
		ck_assert_ptr_null(r.rows[1].run);
		results_clear(&r);
	}
	/* no run at all: every row is not_in_run, with the occurrence's name */
	struct results_input in = { .job = &job, .start = START, .call_name = "Occurrence" };
	struct results r;
	char *csv = csv_of(&in, &r);
	ck_assert_ptr_nonnull(strstr(csv, "\r\ndec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,Occurrence,,,,,"
					  "'+15550000001,,not_in_run,0,,,,,,,,,\r\n"));
	free(csv);
	results_clear(&r);
}
END_TEST

/* A recipient its run's submit left out (a do-not-call list): suppressed,
 * in a run with a batch (the detail lacks it) and in one that ended
 * without any (everyone was listed); a dialled entry still wins. */
START_TEST(test_rows_suppressed)
{
	struct recipient rc[] = { { .phone_number = "+15550000001" }, { .phone_number = "+15550000002" },
				  { .whatsapp_user_id = "wa_3" } };
	static const char *const left[] = { "wa_3", "+15550000002" };
	struct batch_rcpt det[] = { { .id = "x", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED } };
	struct jobspec job = job_of(rc, 3);
	struct results_run run = { .call_name = "n", .state = RUN_COMPLETED, .batch_id = "b", .has_detail = true,
				   .rcpts = det, .n_rcpts = 1, .suppressed = left, .n_suppressed = 2 };
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1 };
	struct results r;

	results_build(&in, &r);
	ck_assert_uint_eq(r.n_rows, 3);
	ck_assert_str_eq(r.rows[0].status, "completed");
	ck_assert_str_eq(r.rows[1].status, RESULTS_SUPPRESSED);
	ck_assert_str_eq(r.rows[2].status, RESULTS_SUPPRESSED);
	ck_assert_int_eq(r.rows[1].attempts, 0);
	results_clear(&r);

	/* before the detail, and without any batch */
	run.has_detail = false;
	run.rcpts = NULL;
	run.n_rcpts = 0;
	results_build(&in, &r);
	ck_assert_str_eq(r.rows[0].status, RESULTS_SUBMITTED);
	ck_assert_str_eq(r.rows[1].status, RESULTS_SUPPRESSED);
	results_clear(&r);
	{
		static const char *const all[] = { "+15550000001", "+15550000002", "wa_3" };
		run.batch_id = NULL;
		run.suppressed = all;
		run.n_suppressed = 3;
		results_build(&in, &r);
		for (size_t i = 0; i < 3; i++)
			ck_assert_str_eq(r.rows[i].status, RESULTS_SUPPRESSED);
		results_clear(&r);
	}
}
END_TEST

/* Joining a recipient to its entry: by id (entries reordered, the id
 * echoed), by position (no id), by key (no id, reordered), duplicates in
 * order, and an entry whose key disagrees with its position. */
START_TEST(test_join_ways)
{
	struct recipient rc[] = {
		{ .id = "a", .phone_number = "+15550000001" },
		{ .phone_number = "+15550000002" },
		{ .phone_number = "+15550000002" }, /* the same number twice */
		{ .phone_number = "+15550000004" },
		{ .id = "e", .phone_number = "+15550000005" },
	};
	struct batch_rcpt det[] = {
		{ .id = "x4", .phone_number = "+15550000004", .status = BATCH_RCPT_FAILED, .conversation_id = "c4" },
		{ .id = "x2", .phone_number = "+15550000002", .status = BATCH_RCPT_COMPLETED, .conversation_id = "c2" },
		{ .id = "x3", .phone_number = "+15550000002", .status = BATCH_RCPT_VOICEMAIL, .conversation_id = "c3" },
		{ .id = "a", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED, .conversation_id = "c1" },
		{ .id = "srv-5", .phone_number = "+15550000005", .status = BATCH_RCPT_CANCELLED },
	};
	struct jobspec job = job_of(rc, ARRAY_SIZE(rc));
	struct results_run run = { .call_name = "n", .state = RUN_COMPLETED, .batch_id = "b", .has_detail = true,
				   .rcpts = det, .n_rcpts = ARRAY_SIZE(det) };
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1 };
	struct results r;

	results_build(&in, &r);
	ck_assert_uint_eq(r.n_rows, 5);
	ck_assert_ptr_eq(r.rows[0].entry, &det[3]); /* by id */
	ck_assert_ptr_eq(r.rows[1].entry, &det[1]); /* by position (1) and key */
	ck_assert_ptr_eq(r.rows[2].entry, &det[2]); /* by position (2) */
	ck_assert_ptr_eq(r.rows[3].entry, &det[0]); /* by key: position 3 is another number */
	ck_assert_ptr_eq(r.rows[4].entry, &det[4]); /* its id not echoed: by position */
	ck_assert_str_eq(r.rows[4].status, "cancelled");
	results_clear(&r);

	/* in the submitted order, no ids at all: by position */
	struct batch_rcpt det2[] = {
		{ .id = "s1", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED },
		{ .id = "s2", .phone_number = "+15550000002", .status = BATCH_RCPT_FAILED },
		{ .id = "s3", .phone_number = "+15550000002", .status = BATCH_RCPT_VOICEMAIL },
	};
	run.rcpts = det2, run.n_rcpts = 3;
	results_build(&in, &r);
	ck_assert_uint_eq(r.n_rows, 5);
	ck_assert_str_eq(r.rows[0].status, "completed");
	ck_assert_str_eq(r.rows[1].status, "failed");
	ck_assert_str_eq(r.rows[2].status, "voicemail");
	ck_assert_str_eq(r.rows[3].status, RESULTS_NOT_IN_BATCH);
	ck_assert_str_eq(r.rows[4].status, RESULTS_NOT_IN_BATCH);
	results_clear(&r);
}
END_TEST

/* A job file may repeat an id: a match by id is taken only when the
 * number agrees too, so two recipients sharing id "dup", listed by the
 * detail in the other order, keep their own status and conversation. */
START_TEST(test_join_repeated_id)
{
	struct recipient rc[] = {
		{ .id = "dup", .phone_number = "+15550000001" },
		{ .id = "dup", .phone_number = "+15550000002" },
		{ .id = "w", .whatsapp_user_id = "4915100000003" },
	};
	struct batch_rcpt det[] = {
		{ .id = "dup", .phone_number = "+15550000002", .status = BATCH_RCPT_FAILED, .conversation_id = "c2" },
		{ .id = "dup", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED, .conversation_id = "c1" },
		{ .id = "w", .whatsapp_user_id = "4915100000003", .status = BATCH_RCPT_VOICEMAIL, .conversation_id = "c3" },
	};
	struct jobspec job = job_of(rc, ARRAY_SIZE(rc));
	struct results_run run = { .call_name = "n", .state = RUN_COMPLETED, .batch_id = "b", .has_detail = true,
				   .rcpts = det, .n_rcpts = ARRAY_SIZE(det) };
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1 };
	struct results r;

	results_build(&in, &r);
	ck_assert_uint_eq(r.n_rows, 3);
	ck_assert_ptr_eq(r.rows[0].entry, &det[1]);
	ck_assert_str_eq(r.rows[0].status, "completed");
	ck_assert_ptr_eq(r.rows[1].entry, &det[0]);
	ck_assert_str_eq(r.rows[1].status, "failed");
	ck_assert_ptr_eq(r.rows[2].entry, &det[2]); /* by id and WhatsApp id */
	results_clear(&r);

	/* an id echoed with another number is no match by id: by number */
	det[0].id = "w";
	det[2].id = "dup";
	results_build(&in, &r);
	ck_assert_ptr_eq(r.rows[0].entry, &det[1]);
	ck_assert_ptr_eq(r.rows[1].entry, &det[0]);
	ck_assert_ptr_eq(r.rows[2].entry, &det[2]);
	results_clear(&r);
}
END_TEST

/* Conversations: found by the entry's conversation_id, by the batch link
 * before the detail shows one, the most complete of one id; attempts. */
START_TEST(test_conversations_and_attempts)
{
	struct recipient rc[] = { { .phone_number = "+15550000001" }, { .phone_number = "+15550000002" } };
	struct batch_rcpt det[] = {
		{ .id = "r1", .phone_number = "+15550000001", .status = BATCH_RCPT_IN_PROGRESS },
		{ .id = "r2", .phone_number = "+15550000002", .status = BATCH_RCPT_COMPLETED, .conversation_id = "c2" },
	};
	struct conv cv[5];
	cv[0] = conv_of("c1-old", CONV_FAILED, START, 1);
	cv[0].batch_call_id = "b", cv[0].batch_call_recipient_id = "r1";
	cv[1] = conv_of("c1-new", CONV_IN_PROGRESS, START + 600, 0);
	cv[1].batch_call_id = "b", cv[1].batch_call_recipient_id = "r1";
	/* c2 from a webhook (done, analysed), then a stale poll (processing) */
	cv[2] = conv_of("c2", CONV_DONE, START + 5, 60);
	cv[2].has_analysis = true;
	cv[2].call_successful = CONV_SUCCESS;
	cv[3] = conv_of("c2", CONV_PROCESSING, START + 5, 60);
	/* a conversation of another batch names r1 too: not ours */
	cv[4] = conv_of("c-other", CONV_DONE, START + 900, 1);
	cv[4].batch_call_id = "other", cv[4].batch_call_recipient_id = "r1";
	struct results_link links[] = { { "b", "r2", "c2-first" }, { "b", "r2", "c2" }, { "other", "r2", "zz" } };
	struct jobspec job = job_of(rc, 2);
	struct results_run run = { .call_name = "n", .state = RUN_IN_PROGRESS, .batch_id = "b", .has_detail = true,
				   .rcpts = det, .n_rcpts = 2 };
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = &run, .n_runs = 1,
				    .convs = cv, .n_convs = 5, .links = links, .n_links = 3 };
	struct results r;

	results_build(&in, &r);
	ck_assert_str_eq(r.rows[0].conversation_id, "c1-new"); /* the latest that names it */
	ck_assert_ptr_eq(r.rows[0].conv, &cv[1]);
	ck_assert_int_eq(r.rows[0].attempts, 2);
	ck_assert_ptr_eq(r.rows[1].conv, &cv[2]); /* done beats a later processing */
	ck_assert_int_eq(r.rows[1].attempts, 2); /* c2, c2-first */
	results_clear(&r);

	/* in the other order, the later complete one still wins */
	struct conv swapped[2] = { cv[3], cv[2] };
	in.convs = swapped, in.n_convs = 2;
	results_build(&in, &r);
	ck_assert_ptr_eq(r.rows[1].conv, &swapped[1]);
	/* no conversation known for an entry in progress: dialled once */
	ck_assert_ptr_null(r.rows[0].conversation_id);
	ck_assert_int_eq(r.rows[0].attempts, 1);
	results_clear(&r);
}
END_TEST

/* A recipient that left the job file after it was called, in the whole
 * run and its follow-up: one row, from the run that dialled it. */
START_TEST(test_entries_not_in_the_file)
{
	struct recipient rc[] = { { .phone_number = "+15550000001" } };
	struct batch_rcpt a[] = {
		{ .id = "a1", .phone_number = "+15550000001", .status = BATCH_RCPT_COMPLETED },
		{ .id = "a9", .phone_number = "+15550000009", .status = BATCH_RCPT_CANCELLED },
		{ .id = "a8", .status = BATCH_RCPT_FAILED },
		{ .id = "a7", .status = BATCH_RCPT_FAILED },
	};
	struct batch_rcpt b[] = { { .id = "b9", .phone_number = "+15550000009", .status = BATCH_RCPT_COMPLETED,
				    .conversation_id = "c9" } };
	struct results_run runs[] = {
		{ .call_name = "n", .state = RUN_CANCELLED, .batch_id = "A", .has_detail = true, .rcpts = a, .n_rcpts = 4 },
		{ .part = "resume 1", .call_name = "n (resume 1)", .state = RUN_COMPLETED, .batch_id = "B",
		  .has_detail = true, .rcpts = b, .n_rcpts = 1 },
	};
	struct jobspec job = job_of(rc, 1);
	struct results_input in = { .job = &job, .start = START, .call_name = "n", .runs = runs, .n_runs = 2 };
	struct results r;

	results_build(&in, &r);
	ck_assert_uint_eq(r.n_rows, 4);
	ck_assert_ptr_eq(r.rows[1].entry, &b[0]);
	ck_assert_ptr_eq(r.rows[1].run, &runs[1]);
	ck_assert_str_eq(r.rows[1].status, "completed");
	ck_assert_ptr_eq(r.rows[2].entry, &a[2]); /* no key: each its own row */
	ck_assert_ptr_eq(r.rows[3].entry, &a[3]);
	results_clear(&r);
}
END_TEST

START_TEST(test_file_name)
{
	static const struct {
		const char *job;
		int64_t start;
		const char *call_name, *want;
	} v[] = {
		{ "dec-renewals", START, "December renewals 2026-12-01 09:00",
		  "dec-renewals/2026-12-01T14-00-00Z_December_renewals_2026-12-01_09_00.csv" },
		{ ".", START, "x", "%2E/2026-12-01T14-00-00Z_x.csv" },
		{ "..", START, "x", "%2E./2026-12-01T14-00-00Z_x.csv" },
		{ "a.b_c-d", 0, "../../etc/passwd", "a.b_c-d/1970-01-01T00-00-00Z_.._.._etc_passwd.csv" },
		{ "j", START, "  Rappels de décembre: 1/2 ... ", "j/2026-12-01T14-00-00Z_Rappels_de_d_cembre_1_2.csv" },
		{ "j", START, "", "j/2026-12-01T14-00-00Z.csv" },
		{ "j", START, NULL, "j/2026-12-01T14-00-00Z.csv" },
		{ "j", START, "///", "j/2026-12-01T14-00-00Z.csv" },
		{ "j", 253402300799, ".x.", "j/9999-12-31T23-59-59Z_.x.csv" },
		{ "we/ird j%b", START, "n", "we%2Fird%20j%25b/2026-12-01T14-00-00Z_n.csv" },
		{ "", START, "n", "%/2026-12-01T14-00-00Z_n.csv" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *f = results_file_name(v[i].job, v[i].start, v[i].call_name, RESULTS_CSV);
		ck_assert_str_eq(f, v[i].want);
		free(f);
	}
	char *f = results_file_name("j", START, "n", RESULTS_JSONL);
	ck_assert_str_eq(f, "j/2026-12-01T14-00-00Z_n.jsonl");
	free(f);
	/* at most 100 bytes of name, never a trailing '_' or '.' */
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[99] = ' ';
	longname[100] = 'b';
	f = results_file_name("j", START, longname, RESULTS_CSV);
	ck_assert_uint_eq(strlen(f), strlen("j/2026-12-01T14-00-00Z_") + 99 + strlen(".csv"));
	ck_assert_ptr_nonnull(strstr(f, "aaa.csv"));
	free(f);
	/* sortable: a later start sorts later */
	char *x = results_file_name("j", START, "zzz", RESULTS_CSV), *y = results_file_name("j", START + 1, "a", RESULTS_CSV);
	ck_assert_int_lt(strcmp(x, y), 0);
	free(x);
	free(y);
}
END_TEST

/* The start read back from a file name is the start the name was made
 * of; a name that does not begin with a STAMP has none. */
START_TEST(test_file_start)
{
	static const int64_t starts[] = { START, 1, 951782400 /* 2000-02-29 */, 253402300799 };
	static const char *const bad[] = { "", "x.csv", "2026-12-01T14-00-00Z", "2026-12-01T14-00-00Zx.csv",
					   "2026-12-01T14:00:00Z_n.csv", "2026-13-01T14-00-00Z_n.csv",
					   "2026-02-30T14-00-00Z_n.csv", "2026-12-01T24-00-00Z_n.csv",
					   "+026-12-01T14-00-00Z_n.csv", "1970-01-01T00-00-00Z_n.csv",
					   ".2026-12-01T14-00-00Z_n.csv.tmp" };
	int64_t t;

	for (size_t i = 0; i < ARRAY_SIZE(starts); i++)
		for (int f = RESULTS_CSV; f <= RESULTS_JSONL; f++) {
			char *name = results_file_name("j", starts[i], i % 2 ? "Call name" : NULL, (enum results_format)f);
			t = 0;
			ck_assert_int_eq(results_file_start(name, &t), 0);
			ck_assert_int_eq(t, starts[i]);
			ck_assert_int_eq(results_file_start(strchr(name, '/') + 1, &t), 0);
			ck_assert_int_eq(t, starts[i]);
			free(name);
		}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = 7;
		ck_assert_msg(results_file_start(bad[i], &t) < 0, "'%s' read as a start", bad[i]);
		ck_assert_int_eq(t, 7);
	}
}
END_TEST

/* The document: its keys in order, the CSV text as one string (hostile
 * bytes escaped), each JSON Lines line an element of rows as it was; a
 * line that is not one JSON object refuses the whole. */
START_TEST(test_document)
{
	static const char csv[] = "job,phone_number\r\nj,'+1 \"x\"\\\x01\r\n";
	static const char jsonl[] = "{\"a\":1,\"data\":{\"k\":[1,{\"z\":\"\\u00e9\"}]}}\n\n{\"a\":2}\n";
	char *doc = NULL, *cause = NULL;
	size_t len = 0;

	ck_assert_int_eq(results_document("j", START, "j/2026-12-01T14-00-00Z_n.csv", csv, sizeof(csv) - 1, jsonl,
					  sizeof(jsonl) - 1, true, &doc, &len, &cause),
			 0);
	ck_assert_str_eq(doc, "{\"job\":\"j\",\"run_start\":1796133600,\"run_start_utc\":\"2026-12-01T14:00:00Z\","
			      "\"csv_file\":\"j/2026-12-01T14-00-00Z_n.csv\","
			      "\"csv\":\"job,phone_number\\r\\nj,'+1 \\\"x\\\"\\\\\\u0001\\r\\n\","
			      "\"rows\":[{\"a\":1,\"data\":{\"k\":[1,{\"z\":\"\\u00e9\"}]}},{\"a\":2}]}");
	ck_assert_uint_eq(len, strlen(doc));
	/* json-c reads it back: the CSV as it was */
	json_object *o = json_tokener_parse(doc), *v;
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "csv", &v));
	ck_assert_uint_eq((size_t)json_object_get_string_len(v), sizeof(csv) - 1);
	ck_assert_mem_eq(json_object_get_string(v), csv, sizeof(csv) - 1);
	json_object_put(o);
	free(doc);

	/* no rows, no CSV: still one document */
	doc = NULL;
	ck_assert_int_eq(results_document("j", START, "j/x.csv", NULL, 0, "", 0, true, &doc, NULL, NULL), 0);
	ck_assert_str_eq(doc, "{\"job\":\"j\",\"run_start\":1796133600,\"run_start_utc\":\"2026-12-01T14:00:00Z\","
			      "\"csv_file\":\"j/x.csv\",\"csv\":\"\",\"rows\":[]}");
	free(doc);

	static const char *const broken[] = { "{\"a\":1}\n{\"a\":", "[1]\n", "{\"a\":1}{\"b\":2}\n", "{'a':1}\n",
					      "{\"a\":NaN}\n", "\"x\"\n" };
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		doc = NULL;
		cause = NULL;
		ck_assert_int_eq(results_document("j", START, "j/x.csv", csv, sizeof(csv) - 1, broken[i],
						  strlen(broken[i]), true, &doc, &len, &cause),
				 -EBADMSG);
		ck_assert_ptr_null(doc);
		ck_assert_msg(cause && strstr(cause, "line "), "%s", broken[i]);
		free(cause);
	}
}
END_TEST

/* A 10,000-recipient run: every row joined, both files, well under a
 * second (the figure is printed). */
START_TEST(test_10000_recipients)
{
	enum { N = JOB_MAX_RECIPIENTS };
	struct recipient *rc = xcalloc(N, sizeof(*rc));
	struct batch_rcpt *det = xcalloc(N, sizeof(*det));
	struct conv *cv = xcalloc(N, sizeof(*cv));
	struct conv_data *data = xcalloc((size_t)N * 3, sizeof(*data));
	struct conv_eval *eval = xcalloc((size_t)N * 2, sizeof(*eval));
	char (*phones)[24] = xcalloc(N, sizeof(*phones)), (*ids)[24] = xcalloc(N, sizeof(*ids));
	char (*cids)[24] = xcalloc(N, sizeof(*cids)), (*vals)[32] = xcalloc(N, sizeof(*vals));
	static const enum batch_rcpt_status st[] = { BATCH_RCPT_COMPLETED, BATCH_RCPT_FAILED, BATCH_RCPT_VOICEMAIL, BATCH_RCPT_CANCELLED };
	struct timespec t0, t1, t2, t3;
	size_t csv_len, jsonl_len;

	for (int i = 0; i < N; i++) {
		snprintf(phones[i], sizeof(phones[i]), "+1555%07d", i);
		snprintf(ids[i], sizeof(ids[i]), "cust-%d", i);
		snprintf(cids[i], sizeof(cids[i]), "conv_%d", i);
		snprintf(vals[i], sizeof(vals[i]), "\"plan %d, \\\"pro\\\"\"", i);
		rc[i] = (struct recipient){ .id = i % 2 ? ids[i] : NULL, .phone_number = phones[i] };
		/* the API's order is not the file's: every join path runs */
		det[N - 1 - i] = (struct batch_rcpt){ .id = i % 3 ? ids[i] : "srv", .phone_number = phones[i],
						      .status = st[i % 4], .conversation_id = i % 4 == 3 ? NULL : cids[i] };
		data[3 * i] = (struct conv_data){ "amount", "12.5" };
		data[3 * i + 1] = (struct conv_data){ "decision", vals[i] };
		data[3 * i + 2] = (struct conv_data){ i % 2 ? "extra_odd" : "extra_even", "true" };
		eval[2 * i] = (struct conv_eval){ "confirmed", CONV_SUCCESS };
		eval[2 * i + 1] = (struct conv_eval){ "polite", CONV_UNKNOWN };
		cv[i] = conv_of(cids[i], CONV_DONE, START + i, 30 + i % 90);
		cv[i].has_analysis = true;
		cv[i].transcript_summary = "The customer, after some thought, said \"yes\".";
		cv[i].data = &data[3 * i], cv[i].n_data = 3;
		cv[i].evals = &eval[2 * i], cv[i].n_evals = 2;
	}
	struct jobspec job = job_of(rc, N);
	struct results_run run = { .call_name = "Big run", .state = RUN_COMPLETED, .batch_id = "btcal_big",
				   .has_detail = true, .rcpts = det, .n_rcpts = N };
	struct results_input in = { .job = &job, .start = START, .call_name = "Big run", .runs = &run, .n_runs = 1,
				    .convs = cv, .n_convs = N };
	struct results r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	results_build(&in, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	char *csv = results_csv(&r, &csv_len);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	char *jsonl = results_jsonl(&r, &jsonl_len);
	clock_gettime(CLOCK_MONOTONIC, &t3);
#define MS(a, b) ((double)((b).tv_sec - (a).tv_sec) * 1e3 + (double)((b).tv_nsec - (a).tv_nsec) / 1e6)
	double total = MS(t0, t3);
	printf("results: %d recipients: join %.1f ms, CSV %zu bytes %.1f ms, JSON Lines %zu bytes %.1f ms; "
	       "%.1f ms in all\n",
	       N, MS(t0, t1), csv_len, MS(t1, t2), jsonl_len, MS(t2, t3), total);
	fflush(stdout);
	/* (a figure, not a bound: speed is bench/bench-results.py's, and a
	 * sanitizer or valgrind build is many times slower) */

	ck_assert_uint_eq(r.n_rows, N);
	for (int i = 0; i < N; i++) {
		ck_assert_ptr_eq(r.rows[i].rcpt, &rc[i]);
		ck_assert_ptr_eq(r.rows[i].entry, &det[N - 1 - i]);
		ck_assert_ptr_eq(r.rows[i].conv, i % 4 == 3 ? NULL : &cv[i]);
	}
	ck_assert_uint_eq(r.n_data_ids, 4);
	ck_assert_str_eq(r.data_ids[0], "amount");
	ck_assert_str_eq(r.data_ids[3], "extra_odd");
	ck_assert_ptr_nonnull(strstr(csv, "\r\ndec-renewals,2026-12-01T09:00:00-05:00,2026-12-01T14:00:00Z,Big run,,0,btcal_big,"
					  "cust-9999,'+15550009999,,cancelled,0,,,,,,,,,,,,,,,\r\n"));
	ck_assert_ptr_nonnull(strstr(csv, ",'+15550009998,,voicemail,1,conv_9998,done,2026-12-01T11:46:38-05:00,"
					  "38,,,success,\"The customer, after some thought, said \"\"yes\"\".\",,12.5,"
					  "\"plan 9998, \"\"pro\"\"\",true,,success,unknown\r\n"));
	assert_jsonl_valid(jsonl, N);
	/* the control socket's document of it (as the daemon makes it, and
	 * as batchcallctl does from the files, each row checked): the same
	 * bytes (the time it took is printed) */
	char *doc[2] = { NULL, NULL };
	size_t doc_len[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert_int_eq(results_document("dec-renewals", START, "dec-renewals/x.csv", csv, csv_len, jsonl,
						  jsonl_len, k == 1, &doc[k], &doc_len[k], NULL),
				 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("results: the document of %d rows, %zu bytes, %.1f ms%s\n", N, doc_len[k], MS(t0, t1),
		       k ? " with each row checked" : "");
		fflush(stdout);
	}
	ck_assert_uint_eq(doc_len[0], doc_len[1]);
	ck_assert_mem_eq(doc[0], doc[1], doc_len[0]);
	json_object *o = json_tokener_parse(doc[0]), *rows;
	ck_assert(o && json_object_object_get_ex(o, "rows", &rows));
	ck_assert_uint_eq(json_object_array_length(rows), N);
	json_object_put(o);
	free(doc[0]);
	free(doc[1]);
	free(csv);
	free(jsonl);
	results_clear(&r);
	free(rc);
	free(det);
	free(cv);
	free(data);
	free(eval);
	free(phones);
	free(ids);
	free(cids);
	free(vals);
}
END_TEST

/* docs/results.md (the README's reference for the files) describes every column. */
START_TEST(test_documented)
{
	size_t len;
	char *doc = fixture_read(TOP_SRCDIR "/docs/results.md", &len);
	static const char *const statuses[] = { RESULTS_NOT_IN_RUN, RESULTS_NOT_SUBMITTED, RESULTS_MISSED,
						RESULTS_REFUSED, RESULTS_DISABLED, RESULTS_WITHDRAWN,
						RESULTS_SUBMITTED, RESULTS_NOT_IN_BATCH };
	for (size_t i = 0; results_column(i); i++) {
		char want[64];
		snprintf(want, sizeof(want), "| `%s` |", results_column(i));
		ck_assert_msg(strstr(doc, want), "docs/results.md has no row for column '%s'", results_column(i));
	}
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
		char want[64];
		snprintf(want, sizeof(want), "`%s`", statuses[i]);
		ck_assert_msg(strstr(doc, want), "docs/results.md does not name status '%s'", statuses[i]);
	}
	free(doc);
}
END_TEST

static Suite *results_suite(void)
{
	Suite *s = suite_create("results");
	TCase *tc = tcase_create("rows");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_campaign_golden);
	tcase_add_test(tc, test_touch_select);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_hostile_cells);
	tcase_add_test(tc, test_formula_after_blanks);
	tcase_add_test(tc, test_no_zone);
	tcase_add_test(tc, test_rows_never_in_a_batch);
	tcase_add_test(tc, test_rows_suppressed);
	tcase_add_test(tc, test_join_ways);
	tcase_add_test(tc, test_join_repeated_id);
	tcase_add_test(tc, test_conversations_and_attempts);
	tcase_add_test(tc, test_entries_not_in_the_file);
	tcase_add_test(tc, test_file_name);
	tcase_add_test(tc, test_file_start);
	tcase_add_test(tc, test_document);
	tcase_add_test(tc, test_10000_recipients);
	tcase_add_test(tc, test_documented);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(results_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
