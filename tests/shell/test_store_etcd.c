/*
 * test_store_etcd: the etcd client and the etcd store backend against a
 * real etcd 3.4 this test starts on free loopback ports, with its data
 * under the build folder (skipped, exit 77, when /usr/bin/etcd is not
 * installed). Records read back equal; removed ones stay gone; a load
 * pages past 1000 keys; a put whose fence key was recreated writes
 * nothing and says so (-ESTALE, the fenced callback); a dead first
 * endpoint is passed over, blocking and async; 100 records go as two
 * transactions (64 + 36), big records in transactions of at most 1 MiB.
 * etcd is killed however the test ends (exit handler, and the death
 * signal of its parent should the test itself be killed).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "run.h"
#include "store.h"
#include "util.h"

#define ETCD_BIN "/usr/bin/etcd"

static pid_t etcd_pid = -1, main_pid;
static char dir[4096];
static char live[64], dead[64];

/* --- the etcd under test ------------------------------------------------------- */

static void etcd_stop(void)
{
	if (etcd_pid > 0 && getpid() == main_pid) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = -1;
	}
}

static void on_signal(int sig)
{
	etcd_stop();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("test_store_etcd: free port");
		exit(EXIT_FAILURE);
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void etcd_start(void)
{
	int client = free_port(), peer = free_port();
	char *data = xasprintf("%s/data", dir), *log = xasprintf("%s/etcd.log", dir);
	char *curls = xasprintf("http://127.0.0.1:%d", client), *purls = xasprintf("http://127.0.0.1:%d", peer);
	char *cluster = xasprintf("default=%s", purls);

	snprintf(live, sizeof(live), "%s", curls);
	/* a port bound and closed again: refused */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", free_port());
	etcd_pid = fork();
	if (etcd_pid < 0) {
		perror("fork");
		exit(EXIT_FAILURE);
	}
	if (etcd_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != main_pid)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ETCD_BIN, "etcd", "--name", "default", "--logger=zap", "--log-outputs=stderr", "--data-dir", data,
		      "--listen-client-urls", curls, "--advertise-client-urls", curls, "--listen-peer-urls", purls,
		      "--initial-advertise-peer-urls", purls, "--initial-cluster", cluster,
		      "--experimental-enable-lease-checkpoint", (char *)NULL);
		_exit(127);
	}
	free(data);
	free(log);
	free(curls);
	free(purls);
	free(cluster);
}

/* A client of endpoints eps (NULL-terminated). */
static struct etcd *client(struct event_base *base, const char *const *eps, long timeout_ms)
{
	struct etcd_options o = { .endpoints = eps, .timeout_ms = timeout_ms };
	char *cause = NULL;
	struct etcd *c;

	while (eps[o.n_endpoints])
		o.n_endpoints++;
	c = etcd_new(base, &o, &cause);
	ck_assert_msg(c != NULL, "etcd_new: %s", cause ? cause : "?");
	return c;
}

/* Wait until etcd serves (at most 20 s). */
static bool etcd_ready(void)
{
	const char *eps[] = { live, NULL };
	struct etcd_options o = { .endpoints = eps, .n_endpoints = 1, .timeout_ms = 500 };
	char *cause = NULL;
	struct etcd *c = etcd_new(NULL, &o, &cause);
	bool ok = false;

	for (int i = 0; c && i < 200 && !ok; i++) {
		struct etcd_resp r;
		char *body = etcdmsg_empty();
		ok = etcd_call(c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, &r, &cause) == 0;
		free(body);
		if (ok)
			etcd_resp_clear(&r);
		free(cause);
		cause = NULL;
		if (!ok)
			usleep(100000);
	}
	etcd_free(c);
	return ok;
}

/* --- helpers ---------------------------------------------------------------------- */

static struct run *mk(const char *job, int64_t start, const char *part, uint64_t gen)
{
	struct run *r = xcalloc(1, sizeof(*r));

	r->job = xstrdup(job);
	r->start = start;
	r->part = part ? xstrdup(part) : NULL;
	r->call_name = xasprintf("%s %lld", job, (long long)start);
	r->state = RUN_SCHEDULED;
	r->gen = gen;
	return r;
}

static void free_runs(struct run **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		run_free(v[i]);
	free(v);
}

/* Runs j0..j(n-1) of job, start 1000 + i. */
static struct run **mk_many(const char *job, size_t n)
{
	struct run **v = xcalloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = mk(job, 1000 + (int64_t)i, NULL, 1);
	return v;
}

struct seen {
	size_t runs, damaged, unkeyed;
	uint64_t gen_sum;
	char *last_job;
	char *damaged_job;
	int64_t damaged_start;
	char *damaged_where;
	char *part;
	char *call_name;
};

static void seen_clear(struct seen *s)
{
	free(s->last_job);
	free(s->damaged_job);
	free(s->damaged_where);
	free(s->part);
	free(s->call_name);
	memset(s, 0, sizeof(*s));
}

static void load_cb(const struct run_key *key, struct run *r, const char *cause, const char *where, void *arg)
{
	struct seen *s = arg;

	ck_assert_ptr_nonnull(where);
	ck_assert(strncmp(where, "etcd ", 5) == 0);
	if (r) {
		ck_assert_ptr_nonnull(key);
		ck_assert_str_eq(key->job, r->job);
		ck_assert_ptr_null(cause);
		s->runs++;
		s->gen_sum += r->gen;
		free(s->last_job);
		s->last_job = xstrdup(r->job);
		if (r->part) {
			free(s->part);
			s->part = xstrdup(r->part);
			free(s->call_name);
			s->call_name = xstrdup(r->call_name);
		}
		run_free(r);
		return;
	}
	ck_assert_ptr_nonnull(cause);
	if (!key) {
		s->unkeyed++;
		return;
	}
	s->damaged++;
	free(s->damaged_job);
	s->damaged_job = xstrdup(key->job);
	s->damaged_start = key->start;
	free(s->damaged_where);
	s->damaged_where = xstrdup(where);
}

static void load(struct store *st, struct seen *s)
{
	struct store_load_info info;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(store_load(st, load_cb, s, &info), 0);
	ck_assert_uint_eq(info.journals, 0);
}

/* Put value at key directly (no fence): the key's create revision. */
static int64_t raw_put(struct etcd *c, const char *key, const char *value)
{
	struct etcd_op ops[] = {
		{ .kind = ETCD_OP_PUT, .key = key, .value = value, .value_len = strlen(value) },
		{ .kind = ETCD_OP_RANGE, .key = key },
	};
	char *body = etcdmsg_txn(NULL, 0, ops, 2, NULL, 0), *cause = NULL;
	struct etcd_resp r;
	int64_t rev;

	ck_assert_msg(etcd_call(c, "/v3/kv/txn", body, ETCD_TXN_RESP, &r, &cause) == 0, "put %s: %s", key, cause);
	free(body);
	ck_assert(r.succeeded);
	ck_assert_uint_eq(r.n_kvs, 1);
	rev = r.kvs[0].create_revision;
	ck_assert_int_gt(rev, 0);
	etcd_resp_clear(&r);
	return rev;
}

static void raw_delete(struct etcd *c, const char *key)
{
	struct etcd_op op = { .kind = ETCD_OP_DELETE, .key = key };
	char *body = etcdmsg_txn(NULL, 0, &op, 1, NULL, 0), *cause = NULL;
	struct etcd_resp r;

	ck_assert_msg(etcd_call(c, "/v3/kv/txn", body, ETCD_TXN_RESP, &r, &cause) == 0, "delete %s: %s", key, cause);
	free(body);
	ck_assert_int_eq(r.deleted, 1);
	etcd_resp_clear(&r);
}

static struct store *open_store(struct etcd *c, const char *prefix, const char *fence, int64_t rev,
				void (*fenced)(void *), void *arg)
{
	struct store *st = NULL;
	char *cause = NULL;

	ck_assert_int_eq(store_etcd_open(c, prefix, fence, rev, fenced, arg, &st, &cause), 0);
	return st;
}

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

/* --- tests ---------------------------------------------------------------------- */

START_TEST(test_round_trip_and_damage)
{
	const char *eps[] = { live, NULL };
	struct etcd *c = client(NULL, eps, 0);
	int64_t rev = raw_put(c, "/t1/leader", "me");
	int fenced = 0;
	struct store *st = open_store(c, "/t1/", "/t1/leader", rev, count_cb, &fenced);
	struct run *v[3] = { mk("a", 1000, NULL, 1), mk("b", 2000, NULL, 1), mk("b", 2000, "Europe/Paris 1/2", 7) };
	struct seen s;
	char *where;

	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 3), 0);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(s.gen_sum, 9);
	ck_assert_str_eq(s.part, "Europe/Paris 1/2");
	ck_assert_str_eq(s.call_name, "b 2000");
	seen_clear(&s);

	/* a newer record replaces the run's; a run given twice in one put is
	 * written once (etcd refuses a key twice in a txn), the last one */
	v[0]->gen = 5;
	{
		struct run *twice[2] = { mk("a", 1000, NULL, 4), v[0] };
		ck_assert_int_eq(store_put(st, (const struct run *const *)twice, 2), 0);
		run_free(twice[0]);
	}
	load(st, &s);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(s.gen_sum, 13);
	seen_clear(&s);

	/* damage under a run's name: reported with its identity and kept;
	 * under a name that is no run's: reported without one */
	raw_put(c, "/t1/runs/zz@4000.json", "{\"format\": \"batchcalld-run\", \"vers");
	raw_put(c, "/t1/runs/notes", "not a run");
	load(st, &s);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(s.damaged, 1);
	ck_assert_str_eq(s.damaged_job, "zz");
	ck_assert_int_eq(s.damaged_start, 4000);
	ck_assert_str_eq(s.damaged_where, "etcd /t1/runs/zz@4000.json");
	ck_assert_uint_eq(s.unkeyed, 1);
	seen_clear(&s);
	load(st, &s);
	ck_assert_uint_eq(s.damaged, 1);
	seen_clear(&s);

	where = xasprintf("etcd %s /t1/", live);
	ck_assert_str_eq(store_where(st), where);
	free(where);
	ck_assert_int_eq(store_compact(st, 100), 0);
	ck_assert_int_eq(fenced, 0);
	ck_assert_uint_eq(store_etcd_refusals(st), 0);
	ck_assert_uint_eq(store_etcd_txns(st), 2);

	store_close(st);
	for (size_t i = 0; i < 3; i++)
		run_free(v[i]);
	etcd_free(c);
}
END_TEST

START_TEST(test_remove)
{
	const char *eps[] = { live, NULL };
	struct etcd *c = client(NULL, eps, 0);
	int64_t rev = raw_put(c, "/t2/leader", "me");
	struct store *st = open_store(c, "/t2/", "/t2/leader", rev, NULL, NULL);
	struct run **v = mk_many("r", 5);
	struct seen s;

	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 5), 0);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v + 1, 3), 0);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 2);
	seen_clear(&s);
	/* removing what is gone already is no error */
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 5), 0);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 0);
	seen_clear(&s);
	store_close(st);
	free_runs(v, 5);
	etcd_free(c);
}
END_TEST

START_TEST(test_paging)
{
	const char *eps[] = { live, NULL };
	struct etcd *c = client(NULL, eps, 10000);
	int64_t rev = raw_put(c, "/t3/leader", "me");
	struct store *st = open_store(c, "/t3/", "/t3/leader", rev, NULL, NULL);
	struct run **v = mk_many("p", 2345);
	uint64_t before;
	struct seen s;

	/* a key just past the runs' range is not theirs */
	raw_put(c, "/t3/runs0", "x");
	raw_put(c, "/t3/runr", "x");
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2345), 0);
	ck_assert_uint_eq(store_etcd_txns(st), (2345 + 63) / 64);
	before = etcd_get_counters(c)->requests;
	load(st, &s);
	ck_assert_uint_eq(s.runs, 2345);
	ck_assert_uint_eq(s.damaged + s.unkeyed, 0);
	ck_assert_uint_eq(s.gen_sum, 2345);
	/* three pages of at most 1000 */
	ck_assert_uint_eq(etcd_get_counters(c)->requests - before, 3);
	seen_clear(&s);
	store_close(st);
	free_runs(v, 2345);
	etcd_free(c);
}
END_TEST

START_TEST(test_fenced)
{
	const char *eps[] = { live, NULL };
	struct etcd *c = client(NULL, eps, 0);
	int64_t rev = raw_put(c, "/t4/leader", "me"), rev2;
	int fenced = 0;
	struct store *st = open_store(c, "/t4/", "/t4/leader", rev, count_cb, &fenced);
	struct run **v = mk_many("f", 3), **w = mk_many("g", 100);
	struct seen s;

	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2), 0);
	/* another node's leadership: the key deleted and created again */
	raw_delete(c, "/t4/leader");
	rev2 = raw_put(c, "/t4/leader", "another");
	ck_assert_int_gt(rev2, rev);
	v[0]->gen = 9;
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 3), -ESTALE);
	ck_assert_int_eq(fenced, 1);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 2), -ESTALE);
	ck_assert_int_eq(fenced, 2);
	/* a split put stops at its first refused transaction */
	ck_assert_int_eq(store_put(st, (const struct run *const *)w, 100), -ESTALE);
	ck_assert_int_eq(fenced, 3);
	ck_assert_uint_eq(store_etcd_refusals(st), 3);
	/* nothing of them written, nothing removed */
	load(st, &s);
	ck_assert_uint_eq(s.runs, 2);
	ck_assert_uint_eq(s.gen_sum, 2);
	seen_clear(&s);
	/* the fence key gone altogether: refused too */
	raw_delete(c, "/t4/leader");
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), -ESTALE);
	ck_assert_int_eq(fenced, 4);
	store_close(st);

	/* the new leader's store writes */
	st = open_store(c, "/t4/", "/t4/leader", raw_put(c, "/t4/leader", "new"), count_cb, &fenced);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 3), 0);
	ck_assert_int_eq(fenced, 4);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(s.gen_sum, 11);
	seen_clear(&s);
	store_close(st);
	free_runs(v, 3);
	free_runs(w, 100);
	etcd_free(c);
}
END_TEST

START_TEST(test_failover)
{
	const char *eps[] = { dead, live, NULL }, *none[] = { dead, dead, NULL };
	struct etcd *c = client(NULL, eps, 0);
	const struct etcd_counters *k = etcd_get_counters(c);
	struct etcd_resp r;
	char *body = etcdmsg_empty(), *cause = NULL;
	int64_t rev;
	struct store *st;
	struct run **v = mk_many("o", 2);
	struct seen s;
	int rc;

	ck_assert_str_eq(etcd_endpoint(c), dead);
	ck_assert_uint_eq(etcd_n_endpoints(c), 2);
	ck_assert_str_eq(etcd_endpoint_at(c, 1), live);
	ck_assert_int_eq(etcd_call(c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, &r, &cause), 0);
	ck_assert_str_eq(r.version, "3.4.23");
	ck_assert(r.leader != 0 && r.leader == r.member_id);
	etcd_resp_clear(&r);
	/* the live one answered: asked first from now on */
	ck_assert_str_eq(etcd_endpoint(c), live);
	ck_assert_uint_eq(k->calls, 1);
	ck_assert_uint_eq(k->requests, 2);
	ck_assert_uint_eq(k->failures, 0);
	ck_assert_uint_gt(k->bytes_in, 0);
	ck_assert_uint_eq(k->bytes_out, 4); /* "{}", handed to each */
	ck_assert_int_eq(etcd_call(c, "/v3/cluster/member/list", body, ETCD_MEMBERS_RESP, &r, &cause), 0);
	ck_assert_uint_eq(r.n_members, 1);
	ck_assert_str_eq(r.members[0].name, "default");
	ck_assert_str_eq(r.members[0].client_url, live);
	etcd_resp_clear(&r);
	ck_assert_uint_eq(k->requests, 3);

	/* one endpoint only: the dead one fails, and moves nothing */
	rc = etcd_call_at(c, 0, "/v3/maintenance/status", body, ETCD_STATUS_RESP, &r, &cause);
	ck_assert_int_eq(rc, -ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(cause, dead));
	free(cause);
	cause = NULL;
	ck_assert_str_eq(etcd_endpoint(c), live);
	ck_assert_int_eq(etcd_call_at(c, 1, "/v3/maintenance/status", body, ETCD_STATUS_RESP, &r, &cause), 0);
	etcd_resp_clear(&r);

	/* an answer that is an error: no failover, -EPROTO with etcd's message */
	ck_assert_int_eq(etcd_call(c, "/v3/lease/revoke", "{\"ID\":\"12345\"}", ETCD_LEASE_REVOKE_RESP, &r, &cause),
			 -EPROTO);
	ck_assert_msg(strstr(cause, "requested lease not found") != NULL, "%s", cause);
	ck_assert_ptr_nonnull(strstr(cause, "HTTP 404"));
	free(cause);
	cause = NULL;

	/* the store over both */
	rev = raw_put(c, "/t5/leader", "me");
	st = open_store(c, "/t5/", "/t5/leader", rev, NULL, NULL);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2), 0);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 2);
	seen_clear(&s);
	store_close(st);
	etcd_free(c);

	/* nobody answers */
	c = client(NULL, none, 0);
	rc = etcd_call(c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, &r, &cause);
	ck_assert_int_eq(rc, -ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(cause, "no etcd endpoint answered"));
	free(cause);
	cause = NULL;
	ck_assert_uint_eq(etcd_get_counters(c)->failures, 1);
	st = open_store(c, "/t5/", "/t5/leader", rev, NULL, NULL);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2), -EIO);
	{
		struct store_load_info info;
		ck_assert_int_eq(store_load(st, load_cb, &s, &info), -EIO);
	}
	store_close(st);
	etcd_free(c);
	free(body);
	free_runs(v, 2);
}
END_TEST

struct async_ctx {
	struct event_base *base;
	struct etcd *c;
	int step;
	int64_t lease;
	int64_t ttl;
	int r;
	char *cause;
};

static void async_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct async_ctx *x = arg;

	x->r = r;
	x->step++;
	free(x->cause);
	x->cause = cause ? xstrdup(cause) : NULL;
	if (r == 0) {
		ck_assert_ptr_nonnull(out);
		ck_assert_ptr_null(cause);
		x->lease = out->lease_id;
		x->ttl = out->ttl;
	} else {
		ck_assert_ptr_null(out);
		ck_assert_ptr_nonnull(cause);
	}
	event_base_loopbreak(x->base);
}

static void never_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	(void)r;
	(void)out;
	(void)cause;
	(void)arg;
	ck_abort_msg("a cancelled call called back");
}

/* Run the loop until the callback (10 s at most). */
static void wait_cb(struct async_ctx *x, int step)
{
	struct timeval tv = { 10, 0 };

	event_base_loopexit(x->base, &tv);
	event_base_dispatch(x->base);
	ck_assert_int_eq(x->step, step);
}

START_TEST(test_async)
{
	const char *eps[] = { dead, live, NULL };
	struct async_ctx x = { .base = event_base_new() };
	struct etcd_call *call = NULL;
	char *body;
	int64_t lease;

	x.c = client(x.base, eps, 0);
	body = etcdmsg_lease_grant(10);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/grant", body, ETCD_LEASE_GRANT_RESP, async_cb, &x, &call), 0);
	free(body);
	wait_cb(&x, 1);
	ck_assert_msg(x.r == 0, "grant: %s", x.cause);
	ck_assert_int_gt(x.lease, 0);
	ck_assert_int_eq(x.ttl, 10);
	ck_assert_str_eq(etcd_endpoint(x.c), live);
	ck_assert_uint_eq(etcd_get_counters(x.c)->requests, 2);
	lease = x.lease;

	body = etcdmsg_lease_keepalive(lease);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/keepalive", body, ETCD_LEASE_KEEPALIVE_RESP, async_cb, &x,
					 NULL),
			 0);
	free(body);
	wait_cb(&x, 2);
	ck_assert_msg(x.r == 0, "keepalive: %s", x.cause);
	ck_assert_int_eq(x.lease, lease);
	ck_assert_int_eq(x.ttl, 10);

	body = etcdmsg_lease_ttl(lease);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/timetolive", body, ETCD_LEASE_TTL_RESP, async_cb, &x, NULL), 0);
	free(body);
	wait_cb(&x, 3);
	ck_assert_int_eq(x.r, 0);
	ck_assert(x.ttl > 0 && x.ttl <= 10);

	body = etcdmsg_lease_revoke(lease);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/revoke", body, ETCD_LEASE_REVOKE_RESP, async_cb, &x, NULL), 0);
	wait_cb(&x, 4);
	ck_assert_int_eq(x.r, 0);
	/* again: etcd's refusal, no failover */
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/revoke", body, ETCD_LEASE_REVOKE_RESP, async_cb, &x, NULL), 0);
	free(body);
	wait_cb(&x, 5);
	ck_assert_int_eq(x.r, -EPROTO);
	ck_assert_ptr_nonnull(strstr(x.cause, "requested lease not found"));

	/* expired or revoked: the keepalive has no TTL, timetolive says -1 */
	body = etcdmsg_lease_keepalive(lease);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/keepalive", body, ETCD_LEASE_KEEPALIVE_RESP, async_cb, &x,
					 NULL),
			 0);
	free(body);
	wait_cb(&x, 6);
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.ttl, 0);
	body = etcdmsg_lease_ttl(lease);
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/lease/timetolive", body, ETCD_LEASE_TTL_RESP, async_cb, &x, NULL), 0);
	free(body);
	wait_cb(&x, 7);
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.ttl, -1);

	/* cancelled: never called back */
	body = etcdmsg_empty();
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, never_cb, NULL, &call),
			 0);
	etcd_call_cancel(call);
	{
		struct timeval tv = { 0, 200000 };
		event_base_loopexit(x.base, &tv);
		event_base_dispatch(x.base);
	}
	/* and one left in flight when the client goes */
	ck_assert_int_eq(etcd_call_async(x.c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, never_cb, NULL, NULL),
			 0);
	etcd_free(x.c);
	{
		struct timeval tv = { 0, 200000 };
		event_base_loopexit(x.base, &tv);
		event_base_dispatch(x.base);
	}

	/* nobody answers, async */
	{
		const char *none[] = { dead, dead, NULL };
		x.c = client(x.base, none, 0);
		ck_assert_int_eq(
			etcd_call_async(x.c, "/v3/maintenance/status", body, ETCD_STATUS_RESP, async_cb, &x, NULL), 0);
		wait_cb(&x, 8);
		ck_assert_int_eq(x.r, -ECONNREFUSED);
		ck_assert_ptr_nonnull(strstr(x.cause, "no etcd endpoint answered"));
		ck_assert_uint_eq(etcd_get_counters(x.c)->requests, 2);
		ck_assert_uint_eq(etcd_get_counters(x.c)->failures, 1);
		etcd_free(x.c);
	}
	free(body);
	free(x.cause);
	event_base_free(x.base);
}
END_TEST

START_TEST(test_txn_split)
{
	const char *eps[] = { live, NULL };
	struct etcd *c = client(NULL, eps, 10000);
	int64_t rev = raw_put(c, "/t6/leader", "me");
	struct store *st = open_store(c, "/t6/", "/t6/leader", rev, NULL, NULL);
	struct run **v = mk_many("s", 100), **big = mk_many("big", 20), *huge = mk("huge", 1, NULL, 1);
	struct seen s;

	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 100), 0);
	ck_assert_uint_eq(store_etcd_txns(st), 2);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 100);
	seen_clear(&s);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 100), 0);
	ck_assert_uint_eq(store_etcd_txns(st), 4);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 0);
	seen_clear(&s);

	/* 20 records of 200 kB: 266 kB of base64 each, three a transaction
	 * under 1 MiB of body (etcd takes 1.5 MiB a request) */
	for (size_t i = 0; i < 20; i++) {
		free(big[i]->call_name);
		big[i]->call_name = xmalloc(200001);
		memset(big[i]->call_name, 'x', 200000);
		big[i]->call_name[200000] = '\0';
	}
	ck_assert_int_eq(store_put(st, (const struct run *const *)big, 20), 0);
	ck_assert_uint_eq(store_etcd_txns(st), 4 + 7);
	load(st, &s);
	ck_assert_uint_eq(s.runs, 20);
	seen_clear(&s);

	/* a record of a full MiB goes alone; past it, refused unsent */
	free(huge->call_name);
	huge->call_name = xmalloc(1000001);
	memset(huge->call_name, 'y', 1000000);
	huge->call_name[1000000] = '\0';
	ck_assert_int_eq(store_put(st, (const struct run *const *)&huge, 1), 0);
	ck_assert_uint_eq(store_etcd_txns(st), 12);
	free(huge->call_name);
	huge->call_name = xmalloc((1 << 20) + 1);
	memset(huge->call_name, 'y', 1 << 20);
	huge->call_name[1 << 20] = '\0';
	ck_assert_int_eq(store_put(st, (const struct run *const *)&huge, 1), -EFBIG);
	ck_assert_uint_eq(store_etcd_txns(st), 12);

	store_close(st);
	free_runs(v, 100);
	free_runs(big, 20);
	run_free(huge);
	etcd_free(c);
}
END_TEST

static Suite *store_etcd_suite(void)
{
	Suite *s = suite_create("store_etcd");
	TCase *tc = tcase_create("etcd");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip_and_damage);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_paging);
	tcase_add_test(tc, test_fenced);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_async);
	tcase_add_test(tc, test_txn_split);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *top = getenv("TOP_BUILDDIR");
	SRunner *sr;
	int failed;

	if (access(ETCD_BIN, X_OK) != 0) {
		fprintf(stderr, "test_store_etcd: SKIP: %s is not installed (Debian: etcd-server)\n", ETCD_BIN);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	main_pid = getpid();
	snprintf(dir, sizeof(dir), "%s/test_store_etcd.XXXXXX", top ? top : TOP_BUILDDIR);
	if (!mkdtemp(dir)) {
		perror("test_store_etcd: mkdtemp");
		return EXIT_FAILURE;
	}
	atexit(etcd_stop);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	etcd_start();
	if (!etcd_ready()) {
		char *cmd = xasprintf("tail -n 20 '%s/etcd.log' >&2", dir);
		fprintf(stderr, "test_store_etcd: etcd did not start (its log: %s/etcd.log)\n", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_store_etcd: cannot show the log\n");
		free(cmd);
		return EXIT_FAILURE;
	}
	sr = srunner_create(store_etcd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	etcd_stop();
	if (failed == 0) {
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_store_etcd: could not remove %s\n", dir);
		free(cmd);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
