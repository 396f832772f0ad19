/*
 * cluster: active/standby nodes on etcd (the daemon key `cluster`). Every
 * node holds a lease of lease_ttl seconds, renewed on the event loop every
 * lease_ttl/3, and a member key on it (PREFIX "members/" NAME). A node
 * campaigns with one transaction: create PREFIX "leader" on its lease if
 * the key is absent, else read it. The winner is the leader; the create
 * revision of the leader key is its fencing token (every state write
 * compares it, store_etcd_open). Standbys campaign again four times a
 * second, so a leader key that goes (its lease expired, or resigned) is
 * taken within a quarter of a second.
 *
 * The leader's own clock (CLOCK_BOOTTIME) bounds what it sends: its lease
 * runs out, as far as it knows, lease_ttl after it SENT the last keepalive
 * that etcd answered (etcd counts from when it received it: later). The fence
 * (cluster_fence_ok) holds only while more than lease_ttl/3 of that is
 * left; every non-idempotent API request asks it as it leaves the queue
 * and again just before its first byte is written (http_set_fence). At the
 * end of its lease, when etcd says the lease is gone, when the leader key
 * is no longer its own, or when a fenced write is refused, the leader
 * steps down by exiting at once (status CLUSTER_EXIT_LOST; systemd
 * restarts it as a standby): nothing it had in flight is carried on.
 *
 * A new leader acts (cluster_hooks.lead) only once the previous leader
 * certainly cannot: at once when etcd says the previous leader's lease is
 * gone, otherwise after revoking it and waiting one lease_ttl (the longest
 * the previous leader's own clock lets it send). The argument and its
 * clock assumptions are in README "Running more than one node".
 */
#ifndef BC_CLUSTER_H
#define BC_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"

struct cluster;
struct etcd;
struct event_base;
struct sbuf;

/* The exit status of a leader that lost its leadership (EX_TEMPFAIL):
 * the unit's Restart=on-failure brings it back as a standby. */
#define CLUSTER_EXIT_LOST 75

enum cluster_role {
	CLUSTER_STARTING, /* no lease yet */
	CLUSTER_STANDBY,
	CLUSTER_TAKING,   /* holds the leader key, waits for the previous leader's lease */
	CLUSTER_LEADER,
};

struct cluster_hooks {
	/* This node leads from now on (called once). */
	void (*lead)(void *arg);
	void *arg;
};

/* A cluster client on base for configuration k (copied); digest names the
 * job files loaded (cluster_digest); its counters outlive a step-down in
 * STATE_DIR/cluster-counters. Nothing is sent before cluster_start. 0, or a
 * negative errno with *cause. */
int cluster_new(struct event_base *base, const struct clusterconf *k, const char *state_dir, const char *digest,
		struct cluster **ret, char **cause);
void cluster_start(struct cluster *c, const struct cluster_hooks *h);
/* The digest of the job files of c: every job's name and digest (64 hex
 * digits and a NUL into out). */
void cluster_digest(const struct daemonconf *c, char out[65]);
/* After a reload: the job files' new digest. */
void cluster_set_digest(struct cluster *c, const char *digest);
/* Whether this node may send a non-idempotent request now (an http_go_cb:
 * arg is the cluster). */
bool cluster_fence_ok(void *arg);
/* A fenced write was refused (store_etcd_open's fenced: arg is the
 * cluster): the leadership is gone, step down. */
void cluster_fenced(void *arg);
/* Give up the leadership (a graceful stop, after the engine stopped):
 * revoke the lease so that a standby takes over at once. Blocks for at
 * most the etcd timeout. */
void cluster_resign(struct cluster *c);
void cluster_free(struct cluster *c);

enum cluster_role cluster_role(const struct cluster *c);
struct etcd *cluster_etcd(struct cluster *c);
const char *cluster_leader_key(const struct cluster *c);
int64_t cluster_fence_rev(const struct cluster *c);
const char *cluster_prefix(const struct cluster *c);
const char *cluster_node(const struct cluster *c);
/* The leader as this node last saw it ("" when none). */
const char *cluster_leader_name(const struct cluster *c);

/* GET /v1/cluster: this node, the leader, the members, the lease left and
 * each etcd endpoint's health, as one JSON document (asks etcd: blocks for
 * at most the etcd timeout per endpoint). The caller frees. */
char *cluster_info_json(struct cluster *c);
/* The cluster's series of the metrics page. */
void cluster_metrics(const struct cluster *c, struct sbuf *out);

#endif
