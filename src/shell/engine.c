/*
 * engine: the event loop that carries out what the run state machine
 * decides. See engine.h; the engine's parts and what they share are in
 * engine_int.h.
 *
 * Shape: every run lives in a slot (slot.c); slots with a due instant sit in
 * a min-heap; one timerfd (CLOCK_REALTIME, absolute) is armed at the heap's
 * top. Active batches and uncertain submits are served by one shared scan of
 * the workspace list (scan.c, newest first), so N active batches cost about
 * N/100 requests per poll. Everything the machine asks for is done in order
 * (carry.c); a persist that fails stops the actions after it. The runs are
 * brought in line with the configuration by reconcile.c.
 *
 * This file: creating, starting, reloading, stopping and freeing the engine,
 * operator requests and read-only access; the timer and the overlap policy
 * it applies; engine_settle(), the end of every callback; the systemd STATUS=
 * line; the clock, randomness and run logging that every part uses.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cfg.h"
#include "engine.h"
#include "engine_int.h"
#include "report.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "occur.h"
#include "run.h"
#include "store.h"
#include "tz.h"
#include "util.h"

#define STOP_GRACE_S 10

int64_t engine_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t engine_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Jitter, not secrets: splitmix64 over a seed from getrandom, so that each
 * step of a run (which asks for one) costs no system call. */
uint64_t engine_rnd64(void)
{
	static uint64_t state;
	static bool seeded;
	uint64_t z;

	if (!seeded) {
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != sizeof(state))
			state = (uint64_t)engine_now_ms() ^ (uint64_t)engine_mono_us() << 20;
		seeded = true;
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int engine_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	case JE_DUPLICATE: return EV_DUPLICATE; /* the run goes on: not a refused run */
	case JE_PAUSED: return EV_PAUSED;
	case JE_SUPPRESSED: return EV_SUPPRESSED;
	case JE_CONTACT_LIMIT: return EV_CONTACT_LIMIT;
	default: return EV_INTERNAL; /* not a job event: a bug */
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

bool engine_due_soon(const struct engine *e, int64_t now, int64_t margin_ms)
{
	/* (a submit stepped ahead and held to its instant is due too) */
	int64_t held = http_held_until_us(e->http) / 1000;

	if (held > 0 && held - now < margin_ms)
		return true;
	return e->n_heap > 0 && e->heap[0]->run->due_ms - now < margin_ms && e->heap[0]->run->due_ms + 1000 > now;
}

/* --- the timer --------------------------------------------------------------- */

/* Ask engine_settle() for job's next run and a prune of its ended ones. */
void engine_want_next(struct engine *e, const char *job)
{
	xgrow((void **)&e->pending_jobs, &e->cap_pending_jobs, e->n_pending_jobs + 1, sizeof(*e->pending_jobs));
	e->pending_jobs[e->n_pending_jobs++] = xstrdup(job);
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

/* A recurring job's occurrence is due while an earlier run of the job may
 * still be at work: carry out the job's overlap policy (occur_overlap).
 * Returns why the new run must not be submitted, or NULL. */
static const char *overlap_check(struct engine *e, struct slot *s, int64_t now)
{
	const struct jobspec *spec = s->spec;
	struct slot **of;
	const struct run **runs;
	bool *cancel;
	size_t n = 0;
	const char *why;

	if (!spec || !spec->repeat)
		return NULL;
	for (size_t i = slot_lower(e, spec->name, INT64_MIN); slot_of_job(e, i, spec->name); i++)
		n++;
	of = xcalloc(n + 1, sizeof(*of));
	runs = xcalloc(n + 1, sizeof(*runs));
	cancel = xcalloc(n + 1, sizeof(*cancel));
	n = 0;
	for (size_t i = slot_lower(e, spec->name, INT64_MIN); slot_of_job(e, i, spec->name); i++) {
		if (e->slots[i]->forgotten)
			continue;
		of[n] = e->slots[i];
		runs[n++] = e->slots[i]->run;
	}
	why = occur_overlap(spec, s->run, runs, n, now, cancel);
	for (size_t i = 0; i < n; i++) {
		struct slot *o = of[i];
		if (!cancel[i])
			continue;
		engine_log_run(LOG_NOTICE, EV_CANCELLED, o->run, 0, 0,
			"job '%s': the next occurrence is due; cancelling the previous run (overlap = cancel_previous)",
			spec->name);
		slot_heap_remove(e, o);
		carry_step(o, &(struct run_event){ .kind = RE_CANCEL_REQ, .retry_after_s = -1 });
	}
	free(of);
	free(runs);
	free(cancel);
	return why;
}

/* The API's clock went more than a minute from ours, or came back. */
static void api_clock_changed_cb(enum api_clock_change change, const struct api_clock *c, void *arg)
{
	double off = (double)c->offset_ms / 1000.0;

	(void)arg;
	if (change == API_CLOCK_OFF)
		log_event(LOG_WARNING, EV_API_CLOCK, NULL,
			  "the API's clock is %.1f s %s this host's (from its answers, +-%.1f s): check this host's "
			  "time synchronisation; lookups of uncertain submits now reach %" PRId64 " s further back",
			  off < 0 ? -off : off, off < 0 ? "behind" : "ahead of", (double)c->error_ms / 1000.0,
			  api_clock_lag_s(c));
	else
		log_event(LOG_INFO, EV_API_CLOCK, NULL,
			  "the API's clock agrees with this host's again (%+.1f s, +-%.1f s)", off,
			  (double)c->error_ms / 1000.0);
}

/* A run that timer_cb may step RUN_LEAD_MS ahead of its instant: one
 * whose step then is its first submit (slot_heap_arm wakes for it early).
 * Not under contact limits: the ledger is judged, and its contacts
 * recorded, as of the moment of the step (carry_contacts), and a number
 * whose gap ends at the instant would be over the limits 100 ms before. */
bool engine_steps_early(const struct slot *s)
{
	const struct run *r = s->run;

	/* Nor a job whose overlap policy cancels the previous batch (that
	 * cancel would leave ahead of the instant), nor a run whose due time
	 * is not its submit instant (after a failed state write: the request
	 * is held to the latter). */
	return r->state == RUN_SCHEDULED && r->submit_attempts == 0 && !s->forgotten && !s->e->conf->limits &&
	       s->spec && !(s->spec->repeat && s->spec->overlap == OVERLAP_CANCEL_PREVIOUS) &&
	       r->due_ms == run_submit_at_ms(r, s->spec);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t ticks;
	int64_t now = engine_now_ms();
	size_t head = 0;

	(void)what;
	/* ECANCELED after a clock step; EAGAIN when nothing expired. Either
	 * way: look at the heap again. */
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN && errno != ECANCELED)
		log_event(LOG_WARNING, EV_INTERNAL, NULL, "timer read failed: %s", strerror(errno));
	/* The submits held to an instant that has come leave now. */
	http_release(e->http);
	if (now < e->paused_until_ms || e->stopping) {
		slot_heap_arm(e);
		return;
	}
	e->fired_us = engine_mono_us();
	carry_group_begin(e);
	while (e->n_heap > 0) {
		struct slot *s = e->heap[0];
		struct run_event ev = { .kind = RE_TIME, .retry_after_s = -1 };
		int64_t at = s->run->due_ms, step_now = now;

		if (at > now) {
			/* A first submit due within RUN_LEAD_MS: its intent
			 * is made durable now, its request held to its instant
			 * (carry_actions); the runs due at that instant share
			 * the write. */
			if (at - now > RUN_LEAD_MS || !engine_steps_early(s))
				break;
			step_now = at;
			e->early_slot = s;
			e->early_at_ms = at;
		} else if (head == 0 && e->early_slot == NULL) {
			head = http_free_slots(e->http);
		}
		slot_heap_remove(e, s);
		s->skip = overlap_check(e, s, step_now);
		carry_step(s, &ev);
		s->skip = NULL;
		e->early_slot = NULL;
		e->early_at_ms = 0;
		/* A step that left the run due again would spin: wait. */
		if (s->hidx != SIZE_MAX && s->run->due_ms <= step_now) {
			run_postpone(s->run, step_now + 1000);
			slot_heap_place(e, s);
		}
		/* Runs come due now that were not stepped ahead (the daemon
		 * started or was paused meanwhile): the head of the burst
		 * goes ahead. Once as many runs as there are free connection
		 * slots have their intents, those are made durable and sent,
		 * and the rest of the burst is stepped while they are
		 * answered; the rest share the group's one write at the end. */
		if (head > 0 && e->n_group >= head && e->n_heap > 0 && e->heap[0]->run->due_ms <= now) {
			carry_group_flush(e);
			head = SIZE_MAX;
		}
	}
	carry_group_end(e);
	e->fired_us = 0;
	engine_settle(e);
}

/* --- status for systemd ------------------------------------------------------ */

/* The systemd STATUS= line is refreshed at most once a second, and only
 * after something changed. */
void engine_status_touch(struct engine *e)
{
	struct timeval tv = { .tv_sec = 1 };

	if (!event_pending(e->status_ev, EV_TIMEOUT, NULL))
		event_add(e->status_ev, &tv);
}

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

int engine_new(struct event_base *base, const char *config_path, struct daemonconf *conf,
	       const char *api_key, struct engine **ret, char **cause)
{
	return engine_new_shared(base, config_path, conf, api_key, NULL, ret, cause);
}

void engine_set_fence(struct engine *e, bool (*fence)(void *arg), void *arg)
{
	http_set_fence(e->http, fence, arg);
	e->fenced = fence != NULL;
}

int engine_new_shared(struct event_base *base, const char *config_path, struct daemonconf *conf,
		      const char *api_key, const struct engine_shared *shared, struct engine **ret, char **cause)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct http_options ho = { 0 };
	struct store_load_info info;
	int r;

	e->base = base;
	e->config_path = xstrdup(config_path);
	e->conf = conf;
	e->api_key = xstrdup(api_key);
	e->tfd = -1;
	e->lock_fd = -1;
	e->grace_ms = 2 * (int64_t)conf->api.request_timeout * 1000 + 2000;
	e->stats.last_reload_ok = true;
	e->stats.started_unix = engine_now_ms() / 1000;

	e->shared = shared;
	if (shared) {
		/* the state folder holds the rest: one daemon on it */
		r = file_lock_dir(conf->state_dir, &e->lock_fd, cause);
		if (r == 0)
			r = store_etcd_open(shared->etcd, shared->prefix, shared->fence_key, shared->fence_rev,
					    shared->fenced, shared->arg, &e->store, cause);
	} else
		r = store_file_open(conf->state_dir, &e->store, cause);
	if (r < 0)
		goto fail;
	/* Under the state folder's lock: only this daemon appends to it. */
	{
		bool cut = false;
		if (shared)
			r = suppress_store_open_etcd(shared, &e->own, &e->own_store, cause);
		else
			r = suppress_store_open(conf->state_dir, &e->own, &e->own_store, &cut, cause);
		if (r < 0)
			goto fail;
		if (cut)
			log_event(LOG_WARNING, EV_SUPPRESSED, NULL,
				  "the do-not-call list '%s' ended in a line cut short (an addition that was never "
				  "answered); that line was removed", suppress_store_path(e->own_store));
		e->stats.suppress_entries_own = suppress_size(&e->own);
		e->stats.suppress_entries_files = suppress_size(conf->suppress);
	}
	e->ledger_dir = xstrdup(conf->state_dir);
	r = engine_ledger_open(e, cause);
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
	api_set_clock(e->api, &e->stats.api_clock, api_clock_changed_cb, e);
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
	e->touch_ev = event_new(base, -1, 0, reconcile_touch_cb, e);

	r = reconcile_load(e, &info);
	if (r < 0) {
		*cause = xasprintf("cannot read the state folder '%s': %s", conf->state_dir, strerror(-r));
		goto fail;
	}
	slot_sort(e);
	slot_dedupe(e);
	reconcile_lost(e);
	e->journal_damaged = info.journal_damaged;
	if (info.torn > 0)
		log_event(LOG_NOTICE, EV_STATE_ERROR, NULL,
			  "%zu journal line(s) in '%s/runs' were cut short by a crash before they were acknowledged; "
			  "skipped (the runs keep their records before them)",
			  info.torn, conf->state_dir);
	r = report_load(e);
	if (r < 0)
		log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "cannot read the conversations kept in '%s/conversations': %s",
			  conf->state_dir, strerror(-r));
	/* Runs found only in a journal get their own files before anything
	 * else happens. */
	carry_compact_all(e);
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

/* born_ms: when the process began (before its configuration was read):
 * runs that came due after it are this daemon's own. */
/* A list of `suppression` with no numbers is taken as empty, and said:
 * an export that failed half way looks just like it. */
static void warn_empty_lists(const struct daemonconf *c)
{
	for (size_t i = 0; i < c->n_suppression; i++)
		if (suppress_source_size(c->suppress, c->suppression[i]) == 0)
			log_event(LOG_WARNING, EV_SUPPRESSED, NULL,
				  "the do-not-call list '%s' has no numbers: nobody is kept from calls by it",
				  c->suppression[i]);
}

int engine_start(struct engine *e, int64_t born_ms)
{
	e->starting = true;
	e->started_ms = engine_now_ms();
	e->born_ms = born_ms;
	reconcile_apply_conf(e);
	reconcile_follow_ups(e);
	e->starting = false;
	if (e->journal_damaged) {
		int64_t now = engine_now_ms();
		for (size_t i = 0; i < e->n_slots; i++)
			if (e->slots[i]->spec)
				occur_suspect_damaged(e->slots[i]->run, e->slots[i]->spec, now);
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
	/* The start entry before READY=1: the manager's "Started" entry
	 * follows it in the journal (logged after READY=1, it came second
	 * on a loaded machine: the container test) */
	warn_empty_lists(e->conf);
	log_event(LOG_NOTICE, EV_DAEMON_STARTED, NULL,
		  "batchcalld %s started: %zu jobs in %zu files, %zu numbers on do-not-call lists, state in '%s'",
		  PACKAGE_VERSION, e->conf->n_jobs, e->conf->n_files,
		  suppress_size(e->conf->suppress) + suppress_size(&e->own), e->conf->state_dir);
	notify_ready();
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

	struct cfg_lists lists = { 0 };

	notify_reloading();
	if (cfg_load_ex(e->config_path, &nc, &d, &lists) < 0) {
		for (size_t i = 0; i < d.n; i++) {
			char *line = diag_format(&d, i);
			log_event(LOG_ERR, EV_CONFIG_ERROR, NULL, "%s", line);
			free(line);
		}
		log_event(LOG_ERR, EV_RELOAD_FAILED, NULL,
			  "reload refused: %zu error%s in the configuration; the previous one stays in force%s", d.n,
			  d.n == 1 ? "" : "s",
			  lists.set ? ", but for the do-not-call lists, which are read without an error and are taken"
				    : ", the do-not-call lists too");
		if (lists.set) {
			/* An opt-out added to a list is not held back by
			 * someone else's broken job file. */
			struct daemonconf *c = e->conf;
			for (size_t i = 0; i < c->n_suppression; i++)
				free(c->suppression[i]);
			free(c->suppression);
			suppress_clear(c->suppress);
			free(c->suppress);
			c->suppress = lists.set;
			c->suppression = lists.files;
			c->n_suppression = lists.n_files;
			e->stats.suppress_entries_files = suppress_size(c->suppress);
			warn_empty_lists(c);
			log_event(LOG_NOTICE, EV_SUPPRESSED, NULL,
				  "do-not-call lists re-read: %zu numbers in %zu files, in force from now on",
				  suppress_size(c->suppress), c->n_suppression);
		}
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
		log_event(LOG_WARNING, EV_RESTART_NEEDED, NULL, "changes to api.base_url and state_dir take effect at the next start");
	{
		const char *was = e->conf->webhook_listen ? e->conf->webhook_listen : "";
		const char *now = nc->webhook_listen ? nc->webhook_listen : "";
		if (strcmp(was, now) != 0)
			log_event(LOG_WARNING, EV_RESTART_NEEDED, NULL,
				  "a change to webhook_listen ('%s', was '%s') takes effect at the next start; until "
				  "then the receiver %s",
				  now, was, e->hook_on ? "stays on the old address" : "stays off");
	}
	old = e->conf;
	e->conf = nc;
	reconcile_apply_conf(e);
	report_note_reload(e, old);
	daemonconf_free(old);
	e->stats.suppress_entries_files = suppress_size(nc->suppress);
	warn_empty_lists(nc);
	{
		char *cause = NULL;
		if (engine_ledger_open(e, &cause) < 0) {
			/* (the limits cannot be kept without their ledger:
			 * nothing is submitted until a reload that can) */
			log_event(LOG_ERR, EV_STATE_ERROR, NULL, "%s; no submit or retry is sent until it can be read "
				  "(tried again at each)", cause);
			e->ledger_broken = true;
			free(cause);
		}
	}
	e->stats.reloads_ok++;
	e->stats.last_reload_unix = engine_now_ms() / 1000;
	e->stats.last_reload_ok = true;
	log_event(LOG_NOTICE, EV_RELOADED, NULL,
		  "configuration reloaded: %zu jobs in %zu files, %zu numbers on do-not-call lists, in %" PRId64 " ms",
		  nc->n_jobs, nc->n_files, suppress_size(nc->suppress) + suppress_size(&e->own), engine_now_ms() - t0);
	engine_settle(e);
	e->last_status[0] = '\0';
	update_status(e);
	notify_ready();
	return 0;
}

/* --- the contact ledger ---------------------------------------------------- */

int engine_ledger_open(struct engine *e, char **cause)
{
	const struct contact_limits *lim = e->conf->limits;
	size_t dropped = 0;
	bool cut = false;
	int r;

	if (!lim)
		return 0;
	if (!e->ledger_dir) /* (set at the start: state_dir changes at the next start only) */
		e->ledger_dir = xstrdup(e->conf->state_dir);
	/* A reload keeps what the longest span in force so far can count:
	 * a shorter window (or a typo, "7" for seven seconds) does not
	 * delete history that reverting the file could not bring back. */
	if (ledger_horizon(lim) > e->ledger_horizon)
		e->ledger_horizon = ledger_horizon(lim);
	if (!e->ledger_store) {
		int64_t t0 = engine_now_ms();
		if (e->shared)
			r = ledger_store_open_etcd(e->shared, e->ledger_horizon, t0 / 1000, &e->ledger, &e->ledger_store,
						   &dropped, cause);
		else
			r = ledger_store_open(e->ledger_dir, e->ledger_horizon, t0 / 1000, &e->ledger, &e->ledger_store,
					      &dropped, &cut, cause);
		if (r < 0)
			return r;
		if (cut)
			log_event(LOG_WARNING, EV_CONTACT_LIMIT, NULL,
				  "the contact ledger '%s' ended in a line cut short (contacts of an intent never "
				  "recorded, whose requests were never sent); that line was removed",
				  ledger_store_path(e->ledger_store));
		log_event(LOG_INFO, EV_CONTACT_LIMIT, NULL,
			  "contact ledger '%s': %zu contacts within the last %" PRId64 " s, %zu older ones dropped, in %"
			  PRId64 " ms", ledger_store_path(e->ledger_store), ledger_size(&e->ledger), e->ledger_horizon,
			  dropped, engine_now_ms() - t0);
	} else {
		engine_ledger_compact(e);
	}
	e->stats.ledger_entries = ledger_size(&e->ledger);
	return 0;
}

void engine_ledger_compact(struct engine *e)
{
	int64_t t0 = engine_now_ms();
	long n;

	if (!e->ledger_store)
		return;
	n = ledger_store_compact(e->ledger_store, &e->ledger, t0 / 1000, t0 / 1000 - e->ledger_horizon);
	if (n < 0)
		log_event(LOG_WARNING, EV_STATE_ERROR, NULL, "cannot compact the contact ledger '%s': %s",
			  ledger_store_path(e->ledger_store), strerror((int)-n));
	else
		log_event(LOG_INFO, EV_CONTACT_LIMIT, NULL,
			  "contact ledger '%s' compacted: %zu contacts kept, %ld older ones dropped, in %" PRId64 " ms",
			  ledger_store_path(e->ledger_store), ledger_size(&e->ledger), n, engine_now_ms() - t0);
	e->stats.ledger_entries = ledger_size(&e->ledger);
}

/* --- the daemon's own do-not-call list ---------------------------------------- */

int engine_suppress(struct engine *e, const char *target, const char *reason, const struct log_peer *peer,
		    char *normal, const char **why)
{
	struct log_fields f = { .peer = peer };
	char masked[SUPPRESS_NORMAL_MAX], who[80] = "";
	uint32_t line = 0;
	int rc;

	char shown[SUPPRESS_STORE_REASON_MAX + 1] = "";
	bool replaced;
	char *cause = NULL;

	if (suppress_normalize(target, strlen(target), false, normal, why) < 0)
		return -EINVAL;
	/* The file it goes to first: an addition answered into a file that
	 * was replaced meanwhile would be gone at the next start. */
	rc = suppress_store_follow(e->own_store, &e->own, &replaced, &cause);
	if (replaced && rc < 0)
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "the do-not-call list '%s' was replaced or removed while the daemon ran: %s",
			  suppress_store_path(e->own_store), cause);
	else if (replaced)
		log_event(LOG_WARNING, EV_SUPPRESSED, NULL,
			  "the do-not-call list '%s' was replaced or removed while the daemon ran; the file there "
			  "now is read and written to (numbers that left it stay in force until the next start)",
			  suppress_store_path(e->own_store));
	free(cause);
	e->stats.suppress_entries_own = suppress_size(&e->own);
	if (rc < 0) {
		*why = "the do-not-call list in the state folder cannot be read or written";
		return rc;
	}
	if (suppress_find_key(&e->own, normal, NULL))
		return 1;
	rc = suppress_store_append(e->own_store, normal, engine_now_ms() / 1000, peer ? peer->uid : 0, reason,
				   &line);
	if (rc < 0) {
		*why = "the do-not-call list in the state folder cannot be written";
		log_event(LOG_ERR, EV_STATE_ERROR, NULL, "cannot add to the do-not-call list '%s': %s; not added",
			  suppress_store_path(e->own_store), strerror(-rc));
		return rc;
	}
	suppress_add(&e->own, normal, suppress_source(&e->own, suppress_store_path(e->own_store)), line);
	e->stats.suppress_entries_own = suppress_size(&e->own);
	suppress_mask(normal, masked, sizeof(masked));
	f.recipient = masked;
	if (peer)
		snprintf(who, sizeof(who), " (uid %" PRIu32 ", gid %" PRIu32 ", pid %" PRId32 ")", peer->uid, peer->gid,
			 peer->pid);
	/* (the reason as logged: a number written into it masked too; the
	 * file keeps it whole) */
	if (reason)
		suppress_mask_text(reason, strnlen(reason, SUPPRESS_STORE_REASON_MAX), false, shown, sizeof(shown));
	log_event(LOG_NOTICE, EV_SUPPRESSED, &f, "operator request%s: %s added to the do-not-call list '%s' (line %u)%s%s",
		  who, masked, suppress_store_path(e->own_store), (unsigned)line, *shown ? ": " : "", shown);
	return 0;
}

/* --- stopping and freeing -------------------------------------------------- */

static void stop_check_cb(evutil_socket_t fd, short what, void *arg);

static void stop_finish(struct engine *e)
{
	carry_group_flush(e);
	report_flush(e);
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
		log_event(LOG_WARNING, EV_STOP_ABANDONED, NULL, "stopping without the answers to %zu requests; their runs are looked up "
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
	if (e->touch_ev)
		event_free(e->touch_ev);
	if (e->tfd >= 0)
		close(e->tfd);
	suppress_store_close(e->own_store);
	suppress_clear(&e->own);
	ledger_store_close(e->ledger_store);
	ledger_clear(&e->ledger);
	free(e->ledger_dir);
	api_free(e->api);
	http_free(e->http);
	scan_free(e->scan);
	report_free(e->report);
	for (size_t i = 0; i < e->n_slots; i++) {
		run_free(e->slots[i]->run);
		free(e->slots[i]->body);
		free(e->slots[i]->rest);
		carry_drop_body_keys(e->slots[i]);
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
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	daemonconf_free(e->conf);
	if (e->api_key) {
		explicit_bzero(e->api_key, strlen(e->api_key));
		free(e->api_key);
	}
	free(e->config_path);
	free(e);
}

/* --- access and operator requests ------------------------------------------ */

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

void engine_touch_next(struct engine *e, const char *job, int64_t start, int *ret_touch, int64_t *ret_due)
{
	const struct jobspec *spec = daemonconf_find(e->conf, job);
	const struct run **runs;
	size_t n;

	*ret_touch = 0;
	*ret_due = 0;
	if (!spec || spec->n_touches == 0)
		return;
	n = slot_job_runs(e, job, &runs, NULL);
	(void)occur_touch_next(spec, runs, n, start, ret_touch, ret_due);
	free(runs);
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
