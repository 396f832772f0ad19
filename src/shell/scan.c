/*
 * scan: the shared scan of the workspace list (newest first). It serves both
 * polls of active batches and lookups of uncertain submits, so N active
 * batches cost about N/100 requests per poll. One scan runs at a time; slots
 * that want one meanwhile wait for the next. A lookup adopts a batch only
 * when it agrees with the run's intent and no other run holds it; active
 * batches the list did not show are asked for one by one.
 */
#include "config.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "backoff.h"
#include "codec.h"
#include "engine_int.h"
#include "log.h"
#include "run.h"
#include "tz.h"
#include "util.h"

#define LIST_PAGE_LIMIT 100
/* A page that fails is asked for again this often before the scan gives up. */
#define PAGE_RETRIES 3
/* Cluster mode: after it takes over, a leader reads the newest page of the
 * list every poll_interval for this long, whatever is active, to find a
 * deposed leader's late submit (scan_sweep_batch). */
#define SWEEP_AFTER_TAKEOVER_MS (10 * 60 * 1000)


/* The scan under way (e->scan): the slots it serves and the page it is at. */
struct list_scan {
	struct slot **status; /* active slots, sorted by batch id */
	bool *seen;
	size_t n_status;
	struct slot **lookup; /* uncertain slots */
	struct batch *match;  /* oldest match per lookup slot */
	int *n_match;
	int *n_foreign;       /* batches with its call_name that are not its own */
	char **held;          /* batch ids other runs hold, sorted: never adopted */
	size_t n_held;
	size_t n_lookup;
	char *agent;          /* agent_id filter, or NULL */
	int64_t horizon;      /* lookups need batches created at or after this, less the margin */
	int pages;
	char *cursor;         /* last_doc of the page being asked for */
	int page_failures;    /* of that page, in a row */
	struct event *again;  /* asks for it again */
	bool sweep;           /* cluster mode: batches of ours that no run holds are cancelled */
};

/* Poll again in poll_interval (if not already armed): called whenever a
 * batch is or may be active. */
void scan_poll_arm(struct engine *e)
{
	struct timeval tv = { .tv_sec = e->conf->poll_interval };

	if (!e->stopping && !event_pending(e->poll_ev, EV_TIMEOUT, NULL))
		event_add(e->poll_ev, &tv);
}

static int batch_id_cmp(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;
	return strcmp(x->run->batch_id, y->run->batch_id);
}

void scan_free(struct list_scan *sc)
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
	free(sc->n_foreign);
	for (size_t i = 0; i < sc->n_held; i++)
		free(sc->held[i]);
	free(sc->held);
	free(sc->agent);
	free(sc);
}

static void list_page_cb(struct api_result *res, void *arg);

static void scan_next_page(struct engine *e, const char *last_doc)
{
	struct list_scan *sc = e->scan;

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
void scan_start(struct engine *e, bool poll)
{
	struct list_scan *sc;
	const char *agent = NULL;
	bool one_agent = true;

	if (e->scan || e->stopping)
		return;
	if (engine_now_ms() < e->paused_until_ms) {
		/* Come back when the pause may be over. */
		scan_poll_arm(e);
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
			/* A batch of this run was created after its first
			 * intent; unknown (a rebuilt record): the whole list. */
			int64_t first = r->first_intent_ms > 0 ? r->first_intent_ms : r->intent_ms;
			/* (the margin for the API's clock is subtracted when
			 * the pages come: api_clock_lookup_margin_s) */
			int64_t h = first > 0 ? first / 1000 : 0;
			sc->lookup = xrealloc(sc->lookup, (sc->n_lookup + 1) * sizeof(*sc->lookup));
			sc->lookup[sc->n_lookup++] = s;
			s->want_lookup = false;
			if (h < sc->horizon)
				sc->horizon = h;
		}
		s->in_scan = true;
		slot_heap_remove(e, s);
	}
	/* (a leader sweeps for a while after it took over, even with
	 * nothing active: scan_sweep_batch) */
	sc->sweep = e->shared && engine_now_ms() < e->started_ms + SWEEP_AFTER_TAKEOVER_MS;
	if (sc->n_status == 0 && sc->n_lookup == 0 && !sc->sweep) {
		free(sc);
		return;
	}
	sc->seen = xcalloc(sc->n_status ? sc->n_status : 1, sizeof(*sc->seen));
	sc->match = xcalloc(sc->n_lookup ? sc->n_lookup : 1, sizeof(*sc->match));
	sc->n_match = xcalloc(sc->n_lookup ? sc->n_lookup : 1, sizeof(*sc->n_match));
	sc->n_foreign = xcalloc(sc->n_lookup ? sc->n_lookup : 1, sizeof(*sc->n_foreign));
	if (sc->n_status > 1) /* NULL in a scan of lookups only */
		qsort(sc->status, sc->n_status, sizeof(*sc->status), batch_id_cmp);
	if (sc->n_lookup > 0 || sc->sweep) {
		/* A batch some run already holds is never another's. */
		for (size_t i = 0; i < e->n_slots; i++) {
			if (e->slots[i]->forgotten || !e->slots[i]->run->batch_id)
				continue;
			sc->held = xrealloc(sc->held, (sc->n_held + 1) * sizeof(*sc->held));
			sc->held[sc->n_held++] = xstrdup(e->slots[i]->run->batch_id);
		}
		if (sc->n_held > 1)
			qsort(sc->held, sc->n_held, sizeof(*sc->held), engine_str_cmp);
	}
	if (one_agent && agent)
		sc->agent = xstrdup(agent);
	if (poll)
		e->stats.polls++;
	e->scan = sc;
	scan_next_page(e, NULL);
}

void scan_request(struct engine *e)
{
	if (e->scan)
		e->scan_wanted = true;
	else
		scan_start(e, false);
}

static struct slot *scan_find_status(struct list_scan *sc, const char *id, size_t *ret_i)
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
	struct run_event ev = carry_event_of(RE_STATUS, res);

	s->busy--;
	carry_note_api_result(s->e, res);
	if (res->outcome == API_OK) {
		ev.batch = &res->detail.batch;
		carry_step(s, &ev);
	} else if (res->outcome == API_NOT_FOUND) {
		carry_step(s, &ev);
	}
	engine_settle(s->e);
}

static void scan_finish(struct engine *e, const struct api_result *failure)
{
	struct list_scan *sc = e->scan;

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
		if (!failure && sc->n_foreign[i] > 0)
			engine_log_run(LOG_WARNING, EV_DUPLICATE, s->run, 0, 0,
				"job '%s': %d batch%s carr%s the call_name '%s' but not%s this run's (agent or recipient "
				"count %" PRId64 " differ): not adopted", s->run->job,
				sc->n_foreign[i], sc->n_foreign[i] == 1 ? "" : "es", sc->n_foreign[i] == 1 ? "ies" : "y",
				s->run->call_name, sc->n_foreign[i] == 1 ? "" : " one", s->run->sent_count);
		if (failure) {
			ev = carry_event_of(RE_LOOKUP_DONE, failure);
		} else if (sc->n_match[i] > 0) {
			int64_t early = run_batch_early_s(s->run, &sc->match[i]);
			ev.batch = &sc->match[i];
			ev.n_found = sc->n_match[i];
			/* (more than the measured lag explains) */
			if (early > api_clock_lookup_margin_s(&e->stats.api_clock))
				engine_log_run(LOG_WARNING, EV_API_CLOCK, s->run, 0, 0,
					"job '%s': batch %s carries this run's call_name, agent and recipient count but "
					"the API dated it %" PRId64 " s before the run's first intent: taken as this "
					"run's (the API's clock is behind this host's, or an earlier life of the daemon "
					"submitted it)", s->run->job, sc->match[i].id ? sc->match[i].id : "?", early);
		}
		carry_step(s, &ev);
	}
	for (size_t i = 0; i < sc->n_status; i++) {
		slot_heap_place(e, sc->status[i]);
		if (!sc->status[i]->forgotten && run_state_active(sc->status[i]->run->state))
			scan_poll_arm(e);
	}
	scan_free(sc);
	if (e->scan_wanted || e->poll_wanted) {
		bool poll = e->poll_wanted;
		e->scan_wanted = e->poll_wanted = false;
		scan_start(e, poll);
	}
	engine_settle(e);
}

static void batch_copy(struct batch *dst, const struct batch *src)
{
	batch_clear(dst);
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->name = xstrdup(src->name);
	dst->agent_id = xstrdup(src->agent_id);
	dst->timezone = src->timezone ? xstrdup(src->timezone) : NULL;
}

/* Is b, whose name differs from the call_name of the run ls looks up, that
 * run's occurrence under the name of the zone b says it was submitted in?
 * The job's zone changed since and the run's record was lost, so its
 * call_name was made from today's zone (run_call_name_in_zone). */
static bool named_in_zone(struct engine *e, const struct slot *ls, const struct batch *b)
{
	const struct jobspec *spec = ls->spec;
	const char *base;
	size_t blen;
	const struct tz *z = NULL;
	char *cause = NULL, *alt;
	bool same;

	if (!b->timezone || !spec || (spec->timezone && strcmp(b->timezone, spec->timezone) == 0))
		return false;
	base = jobspec_call_base(spec);
	blen = strlen(base);
	if (strncmp(b->name, base, blen) != 0 || b->name[blen] != ' ')
		return false; /* (most of the list: no zone to load) */
	if (tz_cache_get(e->conf->zones, b->timezone, &z, &cause) < 0) {
		free(cause);
		return false;
	}
	alt = run_call_name_in_zone(ls->run, spec, z);
	same = alt && strcmp(alt, b->name) == 0;
	free(alt);
	return same;
}

static void page_again_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->scan)
		scan_next_page(e, e->scan->cursor);
}

static void sweep_cancel_cb(struct api_result *res, void *arg)
{
	struct engine *e = arg;

	carry_note_api_result(e, res);
	if (res->outcome == API_REJECTED)
		log_event(LOG_WARNING, EV_DUPLICATE, NULL, "the cancel of a second batch was refused (%s): it had "
			  "ended already", res->message ? res->message : "?");
	else if (res->outcome != API_OK)
		log_event(LOG_ERR, EV_DUPLICATE, NULL, "the cancel of a second batch failed (%s): it may still dial; "
			  "cancel it by hand", res->message ? res->message : "?");
	engine_settle(e);
}

/* Cluster mode: b carries the call_name of one of our runs, agrees with
 * it, yet no run of ours holds it and every run of that name holds a
 * batch already. Created after this leader took over, it can only be a
 * deposed leader's submit that reached the API after this leader's
 * lookups had concluded (README "Running more than one node"): cancelled
 * before it dials, or before it dials everyone. */
static void scan_sweep_batch(struct engine *e, const struct batch *b)
{
	const struct run *owner = NULL;

	if (!b->id || !b->name || (b->status != BATCH_PENDING && b->status != BATCH_IN_PROGRESS) ||
	    b->created_at_unix < e->started_ms / 1000 - api_clock_lookup_margin_s(&e->stats.api_clock))
		return;
	if (e->scan->n_held > 0 &&
	    bsearch(&b->id, e->scan->held, e->scan->n_held, sizeof(*e->scan->held), engine_str_cmp))
		return;
	for (size_t i = 0; i < e->n_slots; i++) {
		const struct run *r = e->slots[i]->run;
		if (!r->call_name || strcmp(r->call_name, b->name) != 0)
			continue;
		/* a run holds it now (its submit's answer came after the
		 * scan began: the held list is as of then) */
		if (r->batch_id && strcmp(r->batch_id, b->id) == 0)
			return;
		if (e->slots[i]->forgotten)
			continue;
		if (!r->batch_id || !run_batch_matches(r, b))
			return; /* (it may be that run's: its answer or lookup is to come) */
		owner = r;
	}
	if (!owner)
		return;
	engine_log_run(LOG_ERR, EV_DUPLICATE, owner, 0, 0,
		       "job '%s': batch %s (%s) is a second batch of run '%s', which holds %s; created after this "
		       "node took over, it is a deposed leader's late submit: cancelled", owner->job, b->id,
		       batch_status_name(b->status), owner->call_name, owner->batch_id);
	e->stats.cancels++;
	if (api_cancel(e->api, b->id, sweep_cancel_cb, e, NULL) < 0)
		log_event(LOG_ERR, EV_DUPLICATE, NULL, "the cancel of batch %s could not be started: cancel it by hand",
			  b->id);
}

static void list_page_cb(struct api_result *res, void *arg)
{
	struct engine *e = arg;
	struct list_scan *sc = e->scan;
	const struct batch_page *p = &res->page;
	bool need_more = false;
	int64_t oldest = INT64_MAX;

	carry_note_api_result(e, res);
	if (res->outcome != API_OK) {
		/* One bad page must not throw away a scan of many: ask for
		 * that page again a few times before giving up. */
		if (res->outcome == API_TRANSIENT && sc->page_failures < PAGE_RETRIES && !e->stopping) {
			int64_t ms = backoff_wait_ms(BACKOFF_LIST_PAGE, sc->page_failures, engine_rnd64(),
						     res->retry_after_s);
			struct timeval tv;
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
	carry_group_begin(e);
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
			carry_step(s, &ev);
			s->in_scan = true;
		}
		for (size_t j = 0; j < sc->n_lookup; j++) {
			struct slot *ls = sc->lookup[j];
			if (!b->name || (strcmp(b->name, ls->run->call_name) != 0 && !named_in_zone(e, ls, b)))
				continue;
			/* Only a batch that agrees with the intent in all the
			 * list shows is this run's: never another job's. */
			if (!run_batch_agrees(ls->run, b) ||
			    (b->id && sc->n_held > 0 &&
			     bsearch(&b->id, sc->held, sc->n_held, sizeof(*sc->held), engine_str_cmp))) {
				sc->n_foreign[j]++;
				continue;
			}
			/* Newest first: the last one seen is the oldest. */
			batch_copy(&sc->match[j], b);
			sc->n_match[j]++;
		}
		if (sc->sweep)
			scan_sweep_batch(e, b);
	}
	carry_group_end(e);
	for (size_t i = 0; i < sc->n_status; i++)
		if (!sc->seen[i])
			need_more = true;
	if (sc->n_lookup > 0 && oldest >= sc->horizon - api_clock_lookup_margin_s(&e->stats.api_clock))
		need_more = true;
	if (need_more && p->has_more && p->next_doc && sc->pages < 10000 && !e->stopping) {
		char *next = xstrdup(p->next_doc);
		scan_next_page(e, next);
		free(next);
		return;
	}
	scan_finish(e, NULL);
}

void scan_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->scan)
		e->poll_wanted = true;
	else
		scan_start(e, true);
	/* a leader keeps sweeping for a while after it took over */
	if (e->shared && engine_now_ms() < e->started_ms + SWEEP_AFTER_TAKEOVER_MS)
		scan_poll_arm(e);
}
