/*
 * standby: a read-only control source over the run records in etcd
 * (standby.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "log.h"
#include "occur.h"
#include "run.h"
#include "standby.h"
#include "stats.h"
#include "store.h"
#include "util.h"

struct standby {
	struct cluster *cl;
	const struct daemonconf *conf;
	struct run **runs; /* sorted by job, then start */
	size_t n_runs, cap_runs;
	struct timespec loaded;
	bool ever;
	char why[256];
	struct stats stats;
};

static void drop_runs(struct standby *sb)
{
	for (size_t i = 0; i < sb->n_runs; i++)
		run_free(sb->runs[i]);
	sb->n_runs = 0;
}

static void load_cb(const struct run_key *key, struct run *r, const char *cause, const char *where, void *arg)
{
	struct standby *sb = arg;

	(void)key;
	(void)cause;
	(void)where;
	if (!r)
		return;
	if (sb->n_runs == sb->cap_runs) {
		sb->cap_runs = sb->cap_runs ? 2 * sb->cap_runs : 64;
		sb->runs = xrealloc(sb->runs, sb->cap_runs * sizeof(*sb->runs));
	}
	sb->runs[sb->n_runs++] = r;
}

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = *(const struct run *const *)a, *y = *(const struct run *const *)b;
	int c = strcmp(x->job, y->job);

	if (c)
		return c;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The runs the leader holds without a record (a job's next run is made
 * in memory and written at its intent): planned here the way the leader
 * plans them (occur_next), so that a standby lists every job. */
static void plan_missing(struct standby *sb)
{
	struct timespec wall;
	size_t n0 = sb->n_runs;

	clock_gettime(CLOCK_REALTIME, &wall);
	for (size_t j = 0; j < sb->conf->n_jobs; j++) {
		const struct jobspec *spec = &sb->conf->jobs[j];
		const struct run **mine = xcalloc(n0 ? n0 : 1, sizeof(*mine));
		struct occur_opts o = {
			.now_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000,
			.replan = INT64_MIN,
		};
		struct occur_out out = { 0 };
		size_t k = 0;

		for (size_t i = 0; i < n0; i++)
			if (strcmp(sb->runs[i]->job, spec->name) == 0)
				mine[k++] = sb->runs[i];
		occur_next(spec, mine, k, &o, &out);
		for (size_t i = 0; i < out.n_add; i++) {
			load_cb(NULL, out.add[i], NULL, NULL, sb);
			out.add[i] = NULL;
		}
		occur_out_clear(&out);
		free(mine);
	}
	if (sb->n_runs > 1)
		qsort(sb->runs, sb->n_runs, sizeof(*sb->runs), run_cmp);
}

/* The runs as etcd has them now (at most once a second). */
static void refresh(struct standby *sb)
{
	struct timespec now;
	struct store *st = NULL;
	struct store_load_info info = { 0 };
	char *cause = NULL;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (sb->ever && (now.tv_sec - sb->loaded.tv_sec) * 1000 + (now.tv_nsec - sb->loaded.tv_nsec) / 1000000 < 1000)
		return;
	if (store_etcd_open(cluster_etcd(sb->cl), cluster_prefix(sb->cl), cluster_leader_key(sb->cl), 0, NULL, NULL,
			    &st, &cause) < 0) {
		free(cause);
		return;
	}
	drop_runs(sb);
	if (store_load(st, load_cb, sb, &info) < 0)
		drop_runs(sb);
	store_close(st);
	if (sb->n_runs > 1)
		qsort(sb->runs, sb->n_runs, sizeof(*sb->runs), run_cmp);
	plan_missing(sb);
	sb->loaded = now;
	sb->ever = true;
}

static const struct daemonconf *sb_conf(void *ctx)
{
	return ((struct standby *)ctx)->conf;
}

static size_t sb_n_runs(void *ctx)
{
	struct standby *sb = ctx;

	refresh(sb);
	return sb->n_runs;
}

static const struct run *sb_run_at(void *ctx, size_t i)
{
	struct standby *sb = ctx;

	return i < sb->n_runs ? sb->runs[i] : NULL;
}

/* The run of a job an operator means: the active one, else the next one
 * to come, else the newest (as the leader's slot_find). */
static const struct run *sb_run_of(void *ctx, const char *job)
{
	struct standby *sb = ctx;
	const struct run *active = NULL, *next = NULL, *newest = NULL;

	refresh(sb);
	for (size_t i = 0; i < sb->n_runs; i++) {
		const struct run *r = sb->runs[i];
		if (strcmp(r->job, job) != 0)
			continue;
		if (run_state_active(r->state) && !active)
			active = r;
		else if (r->state == RUN_SCHEDULED && !next)
			next = r;
		newest = r;
	}
	return active ? active : next ? next : newest;
}

static int sb_request(void *ctx, const char *job, int kind, const char **why)
{
	struct standby *sb = ctx;

	(void)job;
	(void)kind;
	snprintf(sb->why, sizeof(sb->why), "node '%s' is a standby: ask the leader '%s'", cluster_node(sb->cl),
		 cluster_leader_name(sb->cl)[0] ? cluster_leader_name(sb->cl) : "(none yet)");
	*why = sb->why;
	return -EAGAIN;
}

static int sb_suppress(void *ctx, const char *target, const char *reason, const struct log_peer *peer, char *normal,
		       const char **why)
{
	(void)target;
	(void)reason;
	(void)peer;
	normal[0] = '\0';
	return sb_request(ctx, NULL, 0, why);
}

static const struct stats *sb_stats(void *ctx)
{
	return &((struct standby *)ctx)->stats;
}

struct standby *standby_new(struct cluster *cl, const struct daemonconf *conf)
{
	struct standby *sb = xcalloc(1, sizeof(*sb));

	sb->cl = cl;
	sb->conf = conf;
	sb->stats.last_reload_ok = true;
	sb->stats.started_unix = time(NULL);
	return sb;
}

void standby_set_conf(struct standby *sb, const struct daemonconf *conf)
{
	sb->conf = conf;
}

void standby_source(struct standby *sb, struct control_source *ret)
{
	*ret = (struct control_source){
		.ctx = sb,
		.conf = sb_conf,
		.n_runs = sb_n_runs,
		.run_at = sb_run_at,
		.run_of = sb_run_of,
		.request = sb_request,
		.stats = sb_stats,
		.suppress = sb_suppress,
		.cluster = sb->cl,
	};
}

void standby_free(struct standby *sb)
{
	if (!sb)
		return;
	drop_runs(sb);
	free(sb->runs);
	free(sb);
}
