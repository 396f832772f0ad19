/*
 * state: the on-disk form of a run (one JSON document per run, versioned),
 * and back. Pure: text in, struct out. The reader treats anything it cannot
 * fully trust as damage and says so; it never guesses.
 *
 * Format (version 1), every key always written:
 *   {"format": "batchcalld-run", "version": 1, "job": "...", "start": unix,
 *    "call_name": "...", "agent_id": "...", "state": "submitting",
 *    "on_removal": "cancel", "batch_id": "btcal_..." | null, "digest": "hex64",
 *    "submit_attempts": n, "intent_ms": ms, "uncertain": bool, "settle_ms": ms, "retries": n,
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
 * follow_n, unfinished) read as 0 or null when
 * absent.
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

#endif
