/*
 * test_codec: the JSON mapping of the batch-calling API. The API document's
 * examples (api/elevenlabs-batch-calling.md §4, §7) parse to exact values;
 * absent and null keys, unknown keys and enum strings are tolerated as the
 * document says; every required key, wrong type, non-JSON and truncated
 * body is refused with a cause naming the key; error bodies become one clean
 * line; the submit body is exact text and reads back to the job.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "util.h"

/* The document's examples, verbatim. */
static const char ex_submit_request[] =
	"{\n"
	"  \"call_name\": \"Renewal reminders 2026-10-20\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"  \"agent_phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"  \"scheduled_time_unix\": 1792483200,\n"
	"  \"timezone\": \"America/New_York\",\n"
	"  \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },\n"
	"  \"target_concurrency_limit\": 5,\n"
	"  \"recipients\": [\n"
	"    {\n"
	"      \"id\": \"crm-000123\",\n"
	"      \"phone_number\": \"+14155550101\",\n"
	"      \"conversation_initiation_client_data\": {\n"
	"        \"dynamic_variables\": { \"user_name\": \"Alice\", \"plan\": \"Pro\", \"days_left\": 7, \"vip\": true }\n"
	"      }\n"
	"    },\n"
	"    {\n"
	"      \"phone_number\": \"+14155550102\",\n"
	"      \"conversation_initiation_client_data\": {\n"
	"        \"dynamic_variables\": { \"user_name\": \"Bob\", \"plan\": \"Starter\", \"days_left\": 3, \"vip\": false },\n"
	"        \"conversation_config_override\": { \"agent\": { \"language\": \"es\", \"first_message\": \"Hola Bob\" } }\n"
	"      }\n"
	"    }\n"
	"  ]\n"
	"}"
;

static const char ex_submit_response[] =
	"{\n"
	"  \"id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\",\n"
	"  \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"  \"phone_provider\": \"twilio\",\n"
	"  \"whatsapp_params\": null,\n"
	"  \"name\": \"Renewal reminders 2026-10-20\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"  \"branch_id\": null,\n"
	"  \"environment\": null,\n"
	"  \"created_at_unix\": 1792400000,\n"
	"  \"scheduled_time_unix\": 1792483200,\n"
	"  \"timezone\": \"America/New_York\",\n"
	"  \"total_calls_dispatched\": 0,\n"
	"  \"total_calls_scheduled\": 2,\n"
	"  \"total_calls_finished\": 0,\n"
	"  \"last_updated_at_unix\": 1792400000,\n"
	"  \"status\": \"pending\",\n"
	"  \"retry_count\": 0,\n"
	"  \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },\n"
	"  \"target_concurrency_limit\": 5,\n"
	"  \"agent_name\": \"Renewals Agent\",\n"
	"  \"branch_name\": null\n"
	"}"
;

static const char ex_submit_request_whatsapp[] =
	"{\n"
	"  \"call_name\": \"WA follow-up\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"  \"whatsapp_params\": {\n"
	"    \"whatsapp_phone_number_id\": \"1234567890123\",\n"
	"    \"whatsapp_call_permission_request_template_name\": \"call_permission_request\",\n"
	"    \"whatsapp_call_permission_request_template_language_code\": \"en_US\"\n"
	"  },\n"
	"  \"recipients\": [ { \"whatsapp_user_id\": \"14155550101\" } ]\n"
	"}"
;

static const char ex_list_page[] =
	"{\n"
	"  \"batch_calls\": [\n"
	"    {\n"
	"      \"id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\",\n"
	"      \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"      \"phone_provider\": \"twilio\",\n"
	"      \"whatsapp_params\": null,\n"
	"      \"name\": \"Renewal reminders 2026-10-20\",\n"
	"      \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"      \"branch_id\": null,\n"
	"      \"environment\": null,\n"
	"      \"created_at_unix\": 1792400000,\n"
	"      \"scheduled_time_unix\": 1792483200,\n"
	"      \"timezone\": \"America/New_York\",\n"
	"      \"total_calls_dispatched\": 2,\n"
	"      \"total_calls_scheduled\": 2,\n"
	"      \"total_calls_finished\": 1,\n"
	"      \"last_updated_at_unix\": 1792483290,\n"
	"      \"status\": \"in_progress\",\n"
	"      \"retry_count\": 0,\n"
	"      \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },\n"
	"      \"target_concurrency_limit\": 5,\n"
	"      \"agent_name\": \"Renewals Agent\",\n"
	"      \"branch_name\": null\n"
	"    },\n"
	"    {\n"
	"      \"id\": \"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\",\n"
	"      \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"      \"phone_provider\": \"twilio\",\n"
	"      \"whatsapp_params\": null,\n"
	"      \"name\": \"Renewal reminders 2026-10-13\",\n"
	"      \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"      \"branch_id\": null,\n"
	"      \"environment\": null,\n"
	"      \"created_at_unix\": 1791795000,\n"
	"      \"scheduled_time_unix\": 1791795000,\n"
	"      \"timezone\": null,\n"
	"      \"total_calls_dispatched\": 120,\n"
	"      \"total_calls_scheduled\": 120,\n"
	"      \"total_calls_finished\": 120,\n"
	"      \"last_updated_at_unix\": 1791802311,\n"
	"      \"status\": \"completed\",\n"
	"      \"retry_count\": 1,\n"
	"      \"telephony_call_config\": { \"ringing_timeout_secs\": 60, \"twilio_call_recording_enabled\": false },\n"
	"      \"target_concurrency_limit\": null,\n"
	"      \"agent_name\": \"Renewals Agent\",\n"
	"      \"branch_name\": null\n"
	"    }\n"
	"  ],\n"
	"  \"next_doc\": \"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\",\n"
	"  \"has_more\": true\n"
	"}"
;

static const char ex_detail[] =
	"{\n"
	"  \"id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\",\n"
	"  \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"  \"phone_provider\": \"twilio\",\n"
	"  \"whatsapp_params\": null,\n"
	"  \"name\": \"Renewal reminders 2026-10-20\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\n"
	"  \"branch_id\": null,\n"
	"  \"environment\": null,\n"
	"  \"created_at_unix\": 1792400000,\n"
	"  \"scheduled_time_unix\": 1792483200,\n"
	"  \"timezone\": \"America/New_York\",\n"
	"  \"total_calls_dispatched\": 2,\n"
	"  \"total_calls_scheduled\": 2,\n"
	"  \"total_calls_finished\": 1,\n"
	"  \"last_updated_at_unix\": 1792483290,\n"
	"  \"status\": \"in_progress\",\n"
	"  \"retry_count\": 0,\n"
	"  \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },\n"
	"  \"target_concurrency_limit\": 5,\n"
	"  \"agent_name\": \"Renewals Agent\",\n"
	"  \"branch_name\": null,\n"
	"  \"recipients\": [\n"
	"    {\n"
	"      \"id\": \"crm-000123\",\n"
	"      \"phone_number\": \"+14155550101\",\n"
	"      \"whatsapp_user_id\": null,\n"
	"      \"status\": \"completed\",\n"
	"      \"created_at_unix\": 1792400000,\n"
	"      \"updated_at_unix\": 1792483288,\n"
	"      \"conversation_id\": \"conv_6101k7v9x2bq4m8et3n5dfh7s1wa\",\n"
	"      \"conversation_initiation_client_data\": {\n"
	"        \"dynamic_variables\": { \"user_name\": \"Alice\", \"plan\": \"Pro\", \"days_left\": 7, \"vip\": true }\n"
	"      }\n"
	"    },\n"
	"    {\n"
	"      \"id\": \"btcrcp_6101k7v3m9a0b1c2d3e4f5g6h7j8\",\n"
	"      \"phone_number\": \"+14155550102\",\n"
	"      \"whatsapp_user_id\": null,\n"
	"      \"status\": \"in_progress\",\n"
	"      \"created_at_unix\": 1792400000,\n"
	"      \"updated_at_unix\": 1792483260,\n"
	"      \"conversation_id\": \"conv_6101k7v9y4cr5n9fv4p6egj8t2xb\",\n"
	"      \"conversation_initiation_client_data\": {\n"
	"        \"dynamic_variables\": { \"user_name\": \"Bob\", \"plan\": \"Starter\", \"days_left\": 3, \"vip\": false },\n"
	"        \"conversation_config_override\": { \"agent\": { \"language\": \"es\", \"first_message\": \"Hola Bob\" } }\n"
	"      }\n"
	"    }\n"
	"  ]\n"
	"}"
;

static const char ex_cancel_response[] =
	"{ \"id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\", \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"  \"phone_provider\": \"twilio\", \"whatsapp_params\": null, \"name\": \"Renewal reminders 2026-10-20\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\", \"branch_id\": null, \"environment\": null,\n"
	"  \"created_at_unix\": 1792400000, \"scheduled_time_unix\": 1792483200, \"timezone\": \"America/New_York\",\n"
	"  \"total_calls_dispatched\": 2, \"total_calls_scheduled\": 2, \"total_calls_finished\": 2,\n"
	"  \"last_updated_at_unix\": 1792483300, \"status\": \"cancelled\", \"retry_count\": 0,\n"
	"  \"telephony_call_config\": { \"ringing_timeout_secs\": 45, \"twilio_call_recording_enabled\": false },\n"
	"  \"target_concurrency_limit\": 5, \"agent_name\": \"Renewals Agent\", \"branch_name\": null }"
;

static const char ex_retry_response[] =
	"{ \"id\": \"btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z\", \"phone_number_id\": \"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\n"
	"  \"phone_provider\": \"twilio\", \"whatsapp_params\": null, \"name\": \"Renewal reminders 2026-10-13\",\n"
	"  \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\", \"branch_id\": null, \"environment\": null,\n"
	"  \"created_at_unix\": 1791795000, \"scheduled_time_unix\": 1791795000, \"timezone\": null,\n"
	"  \"total_calls_dispatched\": 120, \"total_calls_scheduled\": 120, \"total_calls_finished\": 102,\n"
	"  \"last_updated_at_unix\": 1792490000, \"status\": \"pending\", \"retry_count\": 2,\n"
	"  \"telephony_call_config\": { \"ringing_timeout_secs\": 60, \"twilio_call_recording_enabled\": false },\n"
	"  \"target_concurrency_limit\": null, \"agent_name\": \"Renewals Agent\", \"branch_name\": null }"
;

static const char ex_error_422[] =
	"{ \"detail\": [ { \"type\": \"missing\", \"loc\": [\"body\", \"agent_id\"], \"msg\": \"Field required\",\n"
	"                \"input\": { \"call_name\": \"x\", \"recipients\": [] } } ] }"
;

static const char ex_error_detail_object[] =
	"{ \"detail\": { \"type\": \"not_found\", \"code\": \"…\", \"message\": \"…\", \"status\": \"…\",\n"
	"              \"request_id\": \"3c807fc4c3a1705f9638ecc764a91c01\", \"param\": null } }"
;

/* --- helpers --------------------------------------------------------- */

/* The example body with `key` (at "" top level, or inside the array
 * element "array[i]") removed or replaced by a raw JSON value. */
static char *edit_body(const char *body, const char *array, int index, const char *key, const char *raw)
{
	json_object *root = json_tokener_parse(body), *o = root;
	ck_assert_ptr_nonnull(root);
	if (array) {
		json_object *a;
		ck_assert(json_object_object_get_ex(root, array, &a));
		o = json_object_array_get_idx(a, (size_t)index);
		ck_assert_ptr_nonnull(o);
	}
	if (raw) {
		json_object *v = json_tokener_parse(raw);
		/* "null" parses to NULL: that is json-c's JSON null */
		ck_assert(v || strcmp(raw, "null") == 0);
		json_object_object_add(o, key, v);
	} else {
		ck_assert(json_object_object_get_ex(o, key, NULL));
		json_object_object_del(o, key);
	}
	char *s = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return s;
}

/* Which parser a failure test goes through. */
enum which { P_BATCH, P_DETAIL, P_PAGE };

/* Parse with the given parser; on failure check the output is untouched
 * (still all 0xa5 bytes) and return the cause. */
static int parse_any(enum which w, const char *body, size_t len, char **cause)
{
	union {
		struct batch b;
		struct batch_detail d;
		struct batch_page p;
	} out, sentinel;
	int r;

	memset(&out, 0xa5, sizeof(out));
	memset(&sentinel, 0xa5, sizeof(sentinel));
	*cause = NULL;
	switch (w) {
	case P_BATCH:
		r = codec_parse_batch(body, len, &out.b, cause);
		if (r == 0)
			batch_clear(&out.b);
		break;
	case P_DETAIL:
		r = codec_parse_detail(body, len, &out.d, cause);
		if (r == 0)
			batch_detail_clear(&out.d);
		break;
	default:
		r = codec_parse_page(body, len, &out.p, cause);
		if (r == 0)
			batch_page_clear(&out.p);
		break;
	}
	if (r < 0) {
		ck_assert_int_eq(r, -EBADMSG);
		ck_assert_ptr_nonnull(*cause);
		ck_assert_int_eq(memcmp(&out, &sentinel, sizeof(out)), 0);
	} else {
		ck_assert_ptr_null(*cause);
	}
	return r;
}

/* body must be refused by parser w with exactly this cause. */
static void assert_refused(enum which w, const char *body, const char *want)
{
	char *cause;
	int r = parse_any(w, body, strlen(body), &cause);
	ck_assert_msg(r == -EBADMSG, "accepted: %s", body);
	if (want)
		ck_assert_str_eq(cause, want);
	free(cause);
}

static void assert_accepted(enum which w, const char *body)
{
	char *cause;
	int r = parse_any(w, body, strlen(body), &cause);
	ck_assert_msg(r == 0, "refused (%s): %s", cause ? cause : "?", body);
}

static void assert_clean_line(const char *s)
{
	ck_assert_ptr_nonnull(s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f, "control byte %#x in '%s'", *p, s);
}

/* --- the document's examples ------------------------------------------ */

START_TEST(test_parse_submit_response)
{
	struct batch b;
	char *cause = NULL;

	ck_assert_int_eq(codec_parse_batch(ex_submit_response, strlen(ex_submit_response), &b, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(b.id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_str_eq(b.name, "Renewal reminders 2026-10-20");
	ck_assert_str_eq(b.agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_str_eq(b.timezone, "America/New_York"); /* kept: a lookup reads the name in it */
	ck_assert_int_eq(b.status, BATCH_PENDING);
	ck_assert_int_eq(b.created_at_unix, 1792400000);
	ck_assert_int_eq(b.scheduled_time_unix, 1792483200);
	ck_assert_int_eq(b.last_updated_at_unix, 1792400000);
	ck_assert_int_eq(b.total_calls_dispatched, 0);
	ck_assert_int_eq(b.total_calls_scheduled, 2);
	ck_assert_int_eq(b.total_calls_finished, 0);
	ck_assert_int_eq(b.retry_count, 0);
	batch_clear(&b);
	ck_assert_ptr_null(b.id);
	batch_clear(&b); /* twice is harmless */
}
END_TEST

START_TEST(test_parse_cancel_and_retry_responses)
{
	struct batch b;
	char *cause = NULL;

	ck_assert_int_eq(codec_parse_batch(ex_cancel_response, strlen(ex_cancel_response), &b, &cause), 0);
	ck_assert_str_eq(b.id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_int_eq(b.status, BATCH_CANCELLED);
	ck_assert_int_eq(b.total_calls_dispatched, 2);
	ck_assert_int_eq(b.total_calls_scheduled, 2);
	ck_assert_int_eq(b.total_calls_finished, 2);
	ck_assert_int_eq(b.last_updated_at_unix, 1792483300);
	ck_assert_int_eq(b.retry_count, 0);
	batch_clear(&b);

	ck_assert_int_eq(codec_parse_batch(ex_retry_response, strlen(ex_retry_response), &b, &cause), 0);
	ck_assert_str_eq(b.id, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z");
	ck_assert_str_eq(b.name, "Renewal reminders 2026-10-13");
	ck_assert_int_eq(b.status, BATCH_PENDING);
	ck_assert_int_eq(b.created_at_unix, 1791795000);
	ck_assert_int_eq(b.scheduled_time_unix, 1791795000);
	ck_assert_int_eq(b.last_updated_at_unix, 1792490000);
	ck_assert_int_eq(b.total_calls_dispatched, 120);
	ck_assert_int_eq(b.total_calls_scheduled, 120);
	ck_assert_int_eq(b.total_calls_finished, 102);
	ck_assert_int_eq(b.retry_count, 2);
	batch_clear(&b);
	ck_assert_ptr_null(cause);
}
END_TEST

START_TEST(test_parse_list_page)
{
	struct batch_page p;
	char *cause = NULL;

	ck_assert_int_eq(codec_parse_page(ex_list_page, strlen(ex_list_page), &p, &cause), 0);
	ck_assert_uint_eq(p.n_batches, 2);
	ck_assert_str_eq(p.next_doc, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z");
	ck_assert(p.has_more);

	ck_assert_str_eq(p.batches[0].id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_str_eq(p.batches[0].name, "Renewal reminders 2026-10-20");
	ck_assert_int_eq(p.batches[0].status, BATCH_IN_PROGRESS);
	ck_assert_int_eq(p.batches[0].total_calls_dispatched, 2);
	ck_assert_int_eq(p.batches[0].total_calls_finished, 1);
	ck_assert_int_eq(p.batches[0].last_updated_at_unix, 1792483290);

	ck_assert_str_eq(p.batches[1].id, "btcal_4901k6p0r2hw7n5ct8m1qa3fxe9z");
	ck_assert_str_eq(p.batches[1].agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_int_eq(p.batches[1].status, BATCH_COMPLETED);
	ck_assert_int_eq(p.batches[1].created_at_unix, 1791795000);
	ck_assert_int_eq(p.batches[1].scheduled_time_unix, 1791795000);
	ck_assert_int_eq(p.batches[1].last_updated_at_unix, 1791802311);
	ck_assert_int_eq(p.batches[1].total_calls_scheduled, 120);
	ck_assert_int_eq(p.batches[1].total_calls_finished, 120);
	ck_assert_int_eq(p.batches[1].retry_count, 1);
	batch_page_clear(&p);
	ck_assert_ptr_null(p.batches);

	/* the document's last page */
	const char *last = "{\"batch_calls\": [], \"next_doc\": null, \"has_more\": false}";
	ck_assert_int_eq(codec_parse_page(last, strlen(last), &p, &cause), 0);
	ck_assert_uint_eq(p.n_batches, 0);
	ck_assert_ptr_null(p.next_doc);
	ck_assert(!p.has_more);
	batch_page_clear(&p);
	ck_assert_ptr_null(cause);
}
END_TEST

START_TEST(test_parse_detail)
{
	struct batch_detail d;
	char *cause = NULL;

	ck_assert_int_eq(codec_parse_detail(ex_detail, strlen(ex_detail), &d, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(d.batch.id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_int_eq(d.batch.status, BATCH_IN_PROGRESS);
	ck_assert_int_eq(d.batch.total_calls_finished, 1);
	ck_assert_int_eq(d.batch.last_updated_at_unix, 1792483290);
	ck_assert_uint_eq(d.n_rcpts, 2);
	ck_assert_str_eq(d.rcpts[0].id, "crm-000123");
	ck_assert_str_eq(d.rcpts[0].phone_number, "+14155550101");
	ck_assert_ptr_null(d.rcpts[0].whatsapp_user_id);
	ck_assert_int_eq(d.rcpts[0].status, BATCH_RCPT_COMPLETED);
	ck_assert_str_eq(d.rcpts[0].conversation_id, "conv_6101k7v9x2bq4m8et3n5dfh7s1wa");
	ck_assert_str_eq(d.rcpts[1].id, "btcrcp_6101k7v3m9a0b1c2d3e4f5g6h7j8");
	ck_assert_str_eq(d.rcpts[1].phone_number, "+14155550102");
	ck_assert_int_eq(d.rcpts[1].status, BATCH_RCPT_IN_PROGRESS);
	ck_assert_str_eq(d.rcpts[1].conversation_id, "conv_6101k7v9y4cr5n9fv4p6egj8t2xb");
	for (int i = 0; i < BATCH_RCPT__MAX; i++)
		ck_assert_uint_eq(d.counts[i], i == BATCH_RCPT_COMPLETED || i == BATCH_RCPT_IN_PROGRESS ? 1 : 0);
	batch_detail_clear(&d);
	ck_assert_ptr_null(d.rcpts);
	ck_assert_uint_eq(d.n_rcpts, 0);
}
END_TEST

/* --- tolerance --------------------------------------------------------- */

START_TEST(test_absent_and_null_optional_keys)
{
	struct batch b;
	struct batch_page p;
	struct batch_detail d;
	char *cause = NULL;
	/* only the required keys: counters default to 0 */
	const char *minimal = "{\"id\":\"btcal_x\",\"name\":\"n\",\"agent_id\":\"agent_x\",\"status\":\"failed\","
			      "\"created_at_unix\":10,\"scheduled_time_unix\":11,\"last_updated_at_unix\":12}";
	ck_assert_int_eq(codec_parse_batch(minimal, strlen(minimal), &b, &cause), 0);
	ck_assert_str_eq(b.id, "btcal_x");
	ck_assert_ptr_null(b.timezone);
	ck_assert_int_eq(b.status, BATCH_FAILED);
	ck_assert_int_eq(b.created_at_unix, 10);
	ck_assert_int_eq(b.scheduled_time_unix, 11);
	ck_assert_int_eq(b.last_updated_at_unix, 12);
	ck_assert_int_eq(b.total_calls_dispatched, 0);
	ck_assert_int_eq(b.total_calls_scheduled, 0);
	ck_assert_int_eq(b.total_calls_finished, 0);
	ck_assert_int_eq(b.retry_count, 0);
	batch_clear(&b);

	/* every nullable key null, and every optional key absent in turn */
	static const char *const nullable[] = { "phone_number_id", "phone_provider", "whatsapp_params",
						"branch_id",       "environment",    "timezone",
						"target_concurrency_limit", "branch_name" };
	static const char *const optional[] = { "phone_number_id", "phone_provider", "whatsapp_params", "branch_id",
						"environment", "timezone", "total_calls_dispatched",
						"total_calls_scheduled", "total_calls_finished", "retry_count",
						"telephony_call_config", "target_concurrency_limit", "agent_name",
						"branch_name" };
	for (size_t i = 0; i < ARRAY_SIZE(nullable); i++) {
		char *s = edit_body(ex_submit_response, NULL, 0, nullable[i], "null");
		assert_accepted(P_BATCH, s);
		free(s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(optional); i++) {
		char *s = edit_body(ex_submit_response, NULL, 0, optional[i], NULL);
		ck_assert_int_eq(codec_parse_batch(s, strlen(s), &b, &cause), 0);
		ck_assert_int_eq(b.total_calls_scheduled, strcmp(optional[i], "total_calls_scheduled") ? 2 : 0);
		batch_clear(&b);
		free(s);
	}
	/* non-nullable counters: absent is 0, but null is not the JSON the
	 * document describes */
	char *s = edit_body(ex_submit_response, NULL, 0, "retry_count", "null");
	assert_refused(P_BATCH, s, "retry_count: expected an integer");
	free(s);
	s = edit_body(ex_submit_response, NULL, 0, "telephony_call_config", "null");
	assert_refused(P_BATCH, s, "telephony_call_config: expected an object");
	free(s);

	/* page: next_doc and has_more absent or null */
	const char *bare = "{\"batch_calls\":[]}";
	ck_assert_int_eq(codec_parse_page(bare, strlen(bare), &p, &cause), 0);
	ck_assert_ptr_null(p.next_doc);
	ck_assert(!p.has_more);
	batch_page_clear(&p);
	const char *nulls = "{\"batch_calls\":[],\"next_doc\":null,\"has_more\":null}";
	ck_assert_int_eq(codec_parse_page(nulls, strlen(nulls), &p, &cause), 0);
	ck_assert_ptr_null(p.next_doc);
	ck_assert(!p.has_more);
	batch_page_clear(&p);

	/* recipient: nullable keys absent, and null */
	const char *rc = "{\"id\":\"b\",\"name\":\"n\",\"agent_id\":\"a\",\"status\":\"completed\","
			 "\"created_at_unix\":1,\"scheduled_time_unix\":1,\"last_updated_at_unix\":1,"
			 "\"recipients\":[{\"id\":\"r1\",\"status\":\"failed\",\"created_at_unix\":1,"
			 "\"updated_at_unix\":2},{\"id\":\"r2\",\"status\":\"voicemail\",\"created_at_unix\":1,"
			 "\"updated_at_unix\":2,\"phone_number\":null,\"whatsapp_user_id\":\"4915\","
			 "\"conversation_id\":null,\"conversation_initiation_client_data\":null}]}";
	ck_assert_int_eq(codec_parse_detail(rc, strlen(rc), &d, &cause), 0);
	ck_assert_uint_eq(d.n_rcpts, 2);
	ck_assert_ptr_null(d.rcpts[0].phone_number);
	ck_assert_ptr_null(d.rcpts[0].conversation_id);
	ck_assert_int_eq(d.rcpts[0].status, BATCH_RCPT_FAILED);
	ck_assert_str_eq(d.rcpts[1].whatsapp_user_id, "4915");
	ck_assert_int_eq(d.rcpts[1].status, BATCH_RCPT_VOICEMAIL);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_FAILED], 1);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_VOICEMAIL], 1);
	batch_detail_clear(&d);
	ck_assert_ptr_null(cause);
}
END_TEST

START_TEST(test_unknown_keys_and_enum_values)
{
	struct batch b;
	struct batch_detail d;
	struct batch_page p;
	char *cause = NULL;

	char *s = edit_body(ex_submit_response, NULL, 0, "status", "\"paused\"");
	char *s2 = edit_body(s, NULL, 0, "some_future_key", "{\"nested\":[1,2,{\"x\":null}]}");
	char *s3 = edit_body(s2, NULL, 0, "phone_provider", "\"carrier_pigeon\"");
	ck_assert_int_eq(codec_parse_batch(s3, strlen(s3), &b, &cause), 0);
	ck_assert_int_eq(b.status, BATCH_UNKNOWN);
	ck_assert_int_eq(b.total_calls_scheduled, 2);
	batch_clear(&b);
	free(s);
	free(s2);
	free(s3);

	s = edit_body(ex_detail, "recipients", 1, "status", "\"ringing\"");
	s2 = edit_body(s, "recipients", 0, "answering_machine", "true");
	s3 = edit_body(s2, NULL, 0, "unknown_top", "42");
	ck_assert_int_eq(codec_parse_detail(s3, strlen(s3), &d, &cause), 0);
	ck_assert_int_eq(d.rcpts[1].status, BATCH_RCPT_UNKNOWN);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_UNKNOWN], 1);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_COMPLETED], 1);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_IN_PROGRESS], 0);
	batch_detail_clear(&d);
	free(s);
	free(s2);
	free(s3);

	s = edit_body(ex_list_page, "batch_calls", 0, "status", "\"archived\"");
	s2 = edit_body(s, NULL, 0, "total", "2");
	ck_assert_int_eq(codec_parse_page(s2, strlen(s2), &p, &cause), 0);
	ck_assert_int_eq(p.batches[0].status, BATCH_UNKNOWN);
	ck_assert_int_eq(p.batches[1].status, BATCH_COMPLETED);
	batch_page_clear(&p);
	free(s);
	free(s2);
	ck_assert_ptr_null(cause);
}
END_TEST

/* --- strictness -------------------------------------------------------- */

static const char *const batch_required[] = { "id", "name", "agent_id", "status", "created_at_unix",
					      "scheduled_time_unix", "last_updated_at_unix" };
static const char *const rcpt_required[] = { "id", "status", "created_at_unix", "updated_at_unix" };

START_TEST(test_every_required_key_missing)
{
	char want[128];

	for (size_t i = 0; i < ARRAY_SIZE(batch_required); i++) {
		const char *k = batch_required[i];
		char *s = edit_body(ex_submit_response, NULL, 0, k, NULL);
		snprintf(want, sizeof(want), "%s: missing", k);
		assert_refused(P_BATCH, s, want);
		free(s);

		s = edit_body(ex_detail, NULL, 0, k, NULL);
		assert_refused(P_DETAIL, s, want);
		free(s);

		s = edit_body(ex_list_page, "batch_calls", 1, k, NULL);
		snprintf(want, sizeof(want), "batch_calls[1].%s: missing", k);
		assert_refused(P_PAGE, s, want);
		free(s);

		/* and null is no better */
		s = edit_body(ex_submit_response, NULL, 0, k, "null");
		assert_refused(P_BATCH, s, NULL);
		free(s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(rcpt_required); i++) {
		char *s = edit_body(ex_detail, "recipients", 1, rcpt_required[i], NULL);
		snprintf(want, sizeof(want), "recipients[1].%s: missing", rcpt_required[i]);
		assert_refused(P_DETAIL, s, want);
		free(s);
	}
	char *s = edit_body(ex_detail, NULL, 0, "recipients", NULL);
	assert_refused(P_DETAIL, s, "recipients: missing");
	free(s);
	s = edit_body(ex_list_page, NULL, 0, "batch_calls", NULL);
	assert_refused(P_PAGE, s, "batch_calls: missing");
	free(s);
}
END_TEST

START_TEST(test_wrong_types)
{
	static const struct {
		const char *key, *raw, *want;
	} cases[] = {
		{ "id", "5", "id: expected a string" },
		{ "id", "\"\"", "id: empty string" },
		{ "name", "[\"x\"]", "name: expected a string" },
		{ "agent_id", "{}", "agent_id: expected a string" },
		{ "status", "1", "status: expected a string" },
		{ "status", "null", "status: expected a string" },
		/* the SDK refuses a string for a number; so do we */
		{ "created_at_unix", "\"1792400000\"", "created_at_unix: expected an integer" },
		{ "created_at_unix", "1792400000.0", "created_at_unix: expected an integer" },
		{ "scheduled_time_unix", "true", "scheduled_time_unix: expected an integer" },
		{ "last_updated_at_unix", "null", "last_updated_at_unix: expected an integer" },
		{ "total_calls_dispatched", "\"2\"", "total_calls_dispatched: expected an integer" },
		{ "total_calls_scheduled", "2.5", "total_calls_scheduled: expected an integer" },
		{ "total_calls_finished", "false", "total_calls_finished: expected an integer" },
		{ "retry_count", "[]", "retry_count: expected an integer" },
		{ "phone_number_id", "7", "phone_number_id: expected a string" },
		{ "phone_provider", "{}", "phone_provider: expected a string" },
		{ "whatsapp_params", "\"x\"", "whatsapp_params: expected an object" },
		{ "timezone", "0", "timezone: expected a string" },
		{ "telephony_call_config", "45", "telephony_call_config: expected an object" },
		{ "target_concurrency_limit", "\"5\"", "target_concurrency_limit: expected an integer" },
		{ "agent_name", "null", "agent_name: expected a string" },
		{ "branch_name", "1", "branch_name: expected a string" },
		{ "name", "\"a\\u0000b\"", "name: string contains a NUL character" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = edit_body(ex_submit_response, NULL, 0, cases[i].key, cases[i].raw);
		assert_refused(P_BATCH, s, cases[i].want);
		free(s);
	}

	/* the path names the element: the brief's own example */
	char *s = xasprintf("{\"batch_calls\":[%s,%s,%s,%s]}", ex_submit_response, ex_submit_response,
			    ex_cancel_response, ex_retry_response);
	assert_accepted(P_PAGE, s);
	char *s2 = edit_body(s, "batch_calls", 3, "status", "7");
	assert_refused(P_PAGE, s2, "batch_calls[3].status: expected a string");
	free(s2);
	s2 = edit_body(s, "batch_calls", 2, "created_at_unix", "\"1\"");
	assert_refused(P_PAGE, s2, "batch_calls[2].created_at_unix: expected an integer");
	free(s2);
	free(s);

	assert_refused(P_PAGE, "{\"batch_calls\":{}}", "batch_calls: expected an array");
	assert_refused(P_PAGE, "{\"batch_calls\":null}", "batch_calls: expected an array");
	assert_refused(P_PAGE, "{\"batch_calls\":[1]}", "batch_calls[0]: expected an object");
	assert_refused(P_PAGE, "{\"batch_calls\":[null]}", "batch_calls[0]: expected an object");
	assert_refused(P_PAGE, "{\"batch_calls\":[],\"has_more\":\"yes\"}", "has_more: expected a boolean");
	assert_refused(P_PAGE, "{\"batch_calls\":[],\"has_more\":1}", "has_more: expected a boolean");
	assert_refused(P_PAGE, "{\"batch_calls\":[],\"next_doc\":5}", "next_doc: expected a string");

	s = edit_body(ex_detail, NULL, 0, "recipients", "{}");
	assert_refused(P_DETAIL, s, "recipients: expected an array");
	free(s);
	s = edit_body(ex_detail, NULL, 0, "recipients", "[\"x\"]");
	assert_refused(P_DETAIL, s, "recipients[0]: expected an object");
	free(s);
	s = edit_body(ex_detail, "recipients", 0, "status", "3");
	assert_refused(P_DETAIL, s, "recipients[0].status: expected a string");
	free(s);
	s = edit_body(ex_detail, "recipients", 1, "updated_at_unix", "\"1792483260\"");
	assert_refused(P_DETAIL, s, "recipients[1].updated_at_unix: expected an integer");
	free(s);
	s = edit_body(ex_detail, "recipients", 1, "conversation_id", "42");
	assert_refused(P_DETAIL, s, "recipients[1].conversation_id: expected a string");
	free(s);
	s = edit_body(ex_detail, "recipients", 0, "phone_number", "14155550101");
	assert_refused(P_DETAIL, s, "recipients[0].phone_number: expected a string");
	free(s);
	s = edit_body(ex_detail, "recipients", 0, "conversation_initiation_client_data", "[]");
	assert_refused(P_DETAIL, s, "recipients[0].conversation_initiation_client_data: expected an object");
	free(s);
}
END_TEST

/* What json-c alone would let through, even in strict mode. */
START_TEST(test_strict_json_grammar)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "{'batch_calls':[]}", "not valid JSON: quoted key expected at offset 1" },
		{ "{\"batch_calls\":[],\"x\":NaN}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\"x\":Infinity}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\"x\":-Infinity}", "not valid JSON: digit expected at offset 23" },
		{ "{\"batch_calls\":[],\"x\":\"a\tb\"}", "not valid JSON: control character in string at offset 24" },
		{ "{\"batch_calls\":[],\"x\":1.}", "not valid JSON: digit expected at offset 24" },
		{ "{\"batch_calls\":[],\"x\":00}", "not valid JSON: ',' or '}' expected at offset 23" },
		{ "{\"batch_calls\":[],\"x\":-01}", "not valid JSON: ',' or '}' expected at offset 24" },
		{ "{\"batch_calls\":[],\"x\":\"\\x41\"}", "not valid JSON: invalid escape in string at offset 25" },
		{ "{\"batch_calls\":[],\"x\":\"\\u12g4\"}", "not valid JSON: invalid \\u escape at offset 27" },
		/* not UTF-8 outside a string (inside one it reads as U+FFFD) */
		{ "{\"batch_calls\":[],\"x\":\xc0\xaf}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\xe2\x82:1}", "not valid JSON: quoted key expected at offset 18" },
		{ "{\"batch_calls\":[],\"x\":[1,]}", "not valid JSON: value expected at offset 25" },
		{ "{\"batch_calls\":[],}", "not valid JSON: quoted key expected at offset 18" },
		{ "{\"batch_calls\":[] \"x\":1}", "not valid JSON: ',' or '}' expected at offset 18" },
		{ "{\"batch_calls\" []}", "not valid JSON: ':' expected at offset 15" },
		{ "{\"batch_calls\":[],\"x\":nul}", "not valid JSON: invalid literal at offset 25" },
		{ "{\"batch_calls\":[],\"x\":True}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\"x\":+1}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\"x\":.5}", "not valid JSON: value expected at offset 22" },
		{ "{\"batch_calls\":[],\"x\":1e}", "not valid JSON: digit expected at offset 24" },
		{ "{\"batch_calls\":[]}\x0b", "trailing data after the JSON value at offset 18" },
		/* cut inside a string, an escape, a number, a literal, a UTF-8 character */
		{ "{\"batch_calls\":[],\"x\":\"ab", "truncated JSON (25 bytes)" },
		{ "{\"batch_calls\":[],\"x\":\"\\u00", "truncated JSON (27 bytes)" },
		{ "{\"batch_calls\":[],\"x\":\"\\ud83d\\ude", "truncated JSON (33 bytes)" },
		{ "{\"batch_calls\":[],\"x\":-", "truncated JSON (23 bytes)" },
		{ "{\"batch_calls\":[],\"x\":12.5e+", "truncated JSON (28 bytes)" },
		{ "{\"batch_calls\":[],\"x\":fals", "truncated JSON (26 bytes)" },
		{ "{\"batch_calls\":[],\"x\":\"\xf0\x9f\x98", "truncated JSON (26 bytes)" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_refused(P_PAGE, cases[i].body, cases[i].want);

	/* and what RFC 8259 allows is accepted */
	assert_accepted(P_PAGE, "{\"batch_calls\":[],\"x\":[0,-0,1.5e+10,-2E-3,0.0,true,false,null,{},[],"
				"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xf0\x9f\x98\x80\"]}");
}
END_TEST

/* Every integer the daemon keeps, at each end of its documented range:
 * just inside is read exactly, just outside is refused naming the key. */
struct int_bound {
	const char *key;
	int64_t max;
	size_t field; /* offsetof(struct batch, ...); SIZE_MAX: a recipient's */
};

static const struct int_bound int_bounds[] = {
	{ "created_at_unix", CODEC_TIME_MAX, offsetof(struct batch, created_at_unix) },
	{ "scheduled_time_unix", CODEC_TIME_MAX, offsetof(struct batch, scheduled_time_unix) },
	{ "last_updated_at_unix", CODEC_TIME_MAX, offsetof(struct batch, last_updated_at_unix) },
	{ "total_calls_dispatched", CODEC_COUNT_MAX, offsetof(struct batch, total_calls_dispatched) },
	{ "total_calls_scheduled", CODEC_COUNT_MAX, offsetof(struct batch, total_calls_scheduled) },
	{ "total_calls_finished", CODEC_COUNT_MAX, offsetof(struct batch, total_calls_finished) },
	{ "retry_count", CODEC_RETRY_COUNT_MAX, offsetof(struct batch, retry_count) },
};

static int64_t batch_field(const struct batch *b, size_t off)
{
	int64_t v;
	memcpy(&v, (const char *)b + off, sizeof(v));
	return v;
}

START_TEST(test_integer_bounds)
{
	/* the documented values: year 9999 and the API's limits */
	ck_assert_int_eq(CODEC_TIME_MAX, 253402300799);
	ck_assert_int_eq(CODEC_COUNT_MAX, 10000000);
	ck_assert_int_eq(CODEC_RETRY_COUNT_MAX, 1000000);

	for (size_t i = 0; i < ARRAY_SIZE(int_bounds); i++) {
		const struct int_bound *ib = &int_bounds[i];
		const int64_t inside[] = { 0, ib->max };
		const int64_t outside[] = { -1, ib->max + 1, INT64_MIN + 1, INT64_MAX };
		char raw[32], want[160];

		for (size_t k = 0; k < ARRAY_SIZE(inside); k++) {
			struct batch b;
			struct batch_page p;
			struct batch_detail d;
			char *cause = NULL;
			snprintf(raw, sizeof(raw), "%" PRId64, inside[k]);

			char *s = edit_body(ex_submit_response, NULL, 0, ib->key, raw);
			ck_assert_int_eq(codec_parse_batch(s, strlen(s), &b, &cause), 0);
			ck_assert_int_eq(batch_field(&b, ib->field), inside[k]);
			batch_clear(&b);
			free(s);

			s = edit_body(ex_list_page, "batch_calls", 1, ib->key, raw);
			ck_assert_int_eq(codec_parse_page(s, strlen(s), &p, &cause), 0);
			ck_assert_int_eq(batch_field(&p.batches[1], ib->field), inside[k]);
			batch_page_clear(&p);
			free(s);

			s = edit_body(ex_detail, NULL, 0, ib->key, raw);
			ck_assert_int_eq(codec_parse_detail(s, strlen(s), &d, &cause), 0);
			ck_assert_int_eq(batch_field(&d.batch, ib->field), inside[k]);
			batch_detail_clear(&d);
			free(s);
			ck_assert_ptr_null(cause);
		}
		for (size_t k = 0; k < ARRAY_SIZE(outside); k++) {
			snprintf(raw, sizeof(raw), "%" PRId64, outside[k]);
			snprintf(want, sizeof(want), "%s: %s is outside 0..%" PRId64, ib->key, raw, ib->max);

			char *s = edit_body(ex_submit_response, NULL, 0, ib->key, raw);
			assert_refused(P_BATCH, s, want);
			free(s);

			s = edit_body(ex_list_page, "batch_calls", 1, ib->key, raw);
			snprintf(want, sizeof(want), "batch_calls[1].%s: %s is outside 0..%" PRId64, ib->key, raw,
				 ib->max);
			assert_refused(P_PAGE, s, want);
			free(s);

			s = edit_body(ex_detail, NULL, 0, ib->key, raw);
			snprintf(want, sizeof(want), "%s: %s is outside 0..%" PRId64, ib->key, raw, ib->max);
			assert_refused(P_DETAIL, s, want);
			free(s);
		}
	}

	/* a recipient's timestamps (read for their shape, not kept) */
	static const char *const rkeys[] = { "created_at_unix", "updated_at_unix" };
	for (size_t i = 0; i < ARRAY_SIZE(rkeys); i++) {
		char want[160];
		char *s = edit_body(ex_detail, "recipients", 1, rkeys[i], "0");
		assert_accepted(P_DETAIL, s);
		free(s);
		s = edit_body(ex_detail, "recipients", 1, rkeys[i], "253402300799");
		assert_accepted(P_DETAIL, s);
		free(s);
		s = edit_body(ex_detail, "recipients", 1, rkeys[i], "253402300800");
		snprintf(want, sizeof(want), "recipients[1].%s: 253402300800 is outside 0..253402300799", rkeys[i]);
		assert_refused(P_DETAIL, s, want);
		free(s);
		s = edit_body(ex_detail, "recipients", 1, rkeys[i], "-1");
		snprintf(want, sizeof(want), "recipients[1].%s: -1 is outside 0..253402300799", rkeys[i]);
		assert_refused(P_DETAIL, s, want);
		free(s);
	}
}
END_TEST

START_TEST(test_integer_range)
{
	char *cause = NULL;
	char *s;

	/* json-c saturates: these would otherwise read as INT64_MAX/MIN */
	static const char *const huge[] = { "9223372036854775808", "18446744073709551615",
					    "18446744073709551616", "-9223372036854775809",
					    "-9223372036854775808",
					    "123456789012345678901234567890123456789012345678901234567890" };
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		char *body = xasprintf("{\"id\":\"b\",\"name\":\"n\",\"agent_id\":\"a\",\"status\":\"pending\","
				       "\"created_at_unix\":1,\"scheduled_time_unix\":%s,"
				       "\"last_updated_at_unix\":1}",
				       huge[i]);
		assert_refused(P_BATCH, body, "scheduled_time_unix: integer out of range");
		free(body);
	}
	s = edit_body(ex_submit_response, NULL, 0, "created_at_unix", "1e400");
	assert_refused(P_BATCH, s, "created_at_unix: expected an integer");
	free(s);
	ck_assert_ptr_null(cause);
}
END_TEST

/* "{"key":[item,item,...]}" of about n bytes, inside a document's body
 * (before its last '}') when into is given. */
static char *repeat_body(const char *into, const char *key, const char *item, size_t n)
{
	size_t k = strlen(item), count = n / (k + 1) + 1, len = 0;
	char *items = xmalloc(count * (k + 1) + 1), *out;

	for (size_t i = 0; i < count; i++) {
		memcpy(items + len, item, k);
		len += k;
		items[len++] = ',';
	}
	items[len - 1] = '\0';
	if (into) {
		size_t end = strrchr(into, '}') - into;
		out = xasprintf("%.*s,\"%s\":[%s]}", (int)end, into, key, items);
	} else {
		out = xasprintf("{\"%s\":[%s]}", key, items);
	}
	free(items);
	return out;
}

/* A small body of small containers would cost json-c hundreds of times its
 * size (16 MiB of "{}," took 4.3 GB): refused before json-c sees it. */
START_TEST(test_structure_budget)
{
	static const char *const items[] = { "{}", "[]", "1", "\"\"", "{\"a\":1}", "true" };
	const char *want = "more JSON structure than a documented answer has";

	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		/* 8 MiB of it: far over the budget, whatever the item */
		char *body = repeat_body(NULL, "x", items[i], 8 << 20);
		for (int w = P_BATCH; w <= P_PAGE; w++) {
			char *cause = NULL;
			ck_assert_int_eq(parse_any((enum which)w, body, strlen(body), &cause), -EBADMSG);
			ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "%s: %s", items[i], cause);
			free(cause);
		}
		/* an error body like it: the snippet, not a parse */
		char *m = codec_error_message(503, body, strlen(body));
		ck_assert_msg(strncmp(m, "HTTP 503: {\"x\":[", strlen("HTTP 503: {\"x\":[")) == 0, "%s", m);
		assert_clean_line(m);
		free(m);
		free(body);
	}
	/* under the budget, unknown keys of any shape are still tolerated:
	 * 50,000 empty objects cost about 39 MiB */
	char *body = repeat_body(ex_submit_response, "future_key", "{}", 150000);
	assert_accepted(P_BATCH, body);
	free(body);
	/* and 100,000 cost 77 MiB: too much for an answer of 300 KiB */
	body = repeat_body(ex_submit_response, "future_key", "{}", 300000);
	char *cause = NULL;
	ck_assert_int_eq(parse_any(P_BATCH, body, strlen(body), &cause), -EBADMSG);
	ck_assert_str_eq(cause, "more JSON structure than a documented answer has (about 77 MiB to parse, "
				"more than 64 MiB)");
	free(cause);
	free(body);
	/* bytes that are not UTF-8 are read as U+FFFD, which grows them: 5 MiB
	 * of them in a string cost 35 MiB, 10 MiB cost 70 MiB */
	for (size_t mib = 5; mib <= 10; mib += 5) {
		size_t n = mib << 20, end = strrchr(ex_submit_response, '}') - ex_submit_response;
		char *junk = xmalloc(n + 1);
		memset(junk, 0xff, n);
		junk[n] = '\0';
		body = xasprintf("%.*s,\"future_key\":\"%s\"}", (int)end, ex_submit_response, junk);
		free(junk);
		cause = NULL;
		if (mib == 5) {
			assert_accepted(P_BATCH, body);
		} else {
			ck_assert_int_eq(parse_any(P_BATCH, body, strlen(body), &cause), -EBADMSG);
			ck_assert_str_eq(cause, "more JSON structure than a documented answer has (about 70 MiB to "
						"parse, more than 64 MiB)");
			free(cause);
		}
		free(body);
	}
}
END_TEST

/* The recipients' client data echoes what the submit sent; a detail is
 * parsed with it set aside, so its size and shape cost no json-c memory,
 * while its type is still checked. */
START_TEST(test_detail_client_data_set_aside)
{
	struct batch_detail d;
	char *cause = NULL;
	char *junk = repeat_body(NULL, "nested", "{\"a\":[{}]}", 4 << 20); /* far over the budget alone */
	char *s = edit_body(ex_detail, "recipients", 0, "conversation_initiation_client_data", junk);

	ck_assert_int_eq(codec_parse_detail(s, strlen(s), &d, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(d.n_rcpts, 2);
	ck_assert_str_eq(d.rcpts[0].id, "crm-000123");
	ck_assert_int_eq(d.rcpts[0].status, BATCH_RCPT_COMPLETED);
	ck_assert_str_eq(d.rcpts[0].conversation_id, "conv_6101k7v9x2bq4m8et3n5dfh7s1wa");
	ck_assert_str_eq(d.rcpts[1].id, "btcrcp_6101k7v3m9a0b1c2d3e4f5g6h7j8");
	ck_assert_int_eq(d.rcpts[1].status, BATCH_RCPT_IN_PROGRESS);
	batch_detail_clear(&d);
	free(s);

	/* only there: the same under another key of a recipient, or as the
	 * client data of a batch, counts (and is too much) */
	s = edit_body(ex_detail, "recipients", 0, "call_analysis", junk);
	assert_refused(P_DETAIL, s, NULL);
	free(s);
	s = edit_body(ex_detail, NULL, 0, "conversation_initiation_client_data", junk);
	assert_refused(P_DETAIL, s, NULL);
	free(s);
	free(junk);

	/* set aside, it is still JSON and still an object (or null) */
	s = edit_body(ex_detail, "recipients", 1, "conversation_initiation_client_data", "null");
	assert_accepted(P_DETAIL, s);
	free(s);
	s = edit_body(ex_detail, "recipients", 1, "conversation_initiation_client_data", "{}");
	assert_accepted(P_DETAIL, s);
	free(s);
	s = edit_body(ex_detail, "recipients", 1, "conversation_initiation_client_data", "[{\"a\":1}]");
	assert_refused(P_DETAIL, s, "recipients[1].conversation_initiation_client_data: expected an object");
	free(s);
	s = edit_body(ex_detail, "recipients", 1, "conversation_initiation_client_data", "5");
	assert_refused(P_DETAIL, s, "recipients[1].conversation_initiation_client_data: expected an object");
	free(s);
	static const char bad[] = "{\"id\":\"b\",\"name\":\"n\",\"agent_id\":\"a\",\"status\":\"completed\","
				  "\"created_at_unix\":1,\"scheduled_time_unix\":1,\"last_updated_at_unix\":1,"
				  "\"recipients\":[{\"id\":\"r\",\"status\":\"failed\",\"created_at_unix\":1,"
				  "\"updated_at_unix\":1,\"conversation_initiation_client_data\":{\"a\":[1,}}]}";
	cause = NULL;
	ck_assert_int_eq(parse_any(P_DETAIL, bad, strlen(bad), &cause), -EBADMSG);
	ck_assert_msg(strncmp(cause, "not valid JSON: ", 16) == 0, "%s", cause);
	free(cause);
	/* a second key of the same name: json-c keeps the last, and so do we */
	static const char twice[] = "{\"id\":\"b\",\"name\":\"n\",\"agent_id\":\"a\",\"status\":\"completed\","
				    "\"created_at_unix\":1,\"scheduled_time_unix\":1,\"last_updated_at_unix\":1,"
				    "\"recipients\":[{\"id\":\"r\",\"status\":\"failed\",\"created_at_unix\":1,"
				    "\"updated_at_unix\":1,\"conversation_initiation_client_data\":{\"a\":1},"
				    "\"conversation_initiation_client_data\":7}]}";
	assert_refused(P_DETAIL, twice, "recipients[0].conversation_initiation_client_data: expected an object");
}
END_TEST

START_TEST(test_not_json)
{
	static const char *const junk[] = {
		"",
		" ",
		"not json",
		"<html><body>502 Bad Gateway</body></html>",
		"[]",
		"null",
		"42",
		"\"a string\"",
		"true",
		"{}{}",
		"{} x",
		"{\"id\":1,}",
		"{'id':'x'}",
		"{\"id\":\"x\"",
		"{\"id\":\"\xff\xfe\"}",
		"{\"id\":tru}",
		"{\"id\":01}",
		"\xef\xbb\xbf{}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		for (int w = P_BATCH; w <= P_PAGE; w++)
			assert_refused((enum which)w, junk[i], NULL);
		char *m = codec_error_message(500, junk[i], strlen(junk[i]));
		assert_clean_line(m);
		free(m);
	}
	assert_refused(P_BATCH, "", "empty body");
	assert_refused(P_BATCH, "[]", "expected a JSON object at the top level");
	assert_refused(P_BATCH, "null", "expected a JSON object at the top level");
	assert_refused(P_BATCH, "{}{}", "trailing data after the JSON value at offset 2");
	assert_refused(P_BATCH, "{\"id\":\"x\"", "truncated JSON (9 bytes)");
	/* whitespace around the object is fine (bodies often end in \n) */
	assert_refused(P_PAGE, " \r\n{\"batch_calls\":[]}\n x", NULL);
	assert_accepted(P_PAGE, " \r\n{\"batch_calls\":[]}\n\t ");

	/* an embedded NUL byte, and a NULL body */
	char *cause;
	static const char nul[] = "{\"batch_calls\":[]}\0{}";
	ck_assert_int_eq(parse_any(P_PAGE, nul, sizeof(nul) - 1, &cause), -EBADMSG);
	ck_assert_str_eq(cause, "NUL byte at offset 18");
	free(cause);
	ck_assert_int_eq(parse_any(P_BATCH, NULL, 0, &cause), -EBADMSG);
	free(cause);
	/* a NULL cause pointer is allowed */
	struct batch b;
	ck_assert_int_eq(codec_parse_batch("[", 1, &b, NULL), -EBADMSG);

	/* deeply nested junk, as a value of an ignored key and at the top */
	size_t depth = 100000;
	char *deep = xmalloc(depth * 2 + 64);
	size_t n = (size_t)sprintf(deep, "{\"batch_calls\":[],\"x\":");
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	strcpy(deep + n + 2 * depth, "}");
	for (int w = P_BATCH; w <= P_PAGE; w++)
		assert_refused((enum which)w, deep, NULL);
	char *m = codec_error_message(500, deep, strlen(deep));
	assert_clean_line(m);
	ck_assert_int_eq(strncmp(m, "HTTP 500: {\"batch_calls\":[],\"x\":[[[", 35), 0);
	free(m);
	free(deep);
	/* nesting up to 64 levels (the top-level object included) is fine
	 * in an ignored key; one more is junk */
	for (int levels = 63; levels <= 64; levels++) {
		char *nest = xmalloc(200);
		n = (size_t)sprintf(nest, "{\"batch_calls\":[],\"x\":");
		memset(nest + n, '[', (size_t)levels);
		memset(nest + n + (size_t)levels, ']', (size_t)levels);
		strcpy(nest + n + 2 * (size_t)levels, "}");
		if (levels == 63)
			assert_accepted(P_PAGE, nest);
		else
			assert_refused(P_PAGE, nest, "not valid JSON: nested deeper than 64 at offset 85");
		free(nest);
	}
	/* nesting within the limit is fine in an ignored key */
	assert_accepted(P_PAGE, "{\"batch_calls\":[],\"x\":[[[[[[[[[[{\"a\":[[[[[]]]]]}]]]]]]]]]]}");
}
END_TEST

/* Every proper prefix of a valid body must be refused, cleanly. */
static void truncate_everywhere(enum which w, const char *full)
{
	size_t n = strlen(full);
	char *cause;

	while (n > 0 && strchr(" \t\r\n", full[n - 1]))
		n--;
	ck_assert_int_eq(parse_any(w, full, n, &cause), 0);
	for (size_t len = 0; len < n; len++) {
		/* a copy of exactly len bytes, so ASan sees any over-read */
		char *buf = xmalloc(len ? len : 1);
		memcpy(buf, full, len);
		ck_assert_msg(parse_any(w, buf, len, &cause) == -EBADMSG, "prefix of %zu bytes accepted", len);
		free(cause);
		char *m = codec_error_message(502, buf, len);
		assert_clean_line(m);
		free(m);
		free(buf);
	}
}

START_TEST(test_truncated_at_every_offset)
{
	truncate_everywhere(P_BATCH, ex_submit_response);
	truncate_everywhere(P_BATCH, ex_cancel_response);
	truncate_everywhere(P_BATCH, ex_retry_response);
	truncate_everywhere(P_PAGE, ex_list_page);
	truncate_everywhere(P_DETAIL, ex_detail);
}
END_TEST

/* --- error messages ---------------------------------------------------- */

static void assert_error_message(long status, const char *body, const char *want)
{
	char *m = codec_error_message(status, body, body ? strlen(body) : 0);
	ck_assert_str_eq(m, want);
	assert_clean_line(m);
	free(m);
}

START_TEST(test_error_messages)
{
	/* §7.1 verbatim, and the brief's two-item example */
	assert_error_message(422, ex_error_422, "agent_id: Field required");
	assert_error_message(
		422,
		"{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"recipients\",0,\"phone_number\"],"
		"\"msg\":\"Field required\",\"input\":{}},{\"type\":\"greater_than_equal\",\"loc\":[\"body\","
		"\"target_concurrency_limit\"],\"msg\":\"Input should be greater than or equal to 1\",\"input\":0,"
		"\"ctx\":{\"ge\":1}}]}",
		"recipients.0.phone_number: Field required; target_concurrency_limit: Input should be greater "
		"than or equal to 1");
	assert_error_message(422,
			     "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",12],\"msg\":\"JSON decode "
			     "error\",\"ctx\":{\"error\":\"Expecting value\"}}]}",
			     "12: JSON decode error");
	/* only a leading "body" is dropped */
	assert_error_message(422,
			     "{\"detail\":[{\"loc\":[\"query\",\"limit\"],\"msg\":\"Input should be a valid "
			     "integer\",\"type\":\"int_parsing\"}]}",
			     "query.limit: Input should be a valid integer");
	assert_error_message(422, "{\"detail\":[{\"loc\":[],\"msg\":\"Bad\"}]}", "Bad");
	assert_error_message(422, "{\"detail\":[{\"msg\":\"No loc\"},{\"loc\":[\"body\",\"x\"]},7]}", "No loc");

	/* §7.2 */
	assert_error_message(401,
			     "{\"detail\":{\"type\":\"authentication_error\",\"code\":\"unauthorized\",\"message\":"
			     "\"Invalid API key\",\"status\":\"invalid_api_key\",\"request_id\":\"abc\"}}",
			     "Invalid API key (invalid_api_key)");
	assert_error_message(401, "{\"detail\":{\"message\":\"Invalid API key\",\"status\":\"invalid_api_key\"}}",
			     "Invalid API key (invalid_api_key)");
	assert_error_message(404, ex_error_detail_object, "\xe2\x80\xa6 (\xe2\x80\xa6)");
	assert_error_message(409, "{\"detail\":{\"message\":\"Conflict\",\"code\":\"conflict\"}}",
			     "Conflict (conflict)");
	assert_error_message(400, "{\"detail\":{\"message\":\"cannot be cancelled in current state\"}}",
			     "cannot be cancelled in current state");
	assert_error_message(404, "{\"detail\":\"Not Found\"}", "Not Found");

	/* anything else */
	assert_error_message(502,
			     "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
			     "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
			     "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> "
			     "<center><h1>502 Bad Gateway</h1></center> </body> </html>");
	assert_error_message(503, "", "HTTP 503");
	assert_error_message(500, NULL, "HTTP 500");
	assert_error_message(500, " \r\n\t ", "HTTP 500");
	assert_error_message(400, "{\"error\":\"x\"}", "HTTP 400: {\"error\":\"x\"}");
	assert_error_message(400, "{\"detail\":null}", "HTTP 400: {\"detail\":null}");
	assert_error_message(400, "{\"detail\":5}", "HTTP 400: {\"detail\":5}");
	assert_error_message(400, "{\"detail\":\"\"}", "HTTP 400: {\"detail\":\"\"}");
	assert_error_message(400, "{\"detail\":[]}", "HTTP 400: {\"detail\":[]}");
	assert_error_message(400, "{\"detail\":{\"status\":\"x\"}}", "HTTP 400: {\"detail\":{\"status\":\"x\"}}");
	assert_error_message(0, "junk", "HTTP 0: junk");
}
END_TEST

START_TEST(test_error_message_sanitised)
{
	/* control characters from the API never reach a log line */
	assert_error_message(400, "{\"detail\":\"bad\\u001b[31m\\r\\nthing\\u0007\"}", "bad [31m thing");
	assert_error_message(400, "{\"detail\":\"a\\u2028b\\u202ec\\u0085d\"}", "a b c d");
	assert_error_message(400, "{\"detail\":\"\\t  spaced   out \\n\"}", "spaced out");
	assert_error_message(400, "{\"detail\":\"Ung\xc3\xbcltig\"}", "Ung\xc3\xbcltig");
	assert_error_message(500, "a\x01\x02\x7f" "b\xff\xfe" "c\xc0\xafz", "HTTP 500: a b??c??z");
	assert_error_message(500, "line1\nline2\r\nline3", "HTTP 500: line1 line2 line3");

	/* at most 200 characters of an unknown body */
	char big[1000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *m = codec_error_message(500, big, strlen(big));
	ck_assert_uint_eq(strlen(m), strlen("HTTP 500: ") + 200);
	ck_assert_int_eq(strncmp(m, "HTTP 500: aaaa", 14), 0);
	free(m);
	/* characters, not bytes: 300 two-byte characters give 200 of them */
	char wide[601];
	for (int i = 0; i < 300; i++)
		memcpy(wide + 2 * i, "\xc3\xa9", 2);
	wide[600] = '\0';
	m = codec_error_message(500, wide, 600);
	ck_assert_uint_eq(strlen(m), strlen("HTTP 500: ") + 400);
	free(m);
	/* a NUL inside the body is just another control character */
	m = codec_error_message(500, "ab\0cd", 5);
	ck_assert_str_eq(m, "HTTP 500: ab cd");
	free(m);

	/* a 10,001-item 422 is still one short line */
	size_t cap = 64 + 10001 * 80, len = 0;
	char *body = xmalloc(cap);
	len += (size_t)sprintf(body + len, "{\"detail\":[");
	for (int i = 0; i < 10001; i++)
		len += (size_t)sprintf(body + len, "%s{\"loc\":[\"body\",\"recipients\",%d,\"phone_number\"],"
					     "\"msg\":\"Field required\"}",
				       i ? "," : "", i);
	len += (size_t)sprintf(body + len, "]}");
	m = codec_error_message(422, body, len);
	ck_assert_int_eq(strncmp(m, "recipients.0.phone_number: Field required; recipients.1.phone_number", 68), 0);
	ck_assert_ptr_nonnull(strstr(m, "recipients.9.phone_number: Field required; and 9991 more"));
	ck_assert_uint_lt(strlen(m), 1000);
	free(m);
	free(body);

	/* random bytes: never NULL, never a control character */
	uint64_t x = 88172645463325252u;
	for (int round = 0; round < 2000; round++) {
		char buf[256];
		size_t n = (size_t)(round % 256);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (char)x;
		}
		m = codec_error_message(round, buf, n);
		assert_clean_line(m);
		free(m);
	}
}
END_TEST

/* --- the submit body --------------------------------------------------- */

static struct jobspec phone_job(struct recipient *r, size_t n)
{
	return (struct jobspec){
		.name = "dec-renewals",
		.agent_id = "agent_4701k7s2q9mdx8e5vb3n6tfh0yza",
		.phone_number_id = "phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb",
		.timezone = "America/New_York",
		.recipients = r,
		.n_recipients = n,
		.target_concurrency_limit = 5,
		.ringing_timeout_secs = 45,
		.enabled = true,
	};
}

START_TEST(test_submit_body_document_example)
{
	/* the document's request example, rebuilt from a job: same JSON but
	 * for twilio_call_recording_enabled, which we leave at its default */
	struct var v1[] = {
		{ .name = "user_name", .type = VAR_STRING, .s = "Alice" },
		{ .name = "plan", .type = VAR_STRING, .s = "Pro" },
		{ .name = "days_left", .type = VAR_INT, .i = 7 },
		{ .name = "vip", .type = VAR_BOOL, .b = true },
	};
	struct var v2[] = {
		{ .name = "user_name", .type = VAR_STRING, .s = "Bob" },
		{ .name = "plan", .type = VAR_STRING, .s = "Starter" },
		{ .name = "days_left", .type = VAR_INT, .i = 3 },
		{ .name = "vip", .type = VAR_BOOL, .b = false },
	};
	struct recipient r[] = {
		{ .id = "crm-000123", .phone_number = "+14155550101", .vars = v1, .n_vars = 4 },
		{ .phone_number = "+14155550102", .vars = v2, .n_vars = 4, .language = "es",
		  .first_message = "Hola Bob" },
	};
	struct jobspec j = phone_job(r, 2);
	char *body = codec_submit_body_only(&j, "Renewal reminders 2026-10-20", 1792483200, NULL);

	ck_assert_str_eq(
		body,
		"{\"call_name\":\"Renewal reminders 2026-10-20\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
		"\"agent_phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\",\"scheduled_time_unix\":1792483200,"
		"\"timezone\":\"America/New_York\",\"telephony_call_config\":{\"ringing_timeout_secs\":45},"
		"\"target_concurrency_limit\":5,\"recipients\":[{\"id\":\"crm-000123\",\"phone_number\":"
		"\"+14155550101\",\"conversation_initiation_client_data\":{\"dynamic_variables\":{\"user_name\":"
		"\"Alice\",\"plan\":\"Pro\",\"days_left\":7,\"vip\":true}}},{\"phone_number\":\"+14155550102\","
		"\"conversation_initiation_client_data\":{\"dynamic_variables\":{\"user_name\":\"Bob\",\"plan\":"
		"\"Starter\",\"days_left\":3,\"vip\":false},\"conversation_config_override\":{\"agent\":{"
		"\"language\":\"es\",\"first_message\":\"Hola Bob\"}}}}]}");

	json_object *want = json_tokener_parse(ex_submit_request), *got = json_tokener_parse(body), *tc;
	ck_assert(json_object_object_get_ex(want, "telephony_call_config", &tc));
	json_object_object_del(tc, "twilio_call_recording_enabled");
	ck_assert(json_object_equal(want, got));
	json_object_put(want);
	json_object_put(got);
	free(body);
}
END_TEST

START_TEST(test_submit_body_every_type_and_override)
{
	struct var v[] = {
		{ .name = "first_name", .type = VAR_STRING, .s = "Ada \"the\" <Countess>/\xc3\xa9\n" },
		{ .name = "days_left", .type = VAR_INT, .i = -9007199254740993 },
		{ .name = "max", .type = VAR_INT, .i = INT64_MAX },
		{ .name = "balance", .type = VAR_FLOAT, .f = 12.5 },
		{ .name = "tenth", .type = VAR_FLOAT, .f = 0.1 },
		{ .name = "whole", .type = VAR_FLOAT, .f = 3.0 },
		{ .name = "third", .type = VAR_FLOAT, .f = 1.0 / 3.0 },
		{ .name = "huge", .type = VAR_FLOAT, .f = 1e300 },
		{ .name = "neg_zero", .type = VAR_FLOAT, .f = -0.0 },
		{ .name = "nan", .type = VAR_FLOAT, .f = NAN },
		{ .name = "vip", .type = VAR_BOOL, .b = true },
		{ .name = "churned", .type = VAR_BOOL, .b = false },
	};
	struct var one[] = { { .name = "plan", .type = VAR_STRING, .s = "" } };
	struct recipient r[] = {
		{ .id = "cust-1", .phone_number = "+15550100001", .vars = v, .n_vars = ARRAY_SIZE(v) },
		{ .phone_number = "+15550100002" },
		{ .id = "cust-3", .phone_number = "+15550100003", .language = "de", .first_message = "Hallo",
		  .system_prompt = "Be brief.", .voice_id = "voice_1" },
		{ .phone_number = "+15550100004", .voice_id = "voice_2" },
		{ .phone_number = "+15550100005", .vars = one, .n_vars = 1, .system_prompt = "P" },
	};
	struct jobspec j = phone_job(r, ARRAY_SIZE(r));
	j.branch_id = "br_1";
	j.environment = "staging";
	char *body = codec_submit_body_only(&j, "December renewals 2026-12-01 09:00", 1796133600, NULL);

	ck_assert_str_eq(
		body,
		"{\"call_name\":\"December renewals 2026-12-01 09:00\",\"agent_id\":"
		"\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"agent_phone_number_id\":\"phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb\","
		"\"scheduled_time_unix\":1796133600,\"timezone\":\"America/New_York\",\"branch_id\":\"br_1\","
		"\"environment\":\"staging\",\"telephony_call_config\":{\"ringing_timeout_secs\":45},"
		"\"target_concurrency_limit\":5,\"recipients\":["
		"{\"id\":\"cust-1\",\"phone_number\":\"+15550100001\",\"conversation_initiation_client_data\":{"
		"\"dynamic_variables\":{\"first_name\":\"Ada \\\"the\\\" <Countess>/\xc3\xa9\\n\","
		"\"days_left\":-9007199254740993,\"max\":9223372036854775807,\"balance\":12.5,\"tenth\":0.1,"
		"\"whole\":3.0,\"third\":0.3333333333333333,\"huge\":1e+300,\"neg_zero\":-0.0,\"nan\":null,"
		"\"vip\":true,\"churned\":false}}},"
		"{\"phone_number\":\"+15550100002\"},"
		"{\"id\":\"cust-3\",\"phone_number\":\"+15550100003\",\"conversation_initiation_client_data\":{"
		"\"conversation_config_override\":{\"agent\":{\"language\":\"de\",\"first_message\":\"Hallo\","
		"\"prompt\":{\"prompt\":\"Be brief.\"}},\"tts\":{\"voice_id\":\"voice_1\"}}}},"
		"{\"phone_number\":\"+15550100004\",\"conversation_initiation_client_data\":{"
		"\"conversation_config_override\":{\"tts\":{\"voice_id\":\"voice_2\"}}}},"
		"{\"phone_number\":\"+15550100005\",\"conversation_initiation_client_data\":{"
		"\"dynamic_variables\":{\"plan\":\"\"},\"conversation_config_override\":{\"agent\":{"
		"\"prompt\":{\"prompt\":\"P\"}}}}}]}");
	free(body);
}
END_TEST

START_TEST(test_submit_body_whatsapp)
{
	/* the document's WhatsApp variant, exactly */
	struct recipient r[] = { { .whatsapp_user_id = "14155550101" } };
	struct jobspec j = {
		.name = "wa",
		.agent_id = "agent_4701k7s2q9mdx8e5vb3n6tfh0yza",
		.recipients = r,
		.n_recipients = 1,
		.has_whatsapp = true,
		.whatsapp = { .phone_number_id = "1234567890123",
			      .template_name = "call_permission_request",
			      .template_language_code = "en_US" },
	};
	char *body = codec_submit_body_only(&j, "WA follow-up", 0, NULL);
	ck_assert_str_eq(body, "{\"call_name\":\"WA follow-up\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
			       "\"whatsapp_params\":{\"whatsapp_phone_number_id\":\"1234567890123\","
			       "\"whatsapp_call_permission_request_template_name\":\"call_permission_request\","
			       "\"whatsapp_call_permission_request_template_language_code\":\"en_US\"},"
			       "\"recipients\":[{\"whatsapp_user_id\":\"14155550101\"}]}");
	json_object *want = json_tokener_parse(ex_submit_request_whatsapp), *got = json_tokener_parse(body);
	ck_assert(json_object_equal(want, got));
	json_object_put(want);
	json_object_put(got);
	free(body);

	/* without the optional phone number id, with a time zone */
	j.whatsapp.phone_number_id = NULL;
	j.timezone = "Europe/Berlin";
	body = codec_submit_body_only(&j, "WA follow-up", 0, NULL);
	ck_assert_str_eq(body, "{\"call_name\":\"WA follow-up\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
			       "\"timezone\":\"Europe/Berlin\",\"whatsapp_params\":{"
			       "\"whatsapp_call_permission_request_template_name\":\"call_permission_request\","
			       "\"whatsapp_call_permission_request_template_language_code\":\"en_US\"},"
			       "\"recipients\":[{\"whatsapp_user_id\":\"14155550101\"}]}");
	free(body);
}
END_TEST

START_TEST(test_submit_body_only_some_recipients)
{
	/* a zone group or a follow-up: only the included recipients, in order */
	struct recipient r[] = { { .phone_number = "+15550100001" }, { .phone_number = "+15550100002" },
				 { .phone_number = "+15550100003" } };
	struct jobspec j = phone_job(r, 3);
	const bool include[] = { false, true, true };
	char *body = codec_submit_body_only(&j, "x (resume 1)", 0, include);
	json_object *o = json_tokener_parse(body), *rc;
	ck_assert(json_object_object_get_ex(o, "recipients", &rc));
	ck_assert_int_eq(json_object_array_length(rc), 2);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(rc, 0), "phone_number")),
			 "+15550100002");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(rc, 1), "phone_number")),
			 "+15550100003");
	json_object_put(o);
	free(body);
}
END_TEST

START_TEST(test_submit_body_unset_parts_left_out)
{
	struct recipient r[] = { { .phone_number = "+15550100001" } };
	struct jobspec j = phone_job(r, 1);
	j.call_name = "Job call name";
	j.target_concurrency_limit = 0;
	j.ringing_timeout_secs = 0;
	j.phone_number_id = NULL;
	j.timezone = NULL;

	/* scheduled_time_unix 0 or below: absent, not null */
	for (int64_t t = -1; t <= 0; t++) {
		char *body = codec_submit_body_only(&j, "Run 1", t, NULL);
		ck_assert_str_eq(body, "{\"call_name\":\"Run 1\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
				       "\"recipients\":[{\"phone_number\":\"+15550100001\"}]}");
		free(body);
	}
	/* no call_name argument: the job's call_name, then its name */
	char *body = codec_submit_body_only(&j, NULL, 1, NULL);
	ck_assert_str_eq(body, "{\"call_name\":\"Job call name\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
			       "\"scheduled_time_unix\":1,\"recipients\":[{\"phone_number\":\"+15550100001\"}]}");
	free(body);
	j.call_name = NULL;
	j.n_recipients = 0;
	body = codec_submit_body_only(&j, NULL, 0, NULL);
	ck_assert_str_eq(body, "{\"call_name\":\"dec-renewals\",\"agent_id\":\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\","
			       "\"recipients\":[]}");
	free(body);
}
END_TEST

static const char *obj_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Read the body back with json-c and compare every field with the job. */
static void assert_round_trip(const struct jobspec *j, const char *call_name, int64_t sched, const char *body)
{
	json_object *root = json_tokener_parse(body), *v, *a, *cd, *ov, *agent, *tts, *prompt;
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(obj_str(root, "call_name"), call_name);
	ck_assert_str_eq(obj_str(root, "agent_id"), j->agent_id);
	ck_assert_pstr_eq(obj_str(root, "agent_phone_number_id"), j->phone_number_id);
	ck_assert_pstr_eq(obj_str(root, "timezone"), j->timezone);
	ck_assert_pstr_eq(obj_str(root, "branch_id"), j->branch_id);
	ck_assert_pstr_eq(obj_str(root, "environment"), j->environment);
	ck_assert_int_eq(json_object_object_get_ex(root, "scheduled_time_unix", &v), sched > 0);
	if (sched > 0)
		ck_assert_int_eq(json_object_get_int64(v), sched);
	ck_assert_int_eq(json_object_object_get_ex(root, "target_concurrency_limit", &v),
			 j->target_concurrency_limit != 0);
	if (v)
		ck_assert_int_eq(json_object_get_int(v), j->target_concurrency_limit);
	ck_assert(json_object_object_get_ex(root, "recipients", &a));
	ck_assert_uint_eq(json_object_array_length(a), j->n_recipients);
	for (size_t i = 0; i < j->n_recipients; i++) {
		const struct recipient *r = &j->recipients[i];
		json_object *o = json_object_array_get_idx(a, i);
		ck_assert_pstr_eq(obj_str(o, "id"), r->id);
		ck_assert_pstr_eq(obj_str(o, "phone_number"), r->phone_number);
		ck_assert_pstr_eq(obj_str(o, "whatsapp_user_id"), r->whatsapp_user_id);
		bool has_cd = r->n_vars || r->language || r->first_message || r->system_prompt || r->voice_id;
		ck_assert_int_eq(json_object_object_get_ex(o, "conversation_initiation_client_data", &cd), has_cd);
		if (!has_cd)
			continue;
		ck_assert_int_eq(json_object_object_get_ex(cd, "dynamic_variables", &v), r->n_vars > 0);
		ck_assert_uint_eq(v ? (size_t)json_object_object_length(v) : 0, r->n_vars);
		for (size_t k = 0; k < r->n_vars; k++) {
			const struct var *var = &r->vars[k];
			json_object *x;
			ck_assert(json_object_object_get_ex(v, var->name, &x));
			switch (var->type) {
			case VAR_STRING:
				ck_assert(json_object_is_type(x, json_type_string));
				ck_assert_str_eq(json_object_get_string(x), var->s);
				break;
			case VAR_INT:
				ck_assert(json_object_is_type(x, json_type_int));
				ck_assert_int_eq(json_object_get_int64(x), var->i);
				break;
			case VAR_FLOAT:
				ck_assert(json_object_is_type(x, json_type_double));
				ck_assert(json_object_get_double(x) == var->f);
				break;
			case VAR_BOOL:
				ck_assert(json_object_is_type(x, json_type_boolean));
				ck_assert_int_eq(json_object_get_boolean(x), var->b);
				break;
			}
		}
		bool has_ov = r->language || r->first_message || r->system_prompt || r->voice_id;
		ck_assert_int_eq(json_object_object_get_ex(cd, "conversation_config_override", &ov), has_ov);
		if (!has_ov)
			continue;
		if (json_object_object_get_ex(ov, "agent", &agent)) {
			ck_assert_pstr_eq(obj_str(agent, "language"), r->language);
			ck_assert_pstr_eq(obj_str(agent, "first_message"), r->first_message);
			ck_assert_int_eq(json_object_object_get_ex(agent, "prompt", &prompt), r->system_prompt != NULL);
			if (prompt)
				ck_assert_str_eq(obj_str(prompt, "prompt"), r->system_prompt);
		} else {
			ck_assert(!r->language && !r->first_message && !r->system_prompt);
		}
		ck_assert_int_eq(json_object_object_get_ex(ov, "tts", &tts), r->voice_id != NULL);
		if (tts)
			ck_assert_str_eq(obj_str(tts, "voice_id"), r->voice_id);
	}
	json_object_put(root);
}

START_TEST(test_submit_body_round_trip)
{
	struct var v[] = {
		{ .name = "s", .type = VAR_STRING, .s = "x\\y\"z\t\x01" },
		{ .name = "i", .type = VAR_INT, .i = INT64_MIN },
		{ .name = "f", .type = VAR_FLOAT, .f = 2.220446049250313e-16 },
		{ .name = "g", .type = VAR_FLOAT, .f = -123456.789e-30 },
		{ .name = "b", .type = VAR_BOOL, .b = true },
	};
	struct recipient r[] = {
		{ .id = "1", .phone_number = "+15550100001", .vars = v, .n_vars = ARRAY_SIZE(v), .voice_id = "vv" },
		{ .whatsapp_user_id = "4915", .first_message = "hi" },
		{ .phone_number = "+15550100003", .system_prompt = "sp", .language = "fr" },
	};
	struct jobspec j = phone_job(r, ARRAY_SIZE(r));
	j.branch_id = "b";
	char *body = codec_submit_body_only(&j, "Run \xe2\x80\x94 1", 1796133600, NULL);
	assert_round_trip(&j, "Run \xe2\x80\x94 1", 1796133600, body);
	free(body);
	body = codec_submit_body_only(&j, "Run 2", 0, NULL);
	assert_round_trip(&j, "Run 2", 0, body);
	free(body);
}
END_TEST

START_TEST(test_submit_body_10000_recipients)
{
	enum { N = JOB_MAX_RECIPIENTS };
	struct recipient *r = xcalloc(N, sizeof(*r));
	struct var *v = xcalloc((size_t)N * 4, sizeof(*v));
	char(*phones)[24] = xcalloc(N, sizeof(*phones));
	char(*ids)[24] = xcalloc(N, sizeof(*ids));
	struct timespec t0, t1;

	for (int i = 0; i < N; i++) {
		snprintf(phones[i], sizeof(phones[i]), "+1555%07d", i);
		snprintf(ids[i], sizeof(ids[i]), "cust-%d", i);
		v[4 * i + 0] = (struct var){ .name = "first_name", .type = VAR_STRING, .s = "Ada" };
		v[4 * i + 1] = (struct var){ .name = "days_left", .type = VAR_INT, .i = i };
		v[4 * i + 2] = (struct var){ .name = "balance", .type = VAR_FLOAT, .f = i / 8.0 };
		v[4 * i + 3] = (struct var){ .name = "vip", .type = VAR_BOOL, .b = i % 2 };
		r[i] = (struct recipient){ .id = ids[i], .phone_number = phones[i], .vars = &v[4 * i], .n_vars = 4,
					   .first_message = "Hello" };
	}
	struct jobspec j = phone_job(r, N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *body = codec_submit_body_only(&j, "Big run", 1796133600, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("codec_submit_body_only: %d recipients, %zu bytes in %.1f ms\n", N, strlen(body), ms);
	/* generous, for sanitizer and valgrind builds; catches a quadratic slip */
	ck_assert_msg(ms < 5000, "%d recipients took %.1f ms", N, ms);

	ck_assert_ptr_nonnull(strstr(body, "{\"id\":\"cust-9999\",\"phone_number\":\"+15550009999\","
					   "\"conversation_initiation_client_data\":{\"dynamic_variables\":{"
					   "\"first_name\":\"Ada\",\"days_left\":9999,\"balance\":1249.875,"
					   "\"vip\":true},\"conversation_config_override\":{\"agent\":{"
					   "\"first_message\":\"Hello\"}}}}]}"));
	assert_round_trip(&j, "Big run", 1796133600, body);
	free(body);

	/* and the detail of such a batch, as the daemon reads it at the end */
	static const char *const st[] = { "completed", "failed", "voicemail", "cancelled" };
	size_t cap = 512 + (size_t)N * 400, len;
	body = xmalloc(cap);
	len = (size_t)snprintf(body, cap, "{\"id\":\"btcal_big\",\"name\":\"Big run\",\"agent_id\":\"a\","
					  "\"status\":\"completed\",\"created_at_unix\":1,"
					  "\"scheduled_time_unix\":1796133600,\"last_updated_at_unix\":2,"
					  "\"recipients\":[");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"id\":\"r%d\",\"phone_number\":\"%s\",\"whatsapp_user_id\":null,"
					"\"status\":\"%s\",\"created_at_unix\":1,\"updated_at_unix\":2,"
					"\"conversation_id\":\"conv_%d\",\"conversation_initiation_client_data\":"
					"{\"dynamic_variables\":{\"first_name\":\"Ada\",\"days_left\":%d}}}",
					i ? "," : "", i, phones[i], st[i % 4], i, i);
	len += (size_t)snprintf(body + len, cap - len, "]}");
	struct batch_detail d;
	char *cause = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(codec_parse_detail(body, len, &d, &cause), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("codec_parse_detail: %d recipients, %zu bytes in %.1f ms\n", N, len, ms);
	ck_assert_msg(ms < 5000, "%d recipients took %.1f ms", N, ms);
	ck_assert_uint_eq(d.n_rcpts, N);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_COMPLETED], N / 4);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_FAILED], N / 4);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_VOICEMAIL], N / 4);
	ck_assert_uint_eq(d.counts[BATCH_RCPT_CANCELLED], N / 4);
	ck_assert_str_eq(d.rcpts[N - 1].id, "r9999");
	ck_assert_str_eq(d.rcpts[N - 1].phone_number, "+15550009999");
	ck_assert_str_eq(d.rcpts[N - 1].conversation_id, "conv_9999");
	batch_detail_clear(&d);
	free(body);
	free(r);
	free(v);
	free(phones);
	free(ids);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_submit_response);
	tcase_add_test(tc, test_parse_cancel_and_retry_responses);
	tcase_add_test(tc, test_parse_list_page);
	tcase_add_test(tc, test_parse_detail);
	tcase_add_test(tc, test_absent_and_null_optional_keys);
	tcase_add_test(tc, test_unknown_keys_and_enum_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("refuse");
	tcase_add_test(tc, test_every_required_key_missing);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_strict_json_grammar);
	tcase_add_test(tc, test_integer_range);
	tcase_add_test(tc, test_integer_bounds);
	tcase_add_test(tc, test_structure_budget);
	tcase_add_test(tc, test_detail_client_data_set_aside);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_truncated_at_every_offset);
	suite_add_tcase(s, tc);
	tc = tcase_create("error_message");
	tcase_add_test(tc, test_error_messages);
	tcase_add_test(tc, test_error_message_sanitised);
	suite_add_tcase(s, tc);
	tc = tcase_create("submit");
	tcase_add_test(tc, test_submit_body_document_example);
	tcase_add_test(tc, test_submit_body_every_type_and_override);
	tcase_add_test(tc, test_submit_body_whatsapp);
	tcase_add_test(tc, test_submit_body_unset_parts_left_out);
	tcase_add_test(tc, test_submit_body_only_some_recipients);
	tcase_add_test(tc, test_submit_body_round_trip);
	tcase_add_test(tc, test_submit_body_10000_recipients);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
