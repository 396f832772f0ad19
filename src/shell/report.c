/*
 * report: the campaign results files of each occurrence (issue 14,
 * docs/results.md). What the rows say is decided by the core
 * (src/core/results.c: the join, the CSV, the JSON Lines, the names);
 * this part of the engine gathers its inputs (the job, the runs of the
 * occurrence, the batch details, the known conversations) and writes the
 * two files below results_dir with the state's crash-safe replace
 * (file.h), first when a batch ends and again whenever a later fact
 * arrives.
 *
 * The details are kept in memory only: they are the API's to give again
 * (GET of the batch), and a results file already written stays on disk
 * across a restart. A stop writes what waits (report_flush); at start,
 * the files a crash left missing or older than what the state knows (a
 * run's end, finished_ms; an event or conversation kept) are written
 * again, a batch's after its detail is fetched again (stale_check).
 *
 * The polling fallback: each recipient of an ended batch that has a
 * conversation is fetched (GET /v1/convai/conversations/{id}) through the
 * API client, so under the same rate limit; at most REPORT_IN_FLIGHT
 * requests of this part at a time (these polls and the details fetched
 * again, which go first), so that a campaign's thousands of polls or a
 * start's hundreds of details never queue ahead of a submit; and none is
 * sent when a run comes due within the time the rate limit takes to send
 * those in flight (fetch_margin_ms), so that a due submit finds the
 * client's queue empty. A transient failure is tried again with the runs' backoff
 * (full jitter, Retry-After honoured); a conversation still `processing`
 * (or done without its analysis) is fetched again, with backoff, at most
 * REPORT_POLL_MAX times. Each conversation fetched that says more than
 * what was known is appended to the conversations log,
 * STATE_DIR/conversations/conversations-N.jsonl (conv_log_line: the body
 * as received and when), so that a restart does not fetch it again: a
 * cache, so no file is made per conversation and no line is synced (a
 * crash loses at most a tail, fetched again; a torn or damaged line is
 * skipped at start with its FILE:LINE). Each start appends to a new file;
 * the prune rolls the file every state_retention / REPORT_CONV_LOG_ROLLS
 * and removes a file once its last line is past state_retention. The
 * conv-ID.json files of earlier versions are still read at start (and
 * removed past state_retention).
 *
 * When a batch ends without a webhook receiver, the occurrence's first
 * write waits, at most REPORT_CONV_WAIT_MS, for the fetches of its
 * conversations to end (final, or given up): one write with the
 * conversation columns instead of one without them and more as they come.
 * After that the files are written again REPORT_WRITE_DELAY_MS after the
 * first new fact (one write for a burst of answers). A write takes every
 * occurrence ready then (those whose fetches ended within that delay
 * too), makes their files, and writes them all with one sync before the
 * renames and one after (file_replace_sets), not three per occurrence:
 * issue 17's thousand occurrences ending within 20 s were 3,000 journal
 * commits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "api.h"
#include "backoff.h"
#include "engine_int.h"
#include "etcd.h"
#include "events_etcd.h"
#include "file.h"
#include "report.h"
#include "resfiles.h"
#include "results.h"
#include "sbuf.h"
#include "util.h"
#include "webhook.h"

#define REPORT_IN_FLIGHT 2 /* polls and details fetched again, together */
#define REPORT_POLL_MAX 8            /* fetches of one conversation not yet final */
#define REPORT_POLL_FAILURES_MAX 10  /* transient failures before giving up on one */
#define REPORT_POLL_BASE_MS 2000     /* first wait for a conversation still processing */
#define REPORT_POLL_CAP_MS (10 * 60 * 1000)
/* A write waits this long after the fact that asks for it: one write for
 * a burst of answers, and for the occurrences whose conversations came in
 * together (their files share one sync, file_replace_sets). */
#define REPORT_WRITE_DELAY_MS 1000
/* Results files are made in chunks of at most this long (their rows; then
 * the chunk's one sync), and not when a run comes due within the margin. */
#define REPORT_WRITE_CHUNK_MS 20
#define REPORT_WRITE_MARGIN_MS 100
/* Occurrences written with one sync at most (a job folder open for each). */
#define REPORT_WRITE_BATCH 128
/* With webhooks on: how long an ended batch's conversations wait for
 * their post-call event before they are fetched (the sender's own retry
 * schedule reaches 30 minutes after its first try, but a lost event must
 * not hold the rows for that long). */
#define REPORT_WEBHOOK_GRACE_MS (10 * 60 * 1000)
#define REPORT_CONV_MAX_FILE ((size_t)64 << 20)
/* The first write of an occurrence whose batch ended waits at most this
 * long for the fetches of its conversations (no webhook receiver). */
#define REPORT_CONV_WAIT_MS (30 * 1000)
/* The conversations log is rolled (a new file) every state_retention /
 * REPORT_CONV_LOG_ROLLS, or once it holds REPORT_CONV_LOG_MAX bytes: a
 * file goes when its last line is past state_retention, so the log holds
 * about REPORT_CONV_LOG_ROLLS + 1 files. */
#define REPORT_CONV_LOG_ROLLS 30
#define REPORT_CONV_LOG_MAX ((off_t)64 << 20)
/* Damaged lines of one log file reported one by one at start, at most. */
#define REPORT_CONV_LOG_WARN 10
/* How often what is kept in memory is pruned (conv_retained). */
#define REPORT_PRUNE_INTERVAL_S 600

/* A map from a string to a pointer, open addressing; no removal. The keys
 * belong to the values. */
struct strmap {
	const char **keys;
	void **vals;
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static size_t strmap_slot(const struct strmap *m, const char *key)
{
	size_t i = (size_t)(str_hash(key) & (m->cap - 1));
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	return m->vals[strmap_slot(m, key)];
}

/* Set key (whose text outlives the entry) to val, replacing. */
static void strmap_put(struct strmap *m, const char *key, void *val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct strmap g = { .cap = m->cap ? 2 * m->cap : 64 };
		g.keys = xcalloc(g.cap, sizeof(*g.keys));
		g.vals = xcalloc(g.cap, sizeof(*g.vals));
		for (size_t k = 0; k < m->cap; k++)
			if (m->keys[k]) {
				size_t j = strmap_slot(&g, m->keys[k]);
				g.keys[j] = m->keys[k];
				g.vals[j] = m->vals[k];
				g.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	i = strmap_slot(m, key);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
}

static void strmap_clear(struct strmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct strmap){ 0 };
}

/* One conversation to fetch. */
struct poll {
	struct report *rep;
	char *conv_id;
	char *job;
	int64_t start;
	int fetches;  /* answers that were not final yet */
	int failures; /* consecutive transient failures */
	int64_t due_ms;
	bool in_flight;
	bool done;
	bool active; /* in report's list of the fetches not done */
	struct poll *prev, *next; /* that list */
	size_t wait_pos; /* its place in report.waiting + 1; 0: not there */
};

/* The last terminal detail of one batch: its recipients. */
struct report_detail {
	char *batch_id;
	struct batch_rcpt *rcpts;
	size_t n_rcpts;
	bool stale; /* its run ended after it (a cancel's answer brings no
		     * detail): fetched again before the rows use it */
};

/* One occurrence of a job that has results. */
struct report_occ {
	char *job;
	int64_t start;
	size_t same_job; /* index + 1 in report.occ of the next of this job; 0: none */
	struct report_detail *details;
	size_t n_details, cap_details;
	/* conversations the batches' entries held in earlier details (a
	 * retry gives an entry a new one): they count as attempts */
	struct results_link *links;
	size_t n_links, cap_links;
	struct strmap linked; /* their conversation ids */
	struct ctlview_results counts; /* as of the last write */
	bool dirty; /* a new fact since its files were written */
	/* a detail fetched again failed for now: not written (which asks
	 * for it again) before not_before_ms */
	int refetch_failures;
	int64_t not_before_ms;
	/* while the fetches of its conversations are under way, its write
	 * waits until then (REPORT_CONV_WAIT_MS; 0: no wait); the end of
	 * the last one ends it */
	int64_t hold_until_ms;
};

/* What the state folder keeps for the results, by when it was written
 * (read at start only): the newest event or kept conversation of each
 * batch and of each conversation. */
struct fact {
	char *key;
	int64_t ms;
};

struct facts {
	struct strmap by_batch, by_conv; /* key -> struct fact */
	struct fact **v;
	size_t n, cap;
	int64_t newest_conv_ms; /* the newest of by_conv */
};

/* The conversations known that name one batch (metadata.batch_call):
 * their indexes in report.convs (one may be listed that names another
 * batch since: checked where it is used). */
struct conv_batch {
	char *batch_id;
	size_t *ix;
	size_t n, cap;
};

/* A file of the conversations log: its number and last write (ms). */
struct conv_log {
	uint64_t n;
	int64_t last_ms;
};

struct report {
	struct engine *e;
	struct report_occ *occ;
	size_t n_occ, cap_occ;
	/* job -> index + 1 in occ of its first occurrence (the others follow
	 * through same_job): found without a walk over every job's */
	struct strmap occ_jobs;
	/* the conversations and failures known (polls, webhooks): one of
	 * each id, the most complete */
	struct conv *convs;
	int64_t *conv_seen; /* when each was learned (ms; at start its log line's, or its file's mtime) */
	size_t n_convs, cap_convs, cap_conv_seen;
	struct strmap conv_index; /* id -> index + 1 */
	struct strmap conv_batches; /* batch id -> struct conv_batch */
	struct conv_batch **cbs;
	size_t n_cbs, cap_cbs;
	struct conv_failure *failures;
	int64_t *failure_seen;
	size_t n_failures, cap_failures, cap_failure_seen;
	struct strmap failure_index; /* conversation id -> index + 1 */
	/* the fetches; and those not done, in the order they were asked for
	 * (the oldest is sent first), so that poll_cb walks them, not the
	 * thousands done kept until the prune (a done one leaves the list at
	 * once); and those waiting for their due instant (not done, not in
	 * flight) as a heap by due_ms, so that poll_arm, which runs after
	 * every answer, reads the earliest without a walk */
	struct poll **polls;
	size_t n_polls, cap_polls;
	struct poll *active_head, *active_tail;
	struct poll **waiting;
	size_t n_waiting, cap_waiting;
	struct strmap poll_index; /* id -> struct poll */
	size_t in_flight;
	struct event *poll_ev;
	struct event *write_ev;
	struct event *prune_ev;
	/* conversation ids of the occurrences let go since the last prune */
	struct strmap gone;
	char **gone_keys;
	size_t n_gone, cap_gone;
	int64_t write_at_ms; /* when write_ev fires, while it is pending */
	struct facts *facts; /* while the state folder is read at start */
	bool loaded; /* the state folder was read: later events may fetch details */
	struct strmap refetch; /* batch id -> REFETCH_*, or NULL: nothing under way */
	char **refetch_keys;   /* the map's keys */
	size_t n_refetch_keys, cap_refetch_keys;
	/* the batches whose detail waits to be fetched again (REFETCH_QUEUED),
	 * first in first out from queue_head: keys of the map */
	const char **queue;
	size_t queue_head, n_queue, cap_queue;
	/* cluster mode: the events in etcd (events_etcd.h) */
	struct strmap ev_joined;   /* name -> struct ev_joined: the version joined */
	struct ev_joined **ev_joined_v;
	size_t n_ev_joined, cap_ev_joined;
	int64_t ev_seen_rev;       /* every event written up to it is joined */
	int64_t ev_page_rev;       /* the revision of the first page of a poll */
	char *ev_after;            /* the last key of the page before (paging) */
	struct etcd_call *ev_call; /* the poll in flight */
	struct event *ev_poll_ev;
	bool ev_failing;           /* the last poll failed (said once) */
	/* the conversations log: the files kept, the one appended to (or -1:
	 * made at the next append, numbered log_next) */
	struct conv_log *logs;
	size_t n_logs, cap_logs;
	int log_fd;
	uint64_t log_cur, log_next;
	off_t log_size;
	int64_t log_first_ms; /* the current file's first line */
	bool log_failing;     /* an append failed (said once) */
	mode_t umask;         /* the process's, as the daemon keeps it */
	/* the job folders this process made or found its own (job -> 1):
	 * opened directly at their next write, the others made first */
	struct strmap folders;
	char **folder_keys;
	size_t n_folder_keys, cap_folder_keys;
};

/* The version of an event of etcd joined to the rows (its mod revision):
 * a poll that reads it again, or the write of this node's own receiver,
 * changes nothing. */
struct ev_joined {
	char *name;
	int64_t mod;
};

static void detail_clear(struct report_detail *d)
{
	free(d->batch_id);
	for (size_t i = 0; i < d->n_rcpts; i++)
		batch_rcpt_clear(&d->rcpts[i]);
	free(d->rcpts);
	*d = (struct report_detail){ 0 };
}

static void occ_clear(struct report_occ *o)
{
	for (size_t i = 0; i < o->n_links; i++) {
		free((char *)o->links[i].batch_id);
		free((char *)o->links[i].rcpt_id);
		free((char *)o->links[i].conversation_id);
	}
	free(o->links);
	strmap_clear(&o->linked);
	free(o->job);
	for (size_t i = 0; i < o->n_details; i++)
		detail_clear(&o->details[i]);
	free(o->details);
	*o = (struct report_occ){ 0 };
}

static void conv_batches_clear(struct report *rep)
{
	for (size_t i = 0; i < rep->n_cbs; i++) {
		free(rep->cbs[i]->batch_id);
		free(rep->cbs[i]->ix);
		free(rep->cbs[i]);
	}
	free(rep->cbs);
	rep->cbs = NULL;
	rep->n_cbs = rep->cap_cbs = 0;
	strmap_clear(&rep->conv_batches);
}

/* Conversation k of report.convs is listed under its batch. */
static void conv_batch_note(struct report *rep, size_t k)
{
	const char *b = rep->convs[k].batch_call_id;
	struct conv_batch *cb;

	if (!b || !*b)
		return;
	cb = strmap_get(&rep->conv_batches, b);
	if (!cb) {
		cb = xcalloc(1, sizeof(*cb));
		cb->batch_id = xstrdup(b);
		xgrow((void **)&rep->cbs, &rep->cap_cbs, rep->n_cbs + 1, sizeof(*rep->cbs));
		rep->cbs[rep->n_cbs++] = cb;
		strmap_put(&rep->conv_batches, cb->batch_id, cb);
	}
	xgrow((void **)&cb->ix, &cb->cap, cb->n + 1, sizeof(*cb->ix));
	cb->ix[cb->n++] = k;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	if (r->poll_ev)
		event_free(r->poll_ev);
	if (r->write_ev)
		event_free(r->write_ev);
	if (r->prune_ev)
		event_free(r->prune_ev);
	for (size_t i = 0; i < r->n_gone; i++)
		free(r->gone_keys[i]);
	free(r->gone_keys);
	strmap_clear(&r->gone);
	free(r->conv_seen);
	free(r->failure_seen);
	for (size_t i = 0; i < r->n_polls; i++) {
		free(r->polls[i]->conv_id);
		free(r->polls[i]->job);
		free(r->polls[i]);
	}
	free(r->polls);
	free(r->waiting);
	strmap_clear(&r->poll_index);
	strmap_clear(&r->conv_index);
	conv_batches_clear(r);
	strmap_clear(&r->failure_index);
	strmap_clear(&r->refetch);
	for (size_t i = 0; i < r->n_refetch_keys; i++)
		free(r->refetch_keys[i]);
	free(r->refetch_keys);
	free(r->queue);
	etcd_call_cancel(r->ev_call);
	if (r->ev_poll_ev)
		event_free(r->ev_poll_ev);
	free(r->ev_after);
	for (size_t i = 0; i < r->n_ev_joined; i++) {
		free(r->ev_joined_v[i]->name);
		free(r->ev_joined_v[i]);
	}
	free(r->ev_joined_v);
	strmap_clear(&r->ev_joined);
	if (r->log_fd >= 0)
		close(r->log_fd);
	free(r->logs);
	strmap_clear(&r->folders);
	for (size_t i = 0; i < r->n_folder_keys; i++)
		free(r->folder_keys[i]);
	free(r->folder_keys);
	for (size_t i = 0; i < r->n_occ; i++)
		occ_clear(&r->occ[i]);
	free(r->occ);
	strmap_clear(&r->occ_jobs);
	for (size_t i = 0; i < r->n_convs; i++)
		conv_clear(&r->convs[i]);
	free(r->convs);
	for (size_t i = 0; i < r->n_failures; i++)
		conv_failure_clear(&r->failures[i]);
	free(r->failures);
	free(r);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg);
static void poll_arm(struct report *rep);
static void write_cb(evutil_socket_t fd, short what, void *arg);
static void prune_cb(evutil_socket_t fd, short what, void *arg);
static void write_arm(struct report *rep, int64_t ms);
static void write_arm_by(struct report *rep, int64_t at_ms);
static bool occ_fetching(const struct report *rep, const struct report_occ *o);
static void detail_refetch(struct report *rep, const char *batch_id);
static void occ_gc(struct engine *e, struct report *rep, const char *job);
static void mark_dirty(struct report *rep, struct report_occ *o);

/* What is under way for a batch whose detail is fetched again (the
 * values of report.refetch). */
#define REFETCH_IN_FLIGHT ((void *)1)
#define REFETCH_QUEUED ((void *)3) /* in report.queue, not sent yet */
#define REFETCH_GONE ((void *)2) /* 404 or refused: never asked again; the
				  * occurrence's files stay as they were written */

static void polls_for_detail(struct report *rep, const char *job, int64_t start, const struct report_detail *x);

static struct report *report_of(struct engine *e)
{
	if (!e->report) {
		e->report = xcalloc(1, sizeof(*e->report));
		e->report->e = e;
		e->report->poll_ev = event_new(e->base, -1, 0, poll_cb, e->report);
		e->report->write_ev = event_new(e->base, -1, 0, write_cb, e->report);
		e->report->prune_ev = event_new(e->base, -1, 0, prune_cb, e->report);
		e->report->log_fd = -1;
		e->report->log_next = 1;
		/* (read once: the daemon changes it only around its own calls) */
		e->report->umask = umask(0);
		umask(e->report->umask);
	}
	return e->report;
}

/* report.occ_jobs and the same_job chains again, after report.occ moved. */
static void occ_index(struct report *r)
{
	strmap_clear(&r->occ_jobs);
	for (size_t i = r->n_occ; i-- > 0;) {
		r->occ[i].same_job = (uintptr_t)strmap_get(&r->occ_jobs, r->occ[i].job);
		strmap_put(&r->occ_jobs, r->occ[i].job, (void *)(uintptr_t)(i + 1));
	}
}

static struct report_occ *occ_find(struct report *r, const char *job, int64_t start, bool create)
{
	size_t last = 0;

	for (size_t k = (uintptr_t)strmap_get(&r->occ_jobs, job); k; k = r->occ[k - 1].same_job) {
		if (r->occ[k - 1].start == start)
			return &r->occ[k - 1];
		last = k;
	}
	if (!create)
		return NULL;
	xgrow((void **)&r->occ, &r->cap_occ, r->n_occ + 1, sizeof(*r->occ));
	r->occ[r->n_occ] = (struct report_occ){ .job = xstrdup(job), .start = start };
	/* the chain in report.occ's order, as occ_index makes it */
	if (last)
		r->occ[last - 1].same_job = r->n_occ + 1;
	else
		strmap_put(&r->occ_jobs, r->occ[r->n_occ].job, (void *)(uintptr_t)(r->n_occ + 1));
	return &r->occ[r->n_occ++];
}

/* The detail of batch_id the rows may use (NULL: none, or a stale one). */
static const struct report_detail *occ_detail(const struct report_occ *o, const char *batch_id)
{
	for (size_t i = 0; o && batch_id && i < o->n_details; i++)
		if (strcmp(o->details[i].batch_id, batch_id) == 0)
			return o->details[i].stale ? NULL : &o->details[i];
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* --- writing --------------------------------------------------------------- */

/* The group the results are for (control_group), or -1: the daemon's. */
static gid_t results_gid(const struct daemonconf *c)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (!c->control_group || getgrnam_r(c->control_group, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return (gid_t)-1;
	return gr.gr_gid;
}

/* Open the folder path (made if missing: mode 2750, so that what is made
 * inside takes its group, and given the results' group). own: a folder
 * of the daemon's own (a job's), never a link and never one someone else
 * made beside it in a results_dir others may write (-EPERM). */
static int open_folder(const struct daemonconf *c, const char *path, bool own)
{
	bool made = mkdir(path, 0750) == 0;
	int fd;

	if (!made && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (own ? O_NOFOLLOW : 0));
	if (fd < 0)
		return errno == ENOTDIR && own ? -ELOOP : -errno;
	if (own && !made) {
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
			close(fd);
			return -EPERM;
		}
	}
	if (made) {
		gid_t gid = results_gid(c);
		struct stat st;
		/* Under the unit the daemon's group already is control_group's
		 * (Group=) and chown is filtered (EPERM): best effort. */
		if (gid != (gid_t)-1 && fstat(fd, &st) == 0 && st.st_gid != gid)
			if (fchown(fd, (uid_t)-1, gid) < 0) {
				/* best effort (above) */
			}
	}
	/* mkdir cannot set the set-group-ID bit: what is made inside then
	 * takes the folder's group whatever the daemon's is */
	if (made)
		(void)fchmod(fd, 02750);
	return fd;
}

/* The job folder of name ("JOB/FILE") in results_dir, opened: one known
 * (made or found before by this process) directly, with the checks of
 * open_folder; another made first (the first write of a job makes its
 * folder: no open that fails before the mkdir), and results_dir with it
 * when that is missing too. */
static int job_folder(struct report *rep, const char *name)
{
	const struct daemonconf *c = rep->e->conf;
	const char *slash = strrchr(name, '/');
	char *job, *sub;
	int top, fd;

	if (!slash)
		return -EINVAL;
	job = xstrndup(name, (size_t)(slash - name));
	sub = xasprintf("%s/%s", c->results_dir, job);
	if (!strmap_get(&rep->folders, job)) {
		fd = open_folder(c, sub, true);
	} else if ((fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
			close(fd);
			fd = -EPERM;
		}
	} else {
		/* (removed meanwhile: made again) */
		fd = errno == ENOTDIR ? -ELOOP : errno == ENOENT ? open_folder(c, sub, true) : -errno;
	}
	if (fd == -ENOENT) {
		/* results_dir is missing too */
		top = open_folder(c, c->results_dir, false);
		fd = top < 0 ? top : open_folder(c, sub, true);
		if (top >= 0)
			close(top);
	}
	if (fd >= 0 && !strmap_get(&rep->folders, job)) {
		xgrow((void **)&rep->folder_keys, &rep->cap_folder_keys, rep->n_folder_keys + 1,
		      sizeof(*rep->folder_keys));
		rep->folder_keys[rep->n_folder_keys++] = job;
		strmap_put(&rep->folders, job, (void *)1);
		job = NULL;
	}
	free(job);
	free(sub);
	return fd;
}

/* The rows of one occurrence and what they point into. */
struct occ_view {
	const struct run **all;
	struct results_run *runs;
	struct results_input in;
	struct results res;
	const char *call_name;
	/* the conversations and failures the rows may name (copies of
	 * report's, not owned: the join sorts what it is given, and all that
	 * is known is thousands of conversations of other occurrences) */
	struct conv *convs;
	struct conv_failure *failures;
	size_t n_convs, n_failures;
	/* a run whose batch ended has no detail held (it ended before this
	 * start of the daemon): it is being fetched again, and rows written
	 * now would say "submitted" for its recipients */
	bool incomplete;
};

static void occ_view_clear(struct occ_view *v)
{
	results_clear(&v->res);
	free(v->runs);
	free(v->all);
	free(v->convs);
	free(v->failures);
	*v = (struct occ_view){ 0 };
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort v (n indexes) and drop repeats: the count left. */
static size_t size_unique(size_t *v, size_t n)
{
	size_t k = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), size_cmp);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* The conversations and failures the n runs' rows can name into v: those
 * their details' entries name, and those that name one of their batches
 * (the join's "latest conversation of the batch and recipient"), with
 * the failures of both; in report's order, which the join keeps on ties. */
static void occ_view_convs(struct report *rep, struct occ_view *v, size_t n)
{
	size_t *ci = NULL, *fi = NULL, nc = 0, cc = 0, nf = 0, cf = 0;

	for (size_t i = 0; i < n; i++) {
		const struct results_run *r = &v->runs[i];
		const struct conv_batch *cb = r->batch_id ? strmap_get(&rep->conv_batches, r->batch_id) : NULL;
		for (size_t k = 0; k < r->n_rcpts; k++) {
			uintptr_t x = r->rcpts[k].conversation_id ?
				      (uintptr_t)strmap_get(&rep->conv_index, r->rcpts[k].conversation_id) : 0;
			if (x) {
				xgrow((void **)&ci, &cc, nc + 1, sizeof(*ci));
				ci[nc++] = x - 1;
			}
		}
		for (size_t k = 0; cb && k < cb->n; k++) {
			const struct conv *c = &rep->convs[cb->ix[k]];
			if (c->batch_call_id && strcmp(c->batch_call_id, r->batch_id) == 0) {
				xgrow((void **)&ci, &cc, nc + 1, sizeof(*ci));
				ci[nc++] = cb->ix[k];
			}
		}
	}
	/* (nc > 0 only with ci allocated: said for the analyzer) */
	nc = ci ? size_unique(ci, nc) : 0;
	v->convs = xcalloc(nc ? nc : 1, sizeof(*v->convs));
	for (size_t i = 0; i < nc; i++)
		v->convs[i] = rep->convs[ci[i]];
	v->n_convs = nc;
	/* a row's failure is that of its conversation id: an entry's, or a
	 * conversation's above */
	for (size_t i = 0; i < n + nc; i++) {
		const struct results_run *r = i < n ? &v->runs[i] : NULL;
		for (size_t k = 0; k < (r ? r->n_rcpts : 1); k++) {
			const char *id = r ? r->rcpts[k].conversation_id : v->convs[i - n].conversation_id;
			uintptr_t x = id ? (uintptr_t)strmap_get(&rep->failure_index, id) : 0;
			if (x) {
				xgrow((void **)&fi, &cf, nf + 1, sizeof(*fi));
				fi[nf++] = x - 1;
			}
		}
	}
	nf = fi ? size_unique(fi, nf) : 0;
	v->failures = xcalloc(nf ? nf : 1, sizeof(*v->failures));
	for (size_t i = 0; i < nf; i++)
		v->failures[i] = rep->failures[fi[i]];
	v->n_failures = nf;
	free(ci);
	free(fi);
}

/* Build the rows of (job, start) into *v (which must not move while it
 * is used); false when there are none (the job left the files, or no run
 * of it has that start). */
static bool occ_view_build(struct engine *e, const char *job, int64_t start, struct occ_view *v)
{
	struct report *rep = report_of(e);
	const struct jobspec *spec = daemonconf_find(e->conf, job);
	const struct report_occ *o = occ_find(rep, job, start, false);
	size_t n_all, n = 0;

	*v = (struct occ_view){ 0 };
	if (!spec)
		return false; /* the rows are the job file's recipients: none */
	n_all = slot_job_runs(e, job, &v->all, NULL);
	v->runs = xcalloc(n_all ? n_all : 1, sizeof(*v->runs));
	for (size_t i = 0; i < n_all; i++) {
		const struct run *r = v->all[i];
		const struct report_detail *d;
		if (r->start != start)
			continue;
		d = occ_detail(o, r->batch_id);
		if (!d && r->batch_id && (run_state_final(r->state) || r->state == RUN_RETRY_WAIT) &&
		    strmap_get(&rep->refetch, r->batch_id) != REFETCH_GONE) {
			/* (a batch gone meanwhile keeps the files as they are) */
			v->incomplete = true;
			detail_refetch(rep, r->batch_id);
		}
		static const char *const nobody[1] = { NULL };
		v->runs[n] = (struct results_run){
			.part = r->part,
			.touch = r->touch,
			.call_name = r->call_name,
			.state = r->state,
			.batch_id = r->batch_id,
			/* a part without a list that ended without a batch (a
			 * touch with nobody to call) held nobody, not the job's
			 * every recipient: its rows would say not_submitted */
			.keys = r->rcpts || !r->part || r->batch_id || !run_state_final(r->state)
					? (const char *const *)r->rcpts
					: nobody,
			.n_keys = r->n_rcpts,
			.has_detail = d != NULL,
			.rcpts = d ? d->rcpts : NULL,
			.n_rcpts = d ? d->n_rcpts : 0,
			.suppressed = (const char *const *)r->suppressed,
			.n_suppressed = r->n_suppressed,
			.over_limit = (const char *const *)r->over_limit,
			.n_over_limit = r->n_over_limit,
		};
		if (!r->part || !v->call_name)
			v->call_name = r->call_name;
		n++;
	}
	if (n == 0) {
		occ_view_clear(v);
		return false;
	}
	/* in the order they were made: a later touch after an earlier one
	 * (the slots are in part order; stable within a touch) */
	for (size_t i = 1; i < n; i++) {
		struct results_run x = v->runs[i];
		size_t k = i;
		for (; k > 0 && v->runs[k - 1].touch > x.touch; k--)
			v->runs[k] = v->runs[k - 1];
		v->runs[k] = x;
	}
	occ_view_convs(rep, v, n);
	v->in = (struct results_input){
		.job = spec,
		.start = start,
		.call_name = v->call_name,
		.runs = v->runs,
		.n_runs = n,
		.convs = v->convs,
		.n_convs = v->n_convs,
		.failures = v->failures,
		.n_failures = v->n_failures,
		.links = o ? o->links : NULL,
		.n_links = o ? o->n_links : 0,
	};
	results_build(&v->in, &v->res);
	return true;
}

int report_touch_select(struct engine *e, const char *job, int64_t start, int prev, const struct touch *t,
			bool may_wait, char ***ret, size_t *ret_n)
{
	struct occ_view v;

	*ret = NULL;
	*ret_n = 0;
	if (!occ_view_build(e, job, start, &v))
		return 0;
	if (v.incomplete || (may_wait && results_touch_waiting(&v.res, prev, t) > 0)) {
		occ_view_clear(&v);
		return -EAGAIN;
	}
	*ret_n = results_touch_select(&v.res, prev, t, ret);
	occ_view_clear(&v);
	return 0;
}

/* The journal entry of one results file written (w: 0) or not. */
static void report_logged(struct engine *e, const char *job, int64_t start, const char *name, int w,
			  size_t rows, int64_t t0)
{
	struct log_fields lf = { .job = job, .run_start = start };

	if (w < 0) {
		log_event(LOG_ERR, EV_RESULTS_WRITTEN, &lf, "job '%s': cannot write the results file '%s/%s': %s", job,
			  e->conf->results_dir, name,
			  w == -EPERM ? "its job folder was made by another user, not this daemon" :
			  w == -ELOOP ? "its job folder is a symbolic link" : strerror(-w));
		e->stats.results_files_failed++;
	} else {
		/* (the time counts from the rows' join: the JSON Lines entry,
		 * logged second, tells what the whole write of the run took) */
		log_event(LOG_INFO, EV_RESULTS_WRITTEN, &lf,
			  "job '%s': results file '%s/%s' written (%zu rows, %" PRId64 " ms)", job,
			  e->conf->results_dir, name, rows, (engine_mono_us() - t0 + 500) / 1000);
		e->stats.results_files_written++;
	}
}

/* The results files of occurrences made one by one, then written with
 * one sync for all (writes_commit). */
struct writes {
	struct occ_write {
		char *job;
		int64_t start;
		char *names[2]; /* "JOB/FILE": the CSV, the JSON Lines */
		char *texts[2];
		size_t lens[2];
		size_t rows;
		int64_t t0; /* its join's start (engine_mono_us) */
	} *v;
	size_t n, cap;
};

/* Make the files of (job, start) into w (nothing when it has no rows, or
 * waits for a detail fetched again: report_note_detail has it written
 * then). */
static void writes_add(struct engine *e, struct writes *w, const char *job, int64_t start)
{
	struct occ_view v;
	struct occ_write *x;
	struct report_occ *o;
	int64_t t0 = engine_mono_us();

	if (!occ_view_build(e, job, start, &v))
		return;
	if (v.incomplete) {
		occ_view_clear(&v);
		return;
	}
	o = occ_find(report_of(e), job, start, true);
	o->counts = (struct ctlview_results){ .known = true, .rows = (int64_t)v.res.n_rows };
	for (size_t i = 0; i < v.res.n_rows; i++) {
		const struct results_row *r = &v.res.rows[i];
		o->counts.answered += r->entry && r->entry->status == BATCH_RCPT_COMPLETED;
		o->counts.successful += r->conv && r->conv->has_analysis && r->conv->call_successful == CONV_SUCCESS;
	}
	xgrow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v));
	x = &w->v[w->n++];
	*x = (struct occ_write){ .job = xstrdup(job), .start = start, .rows = v.res.n_rows, .t0 = t0 };
	x->texts[0] = results_csv(&v.res, &x->lens[0]);
	x->texts[1] = results_jsonl(&v.res, &x->lens[1]);
	x->names[0] = results_file_name(job, start, v.call_name, RESULTS_CSV);
	x->names[1] = results_file_name(job, start, v.call_name, RESULTS_JSONL);
	occ_view_clear(&v);
}

/* Write the files made into w crash-safely, all with one sync
 * (file_replace_sets); each file's journal entry once it is durable (or
 * failed). w is emptied. */
static void writes_commit(struct engine *e, struct writes *w)
{
	static const size_t one[2] = { 1, 1 };
	struct report *rep = report_of(e);
	size_t n = 0;
	struct file_set *sets;
	struct file_piece *pieces;
	const struct file_piece **pv;
	const char **base;
	int *fds;
	/* The modes are the documented ones whatever the unit's UMask=: a
	 * 0077 umask would make the folders 0700 and the files 0600, which
	 * the group cannot read, and a chmod afterwards cannot restore the
	 * set-group-ID bit under RestrictSUIDSGID=. The daemon is one
	 * thread, so the umask is changed for these calls only, and only
	 * when it would take a bit of those modes. */
	bool narrow = (rep->umask & 02750) != 0;
	mode_t old;

	if (w->n == 0)
		return;
	sets = xcalloc(w->n, sizeof(*sets));
	pieces = xcalloc(2 * w->n, sizeof(*pieces));
	pv = xcalloc(2 * w->n, sizeof(*pv));
	base = xcalloc(2 * w->n, sizeof(*base));
	fds = xcalloc(w->n, sizeof(*fds));
	old = narrow ? umask(0027) : 0;
	for (size_t i = 0; i < w->n; i++) {
		struct occ_write *x = &w->v[i];
		fds[i] = job_folder(rep, x->names[0]);
		if (fds[i] < 0)
			continue;
		for (int f = 0; f < 2; f++) {
			pieces[2 * i + f] = (struct file_piece){ x->texts[f], x->lens[f] };
			pv[2 * i + f] = &pieces[2 * i + f];
			base[2 * i + f] = strrchr(x->names[f], '/') + 1;
		}
		sets[n] = (struct file_set){ .dirfd = fds[i], .names = &base[2 * i], .pieces = &pv[2 * i],
					     .n_pieces = one, .n = 2 };
		n++;
	}
	file_replace_sets(sets, n, 0640);
	if (narrow)
		umask(old);
	for (size_t i = 0, k = 0; i < w->n; i++) {
		struct occ_write *x = &w->v[i];
		int rc = fds[i];
		if (fds[i] >= 0) {
			rc = sets[k++].result;
			close(fds[i]);
		}
		for (int f = 0; f < 2; f++) {
			report_logged(e, x->job, x->start, x->names[f], rc, x->rows, x->t0);
			free(x->names[f]);
			free(x->texts[f]);
		}
		free(x->job);
	}
	w->n = 0;
	free(sets);
	free(pieces);
	free(pv);
	free(base);
	free(fds);
}

/* Make the files of (job, start) into w, and write w once it holds
 * REPORT_WRITE_BATCH occurrences. */
static void writes_push(struct engine *e, struct writes *w, const char *job, int64_t start)
{
	writes_add(e, w, job, start);
	if (w->n >= REPORT_WRITE_BATCH)
		writes_commit(e, w);
}

/* Write what w holds, and free it. */
static void writes_finish(struct engine *e, struct writes *w)
{
	writes_commit(e, w);
	free(w->v);
	*w = (struct writes){ 0 };
}

/* The occurrence of job an operator means without --run: the latest one
 * that was submitted or decided (not one still to come), or 0. */
static int64_t latest_start(struct engine *e, const char *job)
{
	const struct run **all = NULL;
	size_t n = slot_job_runs(e, job, &all, NULL);
	int64_t best = 0;

	for (size_t i = 0; i < n; i++)
		if ((all[i]->batch_id || run_state_final(all[i]->state)) && all[i]->start > best)
			best = all[i]->start;
	free(all);
	return best;
}

void report_note_batch_end(struct engine *e, const struct run *r)
{
	struct report *rep = report_of(e);
	struct report_occ *o;

	if (!r->batch_id)
		return;
	occ_gc(e, rep, r->job);
	o = occ_find(rep, r->job, r->start, true);
	for (size_t i = 0; i < o->n_details; i++)
		if (strcmp(o->details[i].batch_id, r->batch_id) == 0)
			o->details[i].stale = true;
	/* (a detail that comes with the end, report_note_detail, replaces
	 * it at once; else the write asks for one) */
	mark_dirty(rep, o);
}

void report_note_unbatched(struct engine *e, const struct run *r)
{
	struct report *rep = report_of(e);

	occ_gc(e, rep, r->job);
	mark_dirty(rep, occ_find(rep, r->job, r->start, true));
}

void report_counts(struct engine *e, const char *job, int64_t start, struct ctlview_results *ret)
{
	const struct report_occ *o = e->report ? occ_find(e->report, job, start, false) : NULL;

	*ret = o ? o->counts : (struct ctlview_results){ 0 };
}

int report_render(struct engine *e, const char *job, int64_t start, char **ret, const char **why)
{
	struct occ_view v;
	char *csv = NULL, *jsonl = NULL, *name, *cause = NULL;
	size_t csv_len = 0, jsonl_len = 0;
	int r = -EBADMSG;

	if ((start == 0 && (start = latest_start(e, job)) == 0) || !occ_view_build(e, job, start, &v)) {
		/* an occurrence the daemon no longer holds (an earlier run, a
		 * job gone from the files) is in the files: the same answer as
		 * batchcallctl gives from them while the daemon is down */
		size_t len;
		if (resfiles_load(e->conf->results_dir, job, start, true, FILE_READ_OWN, ret, &len, &cause) == 0)
			return 0;
		free(cause);
		*why = start ? RESFILES_NO_START : RESFILES_NONE;
		return -ENOENT;
	}
	name = results_file_name(job, start, v.call_name, RESULTS_CSV);
	if (v.incomplete) {
		/* until the detail is here again, the files say more than the
		 * rows the daemon could make */
		char *p = xasprintf("%s/%s", e->conf->results_dir, name), *q;
		q = xasprintf("%.*sjsonl", (int)(strlen(p) - 3), p);
		if (file_read_ex(p, (size_t)256 << 20, FILE_READ_OWN, &csv, &csv_len) == 0 &&
		    file_read_ex(q, (size_t)256 << 20, FILE_READ_OWN, &jsonl, &jsonl_len) == 0)
			r = results_document(job, start, name, csv, csv_len, jsonl, jsonl_len, true, ret, NULL,
					     &cause);
		free(cause);
		free(q);
		free(p);
	}
	if (r < 0) {
		free(csv);
		free(jsonl);
		csv = results_csv(&v.res, &csv_len);
		jsonl = results_jsonl(&v.res, &jsonl_len);
		/* (the core's own lines are JSON objects: no check, no failure) */
		r = results_document(job, start, name, csv, csv_len, jsonl, jsonl_len, false, ret, NULL, NULL);
	}
	free(csv);
	free(jsonl);
	free(name);
	occ_view_clear(&v);
	if (r < 0)
		*why = "the rows cannot be written as JSON";
	return r;
}

/* Before detail x of a batch is replaced by d: the conversations its
 * entries held that d's entries no longer name (a retry dialled them
 * again) stay known as earlier attempts. */
static void occ_keep_links(struct report_occ *o, const struct report_detail *x, const struct batch_detail *d)
{
	for (size_t i = 0; i < x->n_rcpts; i++) {
		const struct batch_rcpt *old = &x->rcpts[i];
		bool same = false;
		if (!old->conversation_id || !old->id)
			continue;
		/* the detail lists the batch's entries in the same order: the
		 * entry at i, else a search */
		if (i < d->n_rcpts && d->rcpts[i].id && strcmp(d->rcpts[i].id, old->id) == 0)
			same = d->rcpts[i].conversation_id && strcmp(d->rcpts[i].conversation_id, old->conversation_id) == 0;
		else
			for (size_t j = 0; j < d->n_rcpts && !same; j++)
				same = d->rcpts[j].conversation_id &&
				       strcmp(d->rcpts[j].conversation_id, old->conversation_id) == 0;
		if (same || strmap_get(&o->linked, old->conversation_id))
			continue;
		xgrow((void **)&o->links, &o->cap_links, o->n_links + 1, sizeof(*o->links));
		o->links[o->n_links++] = (struct results_link){ xstrdup(x->batch_id), xstrdup(old->id),
								 xstrdup(old->conversation_id) };
		strmap_put(&o->linked, o->links[o->n_links - 1].conversation_id, (void *)1);
	}
}

/* Conversation id belongs to an occurrence let go: the next prune lets
 * go of what is known of it. */
static void gone_note(struct report *rep, const char *id)
{
	char *key;

	if (!id || !*id || strmap_get(&rep->gone, id))
		return;
	key = xstrdup(id);
	xgrow((void **)&rep->gone_keys, &rep->cap_gone, rep->n_gone + 1, sizeof(*rep->gone_keys));
	rep->gone_keys[rep->n_gone++] = key;
	strmap_put(&rep->gone, key, (void *)1);
}

/* Let go of the occurrences of job whose runs the engine no longer holds
 * (pruned: no row of them can be written again), so that what is kept
 * follows the live runs, not every occurrence since the start. */
static void occ_gc(struct engine *e, struct report *rep, const char *job)
{
	const struct run **all = NULL;
	size_t n, w = 0, at;

	if (!strmap_get(&rep->occ_jobs, job))
		return; /* no occurrence of job to let go */
	n = slot_job_runs(e, job, &all, NULL);
	/* the common case: every occurrence of job is still held */
	for (at = (uintptr_t)strmap_get(&rep->occ_jobs, job); at; at = rep->occ[at - 1].same_job) {
		size_t m = 0;
		while (m < n && all[m]->start != rep->occ[at - 1].start)
			m++;
		if (m == n)
			break;
	}
	if (!at) {
		free(all);
		return;
	}
	/* each slot is read once: kept ones move down, the others are let go */
	for (size_t i = 0; i < rep->n_occ; i++) {
		bool keep = strcmp(rep->occ[i].job, job) != 0;
		for (size_t k = 0; k < n && !keep; k++)
			keep = all[k]->start == rep->occ[i].start;
		if (keep) {
			rep->occ[w++] = rep->occ[i];
			continue;
		}
		for (size_t j = 0; j < rep->occ[i].n_details; j++)
			for (size_t k = 0; k < rep->occ[i].details[j].n_rcpts; k++)
				gone_note(rep, rep->occ[i].details[j].rcpts[k].conversation_id);
		for (size_t j = 0; j < rep->occ[i].n_links; j++)
			gone_note(rep, rep->occ[i].links[j].conversation_id);
		occ_clear(&rep->occ[i]);
	}
	rep->n_occ = w;
	occ_index(rep);
	free(all);
}

void report_note_detail(struct engine *e, const struct run *r, const struct batch_detail *d)
{
	struct report *rep = report_of(e);
	struct report_occ *o;
	struct report_detail *x = NULL;

	if (!r->batch_id)
		return;
	occ_gc(e, rep, r->job);
	o = occ_find(rep, r->job, r->start, true);
	for (size_t i = 0; i < o->n_details; i++)
		if (strcmp(o->details[i].batch_id, r->batch_id) == 0) {
			x = &o->details[i];
			occ_keep_links(o, x, d);
			detail_clear(x);
			break;
		}
	if (!x) {
		xgrow((void **)&o->details, &o->cap_details, o->n_details + 1, sizeof(*o->details));
		x = &o->details[o->n_details++];
	}
	*x = (struct report_detail){ 0 };
	x->batch_id = xstrdup(r->batch_id);
	x->rcpts = xcalloc(d->n_rcpts ? d->n_rcpts : 1, sizeof(*x->rcpts));
	x->n_rcpts = d->n_rcpts;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct batch_rcpt *s = &d->rcpts[i];
		x->rcpts[i] = (struct batch_rcpt){
			.id = dup_or_null(s->id),
			.phone_number = dup_or_null(s->phone_number),
			.whatsapp_user_id = dup_or_null(s->whatsapp_user_id),
			.status = s->status,
			.conversation_id = dup_or_null(s->conversation_id),
		};
	}
	polls_for_detail(rep, r->job, r->start, x);
	/* written from write_cb, out of the way of due runs; without a
	 * receiver, once the conversations the polls fetch now are in (one
	 * write with their columns, not one without and more as they come),
	 * REPORT_CONV_WAIT_MS at most; with the others that come in
	 * meanwhile (REPORT_WRITE_DELAY_MS: one sync for all) */
	o->dirty = true;
	if (!e->hook_on && occ_fetching(rep, o)) {
		int64_t until = engine_now_ms() + REPORT_CONV_WAIT_MS;
		if (until > o->hold_until_ms)
			o->hold_until_ms = until;
		write_arm_by(rep, o->hold_until_ms);
	} else {
		write_arm_by(rep, engine_now_ms() + REPORT_WRITE_DELAY_MS);
	}
}

/* --- the conversations known ------------------------------------------------ */

static const struct conv *conv_known(const struct report *rep, const char *id)
{
	uintptr_t k = (uintptr_t)strmap_get(&rep->conv_index, id);
	return k ? &rep->convs[k - 1] : NULL;
}

/* Keep c (taken) unless what is known of its conversation says as much
 * (conv_supersedes: the first of two equal versions stays, as the stored
 * event does). True when kept. */
static bool conv_add(struct report *rep, struct conv *c, int64_t seen_ms)
{
	uintptr_t k = (uintptr_t)strmap_get(&rep->conv_index, c->conversation_id);

	if (k) {
		struct conv *old = &rep->convs[k - 1];
		if (!conv_supersedes(c, old)) {
			conv_clear(c);
			return false;
		}
		/* the map's key is the old copy's id: point it at the new one
		 * before the old one is freed (the lookup compares with it) */
		strmap_put(&rep->conv_index, c->conversation_id, (void *)k);
		/* (listed under its batch already, unless it names another) */
		bool listed = old->batch_call_id && c->batch_call_id && strcmp(old->batch_call_id, c->batch_call_id) == 0;
		conv_clear(old);
		*old = *c;
		rep->conv_seen[k - 1] = seen_ms;
		if (!listed)
			conv_batch_note(rep, k - 1);
	} else {
		xgrow((void **)&rep->convs, &rep->cap_convs, rep->n_convs + 1, sizeof(*rep->convs));
		xgrow((void **)&rep->conv_seen, &rep->cap_conv_seen, rep->n_convs + 1, sizeof(*rep->conv_seen));
		rep->conv_seen[rep->n_convs] = seen_ms;
		rep->convs[rep->n_convs++] = *c;
		strmap_put(&rep->conv_index, rep->convs[rep->n_convs - 1].conversation_id,
			   (void *)(uintptr_t)rep->n_convs);
		conv_batch_note(rep, rep->n_convs - 1);
	}
	*c = (struct conv){ 0 };
	return true;
}

/* Keep a call_initiation_failure (taken), unless one of its conversation
 * is known (the first stays, as the stored event does:
 * webhook_event_supersedes). Found through failure_index: every event
 * kept at start is one lookup, not a walk of those kept before. */
static void failure_add(struct report *rep, struct conv_failure *f, int64_t seen_ms)
{
	if (strmap_get(&rep->failure_index, f->conversation_id)) {
		conv_failure_clear(f);
		return;
	}
	xgrow((void **)&rep->failures, &rep->cap_failures, rep->n_failures + 1, sizeof(*rep->failures));
	xgrow((void **)&rep->failure_seen, &rep->cap_failure_seen, rep->n_failures + 1, sizeof(*rep->failure_seen));
	rep->failure_seen[rep->n_failures] = seen_ms;
	rep->failures[rep->n_failures++] = *f;
	strmap_put(&rep->failure_index, rep->failures[rep->n_failures - 1].conversation_id,
		   (void *)(uintptr_t)rep->n_failures);
	*f = (struct conv_failure){ 0 };
}

/* An id that can name a file as it is (the API's ids are conv_ + base32). */
static bool id_file_safe(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-'))
			return false;
	return true;
}

/* STATE_DIR/NAME, made if missing; an fd or a negative errno. */
static int state_folder(const struct engine *e, const char *name)
{
	char *path = xasprintf("%s/%s", e->conf->state_dir, name);
	int fd;

	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		fd = -errno;
	} else {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	free(path);
	return fd;
}

/* --- the conversations log -------------------------------------------------- */

static char *convlog_name(uint64_t n)
{
	return xasprintf("conversations-%" PRIu64 ".jsonl", n);
}

static void convlog_known(struct report *rep, uint64_t n, int64_t last_ms)
{
	for (size_t i = 0; i < rep->n_logs; i++)
		if (rep->logs[i].n == n) {
			rep->logs[i].last_ms = last_ms;
			return;
		}
	xgrow((void **)&rep->logs, &rep->cap_logs, rep->n_logs + 1, sizeof(*rep->logs));
	rep->logs[rep->n_logs++] = (struct conv_log){ n, last_ms };
	if (n >= rep->log_next)
		rep->log_next = n + 1;
}

/* A new file to append to (never one of an earlier start: it may end in
 * a torn line that the next line would join). */
static int convlog_open(struct report *rep)
{
	int dfd = state_folder(rep->e, "conversations"), fd = -1;

	if (dfd < 0)
		return dfd;
	for (int tries = 0; tries < 1000; tries++) {
		char *name = convlog_name(rep->log_next);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
		free(name);
		if (fd >= 0 || errno != EEXIST)
			break;
		rep->log_next++;
	}
	if (fd < 0) {
		fd = -errno;
		close(dfd);
		return fd;
	}
	close(dfd);
	rep->log_fd = fd;
	rep->log_cur = rep->log_next;
	rep->log_size = 0;
	rep->log_first_ms = engine_now_ms();
	convlog_known(rep, rep->log_cur, rep->log_first_ms);
	return 0;
}

static void convlog_close(struct report *rep)
{
	if (rep->log_fd >= 0)
		close(rep->log_fd);
	rep->log_fd = -1;
}

/* Keep a fetched conversation's body (as received) so that a restart
 * need not fetch it again: a line appended to the log, no sync. */
static void conv_store(struct report *rep, const char *body, size_t len)
{
	int64_t now = engine_now_ms();
	size_t n;
	char *line = conv_log_line(now, body, len, &n);
	int rc = rep->log_fd >= 0 ? 0 : convlog_open(rep);

	if (rc == 0)
		rc = file_append(rep->log_fd, rep->log_size, line, n);
	if (rc == 0) {
		rep->log_size += (off_t)n;
		convlog_known(rep, rep->log_cur, now);
		rep->log_failing = false;
	} else {
		/* (cut back to its last whole line; the next one starts a
		 * new file) */
		convlog_close(rep);
		if (!rep->log_failing)
			log_event(LOG_WARNING, EV_STATE_ERROR, NULL,
				  "cannot keep conversations in '%s/conversations': %s; a restart fetches them again",
				  rep->e->conf->state_dir, strerror(-rc));
		rep->log_failing = true;
	}
	free(line);
}

/* At the prune: a new file once the current one is old or large, and the
 * files whose last line is past state_retention removed. */
static void convlog_roll(struct report *rep, int64_t now)
{
	int64_t keep_ms = (int64_t)rep->e->conf->state_retention * 1000;
	int dfd;
	size_t w = 0;

	if (rep->log_fd >= 0 &&
	    (rep->log_size >= REPORT_CONV_LOG_MAX || now - rep->log_first_ms >= keep_ms / REPORT_CONV_LOG_ROLLS))
		convlog_close(rep);
	dfd = state_folder(rep->e, "conversations");
	for (size_t i = 0; i < rep->n_logs; i++) {
		const struct conv_log *l = &rep->logs[i];
		if (dfd >= 0 && !(rep->log_fd >= 0 && l->n == rep->log_cur) && l->last_ms + keep_ms < now) {
			char *name = convlog_name(l->n);
			if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
				free(name);
				continue;
			}
			free(name);
		}
		rep->logs[w++] = *l;
	}
	rep->n_logs = w;
	if (dfd >= 0)
		close(dfd);
}

/* The occurrence whose batch holds conversation id (a detail's entry
 * names it), or NULL. */
static struct report_occ *occ_of_conv(struct report *rep, const struct conv *c)
{
	for (size_t i = 0; i < rep->n_occ; i++) {
		struct report_occ *o = &rep->occ[i];
		for (size_t j = 0; j < o->n_details; j++) {
			const struct report_detail *d = &o->details[j];
			if (c->batch_call_id && strcmp(c->batch_call_id, d->batch_id) == 0)
				return o;
			for (size_t k = 0; k < d->n_rcpts; k++)
				if (d->rcpts[k].conversation_id &&
				    strcmp(d->rcpts[k].conversation_id, c->conversation_id) == 0)
					return o;
		}
	}
	return NULL;
}

static void mark_dirty(struct report *rep, struct report_occ *o)
{
	if (!o)
		return;
	o->dirty = true;
	if (o->hold_until_ms > engine_now_ms()) {
		/* its write waits for the fetches: the last one's end, or the
		 * hold's, has it written */
		write_arm_by(rep, o->hold_until_ms);
		return;
	}
	/* (a write armed for later, e.g. for a detail's backoff, comes sooner) */
	if (!event_pending(rep->write_ev, EV_TIMEOUT, NULL) ||
	    rep->write_at_ms > engine_now_ms() + REPORT_WRITE_DELAY_MS)
		write_arm(rep, REPORT_WRITE_DELAY_MS);
}

/* Whether a fetch of a conversation of o's batches is under way or due. */
static bool occ_fetching(const struct report *rep, const struct report_occ *o)
{
	for (size_t i = 0; i < o->n_details; i++)
		for (size_t k = 0; k < o->details[i].n_rcpts; k++) {
			const char *id = o->details[i].rcpts[k].conversation_id;
			const struct poll *p = id ? strmap_get(&rep->poll_index, id) : NULL;
			if (p && !p->done)
				return true;
		}
	return false;
}

/* Have write_cb run at at_ms at the latest. */
static void write_arm_by(struct report *rep, int64_t at_ms)
{
	int64_t now = engine_now_ms();

	if (!event_pending(rep->write_ev, EV_TIMEOUT, NULL) || rep->write_at_ms > at_ms)
		write_arm(rep, at_ms > now ? at_ms - now : 0);
}

static void write_arm(struct report *rep, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_del(rep->write_ev);
	event_add(rep->write_ev, &tv);
	rep->write_at_ms = engine_now_ms() + ms;
}

/* Write the occurrences with new facts, a chunk at a time and never close
 * to a run's due instant: the writes sync, and a submit must not wait
 * behind them (the results are written a little later instead). A chunk's
 * files are written together, with one sync (writes_commit). */
static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report *rep = arg;
	struct engine *e = rep->e;
	struct writes w = { 0 };
	int64_t t0 = engine_now_ms();
	int64_t later = INT64_MAX;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < rep->n_occ; i++) {
		int64_t now = engine_now_ms();
		if (!rep->occ[i].dirty)
			continue;
		if (rep->occ[i].not_before_ms > now) {
			if (rep->occ[i].not_before_ms < later)
				later = rep->occ[i].not_before_ms;
			continue;
		}
		/* (the end of its last fetch ends a hold: poll_done_cb) */
		if (rep->occ[i].hold_until_ms > now) {
			if (rep->occ[i].hold_until_ms < later)
				later = rep->occ[i].hold_until_ms;
			continue;
		}
		if (engine_due_soon(e, now, REPORT_WRITE_MARGIN_MS) || now - t0 >= REPORT_WRITE_CHUNK_MS) {
			/* (the rest a little later) */
			if (now + REPORT_WRITE_MARGIN_MS < later)
				later = now + REPORT_WRITE_MARGIN_MS;
			break;
		}
		rep->occ[i].dirty = false;
		rep->occ[i].hold_until_ms = 0;
		writes_push(e, &w, rep->occ[i].job, rep->occ[i].start);
	}
	writes_finish(e, &w);
	if (later != INT64_MAX) {
		int64_t now = engine_now_ms();
		write_arm(rep, later > now ? later - now : 0);
	}
}

void report_flush(struct engine *e)
{
	struct report *rep = e->report;
	struct writes w = { 0 };

	if (!rep)
		return;
	for (size_t i = 0; i < rep->n_occ; i++) {
		if (!rep->occ[i].dirty)
			continue;
		rep->occ[i].dirty = false;
		/* (one whose detail must be fetched again waits for the next
		 * start, which finds its files older than its runs) */
		writes_push(e, &w, rep->occ[i].job, rep->occ[i].start);
	}
	writes_finish(e, &w);
}

/* --- details fetched again --------------------------------------------------- */

/* A run's batch ended before this start of the daemon: its detail is
 * fetched again (GET of the batch) when a late fact about one of its
 * conversations arrives, so that the rows written again are whole. */
struct refetch {
	struct slot *s;
	char *batch_id; /* the key of report.refetch: it lives as long as the map */
};

static void refetch_done_cb(struct api_result *res, void *arg)
{
	struct refetch *f = arg;
	struct slot *s = f->s;
	struct engine *e = s->e;
	struct report *rep = e->report;

	s->busy--;
	rep->in_flight--;
	carry_note_api_result(e, res);
	strmap_put(&rep->refetch, f->batch_id,
		   res->outcome == API_NOT_FOUND || res->outcome == API_REJECTED ? REFETCH_GONE : NULL);
	if (res->outcome == API_OK && batch_status_terminal(res->detail.batch.status) && !s->forgotten &&
	    s->run->batch_id && strcmp(s->run->batch_id, res->detail.batch.id) == 0) {
		struct report_occ *o = occ_find(rep, s->run->job, s->run->start, false);
		if (o)
			o->refetch_failures = 0;
		report_note_detail(e, s->run, &res->detail);
	} else if (res->outcome != API_NOT_FOUND && res->outcome != API_REJECTED && !s->forgotten && !e->stopping &&
		   (res->outcome != API_OK || !batch_status_terminal(res->detail.batch.status))) {
		/* a transient failure, or a batch not ended yet (a cancel
		 * under way): the occurrence is written again (which asks for
		 * the detail again) after a backoff */
		struct report_occ *o = occ_find(rep, s->run->job, s->run->start, true);
		int64_t d = backoff_full_jitter_ms(BACKOFF_BASE_MS, BACKOFF_CAP_MS, o->refetch_failures, engine_rnd64());
		if (res->retry_after_s >= 0 && res->retry_after_s * 1000 > d)
			d = res->retry_after_s * 1000;
		if (o->refetch_failures < 30)
			o->refetch_failures++;
		o->not_before_ms = engine_now_ms() + d;
		o->dirty = true;
		if (!event_pending(rep->write_ev, EV_TIMEOUT, NULL) || rep->write_at_ms > o->not_before_ms)
			write_arm(rep, d);
	}
	free(f);
	poll_arm(rep);
	engine_settle(e);
}

/* The slot of the ended run whose batch is batch_id and whose detail
 * may be fetched again (none held, none under way), or NULL. */
static struct slot *refetch_slot(struct report *rep, const char *batch_id, bool queued)
{
	struct engine *e = rep->e;
	void *now = strmap_get(&rep->refetch, batch_id);

	if (e->stopping || !rep->loaded || (queued ? now != REFETCH_QUEUED : now != NULL))
		return NULL;
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		const struct run *r = s->run;
		if (s->forgotten || !r->batch_id || strcmp(r->batch_id, batch_id) != 0)
			continue;
		/* only a batch that ended: an active one brings its detail itself */
		if (!run_state_final(r->state) && r->state != RUN_RETRY_WAIT)
			return NULL;
		if (occ_detail(occ_find(rep, r->job, r->start, false), batch_id))
			return NULL;
		return s;
	}
	return NULL;
}

/* Queue a fetch of batch_id's detail (sent by poll_cb, REPORT_IN_FLIGHT
 * at most with the polls: a start that finds hundreds of results files
 * missing must not put hundreds of GETs in the API client's queue ahead
 * of a submit). */
static void detail_refetch(struct report *rep, const char *batch_id)
{
	char *key;

	if (!refetch_slot(rep, batch_id, false))
		return;
	key = xstrdup(batch_id);
	xgrow((void **)&rep->refetch_keys, &rep->cap_refetch_keys, rep->n_refetch_keys + 1,
	      sizeof(*rep->refetch_keys));
	rep->refetch_keys[rep->n_refetch_keys++] = key;
	strmap_put(&rep->refetch, key, REFETCH_QUEUED);
	xgrow((void **)&rep->queue, &rep->cap_queue, rep->n_queue + 1, sizeof(*rep->queue));
	rep->queue[rep->n_queue++] = key;
	poll_arm(rep);
}

/* Send the fetch of a queued batch_id's detail; false when it is not
 * needed any more (the run was let go, a detail came meanwhile) or cannot
 * be sent. */
static bool refetch_start(struct report *rep, const char *batch_id)
{
	struct engine *e = rep->e;
	struct slot *s = refetch_slot(rep, batch_id, true);
	struct refetch *f;

	if (!s) {
		if (strmap_get(&rep->refetch, batch_id) == REFETCH_QUEUED)
			strmap_put(&rep->refetch, batch_id, NULL);
		return false;
	}
	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->batch_id = (char *)batch_id;
	s->busy++;
	e->stats.get_requests++;
	strmap_put(&rep->refetch, batch_id, REFETCH_IN_FLIGHT);
	if (api_get(e->api, batch_id, refetch_done_cb, f, NULL) < 0) {
		s->busy--;
		strmap_put(&rep->refetch, batch_id, NULL);
		free(f);
		return false;
	}
	return true;
}

/* --- post-call events ------------------------------------------------------- */

/* STATE_DIR/events/TYPE-CONVERSATION.json: one event per conversation and
 * type (the sender's idempotency key), the body exactly as received. NULL
 * when the id cannot name a file. */
static char *event_name(const struct webhook_event *ev)
{
	if (!ev->conversation_id || !id_file_safe(ev->conversation_id) ||
	    (ev->type != WEBHOOK_TRANSCRIPTION && ev->type != WEBHOOK_INITIATION_FAILURE))
		return NULL;
	return xasprintf("%s-%s.json", webhook_type_name(ev->type), ev->conversation_id);
}

char *report_event_name(const struct webhook_event *ev)
{
	return event_name(ev);
}


/* The event stored under name, read and parsed into *ret (its body in
 * *ret_text, the caller frees both); false when there is none or it
 * cannot be read. */
static bool event_read(const struct engine *e, const char *name, char **ret_text, size_t *ret_len,
		       struct webhook_event *ret)
{
	char *path = xasprintf("%s/events/%s", e->conf->state_dir, name), *text = NULL;
	size_t n = 0;
	bool ok = file_read(path, WEBHOOK_MAX_BODY, &text, &n) == 0;

	free(path);
	if (ok && webhook_parse(text, n, ret, NULL) == 0) {
		*ret_text = text;
		*ret_len = n;
		return true;
	}
	free(text);
	return false;
}

/* Whether the stored event under name makes ev (body) change nothing: it
 * is the same delivery, or one that ev does not supersede (a final
 * transcription stays when an older, less complete one comes later). */
static bool event_kept_over(const struct engine *e, const char *name, const struct webhook_event *ev,
			    const char *body, size_t len, bool exact)
{
	struct webhook_event old = { 0 };
	char *text = NULL;
	size_t n = 0;
	bool kept;

	if (!event_read(e, name, &text, &n, &old))
		return false;
	kept = (n == len && memcmp(text, body, len) == 0) || (!exact && !webhook_event_supersedes(ev, &old));
	webhook_event_clear(&old);
	free(text);
	return kept;
}

bool report_event_stored(struct engine *e, const struct webhook_event *ev, const char *body, size_t len)
{
	char *name;
	bool kept;

	if (e->shared)
		return events_etcd_stored(e->shared->etcd, e->shared->prefix, ev, body, len) == 1;
	name = event_name(ev);
	kept = name && event_kept_over(e, name, ev, body, len, true);

	free(name);
	return kept;
}

/* Put what ev says into the known facts (ev's parts are taken) and mark
 * its occurrence for a write. */
static void event_apply(struct report *rep, struct webhook_event *ev, int64_t seen_ms)
{
	struct report_occ *o = NULL;

	char *batch = NULL;

	if (ev->type == WEBHOOK_TRANSCRIPTION) {
		char *id = xstrdup(ev->conv.conversation_id);
		batch = ev->conv.batch_call_id ? xstrdup(ev->conv.batch_call_id) : NULL;
		if (conv_add(rep, &ev->conv, seen_ms))
			o = occ_of_conv(rep, conv_known(rep, id));
		else
			o = NULL, free(batch), batch = NULL; /* nothing new */
		free(id);
	} else if (ev->type == WEBHOOK_INITIATION_FAILURE) {
		struct conv probe = { .conversation_id = ev->failure.conversation_id };
		o = occ_of_conv(rep, &probe);
		failure_add(rep, &ev->failure, seen_ms);
	}
	/* an event for a conversation no detail names yet is kept: the
	 * rows join it when the detail comes */
	if (o)
		mark_dirty(rep, o);
	else if (batch)
		detail_refetch(rep, batch);
	free(batch);
}

/* Cluster mode: the version mod of the event name is joined; false when
 * it (or a later one) was already. */
static bool ev_join_note(struct report *rep, const char *name, int64_t mod)
{
	struct ev_joined *j = strmap_get(&rep->ev_joined, name);

	if (j) {
		if (j->mod >= mod)
			return false;
		j->mod = mod;
		return true;
	}
	j = xcalloc(1, sizeof(*j));
	j->name = xstrdup(name);
	j->mod = mod;
	xgrow((void **)&rep->ev_joined_v, &rep->cap_ev_joined, rep->n_ev_joined + 1, sizeof(*rep->ev_joined_v));
	rep->ev_joined_v[rep->n_ev_joined++] = j;
	strmap_put(&rep->ev_joined, j->name, j);
	return true;
}

/* Cluster mode: into etcd (any node's receiver writes there), then
 * joined at once; the poll that reads them again changes nothing. */
static void take_events_etcd(struct engine *e, struct report_pending *v, size_t n)
{
	struct report *rep = report_of(e);
	int64_t *mods = xcalloc(n ? n : 1, sizeof(*mods));

	events_etcd_store(e->shared->etcd, e->shared->prefix, v, n, mods);
	for (size_t i = 0; i < n; i++) {
		char *name;
		if (v[i].result < 0 || v[i].dup)
			continue;
		name = event_name(&v[i].ev);
		if (name && ev_join_note(rep, name, mods[i]))
			event_apply(rep, &v[i].ev, engine_now_ms());
		free(name);
	}
	free(mods);
}

static void take_events_files(struct engine *e, struct report_pending *v, size_t n)
{
	struct report *rep = report_of(e);
	char **names = xcalloc(n ? n : 1, sizeof(*names));
	const char **wnames = xcalloc(n ? n : 1, sizeof(*wnames));
	struct file_piece *pieces = xcalloc(n ? n : 1, sizeof(*pieces));
	const struct file_piece **pv = xcalloc(n ? n : 1, sizeof(*pv));
	size_t *nv = xcalloc(n ? n : 1, sizeof(*nv)), m = 0;
	int fd = -1, rc = 0;

	for (size_t i = 0; i < n; i++) {
		v[i].result = 0;
		v[i].dup = false;
		names[i] = event_name(&v[i].ev);
		if (!names[i])
			v[i].result = -EINVAL;
	}
	/* one file per name, and what is stored never goes backwards: of the
	 * deliveries of one event in this group and the one stored, the first
	 * that no later one supersedes is kept (webhook_event_supersedes);
	 * the others change nothing and are answered as duplicates */
	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (!names[i])
			continue;
		for (j = 0; j < i; j++)
			if (names[j] && !v[j].dup && strcmp(names[i], names[j]) == 0)
				break;
		if (j < i) {
			/* an earlier delivery of this group is the candidate */
			if (webhook_event_supersedes(&v[i].ev, &v[j].ev))
				v[j].dup = true;
			else
				v[i].dup = true;
		} else if (event_kept_over(e, names[i], &v[i].ev, v[i].body, v[i].len, false)) {
			v[i].dup = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!names[i] || v[i].dup)
			continue;
		wnames[m] = names[i];
		pieces[m] = (struct file_piece){ v[i].body, v[i].len };
		pv[m] = &pieces[m];
		nv[m] = 1;
		m++;
	}
	if (m > 0) {
		fd = state_folder(e, "events");
		rc = fd < 0 ? fd : file_replace_many_at(fd, wnames, pv, nv, m, 0640);
		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].result < 0 || v[i].dup)
			continue;
		v[i].result = rc;
		if (rc == 0)
			event_apply(rep, &v[i].ev, engine_now_ms());
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(wnames);
	free(pieces);
	free(pv);
	free(nv);
}

void report_take_events(struct engine *e, struct report_pending *v, size_t n)
{
	if (e->shared)
		take_events_etcd(e, v, n);
	else
		take_events_files(e, v, n);
}

/* A kept file older than state_retention (by its last write) belongs to
 * runs whose records are gone: removed at start, not read. */
static bool expired(const struct engine *e, int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, 0) < 0)
		return false;
	if ((int64_t)st.st_mtime + e->conf->state_retention >= engine_now_ms() / 1000)
		return false;
	(void)unlinkat(dirfd, name, 0);
	return true;
}

/* --- results files a crash left behind ---------------------------------------- */

/* The modification time of dirfd/name in ms, or -1. */
static int64_t mtime_ms_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, 0) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

static void fact_put(struct facts *f, struct strmap *m, const char *key, int64_t ms)
{
	struct fact *x;

	if (!key || !*key || ms < 0)
		return;
	x = strmap_get(m, key);
	if (!x) {
		x = xcalloc(1, sizeof(*x));
		x->key = xstrdup(key);
		xgrow((void **)&f->v, &f->cap, f->n + 1, sizeof(*f->v));
		f->v[f->n++] = x;
		strmap_put(m, x->key, x);
	}
	if (ms > x->ms)
		x->ms = ms;
	if (m == &f->by_conv && ms > f->newest_conv_ms)
		f->newest_conv_ms = ms;
}

/* A fact kept at ms about conversation conv of batch (NULL: not named),
 * read at start. */
static void fact_note_ms(struct report *rep, int64_t ms, const char *batch, const char *conv)
{
	if (!rep->facts)
		return;
	if (batch && *batch)
		fact_put(rep->facts, &rep->facts->by_batch, batch, ms);
	else
		fact_put(rep->facts, &rep->facts->by_conv, conv, ms);
}

/* ... kept in dirfd/name (its last write). */
static void fact_note(struct report *rep, int dirfd, const char *name, const char *batch, const char *conv)
{
	if (rep->facts)
		fact_note_ms(rep, mtime_ms_at(dirfd, name), batch, conv);
}

static void facts_free(struct facts *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i]->key);
		free(f->v[i]);
	}
	free(f->v);
	strmap_clear(&f->by_batch);
	strmap_clear(&f->by_conv);
	free(f);
}

/* Whether the JSON Lines file dirfd/name has a row whose conversation has
 * a fact newer than ms. */
static bool rows_have_newer(int dirfd, const char *name, const struct facts *f, int64_t ms)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	bool newer = false;

	if (fd < 0)
		return true;
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return true;
	}
	while (!newer && getline(&line, &cap, in) > 0) {
		json_object *o = json_tokener_parse(line), *v;
		const struct fact *x;
		if (o && json_object_object_get_ex(o, "conversation_id", &v) && json_object_is_type(v, json_type_string) &&
		    (x = strmap_get(&f->by_conv, json_object_get_string(v))))
			newer = x->ms > ms;
		json_object_put(o);
	}
	free(line);
	fclose(in);
	return newer;
}

/* Whether the results files of (job, start) are missing or older than
 * what the state knows: a run of the occurrence that ended after they were
 * written, or an event or conversation of its batches kept after that. A
 * crash (or kill -9) between the state's write and theirs leaves them so. */
static bool occ_stale(struct engine *e, const struct facts *f, const char *job, int64_t start)
{
	const struct run **all = NULL;
	size_t n = slot_job_runs(e, job, &all, NULL);
	const char *call_name = NULL;
	int64_t ended = 0, written = INT64_MAX;
	bool stale = false, any = false;
	char *names[2];
	int top;

	for (size_t i = 0; i < n; i++) {
		const struct run *r = all[i];
		if (r->start != start)
			continue;
		if (!r->part || !call_name)
			call_name = r->call_name;
		/* (a run without finished_ms ended before results files
		 * existed: an upgrade writes none for it) */
		if (run_state_final(r->state) && r->state != RUN_REMOVED && r->finished_ms) {
			any = true;
			if (r->finished_ms > ended)
				ended = r->finished_ms;
		}
	}
	if (!any) {
		free(all);
		return false;
	}
	top = open(e->conf->results_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int k = 0; k < 2; k++) {
		int64_t ms;
		names[k] = results_file_name(job, start, call_name, k == 0 ? RESULTS_CSV : RESULTS_JSONL);
		ms = top < 0 ? -1 : mtime_ms_at(top, names[k]);
		if (ms < 0)
			stale = true;
		else if (ms < written)
			written = ms;
	}
	stale = stale || written < ended;
	for (size_t i = 0; i < n && !stale; i++) {
		const struct fact *x;
		if (all[i]->start == start && all[i]->batch_id && (x = strmap_get(&f->by_batch, all[i]->batch_id)))
			stale = x->ms > written;
	}
	if (!stale && f->newest_conv_ms > written)
		stale = rows_have_newer(top, names[1], f, written);
	if (top >= 0)
		close(top);
	free(names[0]);
	free(names[1]);
	free(all);
	return stale;
}

/* At start: the occurrences whose files a crash left missing or older
 * than the state are written again (those with a batch once its detail
 * is fetched again). After a reload (old: the configuration before it),
 * only those of the jobs that came back into the files: a run that ended
 * while its job was gone had no rows to write. */
static void stale_check(struct engine *e, const struct facts *f, const struct daemonconf *old)
{
	struct report *rep = report_of(e);

	for (size_t i = 0; i < e->n_slots; i++) {
		const struct run *r = e->slots[i]->run;
		struct report_occ *o;
		if (e->slots[i]->forgotten || !run_state_final(r->state) || r->state == RUN_REMOVED ||
		    !daemonconf_find(e->conf, r->job) || (old && daemonconf_find(old, r->job)))
			continue;
		o = occ_find(rep, r->job, r->start, false);
		if (o && o->dirty)
			continue; /* (another part of the same occurrence) */
		if (occ_stale(e, f, r->job, r->start))
			mark_dirty(rep, occ_find(rep, r->job, r->start, true));
	}
}

/* Read back the events kept (a restart joins them again). */
static void events_load(struct engine *e)
{
	struct report *rep = report_of(e);
	int fd = state_folder(e, "events");
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char *path, *text = NULL, *cause = NULL;
		size_t len;
		struct webhook_event ev = { 0 };
		if (de->d_name[0] == '.' || !strstr(de->d_name, ".json") || expired(e, dirfd(d), de->d_name))
			continue;
		path = xasprintf("%s/events/%s", e->conf->state_dir, de->d_name);
		if (file_read(path, WEBHOOK_MAX_BODY, &text, &len) == 0 && webhook_parse(text, len, &ev, &cause) == 0) {
			/* every event kept was answered 200: kept until its
			 * retention, also a transcription without batch_call (the
			 * receiver keeps one only for a conversation of a batch
			 * it follows; an earlier version kept them all) */
			if (ev.type == WEBHOOK_TRANSCRIPTION)
				fact_note(rep, dirfd(d), de->d_name, ev.conv.batch_call_id, ev.conv.conversation_id);
			else if (ev.type == WEBHOOK_INITIATION_FAILURE)
				fact_note(rep, dirfd(d), de->d_name, NULL, ev.failure.conversation_id);
			event_apply(rep, &ev, mtime_ms_at(dirfd(d), de->d_name));
			webhook_event_clear(&ev);
		} else {
			log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "event file '%s' cannot be read%s%s; ignored", path,
				  cause ? ": " : "", cause ? cause : "");
		}
		free(cause);
		free(text);
		free(path);
	}
	closedir(d);
}

/* --- the events in etcd (cluster mode) --------------------------------------- */

/* Keys a page of the events read from etcd (values up to etcd's request
 * size each), and how often the leader asks for those written since. */
#define REPORT_EV_PAGE_KEYS 32
#define REPORT_EV_POLL_MS 2000

static char *ev_prefix(const struct engine *e)
{
	return xasprintf("%s" EVENTS_ETCD_DIR, e->shared->prefix);
}

/* One event read from etcd, joined to the rows unless that version was
 * (the same as events_load does with a file). At start (load): noted as a
 * fact as of now (its results files are written again: another node may
 * have received it after they were written here), and let go once past
 * state_retention by its event_timestamp. */
static void ev_kv(struct engine *e, const struct etcd_kv *kv, bool load)
{
	struct report *rep = report_of(e);
	size_t pl = strlen(e->shared->prefix) + strlen(EVENTS_ETCD_DIR);
	struct webhook_event ev = { 0 };
	char *cause = NULL;
	const char *name;
	int64_t now = engine_now_ms();

	if (strlen(kv->key) <= pl || strncmp(kv->key, e->shared->prefix, strlen(e->shared->prefix)) != 0)
		return;
	name = kv->key + pl;
	if (webhook_parse(kv->value, kv->value_len, &ev, &cause) < 0) {
		if (ev_join_note(rep, name, kv->mod_revision))
			log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "event '%s' in etcd cannot be read%s%s; ignored",
				  kv->key, cause ? ": " : "", cause ? cause : "");
		free(cause);
		return;
	}
	if (load && ev.event_timestamp > 0 && ev.event_timestamp + e->conf->state_retention < now / 1000) {
		/* (unless another node wrote it again meanwhile) */
		(void)events_etcd_delete(e->shared->etcd, e->shared->prefix, name, kv->mod_revision);
		webhook_event_clear(&ev);
		return;
	}
	if (ev_join_note(rep, name, kv->mod_revision)) {
		if (load && rep->facts) {
			if (ev.type == WEBHOOK_TRANSCRIPTION && ev.conv.batch_call_id && *ev.conv.batch_call_id)
				fact_put(rep->facts, &rep->facts->by_batch, ev.conv.batch_call_id, now);
			else if (ev.type == WEBHOOK_TRANSCRIPTION)
				fact_put(rep->facts, &rep->facts->by_conv, ev.conv.conversation_id, now);
			else if (ev.type == WEBHOOK_INITIATION_FAILURE)
				fact_put(rep->facts, &rep->facts->by_conv, ev.failure.conversation_id, now);
		}
		event_apply(rep, &ev, ev.event_timestamp > 0 ? ev.event_timestamp * 1000 : now);
	}
	webhook_event_clear(&ev);
}

/* At start: every event in etcd, page by page (blocking, as the runs
 * are read). The poll then asks for those written after the revision of
 * the first page (a key written while the pages were read comes again:
 * joined once). */
static int events_load_etcd(struct engine *e)
{
	struct report *rep = report_of(e);
	char *prefix = ev_prefix(e), *after = NULL;
	int64_t first = 0;
	size_t n = 0;
	int r;

	for (;;) {
		char *body = etcdmsg_range(prefix, after, REPORT_EV_PAGE_KEYS), *cause = NULL;
		struct etcd_resp resp;

		r = etcd_call(e->shared->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, &resp, &cause);
		free(body);
		if (r < 0) {
			log_event(LOG_ERR, EV_STATE_ERROR, NULL,
				  "cannot read the post-call events in etcd ('%s'): %s; read again by the poll", prefix,
				  cause ? cause : strerror(-r));
			free(cause);
			first = 0;
			break;
		}
		if (!first)
			first = resp.revision;
		for (size_t i = 0; i < resp.n_kvs; i++)
			ev_kv(e, &resp.kvs[i], true);
		n += resp.n_kvs;
		if (!resp.more || resp.n_kvs == 0) {
			etcd_resp_clear(&resp);
			break;
		}
		free(after);
		after = xstrdup(resp.kvs[resp.n_kvs - 1].key);
		etcd_resp_clear(&resp);
	}
	free(after);
	free(prefix);
	rep->ev_seen_rev = first;
	if (r == 0)
		log_event(LOG_INFO, EV_CLUSTER, NULL, "%zu post-call events read from etcd", n);
	return r;
}

static void ev_poll_done_cb(int r, const struct etcd_resp *out, const char *cause, void *arg);

static void ev_poll_arm(struct report *rep)
{
	struct timeval tv = { REPORT_EV_POLL_MS / 1000, (REPORT_EV_POLL_MS % 1000) * 1000 };

	free(rep->ev_after);
	rep->ev_after = NULL;
	rep->ev_page_rev = 0;
	if (!rep->e->stopping)
		event_add(rep->ev_poll_ev, &tv);
}

/* Ask for a page of the events written after ev_seen_rev. */
static void ev_poll_send(struct report *rep)
{
	struct engine *e = rep->e;
	char *prefix = ev_prefix(e);
	char *body = etcdmsg_range_since(prefix, rep->ev_after, REPORT_EV_PAGE_KEYS, rep->ev_seen_rev + 1);

	if (etcd_call_async(e->shared->etcd, "/v3/kv/range", body, ETCD_RANGE_RESP, ev_poll_done_cb, rep,
			    &rep->ev_call) < 0) {
		rep->ev_call = NULL;
		ev_poll_arm(rep);
	}
	free(body);
	free(prefix);
}

static void ev_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report *rep = arg;

	(void)fd;
	(void)what;
	if (rep->ev_call || rep->e->stopping)
		return;
	ev_poll_send(rep);
}

static void ev_poll_done_cb(int r, const struct etcd_resp *out, const char *cause, void *arg)
{
	struct report *rep = arg;
	struct engine *e = rep->e;

	rep->ev_call = NULL;
	if (r < 0) {
		if (!rep->ev_failing)
			log_event(LOG_WARNING, EV_CLUSTER, NULL,
				  "cannot read the post-call events written in etcd since revision %" PRId64
				  ": %s; asked again every %d s",
				  rep->ev_seen_rev + 1, cause ? cause : strerror(-r), REPORT_EV_POLL_MS / 1000);
		rep->ev_failing = true;
		ev_poll_arm(rep);
		return;
	}
	if (rep->ev_failing)
		log_event(LOG_NOTICE, EV_CLUSTER, NULL, "the post-call events in etcd are read again");
	rep->ev_failing = false;
	if (!rep->ev_page_rev)
		rep->ev_page_rev = out->revision;
	for (size_t i = 0; i < out->n_kvs; i++)
		ev_kv(e, &out->kvs[i], false);
	if (out->more && out->n_kvs > 0) {
		free(rep->ev_after);
		rep->ev_after = xstrdup(out->kvs[out->n_kvs - 1].key);
		ev_poll_send(rep);
	} else {
		if (rep->ev_page_rev > rep->ev_seen_rev)
			rep->ev_seen_rev = rep->ev_page_rev;
		ev_poll_arm(rep);
	}
	engine_settle(e);
}

void report_note_reload(struct engine *e, const struct daemonconf *old)
{
	struct facts none = { 0 };

	if (e->report && e->report->loaded)
		stale_check(e, &none, old);
}

/* --- the polling fallback -------------------------------------------------- */

/* --- the fetches waiting: a heap by due_ms (report.waiting) --- */

static void wait_put(struct report *rep, size_t i, struct poll *p)
{
	rep->waiting[i] = p;
	p->wait_pos = i + 1;
}

static void wait_up(struct report *rep, size_t i)
{
	struct poll *p = rep->waiting[i];

	while (i > 0 && rep->waiting[(i - 1) / 2]->due_ms > p->due_ms) {
		wait_put(rep, i, rep->waiting[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	wait_put(rep, i, p);
}

static void wait_down(struct report *rep, size_t i)
{
	struct poll *p = rep->waiting[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= rep->n_waiting)
			break;
		if (c + 1 < rep->n_waiting && rep->waiting[c + 1]->due_ms < rep->waiting[c]->due_ms)
			c++;
		if (rep->waiting[c]->due_ms >= p->due_ms)
			break;
		wait_put(rep, i, rep->waiting[c]);
		i = c;
	}
	wait_put(rep, i, p);
}

/* p waits for due_ms (in the heap or moved within it). */
static void wait_set(struct report *rep, struct poll *p, int64_t due_ms)
{
	p->due_ms = due_ms;
	if (!p->wait_pos) {
		xgrow((void **)&rep->waiting, &rep->cap_waiting, rep->n_waiting + 1, sizeof(*rep->waiting));
		wait_put(rep, rep->n_waiting++, p);
	}
	wait_up(rep, p->wait_pos - 1);
	wait_down(rep, p->wait_pos - 1);
}

/* p waits no more (sent, or done); nothing when it was not waiting. */
static void wait_drop(struct report *rep, struct poll *p)
{
	size_t i = p->wait_pos;
	struct poll *last;

	if (!i--)
		return;
	p->wait_pos = 0;
	last = rep->waiting[--rep->n_waiting];
	if (last == p)
		return;
	wait_put(rep, i, last);
	wait_up(rep, last->wait_pos - 1);
	wait_down(rep, last->wait_pos - 1);
}

/* Nothing more to fetch of p: out of the list and the heap (freed at the
 * next prune, or started again by poll_add). */
static void poll_finish(struct report *rep, struct poll *p)
{
	p->done = true;
	wait_drop(rep, p);
	if (!p->active)
		return;
	p->active = false;
	if (p->prev)
		p->prev->next = p->next;
	else
		rep->active_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		rep->active_tail = p->prev;
	p->prev = p->next = NULL;
}

static void poll_arm(struct report *rep)
{
	struct engine *e = rep->e;
	int64_t now = engine_now_ms(), first = INT64_MAX, d;
	struct timeval tv;

	if (e->stopping || rep->in_flight >= REPORT_IN_FLIGHT)
		return;
	if (rep->queue_head < rep->n_queue)
		first = now;
	if (rep->n_waiting > 0 && rep->waiting[0]->due_ms < first)
		first = rep->waiting[0]->due_ms;
	if (first == INT64_MAX)
		return;
	if (first < e->paused_until_ms)
		first = e->paused_until_ms;
	d = first > now ? first - now : 0;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	event_del(rep->poll_ev);
	event_add(rep->poll_ev, &tv);
}

static void poll_done_cb(struct api_result *res, void *arg);
static bool refetch_start(struct report *rep, const char *batch_id);

/* How long before a run's due instant no fetch of this part is sent: the
 * time the rate limit takes to send REPORT_IN_FLIGHT requests (a poll's
 * answer is also parsed and kept in the loop). At 2 requests a second,
 * 1.1 s: what was sent before is out of the client's queue when the
 * submit comes. */
static int64_t fetch_margin_ms(const struct engine *e)
{
	double rate = e->conf->api.max_requests_per_second;
	int64_t m = REPORT_WRITE_MARGIN_MS;

	if (rate > 0)
		m += (int64_t)(REPORT_IN_FLIGHT * 1000.0 / rate);
	return m;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report *rep = arg;
	struct engine *e = rep->e;
	int64_t now = engine_now_ms();

	(void)fd;
	(void)what;
	if (now < e->paused_until_ms) {
		poll_arm(rep);
		return;
	}
	/* not near a due run: the submit must not queue behind these */
	if (engine_due_soon(e, now, fetch_margin_ms(e))) {
		struct timeval tv = { 0, REPORT_WRITE_MARGIN_MS * 1000 };
		event_del(rep->poll_ev);
		event_add(rep->poll_ev, &tv);
		return;
	}
	/* the details first: a write waits for them */
	while (rep->queue_head < rep->n_queue && rep->in_flight < REPORT_IN_FLIGHT && !e->stopping) {
		const char *b = rep->queue[rep->queue_head++];
		if (refetch_start(rep, b))
			rep->in_flight++;
	}
	if (rep->queue_head == rep->n_queue)
		rep->queue_head = rep->n_queue = 0;
	for (struct poll *p = rep->active_head, *next; p && rep->in_flight < REPORT_IN_FLIGHT && !e->stopping;
	     p = next) {
		const struct conv *c;
		next = p->next;
		if (p->in_flight || p->due_ms > now)
			continue;
		if ((c = conv_known(rep, p->conv_id)) && conv_final(c)) {
			poll_finish(rep, p); /* a webhook told it meanwhile */
			continue;
		}
		if (api_get_conversation(e->api, p->conv_id, poll_done_cb, p, NULL) < 0) {
			poll_finish(rep, p);
			continue;
		}
		p->in_flight = true;
		wait_drop(rep, p);
		rep->in_flight++;
	}
	poll_arm(rep);
}

static void poll_again(struct poll *p, int64_t delay_ms)
{
	wait_set(p->rep, p, engine_now_ms() + delay_ms);
}

static void poll_done_cb(struct api_result *res, void *arg)
{
	struct poll *p = arg;
	struct report *rep = p->rep;
	struct engine *e = rep->e;

	p->in_flight = false;
	rep->in_flight--;
	carry_note_api_result(e, res);
	switch (res->outcome) {
	case API_OK: {
		bool final = conv_final(&res->conv);
		struct report_occ *o = occ_find(rep, p->job, p->start, false);
		p->failures = 0;
		/* (kept only when it says more than what is known: the same
		 * answer again changes nothing, on disk neither) */
		if (conv_add(rep, &res->conv, engine_now_ms())) {
			conv_store(rep, res->body, res->body_len);
			mark_dirty(rep, o ? o : occ_of_conv(rep, conv_known(rep, p->conv_id)));
		}
		if (final || ++p->fetches >= REPORT_POLL_MAX)
			poll_finish(rep, p);
		else
			poll_again(p, backoff_full_jitter_ms(REPORT_POLL_BASE_MS, REPORT_POLL_CAP_MS, p->fetches,
							     engine_rnd64()) + REPORT_POLL_BASE_MS / 2);
		break;
	}
	case API_NOT_FOUND:
	case API_REJECTED:
		log_event(LOG_INFO, EV_API_TRANSIENT, &(struct log_fields){ .job = p->job, .run_start = p->start,
			  .http_status = res->http_status },
			  "job '%s': conversation %s cannot be fetched (%s); its results columns stay empty", p->job,
			  p->conv_id, res->message ? res->message : "refused");
		poll_finish(rep, p);
		break;
	default: {
		int64_t d = backoff_full_jitter_ms(BACKOFF_BASE_MS, BACKOFF_CAP_MS, p->failures, engine_rnd64());
		if (res->retry_after_s >= 0 && res->retry_after_s * 1000 > d)
			d = res->retry_after_s * 1000;
		if (++p->failures > REPORT_POLL_FAILURES_MAX) {
			log_event(LOG_WARNING, EV_API_TRANSIENT, &(struct log_fields){ .job = p->job,
				  .run_start = p->start, .http_status = res->http_status },
				  "job '%s': giving up on conversation %s after %d failures (%s)", p->job, p->conv_id,
				  p->failures, res->message ? res->message : "");
			poll_finish(rep, p);
		} else {
			poll_again(p, d);
		}
		break;
	}
	}
	if (p->done) {
		/* the last fetch a held write waited for: written with
		 * the occurrences whose last fetch ends within
		 * REPORT_WRITE_DELAY_MS (one sync for all) */
		struct report_occ *o = occ_find(rep, p->job, p->start, false);
		if (o && o->hold_until_ms && !occ_fetching(rep, o)) {
			o->hold_until_ms = 0;
			if (o->dirty)
				write_arm_by(rep, engine_now_ms() + REPORT_WRITE_DELAY_MS);
		}
	}
	poll_arm(rep);
	engine_settle(e);
}

bool report_conversation_known(struct engine *e, const char *id)
{
	struct report *rep = report_of(e);

	return id && (strmap_get(&rep->poll_index, id) || conv_known(rep, id));
}

/* Fetch conversation id of the occurrence (job, start) at due_ms, unless
 * it is known final or a fetch of it is under way. */
static void poll_add(struct report *rep, const char *id, const char *job, int64_t start, int64_t due_ms)
{
	const struct conv *c = conv_known(rep, id);
	struct poll *p = strmap_get(&rep->poll_index, id);

	if (c && conv_final(c))
		return;
	if (p && !p->done)
		return;
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->rep = rep;
		p->conv_id = xstrdup(id);
		xgrow((void **)&rep->polls, &rep->cap_polls, rep->n_polls + 1, sizeof(*rep->polls));
		rep->polls[rep->n_polls++] = p;
		strmap_put(&rep->poll_index, p->conv_id, p);
	}
	free(p->job);
	p->job = xstrdup(job);
	p->start = start;
	p->fetches = p->failures = 0;
	p->done = false;
	if (!p->active) {
		p->active = true;
		p->prev = rep->active_tail;
		p->next = NULL;
		if (rep->active_tail)
			rep->active_tail->next = p;
		else
			rep->active_head = p;
		rep->active_tail = p;
	}
	wait_set(rep, p, due_ms);
}

static void polls_for_detail(struct report *rep, const char *job, int64_t start, const struct report_detail *x)
{
	/* With the receiver on, an event is expected first: fetch only what
	 * none came for within the grace. The receiver listening decides, not
	 * webhook_listen: a reload that sets it starts no receiver. */
	int64_t now = engine_now_ms() + (rep->e->hook_on ? REPORT_WEBHOOK_GRACE_MS : 0);

	for (size_t i = 0; i < x->n_rcpts; i++)
		if (x->rcpts[i].conversation_id && *x->rcpts[i].conversation_id)
			poll_add(rep, x->rcpts[i].conversation_id, job, start, now);
	poll_arm(rep);
}

/* --- start ------------------------------------------------------------------ */

/* Read back the log file dirfd/name: each whole line kept within
 * state_retention is known again; a damaged line, or a torn last one (a
 * crash while it was appended), is skipped with its FILE:LINE. */
static void convlog_load(struct engine *e, int dirfd, const char *name)
{
	struct report *rep = report_of(e);
	char *path = xasprintf("%s/conversations/%s", e->conf->state_dir, name), *line = NULL;
	int64_t keep_ms = (int64_t)e->conf->state_retention * 1000, now = engine_now_ms();
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
	size_t cap = 0, lineno = 0, bad = 0;
	ssize_t n;

	if (!in) {
		log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "conversation log '%s' cannot be read: %s; ignored", path,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		struct conv c = { 0 };
		char *cause = NULL;
		int64_t ms = 0;
		bool torn = line[n - 1] != '\n';
		lineno++;
		if (torn || conv_log_parse(line, (size_t)n - 1, &ms, &c, &cause) < 0) {
			if (++bad <= REPORT_CONV_LOG_WARN)
				log_event(LOG_WARNING, EV_STATE_ERROR, NULL,
					  "conversation log '%s:%zu': %s%s; line skipped (fetched again if needed)", path,
					  lineno, torn ? "a cut last line (a crash while it was written)" : "cannot be read: ",
					  torn ? "" : cause ? cause : "not a conversation");
			free(cause);
			continue;
		}
		if (ms + keep_ms <= now) {
			conv_clear(&c); /* past state_retention */
			continue;
		}
		fact_note_ms(rep, ms, c.batch_call_id, c.conversation_id);
		conv_add(rep, &c, ms);
	}
	if (bad > REPORT_CONV_LOG_WARN)
		log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "conversation log '%s': %zu more damaged lines skipped", path,
			  bad - REPORT_CONV_LOG_WARN);
	free(line);
	fclose(in);
	free(path);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Read back the conversations fetched before: the files of earlier
 * versions (conv-ID.json, one each), then the log's files in order (a
 * later line of one conversation wins only when it says more). */
static int convs_load(struct engine *e)
{
	struct report *rep = report_of(e);
	int fd = state_folder(e, "conversations");
	DIR *d;
	struct dirent *de;
	uint64_t *logs = NULL;
	size_t n_logs = 0, cap_logs = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char *path, *text = NULL, *cause = NULL, *end;
		size_t len;
		struct conv c = { 0 };
		if (strncmp(de->d_name, "conversations-", 14) == 0 && (len = strlen(de->d_name)) > 20 &&
		    strcmp(de->d_name + len - 6, ".jsonl") == 0 && de->d_name[14] >= '0' && de->d_name[14] <= '9') {
			uint64_t n = strtoull(de->d_name + 14, &end, 10);
			if (end != de->d_name + len - 6 || expired(e, dirfd(d), de->d_name))
				continue;
			xgrow((void **)&logs, &cap_logs, n_logs + 1, sizeof(*logs));
			logs[n_logs++] = n;
			continue;
		}
		if (strncmp(de->d_name, "conv-", 5) != 0 || !strstr(de->d_name, ".json") ||
		    expired(e, dirfd(d), de->d_name))
			continue;
		path = xasprintf("%s/conversations/%s", e->conf->state_dir, de->d_name);
		if (file_read(path, REPORT_CONV_MAX_FILE, &text, &len) == 0 && conv_parse(text, len, &c, &cause) == 0) {
			fact_note(rep, dirfd(d), de->d_name, c.batch_call_id, c.conversation_id);
			conv_add(rep, &c, mtime_ms_at(dirfd(d), de->d_name));
		}
		else
			log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "conversation file '%s' cannot be read%s%s; ignored",
				  path, cause ? ": " : "", cause ? cause : "");
		free(cause);
		free(text);
		free(path);
	}
	if (n_logs > 1)
		qsort(logs, n_logs, sizeof(*logs), u64_cmp);
	for (size_t i = 0; i < n_logs; i++) {
		char *name = convlog_name(logs[i]);
		convlog_load(e, dirfd(d), name);
		convlog_known(rep, logs[i], mtime_ms_at(dirfd(d), name));
		free(name);
	}
	free(logs);
	closedir(d);
	return 0;
}

/* --- what is kept in memory ----------------------------------------------- */

static void prune_arm(struct report *rep)
{
	struct timeval tv = { REPORT_PRUNE_INTERVAL_S, 0 };

	event_del(rep->prune_ev);
	event_add(rep->prune_ev, &tv);
}

/* Let go of the conversations, failures and polls that no occurrence held
 * names and whose files are past state_retention, and of those of the
 * occurrences let go (conv_retained): a daemon that runs for months keeps
 * what the state folder keeps, not everything since its start. */
static void report_prune(struct report *rep)
{
	struct engine *e = rep->e;
	struct strmap owned = { 0 };
	int64_t now = engine_now_ms(), retention = e->conf->state_retention;
	size_t w;
	const char **jobs = xcalloc(rep->n_occ + 1, sizeof(*jobs));
	size_t n_jobs = 0;

	/* the occurrences whose runs are gone first (each job once) */
	for (size_t i = 0; i < rep->n_occ; i++) {
		bool seen = false;
		for (size_t k = 0; k < n_jobs && !seen; k++)
			seen = strcmp(jobs[k], rep->occ[i].job) == 0;
		if (!seen)
			jobs[n_jobs++] = xstrdup(rep->occ[i].job);
	}
	for (size_t k = 0; k < n_jobs; k++) {
		occ_gc(e, rep, jobs[k]);
		free((char *)jobs[k]);
	}
	free(jobs);
	for (size_t i = 0; i < rep->n_occ; i++) {
		const struct report_occ *o = &rep->occ[i];
		for (size_t j = 0; j < o->n_details; j++) {
			strmap_put(&owned, o->details[j].batch_id, (void *)1);
			for (size_t k = 0; k < o->details[j].n_rcpts; k++)
				if (o->details[j].rcpts[k].conversation_id)
					strmap_put(&owned, o->details[j].rcpts[k].conversation_id, (void *)1);
		}
		for (size_t j = 0; j < o->n_links; j++)
			strmap_put(&owned, o->links[j].conversation_id, (void *)1);
	}
	strmap_clear(&rep->conv_index);
	for (size_t i = w = 0; i < rep->n_convs; i++) {
		struct conv *c = &rep->convs[i];
		bool own = strmap_get(&owned, c->conversation_id) ||
			   (c->batch_call_id && strmap_get(&owned, c->batch_call_id));
		if (!conv_retained(rep->conv_seen[i], own, strmap_get(&rep->gone, c->conversation_id) != NULL, now,
				   retention)) {
			conv_clear(c);
			continue;
		}
		rep->conv_seen[w] = rep->conv_seen[i];
		rep->convs[w++] = *c;
		strmap_put(&rep->conv_index, rep->convs[w - 1].conversation_id, (void *)(uintptr_t)w);
	}
	rep->n_convs = w;
	conv_batches_clear(rep);
	for (size_t i = 0; i < rep->n_convs; i++)
		conv_batch_note(rep, i);
	strmap_clear(&rep->failure_index);
	for (size_t i = w = 0; i < rep->n_failures; i++) {
		struct conv_failure *f = &rep->failures[i];
		if (!conv_retained(rep->failure_seen[i], strmap_get(&owned, f->conversation_id) != NULL,
				   strmap_get(&rep->gone, f->conversation_id) != NULL, now, retention)) {
			conv_failure_clear(f);
			continue;
		}
		rep->failure_seen[w] = rep->failure_seen[i];
		rep->failures[w++] = *f;
		strmap_put(&rep->failure_index, rep->failures[w - 1].conversation_id, (void *)(uintptr_t)w);
	}
	rep->n_failures = w;
	/* a poll that is done tells nothing any more (poll_add starts a new
	 * one alike); one under way or waiting stays (a done one is never
	 * in flight: done comes with its answer, or instead of a request) */
	strmap_clear(&rep->poll_index);
	for (size_t i = w = 0; i < rep->n_polls; i++) {
		struct poll *p = rep->polls[i];
		if (p->done) {
			free(p->conv_id);
			free(p->job);
			free(p);
			continue;
		}
		rep->polls[w++] = p;
		strmap_put(&rep->poll_index, p->conv_id, p);
	}
	rep->n_polls = w;
	for (size_t i = 0; i < rep->n_gone; i++)
		free(rep->gone_keys[i]);
	rep->n_gone = 0;
	strmap_clear(&rep->gone);
	strmap_clear(&owned);
}

static void prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report *rep = arg;

	(void)fd;
	(void)what;
	report_prune(rep);
	convlog_roll(rep, engine_now_ms());
	prune_arm(rep);
}

int report_load(struct engine *e)
{
	struct report *rep = report_of(e);
	int r;

	rep->facts = xcalloc(1, sizeof(*rep->facts));
	r = convs_load(e);
	if (e->shared)
		(void)events_load_etcd(e); /* (a failure is logged; the poll reads them) */
	else
		events_load(e);
	rep->loaded = true;
	stale_check(e, rep->facts, NULL);
	facts_free(rep->facts);
	rep->facts = NULL;
	prune_arm(rep);
	if (e->shared) {
		rep->ev_poll_ev = event_new(e->base, -1, 0, ev_poll_cb, rep);
		ev_poll_arm(rep);
	}
	return r;
}
