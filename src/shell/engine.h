/*
 * engine: the daemon's event loop. It owns the configuration, the runs and
 * the state folder, wakes at the earliest due instant (a CLOCK_REALTIME
 * timerfd armed at the absolute instant, so a run is submitted when its time
 * arrives and never before, without polling the clock), polls active
 * batches through the workspace list, and carries out the actions the run
 * state machine (run.c) returns.
 */
#ifndef BC_ENGINE_H
#define BC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "jobspec.h"
#include "log.h"
#include "stats.h"

struct engine;
struct event_base;
struct run;

/* Create an engine for an already loaded configuration (taken over) and an
 * API key (copied). Opens and locks the state folder and loads the runs.
 * 0, or a negative errno with *cause. */
int engine_new(struct event_base *base, const char *config_path, struct daemonconf *conf,
	       const char *api_key, struct engine **ret, char **cause);
struct etcd;
/* Cluster mode: what the leader keeps in etcd instead of the state folder
 * (the run records, the daemon's own do-not-call list, the contact ledger,
 * the post-call events), every write fenced on fence_key's create
 * revision fence_rev; a refusal calls fenced(arg). The caller's, for the
 * engine's life. */
struct engine_shared {
	struct etcd *etcd;
	const char *prefix;    /* key_prefix */
	const char *fence_key; /* PREFIX "leader" */
	int64_t fence_rev;
	void (*fenced)(void *arg);
	void *arg;
};
/* The same in cluster mode: shared NULL is engine_new. The state folder
 * still holds the lock, the conversations fetched and the results files. */
int engine_new_shared(struct event_base *base, const char *config_path, struct daemonconf *conf,
		      const char *api_key, const struct engine_shared *shared, struct engine **ret, char **cause);
/* Every non-idempotent API request asks fence(arg) before it is sent
 * (http_set_fence): a cluster leader's lease. Before engine_start. */
void engine_set_fence(struct engine *e, bool (*fence)(void *arg), void *arg);
/* Schedule everything and tell systemd we are ready. */
int engine_start(struct engine *e, int64_t born_ms);
/* Re-read the configuration (SIGHUP). 0, or -EINVAL when it was refused. */
int engine_reload(struct engine *e);
/* Begin a graceful stop (SIGTERM): no new requests, in-flight ones get a
 * bounded time, then the loop exits. */
void engine_stop(struct engine *e);
void engine_free(struct engine *e);

/* Read-only access for the control socket and metrics. */
const struct daemonconf *engine_conf(const struct engine *e);
size_t engine_n_runs(const struct engine *e);
const struct run *engine_run_at(const struct engine *e, size_t i);
const struct run *engine_run_of(const struct engine *e, const char *job);
/* The next follow-up touch of occurrence (job, start): its number (0:
 * none left) and when it is due (0: once the touch before it ended). */
void engine_touch_next(struct engine *e, const char *job, int64_t start, int *ret_touch, int64_t *ret_due);
/* Operator requests: 0, or a negative errno with *why (static text). */
int engine_request(struct engine *e, const char *job, int kind, const char **why);

/* batchcallctl suppress: add target (as the operator typed it) to the
 * daemon's own do-not-call list, durably before it returns, for peer
 * (may be NULL) with reason (may be NULL). Its normal form goes to
 * normal (SUPPRESS_NORMAL_MAX bytes). 0 when added, 1 when the own list
 * held it already (nothing written), -EINVAL with *why for a target that
 * is neither an E.164 number nor whatsapp:ID, another negative errno
 * with *why when the state folder refused it (nothing added). */
int engine_suppress(struct engine *e, const char *target, const char *reason, const struct log_peer *peer,
		    char *normal, const char **why);

/* The daemon's counters (stats.h), for metrics. */
const struct stats *engine_get_stats(const struct engine *e);

#endif
