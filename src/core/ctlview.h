/*
 * ctlview: what the control socket says and how batchcallctl shows it.
 *
 * Pure: runs and job definitions become the JSON texts of the control
 * API; those documents (as the daemon sent them) become the human `status`
 * table and `show JOB` page; engine counters become Prometheus text. The
 * caller passes `now`, the terminal width and whether to colour, so golden
 * tests can pin every byte. No clock, no sockets, no files.
 */
#ifndef BC_CTLVIEW_H
#define BC_CTLVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"
#include "run.h"
#include "jobspec.h"

struct json_object;

/* What the results files of a run's occurrence say, as of their last
 * write (issue 14): rows, recipients whose call was answered (their
 * batch entry completed), and conversations the agent's analysis called
 * successful. */
struct ctlview_results {
	bool known; /* false: no results written yet ("results": null) */
	int64_t rows, answered, successful;
	/* the occurrence's next follow-up touch (occur_touch_next): 0 none;
	 * else its number, and when it is due (0: once the touch before it
	 * ended) */
	int touch_next;
	int64_t touch_due;
};

/* One job for the API as compact JSON text: its run r and definition spec
 * (NULL when the job left the files), with the definition; res may be
 * NULL. Caller frees. */
char *ctlview_job_text(const struct run *r, const struct jobspec *spec, const struct ctlview_results *res);

/* GET /v1/jobs: {"now": unix, "jobs": [...]} of n runs (specs[i] may be
 * NULL; res NULL, or one per run), without definitions. Caller frees. */
char *ctlview_jobs_text(const struct run *const *runs, const struct jobspec *const *specs,
			const struct ctlview_results *res, size_t n, int64_t now);

/* The error body {"error": {"code": code, "message": message}}; the
 * caller frees the text. */
char *ctlview_error_text(const char *code, const char *message);

/* How the human renderings may look. */
struct ctlview_style {
	int width;   /* terminal columns; 0: no limit (a pipe) */
	bool colour; /* ANSI colours */
};

/* "in 3h 12m", "5m ago", "now" for instant t seen at now. */
void ctlview_relative(int64_t t, int64_t now, char *buf, size_t size);

/* The `status` table of a GET /v1/jobs document. Caller frees. */
char *ctlview_status_text(const struct json_object *doc, int64_t now, const struct ctlview_style *st);

/* The `show JOB` page of a GET /v1/jobs/NAME document. Caller frees. */
char *ctlview_show_text(const struct json_object *job, int64_t now, const struct ctlview_style *st);

/* What the metrics page is made of; the shell fills it. */
struct ctlview_metrics {
	const struct stats *stats;
	const double *lateness_bounds; /* n_lateness_bounds finite bounds, then +Inf */
	size_t n_lateness_bounds;
	const char *const *op_names; /* api_op names, n_ops of them */
	size_t n_ops;
	const struct run *const *runs;
	size_t n_runs;
	const char *version;
	uint64_t control_connections;     /* open now */
	uint64_t control_refused;         /* connections refused at the cap */
	uint64_t control_accept_errors;   /* accept() failures (EMFILE, ...) */
	uint64_t control_requests[6];     /* by status class: [0] unused, [1] 1xx .. [5] 5xx */
};

/* Prometheus text format 0.0.4. Caller frees. */
char *ctlview_metrics_text(const struct ctlview_metrics *m);

#endif
