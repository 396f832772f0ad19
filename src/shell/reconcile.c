/*
 * reconcile: the engine's runs against the configuration and the state
 * folder. Loading the folder into slots (a damaged record becomes an
 * uncertain run, looked up through the API); bringing each job's runs in line
 * with its definition at the start and at every reload; giving every job its
 * next run; the call_names that runs of jobs that left the files still hold;
 * pruning records past their use. What to do is decided by the pure
 * occurrence planning (occur.c); this file carries it out on the slots.
 */
#include "config.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "jobspec.h"
#include "log.h"
#include "report.h"
#include "occur.h"
#include "run.h"
#include "store.h"
#include "util.h"

/* A call_name that a run of a job no longer in the files was submitted
 * with: no other run may be submitted with it while the record is kept. */
struct held_name {
	char *call_name;
	char *job;
	char *batch_id;
};

/* An occurrence this (re)load dropped, to be planned again. */
struct replan {
	char *job;
	int64_t start;
};

/* --- loading the state folder ---------------------------------------------- */

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

/* The runs of the state folder, one slot each; a damaged record becomes an
 * uncertain run (load_damaged). 0, or a negative errno. */
int reconcile_load(struct engine *e, struct store_load_info *ret_info)
{
	struct load_ctx lc = { .e = e, .now = engine_now_ms() };

	return store_load(e->store, load_run_cb, &lc, ret_info);
}

/* A "resume N" or "deferred N" run rebuilt from a damaged record began with
 * its parent's retries (the same budget) and, for a resume, its parent's
 * last call as its first contact: both are taken from the run it was made
 * from (occur_lost_parent). When that run's record still hands recipients
 * on, they are this run's: looked up, it is submitted with them if its
 * batch is not found, and the hand-on is not made again under a new name
 * (a second call). Rebuilt with nothing, it would retry max_retries times
 * more than the job allows. */
void reconcile_lost(struct engine *e)
{
	for (size_t i = 0; i < e->n_slots; i++) {
		struct run *r = e->slots[i]->run;
		const struct run **runs, *p;
		bool hands_on;
		size_t n;

		if (!r->rebuilt || !r->part || !e->slots[i]->spec)
			continue;
		n = slot_job_runs(e, r->job, &runs, NULL);
		p = occur_lost_parent(r, runs, n, &hands_on);
		if (p) {
			run_rebuilt_from(r, p, hands_on);
			if (hands_on)
				engine_log_run(LOG_INFO, EV_SCHEDULED, r, 0, 0,
					       "job '%s': run '%s' takes its retries (%d) and its %zu recipients from run "
					       "'%s', which handed them on", r->job, r->call_name, p->retries, r->n_rcpts,
					       p->call_name);
			else
				engine_log_run(LOG_INFO, EV_SCHEDULED, r, 0, 0,
					       "job '%s': run '%s' takes its retries (%d) from run '%s'", r->job,
					       r->call_name, p->retries, p->call_name);
		}
		free(runs);
	}
}

/* --- pruning records ------------------------------------------------------- */

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
	int64_t next = occur_prune(spec, runs, n, engine_now_ms() / 1000, retention_s(e), remove);

	/* An occurrence goes whole: while one of its runs is being written
	 * or waits for an answer (a touch just made), none of them goes,
	 * so that no occurrence is left with some of its parts (its results
	 * files are named by its whole run). */
	for (size_t i = 0; i < n; i++) {
		if (!remove[i] || !(slots[i]->busy || slots[i]->in_group))
			continue;
		for (size_t k = 0; k < n; k++)
			if (runs[k]->start == runs[i]->start)
				remove[k] = false;
	}
	for (size_t i = 0; i < n; i++) {
		struct slot *s = slots[i];
		if (!remove[i])
			continue;
		if (!spec)
			engine_log_run(LOG_INFO, EV_RECORD_REMOVED, s->run, 0, 0,
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

/* --- the next run of each job ---------------------------------------------- */

static void log_note(const struct occur_note *x, const char *job)
{
	if (x->run)
		engine_log_run(x->priority, engine_log_event_of(x->event), x->run, 0, 0, "%s", x->msg);
	else
		engine_log_run(x->priority, engine_log_event_of(x->event),
			&(struct run){ .job = (char *)job, .start = x->start }, 0, 0, "%s", x->msg);
}

void reconcile_follow_ups(struct engine *e)
{
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = e->slots[i];
		const struct run *r = s->run;
		bool made = false;

		if (s->forgotten || !s->spec || r->follow == FOLLOW_NONE || r->n_unfinished == 0)
			continue;
		for (size_t k = 0; k < e->n_slots && !made; k++) {
			const struct run *o = e->slots[k]->run;
			made = o != r && o->start == r->start && strcmp(o->job, r->job) == 0 && run_is_follow_up(o) &&
			       occur_same_keys(o->rcpts, o->n_rcpts, r->unfinished, r->n_unfinished);
		}
		if (made) {
			run_follow_made(s->run);
			carry_persist_new(e, s);
			continue;
		}
		engine_log_run(LOG_NOTICE, EV_SCHEDULED, r, 0, 0,
			"job '%s': run '%s' handed %zu recipients on before the last stop, but their run has no "
			"record: made now", r->job, r->call_name, r->n_unfinished);
		carry_follow_up(e, s);
	}
}

/* How long past its due time a touch that selects by call_successful or
 * data waits for the previous touch's conversations to be final: the
 * polls of a daemon with a webhook receiver begin 10 minutes after a
 * batch ended. */
#define TOUCH_ANALYSIS_WAIT_MS (15 * 60 * 1000)

/* Arm the touch timer for at_ms, unless it fires sooner already. */
static void touch_arm(struct engine *e, int64_t at_ms)
{
	int64_t now = engine_now_ms(), d;
	struct timeval tv;

	if (e->touch_at_ms > 0 && e->touch_at_ms <= at_ms && e->touch_at_ms >= now)
		return;
	d = at_ms > now ? at_ms - now : 0;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	event_del(e->touch_ev);
	event_add(e->touch_ev, &tv);
	e->touch_at_ms = at_ms;
}

void reconcile_touch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	e->touch_at_ms = 0;
	for (size_t i = 0; i < e->conf->n_jobs; i++)
		if (e->conf->jobs[i].n_touches > 0)
			engine_want_next(e, e->conf->jobs[i].name);
	engine_settle(e);
}

/* The follow-up touches of a job's occurrences (follow_up): a touch whose
 * time came is made from the results of the touch before it; the timer
 * is armed for the next one. */
static void ensure_touches(struct engine *e, const struct jobspec *spec)
{
	const struct run **runs;
	size_t n = slot_job_runs(e, spec->name, &runs, NULL);
	int64_t now = engine_now_ms();

	for (size_t i = 0; i < n; i++) {
		struct occur_out out = { 0 };
		int64_t start = runs[i]->start, due;
		int touch;
		char **keys = NULL;
		size_t nk = 0;
		int rc;

		if (i > 0 && runs[i - 1]->start == start)
			continue;
		if (occur_touch_next(spec, runs, n, start, &touch, &due) != OCCUR_TOUCH_DUE)
			continue;
		if (due * 1000 > now) {
			touch_arm(e, due * 1000);
			continue;
		}
		/* A touch that judges by the conversations waits for their
		 * analysis (the webhooks, else the polls), for a while */
		rc = report_touch_select(e, spec->name, start, touch - 1, &spec->touches[touch - 1],
					 now < due * 1000 + TOUCH_ANALYSIS_WAIT_MS, &keys, &nk);
		if (rc < 0) {
			/* the previous touch's rows are being read again, or
			 * its conversations analysed */
			touch_arm(e, now + 2000);
			continue;
		}
		/* It may have been made, and sent, by an earlier life whose
		 * record of it is gone: when the touch before it was rebuilt
		 * from the API, or when it came due before this daemon began
		 * (its record deleted); then it is looked up first. */
		occur_touch_make(spec, start, touch, (const char *const *)keys, nk, due, now,
				 occur_touch_suspect(runs, n, start, touch) || due * 1000 <= e->born_ms,
				 e->started_ms + e->grace_ms, &out);
		for (size_t k = 0; k < nk; k++)
			free(keys[k]);
		free(keys);
		for (size_t k = 0; k < out.n_notes; k++)
			log_note(&out.notes[k], spec->name);
		for (size_t k = 0; k < out.n_add; k++) {
			struct slot *s = slot_insert(e, out.add[k], spec);
			out.add[k] = NULL;
			carry_persist_new(e, s);
		}
		/* (the new runs are of this occurrence, whose next touch
		 * waits for them: runs need not be read again) */
		occur_out_clear(&out);
	}
	free(runs);
}

/* Give a job the runs it needs (occur_next): its single run, or the next
 * occurrence of a recurring job. */
void reconcile_ensure_next(struct engine *e, const struct jobspec *spec)
{
	struct occur_opts o = {
		.now_ms = engine_now_ms(),
		/* The runs that came due while no daemon ran are looked up,
		 * even on an empty state folder and for a job a reload brings
		 * back: a purged package or a wiped folder forgot batches the
		 * API still has, and a submit the last stop gave up on may
		 * still be creating one, so nothing found is conclusive only
		 * after the grace period. */
		.suspect_due = true,
		.settle_ms = e->started_ms + e->grace_ms,
		.born_ms = e->born_ms,
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
		/* A run that is looked up first never leaves "scheduled", the
		 * change that asks for a recurring job's next run: ask now. */
		if (spec->repeat && s->run->state != RUN_SCHEDULED && s->run->state != RUN_DISABLED)
			engine_want_next(e, spec->name);
		if (out.persist[i])
			carry_persist_new(e, s); /* a zone group: written at once */
		else
			slot_heap_place(e, s);
	}
	occur_out_clear(&out);
	if (spec->n_touches > 0)
		ensure_touches(e, spec);
}

/* --- call_names held by jobs that left the files --------------------------- */

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
	struct held_name key = { .call_name = s->run->call_name }, *h;

	h = e->n_held ? bsearch(&key, e->held, e->n_held, sizeof(*e->held), held_cmp) : NULL;
	return run_submit_refusal(s->run, h ? h->job : NULL, h ? h->batch_id : NULL, buf, size);
}

/* --- the runs against the configuration ------------------------------------ */

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
