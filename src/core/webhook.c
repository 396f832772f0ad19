/*
 * webhook: the signature of a post-call webhook and its envelope. See
 * webhook.h for the rules and where they come from.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"
#include "webhook.h"

/* --- verdicts ---------------------------------------------------------- */

static const struct {
	const char *name, *text;
} verdicts[WEBHOOK_VERDICT__MAX] = {
	[WEBHOOK_OK] = { "ok", "the signature is valid" },
	[WEBHOOK_NO_HEADER] = { "no_header", "no ElevenLabs-Signature header" },
	[WEBHOOK_NO_SECRET] = { "no_secret", "no webhook secret is configured" },
	[WEBHOOK_MALFORMED] = { "malformed", "the ElevenLabs-Signature header is not 't=<unix seconds>,v0=<64 lowercase hex digits>'" },
	[WEBHOOK_STALE] = { "stale", "the signature's timestamp is older than the tolerance" },
	[WEBHOOK_FUTURE] = { "future", "the signature's timestamp is too far in the future" },
	[WEBHOOK_MISMATCH] = { "mismatch", "the signature does not match the body" },
};

const char *webhook_verdict_name(enum webhook_verdict v)
{
	return (unsigned)v < WEBHOOK_VERDICT__MAX ? verdicts[v].name : "malformed";
}

const char *webhook_verdict_text(enum webhook_verdict v)
{
	return (unsigned)v < WEBHOOK_VERDICT__MAX ? verdicts[v].text : verdicts[WEBHOOK_MALFORMED].text;
}

/* --- the signature ------------------------------------------------------ */

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && memcmp(s, p, k) == 0;
}

static int lower_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

enum webhook_verdict webhook_parse_signature(const char *header, size_t len, struct webhook_sig *ret)
{
	struct webhook_sig sig = { 0 };
	const char *t = NULL, *v0 = NULL;
	size_t t_len = 0, v0_len = 0;
	int64_t value = 0;

	if (!header || len == 0)
		return WEBHOOK_NO_HEADER;
	/* split on ',': the first part of each scheme wins; a part is taken
	 * as it is, so " v0=..." (a space after the comma) is no v0 part */
	for (size_t i = 0; i <= len;) {
		const char *end = memchr(header + i, ',', len - i);
		size_t n = end ? (size_t)(end - header) - i : len - i;
		const char *part = header + i;
		if (!t && has_prefix(part, n, "t=")) {
			t = part + 2;
			t_len = n - 2;
		} else if (!v0 && has_prefix(part, n, "v0=")) {
			v0 = part + 3;
			v0_len = n - 3;
		}
		i += n + 1;
	}
	if (!t || !v0 || t_len == 0 || t_len >= sizeof(sig.t_text) || v0_len != 2 * SHA256_LEN)
		return WEBHOOK_MALFORMED;
	for (size_t i = 0; i < t_len; i++) {
		if (t[i] < '0' || t[i] > '9')
			return WEBHOOK_MALFORMED;
		value = value * 10 + (t[i] - '0'); /* at most 15 digits: no overflow */
	}
	if (value > CODEC_TIME_MAX)
		return WEBHOOK_MALFORMED;
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int hi = lower_hex(v0[2 * i]), lo = lower_hex(v0[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return WEBHOOK_MALFORMED;
		sig.v0[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(sig.t_text, t, t_len);
	sig.t = value;
	*ret = sig;
	return WEBHOOK_OK;
}

/* HMAC-SHA256(secret, "<t_text>.<body>"). */
static void mac(const void *secret, size_t secret_len, const char *t_text, const char *body, size_t body_len,
		uint8_t out[SHA256_LEN])
{
	struct hmac_sha256 h;

	hmac_sha256_init(&h, secret, secret_len);
	hmac_sha256_update(&h, t_text, strlen(t_text));
	hmac_sha256_update(&h, ".", 1);
	if (body_len > 0)
		hmac_sha256_update(&h, body, body_len);
	hmac_sha256_final(&h, out);
}

/* A policy's bound in milliseconds, kept where no sum can overflow. */
static int64_t bound_ms(int64_t s)
{
	if (s < 0)
		return 0;
	return (s > CODEC_TIME_MAX ? CODEC_TIME_MAX : s) * 1000;
}

enum webhook_verdict webhook_check_begin(struct webhook_check *c, const char *header, size_t header_len,
					 const void *secret, size_t secret_len, int64_t now_ms,
					 const struct webhook_policy *policy)
{
	struct webhook_policy dflt = { WEBHOOK_TOLERANCE_DEFAULT, WEBHOOK_FUTURE_DEFAULT };
	enum webhook_verdict v;
	int64_t t_ms;

	if (!policy)
		policy = &dflt;
	if (!header || header_len == 0)
		return WEBHOOK_NO_HEADER;
	if (!secret || secret_len == 0)
		return WEBHOOK_NO_SECRET;
	v = webhook_parse_signature(header, header_len, &c->sig);
	if (v != WEBHOOK_OK)
		return v;
	/* the SDK's test, t * 1000 < now_ms - tolerance, written so that no
	 * side can overflow: t is at most CODEC_TIME_MAX */
	t_ms = c->sig.t * 1000;
	if (t_ms + bound_ms(policy->tolerance_s) < now_ms)
		return WEBHOOK_STALE;
	if (t_ms - bound_ms(policy->future_s) > now_ms)
		return WEBHOOK_FUTURE;
	hmac_sha256_init(&c->mac, secret, secret_len);
	hmac_sha256_update(&c->mac, c->sig.t_text, strlen(c->sig.t_text));
	hmac_sha256_update(&c->mac, ".", 1);
	return WEBHOOK_OK;
}

void webhook_check_update(struct webhook_check *c, const void *data, size_t len)
{
	if (len > 0)
		hmac_sha256_update(&c->mac, data, len);
}

enum webhook_verdict webhook_check_end(struct webhook_check *c)
{
	uint8_t want[SHA256_LEN];
	bool ok;

	hmac_sha256_final(&c->mac, want);
	ok = sha256_equal_ct(want, c->sig.v0, SHA256_LEN);
	sha256_wipe(want, sizeof(want));
	sha256_wipe(c, sizeof(*c));
	return ok ? WEBHOOK_OK : WEBHOOK_MISMATCH;
}

enum webhook_verdict webhook_verify(const char *header, size_t header_len, const void *secret, size_t secret_len,
				    const char *body, size_t body_len, int64_t now_ms,
				    const struct webhook_policy *policy)
{
	struct webhook_check c;
	enum webhook_verdict v = webhook_check_begin(&c, header, header_len, secret, secret_len, now_ms, policy);

	if (v != WEBHOOK_OK)
		return v;
	webhook_check_update(&c, body, body_len);
	return webhook_check_end(&c);
}

char *webhook_sign(const void *secret, size_t secret_len, int64_t t, const char *body, size_t body_len)
{
	char t_text[24], hex[2 * SHA256_LEN + 1];
	uint8_t d[SHA256_LEN];

	snprintf(t_text, sizeof(t_text), "%" PRId64, t);
	mac(secret, secret_len, t_text, body, body_len, d);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return xasprintf("t=%s,v0=%s", t_text, hex);
}

/* --- the envelope ------------------------------------------------------- */

static const char *const type_names[WEBHOOK_TYPE__MAX] = {
	[WEBHOOK_TRANSCRIPTION] = "post_call_transcription",
	[WEBHOOK_AUDIO] = "post_call_audio",
	[WEBHOOK_INITIATION_FAILURE] = "call_initiation_failure",
	[WEBHOOK_OTHER] = "other",
};

const char *webhook_type_name(enum webhook_type t)
{
	return type_names[(unsigned)t < WEBHOOK_TYPE__MAX ? t : WEBHOOK_OTHER];
}

static enum webhook_type type_from_name(const char *s)
{
	for (int i = 0; i < WEBHOOK_OTHER; i++)
		if (strcmp(s, type_names[i]) == 0)
			return (enum webhook_type)i;
	return WEBHOOK_OTHER;
}

#define ASIDE_AUDIO 2

/* data.full_audio is set aside; data is otherwise read as a conversation
 * (its transcript and client data set aside, its data values captured). */
static enum jsonin_take rule_cb(const struct jsonin_path *p, unsigned char first, int *ret_tag, void *arg)
{
	if (p->depth < 1 || !jsonin_path_key(p, 0, "data"))
		return JSONIN_BUILD;
	if (p->depth == 2 && first == '"' && jsonin_path_key(p, 1, "full_audio")) {
		*ret_tag = ASIDE_AUDIO;
		return JSONIN_SET_ASIDE;
	}
	return conv_json_rule(p, 1, first, ret_tag);
}

void webhook_event_clear(struct webhook_event *e)
{
	if (!e)
		return;
	free(e->type_name);
	free(e->agent_id);
	free(e->conversation_id);
	conv_clear(&e->conv);
	conv_failure_clear(&e->failure);
	*e = (struct webhook_event){ 0 };
}

enum { REQ = JSONIN_REQUIRED, OPT = JSONIN_NULLABLE };

/* data.agent_id and data.conversation_id (non-empty) of audio and failure. */
static int parse_ids(json_object *data, struct webhook_event *e, char **cause)
{
	int r;

	if ((r = jsonin_get_str(data, "data", "agent_id", REQ, &e->agent_id, cause)) < 0 ||
	    (r = jsonin_get_str(data, "data", "conversation_id", REQ, &e->conversation_id, cause)) < 0)
		return r;
	if (!*e->conversation_id)
		return jsonin_field_fail(cause, "data", "conversation_id", "empty string");
	return 0;
}

static int parse_failure(json_object *data, struct webhook_event *e, char **cause)
{
	json_object *m, *v;
	const char *reason;
	int r;

	if ((r = parse_ids(data, e, cause)) < 0 ||
	    (r = jsonin_get_cstr(data, "data", "failure_reason", REQ, &reason, cause)) < 0 ||
	    (r = jsonin_get(data, "data", "metadata", json_type_object, REQ, &m, cause)) < 0 ||
	    (r = jsonin_get(m, "data.metadata", "type", json_type_string, REQ, &v, cause)) < 0 ||
	    (r = jsonin_get(m, "data.metadata", "body", json_type_object, REQ, &v, cause)) < 0)
		return r;
	e->failure.agent_id = xstrdup(e->agent_id);
	e->failure.conversation_id = xstrdup(e->conversation_id);
	e->failure.reason = conv_failure_reason_from_name(reason);
	return 0;
}

int webhook_parse(const char *body, size_t len, struct webhook_event *ret, char **cause)
{
	struct jsonin_opts o = { WEBHOOK_MAX_BODY, WEBHOOK_MAX_PARSE_COST, rule_cb, NULL };
	struct webhook_event e = { 0 };
	struct jsonin_doc doc = { 0 };
	const struct jsonin_aside *audio = &doc.aside[ASIDE_AUDIO];
	json_object *data, *v;
	int r;

	if ((r = jsonin_parse(body, len, &o, &doc, cause)) < 0)
		return r;
	if ((r = jsonin_get_str(doc.root, "", "type", REQ, &e.type_name, cause)) < 0 ||
	    (r = jsonin_get_int64(doc.root, "", "event_timestamp", REQ, 0, CODEC_TIME_MAX, &e.event_timestamp,
				  cause)) < 0 ||
	    (r = jsonin_get(doc.root, "", "data", json_type_object, REQ, &data, cause)) < 0)
		goto out;
	e.type = type_from_name(e.type_name);
	switch (e.type) {
	case WEBHOOK_TRANSCRIPTION:
		if ((r = conv_from_json(data, "data", &doc, &e.conv, cause)) < 0)
			goto out;
		e.agent_id = xstrdup(e.conv.agent_id);
		e.conversation_id = xstrdup(e.conv.conversation_id);
		break;
	case WEBHOOK_AUDIO:
		if ((r = parse_ids(data, &e, cause)) < 0 ||
		    (r = jsonin_get(data, "data", "full_audio", json_type_string, REQ, &v, cause)) < 0)
			goto out;
		/* the text between the quotes of what was set aside */
		e.audio_len = audio->bytes - 2 * audio->values;
		break;
	case WEBHOOK_INITIATION_FAILURE:
		if ((r = parse_failure(data, &e, cause)) < 0)
			goto out;
		break;
	default:
		break;
	}
	*ret = e;
	e = (struct webhook_event){ 0 };
out:
	webhook_event_clear(&e);
	jsonin_doc_clear(&doc);
	return r;
}

bool webhook_event_wanted(const struct webhook_event *ev)
{
	switch (ev->type) {
	case WEBHOOK_TRANSCRIPTION:
		return ev->conv.batch_call_id != NULL;
	case WEBHOOK_INITIATION_FAILURE:
		return true;
	default:
		return false;
	}
}

bool webhook_event_supersedes(const struct webhook_event *ev, const struct webhook_event *kept)
{
	if (ev->type != kept->type || !ev->conversation_id || !kept->conversation_id ||
	    strcmp(ev->conversation_id, kept->conversation_id) != 0)
		return true;
	if (ev->type == WEBHOOK_TRANSCRIPTION)
		return conv_supersedes(&ev->conv, &kept->conv);
	return false;
}
