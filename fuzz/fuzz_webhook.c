/*
 * fuzz_webhook: libFuzzer target for a post-call webhook delivery: the
 * input's first line is the ElevenLabs-Signature header, the rest the
 * body. Besides "no crash, no leak, no read past the input", it checks:
 * the verdict is one of the enum; a header that parses verifies exactly
 * when its v0 is the HMAC the module itself signs for that t and body,
 * and what webhook_sign writes always verifies at its own t; the envelope
 * parser gives 0 or -EBADMSG, a cause exactly on failure, the output
 * untouched on failure, and on success a type in range, the ids every
 * documented type names, a timestamp within bounds.
 *
 * Seeds: fuzz/corpus/webhook/; dictionary: fuzz/webhook.dict.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "wsec_example_secret";

static void fuzz_signature(const char *header, size_t header_len, const char *body, size_t body_len)
{
	struct webhook_sig sig, mine;
	struct hmac_sha256 h;
	uint8_t want[SHA256_LEN];
	enum webhook_verdict v;
	char *signed_header;

	v = webhook_verify(header, header_len, secret, strlen(secret), body, body_len, INT64_C(1792483300000), NULL);
	if ((unsigned)v >= WEBHOOK_VERDICT__MAX)
		abort();
	if (webhook_parse_signature(header, header_len, &sig) != WEBHOOK_OK) {
		if (v == WEBHOOK_OK || v == WEBHOOK_STALE || v == WEBHOOK_FUTURE || v == WEBHOOK_MISMATCH)
			abort();
		return;
	}
	if (sig.t < 0 || sig.t > CODEC_TIME_MAX || strlen(sig.t_text) == 0)
		abort();
	/* signed by the module with the digits as sent: verifies at its t */
	signed_header = webhook_sign(secret, strlen(secret), sig.t, body, body_len);
	if (webhook_verify(signed_header, strlen(signed_header), secret, strlen(secret), body, body_len, sig.t * 1000,
			   NULL) != WEBHOOK_OK ||
	    webhook_parse_signature(signed_header, strlen(signed_header), &mine) != WEBHOOK_OK || mine.t != sig.t)
		abort();
	/* the input's own header verifies at its t exactly when its v0 is
	 * the HMAC of its t's digits as sent, a dot and the body */
	hmac_sha256_init(&h, secret, strlen(secret));
	hmac_sha256_update(&h, sig.t_text, strlen(sig.t_text));
	hmac_sha256_update(&h, ".", 1);
	hmac_sha256_update(&h, body, body_len);
	hmac_sha256_final(&h, want);
	v = webhook_verify(header, header_len, secret, strlen(secret), body, body_len, sig.t * 1000, NULL);
	if ((v == WEBHOOK_OK) != (memcmp(want, sig.v0, sizeof(want)) == 0) || (v != WEBHOOK_OK && v != WEBHOOK_MISMATCH))
		abort();
	if (strcmp(mine.t_text, sig.t_text) == 0 && (v == WEBHOOK_OK) != (memcmp(mine.v0, sig.v0, sizeof(sig.v0)) == 0))
		abort();
	free(signed_header);
}

static void fuzz_envelope(const char *body, size_t len)
{
	struct webhook_event e, sentinel;
	char *cause = NULL;
	int r;

	memset(&e, 0x5a, sizeof(e));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	r = webhook_parse(body, len, &e, &cause);
	if (r != 0) {
		if (r != -EBADMSG || !cause || memcmp(&e, &sentinel, sizeof(e)) != 0)
			abort();
		free(cause);
		return;
	}
	if (cause || (unsigned)e.type >= WEBHOOK_TYPE__MAX || !e.type_name || e.event_timestamp < 0 ||
	    e.event_timestamp > CODEC_TIME_MAX)
		abort();
	if (e.type != WEBHOOK_OTHER && (!e.agent_id || !e.conversation_id || !*e.conversation_id))
		abort();
	if (e.type == WEBHOOK_TRANSCRIPTION &&
	    (strcmp(e.conv.conversation_id, e.conversation_id) != 0 || (unsigned)e.conv.status >= CONV_STATUS__MAX ||
	     e.conv.call_duration_secs > CONV_DURATION_MAX || !e.conv.termination_reason))
		abort();
	if (e.type == WEBHOOK_INITIATION_FAILURE &&
	    (strcmp(e.failure.conversation_id, e.conversation_id) != 0 ||
	     (unsigned)e.failure.reason >= CONV_FAILURE__MAX))
		abort();
	if (e.type == WEBHOOK_AUDIO && e.audio_len > len)
		abort();
	webhook_event_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t header_len = nl ? (size_t)(nl - data) : size;
	size_t body_len = nl ? size - header_len - 1 : 0;
	/* exact-size copies, so that ASan sees where each ends */
	char *header = malloc(header_len ? header_len : 1), *body = malloc(body_len ? body_len : 1);

	if (!header || !body)
		abort();
	memcpy(header, data, header_len);
	if (body_len)
		memcpy(body, nl + 1, body_len);
	fuzz_signature(header, header_len, body, body_len);
	fuzz_envelope(body, body_len);
	free(header);
	free(body);
	return 0;
}
