/*
 * report: the campaign results files of each occurrence, written below
 * results_dir (an engine part: see engine_int.h and report.c).
 */
#ifndef BC_REPORT_H
#define BC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "ctlview.h"
#include "run.h"
#include "webhook.h"

struct engine;
struct report;

/* A terminal detail of r's batch arrived: keep its recipients for the
 * occurrence's rows and write the occurrence's results files. */
void report_note_detail(struct engine *e, const struct run *r, const struct batch_detail *d);
/* Run r ended (a final state) with a batch: its occurrence's files are
 * written again from a detail of the batch fetched after the end (the
 * one the end came with, else fetched anew: a cancel's answer has none). */
void report_note_batch_end(struct engine *e, const struct run *r);
/* Run r ended without a batch (missed, refused, cancelled before it was
 * submitted): its occurrence's files are written (soon, out of the way of
 * due runs), its recipients' rows saying why they were never dialled. */
void report_note_unbatched(struct engine *e, const struct run *r);
/* The recipients (keys; the caller frees) of occurrence (job, start)
 * whom follow-up touch t takes from the rows of touch prev, as the
 * results stand now (results_touch_select): 0, or -EAGAIN while the
 * detail of an ended batch of it is being fetched again or, with
 * may_wait, while a conversation t judges by is not final yet
 * (results_touch_waiting). */
struct touch;
int report_touch_select(struct engine *e, const char *job, int64_t start, int prev, const struct touch *t,
			bool may_wait, char ***ret, size_t *ret_n);
/* The name an event is kept under (TYPE-CONVERSATION.json: its file in
 * STATE_DIR/events, its key below PREFIX "events/" in cluster mode), or
 * NULL for a type or id that is not kept; the caller frees. */
char *report_event_name(const struct webhook_event *ev);
/* Whether exactly this event (body, byte for byte) is stored (in etcd in
 * cluster mode: false when etcd cannot be read): a stale delivery is
 * answered 200 only then (an exact redelivery), 401 else. */
bool report_event_stored(struct engine *e, const struct webhook_event *ev, const char *body, size_t len);
/* Whether conversation id belongs to a batch the daemon follows (a
 * detail named it: its fetch is planned or done) or is kept already. */
bool report_conversation_known(struct engine *e, const char *id);
/* A verified post-call event waiting for the group commit. */
struct report_pending {
	struct webhook_event ev; /* its parts are taken when it is joined */
	const char *body;        /* as received */
	size_t len;
	int result;              /* out: 0 once durable; -EINVAL: a type or id
				  * that is not kept; else the write's errno */
	bool dup;                /* out: it changes nothing: exactly it, or a
				  * version it does not supersede, is kept */
};

/* Keep n verified post-call events durably in STATE_DIR/events (the body
 * as received; one file per conversation and type, replaced only by a
 * version that supersedes it), all with one sync (group commit), then join them to the rows. Each
 * says in result and dup what became of it. In cluster mode in etcd
 * instead (events_etcd_store: one compare-and-swap per event, not fenced),
 * then joined. */
void report_take_events(struct engine *e, struct report_pending *v, size_t n);
/* Read what the state folder keeps for the results (the conversations
 * fetched before, the events received), and write again the files of the
 * occurrences that a crash left missing or older than their runs' ends or
 * those facts: 0, or a negative errno (logged by the caller). In cluster
 * mode the events are read from etcd (PREFIX "events/", any node's
 * receiver writes there), and those written since are read every 2 s
 * (asynchronously) and joined the same way. */
int report_load(struct engine *e);
/* A reload replaced the configuration old: the finished occurrences of
 * the jobs that came back into the files get the files they could not
 * have while their job was gone (missing or older than their runs' ends). */
void report_note_reload(struct engine *e, const struct daemonconf *old);
/* Write now what waits to be written (the daemon stops). */
void report_flush(struct engine *e);
/* The rows of the occurrence (job, start) as the control socket shows
 * them (start 0: the latest one submitted or decided): the results
 * document (core results_document) the caller frees; an occurrence the
 * daemon no longer holds (an earlier one, a job gone from the files)
 * from its results files (resfiles), as batchcallctl reads them while the
 * daemon is down; or -ENOENT with *why (static text, resfiles.h). */
int report_render(struct engine *e, const char *job, int64_t start, char **ret, const char **why);
/* The counts of the results files of (job, start) as of their last write
 * (known false before the first). */
void report_counts(struct engine *e, const char *job, int64_t start, struct ctlview_results *ret);
/* Free what the engine keeps for the results (NULL accepted). */
void report_free(struct report *r);

#endif
