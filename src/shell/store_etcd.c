/*
 * store_etcd: the etcd backend of store.h (cluster mode). Each run is one
 * key, PREFIX "runs/" NAME (state_file_name), holding the run's state file
 * text. Writes are transactions guarded by the leader's fence: the fence
 * key must still have the create revision this node's campaign won with,
 * so a deposed leader writes nothing. etcd commits a transaction durably
 * on a quorum before it answers, so one answered put is the group commit.
 *
 * etcd refuses a transaction that names one key twice, and takes at most
 * 128 operations and 1.5 MiB a request by default: records are sent in
 * transactions of at most 64 and about 1 MiB of body each (a record of
 * up to 1 MiB alone in its own), and a run handed over twice in one call
 * is written once, its last record.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "shared.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define RECORD_MAX_BYTES (1 << 20)
#define PAGE_KEYS 1000

struct etcd_store {
	struct store base;
	struct etcd *c;
	char *prefix;    /* the caller's */
	char *runs;      /* prefix "runs/" */
	char *fence_key; /* NULL: unfenced */
	int64_t fence_rev;
	void (*fenced)(void *arg);
	void *arg;
	uint64_t refusals, txns;
	char *where; /* rebuilt by es_where: the endpoint may change */
};

static struct etcd_store *es_of(struct store *s)
{
	return (struct etcd_store *)s;
}

/* One record (or deletion) to send. */
struct item {
	char *key;
	char *text; /* NULL for a deletion */
	size_t len;
};

/* The keys (and for a put, the texts) of runs, a run named twice kept
 * once, where it came last. 0, or -EFBIG when a record is too big. */
static int items_of(struct etcd_store *e, const struct run *const *runs, size_t n, bool put, struct item **ret,
		    size_t *ret_n)
{
	struct item *v = xcalloc(n, sizeof(*v));
	size_t m = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		char *name = state_file_name(runs[i]->job, runs[i]->start, runs[i]->part);
		struct item it = { .key = xasprintf("%s%s", e->runs, name) };
		size_t j;

		free(name);
		if (put) {
			it.text = state_format(runs[i]);
			it.len = strlen(it.text);
			if (it.len > RECORD_MAX_BYTES)
				r = -EFBIG;
		}
		for (j = 0; j < m && strcmp(v[j].key, it.key) != 0; j++)
			;
		if (j < m) {
			free(v[j].key);
			free(v[j].text);
			v[j] = it;
		} else {
			v[m++] = it;
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < m; i++) {
			free(v[i].key);
			free(v[i].text);
		}
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = m;
	return 0;
}

/* Send v[0..n) as fenced transactions in order (shared_write). */
static int send_items(struct etcd_store *e, const struct item *v, size_t n)
{
	struct engine_shared sh = { .etcd = e->c, .prefix = e->prefix, .fence_key = e->fence_key,
				    .fence_rev = e->fence_rev, .fenced = e->fenced, .arg = e->arg };
	struct shared_item *items = xcalloc(n ? n : 1, sizeof(*items));
	char *cause = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		items[i] = (struct shared_item){ .key = v[i].key, .value = v[i].text, .len = v[i].len };
	r = shared_write_counted(&sh, items, n, &e->txns, &cause);
	if (r == -ESTALE)
		e->refusals++;
	free(cause);
	free(items);
	return r;
}

static int write_runs(struct store *s, const struct run *const *runs, size_t n, bool put)
{
	struct etcd_store *e = es_of(s);
	struct item *v;
	size_t m;
	int r = items_of(e, runs, n, put, &v, &m);

	if (r < 0)
		return r;
	r = send_items(e, v, m);
	for (size_t i = 0; i < m; i++) {
		free(v[i].key);
		free(v[i].text);
	}
	free(v);
	return r;
}

static int es_put(struct store *s, const struct run *const *runs, size_t n)
{
	return write_runs(s, runs, n, true);
}

static int es_remove(struct store *s, const struct run *const *runs, size_t n)
{
	return write_runs(s, runs, n, false);
}

static bool key_matches(const struct run *r, const char *job, int64_t start, const char *part)
{
	return strcmp(r->job, job) == 0 && r->start == start &&
	       (r->part == part || (r->part && part && strcmp(r->part, part) == 0));
}

/* One key of the runs: its run, or its damage under the identity its
 * name gives (none when the name is no run's). */
static void load_kv(struct etcd_store *e, const struct etcd_kv *kv, store_load_cb cb, void *arg)
{
	const char *name = kv->key + strlen(e->runs);
	char *where = xasprintf("etcd %s", kv->key), *cause = NULL, *job = NULL, *part = NULL;
	struct run *r = NULL;
	int64_t start = 0;
	bool legacy, keyed = state_file_key(name, &job, &start, &part, &legacy) == 0;

	if (state_parse(kv->value, kv->value_len, &r, &cause) == 0) {
		if (!keyed || !key_matches(r, job, start, part)) {
			char *want = state_file_name(r->job, r->start, r->part);
			cause = xasprintf("holds the run '%s' of another key", want);
			free(want);
			run_free(r);
			r = NULL;
		}
	}
	if (r)
		cb(&(struct run_key){ .job = r->job, .start = r->start, .part = r->part }, r, NULL, where, arg);
	else if (keyed)
		cb(&(struct run_key){ .job = job, .start = start, .part = part }, NULL, cause, where, arg);
	else
		cb(NULL, NULL, cause, where, arg);
	free(where);
	free(cause);
	free(job);
	free(part);
}

static int es_load(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info)
{
	struct etcd_store *e = es_of(s);
	char *after = NULL;
	int r;

	memset(info, 0, sizeof(*info));
	for (;;) {
		char *body = etcdmsg_range(e->runs, after, PAGE_KEYS), *cause = NULL;
		struct etcd_resp resp;

		r = etcd_call(e->c, "/v3/kv/range", body, ETCD_RANGE_RESP, &resp, &cause);
		free(body);
		free(cause);
		if (r < 0)
			break;
		for (size_t i = 0; i < resp.n_kvs; i++) {
			/* the range holds only keys under the prefix */
			if (strncmp(resp.kvs[i].key, e->runs, strlen(e->runs)) == 0)
				load_kv(e, &resp.kvs[i], cb, arg);
		}
		if (!resp.more || resp.n_kvs == 0) {
			etcd_resp_clear(&resp);
			break;
		}
		free(after);
		after = xstrdup(resp.kvs[resp.n_kvs - 1].key);
		etcd_resp_clear(&resp);
	}
	free(after);
	return r < 0 && r != -EPROTO ? -EIO : r;
}

static long es_compact(struct store *s, size_t max)
{
	(void)s;
	(void)max;
	return 0;
}

static const char *es_where(const struct store *s)
{
	struct etcd_store *e = (struct etcd_store *)s;

	free(e->where);
	e->where = xasprintf("etcd %s %s", etcd_endpoint(e->c), e->prefix);
	return e->where;
}

static void es_close(struct store *s)
{
	struct etcd_store *e = es_of(s);

	if (!e)
		return;
	free(e->prefix);
	free(e->runs);
	free(e->fence_key);
	free(e->where);
	free(e);
}

static const struct store_ops etcd_ops = {
	.name = "etcd",
	.load = es_load,
	.put = es_put,
	.remove = es_remove,
	.compact = es_compact,
	.where = es_where,
	.close = es_close,
};

int store_etcd_open(struct etcd *c, const char *prefix, const char *fence_key, int64_t fence_rev,
		    void (*fenced)(void *arg), void *arg, struct store **ret, char **cause)
{
	struct etcd_store *e;

	if (!c || !prefix || !*prefix) {
		*cause = xstrdup("the etcd store needs a client and a key prefix");
		return -EINVAL;
	}
	e = xcalloc(1, sizeof(*e));
	e->base.ops = &etcd_ops;
	e->c = c;
	e->prefix = xstrdup(prefix);
	e->runs = xasprintf("%sruns/", prefix);
	e->fence_key = fence_key ? xstrdup(fence_key) : NULL;
	e->fence_rev = fence_rev;
	e->fenced = fenced;
	e->arg = arg;
	*ret = &e->base;
	return 0;
}

uint64_t store_etcd_refusals(const struct store *s)
{
	return ((const struct etcd_store *)s)->refusals;
}

uint64_t store_etcd_txns(const struct store *s)
{
	return ((const struct etcd_store *)s)->txns;
}
