/*
 * test_conv: a conversation body (conversations document §3). The
 * document's example parses to exact values; absent and null optional
 * keys, unknown keys and unknown enum strings are tolerated; every
 * required key, wrong type, out-of-bounds integer, non-JSON and cut body
 * is refused with a cause naming the key; data collection values keep the
 * exact text sent; the transcript and client data are set aside (a
 * transcript json-c could not afford is accepted, the same structure
 * anywhere else is refused by the budget).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conv.h"
#include "fixture.h"
#include "util.h"

static char *example(size_t *len)
{
	return fixture_read(TEST_DATADIR "/conv/example-done.json", len);
}

/* Parse text, expecting success. */
static void parse_ok(const char *text, struct conv *c)
{
	char *cause = NULL;
	int r = conv_parse(text, strlen(text), c, &cause);
	ck_assert_msg(r == 0, "refused: %s", cause ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
}

/* Parse text, expecting a refusal whose cause starts with want. */
static void parse_bad(const char *text, const char *want)
{
	struct conv c, sentinel;
	char *cause = NULL;
	int r;

	memset(&c, 0x5a, sizeof(c));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = conv_parse(text, strlen(text), &c, &cause);
	ck_assert_msg(r == -EBADMSG, "accepted, wanted '%s': %s", want, text);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "cause '%s', wanted '%s...'", cause, want);
	ck_assert_msg(memcmp(&c, &sentinel, sizeof(c)) == 0, "output touched on failure");
	free(cause);
}

/* The example with the JSON at a dotted path replaced by value (a JSON
 * text), or removed when value is NULL. */
static char *edit(const char *path, const char *value)
{
	size_t len;
	char *text = example(&len), *p = xstrdup(path), *save = NULL, *out;
	json_object *root = json_tokener_parse(text), *o = root;
	char *key = strtok_r(p, ".", &save), *next;

	ck_assert_ptr_nonnull(root);
	while ((next = strtok_r(NULL, ".", &save))) {
		ck_assert_msg(json_object_object_get_ex(o, key, &o), "no %s in %s", key, path);
		key = next;
	}
	if (value)
		json_object_object_add(o, key, json_tokener_parse(value));
	else
		json_object_object_del(o, key);
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	free(p);
	free(text);
	return out;
}

START_TEST(test_document_example)
{
	size_t len;
	char *text = example(&len);
	struct conv c;

	parse_ok(text, &c);
	ck_assert_str_eq(c.conversation_id, "conv_6101k7v9x2bq4m8et3n5dfh7s1wa");
	ck_assert_str_eq(c.agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_int_eq(c.status, CONV_DONE);
	ck_assert_int_eq(c.start_time_unix_secs, 1792483210);
	ck_assert_int_eq(c.call_duration_secs, 74);
	ck_assert_str_eq(c.termination_reason, "Call ended by remote party");
	ck_assert_int_eq(c.call_result, CONV_CALL_ANSWERED);
	ck_assert_str_eq(c.batch_call_id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_str_eq(c.batch_call_recipient_id, "crm-000123");
	ck_assert(c.has_analysis);
	ck_assert_int_eq(c.call_successful, CONV_SUCCESS);
	ck_assert_str_eq(c.transcript_summary, "Customer agreed to renew the Pro plan.");
	ck_assert_uint_eq(c.n_data, 1);
	ck_assert_str_eq(c.data[0].id, "renewal_decision");
	ck_assert_str_eq(c.data[0].value, "\"renew\"");
	ck_assert_uint_eq(c.n_evals, 1);
	ck_assert_str_eq(c.evals[0].id, "renewal_confirmed");
	ck_assert_int_eq(c.evals[0].result, CONV_SUCCESS);
	ck_assert_uint_eq(c.transcript_turns, 2);
	conv_clear(&c);
	conv_clear(&c); /* twice is harmless */
	conv_clear(NULL);
	free(text);
}
END_TEST

START_TEST(test_minimal_and_defaults)
{
	struct conv c;

	parse_ok("{\"conversation_id\":\"c1\",\"agent_id\":\"a\",\"status\":\"processing\","
		 "\"metadata\":{\"start_time_unix_secs\":0,\"call_duration_secs\":0},"
		 "\"has_audio\":false,\"has_user_audio\":false,\"has_response_audio\":false}",
		 &c);
	ck_assert_int_eq(c.status, CONV_PROCESSING);
	ck_assert_str_eq(c.termination_reason, "");
	ck_assert_int_eq(c.call_result, CONV_CALL_NONE);
	ck_assert_ptr_null(c.batch_call_id);
	ck_assert_ptr_null(c.batch_call_recipient_id);
	ck_assert(!c.has_analysis);
	ck_assert_int_eq(c.call_successful, CONV_UNKNOWN);
	ck_assert_ptr_null(c.transcript_summary);
	ck_assert_uint_eq(c.n_data, 0);
	ck_assert_uint_eq(c.n_evals, 0);
	ck_assert_uint_eq(c.transcript_turns, 0);
	conv_clear(&c);
}
END_TEST

/* Every optional documented key may be null (§1: the server emits nulls). */
START_TEST(test_optional_keys_null)
{
	static const char *const paths[] = {
		"agent_name", "user_id", "branch_id", "version_id", "environment", "transcript",
		"conversation_initiation_client_data", "has_auxiliary_audio", "analysis",
		"metadata.accepted_time_unix_secs", "metadata.queue_wait_secs", "metadata.cost", "metadata.cost_fiat",
		"metadata.termination_reason", "metadata.error", "metadata.warnings", "metadata.main_language",
		"metadata.phone_call", "metadata.batch_call", "metadata.conversation_initiation_source",
		"metadata.timezone", "metadata.phone_call.call_result", "metadata.phone_call.stream_sid",
		"metadata.batch_call.campaign", "analysis.call_successful", "analysis.transcript_summary",
		"analysis.call_summary_title", "analysis.evaluation_criteria_results",
		"analysis.data_collection_results", "analysis.data_collection_results.renewal_decision.value",
		"analysis.data_collection_results.renewal_decision.json_schema",
	};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		for (int absent = 0; absent < 2; absent++) {
			char *t = edit(paths[i], absent ? NULL : "null");
			struct conv c;
			parse_ok(t, &c);
			if (strcmp(paths[i], "metadata.termination_reason") == 0)
				ck_assert_str_eq(c.termination_reason, "");
			if (strcmp(paths[i], "analysis") == 0) {
				ck_assert(!c.has_analysis);
				ck_assert_int_eq(c.call_successful, CONV_UNKNOWN);
			}
			if (strcmp(paths[i], "analysis.call_successful") == 0)
				ck_assert_int_eq(c.call_successful, CONV_UNKNOWN);
			if (strcmp(paths[i], "analysis.transcript_summary") == 0)
				ck_assert_ptr_null(c.transcript_summary);
			if (strcmp(paths[i], "analysis.data_collection_results.renewal_decision.value") == 0)
				ck_assert_str_eq(c.data[0].value, "null");
			if (strcmp(paths[i], "metadata.phone_call") == 0 ||
			    strcmp(paths[i], "metadata.phone_call.call_result") == 0)
				ck_assert_int_eq(c.call_result, CONV_CALL_NONE);
			if (strcmp(paths[i], "transcript") == 0)
				ck_assert_uint_eq(c.transcript_turns, 0);
			conv_clear(&c);
			free(t);
		}
	}
}
END_TEST

START_TEST(test_every_required_key_missing)
{
	static const char *const paths[] = {
		"conversation_id", "agent_id", "status", "metadata", "has_audio", "has_user_audio",
		"has_response_audio", "metadata.start_time_unix_secs", "metadata.call_duration_secs",
		"metadata.phone_call.type", "metadata.phone_call.direction", "metadata.phone_call.phone_number_id",
		"metadata.phone_call.agent_number", "metadata.phone_call.external_number",
		"metadata.phone_call.call_sid", "metadata.batch_call.batch_call_id",
		"metadata.batch_call.batch_call_recipient_id",
		"analysis.evaluation_criteria_results.renewal_confirmed.criteria_id",
		"analysis.evaluation_criteria_results.renewal_confirmed.result",
		"analysis.evaluation_criteria_results.renewal_confirmed.rationale",
		"analysis.data_collection_results.renewal_decision.data_collection_id",
		"analysis.data_collection_results.renewal_decision.rationale",
	};
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char want[160];
		for (int null = 0; null < 2; null++) {
			char *t = edit(paths[i], null ? "null" : NULL);
			snprintf(want, sizeof(want), "%s: %s", paths[i], null ? "expected" : "missing");
			parse_bad(t, want);
			free(t);
		}
	}
}
END_TEST

START_TEST(test_wrong_types)
{
	static const struct {
		const char *path, *value, *cause;
	} v[] = {
		{ "conversation_id", "7", "conversation_id: expected a string" },
		{ "conversation_id", "\"\"", "conversation_id: empty string" },
		{ "status", "[]", "status: expected a string" },
		{ "transcript", "{}", "transcript: expected an array" },
		{ "transcript", "\"x\"", "transcript: expected an array" },
		{ "transcript", "[{},1]", "transcript: every turn must be an object" },
		{ "has_audio", "1", "has_audio: expected a boolean" },
		{ "metadata", "[]", "metadata: expected an object" },
		{ "metadata.start_time_unix_secs", "1.5", "metadata.start_time_unix_secs: expected an integer" },
		{ "metadata.start_time_unix_secs", "\"1\"", "metadata.start_time_unix_secs: expected an integer" },
		{ "metadata.termination_reason", "0", "metadata.termination_reason: expected a string" },
		{ "metadata.queue_wait_secs", "\"1\"", "metadata.queue_wait_secs: expected a number" },
		{ "metadata.error", "{\"reason\":null}", "metadata.error.code: missing" },
		{ "metadata.phone_call", "1", "metadata.phone_call: expected an object" },
		{ "metadata.batch_call", "\"b\"", "metadata.batch_call: expected an object" },
		{ "analysis", "true", "analysis: expected an object" },
		{ "analysis.call_successful", "1", "analysis.call_successful: expected a string" },
		{ "analysis.data_collection_results", "[]", "analysis.data_collection_results: expected an object" },
		{ "analysis.data_collection_results.renewal_decision", "\"renew\"",
		  "analysis.data_collection_results.renewal_decision: expected an object" },
		{ "analysis.evaluation_criteria_results.renewal_confirmed.result", "true",
		  "analysis.evaluation_criteria_results.renewal_confirmed.result: expected a string" },
		{ "analysis.evaluation_criteria_results.renewal_confirmed.score", "\"high\"",
		  "analysis.evaluation_criteria_results.renewal_confirmed.score: expected a number" },
		{ "conversation_initiation_client_data", "[]", "conversation_initiation_client_data: expected an object" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *t = edit(v[i].path, v[i].value);
		parse_bad(t, v[i].cause);
		free(t);
	}
	/* an id from the body is never echoed raw into a cause */
	char *t = edit("analysis.data_collection_results", "{\"a\\nb\":1}");
	parse_bad(t, "analysis.data_collection_results[0]: expected an object");
	free(t);
}
END_TEST

START_TEST(test_unknown_keys_and_enum_strings)
{
	struct conv c;
	char *t = edit("status", "\"queued\"");
	parse_ok(t, &c);
	ck_assert_int_eq(c.status, CONV_STATUS_UNKNOWN);
	conv_clear(&c);
	free(t);

	static const char *const statuses[] = { "initiated", "in-progress", "processing", "done", "failed" };
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++) {
		char v[32];
		snprintf(v, sizeof(v), "\"%s\"", statuses[i]);
		t = edit("status", v);
		parse_ok(t, &c);
		ck_assert_int_eq(c.status, (int)i);
		ck_assert_str_eq(conv_status_name(c.status), statuses[i]);
		conv_clear(&c);
		free(t);
	}
	/* the batch spelling is not the conversation's */
	t = edit("status", "\"in_progress\"");
	parse_ok(t, &c);
	ck_assert_int_eq(c.status, CONV_STATUS_UNKNOWN);
	conv_clear(&c);
	free(t);

	t = edit("analysis.call_successful", "\"maybe\"");
	parse_ok(t, &c);
	ck_assert_int_eq(c.call_successful, CONV_UNKNOWN);
	conv_clear(&c);
	free(t);

	t = edit("metadata.phone_call.call_result", "\"hung_up\"");
	parse_ok(t, &c);
	ck_assert_int_eq(c.call_result, CONV_CALL_OTHER);
	ck_assert_str_eq(conv_call_result_name(c.call_result), "unknown");
	conv_clear(&c);
	free(t);

	static const char *const results[] = { "answered", "voicemail", "busy", "no_answer", "failed" };
	for (size_t i = 0; i < ARRAY_SIZE(results); i++) {
		char v[32];
		snprintf(v, sizeof(v), "\"%s\"", results[i]);
		t = edit("metadata.phone_call.call_result", v);
		parse_ok(t, &c);
		ck_assert_str_eq(conv_call_result_name(c.call_result), results[i]);
		conv_clear(&c);
		free(t);
	}

	t = edit("analysis.evaluation_criteria_results.renewal_confirmed.result", "\"partial\"");
	parse_ok(t, &c);
	ck_assert_int_eq(c.evals[0].result, CONV_UNKNOWN);
	conv_clear(&c);
	free(t);

	/* a phone_call type this build does not know need not carry the
	 * documented types' keys */
	t = edit("metadata.phone_call", "{\"type\":\"whatsapp\"}");
	parse_ok(t, &c);
	conv_clear(&c);
	free(t);

	t = edit("metadata.novel", "{\"x\":[1,2,{\"y\":null}]}");
	parse_ok(t, &c);
	conv_clear(&c);
	free(t);

	ck_assert_ptr_null(conv_call_result_name(CONV_CALL_NONE));
	ck_assert_int_eq(conv_call_result_from_name(NULL), CONV_CALL_NONE);
	ck_assert_str_eq(conv_failure_reason_name(conv_failure_reason_from_name("no-answer")), "no-answer");
	ck_assert_int_eq(conv_failure_reason_from_name("no_answer"), CONV_FAILURE_UNKNOWN);
	ck_assert_str_eq(conv_status_name((enum conv_status)99), "unknown");
	ck_assert_str_eq(conv_verdict_name((enum conv_verdict)99), "unknown");
}
END_TEST

START_TEST(test_integer_bounds)
{
	static const struct {
		const char *path, *value;
		bool ok;
	} v[] = {
		{ "metadata.start_time_unix_secs", "0", true },
		{ "metadata.start_time_unix_secs", "253402300799", true },
		{ "metadata.start_time_unix_secs", "253402300800", false },
		{ "metadata.start_time_unix_secs", "-1", false },
		{ "metadata.start_time_unix_secs", "9223372036854775808", false },
		{ "metadata.start_time_unix_secs", "-9223372036854775808", false },
		{ "metadata.call_duration_secs", "31622400", true },
		{ "metadata.call_duration_secs", "31622401", false },
		{ "metadata.call_duration_secs", "-1", false },
		{ "metadata.accepted_time_unix_secs", "-5", false },
		{ "metadata.accepted_time_unix_secs", "253402300800", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *t = edit(v[i].path, v[i].value);
		if (v[i].ok) {
			struct conv c;
			parse_ok(t, &c);
			conv_clear(&c);
		} else {
			parse_bad(t, v[i].path);
		}
		free(t);
	}
}
END_TEST

/* A data collection value is the exact JSON sent, whitespace between
 * tokens dropped: no number is rounded, saturated or reformatted. */
START_TEST(test_data_values_exact)
{
	static const struct {
		const char *sent, *kept;
	} v[] = {
		{ "\"renew\"", "\"renew\"" },
		{ "123456789012345678901234567890", "123456789012345678901234567890" },
		{ "-9223372036854775809", "-9223372036854775809" },
		{ "1.50", "1.50" },
		{ "1e400", "1e400" },
		{ "-0.0", "-0.0" },
		{ "true", "true" },
		{ "null", "null" },
		{ "\"caf\\u00e9 \\\"x\\\" \\/\"", "\"caf\\u00e9 \\\"x\\\" \\/\"" },
		{ "{ \"a\" : [ 1 , 2 ] ,\n \"b\" : { } }", "{\"a\":[1,2],\"b\":{}}" },
		{ "\"  spaced  out  \"", "\"  spaced  out  \"" },
		{ "[ ]", "[]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *body = xasprintf(
			"{\"conversation_id\":\"c\",\"agent_id\":\"a\",\"status\":\"done\",\"metadata\":"
			"{\"start_time_unix_secs\":1,\"call_duration_secs\":2},\"has_audio\":true,"
			"\"has_user_audio\":true,\"has_response_audio\":true,\"analysis\":{\"call_successful\":"
			"\"success\",\"transcript_summary\":\"s\",\"data_collection_results\":{\"x\":"
			"{\"data_collection_id\":\"x\",\"rationale\":\"r\",\"value\": %s }}}}",
			v[i].sent);
		struct conv c;
		parse_ok(body, &c);
		ck_assert_uint_eq(c.n_data, 1);
		ck_assert_str_eq(c.data[0].value, v[i].kept);
		conv_clear(&c);
		free(body);
	}

	/* ids sorted by bytes; a "value" key spelled with an escape is still
	 * the value (json-c reads it so); an item without one holds null */
	struct conv c;
	parse_ok("{\"conversation_id\":\"c\",\"agent_id\":\"a\",\"status\":\"done\",\"metadata\":"
		 "{\"start_time_unix_secs\":1,\"call_duration_secs\":2},\"has_audio\":true,"
		 "\"has_user_audio\":true,\"has_response_audio\":true,\"analysis\":{\"data_collection_results\":{"
		 "\"zeta\":{\"data_collection_id\":\"zeta\",\"rationale\":\"r\",\"v\\u0061lue\":99999999999999999999},"
		 "\"Alpha\":{\"data_collection_id\":\"Alpha\",\"rationale\":\"r\"},"
		 "\"beta\":{\"data_collection_id\":\"beta\",\"rationale\":\"r\",\"value\":[{\"k\":1}]}},"
		 "\"evaluation_criteria_results\":{"
		 "\"q\":{\"criteria_id\":\"q\",\"result\":\"failure\",\"rationale\":\"r\"},"
		 "\"p\":{\"criteria_id\":\"p\",\"result\":\"unknown\",\"rationale\":\"r\",\"score\":0.5}}}}",
		 &c);
	ck_assert_uint_eq(c.n_data, 3);
	ck_assert_str_eq(c.data[0].id, "Alpha");
	ck_assert_str_eq(c.data[0].value, "null");
	ck_assert_str_eq(c.data[1].id, "beta");
	ck_assert_str_eq(c.data[1].value, "[{\"k\":1}]");
	ck_assert_str_eq(c.data[2].id, "zeta");
	ck_assert_str_eq(c.data[2].value, "99999999999999999999");
	ck_assert_uint_eq(c.n_evals, 2);
	ck_assert_str_eq(c.evals[0].id, "p");
	ck_assert_int_eq(c.evals[0].result, CONV_UNKNOWN);
	ck_assert_str_eq(c.evals[1].id, "q");
	ck_assert_int_eq(c.evals[1].result, CONV_FAILURE);
	ck_assert(c.has_analysis);
	ck_assert_int_eq(c.call_successful, CONV_UNKNOWN); /* missing verdict */
	conv_clear(&c);
}
END_TEST

/* n turns of "{}" (or of a tool-call turn), as a transcript or elsewhere. */
static char *with_turns(const char *key, size_t n, bool big)
{
	static const char turn[] = "{\"role\":\"agent\",\"message\":\"Hello, this is a rather long turn of a call "
				   "about a renewal.\",\"time_in_call_secs\":3,\"tool_calls\":[{\"a\":[1,2,3]}],"
				   "\"tool_results\":[],\"interrupted\":false}";
	const char *item = big ? turn : "{}";
	size_t il = strlen(item), cap = 512 + n * (il + 1), len;
	char *s = xmalloc(cap);

	len = (size_t)snprintf(s, cap, "{\"conversation_id\":\"c\",\"agent_id\":\"a\",\"status\":\"done\","
				       "\"metadata\":{\"start_time_unix_secs\":1,\"call_duration_secs\":2},"
				       "\"has_audio\":true,\"has_user_audio\":true,\"has_response_audio\":true,"
				       "\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			s[len++] = ',';
		memcpy(s + len, item, il);
		len += il;
	}
	memcpy(s + len, "]}", 3);
	return s;
}

START_TEST(test_transcript_set_aside)
{
	/* 400,000 empty turns: json-c would spend about 320 MB building
	 * them, ten times the budget; set aside they cost nothing */
	char *t = with_turns("transcript", 400000, false);
	struct conv c;
	parse_ok(t, &c);
	ck_assert_uint_eq(c.transcript_turns, 400000);
	conv_clear(&c);
	free(t);

	/* the same structure under a key that is built is refused */
	t = with_turns("visited_agents", 400000, false);
	parse_bad(t, "more JSON structure than a documented answer has");
	free(t);

	/* a long call's transcript: 100,000 tool-call turns (19 MB) */
	t = with_turns("transcript", 100000, true);
	parse_ok(t, &c);
	ck_assert_uint_eq(c.transcript_turns, 100000);
	conv_clear(&c);
	free(t);

	/* the key is matched as json-c reads it, escapes decoded */
	t = with_turns("tr\\u0061nscript", 400000, false);
	parse_ok(t, &c);
	ck_assert_uint_eq(c.transcript_turns, 400000);
	conv_clear(&c);
	free(t);

	/* a set-aside transcript is still held to the grammar */
	t = with_turns("transcript", 3, false);
	t[strlen(t) - 4] = '\'';
	parse_bad(t, "not valid JSON");
	free(t);
}
END_TEST

/* Text cut mid-character by the sender (a lone surrogate escape, as
 * Python's json.dumps writes half an emoji, or raw bytes that are not
 * UTF-8) reads as U+FFFD: the conversation is kept, not refused. */
START_TEST(test_replacement_character)
{
	static const struct {
		const char *sent, *summary, *value;
	} v[] = {
		{ "Cut \\ud83d", "Cut \xef\xbf\xbd", "\"x\\ufffd\"" },
		{ "\\ude00 low", "\xef\xbf\xbd low", "\"x\\ufffd\"" },
		{ "\\ud83d\\u0041", "\xef\xbf\xbd" "A", "\"x\\ufffd\"" },
		{ "pair \\ud83d\\ude00", "pair \xf0\x9f\x98\x80", NULL }, /* a pair is kept */
		{ "raw \xf0\x9f\x98", "raw \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\"x\\ufffd\"" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "\"x\\ufffd\"" },
		{ "caf\xe9!", "caf\xef\xbf\xbd!", "\"x\\ufffd\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		/* the same bad text in the summary (built), a data value
		 * (captured) and a transcript message (set aside) */
		const char *bad = v[i].sent;
		char *body = xasprintf(
			"{\"conversation_id\":\"c\",\"agent_id\":\"a\",\"status\":\"done\",\"metadata\":"
			"{\"start_time_unix_secs\":1,\"call_duration_secs\":2},\"has_audio\":true,"
			"\"has_user_audio\":true,\"has_response_audio\":true,\"transcript\":[{\"role\":\"user\","
			"\"message\":\"%s\"}],\"analysis\":{\"call_successful\":"
			"\"success\",\"transcript_summary\":\"%s\",\"data_collection_results\":{\"x\":"
			"{\"data_collection_id\":\"x\",\"rationale\":\"r\",\"value\": \"%s\" }}}}",
			bad, bad, bad);
		struct conv c;
		parse_ok(body, &c);
		ck_assert_str_eq(c.transcript_summary, v[i].summary);
		ck_assert_uint_eq(c.transcript_turns, 1);
		ck_assert_uint_eq(c.n_data, 1);
		/* the kept value is JSON text that a strict reader takes */
		ck_assert_msg(v[i].value == NULL || strstr(c.data[0].value, "\\ufffd"), "value %s", c.data[0].value);
		ck_assert_msg(v[i].value == NULL ||
				      (!strstr(c.data[0].value, "\\ud83d") && !strstr(c.data[0].value, "\\ude00")),
			      "value %s", c.data[0].value);
		for (const char *q = c.data[0].value; *q; q++)
			ck_assert_msg((unsigned char)*q < 0x80, "value %s holds a raw byte", c.data[0].value);
		conv_clear(&c);
		free(body);
	}
}
END_TEST

START_TEST(test_not_json)
{
	static const struct {
		const char *body, *cause;
	} v[] = {
		{ "", "empty body" },
		{ "   ", "empty body" },
		{ "[]", "expected a JSON object at the top level" },
		{ "{\"a\":1} x", "trailing data" },
		{ "{\"a\":NaN}", "not valid JSON" },
		{ "{'a':1}", "not valid JSON" },
		{ "{\"a\":01}", "not valid JSON" },
		{ "{\"a\":\"\x01\"}", "not valid JSON: control character" },
		/* bytes that are not UTF-8 outside a string stay an error */
		{ "{\"a\":\xc0\xaf}", "not valid JSON: value expected" },
		{ "{\xff\"a\":1}", "not valid JSON: quoted key expected" },
		{ "{\"a\\u0000b\":1}", "not valid JSON: NUL character in a key" },
		{ "{\"conversation_id\":\"c\\u0000d\"}", "conversation_id: string contains a NUL" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		parse_bad(v[i].body, v[i].cause);

	/* nested deeper than the limit */
	char deep[300];
	size_t n = 0;
	n += (size_t)sprintf(deep, "{\"a\":");
	for (int i = 0; i < 70; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	parse_bad(deep, "not valid JSON: nested deeper than 64");

	/* a NUL byte, and a body over the cap (never read past its start) */
	struct conv c;
	char *cause = NULL;
	ck_assert_int_eq(conv_parse("{\"a\":1}\0", 8, &c, &cause), -EBADMSG);
	ck_assert_str_eq(cause, "NUL byte at offset 7");
	free(cause);
	ck_assert_int_eq(conv_parse("{}", CONV_MAX_BODY + 1, &c, &cause), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(cause, "body too large"));
	free(cause);
	ck_assert_int_eq(conv_parse(NULL, 0, &c, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_truncated_at_every_offset)
{
	size_t len;
	char *text = example(&len);

	for (size_t cut = 0; cut < len; cut++) {
		struct conv c;
		char *cause = NULL, *copy = xmalloc(cut ? cut : 1);
		memcpy(copy, text, cut);
		/* only trailing whitespace may be cut from a valid body */
		int r = conv_parse(copy, cut, &c, &cause);
		bool blank = true;
		for (size_t k = cut; k < len; k++)
			blank &= text[k] == ' ' || text[k] == '\n';
		if (r == 0) {
			ck_assert_msg(blank, "accepted when cut at %zu", cut);
			conv_clear(&c);
		} else {
			ck_assert_int_eq(r, -EBADMSG);
			ck_assert_ptr_nonnull(cause);
		}
		free(cause);
		free(copy);
	}
	free(text);
}
END_TEST

/* A conversations log line: the body made one line reads back to the
 * same values and time; a damaged or cut line is refused with a cause,
 * never accepted as something else. */
START_TEST(test_log_line)
{
	size_t len, n;
	char *text = example(&len), *line = conv_log_line(INT64_C(1792483300123), text, len, &n), *cause = NULL;
	struct conv want, c, sentinel;
	int64_t ms = -1;

	parse_ok(text, &want);
	/* one line: the example's own line ends are blanks now */
	ck_assert_uint_eq(n, strlen(line));
	ck_assert(memchr(text, '\n', len) != NULL);
	ck_assert(memchr(line, '\n', n) == line + n - 1);
	ck_assert(strncmp(line, "{\"kept_ms\":1792483300123,\"conversation\":{", 41) == 0);
	ck_assert_int_eq(conv_log_parse(line, n - 1, &ms, &c, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(ms, INT64_C(1792483300123));
	ck_assert_str_eq(c.conversation_id, want.conversation_id);
	ck_assert_int_eq(c.status, CONV_DONE);
	ck_assert_str_eq(c.batch_call_id, "btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y");
	ck_assert_str_eq(c.transcript_summary, want.transcript_summary);
	ck_assert_uint_eq(c.n_data, 1);
	ck_assert_str_eq(c.data[0].value, "\"renew\"");
	ck_assert_uint_eq(c.transcript_turns, 2);
	conv_clear(&c);
	/* cut anywhere (a torn last line): refused, outputs untouched */
	for (size_t cut = 0; cut < n - 1; cut += 7) {
		memset(&c, 0x5a, sizeof(c));
		memset(&sentinel, 0x5a, sizeof(sentinel));
		ms = -1;
		ck_assert_int_eq(conv_log_parse(line, cut, &ms, &c, &cause), -EBADMSG);
		ck_assert_ptr_nonnull(cause);
		ck_assert_int_eq(ms, -1);
		ck_assert(memcmp(&c, &sentinel, sizeof(c)) == 0);
		free(cause);
		cause = NULL;
	}
	/* an envelope without its time, or whose conversation is damaged */
	ck_assert_int_eq(conv_log_parse("{\"conversation\":{}}", 19, &ms, &c, &cause), -EBADMSG);
	ck_assert_str_eq(cause, "kept_ms: missing");
	free(cause);
	cause = NULL;
	strstr(line, "\"agent_id\"")[1] = 'X'; /* a required key gone */
	ck_assert_int_eq(conv_log_parse(line, n - 1, &ms, &c, &cause), -EBADMSG);
	ck_assert_msg(strncmp(cause, "conversation.", 13) == 0, "cause '%s'", cause);
	free(cause);
	conv_clear(&want);
	free(line);
	free(text);
}
END_TEST

/* What is kept in memory follows the files: an occurrence held names it,
 * or it came within state_retention; an occurrence let go takes its
 * conversations with it. */
START_TEST(test_retained)
{
	const int64_t day = 86400, now = INT64_C(1800000000000);

	ck_assert(conv_retained(now - 10 * day * 1000, true, false, now, day));
	ck_assert(!conv_retained(now - 1000, true, true, now, day));
	ck_assert(!conv_retained(now - 1000, false, true, now, day));
	ck_assert(conv_retained(now - 1000, false, false, now, day));
	ck_assert(conv_retained(now - day * 1000 + 1, false, false, now, day));
	ck_assert(!conv_retained(now - day * 1000, false, false, now, day));
	ck_assert(!conv_retained(now - 10 * day * 1000, false, false, now, day));
}
END_TEST

static Suite *conv_suite(void)
{
	Suite *s = suite_create("conv");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_document_example);
	tcase_add_test(tc, test_minimal_and_defaults);
	tcase_add_test(tc, test_optional_keys_null);
	tcase_add_test(tc, test_every_required_key_missing);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_unknown_keys_and_enum_strings);
	tcase_add_test(tc, test_integer_bounds);
	tcase_add_test(tc, test_data_values_exact);
	tcase_add_test(tc, test_transcript_set_aside);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_replacement_character);
	tcase_add_test(tc, test_truncated_at_every_offset);
	tcase_add_test(tc, test_retained);
	tcase_add_test(tc, test_log_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conv_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
