/*
 * shared: fenced writes and prefix reads in etcd (shared.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "shared.h"
#include "util.h"

#define TXN_MAX_OPS 64
#define TXN_MAX_BODY ((size_t)1 << 20)
#define PAGE_KEYS 1000

static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

int shared_write(const struct engine_shared *sh, const struct shared_item *v, size_t n, char **cause)
{
	return shared_write_counted(sh, v, n, NULL, cause);
}

int shared_write_counted(const struct engine_shared *sh, const struct shared_item *v, size_t n, uint64_t *txns,
			 char **cause)
{
	struct etcd_cmp fence = {
		.key = sh->fence_key, .target = ETCD_CREATE, .result = ETCD_EQUAL, .num = sh->fence_rev
	};
	struct etcd_op *ops = xcalloc(n ? n : 1, sizeof(*ops));
	size_t base = sh->fence_key ? 96 + b64_len(strlen(sh->fence_key)) : 16;
	int r = 0;

	for (size_t i = 0; i < n && r == 0;) {
		size_t k = 0, body = base;
		struct etcd_resp resp;
		char *txn;

		while (i + k < n && k < TXN_MAX_OPS) {
			const struct shared_item *it = &v[i + k];
			size_t cost = 48 + b64_len(strlen(it->key)) + (it->value ? b64_len(it->len) : 0);
			if (k > 0 && body + cost > TXN_MAX_BODY)
				break;
			body += cost;
			ops[k] = (struct etcd_op){ .kind = it->value ? ETCD_OP_PUT : ETCD_OP_DELETE,
						   .key = it->key,
						   .value = it->value,
						   .value_len = it->len };
			k++;
		}
		txn = etcdmsg_txn(&fence, sh->fence_key ? 1 : 0, ops, k, NULL, 0);
		if (txns)
			(*txns)++;
		r = etcd_call(sh->etcd, "/v3/kv/txn", txn, ETCD_TXN_RESP, &resp, cause);
		free(txn);
		if (r == 0) {
			if (!resp.succeeded) {
				*cause = xstrdup("refused: this node is no longer the leader");
				if (sh->fenced)
					sh->fenced(sh->arg);
				r = -ESTALE;
			}
			etcd_resp_clear(&resp);
		} else if (r != -EPROTO) {
			r = -EIO;
		}
		i += k;
	}
	free(ops);
	return r;
}

void shared_kvs_free(struct etcd_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

int shared_range(const struct engine_shared *sh, const char *prefix, struct etcd_kv **ret, size_t *ret_n,
		 char **cause)
{
	struct etcd_kv *v = NULL;
	size_t n = 0, cap = 0;
	char *after = NULL;
	int r;

	for (;;) {
		char *body = etcdmsg_range(prefix, after, PAGE_KEYS);
		struct etcd_resp resp;

		r = etcd_call(sh->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, &resp, cause);
		free(body);
		if (r < 0)
			break;
		free(after);
		after = resp.n_kvs ? xstrdup(resp.kvs[resp.n_kvs - 1].key) : NULL;
		for (size_t i = 0; i < resp.n_kvs; i++) {
			if (strncmp(resp.kvs[i].key, prefix, strlen(prefix)) != 0)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				v = xrealloc(v, cap * sizeof(*v));
			}
			/* taken over: the answer's copy is cleared below */
			v[n++] = resp.kvs[i];
			resp.kvs[i].key = NULL;
			resp.kvs[i].value = NULL;
		}
		if (!resp.more || resp.n_kvs == 0) {
			etcd_resp_clear(&resp);
			break;
		}
		etcd_resp_clear(&resp);
	}
	free(after);
	if (r < 0) {
		shared_kvs_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
