/*
 * engine: the event loop that carries out what the run state machine
 * decides. See engine.h.
 *
 * Shape: every run lives in a slot; slots with a due instant sit in a
 * min-heap; one timerfd (CLOCK_REALTIME, absolute) is armed at the heap's
 * top. Active batches and uncertain submits are served by one shared scan of
 * the workspace list (newest first), so N active batches cost about N/100
 * requests per poll. Everything the machine asks for is done in order; a
 * persist that fails stops the actions after it.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "backoff.h"
#include "cfg.h"
#include "codec.h"
#include "engine.h"
#include "http.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "schedule.h"
#include "store.h"
#include "tz.h"
#include "util.h"
#include "window.h"

#define LIST_PAGE_LIMIT 100
/* A lookup scans back to batches created this long before its intent: the
 * API's clock and ours may differ. */
#define LOOKUP_SKEW_S 300
/* A page that fails is asked for again this often before the scan gives up. */
#define PAGE_RETRIES 3
#define STOP_GRACE_S 10
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS (5 * 60 * 1000)

struct slot {
	struct engine *e;
	struct run *run;
	const struct jobspec *spec; /* NULL when the job was removed */
	size_t hidx;                /* index in the heap, SIZE_MAX when out */
	int busy;                   /* requests in flight that point at this slot */
	bool in_scan;               /* part of the running list scan */
	bool want_lookup;           /* waiting for the next list scan */
	bool forgotten;             /* freed once nothing points at it */
	bool persisted;             /* a state file exists */
	bool in_group;              /* waits for the group commit */
	bool dirty;                 /* newest record only in a journal */
	const char *skip;           /* for the next step: do not submit, and why */
	struct actions rest;        /* actions after its deferred persist */
};

struct scan {
	struct slot **status; /* active slots, sorted by batch id */
	bool *seen;
	size_t n_status;
	struct slot **lookup; /* uncertain slots */
	struct batch *match;  /* oldest match per lookup slot */
	int *n_match;
	size_t n_lookup;
	char *agent;          /* agent_id filter, or NULL */
	int64_t horizon;      /* lookups need batches created at or after this */
	int pages;
	char *cursor;         /* last_doc of the page being asked for */
	int page_failures;    /* of that page, in a row */
	struct event *again;  /* asks for it again */
};

struct engine {
	struct event_base *base;
	char *config_path;
	struct daemonconf *conf;
	char *api_key;
	struct store *store;
	struct http *http;
	struct api *api;
	struct slot **slots; /* sorted by job name (one run per job) */
	size_t n_slots, cap_slots;
	struct slot **heap;
	size_t n_heap, cap_heap;
	int tfd;
	struct event *tfd_ev;
	struct event *poll_ev;
	struct event *status_ev;
	struct event *stop_ev;
	struct event *flush_ev;     /* group commit at the end of a loop iteration */
	struct scan *scan;
	bool scan_wanted;           /* lookups wait for the next scan */
	bool poll_wanted;           /* a poll came due during a scan */
	bool stopping;
	bool store_broken;
	int64_t paused_until_ms;
	int auth_failures;
	int64_t grace_ms;
	int group_depth;            /* > 0: persists are grouped */
	struct slot **group;        /* slots waiting for the group commit */
	size_t n_group, cap_group;
	struct slot **dirty;        /* slots whose own file is behind a journal */
	size_t n_dirty, cap_dirty;
	struct event *compact_ev;
	bool journal_damaged;
	bool reap_needed;           /* a slot was forgotten */
	int stop_ticks;             /* 100 ms ticks a stop has waited for answers */
	char **pending_jobs;        /* jobs whose next run or pruning is due */
	size_t n_pending_jobs, cap_pending_jobs;
	char last_status[256];
	struct engine_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ULL;
	return v;
}

/* --- heap of due slots ----------------------------------------------------- */

static bool heap_less(struct engine *e, size_t a, size_t b)
{
	return e->heap[a]->run->due_ms < e->heap[b]->run->due_ms;
}

static void heap_swap(struct engine *e, size_t a, size_t b)
{
	struct slot *t = e->heap[a];
	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->hidx = a;
	e->heap[b]->hidx = b;
}

static void heap_up(struct engine *e, size_t i)
{
	while (i > 0 && heap_less(e, i, (i - 1) / 2)) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct engine *e, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->n_heap && heap_less(e, l, m))
			m = l;
		if (r < e->n_heap && heap_less(e, r, m))
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_remove(struct engine *e, struct slot *s)
{
	size_t i = s->hidx;

	if (i == SIZE_MAX)
		return;
	s->hidx = SIZE_MAX;
	e->n_heap--;
	if (i == e->n_heap)
		return;
	e->heap[i] = e->heap[e->n_heap];
	e->heap[i]->hidx = i;
	heap_up(e, i);
	heap_down(e, e->heap[i]->hidx);
}

/* Put s where its due time says (or out of the heap when nothing is due). */
static void heap_place(struct engine *e, struct slot *s)
{
	bool want = s->run->due_ms > 0 && s->run->op == OP_NONE && !s->forgotten &&
		    !s->want_lookup && !s->in_scan && !s->in_group;

	if (!want) {
		heap_remove(e, s);
		return;
	}
	if (s->hidx == SIZE_MAX) {
		xgrow((void **)&e->heap, &e->cap_heap, e->n_heap + 1, sizeof(*e->heap));
		s->hidx = e->n_heap;
		e->heap[e->n_heap++] = s;
		heap_up(e, s->hidx);
	} else {
		heap_up(e, s->hidx);
		heap_down(e, s->hidx);
	}
}

static void arm_timer(struct engine *e)
{
	struct itimerspec its = { 0 };
	int64_t due = 0;

	if (!e->stopping && e->n_heap > 0) {
		due = e->heap[0]->run->due_ms;
		if (e->paused_until_ms > due)
			due = e->paused_until_ms;
		if (due <= 0)
			due = 1;
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = (due % 1000) * 1000000;
	}
	/* CANCEL_ON_SET: a clock step wakes us to look again. */
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		log_msg(LOG_ERR, "cannot arm the timer: %s", strerror(errno));
}

/* --- slots ----------------------------------------------------------------- */

/* Slots are sorted by job name, then by the run's instant: a job's runs
 * (one, or one per occurrence of a recurring job) sit together. */
static int slot_key_cmp(const char *job, int64_t start, const struct slot *s)
{
	int c = strcmp(job, s->run->job);

	if (c)
		return c;
	return start < s->run->start ? -1 : start > s->run->start ? 1 : 0;
}

/* Then by part: the whole run (no part) first, then its parts by name. */
static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;
	int c = slot_key_cmp(x->run->job, x->run->start, y);

	if (c || x->run->part == y->run->part)
		return c;
	if (!x->run->part || !y->run->part)
		return x->run->part ? 1 : -1;
	return strcmp(x->run->part, y->run->part);
}

/* Index of the first slot at or after (job, start). */
static size_t slot_lower(const struct engine *e, const char *job, int64_t start)
{
	size_t lo = 0, hi = e->n_slots;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (slot_key_cmp(job, start, e->slots[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool slot_of_job(const struct engine *e, size_t i, const char *job)
{
	return i < e->n_slots && strcmp(e->slots[i]->run->job, job) == 0;
}

/* The run of a job an operator means: the one being submitted or active,
 * else the next scheduled one, else the newest. */
static struct slot *slot_find(const struct engine *e, const char *job)
{
	struct slot *active = NULL, *next = NULL, *newest = NULL;

	for (size_t i = slot_lower(e, job, INT64_MIN); slot_of_job(e, i, job); i++) {
		struct slot *s = e->slots[i];
		enum run_state st = s->run->state;
		if (s->forgotten)
			continue;
		if (st == RUN_SUBMITTING || run_state_active(st) || st == RUN_RETRY_WAIT)
			active = s;
		else if ((st == RUN_SCHEDULED || st == RUN_DISABLED || st == RUN_PAUSED) && !next)
			next = s;
		newest = s;
	}
	return active ? active : next ? next : newest;
}

static struct slot *slot_add(struct engine *e, struct run *r, const struct jobspec *spec)
{
	struct slot *s = xcalloc(1, sizeof(*s));

	s->e = e;
	s->run = r;
	s->spec = spec;
	s->hidx = SIZE_MAX;
	xgrow((void **)&e->slots, &e->cap_slots, e->n_slots + 1, sizeof(*e->slots));
	e->slots[e->n_slots++] = s;
	return s;
}

/* Add a slot at its sorted place (slot_add + slots_sort for many at once). */
static struct slot *slot_insert(struct engine *e, struct run *r, const struct jobspec *spec)
{
	size_t at = slot_lower(e, r->job, r->start);
	struct slot *s;

	while (at < e->n_slots && slot_key_cmp(r->job, r->start, e->slots[at]) == 0 &&
	       slot_cmp(&(struct slot *){ &(struct slot){ .run = r } }, &e->slots[at]) > 0)
		at++;
	s = slot_add(e, r, spec);

	memmove(e->slots + at + 1, e->slots + at, (e->n_slots - 1 - at) * sizeof(*e->slots));
	e->slots[at] = s;
	return s;
}

static void slots_sort(struct engine *e)
{
	if (e->n_slots > 1) /* slots is NULL before the first job: qsort's arguments are nonnull */
		qsort(e->slots, e->n_slots, sizeof(*e->slots), slot_cmp);
}

/* Free forgotten slots that nothing points at any more. */
static void slots_reap(struct engine *e)
{
	size_t j = 0;

	/* O(jobs): only when something was forgotten. */
	if (!e->reap_needed)
		return;
	e->reap_needed = false;

	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		if (s->forgotten && s->busy == 0 && !s->in_scan && !s->in_group) {
			heap_remove(e, s);
			run_free(s->run);
			free(s);
			continue;
		}
		if (s->forgotten)
			e->reap_needed = true; /* still referenced: next time */
		e->slots[j++] = s;
	}
	e->n_slots = j;
}

/* --- logging --------------------------------------------------------------- */

static enum log_event log_event_of(enum job_event je)
{
	switch (je) {
	case JE_SCHEDULED: return EV_SCHEDULED;
	case JE_SUBMITTED: return EV_SUBMITTED;
	case JE_ADOPTED: return EV_ADOPTED;
	case JE_STATUS: return EV_STATUS;
	case JE_RETRIED: return EV_RETRIED;
	case JE_CANCELLED: return EV_CANCELLED;
	case JE_FINISHED: return EV_FINISHED;
	case JE_MISSED: return EV_MISSED;
	case JE_ERROR: return EV_ERROR;
	case JE_LATE: return EV_LATE;
	case JE_CHANGED: return EV_JOB_CHANGED;
	case JE_REMOVED: return EV_REMOVED;
	case JE_TRANSIENT: return EV_API_TRANSIENT;
	case JE_DUPLICATE: return EV_NONE; /* the run goes on: not a refused run */
	default: return EV_NONE;
	}
}

static void log_run(int prio, enum log_event ev, const struct run *r, int attempt, long http_status,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void log_run(int prio, enum log_event ev, const struct run *r, int attempt, long http_status,
		    const char *fmt, ...)
{
	struct log_fields f = {
		.job = r->job,
		.run_start = r->start,
		.batch_id = r->batch_id,
		.state = run_state_name(r->state),
		.attempt = attempt,
		.http_status = http_status,
	};
	va_list ap;

	va_start(ap, fmt);
	log_eventv_at(NULL, NULL, NULL, prio, ev, &f, fmt, ap);
	va_end(ap);
}

/* --- timers that only run when needed ----------------------------------------- */

/* Poll again in poll_interval (if not already armed): called whenever a
 * batch is or may be active. */
static void poll_arm(struct engine *e)
{
	struct timeval tv = { .tv_sec = e->conf->poll_interval };

	if (!e->stopping && !event_pending(e->poll_ev, EV_TIMEOUT, NULL))
		event_add(e->poll_ev, &tv);
}

/* The systemd STATUS= line is refreshed at most once a second, and only
 * after something changed. */
static void status_touch(struct engine *e)
{
	struct timeval tv = { .tv_sec = 1 };

	if (!event_pending(e->status_ev, EV_TIMEOUT, NULL))
		event_add(e->status_ev, &tv);
}

/* --- carrying out actions -------------------------------------------------- */

static void do_actions(struct slot *s, struct actions *acts);
static void step(struct slot *s, const struct run_event *ev);
static char *submit_body(struct slot *s, int64_t scheduled_time_unix);
static void follow_up(struct engine *e, struct slot *s);
static void scan_request(struct engine *e);

/* A run changed state: a recurring job needs its next run once this one
 * left "scheduled", and ended runs are pruned. Done in settle(), outside
 * any loop over the slots. */
static void note_state_change(struct engine *e, struct slot *s, enum run_state prev)
{
	bool left_scheduled = prev == RUN_SCHEDULED || prev == RUN_DISABLED;

	if (!left_scheduled && !run_state_final(s->run->state))
		return;
	xgrow((void **)&e->pending_jobs, &e->cap_pending_jobs, e->n_pending_jobs + 1, sizeof(*e->pending_jobs));
	e->pending_jobs[e->n_pending_jobs++] = xstrdup(s->run->job);
}

static void ensure_next(struct engine *e, const struct jobspec *spec);
static void prune_job(struct engine *e, const char *job);

/* The end of every callback: next runs of recurring jobs, pruning,
 * forgotten slots freed, the timer armed at the new earliest instant. */
static void settle(struct engine *e)
{
	while (e->n_pending_jobs > 0) {
		char *job = e->pending_jobs[--e->n_pending_jobs];
		const struct jobspec *spec = daemonconf_find(e->conf, job);
		if (spec)
			ensure_next(e, spec);
		prune_job(e, job);
		free(job);
	}
	slots_reap(e);
	arm_timer(e);
}

/* The zone whose calling hours apply to a run: its recipients' zone for a
 * zone group, else the job's. */
static const struct tz *run_zone(const struct engine *e, const struct run *r, const struct jobspec *j)
{
	const struct tz *z = NULL;
	char *cause = NULL;

	if (r->zone && tz_cache_get(e->conf->zones, r->zone, &z, &cause) == 0)
		return z;
	free(cause);
	return j->tz;
}

static struct run_ctx make_ctx(const struct slot *s)
{
	struct run_ctx c = {
		.spec = s->spec,
		.now_ms = now_ms(),
		.rnd = rnd64(),
		.grace_ms = s->e->grace_ms,
		.backoff_base_ms = BACKOFF_BASE_MS,
		.backoff_cap_ms = BACKOFF_CAP_MS,
		.skip = s->skip,
	};
	const struct jobspec *j = s->spec;
	const struct tz *z = j ? run_zone(s->e, s->run, j) : NULL;
	int64_t open, close;

	/* The calling hours as of now, in the run's zone, for a run that may
	 * be submitted. */
	if (j && j->hours && s->run->state == RUN_SCHEDULED &&
	    window_next_open(j->hours, z, c.now_ms / 1000, &open) == 0) {
		c.window_open_ms = open * 1000 > c.now_ms ? open * 1000 : c.now_ms;
		if (window_close_after(j->hours, z, open, &close) == 0)
			c.window_close_ms = close * 1000;
		c.window_skip = j->outside == OUTSIDE_SKIP;
	}
	return c;
}

static void group_flush(struct engine *e);

static void step(struct slot *s, const struct run_event *ev)
{
	struct run_ctx ctx;
	struct actions acts = { .n = 0 };
	enum run_state prev;

	/* Its deferred actions come first: keep the order of events. */
	if (s->in_group)
		group_flush(s->e);
	ctx = make_ctx(s);
	prev = s->run->state;
	run_step(s->run, &ctx, ev, &acts, NULL);
	do_actions(s, &acts);
	if (s->run->state != prev)
		note_state_change(s->e, s, prev);
}

static enum req_outcome outcome_of(enum api_outcome o)
{
	switch (o) {
	case API_OK: return REQ_OK;
	case API_TRANSIENT: return REQ_TRANSIENT;
	case API_AUTH: return REQ_AUTH;
	case API_REJECTED: return REQ_REJECTED;
	case API_NOT_FOUND: return REQ_NOT_FOUND;
	default: break;
	}
	return REQ_TRANSIENT;
}

/* Every API answer passes here first: 401/403 pause all API work (logged
 * once), any other answer resumes it. */
static void note_api_result(struct engine *e, const struct api_result *res)
{
	long cls = res->http_status / 100;

	if ((unsigned)res->op < ARRAY_SIZE(e->stats.api_requests))
		e->stats.api_requests[res->op][cls >= 1 && cls <= 5 ? cls : 0]++;
	if (res->outcome == API_AUTH) {
		int64_t d = backoff_full_jitter_ms(5000, BACKOFF_CAP_MS, e->auth_failures, rnd64());
		if (d < 1000)
			d = 1000;
		if (e->auth_failures == 0)
			log_event(LOG_ERR, EV_API_AUTH, &(struct log_fields){ .http_status = res->http_status },
				  "the API refused the key (HTTP %ld: %s); API work paused until it is accepted",
				  res->http_status, res->message ? res->message : "");
		e->auth_failures++;
		e->paused_until_ms = now_ms() + d;
		return;
	}
	if (res->http_status > 0 && e->auth_failures > 0) {
		log_msg(LOG_NOTICE, "the API accepts the key again; API work resumed");
		e->auth_failures = 0;
		e->paused_until_ms = 0;
	}
}

static struct run_event event_of(enum run_event_kind kind, const struct api_result *res)
{
	return (struct run_event){
		.kind = kind,
		.outcome = outcome_of(res->outcome),
		.http_status = res->http_status,
		.message = res->message,
		.retry_after_s = res->retry_after_s,
		.maybe_applied = res->maybe_applied,
		.origin_answered = res->origin_answered,
	};
}

/* The answer to a request a run made (submit, detail, retry, cancel): the
 * event of its kind, with what the API returned. */
static void run_request_done_cb(struct api_result *res, void *arg)
{
	static const enum run_event_kind kinds[API_OP__MAX] = {
		[API_OP_SUBMIT] = RE_SUBMIT_DONE, [API_OP_GET] = RE_DETAIL_DONE,
		[API_OP_RETRY] = RE_RETRY_DONE,   [API_OP_CANCEL] = RE_CANCEL_DONE,
	};
	struct slot *s = arg;
	struct engine *e = s->e;
	struct run_event ev = event_of(kinds[res->op], res);
	bool ok = res->outcome == API_OK;

	s->busy--;
	note_api_result(e, res);
	switch (res->op) {
	case API_OP_SUBMIT:
		if (ok)
			e->stats.submits_ok++;
		else if (res->outcome == API_REJECTED)
			e->stats.submits_rejected++;
		else
			e->stats.submits_failed++;
		break;
	case API_OP_RETRY:
		e->stats.retries += ok;
		break;
	case API_OP_CANCEL:
		e->stats.cancels += ok;
		break;
	default:
		break;
	}
	if (ok && res->op == API_OP_GET)
		ev.detail = &res->detail;
	else if (ok)
		ev.batch = &res->batch;
	step(s, &ev);
	settle(e);
}

/* A request could not even be queued: report it as a transient failure
 * that certainly did not reach the server. */
static void request_not_started(struct slot *s, enum run_event_kind kind)
{
	struct run_event ev = { .kind = kind, .outcome = REQ_TRANSIENT, .retry_after_s = -1,
				.message = "the request could not be started" };
	step(s, &ev);
}

const double engine_lateness_bounds[ENGINE_LATENESS_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static void note_lateness(struct engine *e, int64_t late_ms)
{
	double late = late_ms > 0 ? late_ms / 1000.0 : 0;

	for (size_t i = 0; i < ENGINE_LATENESS_BUCKETS - 1; i++)
		if (late <= engine_lateness_bounds[i])
			e->stats.lateness_buckets[i]++;
	e->stats.lateness_buckets[ENGINE_LATENESS_BUCKETS - 1]++;
	e->stats.lateness_sum += late;
	e->stats.lateness_count++;
}

static void compact_all(struct engine *e);

/* What a write of s's state came to: on failure, say so once for the
 * folder and let the machine step back (nothing after the persist was done);
 * on success, say when the folder is writable again. True when written. */
static bool store_result(struct engine *e, struct slot *s, int rc)
{
	if (rc < 0) {
		struct actions more = { .n = 0 };
		struct run_ctx ctx = make_ctx(s);
		struct run_event ev = { .kind = RE_STORE_FAILED, .retry_after_s = -1 };

		if (!e->store_broken)
			log_run(LOG_ERR, EV_STATE_ERROR, s->run, 0, 0,
				"cannot write the state of job '%s' in '%s': %s; submissions stop until it is writable",
				s->run->job, store_dir(e->store), strerror(-rc));
		e->store_broken = true;
		run_step(s->run, &ctx, &ev, &more, NULL);
		heap_place(e, s);
		return false;
	}
	if (e->store_broken) {
		log_msg(LOG_NOTICE, "the state folder '%s' is writable again", store_dir(e->store));
		e->store_broken = false;
	}
	s->persisted = true;
	return true;
}

static void do_actions(struct slot *s, struct actions *acts)
{
	struct engine *e = s->e;
	struct run *r = s->run;
	bool ok = true;
	int rc;

	for (size_t i = 0; i < acts->n && ok && !s->forgotten; i++) {
		struct action *a = &acts->v[i];
		char *body;

		/* While stopping, nothing new goes out: the persisted intent
		 * tells the next start what to do. */
		if (e->stopping && (a->kind == ACT_SUBMIT || a->kind == ACT_LOOKUP ||
				    a->kind == ACT_FETCH_DETAIL || a->kind == ACT_RETRY ||
				    a->kind == ACT_CANCEL))
			continue;
		switch (a->kind) {
		case ACT_PERSIST:
			if (!s->in_group) {
				/* Defer: the rest waits for the group commit. */
				s->rest.n = 0;
				for (size_t j = i + 1; j < acts->n; j++)
					s->rest.v[s->rest.n++] = acts->v[j];
				s->in_group = true;
				xgrow((void **)&e->group, &e->cap_group, e->n_group + 1, sizeof(*e->group));
				e->group[e->n_group++] = s;
				heap_place(e, s);
				/* Outside an explicit group, commit at the end of
				 * this loop iteration, with whatever else came. */
				if (e->group_depth == 0)
					event_active(e->flush_ev, EV_TIMEOUT, 0);
				return;
			}
			/* Already in the pending group commit: write it now. */
			s->run->gen++;
			ok = store_result(e, s, store_put(e->store, s->run));
			break;
		case ACT_SUBMIT:
			body = submit_body(s, a->scheduled_time_unix);
			s->busy++;
			rc = api_submit(e->api, body, run_request_done_cb, s, NULL);
			free(body);
			if (rc < 0) {
				s->busy--;
				request_not_started(s, RE_SUBMIT_DONE);
				return;
			}
			if (r->submit_attempts == 1)
				note_lateness(e, now_ms() - run_submit_at_ms(r, s->spec));
			break;
		case ACT_LOOKUP:
			s->want_lookup = true;
			scan_request(e);
			break;
		case ACT_FETCH_DETAIL:
			s->busy++;
			rc = api_get(e->api, r->batch_id, run_request_done_cb, s, NULL);
			if (rc < 0) {
				s->busy--;
				request_not_started(s, RE_DETAIL_DONE);
				return;
			}
			e->stats.get_requests++;
			break;
		case ACT_RETRY:
			s->busy++;
			rc = api_retry(e->api, r->batch_id, run_request_done_cb, s, NULL);
			if (rc < 0) {
				s->busy--;
				request_not_started(s, RE_RETRY_DONE);
				return;
			}
			break;
		case ACT_CANCEL:
			s->busy++;
			rc = api_cancel(e->api, r->batch_id, run_request_done_cb, s, NULL);
			if (rc < 0) {
				s->busy--;
				request_not_started(s, RE_CANCEL_DONE);
				return;
			}
			break;
		case ACT_LOG:
			switch (a->event) {
			case JE_MISSED: e->stats.missed++; break;
			case JE_LATE: e->stats.late++; break;
			case JE_ADOPTED: e->stats.adopted++; break;
			default: break;
			}
			log_run(a->priority, log_event_of(a->event), r, a->attempt, a->http_status, "%s", a->msg);
			break;
		case ACT_FOLLOW_UP:
			follow_up(e, s);
			break;
		case ACT_FORGET:
			/* A journal may still hold this run: settle every
			 * journal first, or a restart would bring it back. */
			if (e->n_dirty > 0)
				compact_all(e);
			rc = store_remove(e->store, r);
			if (rc < 0)
				log_run(LOG_ERR, EV_STATE_ERROR, r, 0, 0, "cannot remove the state of job '%s': %s",
					r->job, strerror(-rc));
			s->forgotten = true;
			e->reap_needed = true;
			break;
		}
	}
	heap_place(e, s);
	if (run_state_active(r->state) || r->state == RUN_RETRY_WAIT)
		poll_arm(e);
	status_touch(e);
}

/* --- journal compaction ---------------------------------------------------- */

#define COMPACT_CHUNK 32
#define COMPACT_DELAY_MS 200
/* Never start a chunk this close to a due instant. */
#define COMPACT_MARGIN_MS 100

static void compact_arm(struct engine *e, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (!event_pending(e->compact_ev, EV_TIMEOUT, NULL))
		event_add(e->compact_ev, &tv);
}

static void mark_dirty(struct engine *e, struct slot *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	xgrow((void **)&e->dirty, &e->cap_dirty, e->n_dirty + 1, sizeof(*e->dirty));
	e->dirty[e->n_dirty++] = s;
	compact_arm(e, COMPACT_DELAY_MS);
}

/* Write the own files of up to max dirty runs; clear the journals once
 * none is left. 0 or a negative errno. */
static int compact_some(struct engine *e, size_t max)
{
	size_t n = e->n_dirty < max ? e->n_dirty : max;
	const struct run **runs;
	int rc;

	if (n > 0) {
		runs = xcalloc(n, sizeof(*runs));
		for (size_t i = 0; i < n; i++)
			runs[i] = e->dirty[e->n_dirty - n + i]->run;
		rc = store_put_many(e->store, runs, n);
		free(runs);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			e->dirty[e->n_dirty - n + i]->dirty = false;
		e->n_dirty -= n;
	}
	if (e->n_dirty == 0)
		return store_journal_clear(e->store);
	return 0;
}

static void compact_all(struct engine *e)
{
	int rc = compact_some(e, SIZE_MAX);

	if (rc < 0)
		log_msg(LOG_ERR, "cannot write run files from the journal in '%s': %s; kept in the journal",
			store_dir(e->store), strerror(-rc));
}

static void compact_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int64_t now = now_ms();
	int rc;

	(void)fd;
	(void)what;
	/* Stay out of the way of a run about to come due. */
	if (e->n_heap > 0 && e->heap[0]->run->due_ms - now < COMPACT_MARGIN_MS &&
	    e->heap[0]->run->due_ms + 1000 > now) {
		compact_arm(e, COMPACT_MARGIN_MS);
		return;
	}
	rc = compact_some(e, COMPACT_CHUNK);
	if (rc < 0) {
		log_msg(LOG_ERR, "cannot write run files from the journal in '%s': %s; trying again",
			store_dir(e->store), strerror(-rc));
		compact_arm(e, 5000);
		return;
	}
	if (e->n_dirty > 0)
		compact_arm(e, 0);
}

/* Group commit: persist every deferred run with one sync, then carry out
 * what each one deferred. */
static void group_begin(struct engine *e)
{
	e->group_depth++;
}

static void group_end(struct engine *e)
{
	if (--e->group_depth == 0)
		group_flush(e);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	group_flush(arg);
	settle(arg);
}

static void group_flush(struct engine *e)
{
	const struct run **runs;
	struct slot **g;
	size_t n;
	int rc;

	if (e->n_group == 0)
		return;
	g = e->group;
	n = e->n_group;
	e->group = NULL;
	e->n_group = e->cap_group = 0;
	runs = xcalloc(n, sizeof(*runs));
	for (size_t i = 0; i < n; i++) {
		g[i]->run->gen++;
		runs[i] = g[i]->run;
	}
	/* One run: its own file. Several: one journal, one sync; their own
	 * files follow when the loop is quiet. */
	rc = n == 1 ? store_put(e->store, runs[0]) : store_journal(e->store, runs, n);
	free(runs);
	if (rc == 0 && n > 1)
		for (size_t i = 0; i < n; i++)
			mark_dirty(e, g[i]);
	for (size_t i = 0; i < n; i++) {
		struct slot *s = g[i];
		s->in_group = false;
		if (store_result(e, s, rc))
			do_actions(s, &s->rest);
	}
	free(g);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A recurring job reads its recipients CSV again for each run (a CRM
 * export changes between occurrences); when the file is unreadable now the
 * list of the last good load is used, and that is said. */
static char *submit_body_fresh_csv(struct slot *s, int64_t scheduled_time_unix)
{
	const struct jobspec *j = s->spec;
	struct jobspec copy = *j;
	struct recipient *fresh = NULL, *all;
	struct diag d = { 0 };
	size_t n = 0;
	char *body;

	if (cfg_read_csv(s->e->conf, j->recipients_csv, &fresh, &n, &d) < 0) {
		char *why = d.n ? diag_format(&d, 0) : xstrdup("unreadable");
		log_run(LOG_WARNING, EV_CONFIG_ERROR, s->run, 0, 0,
			"job '%s': cannot read the recipients again (%s); using the list of the last load", j->name, why);
		free(why);
		diag_clear(&d);
		return codec_submit_body(j, s->run->call_name, scheduled_time_unix);
	}
	diag_clear(&d);
	all = xcalloc(j->n_inline_recipients + n, sizeof(*all));
	memcpy(all, j->recipients, j->n_inline_recipients * sizeof(*all));
	memcpy(all + j->n_inline_recipients, fresh, n * sizeof(*all));
	copy.recipients = all;
	copy.n_recipients = j->n_inline_recipients + n;
	body = codec_submit_body(&copy, s->run->call_name, scheduled_time_unix);
	for (size_t i = 0; i < n; i++)
		recipient_clear(&fresh[i]);
	free(fresh);
	free(all);
	return body;
}

/* The submit body of a run: every recipient of its job, or only those of
 * its part (a zone group or a follow-up). */
static char *submit_body(struct slot *s, int64_t scheduled_time_unix)
{
	const struct jobspec *j = s->spec;
	const struct run *r = s->run;
	char **keys;
	bool *include;
	char *body;

	if (!r->rcpts && j->repeat && j->recipients_csv)
		return submit_body_fresh_csv(s, scheduled_time_unix);
	if (!r->rcpts)
		return codec_submit_body(j, r->call_name, scheduled_time_unix);
	keys = xcalloc(r->n_rcpts ? r->n_rcpts : 1, sizeof(*keys));
	memcpy(keys, r->rcpts, r->n_rcpts * sizeof(*keys));
	qsort(keys, r->n_rcpts, sizeof(*keys), str_cmp);
	include = xcalloc(j->n_recipients ? j->n_recipients : 1, sizeof(*include));
	for (size_t i = 0; i < j->n_recipients; i++) {
		const char *key = recipient_key(j->recipients[i].phone_number, j->recipients[i].whatsapp_user_id);
		include[i] = key && bsearch(&key, keys, r->n_rcpts, sizeof(*keys), str_cmp);
	}
	body = codec_submit_body_only(j, r->call_name, scheduled_time_unix, include);
	free(include);
	free(keys);
	return body;
}

/* A run that cannot be made again from the configuration alone (a zone
 * group, a follow-up) is written at once, in the current group commit. */
static void persist_new(struct engine *e, struct slot *s)
{
	s->in_group = true;
	s->rest.n = 0;
	xgrow((void **)&e->group, &e->cap_group, e->n_group + 1, sizeof(*e->group));
	e->group[e->n_group++] = s;
	heap_place(e, s);
	if (e->group_depth == 0)
		event_active(e->flush_ev, EV_TIMEOUT, 0);
}

/* A run stopped by the calling hours or the operator hands its never-dialled
 * recipients to a new part of the same occurrence: scheduled for the next
 * opening (resume), or paused until `batchcallctl resume`. It is persisted
 * in the same group commit as the run it comes from. */
static void follow_up(struct engine *e, struct slot *s)
{
	struct run *r = s->run, *f;
	const struct jobspec *spec = s->spec;
	char part[160];
	struct slot *fs;

	if (!spec || r->n_unfinished == 0)
		return;
	r->follow_n++;
	f = run_new_at(spec, r->start, now_ms());
	if (r->part)
		snprintf(part, sizeof(part), "%s, resume %d", r->part, r->follow_n);
	else
		snprintf(part, sizeof(part), "resume %d", r->follow_n);
	run_set_part(f, spec, part);
	f->zone = xstrdup(r->zone);
	f->rcpts = r->unfinished;
	f->n_rcpts = r->n_unfinished;
	r->unfinished = NULL;
	r->n_unfinished = 0;
	f->retries = r->retries; /* the same retry budget */
	if (r->follow == FOLLOW_PAUSE) {
		f->state = RUN_PAUSED;
		f->due_ms = 0;
	} else {
		/* Due now: the calling hours, closed now, defer it to their
		 * next opening when the machine looks at it. */
		f->due_ms = now_ms();
		f->submit_at_ms = f->due_ms;
	}
	r->follow = FOLLOW_NONE;
	fs = slot_insert(e, f, spec);
	log_run(LOG_NOTICE, EV_SCHEDULED, f, 0, 0, "job '%s': follow-up run '%s' of %zu recipients %s", f->job,
		f->call_name, f->n_rcpts, f->state == RUN_PAUSED ? "is paused until resumed" :
		"is submitted at the next opening of the calling hours");
	/* Durable with the run it comes from (same group commit). */
	persist_new(e, fs);
}

/* --- the shared list scan ---------------------------------------------------- */

static int batch_id_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;
	return strcmp(x->run->batch_id, y->run->batch_id);
}

static void scan_free(struct scan *sc)
{
	if (!sc)
		return;
	if (sc->again)
		event_free(sc->again);
	free(sc->cursor);
	for (size_t i = 0; i < sc->n_lookup; i++)
		batch_clear(&sc->match[i]);
	free(sc->status);
	free(sc->seen);
	free(sc->lookup);
	free(sc->match);
	free(sc->n_match);
	free(sc->agent);
	free(sc);
}

static void list_page_cb(struct api_result *res, void *arg);

static void scan_next_page(struct engine *e, const char *last_doc)
{
	struct scan *sc = e->scan;

	if (sc->cursor != last_doc) {
		free(sc->cursor);
		sc->cursor = xstrdup(last_doc);
	}
	sc->pages++;
	e->stats.list_requests++;
	if (api_list(e->api, last_doc, sc->agent, LIST_PAGE_LIMIT, list_page_cb, e, NULL) < 0) {
		struct api_result fail = { .outcome = API_TRANSIENT, .retry_after_s = -1,
					   .message = (char *)"the request could not be started" };
		list_page_cb(&fail, e);
	}
}

/* Start a scan when slots need one and none is running. */
static void scan_start(struct engine *e, bool poll)
{
	struct scan *sc;
	const char *agent = NULL;
	bool one_agent = true;

	if (e->scan || e->stopping)
		return;
	if (now_ms() < e->paused_until_ms) {
		/* Come back when the pause may be over. */
		poll_arm(e);
		return;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->horizon = INT64_MAX;
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		struct run *r = s->run;
		bool status = poll && run_state_active(r->state) && r->batch_id && r->op == OP_NONE &&
			      !s->forgotten;
		bool lookup = s->want_lookup && !s->forgotten;

		if (!status && !lookup)
			continue;
		if (agent && (!r->agent_id || strcmp(agent, r->agent_id) != 0))
			one_agent = false;
		if (!agent)
			agent = r->agent_id;
		if (!r->agent_id)
			one_agent = false;
		if (status) {
			sc->status = xrealloc(sc->status, (sc->n_status + 1) * sizeof(*sc->status));
			sc->status[sc->n_status++] = s;
		}
		if (lookup) {
			int64_t h = r->intent_ms > 0 ? r->intent_ms / 1000 - LOOKUP_SKEW_S : 0;
			sc->lookup = xrealloc(sc->lookup, (sc->n_lookup + 1) * sizeof(*sc->lookup));
			sc->lookup[sc->n_lookup++] = s;
			s->want_lookup = false;
			if (h < sc->horizon)
				sc->horizon = h;
		}
		s->in_scan = true;
		heap_remove(e, s);
	}
	if (sc->n_status == 0 && sc->n_lookup == 0) {
		free(sc);
		return;
	}
	sc->seen = xcalloc(sc->n_status ? sc->n_status : 1, sizeof(*sc->seen));
	sc->match = xcalloc(sc->n_lookup ? sc->n_lookup : 1, sizeof(*sc->match));
	sc->n_match = xcalloc(sc->n_lookup ? sc->n_lookup : 1, sizeof(*sc->n_match));
	if (sc->n_status > 1) /* NULL in a scan of lookups only */
		qsort(sc->status, sc->n_status, sizeof(*sc->status), batch_id_cmp);
	if (one_agent && agent)
		sc->agent = xstrdup(agent);
	if (poll)
		e->stats.polls++;
	e->scan = sc;
	scan_next_page(e, NULL);
}

static void scan_request(struct engine *e)
{
	if (e->scan)
		e->scan_wanted = true;
	else
		scan_start(e, false);
}

static struct slot *scan_find_status(struct scan *sc, const char *id, size_t *ret_i)
{
	size_t lo = 0, hi = sc->n_status;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(id, sc->status[mid]->run->batch_id);
		if (c == 0) {
			*ret_i = mid;
			return sc->status[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void status_get_cb(struct api_result *res, void *arg)
{
	struct slot *s = arg;
	struct run_event ev = event_of(RE_STATUS, res);

	s->busy--;
	note_api_result(s->e, res);
	if (res->outcome == API_OK) {
		ev.batch = &res->detail.batch;
		step(s, &ev);
	} else if (res->outcome == API_NOT_FOUND) {
		step(s, &ev);
	}
	settle(s->e);
}

static void scan_finish(struct engine *e, const struct api_result *failure)
{
	struct scan *sc = e->scan;

	e->scan = NULL;
	for (size_t i = 0; i < sc->n_status; i++)
		sc->status[i]->in_scan = false;
	for (size_t i = 0; i < sc->n_lookup; i++)
		sc->lookup[i]->in_scan = false;
	/* Active batches the list did not show: ask for each one. */
	for (size_t i = 0; i < sc->n_status && !failure; i++) {
		struct slot *s = sc->status[i];
		if (sc->seen[i] || s->forgotten || s->run->op != OP_NONE || !run_state_active(s->run->state))
			continue;
		s->busy++;
		e->stats.get_requests++;
		if (api_get(e->api, s->run->batch_id, status_get_cb, s, NULL) < 0)
			s->busy--;
	}
	for (size_t i = 0; i < sc->n_lookup; i++) {
		struct slot *s = sc->lookup[i];
		struct run_event ev = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .retry_after_s = -1 };
		if (s->forgotten)
			continue;
		if (failure) {
			ev = event_of(RE_LOOKUP_DONE, failure);
		} else if (sc->n_match[i] > 0) {
			ev.batch = &sc->match[i];
			ev.n_found = sc->n_match[i];
		}
		step(s, &ev);
	}
	for (size_t i = 0; i < sc->n_status; i++) {
		heap_place(e, sc->status[i]);
		if (!sc->status[i]->forgotten && run_state_active(sc->status[i]->run->state))
			poll_arm(e);
	}
	scan_free(sc);
	if (e->scan_wanted || e->poll_wanted) {
		bool poll = e->poll_wanted;
		e->scan_wanted = e->poll_wanted = false;
		scan_start(e, poll);
	}
	settle(e);
}

static void batch_copy(struct batch *dst, const struct batch *src)
{
	batch_clear(dst);
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->name = xstrdup(src->name);
	dst->agent_id = xstrdup(src->agent_id);
}

static void page_again_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->scan)
		scan_next_page(e, e->scan->cursor);
}

static void list_page_cb(struct api_result *res, void *arg)
{
	struct engine *e = arg;
	struct scan *sc = e->scan;
	const struct batch_page *p = &res->page;
	bool need_more = false;
	int64_t oldest = INT64_MAX;

	note_api_result(e, res);
	if (res->outcome != API_OK) {
		/* One bad page must not throw away a scan of many: ask for
		 * that page again a few times before giving up. */
		if (res->outcome == API_TRANSIENT && sc->page_failures < PAGE_RETRIES && !e->stopping) {
			int64_t ms = backoff_full_jitter_ms(500, 5000, sc->page_failures, rnd64());
			struct timeval tv;
			if (res->retry_after_s >= 0 && res->retry_after_s * 1000 > ms)
				ms = res->retry_after_s * 1000;
			tv.tv_sec = ms / 1000;
			tv.tv_usec = (ms % 1000) * 1000;
			sc->page_failures++;
			if (!sc->again)
				sc->again = evtimer_new(e->base, page_again_cb, e);
			evtimer_add(sc->again, &tv);
			return;
		}
		scan_finish(e, res);
		return;
	}
	sc->page_failures = 0;
	group_begin(e);
	for (size_t k = 0; k < p->n_batches; k++) {
		const struct batch *b = &p->batches[k];
		size_t i;
		struct slot *s;

		if (b->created_at_unix < oldest)
			oldest = b->created_at_unix;
		s = b->id ? scan_find_status(sc, b->id, &i) : NULL;
		if (s && !sc->seen[i]) {
			struct run_event ev = { .kind = RE_STATUS, .outcome = REQ_OK, .batch = b,
						.retry_after_s = -1 };
			sc->seen[i] = true;
			s->in_scan = false;
			step(s, &ev);
			s->in_scan = true;
		}
		for (size_t j = 0; j < sc->n_lookup; j++) {
			struct slot *ls = sc->lookup[j];
			if (!b->name || strcmp(b->name, ls->run->call_name) != 0)
				continue;
			if (ls->run->agent_id && b->agent_id && strcmp(ls->run->agent_id, b->agent_id) != 0)
				continue;
			/* Newest first: the last one seen is the oldest. */
			batch_copy(&sc->match[j], b);
			sc->n_match[j]++;
		}
	}
	group_end(e);
	for (size_t i = 0; i < sc->n_status; i++)
		if (!sc->seen[i])
			need_more = true;
	if (sc->n_lookup > 0 && oldest >= sc->horizon)
		need_more = true;
	if (need_more && p->has_more && p->next_doc && sc->pages < 10000 && !e->stopping) {
		char *next = xstrdup(p->next_doc);
		scan_next_page(e, next);
		free(next);
		return;
	}
	scan_finish(e, NULL);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->scan)
		e->poll_wanted = true;
	else
		scan_start(e, true);
}

/* --- the timer --------------------------------------------------------------- */

/* A recurring job's occurrence is due while an earlier run of the job is
 * still at work: apply the job's overlap policy. Returns why the new run
 * must not be submitted, or NULL. */
static const char *overlap_check(struct engine *e, struct slot *s, int64_t now)
{
	const struct jobspec *spec = s->spec;
	const char *why = NULL;

	if (!spec || !spec->repeat || s->run->state != RUN_SCHEDULED || now < run_submit_at_ms(s->run, spec))
		return NULL;
	for (size_t i = slot_lower(e, spec->name, INT64_MIN); slot_of_job(e, i, spec->name); i++) {
		struct slot *o = e->slots[i];
		enum run_state st = o->run->state;
		if (o == s || o->forgotten || o->run->start == s->run->start ||
		    !(st == RUN_SUBMITTING || run_state_active(st) || st == RUN_RETRY_WAIT))
			continue;
		switch (spec->overlap) {
		case OVERLAP_ALLOW:
			break;
		case OVERLAP_SKIP:
			why = "the previous run's batch is still active (overlap = skip)";
			break;
		case OVERLAP_CANCEL_PREVIOUS:
			log_run(LOG_NOTICE, EV_CANCELLED, o->run, 0, 0,
				"job '%s': the next occurrence is due; cancelling the previous run (overlap = cancel_previous)",
				spec->name);
			heap_remove(e, o);
			step(o, &(struct run_event){ .kind = RE_CANCEL_REQ, .retry_after_s = -1 });
			break;
		}
	}
	return why;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t ticks;
	int64_t now = now_ms();

	(void)what;
	/* ECANCELED after a clock step; EAGAIN when nothing expired. Either
	 * way: look at the heap again. */
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN && errno != ECANCELED)
		log_msg(LOG_WARNING, "timer read failed: %s", strerror(errno));
	if (now < e->paused_until_ms || e->stopping) {
		arm_timer(e);
		return;
	}
	group_begin(e);
	while (e->n_heap > 0 && e->heap[0]->run->due_ms <= now) {
		struct slot *s = e->heap[0];
		struct run_event ev = { .kind = RE_TIME, .retry_after_s = -1 };
		heap_remove(e, s);
		s->skip = overlap_check(e, s, now);
		step(s, &ev);
		s->skip = NULL;
		/* A step that left the run due now again would spin: wait. */
		if (s->hidx != SIZE_MAX && s->run->due_ms <= now) {
			s->run->due_ms = now + 1000;
			heap_place(e, s);
		}
	}
	group_end(e);
	settle(e);
}

/* --- status for systemd ------------------------------------------------------ */

static void update_status(struct engine *e)
{
	size_t active = 0, submitting = 0;
	const struct run *next = NULL;
	char buf[256], when[64] = "none";

	for (size_t i = 0; i < e->n_slots; i++) {
		const struct run *r = e->slots[i]->run;
		if (run_state_active(r->state) || r->state == RUN_RETRY_WAIT)
			active++;
		if (r->state == RUN_SUBMITTING)
			submitting++;
		if (r->state == RUN_SCHEDULED && (!next || r->start < next->start))
			next = r;
	}
	char sub[48] = "";
	if (submitting)
		snprintf(sub, sizeof(sub), ", %zu being submitted", submitting);
	if (next) {
		format_utc(next->start, when, sizeof(when));
		snprintf(buf, sizeof(buf), "%zu jobs, %zu active batches%s, next run '%s' at %s", e->conf->n_jobs,
			 active, sub, next->job, when);
	} else {
		snprintf(buf, sizeof(buf), "%zu jobs, %zu active batches%s, no run scheduled", e->conf->n_jobs,
			 active, sub);
	}
	if (strcmp(buf, e->last_status) != 0) {
		snprintf(e->last_status, sizeof(e->last_status), "%s", buf);
		notify_status("%s", buf);
	}
}

static void status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	update_status(arg);
}

/* --- setting up -------------------------------------------------------------- */

struct load_ctx {
	struct engine *e;
	int64_t now;
};

static bool from_journal(const char *file)
{
	return strstr(file, "/journal-") != NULL;
}

static void load_run_cb(const char *file, struct run *r, const char *cause, void *arg)
{
	struct load_ctx *lc = arg;
	struct engine *e = lc->e;
	const struct jobspec *spec;
	struct slot *s;

	if (!r && from_journal(file)) {
		/* Which run it was is unknown: engine_start treats every run
		 * whose time has come as uncertain. */
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "state journal record %s is damaged (%s); runs due now will be looked up through the API",
			  file, cause ? cause : "unreadable");
		return;
	}
	if (!r) {
		/* Damage: keep the evidence and treat the run as uncertain, so
		 * that its batch is looked up instead of submitted blind. */
		char *damaged = xasprintf("%s.damaged", file);
		const char *base = strrchr(file, '/');
		char *job = xstrdup(base ? base + 1 : file);
		char *at = strrchr(job, '@');
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "state file '%s' is damaged (%s); kept as '%s', its run will be looked up through the API",
			  file, cause ? cause : "unreadable", damaged);
		if (rename(file, damaged) < 0)
			log_msg(LOG_ERR, "cannot rename '%s': %s", file, strerror(errno));
		if (at) {
			*at = '\0';
			spec = daemonconf_find(e->conf, job);
			if (spec) {
				struct run *nr = run_new(spec, lc->now);
				nr->state = RUN_SUBMITTING;
				nr->uncertain = true;
				/* When its submit was made is unknown: look through
				 * the whole list, and conclude only after the grace. */
				nr->intent_ms = 0;
				nr->settle_ms = lc->now + e->grace_ms;
				nr->due_ms = 0;
				nr->submit_attempts = 1;
				slot_add(e, nr, spec);
			}
		}
		free(job);
		free(damaged);
		return;
	}
	spec = daemonconf_find(e->conf, r->job);
	s = slot_add(e, r, spec);
	s->persisted = true;
	if (from_journal(file))
		mark_dirty(e, s);
}

/* A job keeps its runs that may still do something, and of those that
 * ended for good only the newest: the state folder does not grow with every
 * occurrence of a recurring job. */
static void prune_job(struct engine *e, const char *job)
{
	size_t lo = slot_lower(e, job, INT64_MIN), hi = lo, newest = SIZE_MAX;

	while (slot_of_job(e, hi, job))
		hi++;
	for (size_t i = lo; i < hi; i++)
		if (!e->slots[i]->forgotten && run_state_final(e->slots[i]->run->state) &&
		    e->slots[i]->run->state != RUN_REMOVED)
			newest = i; /* sorted by instant: the last one wins */
	for (size_t i = lo; i < hi; i++) {
		struct slot *s = e->slots[i];
		if (i == newest || s->forgotten || !run_state_final(s->run->state) || s->busy || s->in_group)
			continue;
		if (s->dirty)
			compact_all(e);
		store_remove(e->store, s->run);
		s->forgotten = true;
		e->reap_needed = true;
	}
}

int engine_new(struct event_base *base, const char *config_path, struct daemonconf *conf,
	       const char *api_key, struct engine **ret, char **cause)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct http_options ho = { 0 };
	struct store_load_info info;
	struct load_ctx lc;
	int r;

	e->base = base;
	e->config_path = xstrdup(config_path);
	e->conf = conf;
	e->api_key = xstrdup(api_key);
	e->tfd = -1;
	e->grace_ms = 2 * (int64_t)conf->api.request_timeout * 1000 + 2000;
	e->stats.last_reload_ok = true;
	e->stats.started_unix = now_ms() / 1000;

	r = store_open(conf->state_dir, &e->store, cause);
	if (r < 0)
		goto fail;
	ho.timeout_ms = conf->api.request_timeout * 1000L;
	ho.max_concurrent = conf->api.max_concurrent_requests;
	ho.max_per_second = conf->api.max_requests_per_second;
	ho.ca_file = conf->api.ca_file;
	ho.user_agent = PACKAGE_NAME "/" PACKAGE_VERSION;
	e->http = http_new(base, &ho);
	if (!e->http) {
		*cause = xstrdup("cannot start libcurl");
		r = -ENOMEM;
		goto fail;
	}
	r = api_new(e->http, conf->api.base_url, e->api_key, &e->api);
	if (r < 0) {
		*cause = xasprintf("cannot use the API base URL '%s' with the configured key", conf->api.base_url);
		goto fail;
	}
	e->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->tfd < 0) {
		r = -errno;
		*cause = xasprintf("timerfd_create: %s", strerror(errno));
		goto fail;
	}
	e->tfd_ev = event_new(base, e->tfd, EV_READ | EV_PERSIST, timer_cb, e);
	/* One-shot timers, armed only when there is something to do: an idle
	 * daemon sleeps until its next due instant. */
	e->poll_ev = event_new(base, -1, 0, poll_cb, e);
	e->status_ev = event_new(base, -1, 0, status_cb, e);
	e->flush_ev = event_new(base, -1, 0, flush_cb, e);
	e->compact_ev = event_new(base, -1, 0, compact_cb, e);

	lc.e = e;
	lc.now = now_ms();
	r = store_load(e->store, load_run_cb, &lc, &info);
	if (r < 0) {
		*cause = xasprintf("cannot read the state folder '%s': %s", conf->state_dir, strerror(-r));
		goto fail;
	}
	slots_sort(e);
	for (size_t i = 0; i < e->n_slots; i++)
		if (i == 0 || strcmp(e->slots[i]->run->job, e->slots[i - 1]->run->job) != 0)
			prune_job(e, e->slots[i]->run->job);
	e->journal_damaged = info.journal_damaged;
	/* Runs found only in a journal get their own files before anything
	 * else happens. */
	compact_all(e);
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

/* The run at occurrence occ of spec, with the calling hours applied; false
 * when the hours skip it (outside_window = skip). */
static bool make_run(struct engine *e, const struct jobspec *spec, int64_t occ, struct run **ret)
{
	int64_t now = now_ms(), at = occ, close;
	bool skipped = false;
	struct run *r;

	if (spec->hours && spec->enabled) {
		if (schedule_submit_time(spec, spec->tz, occ, &at, &skipped) < 0 || skipped)
			return false;
	}
	r = run_new_at(spec, occ, now);
	if (spec->hours && spec->enabled) {
		if (at != occ) {
			r->submit_at_ms = at * 1000;
			r->due_ms = r->submit_at_ms;
		}
		if (window_close_after(spec->hours, spec->tz, at, &close) == 0)
			r->close_ms = close * 1000;
	}
	*ret = r;
	return true;
}

static void announce(const struct run *r, const struct jobspec *spec)
{
	char local[64], utc[32], at[64];

	if (r->state != RUN_SCHEDULED)
		return;
	tz_format_local(spec->tz, r->start, local, sizeof(local));
	format_utc(r->start, utc, sizeof(utc));
	if (r->submit_at_ms > 0) {
		format_utc(r->submit_at_ms / 1000, at, sizeof(at));
		log_run(LOG_INFO, EV_SCHEDULED, r, 0, 0,
			"job '%s': run '%s' of %s (%s) scheduled; outside the calling hours%s%s, it is submitted at %s",
			r->job, r->call_name, local, utc, r->zone ? " of " : "", r->zone ? r->zone : "", at);
	} else if (r->part) {
		log_run(LOG_INFO, EV_SCHEDULED, r, 0, 0, "job '%s': run '%s' scheduled at %s (%s)", r->job,
			r->call_name, local, utc);
	} else {
		log_run(LOG_INFO, EV_SCHEDULED, r, 0, 0, "job '%s': run scheduled at %s (%s)", r->job, local, utc);
	}
}

/* An occurrence whose recipients carry their own zones under calling hours:
 * one run per zone group, each submitted when its own window opens, each
 * with its own call_name ("... (America/Chicago)"). A group skipped by its
 * hours is logged as missed. */
static size_t add_zone_groups(struct engine *e, const struct jobspec *spec, int64_t occ)
{
	size_t made = 0;
	struct schedule_group *g = NULL;
	size_t n = 0;
	int64_t now = now_ms(), close;

	if (schedule_zone_groups(spec, occ, &g, &n) < 0) {
		log_event(LOG_ERR, EV_MISSED, &(struct log_fields){ .job = spec->name, .run_start = occ },
			  "job '%s': the calling hours never open within the search horizon; run not scheduled",
			  spec->name);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct run *r = run_new_at(spec, occ, now);
		struct slot *s;

		run_set_part(r, spec, g[i].timezone);
		r->zone = xstrdup(g[i].timezone);
		r->rcpts = xcalloc(g[i].n_recipients ? g[i].n_recipients : 1, sizeof(*r->rcpts));
		for (size_t k = 0; k < g[i].n_recipients; k++) {
			const struct recipient *x = &spec->recipients[g[i].recipients[k]];
			r->rcpts[r->n_rcpts++] = xstrdup(recipient_key(x->phone_number, x->whatsapp_user_id));
		}
		if (g[i].window == SCHEDULE_SKIPPED) {
			log_run(LOG_WARNING, EV_MISSED, r, 0, 0,
				"job '%s': %zu recipients in %s skipped: outside their calling hours "
				"(outside_window = skip)", spec->name, r->n_rcpts, g[i].timezone);
			e->stats.missed++;
			run_free(r);
			continue;
		}
		if (g[i].submit_at != occ) {
			r->submit_at_ms = g[i].submit_at * 1000;
			r->due_ms = r->submit_at_ms;
		}
		if (window_close_after(spec->hours, g[i].tz, g[i].submit_at, &close) == 0)
			r->close_ms = close * 1000;
		if (!spec->enabled) {
			r->state = RUN_DISABLED;
			r->due_ms = 0;
		}
		s = slot_insert(e, r, spec);
		announce(r, spec);
		persist_new(e, s);
		made++;
	}
	schedule_groups_free(g, n);
	return made;
}

/* The first occurrence of spec strictly after `after` (INT64_MIN: the first
 * of all; for a recurring job without start: the first from now). */
static int next_occurrence(const struct jobspec *spec, int64_t after, int64_t now_s, int64_t *ret)
{
	int64_t from = after == INT64_MIN ? (spec->anchored ? INT64_MIN : now_s) : after + 1;
	size_t n = 0;

	if (schedule_occurrences(spec, from, 1, ret, &n) < 0 || n == 0)
		return -ENOENT;
	return 0;
}

/* Give a job its next run when it has none waiting: its single run, or the
 * next occurrence of a recurring job. After downtime only the newest
 * occurrence within max_lateness is submitted; the older ones are logged as
 * missed, never run in a burst. */
static void ensure_next(struct engine *e, const struct jobspec *spec)
{
	int64_t now = now_ms(), now_s = now / 1000, latest = INT64_MIN, occ;
	struct run *r = NULL;
	struct slot *s;

	for (size_t i = slot_lower(e, spec->name, INT64_MIN); slot_of_job(e, i, spec->name); i++) {
		const struct slot *o = e->slots[i];
		if (o->forgotten)
			continue;
		if (o->run->state == RUN_SCHEDULED || o->run->state == RUN_DISABLED)
			return;
		if (o->run->start > latest)
			latest = o->run->start;
	}
	if (!spec->repeat) {
		if (latest != INT64_MIN)
			return; /* a single run, and it exists */
		if (spec->hours && spec->has_recipient_zones) {
			add_zone_groups(e, spec, spec->start);
			return;
		}
		r = run_new(spec, now);
		goto add;
	}
	if (next_occurrence(spec, latest, now_s, &occ) < 0)
		return; /* the series has ended (until/count) */
	if (occ + spec->max_lateness < now_s) {
		int64_t newest = occ, first = occ;
		size_t missed = 0;

		if (schedule_latest_due(spec, now_s, &newest) < 0 || newest < occ)
			newest = occ;
		/* Count what is skipped (bounded: a log line, not a loop over years). */
		for (int64_t t = occ; t < newest && missed < 100000; missed++)
			if (next_occurrence(spec, t, now_s, &t) < 0)
				break;
		if (now_s - newest <= spec->max_lateness) {
			occ = newest;
		} else {
			missed++;
			if (next_occurrence(spec, newest, now_s, &occ) < 0)
				occ = INT64_MIN;
		}
		if (missed > 0) {
			char a[64], b[64];
			struct run tmp = { .job = spec->name, .start = first };
			tz_format_local(spec->tz, first, a, sizeof(a));
			tz_format_local(spec->tz, newest, b, sizeof(b));
			e->stats.missed += missed;
			log_run(LOG_ERR, EV_MISSED, &tmp, 0, 0,
				"job '%s': %zu occurrences from %s to %s were missed (later than max_lateness %ds); "
				"not submitted", spec->name, missed, a, b, spec->max_lateness);
		}
		if (occ == INT64_MIN)
			return;
	}
	if (spec->hours && spec->has_recipient_zones) {
		/* Every group skipped: on to the next occurrence. */
		for (int guard = 0; add_zone_groups(e, spec, occ) == 0 && guard < 10000; guard++)
			if (next_occurrence(spec, occ, now_s, &occ) < 0)
				break;
		return;
	}
	/* Occurrences outside the calling hours with outside_window = skip. */
	for (int guard = 0; !make_run(e, spec, occ, &r); guard++) {
		struct run tmp = { .job = spec->name, .start = occ };
		char a[64];
		tz_format_local(spec->tz, occ, a, sizeof(a));
		log_run(LOG_WARNING, EV_MISSED, &tmp, 0, 0,
			"job '%s': run of %s skipped: outside the calling hours (outside_window = skip)", spec->name, a);
		e->stats.missed++;
		if (guard > 10000 || next_occurrence(spec, occ, now_s, &occ) < 0)
			return;
	}
add:
	s = slot_insert(e, r, spec);
	announce(r, spec);
	heap_place(e, s);
}

/* Bring the slots in line with e->conf: changed jobs update their runs,
 * removed ones are handled by on_removal, every job gets its next run. */
static void apply_conf(struct engine *e)
{
	group_begin(e);
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		const struct jobspec *spec = daemonconf_find(e->conf, s->run->job);
		struct actions acts = { .n = 0 };
		enum run_state prev = s->run->state;
		struct run_ctx ctx;

		if (s->forgotten)
			continue;
		s->spec = spec;
		ctx = make_ctx(s);
		if (spec && spec->repeat && (prev == RUN_SCHEDULED || prev == RUN_DISABLED) && s->run->op == OP_NONE &&
		    (spec->digest != s->run->digest || spec->enabled != (prev == RUN_SCHEDULED))) {
			/* An occurrence not submitted yet: made again from the
			 * new definition below. */
			if (s->dirty)
				compact_all(e);
			store_remove(e->store, s->run);
			heap_remove(e, s);
			s->forgotten = true;
			e->reap_needed = true;
			continue;
		}
		if (spec && s->run->part)
			s->run->on_removal = spec->on_removal; /* a zone group or follow-up keeps what it was made with */
		else if (spec)
			run_update_spec(s->run, &ctx, &acts);
		else if (!s->run->removing)
			run_step(s->run, &ctx, &(struct run_event){ .kind = RE_REMOVED, .retry_after_s = -1 }, &acts, NULL);
		do_actions(s, &acts);
		if (s->run->state != prev)
			note_state_change(e, s, prev);
	}
	group_end(e);
	slots_reap(e);
	for (size_t i = 0; i < e->conf->n_jobs; i++) {
		const struct jobspec *spec = &e->conf->jobs[i];
		if (spec->resume && spec->hours)
			log_event(LOG_WARNING, EV_CONFIG_ERROR, &(struct log_fields){ .job = spec->name },
				  "%s:%d: job '%s': resume = true is not supported by this version of the daemon: "
				  "a batch cancelled when the calling hours close is not resumed", spec->file,
				  spec->line, spec->name);
		ensure_next(e, spec);
	}
}

int engine_start(struct engine *e)
{
	apply_conf(e);
	if (e->journal_damaged) {
		/* Some run's newest record is lost: any run whose time has
		 * come may have been submitted. Look each one up. */
		int64_t now = now_ms();
		for (size_t i = 0; i < e->n_slots; i++) {
			struct run *r = e->slots[i]->run;
			if (r->state == RUN_SCHEDULED && e->slots[i]->spec &&
			    run_submit_at_ms(r, e->slots[i]->spec) <= now) {
				r->state = RUN_SUBMITTING;
				r->uncertain = true;
				r->intent_ms = now;
				r->due_ms = 0;
			}
		}
	}
	/* Announce runs loaded from state, and look at every run once now:
	 * uncertain submits are looked up, late ones submitted or missed. */
	group_begin(e);
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		struct run_event ev = { .kind = RE_TIME, .retry_after_s = -1 };
		if (s->forgotten)
			continue;
		if (s->spec && s->run->state != RUN_SCHEDULED && s->run->state != RUN_DISABLED)
			log_run(LOG_INFO, EV_SCHEDULED, s->run, 0, 0, "job '%s': run of %" PRId64 " resumed in state %s",
				s->run->job, s->run->start, run_state_name(s->run->state));
		heap_remove(e, s);
		s->skip = overlap_check(e, s, now_ms());
		step(s, &ev);
		s->skip = NULL;
	}
	group_end(e);
	event_add(e->tfd_ev, NULL);
	settle(e);
	update_status(e);
	notify_ready();
	log_event(LOG_NOTICE, EV_DAEMON_STARTED, NULL, "batchcalld %s started: %zu jobs in %zu files, state in '%s'",
		  PACKAGE_VERSION, e->conf->n_jobs, e->conf->n_files, e->conf->state_dir);
	/* A first poll at once picks up batches that were active before. */
	scan_start(e, true);
	return 0;
}

int engine_reload(struct engine *e)
{
	struct daemonconf *nc = NULL;
	struct diag d = { 0 };
	struct daemonconf *old;

	int64_t t0 = now_ms();

	notify_reloading();
	if (cfg_load(e->config_path, &nc, &d) < 0) {
		for (size_t i = 0; i < d.n; i++) {
			char *line = diag_format(&d, i);
			log_event(LOG_ERR, EV_CONFIG_ERROR, NULL, "%s", line);
			free(line);
		}
		log_event(LOG_ERR, EV_RELOAD_FAILED, NULL,
			  "reload refused: %zu error%s in the configuration; the previous one stays in force", d.n,
			  d.n == 1 ? "" : "s");
		notify_status("reload failed: %zu error%s; previous configuration in force", d.n, d.n == 1 ? "" : "s");
		e->last_status[0] = '\0';
		diag_clear(&d);
		e->stats.reloads_failed++;
		e->stats.last_reload_unix = now_ms() / 1000;
		e->stats.last_reload_ok = false;
		notify_ready();
		return -EINVAL;
	}
	diag_clear(&d);
	if (strcmp(nc->api.base_url, e->conf->api.base_url) != 0 ||
	    strcmp(nc->state_dir, e->conf->state_dir) != 0)
		log_msg(LOG_WARNING, "changes to api.base_url and state_dir take effect at the next start");
	old = e->conf;
	e->conf = nc;
	apply_conf(e);
	daemonconf_free(old);
	e->stats.reloads_ok++;
	e->stats.last_reload_unix = now_ms() / 1000;
	e->stats.last_reload_ok = true;
	log_event(LOG_NOTICE, EV_RELOADED, NULL, "configuration reloaded: %zu jobs in %zu files, in %" PRId64 " ms",
		  nc->n_jobs, nc->n_files, now_ms() - t0);
	settle(e);
	e->last_status[0] = '\0';
	update_status(e);
	notify_ready();
	return 0;
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg);

static void stop_finish(struct engine *e)
{
	group_flush(e);
	compact_all(e);
	log_event(LOG_NOTICE, EV_DAEMON_STOPPED, NULL, "stopped; state saved in '%s'", e->conf->state_dir);
	event_base_loopexit(e->base, NULL);
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (http_pending(e->http) == 0) {
		stop_finish(e);
	} else if (++e->stop_ticks > STOP_GRACE_S * 10) {
		log_msg(LOG_WARNING, "stopping without the answers to %zu requests; their runs are looked up "
			"through the API at the next start", http_pending(e->http));
		stop_finish(e);
	}
}

void engine_stop(struct engine *e)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };

	if (e->stopping)
		return;
	e->stopping = true;
	notify_stopping();
	log_event(LOG_NOTICE, EV_DAEMON_STOPPING, NULL, "stopping: %zu requests in flight get up to %ds",
		  http_pending(e->http), (int)STOP_GRACE_S);
	event_del(e->poll_ev);
	arm_timer(e);
	if (http_pending(e->http) == 0) {
		stop_finish(e);
		return;
	}
	notify_extend_timeout((uint64_t)(STOP_GRACE_S + 5) * 1000000);
	e->stop_ev = event_new(e->base, -1, EV_PERSIST, stop_check_cb, e);
	event_add(e->stop_ev, &tv);
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->tfd_ev)
		event_free(e->tfd_ev);
	if (e->poll_ev)
		event_free(e->poll_ev);
	if (e->stop_ev)
		event_free(e->stop_ev);
	if (e->status_ev)
		event_free(e->status_ev);
	if (e->flush_ev)
		event_free(e->flush_ev);
	if (e->compact_ev)
		event_free(e->compact_ev);
	if (e->tfd >= 0)
		close(e->tfd);
	api_free(e->api);
	http_free(e->http);
	scan_free(e->scan);
	for (size_t i = 0; i < e->n_slots; i++) {
		run_free(e->slots[i]->run);
		free(e->slots[i]);
	}
	free(e->slots);
	free(e->heap);
	free(e->group);
	free(e->dirty);
	for (size_t i = 0; i < e->n_pending_jobs; i++)
		free(e->pending_jobs[i]);
	free(e->pending_jobs);
	store_close(e->store);
	daemonconf_free(e->conf);
	if (e->api_key) {
		explicit_bzero(e->api_key, strlen(e->api_key));
		free(e->api_key);
	}
	free(e->config_path);
	free(e);
}

const struct daemonconf *engine_conf(const struct engine *e)
{
	return e->conf;
}

size_t engine_n_runs(const struct engine *e)
{
	return e->n_slots;
}

const struct run *engine_run_at(const struct engine *e, size_t i)
{
	return i < e->n_slots ? e->slots[i]->run : NULL;
}

const struct run *engine_run_of(const struct engine *e, const char *job)
{
	struct slot *s = slot_find(e, job);
	return s && !s->forgotten ? s->run : NULL;
}

int engine_request(struct engine *e, const char *job, int kind, const char **why)
{
	struct slot *s = slot_find(e, job);
	struct run_event ev = { .kind = kind, .retry_after_s = -1 };
	struct actions acts = { .n = 0 };
	enum run_state prev;
	struct run_ctx ctx;
	int r;

	if (!s || s->forgotten) {
		*why = "no such job";
		return -ENOENT;
	}
	if (e->stopping) {
		*why = "the daemon is stopping";
		return -EBUSY;
	}
	if (kind == RE_RESUME_REQ) {
		/* The paused run, wherever it is among the job's runs. */
		for (size_t i = slot_lower(e, job, INT64_MIN); slot_of_job(e, i, job); i++)
			if (!e->slots[i]->forgotten && e->slots[i]->run->state == RUN_PAUSED) {
				s = e->slots[i];
				break;
			}
	}
	if (kind != RE_CANCEL_REQ && kind != RE_RETRY_REQ && kind != RE_TRIGGER_REQ && kind != RE_PAUSE_REQ &&
	    kind != RE_RESUME_REQ) {
		*why = "unknown request";
		return -EINVAL;
	}
	if (s->in_group)
		group_flush(e);
	ctx = make_ctx(s);
	heap_remove(e, s);
	prev = s->run->state;
	r = run_step(s->run, &ctx, &ev, &acts, why);
	do_actions(s, &acts);
	if (s->run->state != prev)
		note_state_change(e, s, prev);
	settle(e);
	return r;
}

const struct engine_stats *engine_get_stats(const struct engine *e)
{
	return &e->stats;
}
