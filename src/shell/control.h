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
 *   POST /v1/suppressions             {"number": "+1555…", "reason": "…"}: add to the
 *                                     daemon's own do-not-call list, durably
 *   GET  /v1/cluster                  cluster mode: this node, the leader, the
 *                                     members, the lease, etcd's health
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
struct control_server;
struct event_base;
struct evconnlistener;
struct evhttp_connection;
struct evhttp_request;

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
	/* Add a target to the daemon's own do-not-call list, durably
	 * (engine_suppress): 0 added, 1 already there, -EINVAL or another
	 * negative errno with *why. NULL: the route answers 404. */
	int (*suppress)(void *ctx, const char *target, const char *reason, const struct log_peer *peer, char *normal,
			const char **why);
	/* Cluster mode (cluster.h): GET /v1/cluster, the cluster's series on
	 * the metrics page, and who leads in GET /v1/jobs. NULL: one node. */
	struct cluster *cluster;
};

/* Counters of the socket itself, shown on the metrics page. */
struct control_counters {
	struct stats_conns conns; /* the control socket's and the metrics listener's */
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
/* The same for any source (copied): a cluster's standby serves its own
 * (standby.h) until it leads. */
int control_new_src(struct event_base *base, const struct control_source *src, const struct daemonconf *conf,
		    struct control **ret, char **cause);
/* Serve src from now on (copied): the engine's, once a standby leads. */
void control_set_source(struct control *c, const struct control_source *src);
/* The engine's source. */
void control_engine_source(struct engine *e, struct control_source *ret);
/* Close every connection and remove the socket file. */
void control_free(struct control *c);

/* A further HTTP server on the control module's loop (the webhook
 * receiver): the same defences as the control socket's, with its own
 * limits. */
struct control_serve {
	const char *what;   /* for messages: the address (kept, must outlive the server) */
	size_t max_conns;   /* beyond it a connection gets busy and is closed */
	int lifetime_s;     /* a connection is closed after it, whatever it does */
	int idle_timeout_s; /* evhttp's timeout */
	size_t max_body, max_headers;
	const char *busy;   /* the whole HTTP response of a refusal (static) */
	struct stats_conns *cnt; /* counted here (must outlive the server) */
	void (*request_cb)(struct evhttp_request *req, void *arg);
	void *arg;
};

/* Serve listener l (taken over, freed on failure) as o says. 0 and *ret,
 * or a negative errno. */
int control_serve(struct control *c, struct evconnlistener *l, const struct control_serve *o,
		  struct control_server **ret);
/* Call cb(arg) when evcon, a connection of s, closes (cb NULL: no longer).
 * The connection's close callback is the control module's: never set it
 * elsewhere. */
void control_server_watch(struct control_server *s, struct evhttp_connection *evcon, void (*cb)(void *arg),
			  void *arg);
/* Stop serving and close its connections (NULL accepted); before
 * control_free. */
void control_server_free(struct control_server *s);

#endif
