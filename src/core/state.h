/*
 * state: the on-disk form of a run (one JSON document per run, versioned),
 * and back. Pure: text in, struct out. The reader treats anything it cannot
 * fully trust as damage and says so; it never guesses.
 *
 * Format (version 1), every key always written:
 *   {"format": "batchcalld-run", "version": 1, "job": "...", "start": unix,
 *    "call_name": "...", "agent_id": "...", "state": "submitting",
 *    "on_removal": "cancel", "batch_id": "btcal_..." | null, "digest": "hex64",
 *    "submit_attempts": n, "intent_ms": ms, "first_intent_ms": ms, "sent_count": n,
 *    "sent_digest": "hex64", "lookup_only": bool, "removal_cancel": bool, "uncertain": bool,
 *    "settle_ms": ms, "retries": n,
 *    "retry_expect": n, "due_ms": ms, "gen": n, "submit_at_ms": ms, "close_ms": ms, "part": "..." | null,
 *    "zone": "..." | null, "recipients": ["+1555..."] | null, "follow": "resume" | "pause" | null,
 *    "follow_n": n, "unfinished": [...] | null, "suppressed": [...] | null,
 *    "over_limit": [...] (absent when empty), "contact_tag": "hex64" and "contact_base": n (absent: 0),
 *    "retry_recipients": [...] | null, "failures": n, "cancel_wanted": bool,
 *    "removing": bool, "late_logged": bool,
 *    "batch": {"status": "...", "created_at_unix": ..., "scheduled_time_unix": ...,
 *              "last_updated_at_unix": ..., "total_calls_dispatched": ...,
 *              "total_calls_scheduled": ..., "total_calls_finished": ...,
 *              "retry_count": ...},
 *    "counts": {"pending": n, ..., "voicemail": n, "unknown": n} | null,
 *    "error": "..." | null, "submitted_at": unix, "finished_at": unix,
 *    "finished_ms": ms}
 * A reader of version N accepts every version <= N; unknown keys are ignored
 * so that a downgrade keeps working. "gen" rises with every write of the
 * run: when a run appears in several places (its file and a journal of
 * the store), the highest gen is the newest. Keys added after the first
 * version 1 files (settle_ms, gen, submit_at_ms, close_ms, part, zone, recipients, follow,
 * follow_n, unfinished, first_intent_ms, sent_count, sent_digest, lookup_only, removal_cancel,
 * finished_ms, suppressed, retry_recipients, over_limit, contact_tag, contact_base) read as 0,
 * false or null when absent.
 */
#ifndef BC_STATE_H
#define BC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "run.h"

#define STATE_VERSION 1

/* The domain of a record: every run the daemon can produce is written, and
 * read back equal; anything outside it is damage (tests/core/test_state.c
 * checks both with random runs).
 * - job: a valid job name; call_name: not empty; batch_id: null or not
 *   empty; agent_id, part, zone, error: null or a string; recipients: null
 *   or a list of strings, unfinished, suppressed and over_limit: a list of
 *   strings (written null, or for over_limit not at all, when empty),
 *   contact_tag: any 64-bit value, retry_recipients: null (not known) or a
 *   list of strings. Strings hold any bytes but NUL.
 * - start: STATE_START_MIN..STATE_START_MAX, every instant a job's start
 *   can name: a local time in years 0000..9999 at any UTC offset the tz
 *   database allows (-25 h..+26 h), or a scheduled_time_unix (0..end of 9999).
 * - submit_attempts, retries, follow_n, failures: 0..STATE_COUNT_MAX; the
 *   machine saturates them there (state_count_up), so that years of faults
 *   never make a record the reader refuses.
 * - retry_expect: 0..CODEC_RETRY_COUNT_MAX + 1 (a retry_count plus one).
 * - intent_ms, settle_ms, submit_at_ms, close_ms: 0..STATE_INT_MAX, clock
 *   readings and deadlines after 1970. due_ms: -STATE_INT_MAX..STATE_INT_MAX:
 *   a run's instant minus submit_ahead may lie before 1970 (due at once).
 * - gen: 0..INT64_MAX (one step per write); digest: any 64 bits.
 * - batch: status any batch_status, integers within codec.h's bounds (the
 *   snapshot comes from the codec); counts, submitted_at, finished_at,
 *   finished_ms: 0..STATE_INT_MAX.
 * - op is not written: it reads as OP_NONE. */
#define STATE_START_MIN (INT64_C(-62167219200) - 26 * 3600) /* 0000-01-01 00:00 at UTC+26 */
#define STATE_START_MAX (INT64_C(253402300799) + 25 * 3600) /* 9999-12-31 23:59:59 at UTC-25 */
#define STATE_COUNT_MAX 1000000
/* Far past any clock reading, and small enough that a deadline added to
 * one cannot overflow. */
#define STATE_INT_MAX (INT64_MAX / 4)

/* Count one more of n, saturating at STATE_COUNT_MAX. */
static inline void state_count_up(int *n)
{
	if (*n < STATE_COUNT_MAX)
		(*n)++;
}

/* Serialise r; the caller frees. */
char *state_format(const struct run *r);
/* Parse a state document into a new run: 0, or -EBADMSG with *cause. */
int state_parse(const char *text, size_t len, struct run **ret, char **cause);

/*
 * A removal in an append-only journal: the line
 * {"remove":{"job":JOB,"start":START,"part":PART|null}} says that no record
 * of that run written before it (earlier in the journals, or in its own
 * file) stands any more.
 */
/* The line for (job, start, part) without its newline; caller frees. */
char *state_tombstone_format(const char *job, int64_t start, const char *part);
/* 0 with the run's identity (caller frees *ret_job and *ret_part, which is
 * NULL for a whole run) when text is a removal line; -EINVAL when it is
 * not one (a run record, damage). */
int state_tombstone_parse(const char *text, size_t len, char **ret_job, int64_t *ret_start, char **ret_part);

/*
 * The identity of a run as a file name: JOB@START.json for a whole run,
 * JOB@START@PART.json for a part (a zone group, a follow-up). PART is
 * percent-encoded (every byte but A-Z a-z 0-9 '+' ',' '-' as %XX), so that
 * a name stands for exactly one (job, start, part) and can be read back
 * when the file itself is damaged. The first version wrote parts with '/'
 * as '~' and ' ' as '_'; such names are still read.
 */
/* The file name of (job, start, part); part may be NULL. Caller frees. */
char *state_file_name(const char *job, int64_t start, const char *part);
/* The identity a file name stands for: 0 with *ret_job, *ret_start and
 * *ret_part (NULL for a whole run; the caller frees both strings), and
 * *ret_legacy when the name is of the first version's form; -EINVAL when
 * name is not a run file's. */
int state_file_key(const char *name, char **ret_job, int64_t *ret_start, char **ret_part, bool *ret_legacy);

#endif
