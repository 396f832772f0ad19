/*
 * shared: the facts a cluster's leader keeps in etcd beside the run records
 * (the daemon's own do-not-call list, the contact ledger): fenced writes
 * of many keys, in transactions of at most 64 keys and about 1 MiB, and
 * reads of a whole prefix, page by page. The engine's struct
 * engine_shared (engine.h) says where and under which fence.
 */
#ifndef BC_SHARED_H
#define BC_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "etcdmsg.h"

/* One key to write: value (len bytes), or value NULL to delete it. */
struct shared_item {
	const char *key;
	const char *value;
	size_t len;
};

/* Write v[0..n) in fenced transactions, in order, each whole. 0; -ESTALE
 * when the fence refused (sh->fenced was called, nothing of that
 * transaction written); -EIO when etcd did not answer (that transaction
 * may or may not be written); -EPROTO. *cause (caller frees) on failure. */
int shared_write(const struct engine_shared *sh, const struct shared_item *v, size_t n, char **cause);
/* The same, adding the transactions sent to *txns (NULL: not counted);
 * sh->fence_key NULL: unfenced. */
int shared_write_counted(const struct engine_shared *sh, const struct shared_item *v, size_t n, uint64_t *txns,
			 char **cause);
/* Every key under prefix (the whole key prefix, e.g. PREFIX "contacts/"),
 * in key order. 0 and *ret (shared_kvs_free), or a negative errno with
 * *cause. */
int shared_range(const struct engine_shared *sh, const char *prefix, struct etcd_kv **ret, size_t *ret_n,
		 char **cause);
void shared_kvs_free(struct etcd_kv *v, size_t n);

#endif
