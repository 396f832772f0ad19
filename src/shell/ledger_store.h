/*
 * ledger_store: the contact ledger on disk, STATE_DIR/contacts.csv (the
 * parsing and the verdicts are the core's ledger.c). One line a contact,
 * "AT,TARGET,AGENT,TAG" (ledger_format), appended: the lines of the
 * contacts an intent records are written and fdatasync'ed before the
 * intent's own record (carry's group commit), so no request leaves before
 * its contacts are on stable storage, and a crash can only leave a
 * contact that was never made (which errs on the side of calling less).
 *
 * Bounded: at every start and reload, and whenever the file holds twice
 * the lines of the contacts live in memory, the contacts that no window
 * can count again (older than the horizon) are dropped from memory and
 * the file is written again without them (temp file, fsync, rename).
 */
#ifndef BC_LEDGER_STORE_H
#define BC_LEDGER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define LEDGER_STORE_NAME "contacts.csv"
/* The largest ledger file read (some four million contacts). */
#define LEDGER_STORE_MAX_FILE ((size_t)256 << 20)

struct ledger_store;

/* Open (make when absent) the ledger in state_dir, read it into l (which
 * gets every contact after now_s - horizon), cut a torn last line, write
 * it again without the expired ones when there were any. 0 and *ret
 * (*ret_dropped: contacts expired, *ret_cut: a torn line cut); or a
 * negative errno with *cause: a malformed line stops the start (repair
 * it: a contact is never dropped silently). */
int ledger_store_open(const char *state_dir, int64_t horizon, int64_t now_s, struct ledger *l,
		      struct ledger_store **ret, size_t *ret_dropped, bool *ret_cut, char **cause);
struct engine_shared;
/* Cluster mode: the ledger in etcd (PREFIX "contacts/" KEY "-" TAG, one
 * key a contact, its line the value), read into l as ledger_store_open
 * does (the expired contacts deleted); syncs and compactions are fenced
 * writes. 0 and *ret, or a negative errno with *cause. */
int ledger_store_open_etcd(const struct engine_shared *sh, int64_t horizon, int64_t now_s, struct ledger *l,
			   struct ledger_store **ret, size_t *ret_dropped, char **cause);
/* Queue the line of one contact for the next sync. */
void ledger_store_add(struct ledger_store *st, int64_t at, const char *target, const char *agent, uint64_t tag);
/* Whether lines wait for a sync. */
bool ledger_store_pending(const struct ledger_store *st);
/* Write the queued lines and fdatasync. 0, or a negative errno: then
 * nothing of them stays in the file (and they stay queued). */
int ledger_store_sync(struct ledger_store *st);
/* Drop from l and from the file (written again) every contact at or
 * before cutoff (unix seconds). Returns how many, or a negative errno
 * (the file is then as it was). */
long ledger_store_compact(struct ledger_store *st, struct ledger *l, int64_t now_s, int64_t cutoff);
/* Whether it is time to compact (ledger_store_compact): a day since the
 * last time (or since one failed), or the file grew to twice the
 * contacts live in memory and 100,000 lines (an hour after a failure). */
bool ledger_store_due(const struct ledger_store *st, size_t live, int64_t now_s);
const char *ledger_store_path(const struct ledger_store *st);
void ledger_store_close(struct ledger_store *st);

#endif
