/*
 * events_etcd: the post-call events in etcd (cluster mode; see
 * events_etcd.c). Any node, leader or standby, stores the events its
 * receiver verified; the leader reads them all at start and those written
 * since every few seconds (report.c).
 */
#ifndef BC_EVENTS_ETCD_H
#define BC_EVENTS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webhook.h"

struct etcd;
struct report_pending;

/* Below the key prefix: PREFIX "events/" NAME, NAME the file name the
 * event has in STATE_DIR/events (TYPE-CONVERSATION.json). */
#define EVENTS_ETCD_DIR "events/"

/* PREFIX "events/" name; the caller frees. */
char *events_etcd_key(const char *prefix, const char *name);

/* The event stored under name: 1 with its body (*ret_text, NUL-terminated,
 * the caller frees; *ret_len) and mod revision (*ret_mod, may be NULL), 0
 * when none, or a negative errno when etcd cannot be read (-EIO: no
 * answer; -EPROTO). */
int events_etcd_get(struct etcd *c, const char *prefix, const char *name, char **ret_text, size_t *ret_len,
		    int64_t *ret_mod);

/* Whether exactly this event (body, byte for byte) is stored: 1, 0, or a
 * negative errno when etcd cannot be read. */
int events_etcd_stored(struct etcd *c, const char *prefix, const struct webhook_event *ev, const char *body,
		       size_t len);

/* Store the n verified events v in etcd, as report_take_events does in
 * the state folder: one key per conversation and type, its value the body
 * as received, replaced only by a version that supersedes it (of the
 * deliveries of one key in the group and the one stored, the first that no
 * later one supersedes stays; the others are dup). Each write is a
 * compare-and-swap on the key's mod revision (create revision 0 when
 * absent), tried again on a conflict (EVENTS_ETCD_TRIES times); not fenced:
 * any node writes. etcd answers once the write is durable on a quorum.
 * Each v[i] says in result and dup what became of it: 0 (durable, or
 * dup), -EINVAL (a type or id that is not kept), -EIO (etcd did not
 * answer: the events after it in the group are not tried), -EAGAIN
 * (conflicts every time), -EPROTO (etcd refused it: too large?). mods
 * (n of them, may be NULL): the mod revision of each event written (0
 * else). A failure is logged once per call. */
#define EVENTS_ETCD_TRIES 3
void events_etcd_store(struct etcd *c, const char *prefix, struct report_pending *v, size_t n, int64_t *mods);

/* Delete the key of name if its mod revision is still mod (the leader
 * lets an event past state_retention go). 0, or a negative errno. */
int events_etcd_delete(struct etcd *c, const char *prefix, const char *name, int64_t mod);

#endif
