/*
 * test_api: the pure parts of the endpoint layer exhaustively
 * (classification, "maybe applied", URL building and escaping), then every
 * endpoint end to end against the in-process server answering with the API
 * document's example bodies and error bodies.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "http.h"
#include "http_testsrv.h"
#include "util.h"

#define KEY "sk_test_5e1f0c9d8b7a6f5e4d3c2b1a"

/* ---- api_classify: every op x every status 0..999 x transport x body ---- */

/* The rule as the spec words it (SPEC §5.4, brief), written independently
 * of api.c as a lookup over explicit code lists. */
static enum api_outcome expected_outcome(enum api_op op, long st, bool transport_ok, bool body_ok)
{
	static const long transient[] = { 408, 429, 500, 502, 503, 504 };
	if (!transport_ok)
		return API_TRANSIENT;
	if (st / 100 == 2)
		return body_ok ? API_OK : API_TRANSIENT;
	if (st == 401 || st == 403)
		return API_AUTH;
	for (size_t i = 0; i < ARRAY_SIZE(transient); i++)
		if (st == transient[i])
			return API_TRANSIENT;
	if (st == 404)
		return op == API_OP_SUBMIT || op == API_OP_LIST ? API_REJECTED : API_NOT_FOUND;
	if (st / 100 == 4)
		return API_REJECTED;
	return API_TRANSIENT;
}

START_TEST(test_classify_exhaustive)
{
	for (int op = 0; op < API_OP__MAX; op++)
		for (long st = 0; st < 1000; st++)
			for (int t = 0; t < 2; t++)
				for (int b = 0; b < 2; b++) {
					enum api_outcome got = api_classify((enum api_op)op, st, t, b);
					enum api_outcome want = expected_outcome((enum api_op)op, st, t, b);
					ck_assert_msg(got == want, "op %s status %ld transport %d body %d: %d, want %d "
						      "(enum api_outcome)", api_op_name((enum api_op)op), st, t, b, (int)got,
						      (int)want);
				}
}
END_TEST

START_TEST(test_classify_named_cases)
{
	/* The cases the spec names, spelled out. */
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 200, true, true), API_OK);
	ck_assert_int_eq(api_classify(API_OP_CANCEL, 204, true, true), API_OK);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 200, true, false), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 0, false, false), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 200, false, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_LIST, 408, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_LIST, 429, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_GET, 500, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_GET, 502, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_GET, 503, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_GET, 504, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 401, true, true), API_AUTH);
	ck_assert_int_eq(api_classify(API_OP_LIST, 403, true, true), API_AUTH);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 400, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 404, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 409, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 422, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_CANCEL, 400, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_GET, 404, true, true), API_NOT_FOUND);
	ck_assert_int_eq(api_classify(API_OP_CANCEL, 404, true, true), API_NOT_FOUND);
	ck_assert_int_eq(api_classify(API_OP_RETRY, 404, true, true), API_NOT_FOUND);
	ck_assert_int_eq(api_classify(API_OP_LIST, 404, true, true), API_REJECTED);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 302, true, true), API_TRANSIENT);
	ck_assert_int_eq(api_classify(API_OP_SUBMIT, 501, true, true), API_TRANSIENT);
}
END_TEST

START_TEST(test_maybe_applied)
{
	/* No request byte left: certainly not applied. */
	ck_assert(!api_maybe_applied(0, false, false, false));
	/* Timeout or reset after sending, or a cut-off answer. */
	ck_assert(api_maybe_applied(0, false, true, false));
	ck_assert(api_maybe_applied(200, false, true, true));
	/* Applied, but the answer is unreadable: reconcile to learn the id. */
	ck_assert(api_maybe_applied(200, true, true, false));
	ck_assert(!api_maybe_applied(200, true, true, true));
	/* 5xx may follow an applied request ("apply, then 500"). */
	for (long st = 500; st < 600; st++)
		ck_assert(api_maybe_applied(st, true, true, true));
	/* The server refused it: 4xx, 408 and 429 included. */
	for (long st = 400; st < 500; st++)
		ck_assert(!api_maybe_applied(st, true, true, true));
	ck_assert(api_maybe_applied(302, true, true, true));
}
END_TEST

/* Whose answer was it: the API's own error bodies from its own statuses,
 * or something a proxy, a load balancer or a CDN may say while the
 * request is still on its way. */
START_TEST(test_origin_answered)
{
	static const char *const api_bodies[] = {
		/* the ElevenLabs error object (§7.2), new and legacy */
		"{\"detail\":{\"type\":\"service_unavailable\",\"code\":\"system_busy\",\"message\":\"Busy\","
		"\"status\":\"system_busy\",\"request_id\":\"3c807fc4\",\"param\":null}}",
		"{\"detail\":{\"status\":\"invalid_api_key\",\"message\":\"Invalid API key\"}}",
		"{\"detail\":{\"message\":\"Internal error\"}}",
		/* FastAPI's own, and a 422 list (§7.1) */
		"{\"detail\":\"Not Found\"}",
		" {\"detail\": [ {\"type\":\"missing\",\"loc\":[\"body\",\"agent_id\"],\"msg\":\"Field required\"} ] }\n",
		"{\"detail\":[]}",
	};
	static const char *const other_bodies[] = {
		"",
		"<html><body><h1>503 Service Temporarily Unavailable</h1><hr><center>nginx</center></body></html>",
		"error code: 520",
		"{}",
		"{\"message\":\"Service Unavailable\"}",       /* an AWS load balancer's JSON */
		"{\"error\":{\"code\":503,\"message\":\"x\"}}", /* a Google front end's */
		"{\"detail\":\"\"}",
		"{\"detail\":null}",
		"{\"detail\":42}",
		"{\"detail\":{\"code\":\"x\"}}",
		"{\"detail\":{\"message\":7}}",
		"{\"detail\":\"x\"",                          /* cut */
		"[{\"detail\":\"x\"}]",
	};
	static const long api_statuses[] = { 400, 401, 402, 403, 404, 405, 409, 413, 422, 429, 500, 503 };
	static const long proxy_statuses[] = { 0, 200, 204, 302, 408, 501, 502, 504, 505, 507, 520, 521, 522,
					       523, 524, 525, 526, 527, 530, 599, 600, 999, -1 };

	for (size_t i = 0; i < ARRAY_SIZE(api_statuses); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(api_bodies); k++)
			ck_assert_msg(api_origin_answered(api_statuses[i], api_bodies[k], strlen(api_bodies[k])),
				      "%ld %s", api_statuses[i], api_bodies[k]);
		for (size_t k = 0; k < ARRAY_SIZE(other_bodies); k++)
			ck_assert_msg(!api_origin_answered(api_statuses[i], other_bodies[k], strlen(other_bodies[k])),
				      "%ld %s", api_statuses[i], other_bodies[k]);
		ck_assert(!api_origin_answered(api_statuses[i], NULL, 0));
	}
	/* the API's body does not make a gateway's status the API's */
	for (size_t i = 0; i < ARRAY_SIZE(proxy_statuses); i++)
		for (size_t k = 0; k < ARRAY_SIZE(api_bodies); k++)
			ck_assert_msg(!api_origin_answered(proxy_statuses[i], api_bodies[k], strlen(api_bodies[k])),
				      "%ld %s", proxy_statuses[i], api_bodies[k]);
	/* every status: only the API's own, with its body */
	for (long st = 0; st < 1000; st++) {
		bool want = (st >= 400 && st <= 499 && st != 408) || st == 500 || st == 503;
		ck_assert_int_eq(api_origin_answered(st, api_bodies[0], strlen(api_bodies[0])), want);
		ck_assert(!api_origin_answered(st, other_bodies[1], strlen(other_bodies[1])));
	}
}
END_TEST

START_TEST(test_url_escape)
{
	char *s;
	s = api_url_escape("btcal_6701k8rhhgr7fcnbj9fdsdtxnmnc");
	ck_assert_str_eq(s, "btcal_6701k8rhhgr7fcnbj9fdsdtxnmnc");
	free(s);
	s = api_url_escape("a b/c?d#e&f=g%h+i~j.k-l");
	ck_assert_str_eq(s, "a%20b%2Fc%3Fd%23e%26f%3Dg%25h%2Bi~j.k-l");
	free(s);
	s = api_url_escape("../x");
	ck_assert_str_eq(s, "..%2Fx");
	free(s);
	s = api_url_escape("\xc3\xa9\r\n");
	ck_assert_str_eq(s, "%C3%A9%0D%0A");
	free(s);
	s = api_url_escape("");
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_build_url)
{
	char *u;
	u = api_build_url("https://api.elevenlabs.io", "/v1/convai/batch-calling/submit", NULL, 0);
	ck_assert_str_eq(u, "https://api.elevenlabs.io/v1/convai/batch-calling/submit");
	free(u);
	u = api_build_url("https://api.eu.residency.elevenlabs.io//", "/v1/x", NULL, 0);
	ck_assert_str_eq(u, "https://api.eu.residency.elevenlabs.io/v1/x");
	free(u);
	const struct api_query q[] = { { "limit", "100" }, { "last_doc", NULL }, { "agent_id", "agent a&b" } };
	u = api_build_url("http://127.0.0.1:8080/", "/w", q, ARRAY_SIZE(q));
	ck_assert_str_eq(u, "http://127.0.0.1:8080/w?limit=100&agent_id=agent%20a%26b");
	free(u);
	const struct api_query none[] = { { "limit", NULL }, { "last_doc", NULL } };
	u = api_build_url("http://h", "/w", none, ARRAY_SIZE(none));
	ck_assert_str_eq(u, "http://h/w");
	free(u);
	const struct api_query second[] = { { "limit", NULL }, { "last_doc", "btcal_1" } };
	u = api_build_url("http://h", "/w", second, ARRAY_SIZE(second));
	ck_assert_str_eq(u, "http://h/w?last_doc=btcal_1");
	free(u);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(api_op_name(API_OP_SUBMIT), "submit");
	ck_assert_str_eq(api_op_name(API_OP_RETRY), "retry");
	ck_assert_str_eq(api_op_name(API_OP_DELETE), "delete");
	ck_assert_str_eq(api_op_name(API_OP__MAX), "unknown");
}
END_TEST

START_TEST(test_new_refuses_bad_input)
{
	struct event_base *b = event_base_new();
	struct http_options o = { .timeout_ms = 1000 };
	struct http *h = http_new(b, &o);
	struct api *a = (struct api *)0x1;
	ck_assert_int_eq(api_new(h, "ftp://x", KEY, &a), -EINVAL);
	ck_assert_int_eq(api_new(h, "https://x", "", &a), -EINVAL);
	ck_assert_int_eq(api_new(h, "https://x", "k\r\nX-Evil: 1", &a), -EINVAL);
	ck_assert_int_eq(api_new(h, "https://x", "k y", &a), -EINVAL);
	ck_assert_int_eq(api_new(NULL, "https://x", KEY, &a), -EINVAL);
	ck_assert_ptr_eq(a, (struct api *)0x1);
	ck_assert_int_eq(api_new(h, "https://x", KEY, &a), 0);
	ck_assert_int_eq(api_get(a, "", NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(api_get(a, NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(api_pending(a), 0);
	api_free(a);
	api_free(NULL);
	api_call_cancel(NULL);
	http_free(h);
	event_base_free(b);
}
END_TEST

/* ---- end to end against the in-process server ---- */

#define BATCH_SUBMITTED                                                                                      \
	"{\"id\":\"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\",\"phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\"," \
	"\"phone_provider\":\"twilio\",\"whatsapp_params\":null,\"name\":\"Renewal reminders 2026-10-20\","      \
	"\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"branch_id\":null,\"environment\":null,"           \
	"\"created_at_unix\":1792400000,\"scheduled_time_unix\":1792483200,\"timezone\":\"America/New_York\","   \
	"\"total_calls_dispatched\":0,\"total_calls_scheduled\":2,\"total_calls_finished\":0,"                   \
	"\"last_updated_at_unix\":1792400000,\"status\":\"pending\",\"retry_count\":0,"                          \
	"\"telephony_call_config\":{\"ringing_timeout_secs\":45,\"twilio_call_recording_enabled\":false},"       \
	"\"target_concurrency_limit\":5,\"agent_name\":\"Renewals Agent\",\"branch_name\":null}"

#define BATCH_IN_PROGRESS_FIELDS                                                                             \
	"\"id\":\"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\",\"phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\","  \
	"\"phone_provider\":\"twilio\",\"whatsapp_params\":null,\"name\":\"Renewal reminders 2026-10-20\","      \
	"\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"branch_id\":null,\"environment\":null,"           \
	"\"created_at_unix\":1792400000,\"scheduled_time_unix\":1792483200,\"timezone\":\"America/New_York\","   \
	"\"total_calls_dispatched\":2,\"total_calls_scheduled\":2,\"total_calls_finished\":1,"                   \
	"\"last_updated_at_unix\":1792483290,\"status\":\"in_progress\",\"retry_count\":0,"                      \
	"\"telephony_call_config\":{\"ringing_timeout_secs\":45,\"twilio_call_recording_enabled\":false},"       \
	"\"target_concurrency_limit\":5,\"agent_name\":\"Renewals Agent\",\"branch_name\":null"

#define PAGE                                                                                                 \
	"{\"batch_calls\":[{" BATCH_IN_PROGRESS_FIELDS "},"                                                      \
	"{\"id\":\"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\",\"phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\"," \
	"\"phone_provider\":\"twilio\",\"whatsapp_params\":null,\"name\":\"Renewal reminders 2026-10-13\","      \
	"\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"branch_id\":null,\"environment\":null,"           \
	"\"created_at_unix\":1791795000,\"scheduled_time_unix\":1791795000,\"timezone\":null,"                   \
	"\"total_calls_dispatched\":120,\"total_calls_scheduled\":120,\"total_calls_finished\":120,"             \
	"\"last_updated_at_unix\":1791802311,\"status\":\"completed\",\"retry_count\":1,"                        \
	"\"telephony_call_config\":{\"ringing_timeout_secs\":60,\"twilio_call_recording_enabled\":false},"       \
	"\"target_concurrency_limit\":null,\"agent_name\":\"Renewals Agent\",\"branch_name\":null}],"            \
	"\"next_doc\":\"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\",\"has_more\":true}"

#define DETAIL                                                                                               \
	"{" BATCH_IN_PROGRESS_FIELDS ",\"recipients\":["                                                         \
	"{\"id\":\"crm-000123\",\"phone_number\":\"+14155550101\",\"whatsapp_user_id\":null,"                    \
	"\"status\":\"completed\",\"created_at_unix\":1792400000,\"updated_at_unix\":1792483288,"                \
	"\"conversation_id\":\"conv_6101k7v9x2bq4m8et3n5dfh7s1wa\",\"conversation_initiation_client_data\":"    \
	"{\"dynamic_variables\":{\"user_name\":\"Alice\",\"plan\":\"Pro\",\"days_left\":7,\"vip\":true}}},"      \
	"{\"id\":\"btcrcp_6101k7v3m9a0b1c2d3e4f5g6h7j8\",\"phone_number\":\"+14155550102\","                      \
	"\"whatsapp_user_id\":null,\"status\":\"in_progress\",\"created_at_unix\":1792400000,"                   \
	"\"updated_at_unix\":1792483260,\"conversation_id\":\"conv_6101k7v9y4cr5n9fv4p6egj8t2xb\","              \
	"\"conversation_initiation_client_data\":{\"dynamic_variables\":{\"user_name\":\"Bob\",\"plan\":"         \
	"\"Starter\",\"days_left\":3,\"vip\":false},\"conversation_config_override\":{\"agent\":"               \
	"{\"language\":\"es\",\"first_message\":\"Hola Bob\"}}}}]}"

#define CANCELLED                                                                                            \
	"{ \"id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\", \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\"," \
	" \"phone_provider\": \"twilio\", \"whatsapp_params\": null, \"name\": \"Renewal reminders 2026-10-20\","  \
	" \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\", \"branch_id\": null, \"environment\": null,"       \
	" \"created_at_unix\": 1792400000, \"scheduled_time_unix\": 1792483200, \"timezone\": \"America/New_York\"," \
	" \"total_calls_dispatched\": 2, \"total_calls_scheduled\": 2, \"total_calls_finished\": 2,"               \
	" \"last_updated_at_unix\": 1792483300, \"status\": \"cancelled\", \"retry_count\": 0,"                    \
	" \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },"  \
	" \"target_concurrency_limit\": 5, \"agent_name\": \"Renewals Agent\", \"branch_name\": null }"

#define RETRIED                                                                                              \
	"{ \"id\": \"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\", \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\"," \
	" \"phone_provider\": \"twilio\", \"whatsapp_params\": null, \"name\": \"Renewal reminders 2026-10-13\","  \
	" \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\", \"branch_id\": null, \"environment\": null,"       \
	" \"created_at_unix\": 1791795000, \"scheduled_time_unix\": 1791795000, \"timezone\": null,"               \
	" \"total_calls_dispatched\": 120, \"total_calls_scheduled\": 120, \"total_calls_finished\": 102,"         \
	" \"last_updated_at_unix\": 1792490000, \"status\": \"pending\", \"retry_count\": 2,"                      \
	" \"telephony_call_config\": { \"ringing_timeout_secs\": 60, \"twilio_call_recording_enabled\": false },"  \
	" \"target_concurrency_limit\": null, \"agent_name\": \"Renewals Agent\", \"branch_name\": null }"

#define SUBMIT_BODY                                                                                          \
	"{\"call_name\":\"Renewal reminders 2026-10-20\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","  \
	"\"recipients\":[{\"phone_number\":\"+14155550101\"},{\"phone_number\":\"+14155550102\"}]}"

#define P "/v1/convai/batch-calling"

static struct event_base *base;
static struct testsrv *srv;
static struct http *client;
static struct api *api;

/* What one api callback saw; the parsed objects are moved out. */
struct res {
	bool done;
	int calls;
	struct api_result r; /* message duplicated, objects moved */
};

static void res_cb(struct api_result *r, void *arg)
{
	struct res *x = arg;
	x->calls++;
	x->done = true;
	x->r = *r;
	x->r.message = r->message ? xstrdup(r->message) : NULL;
	/* Take the parsed objects: the documented way to keep them. */
	memset(&r->batch, 0, sizeof(r->batch));
	memset(&r->detail, 0, sizeof(r->detail));
	memset(&r->page, 0, sizeof(r->page));
}

static void res_clear(struct res *x)
{
	free(x->r.message);
	batch_clear(&x->r.batch);
	batch_detail_clear(&x->r.detail);
	batch_page_clear(&x->r.page);
	memset(x, 0, sizeof(*x));
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	srv = testsrv_new(base, NULL);
	struct http_options o = { .timeout_ms = 15000, .max_concurrent = 4 };
	client = http_new(base, &o);
	char *url = testsrv_url(srv, "");
	ck_assert_int_eq(api_new(client, url, KEY, &api), 0);
	free(url);
}

static void teardown(void)
{
	api_free(api);
	api = NULL;
	http_free(client);
	client = NULL;
	testsrv_free(srv);
	srv = NULL;
	event_base_free(base);
	base = NULL;
}

static void wait_res(struct res *x)
{
	ck_assert(testsrv_run_until(base, &x->done, 20000));
	ck_assert_int_eq(x->calls, 1);
}

static void assert_common_headers(const struct testsrv_req *q)
{
	ck_assert_str_eq(q->api_key, KEY);
	ck_assert_str_eq(q->accept, "application/json");
	ck_assert_str_eq(q->user_agent, "batchcalld/" PACKAGE_VERSION);
}

static void assert_no_key(const struct res *x)
{
	if (x->r.message)
		ck_assert_ptr_null(strstr(x->r.message, KEY));
}

START_TEST(test_submit_ok)
{
	struct res x = { 0 };
	testsrv_route(srv, "POST", P "/submit", 200, BATCH_SUBMITTED);
	ck_assert_int_eq(api_submit(api, SUBMIT_BODY, res_cb, &x, NULL), 0);
	ck_assert_uint_eq(api_pending(api), 1);
	wait_res(&x);
	ck_assert_uint_eq(api_pending(api), 0);
	ck_assert_int_eq(x.r.op, API_OP_SUBMIT);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_int_eq(x.r.http_status, 200);
	ck_assert_ptr_null(x.r.message);
	ck_assert(!x.r.maybe_applied);
	ck_assert_int_eq(x.r.retry_after_s, -1);
	ck_assert_str_eq(x.r.batch.id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_str_eq(x.r.batch.name, "Renewal reminders 2026-10-20");
	ck_assert_int_eq(x.r.batch.status, BATCH_PENDING);
	ck_assert_int_eq(x.r.batch.scheduled_time_unix, 1792483200);
	ck_assert_int_eq(x.r.batch.total_calls_scheduled, 2);

	ck_assert_uint_eq(srv->n_log, 1);
	const struct testsrv_req *q = &srv->log[0];
	ck_assert_str_eq(q->method, "POST");
	ck_assert_str_eq(q->uri, P "/submit");
	ck_assert_str_eq(q->body, SUBMIT_BODY);
	ck_assert_str_eq(q->content_type, "application/json");
	assert_common_headers(q);
	res_clear(&x);
}
END_TEST

START_TEST(test_submit_runs_on_its_own_connection)
{
	struct res x = { 0 };
	testsrv_route(srv, "POST", P "/submit", 200, BATCH_SUBMITTED);
	testsrv_route(srv, "GET", P "/workspace", 200, PAGE);
	ck_assert_int_eq(api_list(api, NULL, NULL, 0, res_cb, &x, NULL), 0);
	wait_res(&x);
	res_clear(&x);
	ck_assert_int_eq(srv->n_conns, 1);
	ck_assert_int_eq(api_submit(api, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_int_eq(srv->n_conns, 2);
	res_clear(&x);
	/* cancel and retry too; a list afterwards reuses the first one. */
	testsrv_route(srv, "POST", P "/b1/cancel", 200, CANCELLED);
	testsrv_route(srv, "POST", P "/b1/retry", 200, RETRIED);
	ck_assert_int_eq(api_cancel(api, "b1", res_cb, &x, NULL), 0);
	wait_res(&x);
	res_clear(&x);
	ck_assert_int_eq(api_retry(api, "b1", res_cb, &x, NULL), 0);
	wait_res(&x);
	res_clear(&x);
	ck_assert_int_eq(srv->n_conns, 4);
	ck_assert_int_eq(api_list(api, NULL, NULL, 0, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(srv->n_conns, 4);
	res_clear(&x);
}
END_TEST

/* A burst's submits go ahead of the reads queued before them: with one
 * connection busy with a list, two detail fetches and a list waiting, a
 * submit is sent next. Its result carries when it was written. */
START_TEST(test_submit_before_reads)
{
	struct http_options o = { .timeout_ms = 15000, .max_concurrent = 1 };
	struct http *h1 = http_new(base, &o);
	struct api *a1 = NULL;
	char *url = testsrv_url(srv, "");
	struct res x[5] = { { 0 } };
	static const char *const want[5] = { P "/workspace", P "/submit", P "/g1", P "/g2", P "/workspace" };

	ck_assert_int_eq(api_new(h1, url, KEY, &a1), 0);
	free(url);
	testsrv_route(srv, "POST", P "/submit", 200, BATCH_SUBMITTED);
	testsrv_route(srv, "GET", P "/workspace", 200, PAGE);
	testsrv_route(srv, "GET", P "/g1", 200, DETAIL);
	testsrv_route(srv, "GET", P "/g2", 200, DETAIL);
	ck_assert_int_eq(api_list(a1, NULL, NULL, 0, res_cb, &x[0], NULL), 0);
	ck_assert_int_eq(api_get(a1, "g1", res_cb, &x[2], NULL), 0);
	ck_assert_int_eq(api_get(a1, "g2", res_cb, &x[3], NULL), 0);
	ck_assert_int_eq(api_list(a1, NULL, NULL, 0, res_cb, &x[4], NULL), 0);
	ck_assert_int_eq(api_submit(a1, SUBMIT_BODY, res_cb, &x[1], NULL), 0);
	for (int i = 0; i < 5; i++)
		wait_res(&x[i]);
	ck_assert_uint_eq(srv->n_log, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_str_eq(srv->log[i].uri, want[i]);
		ck_assert_int_eq(x[i].r.outcome, API_OK);
	}
	ck_assert(x[1].r.timing.written_us >= x[1].r.timing.started_us && x[1].r.timing.written_us > 0);
	ck_assert(x[1].r.timing.slot_free_us >= x[0].r.timing.written_us);
	for (int i = 0; i < 5; i++)
		res_clear(&x[i]);
	api_free(a1);
	http_free(h1);
}
END_TEST

START_TEST(test_list_page)
{
	struct res x = { 0 };
	testsrv_route(srv, "GET", P "/workspace?limit=2&agent_id=agent_4701k7s2q9mdx8e5vb3n6tfh0yza", 200, PAGE);
	ck_assert_int_eq(api_list(api, NULL, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza", 2, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_uint_eq(x.r.page.n_batches, 2);
	ck_assert_str_eq(x.r.page.batches[0].id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_int_eq(x.r.page.batches[0].status, BATCH_IN_PROGRESS);
	ck_assert_str_eq(x.r.page.batches[1].id, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z");
	ck_assert_int_eq(x.r.page.batches[1].status, BATCH_COMPLETED);
	ck_assert_int_eq(x.r.page.batches[1].retry_count, 1);
	ck_assert_str_eq(x.r.page.next_doc, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z");
	ck_assert(x.r.page.has_more);
	assert_common_headers(&srv->log[0]);
	ck_assert_ptr_null(srv->log[0].content_type);
	res_clear(&x);

	/* The cursor goes back escaped; the last page ends the walk. */
	testsrv_route(srv, "GET", P "/workspace?limit=100&last_doc=btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z", 200,
		      "{\"batch_calls\":[],\"next_doc\":null,\"has_more\":false}");
	ck_assert_int_eq(api_list(api, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z", NULL, 100, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_uint_eq(x.r.page.n_batches, 0);
	ck_assert_ptr_null(x.r.page.next_doc);
	ck_assert(!x.r.page.has_more);
	res_clear(&x);
}
END_TEST

START_TEST(test_get_detail)
{
	struct res x = { 0 };
	testsrv_route(srv, "GET", P "/btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y", 200, DETAIL);
	ck_assert_int_eq(api_get(api, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_str_eq(x.r.detail.batch.id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_uint_eq(x.r.detail.n_rcpts, 2);
	ck_assert_str_eq(x.r.detail.rcpts[0].id, "crm-000123");
	ck_assert_int_eq(x.r.detail.rcpts[0].status, BATCH_RCPT_COMPLETED);
	ck_assert_int_eq(x.r.detail.rcpts[1].status, BATCH_RCPT_IN_PROGRESS);
	ck_assert_uint_eq(x.r.detail.counts[BATCH_RCPT_COMPLETED], 1);
	ck_assert_uint_eq(x.r.detail.counts[BATCH_RCPT_IN_PROGRESS], 1);
	res_clear(&x);
}
END_TEST

START_TEST(test_ids_are_escaped_in_paths)
{
	struct res x = { 0 };
	ck_assert_int_eq(api_get(api, "../a b?c", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_str_eq(srv->log[0].uri, P "/..%2Fa%20b%3Fc");
	ck_assert_int_eq(x.r.outcome, API_NOT_FOUND);
	res_clear(&x);
}
END_TEST

START_TEST(test_cancel_and_retry)
{
	struct res x = { 0 };
	testsrv_route(srv, "POST", P "/btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y/cancel", 200, CANCELLED);
	ck_assert_int_eq(api_cancel(api, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.op, API_OP_CANCEL);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_int_eq(x.r.batch.status, BATCH_CANCELLED);
	ck_assert_str_eq(srv->log[0].method, "POST");
	ck_assert_uint_eq(srv->log[0].body_len, 0);
	ck_assert_ptr_null(srv->log[0].content_type);
	assert_common_headers(&srv->log[0]);
	res_clear(&x);

	testsrv_route(srv, "POST", P "/btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z/retry", 200, RETRIED);
	ck_assert_int_eq(api_retry(api, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_int_eq(x.r.batch.retry_count, 2);
	ck_assert_int_eq(x.r.batch.status, BATCH_PENDING);
	res_clear(&x);

	/* Gone: 404 with the documented error object. */
	testsrv_route(srv, "POST", P "/btcal_gone/cancel", 404,
		      "{\"detail\":{\"type\":\"not_found\",\"code\":\"batch_not_found\",\"message\":\"Batch not found\","
		      "\"status\":\"batch_not_found\",\"request_id\":\"3c80\",\"param\":null}}");
	ck_assert_int_eq(api_cancel(api, "btcal_gone", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_NOT_FOUND);
	ck_assert_int_eq(x.r.http_status, 404);
	ck_assert_ptr_nonnull(x.r.message);
	ck_assert_ptr_nonnull(strstr(x.r.message, "Batch not found"));
	ck_assert(!x.r.maybe_applied);
	res_clear(&x);
}
END_TEST

START_TEST(test_submit_422_detail)
{
	struct res x = { 0 };
	testsrv_route(srv, "POST", P "/submit", 422,
		      "{ \"detail\": [ { \"type\": \"missing\", \"loc\": [\"body\", \"agent_id\"], \"msg\": \"Field required\","
		      " \"input\": { \"call_name\": \"x\", \"recipients\": [] } } ] }");
	ck_assert_int_eq(api_submit(api, "{}", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_REJECTED);
	ck_assert_int_eq(x.r.http_status, 422);
	ck_assert(!x.r.maybe_applied);
	ck_assert_ptr_nonnull(strstr(x.r.message, "HTTP 422: "));
	ck_assert_ptr_nonnull(strstr(x.r.message, "agent_id"));
	ck_assert_ptr_nonnull(strstr(x.r.message, "Field required"));
	res_clear(&x);
}
END_TEST

START_TEST(test_auth_and_key_never_in_message)
{
	struct res x = { 0 };
	testsrv_route(srv, "GET", P "/workspace", 401,
		      "{\"detail\":{\"type\":\"authentication_error\",\"code\":\"unauthorized\",\"message\":\"Invalid API key\","
		      "\"status\":\"invalid_api_key\",\"request_id\":\"r1\"}}");
	ck_assert_int_eq(api_list(api, NULL, NULL, 0, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_AUTH);
	ck_assert_ptr_nonnull(strstr(x.r.message, "Invalid API key"));
	assert_no_key(&x);
	res_clear(&x);

	/* A server (or proxy) that echoes the key back must not get it into
	 * our logs. */
	testsrv_route(srv, "GET", P "/b403", 403, "{\"detail\":\"key " KEY " lacks convai_write\"}");
	ck_assert_int_eq(api_get(api, "b403", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_AUTH);
	ck_assert_ptr_nonnull(strstr(x.r.message, "lacks convai_write"));
	ck_assert_ptr_nonnull(strstr(x.r.message, "[redacted]"));
	assert_no_key(&x);
	res_clear(&x);
}
END_TEST

START_TEST(test_transient_answers)
{
	struct res x = { 0 };
	/* 200 with a body that is not the documented JSON: transient, and the
	 * submit may well have been applied. */
	testsrv_route(srv, "POST", P "/submit", 200, "<html>gateway</html>");
	ck_assert_int_eq(api_submit(api, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert(x.r.maybe_applied);
	ck_assert_ptr_null(x.r.batch.id);
	ck_assert_ptr_nonnull(strstr(x.r.message, "unexpected answer (HTTP 200)"));
	res_clear(&x);

	/* 500 after (maybe) applying. */
	testsrv_route(srv, "POST", P "/b5/retry", 500, "{\"detail\":{\"type\":\"internal_error\",\"message\":\"boom\"}}");
	ck_assert_int_eq(api_retry(api, "b5", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert(x.r.maybe_applied);
	ck_assert_ptr_nonnull(strstr(x.r.message, "boom"));
	res_clear(&x);

	/* A proxy's HTML 502 on a read: transient, with a readable snippet. */
	testsrv_route(srv, "GET", P "/b6", 502, "<html>Bad Gateway</html>");
	ck_assert_int_eq(api_get(api, "b6", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_int_eq(x.r.http_status, 502);
	ck_assert_str_eq(x.r.message, "HTTP 502: <html>Bad Gateway</html>");
	res_clear(&x);
}
END_TEST

/* The padding of a JSON string: n bytes of 'a'. */
static char *pad(size_t n)
{
	char *p = xmalloc(n + 1);
	memset(p, 'a', n);
	p[n] = '\0';
	return p;
}

/* Each endpoint reads at most its own cap: a 2xx past it is a transient
 * failure that may have been applied, a refusal stays a refusal. */
START_TEST(test_answer_caps_per_endpoint)
{
	struct res x = { 0 };
	char *p = pad(API_MAX_BODY_BATCH), *body;

	ck_assert_uint_eq(api_max_body(API_OP_SUBMIT), 256 << 10);
	ck_assert_uint_eq(api_max_body(API_OP_CANCEL), 256 << 10);
	ck_assert_uint_eq(api_max_body(API_OP_RETRY), 256 << 10);
	ck_assert_uint_eq(api_max_body(API_OP_LIST), 2 << 20);
	ck_assert_uint_eq(api_max_body(API_OP_GET), 64 << 20);

	/* a BatchCallResponse a little over 256 KiB (a huge agent name) */
	body = xasprintf("{\"agent_name\":\"%s\",%s", p, BATCH_SUBMITTED + 1);
	testsrv_route(srv, "POST", P "/submit", 200, body);
	ck_assert_int_eq(api_submit(api, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_int_eq(x.r.http_status, 200);
	ck_assert(x.r.maybe_applied);
	ck_assert_ptr_null(x.r.batch.id);
	ck_assert_str_eq(x.r.message, "unexpected answer (HTTP 200): answer over 262144 bytes, not read");
	res_clear(&x);
	/* the same answer to a get is well within its cap */
	testsrv_route(srv, "GET", P "/big1", 200, body);
	ck_assert_int_eq(api_get(api, "big1", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT); /* read, but no recipients: not a detail */
	ck_assert_ptr_nonnull(strstr(x.r.message, "recipients: missing"));
	res_clear(&x);
	free(body);

	/* a refusal past the cap is still a refusal, not a maybe */
	body = xasprintf("{\"detail\":\"%s\"}", p);
	testsrv_route(srv, "POST", P "/b7/cancel", 422, body);
	ck_assert_int_eq(api_cancel(api, "b7", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_REJECTED);
	ck_assert_int_eq(x.r.http_status, 422);
	ck_assert(!x.r.maybe_applied);
	ck_assert_str_eq(x.r.message, "HTTP 422: answer over 262144 bytes, not read");
	res_clear(&x);
	free(body);
	free(p);

	/* a detail of 3 MiB (long client data) is read; a page of 3 MiB is not */
	p = pad(3 << 20);
	body = xasprintf("{" BATCH_IN_PROGRESS_FIELDS ",\"recipients\":[{\"id\":\"r1\",\"status\":\"completed\","
			 "\"created_at_unix\":1,\"updated_at_unix\":2,\"conversation_initiation_client_data\":"
			 "{\"conversation_config_override\":{\"agent\":{\"prompt\":{\"prompt\":\"%s\"}}}}}]}",
			 p);
	testsrv_route(srv, "GET", P "/big3", 200, body);
	ck_assert_int_eq(api_get(api, "big3", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_uint_eq(x.r.detail.n_rcpts, 1);
	ck_assert_uint_eq(x.r.detail.counts[BATCH_RCPT_COMPLETED], 1);
	res_clear(&x);
	free(body);
	body = xasprintf("{\"batch_calls\":[{" BATCH_IN_PROGRESS_FIELDS ",\"x\":\"%s\"}],\"has_more\":false}", p);
	testsrv_route(srv, "GET", P "/workspace", 200, body);
	ck_assert_int_eq(api_list(api, NULL, NULL, 0, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_str_eq(x.r.message, "unexpected answer (HTTP 200): answer over 2097152 bytes, not read");
	res_clear(&x);
	free(body);
	free(p);
}
END_TEST

/* origin_answered reaches the result: the API's 503, a load balancer's
 * 503, a CDN's 520, a gateway's 502, no answer at all. */
START_TEST(test_origin_answered_end_to_end)
{
	static const struct {
		const char *id;
		int status;
		const char *body;
		bool origin;
	} cases[] = {
		{ "o1", 503, "{\"detail\":{\"type\":\"service_unavailable\",\"message\":\"Busy\",\"status\":\"busy\"}}", true },
		{ "o2", 500, "{\"detail\":{\"type\":\"internal_error\",\"message\":\"boom\"}}", true },
		{ "o3", 503, "<html><body>503 Service Unavailable</body></html>", false },
		{ "o4", 520, "{\"detail\":{\"message\":\"looks like the API\"}}", false },
		{ "o5", 502, "<html>Bad Gateway</html>", false },
	};
	struct res x = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = xasprintf(P "/%s/retry", cases[i].id);
		testsrv_route(srv, "POST", path, cases[i].status, cases[i].body);
		ck_assert_int_eq(api_retry(api, cases[i].id, res_cb, &x, NULL), 0);
		wait_res(&x);
		ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
		ck_assert(x.r.maybe_applied);
		ck_assert_msg(x.r.origin_answered == cases[i].origin, "%d %s", cases[i].status, cases[i].body);
		res_clear(&x);
		free(path);
	}
	/* a refusal the API made is the API's answer too */
	testsrv_route(srv, "POST", P "/submit", 422,
		      "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"agent_id\"],\"msg\":\"Field required\"}]}");
	ck_assert_int_eq(api_submit(api, "{}", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_REJECTED);
	ck_assert(x.r.origin_answered);
	res_clear(&x);
	/* an answer cut at the cap cannot be told to be the API's */
	char *p = pad(API_MAX_BODY_BATCH);
	char *body = xasprintf("{\"detail\":{\"message\":\"%s\"}}", p);
	testsrv_route(srv, "POST", P "/o6/retry", 503, body);
	ck_assert_int_eq(api_retry(api, "o6", res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert(!x.r.origin_answered);
	res_clear(&x);
	free(body);
	free(p);
	/* and a success is not a failure's answer */
	testsrv_route(srv, "POST", P "/submit", 200, BATCH_SUBMITTED);
	ck_assert_int_eq(api_submit(api, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert(!x.r.origin_answered);
	res_clear(&x);
}
END_TEST

START_TEST(test_retry_after_and_unreachable)
{
	/* The server's /status route answers any code with Retry-After; use a
	 * base URL whose endpoint path lands there. */
	struct res x = { 0 };
	char *base_url = testsrv_url(srv, "/status?code=429&ra=7&p=");
	struct api *a2;
	ck_assert_int_eq(api_new(client, base_url, KEY, &a2), 0);
	ck_assert_int_eq(api_list(a2, NULL, NULL, 0, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.http_status, 429);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_int_eq(x.r.retry_after_s, 7);
	ck_assert(!x.r.maybe_applied);
	res_clear(&x);
	api_free(a2);
	free(base_url);

	/* Nobody listening: transient, certainly not applied. */
	int port;
	int fd = testsrv_silent_listener(&port);
	close(fd);
	base_url = xasprintf("http://127.0.0.1:%d", port);
	ck_assert_int_eq(api_new(client, base_url, KEY, &a2), 0);
	ck_assert_int_eq(api_submit(a2, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_int_eq(x.r.http_status, 0);
	ck_assert(!x.r.maybe_applied);
	ck_assert_ptr_nonnull(strstr(x.r.message, "no answer from the API"));
	assert_no_key(&x);
	res_clear(&x);
	api_free(a2);
	free(base_url);
}
END_TEST

START_TEST(test_submit_timeout_maybe_applied)
{
	struct res x = { 0 };
	struct http_options o = { .timeout_ms = 1500, .max_concurrent = 1 };
	struct http *h2 = http_new(base, &o);
	char *base_url = testsrv_url(srv, "/delay?ms=20000&p=");
	struct api *a2;
	ck_assert_int_eq(api_new(h2, base_url, KEY, &a2), 0);
	ck_assert_int_eq(api_submit(a2, SUBMIT_BODY, res_cb, &x, NULL), 0);
	wait_res(&x);
	ck_assert_int_eq(x.r.outcome, API_TRANSIENT);
	ck_assert_int_eq(x.r.http_status, 0);
	ck_assert(x.r.maybe_applied);
	ck_assert_int_eq(testsrv_count(srv, "POST", "/delay"), 1);
	res_clear(&x);
	api_free(a2);
	http_free(h2);
	free(base_url);
}
END_TEST

START_TEST(test_call_cancel_and_free_pending)
{
	struct res x = { 0 }, y = { 0 };
	struct api_call *c;
	char *base_url = testsrv_url(srv, "/delay?ms=200&p=");
	struct api *a2;
	ck_assert_int_eq(api_new(client, base_url, KEY, &a2), 0);
	ck_assert_int_eq(api_get(a2, "b1", res_cb, &x, &c), 0);
	ck_assert_int_eq(api_get(a2, "b2", res_cb, &y, NULL), 0);
	ck_assert_uint_eq(api_pending(a2), 2);
	api_call_cancel(c);
	ck_assert_uint_eq(api_pending(a2), 1);
	ck_assert_uint_eq(http_pending(client), 1);
	api_free(a2); /* cancels the other one */
	ck_assert_uint_eq(http_pending(client), 0);
	bool never = false;
	testsrv_run_until(base, &never, 400);
	ck_assert(!x.done);
	ck_assert(!y.done);
	free(base_url);
}
END_TEST

static struct api_call *self_call;

static void cancel_self_cb(struct api_result *r, void *arg)
{
	/* Cancelling the call whose answer this is must be harmless. */
	api_call_cancel(self_call);
	res_cb(r, arg);
}

START_TEST(test_cancel_own_call_in_callback)
{
	struct res x = { 0 }, y = { 0 };
	testsrv_route(srv, "GET", P "/b1", 200, DETAIL);
	ck_assert_int_eq(api_get(api, "b1", cancel_self_cb, &x, &self_call), 0);
	ck_assert_int_eq(api_get(api, "b1", res_cb, &y, NULL), 0);
	wait_res(&x);
	wait_res(&y);
	ck_assert_int_eq(x.r.outcome, API_OK);
	ck_assert_int_eq(y.r.outcome, API_OK);
	ck_assert_uint_eq(api_pending(api), 0);
	res_clear(&x);
	res_clear(&y);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *pure = tcase_create("pure");
	tcase_add_test(pure, test_classify_exhaustive);
	tcase_add_test(pure, test_classify_named_cases);
	tcase_add_test(pure, test_maybe_applied);
	tcase_add_test(pure, test_origin_answered);
	tcase_add_test(pure, test_url_escape);
	tcase_add_test(pure, test_build_url);
	tcase_add_test(pure, test_names);
	tcase_add_test(pure, test_new_refuses_bad_input);
	suite_add_tcase(s, pure);

	TCase *e2e = tcase_create("endpoints");
	tcase_add_checked_fixture(e2e, setup, teardown);
	tcase_set_timeout(e2e, 30);
	tcase_add_test(e2e, test_submit_ok);
	tcase_add_test(e2e, test_submit_runs_on_its_own_connection);
	tcase_add_test(e2e, test_submit_before_reads);
	tcase_add_test(e2e, test_list_page);
	tcase_add_test(e2e, test_get_detail);
	tcase_add_test(e2e, test_ids_are_escaped_in_paths);
	tcase_add_test(e2e, test_cancel_and_retry);
	tcase_add_test(e2e, test_submit_422_detail);
	tcase_add_test(e2e, test_auth_and_key_never_in_message);
	tcase_add_test(e2e, test_transient_answers);
	tcase_add_test(e2e, test_answer_caps_per_endpoint);
	tcase_add_test(e2e, test_origin_answered_end_to_end);
	tcase_add_test(e2e, test_retry_after_and_unreachable);
	tcase_add_test(e2e, test_submit_timeout_maybe_applied);
	tcase_add_test(e2e, test_call_cancel_and_free_pending);
	tcase_add_test(e2e, test_cancel_own_call_in_callback);
	suite_add_tcase(s, e2e);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
