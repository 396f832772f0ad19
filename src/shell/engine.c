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
#include "engine_int.h"
#include "http.h"
#include "run.h"
#include "log.h"
#include "notify.h"
#include "occur.h"
#include "schedule.h"
#include "state.h"
#include "store.h"
#include "tz.h"
#include "util.h"
#include "window.h"

#define STOP_GRACE_S 10

/* A call_name that a run of a job no longer in the files was submitted
 * with: no other run may be submitted with it while the record is kept. */
struct held_name {
	char *call_name;
	char *job;
	char *batch_id;
};

struct replan {
	char *job;
	int64_t start;
};

int64_t engine_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t engine_rnd64(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)engine_now_ms() * 0x9e3779b97f4a7c15ULL;
	return v;
}

/* --- logging --------------------------------------------------------------- */

enum log_event engine_log_event_of(enum job_event je)
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

void engine_log_run(int prio, enum log_event ev, const struct run *r, int attempt, long http_status,
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

/* The systemd STATUS= line is refreshed at most once a second, and only
 * after something changed. */
void engine_status_touch(struct engine *e)
{
	struct timeval tv = { .tv_sec = 1 };

	if (!event_pending(e->status_ev, EV_TIMEOUT, NULL))
		event_add(e->status_ev, &tv);
}

/* The end of every callback: next runs of recurring jobs, pruning,
 * forgotten slots freed, the timer armed at the new earliest instant. */
void engine_settle(struct engine *e)
{
	while (e->n_pending_jobs > 0) {
		char *job = e->pending_jobs[--e->n_pending_jobs];
		const struct jobspec *spec = daemonconf_find(e->conf, job);
		if (spec)
			reconcile_ensure_next(e, spec);
		(void)reconcile_prune_job(e, job);
		free(job);
	}
	slot_reap(e);
	slot_heap_arm(e);
}

int engine_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
			engine_log_run(LOG_NOTICE, EV_CANCELLED, o->run, 0, 0,
				"job '%s': the next occurrence is due; cancelling the previous run (overlap = cancel_previous)",
				spec->name);
			slot_heap_remove(e, o);
			carry_step(o, &(struct run_event){ .kind = RE_CANCEL_REQ, .retry_after_s = -1 });
			break;
		}
	}
	return why;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t ticks;
	int64_t now = engine_now_ms();

	(void)what;
	/* ECANCELED after a clock step; EAGAIN when nothing expired. Either
	 * way: look at the heap again. */
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN && errno != ECANCELED)
		log_msg(LOG_WARNING, "timer read failed: %s", strerror(errno));
	if (now < e->paused_until_ms || e->stopping) {
		slot_heap_arm(e);
		return;
	}
	carry_group_begin(e);
	while (e->n_heap > 0 && e->heap[0]->run->due_ms <= now) {
		struct slot *s = e->heap[0];
		struct run_event ev = { .kind = RE_TIME, .retry_after_s = -1 };
		slot_heap_remove(e, s);
		s->skip = overlap_check(e, s, now);
		carry_step(s, &ev);
		s->skip = NULL;
		/* A step that left the run due now again would spin: wait. */
		if (s->hidx != SIZE_MAX && s->run->due_ms <= now) {
			run_postpone(s->run, now + 1000);
			slot_heap_place(e, s);
		}
	}
	carry_group_end(e);
	engine_settle(e);
}

/* --- status for systemd ------------------------------------------------------ */

static void update_status(struct engine *e)
{
	size_t active = 0, submitting = 0;
	const struct run *next = NULL;
	char buf[256], when[64] = "none";

	for (size_t i = 0; i < e->n_slots; i++) {
		const struct run *r = e->slots[i]->run;
		if (e->slots[i]->forgotten || slot_detached(e->slots[i]))
			continue;
		if (run_state_active(r->state) || r->state == RUN_RETRY_WAIT)
			active++;
		if (r->state == RUN_SUBMITTING)
			submitting++;
		if (r->state == RUN_SCHEDULED && e->slots[i]->spec && (!next || r->start < next->start))
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

/* A record that could not be read: its run is looked up through the API as
 * uncertain, with the identity its file name gives (job, instant, part),
 * never with the job's start. A run whose record alone knew what it sends
 * (a follow-up) may be adopted, never submitted. */
static void load_damaged(struct engine *e, const struct run_key *key, const char *cause, const char *where,
			 int64_t now)
{
	const struct jobspec *spec = key ? daemonconf_find(e->conf, key->job) : NULL;
	struct run *nr;

	if (!key) {
		/* Which run it was is unknown: engine_start treats every run
		 * whose time has come as uncertain. */
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "state journal record %s is damaged (%s); runs due now will be looked up through the API",
			  where, cause ? cause : "unreadable");
		return;
	}
	if (!spec) {
		log_event(LOG_ERR, EV_STATE_ERROR, &(struct log_fields){ .job = key->job, .run_start = key->start },
			  "state file '%s' is damaged (%s) and kept as evidence; its job '%s' is not in the files, "
			  "so its run is not looked up", where, cause ? cause : "unreadable", key->job);
		return;
	}
	log_event(LOG_ERR, EV_STATE_ERROR, &(struct log_fields){ .job = key->job, .run_start = key->start },
		  "state file '%s' is damaged (%s) and kept as evidence; its run is looked up through the API",
		  where, cause ? cause : "unreadable");
	/* When its submit was made is unknown: look through the whole list,
	 * and conclude only after the grace. */
	if (key->part) {
		char **v = NULL;
		size_t k = spec->hours && spec->has_recipient_zones ? occur_zone_rcpts(spec, key->part, &v) : 0;
		if (k == 0) {
			/* A follow-up: its recipients are lost with the record. */
			free(v);
			v = NULL;
		}
		nr = run_new_lost(spec, key->start, key->part, k ? key->part : NULL, v, k, k == 0, now + e->grace_ms);
	} else {
		nr = run_new_lost(spec, key->start, NULL, NULL, NULL, 0, false, now + e->grace_ms);
	}
	slot_add(e, nr, spec);
}

static void load_run_cb(const struct run_key *key, struct run *r, const char *cause, const char *where, void *arg)
{
	struct load_ctx *lc = arg;

	lc->e->earlier_life = true;
	if (!r) {
		load_damaged(lc->e, key, cause, where, lc->now);
		return;
	}
	slot_add(lc->e, r, daemonconf_find(lc->e->conf, r->job));
}

#define RETENTION_DEFAULT_S (30 * 86400)
/* Records past their retention are removed at most this often. */
#define PRUNE_MIN_INTERVAL_S 60

static int64_t retention_s(const struct engine *e)
{
	return e->conf->state_retention > 0 ? e->conf->state_retention : RETENTION_DEFAULT_S;
}

static void prune_arm(struct engine *e, int64_t at_s)
{
	int64_t now_s = engine_now_ms() / 1000, d = at_s - now_s;
	struct timeval tv;

	if (d < PRUNE_MIN_INTERVAL_S)
		d = PRUNE_MIN_INTERVAL_S;
	tv.tv_sec = d;
	tv.tv_usec = 0;
	event_del(e->prune_ev);
	event_add(e->prune_ev, &tv);
}

/* What the state keeps of a job. A job in the files keeps its runs that may
 * still do something and, of those that ended, every part of the newest
 * occurrence: the next occurrence counts from it, and it is a one-off job's
 * single run. A job that left the files keeps every record until
 * state_retention after the run's end, so that putting the job back never
 * submits a run again. Returns when its oldest kept record expires
 * (INT64_MAX: none). */
int64_t reconcile_prune_job(struct engine *e, const char *job)
{
	const struct jobspec *spec = daemonconf_find(e->conf, job);
	const struct run **runs;
	struct slot **slots;
	size_t n = slot_job_runs(e, job, &runs, &slots);
	bool *remove = xcalloc(n ? n : 1, sizeof(*remove));
	int64_t next = occur_prune(spec != NULL, runs, n, engine_now_ms() / 1000, retention_s(e), remove);

	for (size_t i = 0; i < n; i++) {
		struct slot *s = slots[i];
		if (!remove[i] || s->busy || s->in_group)
			continue;
		if (!spec)
			engine_log_run(LOG_INFO, EV_NONE, s->run, 0, 0,
				"job '%s': the record of run '%s' (%s) is removed: the job left the files and "
				"state_retention (%" PRId64 "s) has passed", s->run->job, s->run->call_name,
				run_state_name(s->run->state), retention_s(e));
		slot_remove_record(e, s);
	}
	free(remove);
	free(runs);
	free(slots);
	return next;
}

/* Prune every job; arm the next pass at the earliest expiry. */
static void prune_all(struct engine *e)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < e->n_slots; i++) {
		if (i > 0 && strcmp(e->slots[i]->run->job, e->slots[i - 1]->run->job) == 0)
			continue;
		int64_t t = reconcile_prune_job(e, e->slots[i]->run->job);
		if (t < next)
			next = t;
	}
	if (next != INT64_MAX)
		prune_arm(e, next);
}

void reconcile_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	prune_all(e);
	engine_settle(e);
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
	e->stats.started_unix = engine_now_ms() / 1000;

	r = store_file_open(conf->state_dir, &e->store, cause);
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
	e->poll_ev = event_new(base, -1, 0, scan_poll_cb, e);
	e->status_ev = event_new(base, -1, 0, status_cb, e);
	e->flush_ev = event_new(base, -1, 0, carry_flush_cb, e);
	e->compact_ev = event_new(base, -1, 0, carry_compact_cb, e);
	e->prune_ev = event_new(base, -1, 0, reconcile_prune_cb, e);

	lc.e = e;
	lc.now = engine_now_ms();
	r = store_load(e->store, load_run_cb, &lc, &info);
	if (r < 0) {
		*cause = xasprintf("cannot read the state folder '%s': %s", conf->state_dir, strerror(-r));
		goto fail;
	}
	slot_sort(e);
	slot_dedupe(e);
	e->journal_damaged = info.journal_damaged;
	/* Runs found only in a journal get their own files before anything
	 * else happens. */
	carry_compact_all(e);
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

static void log_note(const struct occur_note *x, const char *job)
{
	if (x->run)
		engine_log_run(x->priority, engine_log_event_of(x->event), x->run, 0, 0, "%s", x->msg);
	else
		engine_log_run(x->priority, engine_log_event_of(x->event),
			&(struct run){ .job = (char *)job, .start = x->start }, 0, 0, "%s", x->msg);
}

/* Give a job the runs it needs (occur_next): its single run, or the next
 * occurrence of a recurring job. */
void reconcile_ensure_next(struct engine *e, const struct jobspec *spec)
{
	struct occur_opts o = {
		.now_ms = engine_now_ms(),
		.suspect_due = e->starting && e->earlier_life,
		.settle_ms = e->started_ms + e->grace_ms,
		.starting = e->starting,
		.replan = INT64_MIN,
	};
	struct occur_out out = { 0 };
	const struct run **runs;
	size_t n = slot_job_runs(e, spec->name, &runs, NULL);

	for (size_t i = 0; i < e->n_replan; i++)
		if (strcmp(e->replan[i].job, spec->name) == 0 && (o.replan == INT64_MIN || e->replan[i].start < o.replan))
			o.replan = e->replan[i].start;
	occur_next(spec, runs, n, &o, &out);
	free(runs);
	for (size_t i = 0; i < out.n_notes; i++)
		log_note(&out.notes[i], spec->name);
	e->stats.missed += out.missed;
	for (size_t i = 0; i < out.n_add; i++) {
		struct slot *s = slot_insert(e, out.add[i], spec);
		out.add[i] = NULL;
		if (out.persist[i])
			carry_persist_new(e, s); /* a zone group: written at once */
		else
			slot_heap_place(e, s);
	}
	occur_out_clear(&out);
}

static int held_cmp(const void *a, const void *b)
{
	return strcmp(((const struct held_name *)a)->call_name, ((const struct held_name *)b)->call_name);
}

void reconcile_held_clear(struct engine *e)
{
	for (size_t i = 0; i < e->n_held; i++) {
		free(e->held[i].call_name);
		free(e->held[i].job);
		free(e->held[i].batch_id);
	}
	free(e->held);
	e->held = NULL;
	e->n_held = 0;
}

/* The call_names of submitted runs whose job left the files (check sees
 * only the files: a renamed job may render the same names). */
static void held_rebuild(struct engine *e)
{
	reconcile_held_clear(e);
	for (size_t i = 0; i < e->n_slots; i++) {
		const struct slot *s = e->slots[i];
		if (s->forgotten || s->spec || !run_submitted(s->run))
			continue;
		e->held = xrealloc(e->held, (e->n_held + 1) * sizeof(*e->held));
		e->held[e->n_held++] = (struct held_name){ .call_name = xstrdup(s->run->call_name),
							   .job = xstrdup(s->run->job),
							   .batch_id = xstrdup(s->run->batch_id) };
	}
	if (e->n_held > 1)
		qsort(e->held, e->n_held, sizeof(*e->held), held_cmp);
}

/* Why a submit of s must not be sent at all, or NULL. */
const char *reconcile_submit_refusal(struct engine *e, const struct slot *s, char *buf, size_t size)
{
	const struct run *r = s->run;
	struct held_name key = { .call_name = r->call_name }, *h;

	if (r->part && !r->rcpts) {
		snprintf(buf, size, "run '%s' is a part of its occurrence but its recipients are unknown", r->call_name);
		return buf;
	}
	h = e->n_held ? bsearch(&key, e->held, e->n_held, sizeof(*e->held), held_cmp) : NULL;
	if (h && strcmp(h->job, r->job) != 0) {
		snprintf(buf, size,
			 "the call_name '%s' was already used by job '%s' (batch %s), which left the files and whose "
			 "record is kept (state_retention): give this job another call_name", r->call_name, h->job,
			 h->batch_id ? h->batch_id : "unknown");
		return buf;
	}
	return NULL;
}

/* Delete a run that was never submitted, to be planned again. */
static void drop_planned(struct engine *e, struct slot *s, const char *why)
{
	e->replan = xrealloc(e->replan, (e->n_replan + 1) * sizeof(*e->replan));
	e->replan[e->n_replan++] = (struct replan){ .job = xstrdup(s->run->job), .start = s->run->start };
	engine_log_run(LOG_INFO, EV_SCHEDULED, s->run, 0, 0, "job '%s': %s run '%s' (never submitted) %s", s->run->job,
		run_state_name(s->run->state), s->run->call_name, why);
	slot_drop(e, s);
}

/* Bring the runs of one job in line with its definition (NULL: it left the
 * files). */
static void reconcile_job(struct engine *e, const char *job)
{
	const struct jobspec *spec = daemonconf_find(e->conf, job);
	size_t lo = slot_lower(e, job, INT64_MIN), hi = lo;

	while (slot_of_job(e, hi, job))
		hi++;
	for (size_t i = lo; i < hi; i++) {
		struct slot *s = e->slots[i];
		if (s->forgotten)
			continue;
		s->spec = spec;
		if (!spec && !run_state_final(s->run->state) && !s->run->removing)
			carry_reload_step(s, NULL, RE_REMOVED);
		else if (spec && (s->run->removing || s->run->state == RUN_REMOVED))
			carry_reload_step(s, NULL, RE_READDED);
	}
	if (!spec)
		return;
	{
		const struct run **runs;
		struct slot **slots;
		size_t n = slot_job_runs(e, job, &runs, &slots);
		struct occur_decision *d = xcalloc(n ? n : 1, sizeof(*d));

		occur_reconcile(spec, runs, n, d);
		for (size_t i = 0; i < n; i++) {
			switch (d[i].verdict) {
			case OCCUR_KEEP:
				break;
			case OCCUR_UPDATE:
				carry_reload_step(slots[i], run_update_spec, 0);
				break;
			case OCCUR_FOLLOW:
				carry_reload_step(slots[i], run_follow_enabled, 0);
				break;
			case OCCUR_DROP:
				drop_planned(e, slots[i], d[i].why);
				break;
			}
		}
		free(d);
		free(runs);
		free(slots);
	}
}

/* Bring the slots in line with e->conf, job by job: runs of jobs that left
 * the files are settled by on_removal and kept as records; jobs that came
 * back are followed again; changed jobs' runs are brought in line (a run
 * that was submitted, or may have been, is never moved, dropped or made
 * twice); every job gets its next run. */
void reconcile_apply_conf(struct engine *e)
{
	char **jobs = NULL;
	size_t n = 0;

	carry_group_flush(e); /* nothing deferred from before runs into the new definitions */
	for (size_t i = 0; i < e->n_slots; i++)
		if (i == 0 || strcmp(e->slots[i]->run->job, e->slots[i - 1]->run->job) != 0) {
			jobs = xrealloc(jobs, (n + 1) * sizeof(*jobs));
			jobs[n++] = xstrdup(e->slots[i]->run->job);
		}
	carry_group_begin(e);
	for (size_t i = 0; i < n; i++) {
		reconcile_job(e, jobs[i]);
		free(jobs[i]);
	}
	free(jobs);
	carry_group_end(e);
	slot_reap(e);
	held_rebuild(e);
	for (size_t i = 0; i < e->conf->n_jobs; i++)
		reconcile_ensure_next(e, &e->conf->jobs[i]);
	for (size_t i = 0; i < e->n_replan; i++)
		free(e->replan[i].job);
	free(e->replan);
	e->replan = NULL;
	e->n_replan = 0;
	prune_all(e);
}

int engine_start(struct engine *e)
{
	e->starting = true;
	e->started_ms = engine_now_ms();
	reconcile_apply_conf(e);
	e->starting = false;
	if (e->journal_damaged) {
		/* Some run's newest record is lost: any run whose time has
		 * come may have been submitted. Look each one up. */
		int64_t now = engine_now_ms();
		for (size_t i = 0; i < e->n_slots; i++) {
			struct run *r = e->slots[i]->run;
			if (r->state == RUN_SCHEDULED && e->slots[i]->spec &&
			    run_submit_at_ms(r, e->slots[i]->spec) <= now)
				run_suspect(r, now, 0);
		}
	}
	/* Announce runs loaded from state, and look at every run once now:
	 * uncertain submits are looked up, late ones submitted or missed. */
	carry_group_begin(e);
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		struct run_event ev = { .kind = RE_TIME, .retry_after_s = -1 };
		if (s->forgotten)
			continue;
		if (s->spec && s->run->state != RUN_SCHEDULED && s->run->state != RUN_DISABLED &&
		    !run_state_final(s->run->state))
			engine_log_run(LOG_INFO, EV_SCHEDULED, s->run, 0, 0,
				"job '%s': run of %" PRId64 " resumed in state %s", s->run->job, s->run->start,
				run_state_name(s->run->state));
		slot_heap_remove(e, s);
		s->skip = overlap_check(e, s, engine_now_ms());
		carry_step(s, &ev);
		s->skip = NULL;
	}
	carry_group_end(e);
	event_add(e->tfd_ev, NULL);
	engine_settle(e);
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

	int64_t t0 = engine_now_ms();

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
		e->stats.last_reload_unix = engine_now_ms() / 1000;
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
	reconcile_apply_conf(e);
	daemonconf_free(old);
	e->stats.reloads_ok++;
	e->stats.last_reload_unix = engine_now_ms() / 1000;
	e->stats.last_reload_ok = true;
	log_event(LOG_NOTICE, EV_RELOADED, NULL, "configuration reloaded: %zu jobs in %zu files, in %" PRId64 " ms",
		  nc->n_jobs, nc->n_files, engine_now_ms() - t0);
	engine_settle(e);
	e->last_status[0] = '\0';
	update_status(e);
	notify_ready();
	return 0;
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg);

static void stop_finish(struct engine *e)
{
	carry_group_flush(e);
	carry_compact_all(e);
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
	slot_heap_arm(e);
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
	if (e->prune_ev)
		event_free(e->prune_ev);
	if (e->tfd >= 0)
		close(e->tfd);
	api_free(e->api);
	http_free(e->http);
	scan_free(e->scan);
	for (size_t i = 0; i < e->n_slots; i++) {
		run_free(e->slots[i]->run);
		free(e->slots[i]->body);
		free(e->slots[i]);
	}
	free(e->slots);
	free(e->heap);
	free(e->group);
	reconcile_held_clear(e);
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
		carry_group_flush(e);
	ctx = carry_make_ctx(s);
	slot_heap_remove(e, s);
	prev = s->run->state;
	r = run_step(s->run, &ctx, &ev, &acts, why);
	carry_actions(s, &acts);
	if (s->run->state != prev)
		carry_note_state_change(e, s, prev);
	engine_settle(e);
	return r;
}

const struct stats *engine_get_stats(const struct engine *e)
{
	return &e->stats;
}
