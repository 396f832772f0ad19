/*
 * stats: the daemon's counters for metrics, monotonic since start, and the
 * submit lateness histogram. Plain values: the engine counts, the views
 * (ctlview) render.
 */
#ifndef BC_STATS_H
#define BC_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclock.h"

/* Submit lateness histogram bounds, seconds (the last bucket is +Inf). */
#define STATS_LATENESS_BUCKETS 12
extern const double stats_lateness_bounds[STATS_LATENESS_BUCKETS - 1];

/* A Prometheus histogram of seconds: counts per bound, cumulative (a
 * bound is inclusive), the last one +Inf; the largest value seen too. */
#define STATS_HIST_MAX 20
struct stats_hist {
	uint64_t buckets[STATS_HIST_MAX];
	double sum, max;
	uint64_t count;
};

/* The stages of a first submit, each measured from its due instant:
 * the timer fired, its intent was durable (the group commit's sync),
 * the request was handed to the HTTP layer, its connection was up (or
 * taken for reuse), its first byte was about to be written, its answer
 * was read. */
enum stats_stage {
	STATS_STAGE_FIRED,
	STATS_STAGE_DURABLE,
	STATS_STAGE_QUEUED,
	STATS_STAGE_CONNECTED,
	STATS_STAGE_WRITTEN,
	STATS_STAGE_ANSWERED,
	STATS_STAGE__MAX
};

/* Bounds of the stage histograms and of the added latency, seconds
 * (finite ones; +Inf follows). */
#define STATS_STAGE_BOUNDS 16
extern const double stats_stage_bounds[STATS_STAGE_BOUNDS];
#define STATS_ADDED_BOUNDS 19
extern const double stats_added_bounds[STATS_ADDED_BOUNDS];

/* The instants of one first submit, microseconds on one clock; 0: not
 * reached (no connection, no answer, ...). slot_free_us: when the
 * concurrency slot it took became free (0: free since before its due
 * instant mattered). */
struct stats_submit_times {
	int64_t due_us, slot_free_us;
	int64_t at_us[STATS_STAGE__MAX];
};

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
	/* first submits: each stage from the due instant, and the added
	 * latency (stats_added_latency_us) */
	struct stats_hist stage[STATS_STAGE__MAX];
	struct stats_hist added;
	/* the API's clock from its answers (apiclock.h), for lookups and
	 * the metric */
	struct api_clock api_clock;
};

/* Count one first submit late_ms after its due instant. */
void stats_note_lateness(struct stats *s, int64_t late_ms);

/* "fired", "durable", ... for metrics. */
const char *stats_stage_name(enum stats_stage st);

/* Count v seconds in h, whose n_bounds finite bounds (n_bounds <
 * STATS_HIST_MAX) are bounds; below 0 counts as 0. */
void stats_hist_note(struct stats_hist *h, const double *bounds, size_t n_bounds, double v);

/* The latency the daemon added to a submit: the instant its first byte
 * was written minus the later of its due instant and the moment its
 * concurrency slot became free; never below 0. -1 when it was never
 * written. */
int64_t stats_added_latency_us(const struct stats_submit_times *t);

/* Count one first submit: every stage it reached (one reached before the
 * due instant counts as 0), and its added latency once written. */
void stats_note_submit(struct stats *s, const struct stats_submit_times *t);

#endif
