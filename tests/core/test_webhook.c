/*
 * test_webhook: the post-call webhook's signature and envelope
 * (conversations document §5). The document's test vector, every row of
 * its table of the SDK's behaviour, the bounds around the tolerance and
 * the future bound, the order of the checks, and the three envelope types
 * (with the document's examples), an audio event whose base64 is never
 * built, an unknown type kept as it is.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "util.h"
#include "webhook.h"

/* §5.4: the test vector, 449 bytes, no trailing newline. */
static const char vector_body[] =
	"{\"type\":\"call_initiation_failure\",\"event_timestamp\":1792483300,\"data\":{\"agent_id\":"
	"\"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\",\"conversation_id\":\"conv_6101k7v9z6dt7p0gw5q8fhk9u3yc\","
	"\"failure_reason\":\"no-answer\",\"metadata\":{\"type\":\"sip\",\"body\":{\"from_number\":\"+14155550199\","
	"\"to_number\":\"+14155550103\",\"sip_status_code\":480,\"error_reason\":\"INVITE failed: sip status: 480: "
	"Temporarily Unavailable (SIP 480)\",\"call_sid\":\"0b7c2f1e-9a4d-4c3b-8e21-5f6a7b8c9d0e\"}}}}";
static const char vector_secret[] = "wsec_example_secret";
static const char vector_header[] = "t=1792483300,v0=1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a";
#define VECTOR_T INT64_C(1792483300)
#define VECTOR_V0 "1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423a"

static enum webhook_verdict verify_at(const char *header, const char *body, int64_t now_ms)
{
	return webhook_verify(header, strlen(header), vector_secret, strlen(vector_secret), body, strlen(body),
			      now_ms, NULL);
}

/* The header for body signed at t with the vector's secret. */
static char *sign(int64_t t, const char *body)
{
	return webhook_sign(vector_secret, strlen(vector_secret), t, body, strlen(body));
}

#define NOW INT64_C(1800000000) /* the receiver's clock in the table's rows, seconds */

START_TEST(test_document_vector)
{
	ck_assert_uint_eq(strlen(vector_body), 449);
	char *h = sign(VECTOR_T, vector_body);
	ck_assert_str_eq(h, vector_header);
	free(h);
	/* the HMAC step on its own: at the vector's own time */
	ck_assert_int_eq(verify_at(vector_header, vector_body, VECTOR_T * 1000), WEBHOOK_OK);
	ck_assert_int_eq(verify_at(vector_header, vector_body, VECTOR_T * 1000 + 999), WEBHOOK_OK);
	/* and, as the document warns, expired with a current clock */
	ck_assert_int_eq(verify_at(vector_header, vector_body, NOW * 1000), WEBHOOK_STALE);

	struct webhook_sig sig;
	ck_assert_int_eq(webhook_parse_signature(vector_header, strlen(vector_header), &sig), WEBHOOK_OK);
	ck_assert_int_eq(sig.t, VECTOR_T);
	ck_assert_str_eq(sig.t_text, "1792483300");
	ck_assert_uint_eq(sig.v0[0], 0x17);
	ck_assert_uint_eq(sig.v0[31], 0x3a);
}
END_TEST

/* Each row of §5.4's table of SDK 2.73.0's constructEvent. */
START_TEST(test_sdk_table)
{
	char *h, *alt;
	char buf[256];

	/* valid, t = now: accepted */
	h = sign(NOW, vector_body);
	ck_assert_int_eq(verify_at(h, vector_body, NOW * 1000), WEBHOOK_OK);
	free(h);

	/* t 29 min old, t 1 day in the future: accepted */
	h = sign(NOW - 29 * 60, vector_body);
	ck_assert_int_eq(verify_at(h, vector_body, NOW * 1000), WEBHOOK_OK);
	free(h);
	h = sign(NOW + 86400, vector_body);
	ck_assert_int_eq(verify_at(h, vector_body, NOW * 1000), WEBHOOK_OK);
	free(h);

	/* t 31 min old: "Timestamp outside the tolerance zone" */
	h = sign(NOW - 31 * 60, vector_body);
	ck_assert_int_eq(verify_at(h, vector_body, NOW * 1000), WEBHOOK_STALE);
	free(h);

	/* parts reordered: accepted */
	h = sign(NOW, vector_body);
	snprintf(buf, sizeof(buf), "%s,%.*s", strchr(h, ',') + 1, (int)(strchr(h, ',') - h), h);
	ck_assert_str_eq(buf + strlen(buf) - 13, ",t=1800000000");
	ck_assert_int_eq(verify_at(buf, vector_body, NOW * 1000), WEBHOOK_OK);

	/* a space after the comma: "No signature hash found with expected scheme v0" */
	snprintf(buf, sizeof(buf), "t=%lld, %s", (long long)NOW, strchr(h, ',') + 1);
	ck_assert_int_eq(verify_at(buf, vector_body, NOW * 1000), WEBHOOK_MALFORMED);

	/* uppercase hex: rejected */
	snprintf(buf, sizeof(buf), "%s", h);
	for (char *p = strstr(buf, "v0=") + 3; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	ck_assert_int_eq(verify_at(buf, vector_body, NOW * 1000), WEBHOOK_MALFORMED);

	/* two v0 parts, the first wrong: rejected (only the first is used);
	 * the first right and the second wrong: accepted */
	alt = sign(NOW, "other body");
	snprintf(buf, sizeof(buf), "%s,%s", alt, strchr(h, ',') + 1);
	ck_assert_int_eq(verify_at(buf, vector_body, NOW * 1000), WEBHOOK_MISMATCH);
	snprintf(buf, sizeof(buf), "%s,%s", h, strchr(alt, ',') + 1);
	ck_assert_int_eq(verify_at(buf, vector_body, NOW * 1000), WEBHOOK_OK);

	/* empty header / empty secret */
	ck_assert_int_eq(verify_at("", vector_body, NOW * 1000), WEBHOOK_NO_HEADER);
	ck_assert_int_eq(webhook_verify(NULL, 0, vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), NOW * 1000, NULL),
			 WEBHOOK_NO_HEADER);
	ck_assert_int_eq(webhook_verify(h, strlen(h), "", 0, vector_body, strlen(vector_body), NOW * 1000, NULL),
			 WEBHOOK_NO_SECRET);
	ck_assert_int_eq(webhook_verify(h, strlen(h), NULL, 0, vector_body, strlen(vector_body), NOW * 1000, NULL),
			 WEBHOOK_NO_SECRET);

	/* body altered: "Signature hash does not match" */
	char *altered = xstrdup(vector_body);
	altered[strlen(altered) - 3] = ' ';
	ck_assert_int_eq(verify_at(h, altered, NOW * 1000), WEBHOOK_MISMATCH);
	/* one byte less, one byte more */
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body) - 1, NOW * 1000, NULL),
			 WEBHOOK_MISMATCH);
	snprintf(buf, sizeof(buf), "%s", "x");
	free(altered);
	altered = xasprintf("%s\n", vector_body);
	ck_assert_int_eq(verify_at(h, altered, NOW * 1000), WEBHOOK_MISMATCH);
	/* another secret */
	ck_assert_int_eq(webhook_verify(h, strlen(h), "wsec_other", 10, vector_body, strlen(vector_body),
					NOW * 1000, NULL),
			 WEBHOOK_MISMATCH);
	free(altered);
	free(alt);
	free(h);
}
END_TEST

/* Exactly at each bound, and a millisecond past it. */
START_TEST(test_tolerance_bounds)
{
	char *h = sign(NOW, vector_body);
	int64_t t_ms = NOW * 1000;

	ck_assert_int_eq(verify_at(h, vector_body, t_ms + 1800 * 1000), WEBHOOK_OK);
	ck_assert_int_eq(verify_at(h, vector_body, t_ms + 1800 * 1000 + 1), WEBHOOK_STALE);
	ck_assert_int_eq(verify_at(h, vector_body, t_ms - WEBHOOK_FUTURE_DEFAULT * INT64_C(1000)), WEBHOOK_OK);
	ck_assert_int_eq(verify_at(h, vector_body, t_ms - WEBHOOK_FUTURE_DEFAULT * INT64_C(1000) - 1),
			 WEBHOOK_FUTURE);
	/* a t years ahead (the SDK would take it) */
	char *far = sign(NOW + 5 * 365 * 86400, vector_body);
	ck_assert_int_eq(verify_at(far, vector_body, t_ms), WEBHOOK_FUTURE);
	free(far);

	/* configurable: one minute either way */
	struct webhook_policy p = { 60, 60 };
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), t_ms + 60000, &p),
			 WEBHOOK_OK);
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), t_ms + 60001, &p),
			 WEBHOOK_STALE);
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), t_ms - 60001, &p),
			 WEBHOOK_FUTURE);
	/* a negative bound reads as 0; absurd clocks never overflow */
	struct webhook_policy z = { -5, -5 };
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), t_ms, &z),
			 WEBHOOK_OK);
	ck_assert_int_eq(verify_at(h, vector_body, INT64_MAX), WEBHOOK_STALE);
	ck_assert_int_eq(verify_at(h, vector_body, INT64_MIN), WEBHOOK_FUTURE);
	struct webhook_policy huge = { INT64_MAX, INT64_MAX };
	ck_assert_int_eq(webhook_verify(h, strlen(h), vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), INT64_MAX, &huge),
			 WEBHOOK_STALE);
	free(h);
}
END_TEST

/* The SDK checks the timestamp before the HMAC, the secret before the
 * header's form: the verdict says the first thing wrong, in that order. */
START_TEST(test_order_of_checks)
{
	char *h = sign(NOW - 3600, "another body");

	ck_assert_int_eq(verify_at(h, vector_body, NOW * 1000), WEBHOOK_STALE);
	ck_assert_int_eq(webhook_verify("junk", 4, NULL, 0, vector_body, strlen(vector_body), NOW * 1000, NULL),
			 WEBHOOK_NO_SECRET);
	ck_assert_int_eq(verify_at("junk", vector_body, NOW * 1000), WEBHOOK_MALFORMED);
	free(h);
}
END_TEST

START_TEST(test_malformed_headers)
{
	static const char *const bad[] = {
		"v0=" VECTOR_V0,                                /* no t */
		"t=1792483300",                                 /* no v0 */
		"t=,v0=" VECTOR_V0,                             /* empty t */
		"t=-1792483300,v0=" VECTOR_V0,                  /* a sign */
		"t=1792483300.5,v0=" VECTOR_V0,                 /* a fraction */
		"t=1792483300 ,v0=" VECTOR_V0,                  /* a space inside the part */
		"t=0x6ad65e24,v0=" VECTOR_V0,                   /* not decimal */
		"t=253402300800,v0=" VECTOR_V0,                 /* after 9999-12-31 */
		"t=0000000000000001792483300,v0=" VECTOR_V0,    /* too many digits */
		"t=1792483300,v0=" VECTOR_V0 "0",               /* 65 digits */
		"t=1792483300,v0=1787bbe904d9c754",             /* too short */
		"t=1792483300,v0=1787bbe904d9c75433b3a3036696f1431a62e0ccc3738c8234d0549f3f36423g", /* not hex */
		"t=1792483300;v0=" VECTOR_V0,                   /* another separator */
		" t=1792483300,v0=" VECTOR_V0,                  /* a leading space hides t */
		"T=1792483300,V0=" VECTOR_V0,                   /* case of the schemes */
		"t=1792483300,v1=" VECTOR_V0,                   /* another scheme only */
		",,,",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct webhook_sig sig, sentinel;
		memset(&sig, 0x5a, sizeof(sig));
		memset(&sentinel, 0x5a, sizeof(sentinel));
		ck_assert_msg(webhook_parse_signature(bad[i], strlen(bad[i]), &sig) == WEBHOOK_MALFORMED, "accepted %s",
			      bad[i]);
		ck_assert(memcmp(&sig, &sentinel, sizeof(sig)) == 0);
		ck_assert_int_eq(verify_at(bad[i], vector_body, VECTOR_T * 1000), WEBHOOK_MALFORMED);
	}
	/* well formed, and what else a header may carry: other schemes, empty
	 * parts, a later t (the first wins), a header cut by its length */
	static const char *const good[] = {
		"t=1792483300,v1=abc,v0=" VECTOR_V0,
		",t=1792483300,,v0=" VECTOR_V0 ",",
		"t=1792483300,t=1,v0=" VECTOR_V0,
		"x=1,t=1792483300,v0=" VECTOR_V0 ",v0=00",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_msg(verify_at(good[i], vector_body, VECTOR_T * 1000) == WEBHOOK_OK, "refused %s", good[i]);
	/* leading zeros are digits the sender signed: they verify as sent */
	char *h = sign(VECTOR_T, vector_body), buf[128];
	snprintf(buf, sizeof(buf), "t=01792483300,%s", strchr(h, ',') + 1);
	ck_assert_int_eq(verify_at(buf, vector_body, VECTOR_T * 1000), WEBHOOK_MISMATCH);
	free(h);
	/* the length given is the header; bytes after it are not read */
	char cut[] = "t=1792483300,v0=" VECTOR_V0 "ffff";
	ck_assert_int_eq(webhook_verify(cut, strlen(cut) - 4, vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), VECTOR_T * 1000, NULL),
			 WEBHOOK_OK);
	char nul[] = "t=1792483300,v0=" VECTOR_V0;
	nul[5] = '\0';
	ck_assert_int_eq(webhook_verify(nul, sizeof(nul) - 1, vector_secret, strlen(vector_secret), vector_body,
					strlen(vector_body), VECTOR_T * 1000, NULL),
			 WEBHOOK_MALFORMED);
}
END_TEST

START_TEST(test_verdict_names)
{
	static const char *const names[] = { "ok", "no_header", "no_secret", "malformed", "stale", "future",
					     "mismatch" };
	ck_assert_uint_eq(ARRAY_SIZE(names), WEBHOOK_VERDICT__MAX);
	for (int i = 0; i < WEBHOOK_VERDICT__MAX; i++) {
		ck_assert_str_eq(webhook_verdict_name((enum webhook_verdict)i), names[i]);
		ck_assert_ptr_nonnull(webhook_verdict_text((enum webhook_verdict)i));
		/* nothing of the secret or the signature, ever */
		ck_assert_ptr_null(strstr(webhook_verdict_text((enum webhook_verdict)i), "wsec"));
	}
	ck_assert_str_eq(webhook_verdict_name((enum webhook_verdict)99), "malformed");
}
END_TEST

/* --- the envelope ----------------------------------------------------- */

static void parse_ok(const char *body, struct webhook_event *e)
{
	char *cause = NULL;
	int r = webhook_parse(body, strlen(body), e, &cause);
	ck_assert_msg(r == 0, "refused: %s", cause ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
}

static void parse_bad(const char *body, const char *want)
{
	struct webhook_event e, sentinel;
	char *cause = NULL;

	memset(&e, 0x5a, sizeof(e));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	ck_assert_msg(webhook_parse(body, strlen(body), &e, &cause) == -EBADMSG, "accepted: %s", body);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "cause '%s', wanted '%s...'", cause, want);
	ck_assert(memcmp(&e, &sentinel, sizeof(e)) == 0);
	free(cause);
}

START_TEST(test_envelope_initiation_failure)
{
	struct webhook_event e;

	parse_ok(vector_body, &e);
	ck_assert_int_eq(e.type, WEBHOOK_INITIATION_FAILURE);
	ck_assert_str_eq(e.type_name, "call_initiation_failure");
	ck_assert_int_eq(e.event_timestamp, 1792483300);
	ck_assert_str_eq(e.agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_str_eq(e.conversation_id, "conv_6101k7v9z6dt7p0gw5q8fhk9u3yc");
	ck_assert_str_eq(e.failure.conversation_id, "conv_6101k7v9z6dt7p0gw5q8fhk9u3yc");
	ck_assert_str_eq(e.failure.agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_int_eq(e.failure.reason, CONV_FAILURE_NO_ANSWER);
	webhook_event_clear(&e);
	webhook_event_clear(NULL);

	/* §5.3's Twilio example */
	parse_ok("{ \"type\": \"call_initiation_failure\", \"event_timestamp\": 1792483300,\n"
		 "  \"data\": { \"agent_id\": \"agent_4701k7s2q9mdx8e5vb3n6tfh0yza\", \"conversation_id\": "
		 "\"conv_6101k7v9w3cs6p1hx6r9gjm0v4zd\",\n"
		 "    \"failure_reason\": \"busy\",\n"
		 "    \"metadata\": { \"type\": \"twilio\", \"body\": { \"CallSid\": \"CA1b2c3d4e5f60718293a4b5c6d7e8f901\", "
		 "\"CallStatus\": \"busy\",\n"
		 "      \"To\": \"+14155550103\", \"From\": \"+14155550199\", \"Direction\": \"outbound-api\", "
		 "\"SipResponseCode\": \"486\",\n"
		 "      \"Duration\": \"0\", \"CallDuration\": \"0\", \"ApiVersion\": \"2010-04-01\" } } } }",
		 &e);
	ck_assert_int_eq(e.failure.reason, CONV_FAILURE_BUSY);
	ck_assert_str_eq(e.conversation_id, "conv_6101k7v9w3cs6p1hx6r9gjm0v4zd");
	webhook_event_clear(&e);

	static const struct {
		const char *data, *cause;
	} bad[] = {
		{ "{\"conversation_id\":\"c\",\"failure_reason\":\"busy\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}",
		  "data.agent_id: missing" },
		{ "{\"agent_id\":\"a\",\"failure_reason\":\"busy\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}",
		  "data.conversation_id: missing" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"\",\"failure_reason\":\"busy\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}",
		  "data.conversation_id: empty string" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"c\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}",
		  "data.failure_reason: missing" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"c\",\"failure_reason\":\"busy\"}", "data.metadata: missing" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"c\",\"failure_reason\":\"busy\",\"metadata\":{\"body\":{}}}",
		  "data.metadata.type: missing" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"c\",\"failure_reason\":\"busy\",\"metadata\":{\"type\":\"sip\"}}",
		  "data.metadata.body: missing" },
		{ "{\"agent_id\":\"a\",\"conversation_id\":\"c\",\"failure_reason\":null,\"metadata\":{\"type\":\"sip\",\"body\":{}}}",
		  "data.failure_reason: expected a string" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *b = xasprintf("{\"type\":\"call_initiation_failure\",\"event_timestamp\":1,\"data\":%s}", bad[i].data);
		parse_bad(b, bad[i].cause);
		free(b);
	}
	/* an unknown reason reads as unknown */
	parse_ok("{\"type\":\"call_initiation_failure\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\","
		 "\"conversation_id\":\"c\",\"failure_reason\":\"declined\",\"metadata\":{\"type\":\"exotel\",\"body\":{}}}}",
		 &e);
	ck_assert_int_eq(e.failure.reason, CONV_FAILURE_UNKNOWN);
	webhook_event_clear(&e);
}
END_TEST

START_TEST(test_envelope_transcription)
{
	size_t len;
	char *conv = fixture_read(TEST_DATADIR "/conv/example-done.json", &len);
	char *body = xasprintf("{\"type\":\"post_call_transcription\",\"event_timestamp\":1792483300,\"data\":%s}", conv);
	struct webhook_event e;

	parse_ok(body, &e);
	ck_assert_int_eq(e.type, WEBHOOK_TRANSCRIPTION);
	ck_assert_str_eq(e.conversation_id, "conv_6101k7v9x2bq4m8et3n5dfh7s1wa");
	ck_assert_str_eq(e.agent_id, "agent_4701k7s2q9mdx8e5vb3n6tfh0yza");
	ck_assert_str_eq(e.conv.conversation_id, "conv_6101k7v9x2bq4m8et3n5dfh7s1wa");
	ck_assert_int_eq(e.conv.status, CONV_DONE);
	ck_assert_str_eq(e.conv.batch_call_recipient_id, "crm-000123");
	ck_assert_str_eq(e.conv.data[0].value, "\"renew\"");
	ck_assert_uint_eq(e.conv.transcript_turns, 2);
	ck_assert_int_eq(e.conv.call_successful, CONV_SUCCESS);
	webhook_event_clear(&e);
	free(body);

	/* the conversation's rules hold under data, and say where */
	char *bad = xstrdup(conv);
	char *p = strstr(bad, "\"metadata\"");
	memcpy(p, "\"metadatx\"", 10);
	body = xasprintf("{\"type\":\"post_call_transcription\",\"event_timestamp\":1792483300,\"data\":%s}", bad);
	parse_bad(body, "data.metadata: missing");
	free(body);
	free(bad);
	free(conv);
}
END_TEST

/* An event whose text was cut mid-character by the sender (Python's
 * json.dumps writes half an emoji as a lone surrogate escape) is kept with
 * U+FFFD: a 400 is never retried, so refusing it would lose it. */
START_TEST(test_envelope_replacement_character)
{
	static const char *const bad[] = { "\\ud83d", "\xf0\x9f\x98" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *body = xasprintf(
			"{\"type\":\"post_call_transcription\",\"event_timestamp\":1792483300,\"data\":"
			"{\"conversation_id\":\"c\",\"agent_id\":\"a\",\"status\":\"done\",\"metadata\":"
			"{\"start_time_unix_secs\":1,\"call_duration_secs\":2},\"has_audio\":true,"
			"\"has_user_audio\":true,\"has_response_audio\":true,\"analysis\":{\"call_successful\":"
			"\"success\",\"transcript_summary\":\"Thanks %s\"}}}",
			bad[i]);
		struct webhook_event e;
		parse_ok(body, &e);
		ck_assert_int_eq(e.type, WEBHOOK_TRANSCRIPTION);
		ck_assert_str_eq(e.conv.transcript_summary,
				 i == 0 ? "Thanks \xef\xbf\xbd" : "Thanks \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		webhook_event_clear(&e);
		free(body);
	}
	/* outside a string such bytes are no JSON */
	parse_bad("{\"type\":\"call_initiation_failure\",\"event_timestamp\":1,\"data\":\xff}", "not valid JSON");
}
END_TEST

START_TEST(test_envelope_audio)
{
	/* 90 MiB of base64 (two hours of MP3): checked, counted, never built */
	size_t n = (size_t)90 << 20, len;
	static const char head[] = "{\"type\":\"post_call_audio\",\"event_timestamp\":1792483300,\"data\":{\"agent_id\":\"a\","
				   "\"conversation_id\":\"conv_x\",\"full_audio\":\"";
	char *body = xmalloc(sizeof(head) + n + 8);
	struct webhook_event e;
	char *cause = NULL;

	memcpy(body, head, sizeof(head) - 1);
	len = sizeof(head) - 1;
	for (size_t i = 0; i < n; i++)
		body[len++] = "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA/+M4wAAAAAAAAAAAAEluZm8A="[i % 64];
	memcpy(body + len, "\"}}", 3);
	len += 3;
	ck_assert_int_eq(webhook_parse(body, len, &e, &cause), 0);
	ck_assert_int_eq(e.type, WEBHOOK_AUDIO);
	ck_assert_str_eq(e.conversation_id, "conv_x");
	ck_assert_str_eq(e.agent_id, "a");
	ck_assert_uint_eq(e.audio_len, n);
	webhook_event_clear(&e);
	free(body);

	parse_bad("{\"type\":\"post_call_audio\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\",\"conversation_id\":\"c\"}}",
		  "data.full_audio: missing");
	parse_bad("{\"type\":\"post_call_audio\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\",\"conversation_id\":\"c\","
		  "\"full_audio\":7}}",
		  "data.full_audio: expected a string");
	parse_ok("{\"type\":\"post_call_audio\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\",\"conversation_id\":\"c\","
		 "\"full_audio\":\"\"}}",
		 &e);
	ck_assert_uint_eq(e.audio_len, 0);
	webhook_event_clear(&e);
}
END_TEST

START_TEST(test_envelope_other_and_errors)
{
	struct webhook_event e;

	parse_ok("{\"type\":\"answering_machine_detection\",\"event_timestamp\":5,\"data\":{\"anything\":[1,{}]}}", &e);
	ck_assert_int_eq(e.type, WEBHOOK_OTHER);
	ck_assert_str_eq(e.type_name, "answering_machine_detection");
	ck_assert_str_eq(webhook_type_name(e.type), "other");
	ck_assert_ptr_null(e.conversation_id);
	webhook_event_clear(&e);
	ck_assert_str_eq(webhook_type_name(WEBHOOK_TRANSCRIPTION), "post_call_transcription");

	parse_bad("{\"event_timestamp\":1,\"data\":{}}", "type: missing");
	parse_bad("{\"type\":1,\"event_timestamp\":1,\"data\":{}}", "type: expected a string");
	parse_bad("{\"type\":\"x\",\"data\":{}}", "event_timestamp: missing");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":\"1792483300\",\"data\":{}}", "event_timestamp: expected an integer");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":-1,\"data\":{}}", "event_timestamp: -1 is outside");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":253402300800,\"data\":{}}", "event_timestamp: 253402300800 is outside");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":1}", "data: missing");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":1,\"data\":null}", "data: expected an object");
	parse_bad("{\"type\":\"x\",\"event_timestamp\":1,\"data\":{}", "truncated JSON");
	parse_bad("", "empty body");

	char *cause = NULL;
	ck_assert_int_eq(webhook_parse("{}", WEBHOOK_MAX_BODY + 1, &e, &cause), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(cause, "body too large"));
	free(cause);
}
END_TEST

/* The stepped check (the receiver hashes a large body a slice at a
 * time) agrees with webhook_verify for every split of the body, and
 * begin's verdicts are those checks that need no body. */
START_TEST(test_stepped_check)
{
	size_t n = strlen(vector_body);
	int64_t at = VECTOR_T * 1000;
	struct webhook_check c;

	for (size_t a = 0; a <= n; a += 7)
		for (size_t b = a; b <= n; b += 61) {
			ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), vector_secret,
							     strlen(vector_secret), at, NULL),
					 WEBHOOK_OK);
			webhook_check_update(&c, vector_body, a);
			webhook_check_update(&c, vector_body + a, b - a);
			webhook_check_update(&c, vector_body + b, n - b);
			ck_assert_int_eq(webhook_check_end(&c), WEBHOOK_OK);
		}
	/* one byte short, one byte changed */
	ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), vector_secret,
					     strlen(vector_secret), at, NULL),
			 WEBHOOK_OK);
	webhook_check_update(&c, vector_body, n - 1);
	ck_assert_int_eq(webhook_check_end(&c), WEBHOOK_MISMATCH);
	{
		char *flip = xstrdup(vector_body);
		flip[100] ^= 1;
		ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), vector_secret,
						     strlen(vector_secret), at, NULL),
				 WEBHOOK_OK);
		webhook_check_update(&c, flip, n);
		ck_assert_int_eq(webhook_check_end(&c), WEBHOOK_MISMATCH);
		free(flip);
	}
	/* the checks before the body, as webhook_verify makes them */
	ck_assert_int_eq(webhook_check_begin(&c, NULL, 0, vector_secret, strlen(vector_secret), at, NULL),
			 WEBHOOK_NO_HEADER);
	ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), "", 0, at, NULL),
			 WEBHOOK_NO_SECRET);
	ck_assert_int_eq(webhook_check_begin(&c, "t=1,v0=zz", 9, vector_secret, strlen(vector_secret), at, NULL),
			 WEBHOOK_MALFORMED);
	ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), vector_secret,
					     strlen(vector_secret), NOW * 1000, NULL),
			 WEBHOOK_STALE);
	ck_assert_int_eq(webhook_check_begin(&c, vector_header, strlen(vector_header), vector_secret,
					     strlen(vector_secret), at - 8LL * 86400 * 1000, NULL),
			 WEBHOOK_FUTURE);
}
END_TEST

/* The fixture's transcription event with each (from, to) of edits made
 * once, parsed into *ret. */
static void edited_event(const char *const *edits, size_t n_edits, struct webhook_event *ret)
{
	size_t len;
	char *conv = fixture_read(TEST_DATADIR "/conv/example-done.json", &len);

	for (size_t i = 0; i + 1 < n_edits; i += 2) {
		char *at = strstr(conv, edits[i]);
		ck_assert_msg(at != NULL, "edit %s not found", edits[i]);
		char *next = xasprintf("%.*s%s%s", (int)(at - conv), conv, edits[i + 1], at + strlen(edits[i]));
		free(conv);
		conv = next;
	}
	char *body = xasprintf("{\"type\":\"post_call_transcription\",\"event_timestamp\":1792483300,\"data\":%s}", conv);
	parse_ok(body, ret);
	free(body);
	free(conv);
}

static const char *const to_processing[] = { "\"status\": \"done\"", "\"status\": \"processing\"",
					      "\"analysis\": {", "\"analysis\": null, \"x_was\": {" };
static const char *const to_done_bare[] = { "\"analysis\": {", "\"analysis\": null, \"x_was\": {" };
static const char *const to_failed[] = { "\"status\": \"done\"", "\"status\": \"failed\"",
					  "\"analysis\": {", "\"analysis\": null, \"x_was\": {" };
static const char *const to_in_progress[] = { "\"status\": \"done\"", "\"status\": \"in-progress\"",
					       "\"analysis\": {", "\"analysis\": null, \"x_was\": {" };
static const char *const to_other_summary[] = { "Customer agreed to renew", "Customer agreed again to renew" };
static const char *const to_other_conv[] = { "\"conversation_id\": \"conv_6101k7v9x2bq4m8et3n5dfh7s1wa\"",
					      "\"conversation_id\": \"conv_other\"" };
static const char *const to_no_batch[] = {
	"\"batch_call\": { \"batch_call_id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\", \"batch_call_recipient_id\": "
	"\"crm-000123\" }", "\"batch_call\": null" };
static const char *const to_batch_absent[] = {
	",\n    \"batch_call\": { \"batch_call_id\": \"btcal_5301k7v3m8qxe2c9tb4n6dfh1s0y\", \"batch_call_recipient_id\": "
	"\"crm-000123\" }", "" };

/* What is stored never goes backwards: a final transcription (done with
 * its analysis) is replaced by nothing less complete, a less complete one
 * by a more complete one; of two as complete the first stays; failures
 * of one conversation say as much. */
START_TEST(test_event_supersedes)
{
	struct webhook_event done, processing, bare, failed, ringing, done2, other, fail1, fail2;

	edited_event(NULL, 0, &done);
	edited_event(to_processing, ARRAY_SIZE(to_processing), &processing);
	edited_event(to_done_bare, ARRAY_SIZE(to_done_bare), &bare);
	edited_event(to_failed, ARRAY_SIZE(to_failed), &failed);
	edited_event(to_in_progress, ARRAY_SIZE(to_in_progress), &ringing);
	edited_event(to_other_summary, ARRAY_SIZE(to_other_summary), &done2);
	edited_event(to_other_conv, ARRAY_SIZE(to_other_conv), &other);
	ck_assert_int_eq(processing.conv.status, CONV_PROCESSING);
	ck_assert(!processing.conv.has_analysis);
	ck_assert_int_eq(conv_completeness(&done.conv), 3);
	ck_assert_int_eq(conv_completeness(&failed.conv), 3);
	ck_assert_int_eq(conv_completeness(&bare.conv), 2);
	ck_assert_int_eq(conv_completeness(&processing.conv), 1);
	ck_assert_int_eq(conv_completeness(&ringing.conv), 0);
	ck_assert(conv_final(&done.conv) && conv_final(&failed.conv) && !conv_final(&bare.conv));

	/* the reviewer's downgrade: processing after the final one */
	ck_assert(!webhook_event_supersedes(&processing, &done));
	ck_assert(!webhook_event_supersedes(&bare, &done));
	ck_assert(!webhook_event_supersedes(&ringing, &processing));
	/* the usual order: each version says more */
	ck_assert(webhook_event_supersedes(&processing, &ringing));
	ck_assert(webhook_event_supersedes(&bare, &processing));
	ck_assert(webhook_event_supersedes(&done, &bare));
	ck_assert(webhook_event_supersedes(&done, &processing));
	ck_assert(webhook_event_supersedes(&failed, &processing));
	/* as complete: the first stored stays (either way round) */
	ck_assert(!webhook_event_supersedes(&done2, &done));
	ck_assert(!webhook_event_supersedes(&done, &done2));
	ck_assert(!webhook_event_supersedes(&done, &done));
	ck_assert(!webhook_event_supersedes(&failed, &done));
	ck_assert(!webhook_event_supersedes(&processing, &processing));
	/* not versions of each other */
	ck_assert(webhook_event_supersedes(&processing, &other));

	parse_ok("{\"type\":\"call_initiation_failure\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\","
		 "\"conversation_id\":\"c\",\"failure_reason\":\"busy\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}}",
		 &fail1);
	parse_ok("{\"type\":\"call_initiation_failure\",\"event_timestamp\":2,\"data\":{\"agent_id\":\"a\","
		 "\"conversation_id\":\"c\",\"failure_reason\":\"no-answer\",\"metadata\":{\"type\":\"sip\",\"body\":{}}}}",
		 &fail2);
	ck_assert(!webhook_event_supersedes(&fail2, &fail1));
	ck_assert(!webhook_event_supersedes(&fail1, &fail2));
	ck_assert(webhook_event_supersedes(&fail1, &done)); /* another type */

	struct webhook_event *all[] = { &done, &processing, &bare, &failed, &ringing, &done2, &other, &fail1, &fail2 };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		webhook_event_clear(all[i]);
}
END_TEST

/* The workspace webhook sends every conversation of the workspace: a
 * transcription without metadata.batch_call (null or absent) is not a
 * batch call and is not kept; a failure carries no batch_call and is. */
START_TEST(test_event_wanted)
{
	struct webhook_event e;

	edited_event(NULL, 0, &e);
	ck_assert(webhook_event_wanted(&e));
	webhook_event_clear(&e);
	edited_event(to_processing, ARRAY_SIZE(to_processing), &e);
	ck_assert(webhook_event_wanted(&e));
	webhook_event_clear(&e);
	edited_event(to_no_batch, ARRAY_SIZE(to_no_batch), &e);
	ck_assert_ptr_null(e.conv.batch_call_id);
	ck_assert(!webhook_event_wanted(&e));
	webhook_event_clear(&e);
	edited_event(to_batch_absent, ARRAY_SIZE(to_batch_absent), &e);
	ck_assert(!webhook_event_wanted(&e));
	webhook_event_clear(&e);
	parse_ok(vector_body, &e);
	ck_assert(webhook_event_wanted(&e));
	webhook_event_clear(&e);
	parse_ok("{\"type\":\"post_call_audio\",\"event_timestamp\":1,\"data\":{\"agent_id\":\"a\","
		 "\"conversation_id\":\"c\",\"full_audio\":\"AAAA\"}}", &e);
	ck_assert(!webhook_event_wanted(&e));
	webhook_event_clear(&e);
	parse_ok("{\"type\":\"post_call_something_new\",\"event_timestamp\":1,\"data\":{}}", &e);
	ck_assert(!webhook_event_wanted(&e));
	webhook_event_clear(&e);
}
END_TEST

static Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("signature");

	tcase_add_test(tc, test_document_vector);
	tcase_add_test(tc, test_stepped_check);
	tcase_add_test(tc, test_sdk_table);
	tcase_add_test(tc, test_tolerance_bounds);
	tcase_add_test(tc, test_order_of_checks);
	tcase_add_test(tc, test_malformed_headers);
	tcase_add_test(tc, test_verdict_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("envelope");
	tcase_add_test(tc, test_envelope_initiation_failure);
	tcase_add_test(tc, test_envelope_transcription);
	tcase_add_test(tc, test_envelope_audio);
	tcase_add_test(tc, test_envelope_replacement_character);
	tcase_add_test(tc, test_envelope_other_and_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("keeping");
	tcase_add_test(tc, test_event_supersedes);
	tcase_add_test(tc, test_event_wanted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
