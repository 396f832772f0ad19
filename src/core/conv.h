/*
 * conv: one ElevenLabs conversation as the results need it, parsed from
 * the body of GET /v1/convai/conversations/{id} (conversations document
 * §3), which is also the `data` of a post_call_transcription webhook
 * (§5.3); and a call_initiation_failure's facts (§5.3), which webhook.c
 * parses. Strict like codec: the document's required keys must be there
 * with their types, integers within bounds, unknown keys and unknown enum
 * strings are tolerated, optional keys may be absent or null. No I/O.
 */
#ifndef BC_CONV_H
#define BC_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonin.h"

/* Conversation `status` (§2; note the hyphen of "in-progress"). */
enum conv_status {
	CONV_INITIATED,
	CONV_IN_PROGRESS,
	CONV_PROCESSING,
	CONV_DONE,
	CONV_FAILED,
	CONV_STATUS_UNKNOWN, /* a status string this build does not know */
	CONV_STATUS__MAX
};

/* EvaluationSuccessResult: `analysis.call_successful` and each criterion's
 * `result`. A missing verdict, or a string this build does not know, reads
 * as unknown (§3.5: "treat a missing verdict as unknown"). */
enum conv_verdict { CONV_SUCCESS, CONV_FAILURE, CONV_UNKNOWN, CONV_VERDICT__MAX };

/* CallResult (`metadata.phone_call.call_result`, SDK 2.73.0 only). */
enum conv_call_result {
	CONV_CALL_NONE, /* absent or null, or no phone_call */
	CONV_CALL_ANSWERED,
	CONV_CALL_VOICEMAIL,
	CONV_CALL_BUSY,
	CONV_CALL_NO_ANSWER,
	CONV_CALL_FAILED,
	CONV_CALL_OTHER, /* a string this build does not know */
	CONV_CALL__MAX
};

/* call_initiation_failure `failure_reason` ("no-answer" with a hyphen).
 * A string this build does not know reads as unknown. */
enum conv_failure_reason { CONV_FAILURE_BUSY, CONV_FAILURE_NO_ANSWER, CONV_FAILURE_UNKNOWN, CONV_FAILURE__MAX };

/* Wire names, and back. */
const char *conv_status_name(enum conv_status s);
enum conv_status conv_status_from_name(const char *s);
const char *conv_verdict_name(enum conv_verdict v);
enum conv_verdict conv_verdict_from_name(const char *s);
/* NULL for CONV_CALL_NONE; "unknown" for CONV_CALL_OTHER. */
const char *conv_call_result_name(enum conv_call_result c);
enum conv_call_result conv_call_result_from_name(const char *s);
const char *conv_failure_reason_name(enum conv_failure_reason f);
enum conv_failure_reason conv_failure_reason_from_name(const char *s);

/* One data collection result: its id (the map key) and its value as
 * compact JSON text exactly as sent ("null" when absent or null). */
struct conv_data {
	char *id;
	char *value;
};

/* One evaluation criterion's result. */
struct conv_eval {
	char *id;
	enum conv_verdict result;
};

struct conv {
	char *conversation_id;         /* non-empty */
	char *agent_id;
	enum conv_status status;
	int64_t start_time_unix_secs;  /* 0..CODEC_TIME_MAX */
	int64_t call_duration_secs;    /* 0..CONV_DURATION_MAX */
	char *termination_reason;      /* free text; "" when absent or null */
	enum conv_call_result call_result;
	char *batch_call_id;           /* metadata.batch_call, or NULL (not a batch call) */
	char *batch_call_recipient_id; /* set exactly when batch_call_id is */
	bool has_analysis;             /* analysis is an object (not null, not absent) */
	enum conv_verdict call_successful; /* CONV_UNKNOWN without analysis */
	char *transcript_summary;      /* NULL when absent or null */
	struct conv_data *data;        /* sorted by id (bytes), ids unique */
	size_t n_data;
	struct conv_eval *evals;       /* sorted by id (bytes), ids unique */
	size_t n_evals;
	size_t transcript_turns;       /* items of `transcript` (0: absent, null or []) */
};

/* A call_initiation_failure event's data. */
struct conv_failure {
	char *agent_id;
	char *conversation_id; /* non-empty */
	enum conv_failure_reason reason;
};

/* A call longer than a year is not the documented JSON (the bound keeps
 * start + duration and its arithmetic far from overflow). */
#define CONV_DURATION_MAX INT64_C(31622400)
/* A conversation body: bytes of text, and what json-c may spend on the
 * part of it that is built. The transcript (hundreds of turns with tool
 * calls and diagnostics: megabytes for a long call) and the echoed
 * conversation_initiation_client_data are set aside: checked against the
 * grammar, their turns counted (each must be an object), never built, so
 * they are priced by the body cap alone; what remains of a documented
 * conversation costs json-c a few hundred KiB. */
#define CONV_MAX_BODY ((size_t)64 << 20)
#define CONV_MAX_PARSE_COST ((size_t)32 << 20)

/* Parse a GET /v1/convai/conversations/{id} body: 0 and *ret filled, or
 * -EBADMSG with *cause (caller frees; may be NULL) naming the key path;
 * *ret untouched on failure.
 * Required (§3.1, §3.3): conversation_id (non-empty), agent_id, status,
 * metadata with start_time_unix_secs and call_duration_secs, has_audio,
 * has_user_audio, has_response_audio. `transcript` may be absent (a
 * webhook with exclude_transcript). In metadata.phone_call of a known
 * type, in metadata.batch_call, in each evaluation criterion and data
 * collection item, the document's required keys too. Optional documented
 * keys are type-checked, unknown keys ignored. */
int conv_parse(const char *body, size_t len, struct conv *ret, char **cause);

/* The conversations log (STATE_DIR/conversations/conversations-N.jsonl):
 * one line per conversation fetched, {"kept_ms":MS,"conversation":BODY}
 * with the body as received, its line ends made blanks (JSON allows no raw
 * CR or LF inside a string, so the body means the same). conv_log_line
 * makes the line, LF included (caller frees); conv_log_parse reads one
 * line (its LF left out) into *ret_kept_ms and *ret like conv_parse, or
 * -EBADMSG with *cause (caller frees; may be NULL), outputs untouched. */
char *conv_log_line(int64_t kept_ms, const char *body, size_t len, size_t *ret_len);
int conv_log_parse(const char *line, size_t len, int64_t *ret_kept_ms, struct conv *ret, char **cause);

/* For webhook.c, which parses the same object as an envelope's `data`:
 * the set-aside and capture rule for a conversation whose members are at
 * path level `base` (0: the body is the conversation), and the reading of
 * that object from a parsed document. */
#define CONV_ASIDE_TRANSCRIPT 0
#define CONV_ASIDE_CLIENT_DATA 1
enum jsonin_take conv_json_rule(const struct jsonin_path *p, int base, unsigned char first, int *ret_tag);
int conv_from_json(json_object *o, const char *prefix, const struct jsonin_doc *doc, struct conv *ret,
		   char **cause);

/* How much c says, for keeping the better of two versions of one
 * conversation: 3 final (done with its analysis, or failed), 2 done
 * without analysis, 1 processing, 0 still under way or unknown. */
int conv_completeness(const struct conv *c);
/* Whether nothing more is to come of c (conv_completeness 3): fetching
 * it again would tell nothing new. */
bool conv_final(const struct conv *c);
/* Whether c should replace kept, a version of the same conversation
 * known before: only when it says strictly more (conv_completeness). Of
 * two that say as much the first kept stays, so that what is kept never
 * goes backwards and never changes between a restart and the next. */
bool conv_supersedes(const struct conv *c, const struct conv *kept);

/* Whether a conversation or failure known since seen_ms (unix ms: its
 * log line's kept_ms, its file's last write, or when it came) is still
 * kept in memory at now_ms:
 * while an occurrence held in memory names it (owned), unless that
 * occurrence was let go (gone: its runs were pruned, no row of it is
 * written again), else for retention_s, as its file is kept in the
 * state folder (state_retention). */
bool conv_retained(int64_t seen_ms, bool owned, bool gone, int64_t now_ms, int64_t retention_s);

/* Free what each holds and zero it (NULL accepted). */
void conv_clear(struct conv *c);
void conv_failure_clear(struct conv_failure *f);

#endif
