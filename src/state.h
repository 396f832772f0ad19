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
 *    "sent_digest": "hex64", "lookup_only": bool, "uncertain": bool, "settle_ms": ms, "retries": n,
 *    "retry_expect": n, "due_ms": ms, "gen": n, "submit_at_ms": ms, "close_ms": ms, "part": "..." | null,
 *    "zone": "..." | null, "recipients": ["+1555..."] | null, "follow": "resume" | "pause" | null,
 *    "follow_n": n, "unfinished": [...] | null, "failures": n, "cancel_wanted": bool,
 *    "removing": bool, "late_logged": bool,
 *    "batch": {"status": "...", "created_at_unix": ..., "scheduled_time_unix": ...,
 *              "last_updated_at_unix": ..., "total_calls_dispatched": ...,
 *              "total_calls_scheduled": ..., "total_calls_finished": ...,
 *              "retry_count": ...},
 *    "counts": {"pending": n, ..., "voicemail": n, "unknown": n} | null,
 *    "error": "..." | null, "submitted_at": unix, "finished_at": unix}
 * A reader of version N accepts every version <= N; unknown keys are ignored
 * so that a downgrade keeps working. "gen" rises with every write of the
 * run: when a run appears in several places (its file and a journal of
 * the store), the highest gen is the newest. Keys added after the first
 * version 1 files (settle_ms, gen, submit_at_ms, close_ms, part, zone, recipients, follow,
 * follow_n, unfinished, first_intent_ms, sent_count, sent_digest, lookup_only) read as 0,
 * false or null when absent.
 */
#ifndef BC_STATE_H
#define BC_STATE_H

#include <stddef.h>

#include "job.h"

#define STATE_VERSION 1

/* Serialise r; the caller frees. */
char *state_format(const struct run *r);
/* Parse a state document into a new run: 0, or -EBADMSG with *cause. */
int state_parse(const char *text, size_t len, struct run **ret, char **cause);

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
