/*
 * hook: the post-call webhook receiver (webhook_listen); see hook.c.
 */
#ifndef BC_HOOK_H
#define BC_HOOK_H

struct control;
struct engine;
struct event_base;
struct hook;

/* Listen on addr ("HOST:PORT") for post-call webhooks signed with secret
 * (copied), served as a further server of control c (its connection cap,
 * lifetime and accept backoff). 0 and *ret, or a negative errno with
 * *cause (caller frees). */
int hook_new(struct event_base *base, struct engine *e, struct control *c, const char *addr, const char *secret,
	     struct hook **ret, char **cause);
struct engine_shared;
/* Cluster mode, a standby (no engine): the same receiver, whose verified
 * events go to etcd only (sh's client and prefix; the client stays the
 * caller's and must outlive the hook), under webhook_tolerance tolerance
 * (seconds). 0 and *ret, or a negative errno with *cause. */
int hook_new_standby(struct event_base *base, const struct engine_shared *sh, int tolerance, struct control *c,
		     const char *addr, const char *secret, struct hook **ret, char **cause);
/* A standby's reload changed webhook_tolerance. */
void hook_set_tolerance(struct hook *h, int tolerance);
/* The node leads: the standby's receiver h works for engine e from now on
 * (the same socket; events waiting for their commit go to e), and e knows
 * a receiver listens. Before engine_start. Nothing for a hook that has an
 * engine already. */
void hook_set_engine(struct hook *h, struct engine *e);
/* Stop listening and free (NULL accepted); before control_free and
 * before engine_free of its engine. */
void hook_free(struct hook *h);

#endif
