/*
 * webhook: ElevenLabs post-call webhooks (conversations document §5): the
 * `ElevenLabs-Signature: t=<unix secs>,v0=<hex>` header, its HMAC-SHA256
 * check over "<t>.<raw body>" in constant time with the timestamp
 * tolerance, and the envelope {type, event_timestamp, data} with its three
 * documented types. `now` is an argument; no I/O. The receiver verifies
 * first and parses only what verified (§5.4).
 *
 * The header is read the way the official SDK (2.73.0) reads it, row by
 * row of the document's table: split on ',', the parts found by their
 * prefix in any order, the first `t=` and the first `v0=` win, nothing is
 * trimmed (a space after the comma hides the part), v0 is compared as the
 * lowercase hex the sender writes (uppercase fails). Stricter than the SDK
 * where the SDK is loose by accident: t must be decimal digits naming an
 * instant up to 9999-12-31 (the SDK takes any text and compares NaN), v0
 * exactly 64 lowercase hex digits, and a t far in the future is refused
 * (below).
 */
#ifndef BC_WEBHOOK_H
#define BC_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv.h"
#include "sha256.h"

/* Why a delivery was accepted or refused; the names are the metrics'
 * reason labels, the texts go into the warning (never the secret, never
 * the signature). */
enum webhook_verdict {
	WEBHOOK_OK,
	WEBHOOK_NO_HEADER, /* ElevenLabs-Signature absent or empty */
	WEBHOOK_NO_SECRET, /* the daemon has no webhook secret */
	WEBHOOK_MALFORMED, /* no t=, no v0=, or one of them not as above */
	WEBHOOK_STALE,     /* t older than the tolerance */
	WEBHOOK_FUTURE,    /* t further ahead than the future bound */
	WEBHOOK_MISMATCH,  /* the HMAC is not the body's */
	WEBHOOK_VERDICT__MAX
};

/* "ok", "no_header", "no_secret", "malformed", "stale", "future", "mismatch". */
const char *webhook_verdict_name(enum webhook_verdict v);
/* A sentence for the log: "the signature's timestamp is older than the tolerance". */
const char *webhook_verdict_text(enum webhook_verdict v);

/* The tolerance the SDK applies (30 minutes): an event whose t is older
 * than now - tolerance_s is refused; t == now - tolerance_s passes. */
#define WEBHOOK_TOLERANCE_DEFAULT 1800
/* The SDK accepts any t in the future. A sender's clock ahead of ours is
 * normal (the table's "1 day in the future" passes); a t years ahead only
 * makes a captured request replayable for years. A week covers any real
 * skew, and the test's day, and bounds the replay window to a week and
 * the tolerance. */
#define WEBHOOK_FUTURE_DEFAULT (7 * 86400)

struct webhook_policy {
	int64_t tolerance_s; /* >= 0 */
	int64_t future_s;    /* >= 0 */
};

/* A parsed signature header. */
struct webhook_sig {
	char t_text[16];        /* t as sent (the HMAC covers these digits) */
	int64_t t;              /* its value, 0..CODEC_TIME_MAX */
	uint8_t v0[SHA256_LEN]; /* the first v0's bytes */
};

/* Parse the header value (len bytes): WEBHOOK_OK and *ret, or
 * WEBHOOK_NO_HEADER (empty), WEBHOOK_MALFORMED with *ret untouched. */
enum webhook_verdict webhook_parse_signature(const char *header, size_t len, struct webhook_sig *ret);

/* Verify a delivery as the SDK's constructEvent does, in its order:
 * header present, secret present, header well formed, t within the
 * tolerance (now_ms: the receiver's clock, unix milliseconds, compared as
 * the SDK does, t * 1000 < now_ms - tolerance), then the HMAC of
 * "<t>.<body>" keyed with the secret's bytes, compared in constant time.
 * policy NULL: the defaults above. */
enum webhook_verdict webhook_verify(const char *header, size_t header_len, const void *secret, size_t secret_len,
				    const char *body, size_t body_len, int64_t now_ms,
				    const struct webhook_policy *policy);

/* The same verification in steps, for a body that arrives or is hashed
 * in pieces (the receiver hashes a large body a slice per loop iteration,
 * so that a due submit is not late behind it): begin does every check
 * that needs no body and returns its verdict; on WEBHOOK_OK feed the
 * body's bytes in order with webhook_check_update, then webhook_check_end
 * gives WEBHOOK_OK or WEBHOOK_MISMATCH (and wipes the state). On any
 * other verdict of begin, nothing more is to be done with c. */
struct webhook_check {
	struct webhook_sig sig;
	struct hmac_sha256 mac;
};

enum webhook_verdict webhook_check_begin(struct webhook_check *c, const char *header, size_t header_len,
					 const void *secret, size_t secret_len, int64_t now_ms,
					 const struct webhook_policy *policy);
void webhook_check_update(struct webhook_check *c, const void *data, size_t len);
enum webhook_verdict webhook_check_end(struct webhook_check *c);

/* The header a sender would write for body at t: "t=<t>,v0=<64 hex>"
 * (caller frees). For the simulator and tests. */
char *webhook_sign(const void *secret, size_t secret_len, int64_t t, const char *body, size_t body_len);

/* The envelope's `type` (§5.2). Any other string is WEBHOOK_OTHER: kept as
 * sent and its data not read (a new event type is no reason to fail the
 * delivery and make the sender retry or disable the webhook). */
enum webhook_type {
	WEBHOOK_TRANSCRIPTION, /* post_call_transcription */
	WEBHOOK_AUDIO,         /* post_call_audio */
	WEBHOOK_INITIATION_FAILURE, /* call_initiation_failure */
	WEBHOOK_OTHER,
	WEBHOOK_TYPE__MAX
};

/* The wire name; "other" for WEBHOOK_OTHER. */
const char *webhook_type_name(enum webhook_type t);

struct webhook_event {
	enum webhook_type type;
	char *type_name;            /* as sent */
	int64_t event_timestamp;    /* 0..CODEC_TIME_MAX */
	/* every documented type names them: */
	char *agent_id;             /* NULL for WEBHOOK_OTHER */
	char *conversation_id;      /* non-empty; NULL for WEBHOOK_OTHER */
	struct conv conv;           /* WEBHOOK_TRANSCRIPTION: data */
	struct conv_failure failure; /* WEBHOOK_INITIATION_FAILURE: data */
	size_t audio_len;           /* WEBHOOK_AUDIO: bytes of full_audio's base64 text, never decoded */
};

/* A webhook body: the raw text, its cap, and what json-c may spend on what
 * is built of it. A post_call_audio carries a whole call as base64 (an
 * hour is about 75 MiB): its full_audio is set aside like a transcript,
 * checked and counted, never built nor decoded. */
#define WEBHOOK_MAX_BODY ((size_t)128 << 20)
#define WEBHOOK_MAX_PARSE_COST CONV_MAX_PARSE_COST

/* Parse an envelope (verified first): 0 and *ret, or -EBADMSG with *cause
 * (caller frees; may be NULL) naming the key path; *ret untouched on
 * failure. Required: type (string), event_timestamp (integer, within
 * bounds), data (object); for post_call_transcription data is a
 * conversation (conv.h's rules); for post_call_audio data.agent_id,
 * data.conversation_id (non-empty) and data.full_audio (string); for
 * call_initiation_failure data.agent_id, data.conversation_id (non-empty),
 * data.failure_reason (string) and data.metadata {type: string, body:
 * object} (the provider's detail, not read further). */
int webhook_parse(const char *body, size_t len, struct webhook_event *ret, char **cause);
/* Free what e holds and zero it (NULL accepted). */
void webhook_event_clear(struct webhook_event *e);

/* Whether a parsed event is one the results keep. The workspace webhook
 * delivers every conversation of the workspace, not only batch calls:
 * a post_call_transcription whose data.metadata.batch_call is absent or
 * null is not a batch call (§3.3 and §6, documented, not marked
 * unverified) and is dropped. A call_initiation_failure carries no
 * batch_call (§5.3) and nothing else that tells: it is kept, and joined
 * by conversation_id if a batch's detail names it. post_call_audio and
 * types this build does not know are dropped. */
bool webhook_event_wanted(const struct webhook_event *ev);

/* Whether ev should replace kept, the stored delivery of the same type
 * for the same conversation (the sender's idempotency key): only when it
 * says strictly more (a transcription done with its analysis beats one
 * still processing, conv_supersedes). Of two that say as much the one
 * stored first stays, so a late, older or less complete delivery never
 * makes what is stored go backwards; two failures of one conversation
 * say as much. Events of different types or conversations: true (they
 * are not versions of each other). */
bool webhook_event_supersedes(const struct webhook_event *ev, const struct webhook_event *kept);

#endif
