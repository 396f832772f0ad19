/*
 * stats: the daemon's counters for metrics, monotonic since start, and the
 * submit lateness histogram. Plain values: the engine counts, the views
 * (ctlview) render.
 */
#ifndef BC_STATS_H
#define BC_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "apiclock.h"

/* Submit lateness histogram bounds, seconds (the last bucket is +Inf). */
#define STATS_LATENESS_BUCKETS 12
extern const double stats_lateness_bounds[STATS_LATENESS_BUCKETS - 1];

/* One HTTP server's connections: open now, refused at its cap, failed
 * accepts (EMFILE, ...; each pauses its listener briefly). */
struct stats_conns {
	uint64_t open, refused, accept_errors;
};

struct stats {
	uint64_t submits_ok, submits_failed, submits_rejected, adopted;
	uint64_t retries, cancels, missed, late, polls, list_requests, get_requests;
	/* API requests by api_op and status class: [0] no answer, [1] 1xx,
	 * [2] 2xx, ... [5] 5xx. */
	uint64_t api_requests[8][6];
	uint64_t reloads_ok, reloads_failed;
	uint64_t results_files_written, results_files_failed;
	/* recipients the do-not-call lists left out of a submit body, and out
	 * of a retry (which then went to a follow-up run) */
	uint64_t suppressed_submit, suppressed_retry;
	/* targets on the lists of `suppression`, and on the daemon's own */
	uint64_t suppress_entries_files, suppress_entries_own;
	/* recipients the contact limits left out of a submit, and of a retry;
	 * contacts the ledger holds */
	uint64_t contact_limited_submit, contact_limited_retry, ledger_entries;
	/* post-call webhooks: received, verified (signature good), refused by
	 * webhook_verdict (webhook.h), malformed bodies, and what became of
	 * the verified ones */
	uint64_t webhooks_received, webhooks_verified, webhooks_refused[8], webhooks_malformed;
	uint64_t webhooks_stored, webhooks_duplicate, webhooks_dropped, webhooks_failed;
	struct stats_conns webhook_conns; /* the receiver's connections */
	int64_t last_reload_unix; /* 0: never reloaded */
	bool last_reload_ok;
	int64_t started_unix;
	/* How late each first submit was handed to the HTTP layer, after
	 * its due instant: cumulative counts per bound, then +Inf. */
	uint64_t lateness_buckets[STATS_LATENESS_BUCKETS];
	double lateness_sum;
	uint64_t lateness_count;
	/* the API's clock from its answers (apiclock.h), for lookups and
	 * the metric */
	struct api_clock api_clock;
};

/* Count one first submit late_ms after its due instant. */
void stats_note_lateness(struct stats *s, int64_t late_ms);

#endif
