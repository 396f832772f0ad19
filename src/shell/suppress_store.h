/*
 * suppress_store: the do-not-call lists on disk. Reading a list file of the
 * daemon key `suppression` into a set (the parsing is the core's
 * suppress.c), and the daemon's own list, STATE_DIR/suppressed.csv, which
 * `batchcallctl suppress` appends to.
 *
 * The own list is a CSV the same parser reads:
 *
 *   phone_number,whatsapp_user_id,added_utc,peer_uid,reason
 *   +15550100001,,2026-12-05T17:00:00Z,1001,"asked us to stop"
 *
 * made (header only) when absent, with a temp file, fsync, rename and an
 * fsync of the folder; each addition is one appended line and an
 * fdatasync before the operator is answered, so that an answered
 * addition survives kill -9 and a power cut. A last line without its
 * newline (a write cut short: never answered) is cut off at the next
 * start and said.
 */
#ifndef BC_SUPPRESS_STORE_H
#define BC_SUPPRESS_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "suppress.h"
#include "util.h"

/* A list file may be this large (ten million numbers fit). */
#define SUPPRESS_STORE_MAX_FILE (512u << 20)
/* The name of the own list in the state folder. */
#define SUPPRESS_STORE_NAME "suppressed.csv"
/* The longest reason kept; longer ones are cut. */
#define SUPPRESS_STORE_REASON_MAX 200

struct suppress_store;

/* Read the list file at path into s (not sealed). 0, or -EINVAL with the
 * file's errors in d (one that cannot be read is an error too: a missing
 * list is never an empty one). */
int suppress_store_read(const char *path, struct suppress_set *s, struct diag *d);

/* Open the own list in state_dir (made when absent) and read it into own
 * (sealed). 0 and *ret; *ret_cut tells whether a torn last line was cut
 * off. A negative errno with *cause (caller frees): the state folder
 * cannot hold it, or a line is malformed (never dropped silently). */
int suppress_store_open(const char *state_dir, struct suppress_set *own, struct suppress_store **ret, bool *ret_cut,
			char **cause);
struct engine_shared;
/* Cluster mode: the own list in etcd (PREFIX "suppressed/" TARGET, its
 * line the value), read into own (sealed); appends are fenced writes, and
 * follow has nothing to follow. 0 and *ret, or a negative errno with
 * *cause. */
int suppress_store_open_etcd(const struct engine_shared *sh, struct suppress_set *own, struct suppress_store **ret,
			     char **cause);
/* Before an append: when the own list at its path is no longer the file
 * st writes to (replaced by an edit or a restore, or removed), read the
 * one there now (made when absent) into own (what own held stays) and
 * write to it from now on; *ret_replaced says so. 0, or a negative errno
 * with *cause (nothing may be appended then). */
int suppress_store_follow(struct suppress_store *st, struct suppress_set *own, bool *ret_replaced, char **cause);
/* Append the normal target (suppress_normalize) with the moment, who
 * asked and why (may be NULL), durably; its line in *ret_line. 0 or a
 * negative errno (nothing that was not durable is reported done). */
int suppress_store_append(struct suppress_store *st, const char *normal, int64_t now_s, uint32_t peer_uid,
			  const char *reason, uint32_t *ret_line);
/* `check`: print to out a warning ("FILE:LINE: warning: job 'x':
 * recipient … is on the do-not-call list LIST:LINE; …") for each recipient
 * of c's jobs on a list of `suppression` or on the daemon's own list, read
 * (never made or repaired) when it exists; a note when it cannot be read.
 * Returns how many recipients. */
size_t suppress_store_check(const struct daemonconf *c, FILE *out);
/* The own list's path (for messages). */
const char *suppress_store_path(const struct suppress_store *st);
void suppress_store_close(struct suppress_store *st);

#endif
