/*
 * control: the daemon's control socket. HTTP/1.1 + JSON over the unix
 * socket `control_socket` (mode 0660, group `control_group`), served by
 * libevent's evhttp on the engine's loop:
 *
 *   GET  /v1/jobs                     every job with its run
 *   GET  /v1/jobs/NAME                one job, with its definition
 *   POST /v1/jobs/NAME/cancel|retry|trigger|pause|resume
 *   GET  /v1/jobs/NAME/results[/START] a run's result rows (START: unix
 *                                     seconds of the occurrence; none: the
 *                                     latest)
 *   GET  /metrics                     Prometheus text format 0.0.4
 *
 * and, when `metrics_listen` is set, GET /metrics alone on that TCP
 * address. Errors are {"error": {"code", "message"}}. Hostile clients are
 * bounded: header and body sizes, idle and total time per connection, and
 * a cap on open connections (beyond it a connection gets a 503 and is
 * closed at once); every handler is O(jobs), so scheduling stays on time.
 *
 * The request handling (control_handle) knows no sockets and reads the
 * daemon through a table of functions, so a fuzz target can drive it.
 */
#ifndef BC_CONTROL_H
#define BC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlview.h"
#include "engine.h"
#include "log.h"
#include "run.h"
#include "jobspec.h"

struct control;
struct event_base;

#define CONTROL_MAX_BODY (64 * 1024)
#define CONTROL_MAX_HEADERS (8 * 1024)
#define CONTROL_MAX_CONNECTIONS 256
/* The metrics listener's own cap: a scraper flood never takes the control
 * socket's room. */
#define CONTROL_MAX_METRICS_CONNECTIONS 16
/* After a failed accept the listener pauses: BACKOFF_ACCEPT (backoff.h). */
#define CONTROL_IDLE_TIMEOUT_S 5
#define CONTROL_CONN_LIFETIME_S 30

/* What the handler reads and asks of the daemon. */
struct control_source {
	void *ctx;
	const struct daemonconf *(*conf)(void *ctx);
	size_t (*n_runs)(void *ctx);
	const struct run *(*run_at)(void *ctx, size_t i);
	const struct run *(*run_of)(void *ctx, const char *job);
	/* 0, or a negative errno with *why (static text) */
	int (*request)(void *ctx, const char *job, int kind, const char **why);
	const struct stats *(*stats)(void *ctx);
	/* A run's result rows as a JSON document (report.h's report_render;
	 * start 0: the latest); 0 and *ret (caller frees), or a negative errno
	 * with *why. NULL: the route answers 404. */
	int (*results)(void *ctx, const char *job, int64_t start, char **ret, const char **why);
	/* What the results files of run r's occurrence say (NULL: nothing). */
	void (*results_counts)(void *ctx, const struct run *r, struct ctlview_results *ret);
};

/* Counters of the socket itself, shown on the metrics page. */
struct control_counters {
	uint64_t connections;
	uint64_t refused;
	uint64_t accept_errors;
	uint64_t requests[6]; /* by status class */
};

struct control_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* without query or fragment */
	const char *body;
	size_t body_len;
	bool metrics_only; /* the TCP listener: GET /metrics and nothing else */
	/* Who is asking (SO_PEERCRED of the unix socket), NULL when unknown;
	 * operations are logged with it. */
	const struct log_peer *peer;
};

struct control_response {
	int status;
	const char *content_type; /* static */
	const char *allow;        /* Allow header of a 405, static, or NULL */
	char *body;               /* the caller frees */
	size_t body_len;
};

/* Answer one request at unix time now. Never fails: every input gets a
 * status and a body. */
void control_handle(const struct control_source *src, const struct control_counters *cnt,
		    const struct control_request *req, int64_t now, struct control_response *ret);

/* Listen on conf's control_socket (and metrics_listen) for engine e.
 * 0, or a negative errno with *cause (caller frees). */
int control_new(struct event_base *base, struct engine *e, const struct daemonconf *conf, struct control **ret,
		char **cause);
/* Close every connection and remove the socket file. */
void control_free(struct control *c);

#endif
