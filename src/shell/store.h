/*
 * store: where the runs' records live, behind one interface so that the
 * engine never knows how (OpenSMTPD's scheduler backends are the model: a
 * table of operations, one implementation per medium). The file backend
 * (store_file.c) keeps one file per run under STATE_DIR/runs/; a backend on
 * etcd or an append-only log implements the same operations.
 *
 * The contract every backend keeps:
 *  - put: when it returns 0, every record handed to it is durable (it
 *    survives kill -9 and a power cut) and is what load returns for its run
 *    from then on; the records of one call share one sync (group commit).
 *    On failure any of them may still hold its old version, never a mix.
 *  - remove: when it returns 0, no record of those runs is returned by a
 *    later load (not even an older one kept elsewhere, e.g. in a journal).
 *  - load: the newest record of each run (by gen), once per run; a record
 *    that cannot be read is reported with the run's identity when the
 *    backend still knows it, and kept as evidence.
 *  - compact: background work (folding journals into their runs' records);
 *    never needed for correctness, only for speed and space.
 *  - open takes a lock: a second daemon on the same store is refused.
 */
#ifndef BC_STORE_H
#define BC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

/* The identity of a run: job, occurrence instant, part (NULL: the whole
 * run). */
struct run_key {
	const char *job;
	int64_t start;
	const char *part;
};

/* Called once per run found: its newest record r (the callback owns it), or
 * r == NULL when no readable record exists: cause says why, and key is the
 * identity the backend could still read (NULL when not even that: a damaged
 * line of a journal). where names the place for messages ("FILE",
 * "FILE:LINE"). */
typedef void (*store_load_cb)(const struct run_key *key, struct run *r, const char *cause, const char *where,
			      void *arg);

struct store_load_info {
	size_t journals;      /* journal files found */
	bool journal_damaged; /* a journal record could not be read: some run's newest record is lost */
	size_t torn;          /* journals' last lines a crash cut short (never acknowledged): skipped */
};

struct store;

struct store_ops {
	const char *name;
	int (*load)(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info);
	int (*put)(struct store *s, const struct run *const *runs, size_t n);
	int (*remove)(struct store *s, const struct run *const *runs, size_t n);
	/* Do up to max units of background work; the number left (0: none),
	 * or a negative errno. */
	long (*compact)(struct store *s, size_t max);
	/* Where the records are, for messages ("/var/lib/batchcalld"). */
	const char *(*where)(const struct store *s);
	void (*close)(struct store *s);
};

/* Every backend's handle starts with this. */
struct store {
	const struct store_ops *ops;
};

/* The file backend: open (creating if needed) the state folder dir and take
 * its lock. 0, or a negative errno (-EBUSY: another process holds the lock)
 * with *cause. */
int store_file_open(const char *dir, struct store **ret, char **cause);

struct etcd;

/* The etcd backend (cluster mode): one key per run, PREFIX "runs/" NAME
 * (NAME: state_file_name), its value the same versioned JSON as a state
 * file. Every put and remove is one transaction per at most 64 records and
 * 1 MiB, fenced: it succeeds only while the key fence_key still has the
 * create revision fence_rev (this node's leadership); otherwise nothing
 * of it is written, the call returns -ESTALE and fenced(arg) is called
 * (once per refusal). No answer from etcd: -EIO (the transaction may or
 * may not have been applied, each record whole). A record over 1 MiB is
 * refused (-EFBIG). load pages through the prefix (1000 keys a request).
 * The client c stays the caller's. */
int store_etcd_open(struct etcd *c, const char *prefix, const char *fence_key, int64_t fence_rev,
		    void (*fenced)(void *arg), void *arg, struct store **ret, char **cause);
/* Writes refused by the fence, and transactions sent, since open. */
uint64_t store_etcd_refusals(const struct store *s);
uint64_t store_etcd_txns(const struct store *s);

/* Read every record: cb gets the newest of each run (or its damage). 0, or a
 * negative errno when the store cannot be read at all. */
static inline int store_load(struct store *s, store_load_cb cb, void *arg, struct store_load_info *info)
{
	return s->ops->load(s, cb, arg, info);
}

/* Write runs durably with one sync for all. 0, or a negative errno. */
static inline int store_put(struct store *s, const struct run *const *runs, size_t n)
{
	return n ? s->ops->put(s, runs, n) : 0;
}

/* Remove the records of runs durably. 0, or a negative errno (then the
 * records may still be there). */
static inline int store_remove(struct store *s, const struct run *const *runs, size_t n)
{
	return n ? s->ops->remove(s, runs, n) : 0;
}

/* Background work, up to max units: what is left, or a negative errno. */
static inline long store_compact(struct store *s, size_t max)
{
	return s->ops->compact(s, max);
}

static inline const char *store_where(const struct store *s)
{
	return s->ops->where(s);
}

static inline void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

#endif
