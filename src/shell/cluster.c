/*
 * cluster: the leadership of a node on etcd (cluster.h). One timer ticks
 * every second: it grants the lease when there is none, campaigns while
 * this node is not the leader, and checks the lease's end by the monotonic
 * clock; the keepalive (with a check that the leader key is still this
 * node's, for a leader) goes every lease_ttl/3. Each kind of call has at
 * most one request in flight.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cluster.h"
#include "etcd.h"
#include "etcdmsg.h"
#include "log.h"
#include "sbuf.h"
#include "sha256.h"
#include "util.h"

struct cluster {
	struct event_base *base;
	struct etcd *etcd;
	struct cluster_hooks hooks;
	char *node;
	char *prefix;
	char *leader_key;
	char *member_key;
	char digest[65];
	int64_t ttl_ms;
	int64_t margin_ms;
	enum cluster_role role;
	int64_t lease_id;
	int64_t lease_end_mono; /* ms: the lease's end as this node knows it */
	int64_t fence_rev;      /* the leader key's create revision (leader, taking) */
	int64_t act_at_mono;    /* taking: when the previous leader certainly cannot send */
	bool member_put;        /* the member key is on the current lease */
	char leader_name[64];   /* the leader as last seen */
	char leader_digest[65];
	int64_t seen_lease;     /* the lease of the leader key as last seen (0: none seen) */
	int64_t seen_rev;       /* its create revision */
	bool digest_warned;
	bool unreachable;       /* etcd did not answer the last call: said once */
	struct event *tick_ev;
	struct event *compact_ev; /* the leader compacts etcd's history */
	int64_t compact_rev;      /* the revision seen at the last compaction tick */
	struct etcd_call *grant_call, *campaign_call, *keepalive_call, *check_call, *revoke_call, *compact_call;
	int64_t keepalive_sent_mono;
	int64_t keepalive_next_mono;
	char *counters_path;     /* STATE_DIR/cluster-counters: the counters outlive a step-down */
	uint64_t lost;           /* leaderships this node lost */
	uint64_t leader_changes; /* leader keys seen change hands */
	uint64_t refusals;       /* fenced writes refused */
	uint64_t fence_denials;  /* requests the fence held back */
	int64_t leader_since;    /* unix seconds this node leads, 0: not */
};

/* CLOCK_BOOTTIME: like CLOCK_MONOTONIC never set by anyone, and unlike it
 * counting on through a suspend of the host (etcd's lease does). */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

static void arm(struct event *ev, int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* The counters, for the next life of this node (a step-down exits). No
 * sync: a counter lost in a power cut is only a metric. */
static void counters_save(const struct cluster *c)
{
	char *tmp = xasprintf("%s.tmp", c->counters_path);
	FILE *f = fopen(tmp, "w");

	if (f) {
		fprintf(f, "leader_changes %" PRIu64 "\nfenced_refusals %" PRIu64 "\nleaderships_lost %" PRIu64 "\n",
			c->leader_changes, c->refusals, c->lost);
		if (fclose(f) == 0)
			rename(tmp, c->counters_path);
	}
	free(tmp);
}

static void counters_load(struct cluster *c)
{
	FILE *f = fopen(c->counters_path, "r");
	char name[32];
	uint64_t v;

	if (!f)
		return;
	while (fscanf(f, "%31s %" SCNu64, name, &v) == 2) {
		if (strcmp(name, "leader_changes") == 0)
			c->leader_changes = v;
		else if (strcmp(name, "fenced_refusals") == 0)
			c->refusals = v;
		else if (strcmp(name, "leaderships_lost") == 0)
			c->lost = v;
	}
	fclose(f);
}

/* Step down: nothing more may leave this process. */
static void __attribute__((noreturn)) lose(struct cluster *c, const char *why)
{
	c->lost++;
	counters_save(c);
	log_event(LOG_ERR, EV_LEADER_LOST, NULL,
		  "node '%s' lost the leadership: %s; exiting (status %d) so that nothing more is sent on it "
		  "(systemd restarts this node as a standby)",
		  c->node, why, CLUSTER_EXIT_LOST);
	_exit(CLUSTER_EXIT_LOST);
}

static void etcd_trouble(struct cluster *c, const char *what, const char *cause)
{
	if (!c->unreachable)
		log_event(LOG_WARNING, EV_CLUSTER, NULL, "etcd: %s failed: %s", what, cause ? cause : "no answer");
	c->unreachable = true;
}

static void etcd_back(struct cluster *c)
{
	if (c->unreachable)
		log_event(LOG_NOTICE, EV_CLUSTER, NULL, "etcd answers again (%s)", etcd_endpoint(c->etcd));
	c->unreachable = false;
}

/* The leader key's value: {"node": ..., "digest": ..., "since": ...}. */
static char *leader_value(const struct cluster *c)
{
	struct sbuf b = { 0 };

	sbuf_adds(&b, "{\"node\":");
	sbuf_add_json_str(&b, c->node);
	sbuf_adds(&b, ",\"digest\":");
	sbuf_add_json_str(&b, c->digest);
	sbuf_addf(&b, ",\"since\":%" PRId64 ",\"pid\":%ld}", wall_s(), (long)getpid());
	return sbuf_steal(&b, NULL);
}

/* Read a leader (or member) value's node and digest. */
static void read_value(const struct etcd_kv *kv, char *node, size_t node_size, char *digest, size_t digest_size)
{
	json_object *o = json_tokener_parse(kv->value), *v;

	snprintf(node, node_size, "?");
	if (digest)
		digest[0] = '\0';
	if (!o)
		return;
	if (json_object_object_get_ex(o, "node", &v) && json_object_is_type(v, json_type_string))
		snprintf(node, node_size, "%s", json_object_get_string(v));
	if (digest && json_object_object_get_ex(o, "digest", &v) && json_object_is_type(v, json_type_string))
		snprintf(digest, digest_size, "%s", json_object_get_string(v));
	json_object_put(o);
}

static void see_leader(struct cluster *c, const struct etcd_kv *kv)
{
	char name[64], digest[65];

	read_value(kv, name, sizeof(name), digest, sizeof(digest));
	if (kv->create_revision != c->seen_rev) {
		if (c->seen_rev) {
			c->leader_changes++;
			counters_save(c);
		}
		log_event(LOG_INFO, EV_CLUSTER, NULL, "node '%s' is a standby; the leader is '%s'", c->node, name);
		c->digest_warned = false;
	}
	c->seen_rev = kv->create_revision;
	c->seen_lease = kv->lease;
	snprintf(c->leader_name, sizeof(c->leader_name), "%s", name);
	snprintf(c->leader_digest, sizeof(c->leader_digest), "%s", digest);
	if (strcmp(digest, c->digest) != 0 && !c->digest_warned) {
		log_event(LOG_ERR, EV_CLUSTER, NULL,
			  "the job files of node '%s' differ from those of the leader '%s' (digest %.12s here, %.12s "
			  "there): a failover to this node would run other campaigns; make them the same on every node",
			  c->node, name, c->digest, digest);
		c->digest_warned = true;
	} else if (strcmp(digest, c->digest) == 0 && c->digest_warned) {
		log_event(LOG_NOTICE, EV_CLUSTER, NULL, "the job files of node '%s' are the leader's again", c->node);
		c->digest_warned = false;
	}
}

/* --- etcd's history ------------------------------------------------------------ */

/* etcd keeps every revision of every key until it is compacted; each run
 * record is written a few times, so the leader compacts what is older than
 * one tick (the way kube-apiserver does), unless etcd does it itself
 * (--auto-compaction-retention: then a compaction already done answers an
 * error, which is fine). */
#define COMPACT_EVERY_MS (5 * 60 * 1000)

static void compact_done_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	(void)out;
	c->compact_call = NULL;
	if (r < 0 && cause && !strstr(cause, "compacted"))
		log_event(LOG_DEBUG, EV_CLUSTER, NULL, "etcd: compacting the history failed: %s", cause);
}

static void compact_rev_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;
	int64_t prev = c->compact_rev;

	(void)cause;
	c->compact_call = NULL;
	if (r < 0 || c->role != CLUSTER_LEADER)
		return;
	c->compact_rev = out->revision;
	if (prev > 0 && prev < out->revision) {
		char *body = xasprintf("{\"revision\":\"%" PRId64 "\"}", prev);
		etcd_call_async(c->etcd, "/v3/kv/compaction", body, ETCD_LEASE_REVOKE_RESP, compact_done_cb, c,
				&c->compact_call);
		free(body);
	}
}

static void compact_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	(void)fd;
	(void)what;
	if (c->role == CLUSTER_LEADER && !c->compact_call) {
		/* the current revision: the header of any read */
		char *body = etcdmsg_range(c->leader_key, NULL, 1);
		etcd_call_async(c->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, compact_rev_cb, c, &c->compact_call);
		free(body);
	}
	arm(c->compact_ev, COMPACT_EVERY_MS);
}

static void start_leading(struct cluster *c)
{
	c->role = CLUSTER_LEADER;
	c->leader_since = wall_s();
	snprintf(c->leader_name, sizeof(c->leader_name), "%s", c->node);
	snprintf(c->leader_digest, sizeof(c->leader_digest), "%s", c->digest);
	log_event(LOG_NOTICE, EV_LEADER_GAINED, NULL,
		  "node '%s' is the leader (lease %" PRIx64 ", fencing revision %" PRId64 ", lease_ttl %" PRId64 "s)",
		  c->node, (uint64_t)c->lease_id, c->fence_rev, c->ttl_ms / 1000);
	arm(c->compact_ev, 0);
	if (c->hooks.lead)
		c->hooks.lead(c->hooks.arg);
}

/* --- the previous leader's lease --------------------------------------------- */

static void revoke_old_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	(void)out;
	c->revoke_call = NULL;
	if (r < 0)
		log_event(LOG_WARNING, EV_CLUSTER, NULL, "etcd: revoking the previous leader's lease failed: %s",
			  cause ? cause : "no answer");
}

static void old_lease_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	c->check_call = NULL;
	if (c->role != CLUSTER_TAKING)
		return;
	if (r == 0 && out->ttl <= 0) {
		/* gone in etcd: the previous leader's own clock ran out
		 * before etcd's did */
		c->act_at_mono = mono_ms();
		return;
	}
	if (r < 0)
		etcd_trouble(c, "reading the previous leader's lease", cause);
	/* alive (the key was deleted under it), or unknown: revoke it and
	 * wait the longest the previous leader may still send */
	if (r == 0 && !c->revoke_call) {
		char *body = etcdmsg_lease_revoke(c->seen_lease);
		etcd_call_async(c->etcd, "/v3/lease/revoke", body, ETCD_LEASE_REVOKE_RESP, revoke_old_cb, c,
				&c->revoke_call);
		free(body);
	}
}

/* This node has just created the leader key: when may it act? */
static void taking(struct cluster *c)
{
	c->role = CLUSTER_TAKING;
	/* the longest wait: the previous leader, unknown, renewed its lease
	 * just now */
	c->act_at_mono = mono_ms() + c->ttl_ms;
	if (c->seen_lease && c->seen_lease != c->lease_id) {
		char *body = etcdmsg_lease_ttl(c->seen_lease);
		log_event(LOG_INFO, EV_CLUSTER, NULL,
			  "node '%s' holds the leader key; it acts once the lease of the previous leader '%s' is over",
			  c->node, c->leader_name);
		etcd_call_async(c->etcd, "/v3/lease/timetolive", body, ETCD_LEASE_TTL_RESP, old_lease_cb, c,
				&c->check_call);
		free(body);
	} else {
		log_event(LOG_INFO, EV_CLUSTER, NULL,
			  "node '%s' holds the leader key; no previous leader was seen, so it waits one lease_ttl "
			  "(%" PRId64 "s) before it acts", c->node, c->ttl_ms / 1000);
	}
}

/* --- campaign ------------------------------------------------------------------ */

static void campaign_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	c->campaign_call = NULL;
	if (r < 0) {
		etcd_trouble(c, "the campaign for the leader key", cause);
		return;
	}
	etcd_back(c);
	c->member_put = true;
	if (c->role != CLUSTER_STANDBY && c->role != CLUSTER_STARTING)
		return;
	if (out->succeeded) {
		c->fence_rev = out->revision;
		if (c->seen_rev) {
			c->leader_changes++;
			counters_save(c);
		}
		taking(c);
		return;
	}
	if (out->n_kvs > 0 && out->kvs[0].lease == c->lease_id) {
		/* the key is on this node's lease: an earlier campaign of it
		 * was applied, its answer lost (a timeout, or a 503 and the
		 * next endpoint) */
		c->fence_rev = out->kvs[0].create_revision;
		taking(c);
		return;
	}
	c->role = CLUSTER_STANDBY;
	if (out->n_kvs > 0)
		see_leader(c, &out->kvs[0]);
}

static void campaign(struct cluster *c)
{
	char *value = leader_value(c), *body;
	struct etcd_cmp cmp = { .key = c->leader_key, .target = ETCD_CREATE, .result = ETCD_EQUAL, .num = 0 };
	struct etcd_op then[2] = {
		{ .kind = ETCD_OP_PUT, .key = c->leader_key, .value = value, .value_len = strlen(value),
		  .lease = c->lease_id },
		{ .kind = ETCD_OP_PUT, .key = c->member_key, .value = value, .value_len = strlen(value),
		  .lease = c->lease_id },
	};
	struct etcd_op els[2] = {
		{ .kind = ETCD_OP_RANGE, .key = c->leader_key },
		{ .kind = ETCD_OP_PUT, .key = c->member_key, .value = value, .value_len = strlen(value),
		  .lease = c->lease_id },
	};

	/* the member key is written with the first campaign on a lease */
	body = etcdmsg_txn(&cmp, 1, then, 2, els, c->member_put ? 1 : 2);
	etcd_call_async(c->etcd, "/v3/kv/txn", body, ETCD_TXN_RESP, campaign_cb, c, &c->campaign_call);
	free(body);
	free(value);
}

/* --- the lease ----------------------------------------------------------------- */

static void grant_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	c->grant_call = NULL;
	if (r < 0 || out->lease_id == 0 || out->ttl <= 0) {
		etcd_trouble(c, "granting a lease", cause ? cause : "no lease in the answer");
		return;
	}
	etcd_back(c);
	if (out->ttl * 1000 > c->ttl_ms) {
		/* etcd raises a TTL under its minimum (1.5 election timeouts):
		 * every wait and margin follows the lease it granted */
		log_event(LOG_WARNING, EV_CLUSTER, NULL,
			  "etcd granted a lease of %" PRId64 " s for the %" PRId64 " s of lease_ttl (its minimum is 1.5 "
			  "election timeouts): %" PRId64 " s is used", out->ttl, c->ttl_ms / 1000, out->ttl);
		c->ttl_ms = out->ttl * 1000;
		c->margin_ms = c->ttl_ms / 3;
	}
	c->lease_id = out->lease_id;
	c->lease_end_mono = c->keepalive_sent_mono + out->ttl * 1000;
	c->member_put = false;
	c->role = CLUSTER_STANDBY;
	c->keepalive_next_mono = mono_ms() + c->ttl_ms / 3;
	campaign(c);
}

static void grant(struct cluster *c)
{
	char *body = etcdmsg_lease_grant(c->ttl_ms / 1000);

	c->keepalive_sent_mono = mono_ms();
	etcd_call_async(c->etcd, "/v3/lease/grant", body, ETCD_LEASE_GRANT_RESP, grant_cb, c, &c->grant_call);
	free(body);
}

static void keepalive_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	c->keepalive_call = NULL;
	if (r < 0) {
		etcd_trouble(c, "renewing the lease", cause);
		return;
	}
	etcd_back(c);
	if (out->ttl <= 0) {
		if (c->role == CLUSTER_LEADER || c->role == CLUSTER_TAKING)
			lose(c, "etcd says its lease expired");
		/* a standby's lease ran out: a new one, and what it knew of
		 * the leader is old (it may have been paused) */
		c->lease_id = 0;
		c->role = CLUSTER_STARTING;
		c->seen_lease = 0;
		return;
	}
	c->lease_end_mono = c->keepalive_sent_mono + out->ttl * 1000;
}

/* A leader's check that the leader key is still its own. */
static void verify_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct cluster *c = arg;

	c->check_call = NULL;
	if (r < 0) {
		etcd_trouble(c, "checking the leader key", cause);
		return;
	}
	if (c->role == CLUSTER_LEADER && (out->n_kvs == 0 || out->kvs[0].create_revision != c->fence_rev))
		lose(c, "the leader key is no longer this node's");
}

static void keepalive(struct cluster *c)
{
	char *body = etcdmsg_lease_keepalive(c->lease_id);

	c->keepalive_sent_mono = mono_ms();
	etcd_call_async(c->etcd, "/v3/lease/keepalive", body, ETCD_LEASE_KEEPALIVE_RESP, keepalive_cb, c,
			&c->keepalive_call);
	free(body);
	if (c->role == CLUSTER_LEADER && !c->check_call) {
		body = etcdmsg_range(c->leader_key, NULL, 1);
		etcd_call_async(c->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, verify_cb, c, &c->check_call);
		free(body);
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	int64_t now = mono_ms();

	(void)fd;
	(void)what;
	if ((c->role == CLUSTER_LEADER || c->role == CLUSTER_TAKING) && now >= c->lease_end_mono)
		lose(c, "its lease could not be renewed in time");
	if (c->lease_id && now >= c->lease_end_mono) {
		/* a standby whose lease ran out while etcd was away (or
		 * while it was paused): what it knew of the leader is old */
		c->lease_id = 0;
		c->role = CLUSTER_STARTING;
		c->seen_lease = 0;
	}
	if (!c->lease_id) {
		if (!c->grant_call)
			grant(c);
	} else {
		if (now >= c->keepalive_next_mono && !c->keepalive_call) {
			keepalive(c);
			c->keepalive_next_mono = now + c->ttl_ms / 3;
		}
		if (c->role == CLUSTER_STANDBY && !c->campaign_call)
			campaign(c);
		if (c->role == CLUSTER_TAKING && now >= c->act_at_mono)
			start_leading(c);
	}
	/* a tick a second, and at the keepalive's and the takeover's time */
	{
		int64_t next = 1000;
		if (c->lease_id && c->keepalive_next_mono - now < next)
			next = c->keepalive_next_mono - now;
		if (c->role == CLUSTER_TAKING && c->act_at_mono - now < next)
			next = c->act_at_mono - now;
		/* standbys campaign four times a second (a read when the
		 * key is taken) */
		if (c->role == CLUSTER_STANDBY && next > 250)
			next = 250;
		arm(c->tick_ev, next > 0 ? next : 0);
	}
}

/* --- the face -------------------------------------------------------------------- */

void cluster_digest(const struct daemonconf *conf, char out[65])
{
	struct sha256 h;
	uint8_t d[SHA256_LEN];

	sha256_init(&h);
	for (size_t i = 0; i < conf->n_jobs; i++) {
		char buf[32];
		sha256_update(&h, conf->jobs[i].name, strlen(conf->jobs[i].name) + 1);
		snprintf(buf, sizeof(buf), "%016" PRIx64, conf->jobs[i].digest);
		sha256_update(&h, buf, 16);
	}
	sha256_final(&h, d);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int cluster_new(struct event_base *base, const struct clusterconf *k, const char *state_dir, const char *digest,
		struct cluster **ret, char **cause)
{
	struct cluster *c = xcalloc(1, sizeof(*c));
	struct etcd_options o = {
		.endpoints = (const char *const *)k->etcd_endpoints,
		.n_endpoints = k->n_etcd_endpoints,
		.ca_file = k->ca_file,
		.cert_file = k->cert_file,
		.key_file = k->key_file,
		/* a call never outlasts a third of the lease */
		.timeout_ms = k->lease_ttl * 1000L / 3 < 2000 ? k->lease_ttl * 1000L / 3 : 2000,
	};

	c->base = base;
	c->etcd = etcd_new(base, &o, cause);
	if (!c->etcd) {
		free(c);
		return -EINVAL;
	}
	c->node = xstrdup(k->node_name);
	c->counters_path = xasprintf("%s/cluster-counters", state_dir);
	counters_load(c);
	c->prefix = xstrdup(k->key_prefix);
	c->leader_key = xasprintf("%sleader", k->key_prefix);
	c->member_key = xasprintf("%smembers/%s", k->key_prefix, k->node_name);
	snprintf(c->digest, sizeof(c->digest), "%s", digest);
	c->ttl_ms = k->lease_ttl * 1000L;
	c->margin_ms = c->ttl_ms / 3;
	c->tick_ev = evtimer_new(base, tick_cb, c);
	c->compact_ev = evtimer_new(base, compact_cb, c);
	*ret = c;
	return 0;
}

void cluster_start(struct cluster *c, const struct cluster_hooks *h)
{
	c->hooks = *h;
	log_event(LOG_INFO, EV_CLUSTER, NULL, "node '%s' joins the cluster on etcd %s (prefix '%s', lease_ttl %" PRId64 "s)",
		  c->node, etcd_endpoint(c->etcd), c->prefix, c->ttl_ms / 1000);
	arm(c->tick_ev, 0);
}

void cluster_set_digest(struct cluster *c, const char *digest)
{
	if (strcmp(c->digest, digest) == 0)
		return;
	snprintf(c->digest, sizeof(c->digest), "%s", digest);
	/* the member key (and a leader's key) say it at the next campaign
	 * or now */
	c->member_put = false;
	c->digest_warned = false;
	if (c->role == CLUSTER_LEADER) {
		char *value = leader_value(c), *body, *cause = NULL;
		struct etcd_cmp cmp = { .key = c->leader_key, .target = ETCD_CREATE, .result = ETCD_EQUAL,
					.num = c->fence_rev };
		struct etcd_op then[2] = {
			{ .kind = ETCD_OP_PUT, .key = c->leader_key, .value = value, .value_len = strlen(value),
			  .lease = c->lease_id },
			{ .kind = ETCD_OP_PUT, .key = c->member_key, .value = value, .value_len = strlen(value),
			  .lease = c->lease_id },
		};
		struct etcd_resp out = { 0 };
		body = etcdmsg_txn(&cmp, 1, then, 2, NULL, 0);
		if (etcd_call(c->etcd, "/v3/kv/txn", body, ETCD_TXN_RESP, &out, &cause) == 0 && !out.succeeded)
			cluster_fenced(c);
		else if (cause)
			etcd_trouble(c, "writing the new digest", cause);
		else
			c->member_put = true;
		etcd_resp_clear(&out);
		free(cause);
		free(body);
		free(value);
	}
}

bool cluster_fence_ok(void *arg)
{
	struct cluster *c = arg;
	bool ok = c->role == CLUSTER_LEADER && c->lease_end_mono - mono_ms() > c->margin_ms;

	if (!ok)
		c->fence_denials++;
	return ok;
}

void cluster_fenced(void *arg)
{
	struct cluster *c = arg;

	c->refusals++; /* (saved by lose) */
	lose(c, "etcd refused a fenced write (the leader key is another node's)");
}

void cluster_resign(struct cluster *c)
{
	char *body, *cause = NULL;
	struct etcd_resp out = { 0 };

	if (!c || !c->lease_id)
		return;
	body = etcdmsg_lease_revoke(c->lease_id);
	if (etcd_call(c->etcd, "/v3/lease/revoke", body, ETCD_LEASE_REVOKE_RESP, &out, &cause) == 0) {
		if (c->role == CLUSTER_LEADER)
			log_event(LOG_NOTICE, EV_LEADER_LOST, NULL,
				  "node '%s' gave up the leadership (stopping): a standby takes over at once", c->node);
	} else {
		log_event(LOG_WARNING, EV_CLUSTER, NULL,
			  "etcd: revoking the lease failed (%s): a standby takes over when it expires", cause);
	}
	c->lease_id = 0;
	c->role = CLUSTER_STARTING;
	etcd_resp_clear(&out);
	free(cause);
	free(body);
}

void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	if (c->tick_ev)
		event_free(c->tick_ev);
	if (c->compact_ev)
		event_free(c->compact_ev);
	etcd_free(c->etcd); /* cancels the calls in flight */
	free(c->node);
	free(c->counters_path);
	free(c->prefix);
	free(c->leader_key);
	free(c->member_key);
	free(c);
}

enum cluster_role cluster_role(const struct cluster *c)
{
	return c->role;
}

struct etcd *cluster_etcd(struct cluster *c)
{
	return c->etcd;
}

const char *cluster_leader_key(const struct cluster *c)
{
	return c->leader_key;
}

int64_t cluster_fence_rev(const struct cluster *c)
{
	return c->fence_rev;
}

const char *cluster_prefix(const struct cluster *c)
{
	return c->prefix;
}

const char *cluster_node(const struct cluster *c)
{
	return c->node;
}

const char *cluster_leader_name(const struct cluster *c)
{
	return c->leader_name;
}

static const char *role_name(enum cluster_role r)
{
	switch (r) {
	case CLUSTER_STARTING:
		return "starting";
	case CLUSTER_STANDBY:
		return "standby";
	case CLUSTER_TAKING:
		return "taking-over";
	case CLUSTER_LEADER:
		return "leader";
	}
	return "?";
}

char *cluster_info_json(struct cluster *c)
{
	struct sbuf b = { 0 };
	int64_t left = c->lease_id ? c->lease_end_mono - mono_ms() : 0;
	char *body, *prefix, *cause = NULL;
	struct etcd_resp out = { 0 };

	sbuf_adds(&b, "{\"node\":");
	sbuf_add_json_str(&b, c->node);
	sbuf_addf(&b, ",\"role\":\"%s\",\"leader\":", role_name(c->role));
	sbuf_add_json_str(&b, c->leader_name);
	sbuf_adds(&b, ",\"digest\":");
	sbuf_add_json_str(&b, c->digest);
	sbuf_adds(&b, ",\"leader_digest\":");
	sbuf_add_json_str(&b, c->leader_digest);
	sbuf_addf(&b, ",\"lease_id\":\"%" PRIx64 "\",\"lease_left_ms\":%" PRId64 ",\"lease_ttl\":%" PRId64
		      ",\"fence_revision\":%" PRId64 ",\"leader_since\":%" PRId64 ",\"leader_changes\":%" PRIu64
		      ",\"fenced_refusals\":%" PRIu64 ",\"leaderships_lost\":%" PRIu64,
		  (uint64_t)c->lease_id, left > 0 ? left : 0, c->ttl_ms / 1000, c->fence_rev, c->leader_since,
		  c->leader_changes, c->refusals, c->lost);
	/* the members: the keys under PREFIX members/ */
	prefix = xasprintf("%smembers/", c->prefix);
	body = etcdmsg_range(prefix, NULL, 1000);
	sbuf_adds(&b, ",\"members\":[");
	if (etcd_call(c->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, &out, &cause) == 0) {
		for (size_t i = 0; i < out.n_kvs; i++) {
			char name[64], digest[65];
			read_value(&out.kvs[i], name, sizeof(name), digest, sizeof(digest));
			sbuf_adds(&b, i ? ",{\"node\":" : "{\"node\":");
			sbuf_add_json_str(&b, name);
			sbuf_adds(&b, ",\"digest\":");
			sbuf_add_json_str(&b, digest);
			sbuf_addf(&b, ",\"leader\":%s}", strcmp(name, c->leader_name) == 0 ? "true" : "false");
		}
	}
	sbuf_adds(&b, "]");
	etcd_resp_clear(&out);
	free(body);
	free(prefix);
	if (cause) {
		sbuf_adds(&b, ",\"members_error\":");
		sbuf_add_json_str(&b, cause);
		freep(&cause);
	}
	/* each endpoint's health */
	sbuf_adds(&b, ",\"etcd\":[");
	for (size_t i = 0; i < etcd_n_endpoints(c->etcd); i++) {
		char *eb = etcdmsg_empty();
		int r = etcd_call_at(c->etcd, i, "/v3/maintenance/status", eb, ETCD_STATUS_RESP, &out, &cause);
		sbuf_adds(&b, i ? ",{\"endpoint\":" : "{\"endpoint\":");
		sbuf_add_json_str(&b, etcd_endpoint_at(c->etcd, i));
		if (r == 0) {
			sbuf_addf(&b, ",\"healthy\":true,\"member_id\":\"%" PRIx64 "\",\"is_leader\":%s,\"db_size\":%" PRId64
				      ",\"raft_term\":%" PRId64 ",\"version\":",
				  out.member_id, out.member_id == out.leader ? "true" : "false", out.db_size, out.raft_term);
			sbuf_add_json_str(&b, out.version ? out.version : "");
			sbuf_adds(&b, "}");
		} else {
			sbuf_adds(&b, ",\"healthy\":false,\"error\":");
			sbuf_add_json_str(&b, cause ? cause : "no answer");
			sbuf_adds(&b, "}");
		}
		etcd_resp_clear(&out);
		freep(&cause);
		free(eb);
	}
	sbuf_adds(&b, "]}");
	return sbuf_steal(&b, NULL);
}

void cluster_metrics(const struct cluster *c, struct sbuf *out)
{
	int64_t left = c->lease_id ? c->lease_end_mono - mono_ms() : 0;
	const struct etcd_counters *k = etcd_get_counters(c->etcd);

	sbuf_adds(out, "# HELP batchcalld_cluster_leader Whether this node is the cluster's leader.\n"
		       "# TYPE batchcalld_cluster_leader gauge\n");
	sbuf_addf(out, "batchcalld_cluster_leader %d\n", c->role == CLUSTER_LEADER);
	sbuf_adds(out, "# HELP batchcalld_cluster_lease_remaining_seconds The lease left as this node's clock counts it.\n"
		       "# TYPE batchcalld_cluster_lease_remaining_seconds gauge\n");
	sbuf_addf(out, "batchcalld_cluster_lease_remaining_seconds %.3f\n", left > 0 ? (double)left / 1000 : 0.0);
	sbuf_adds(out, "# HELP batchcalld_cluster_leadership_changes_total Leader keys this node saw change hands.\n"
		       "# TYPE batchcalld_cluster_leadership_changes_total counter\n");
	sbuf_addf(out, "batchcalld_cluster_leadership_changes_total %" PRIu64 "\n", c->leader_changes);
	sbuf_adds(out, "# HELP batchcalld_cluster_fenced_refusals_total State writes etcd refused because the "
		       "leadership was gone.\n"
		       "# TYPE batchcalld_cluster_fenced_refusals_total counter\n");
	sbuf_addf(out, "batchcalld_cluster_fenced_refusals_total %" PRIu64 "\n", c->refusals);
	sbuf_adds(out, "# HELP batchcalld_cluster_leaderships_lost_total Times this node stepped down as the leader "
		       "(each one a restart).\n"
		       "# TYPE batchcalld_cluster_leaderships_lost_total counter\n");
	sbuf_addf(out, "batchcalld_cluster_leaderships_lost_total %" PRIu64 "\n", c->lost);
	sbuf_adds(out, "# HELP batchcalld_cluster_fence_denials_total API requests the fence held back (lease too "
		       "short, or not the leader).\n"
		       "# TYPE batchcalld_cluster_fence_denials_total counter\n");
	sbuf_addf(out, "batchcalld_cluster_fence_denials_total %" PRIu64 "\n", c->fence_denials);
	sbuf_adds(out, "# HELP batchcalld_etcd_requests_total HTTP requests sent to etcd.\n"
		       "# TYPE batchcalld_etcd_requests_total counter\n");
	sbuf_addf(out, "batchcalld_etcd_requests_total %" PRIu64 "\n", k->requests);
	sbuf_adds(out, "# HELP batchcalld_etcd_failures_total etcd calls that got no usable answer.\n"
		       "# TYPE batchcalld_etcd_failures_total counter\n");
	sbuf_addf(out, "batchcalld_etcd_failures_total %" PRIu64 "\n", k->failures);
	sbuf_adds(out, "# HELP batchcalld_etcd_bytes_total Bytes sent to and received from etcd.\n"
		       "# TYPE batchcalld_etcd_bytes_total counter\n");
	sbuf_addf(out, "batchcalld_etcd_bytes_total{direction=\"out\"} %" PRIu64 "\n", k->bytes_out);
	sbuf_addf(out, "batchcalld_etcd_bytes_total{direction=\"in\"} %" PRIu64 "\n", k->bytes_in);
}
