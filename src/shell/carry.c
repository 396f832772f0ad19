/*
 * carry: stepping the run state machine (run.c decides) and carrying out the
 * actions it returns, in order. Each step gets its context: now, jitter, the
 * grace, the calling hours in the run's zone. A persist is deferred to the
 * group commit (one sync for every run that came due in the same loop
 * iteration; the journal it writes is folded into the runs' own files when
 * the loop is quiet), and the actions after it wait for the commit; a persist
 * that fails stops them. The submit body that the intent records, and
 * follow-up runs, are made here. API answers come back here as events.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "api.h"
#include "backoff.h"
#include "cfg.h"
#include "codec.h"
#include "engine_int.h"
#include "http.h"
#include "report.h"
#include "log.h"
#include "occur.h"
#include "run.h"
#include "store.h"
#include "tz.h"
#include "util.h"
#include "window.h"

static char *submit_body(struct slot *s, int64_t scheduled_time_unix, int64_t *ret_count, uint64_t *ret_digest,
			 char ***ret_left_out, size_t *ret_n_left_out, char ***ret_over, size_t *ret_n_over,
			 bool keep_keys);
static void follow_up(struct engine *e, struct slot *s);
static void note_left_out(struct slot *s);
static void note_over_limit(struct slot *s);

/* --- carrying out actions -------------------------------------------------- */

/* A run changed state: a recurring job needs its next run once this one
 * left "scheduled", and ended runs are pruned. Done in engine_settle(), outside
 * any loop over the slots. */
void carry_note_state_change(struct engine *e, struct slot *s, enum run_state prev)
{
	bool left_scheduled = prev == RUN_SCHEDULED || prev == RUN_DISABLED;

	/* A run that ended without a batch (missed, refused, withdrawn) has
	 * result rows too: its recipients were never dialled. */
	if (run_state_final(s->run->state) && !s->run->batch_id && s->run->state != RUN_REMOVED)
		report_note_unbatched(e, s->run);
	/* One that ended with a batch: its rows from the batch as it ended
	 * (an operator's cancel ends a run without fetching the detail). */
	else if (run_state_final(s->run->state) && !run_state_final(prev) && s->run->state != RUN_REMOVED)
		report_note_batch_end(e, s->run);
	if (!left_scheduled && !run_state_final(s->run->state))
		return;
	engine_want_next(e, s->run->job);
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

/* Every do-not-call list as of now: the files of the configuration in
 * force, and the daemon's own. */
const struct suppress_rules *carry_rules(struct engine *e)
{
	e->rules = (struct suppress_rules){ .sets = { e->conf->suppress, &e->own }, .n_sets = 2 };
	return &e->rules;
}

/* A remade attempt's contacts are written again when they moved this far. */
#define LEDGER_MOVE_LINE_S 3600

/* The contact limits as of now; NULL when there are none. */
const struct contact_rules *carry_contacts(struct engine *e)
{
	if (!e->conf->limits)
		return NULL;
	e->contacts = (struct contact_rules){ &e->ledger, e->conf->limits, engine_now_ms() / 1000 };
	return &e->contacts;
}

/* r is about to call keys (n) as attempt (0: its submit, N: a retry):
 * the contacts go into the ledger now, so that the next body made, of any
 * job, counts them, and are queued for the ledger's file, which is synced
 * before the intent's record (carry_contacts_sync) and so before any
 * request leaves. The same attempt made again adds nothing. */
static void record_contacts(struct engine *e, const struct run *r, char *const *keys, size_t n, int attempt, int64_t at)
{
	const char *agent = r->agent_id ? r->agent_id : "";
	uint64_t tag;
	uint32_t ai;

	if (!e->conf->limits || !e->ledger_store || n == 0)
		return;
	tag = run_contact_tag(r, attempt);
	ai = ledger_agent(&e->ledger, agent);
	for (size_t i = 0; i < n; i++) {
		int64_t was;
		if (!keys[i] || !ledger_add(&e->ledger, ledger_key(keys[i]), ai, at, tag, &was))
			continue;
		/* A remade attempt moves its contacts later in memory; the
		 * file gets a line for that only when it is an hour or more
		 * (a submit held back by an outage is remade at each backoff:
		 * a line each time would grow the file without end). */
		if (was < 0 || at - was >= LEDGER_MOVE_LINE_S)
			ledger_store_add(e->ledger_store, at, keys[i], agent, tag);
	}
	e->stats.ledger_entries = ledger_size(&e->ledger);
}

/* Whether contacts can be recorded now: no limits, or the ledger is open
 * (opened now when a reload set the limits and could not). A submit or
 * retry waits while it cannot: the limits are never guessed. */
bool carry_ledger_ready(struct engine *e)
{
	char *cause = NULL;
	int64_t now = engine_now_ms();

	if (!e->conf->limits || e->ledger_store)
		return true;
	/* (a damaged file is read again at most every 10 s) */
	if (e->ledger_broken && now - e->ledger_tried_ms < 10000)
		return false;
	e->ledger_tried_ms = now;
	if (engine_ledger_open(e, &cause) == 0 && e->ledger_store) {
		log_event(LOG_NOTICE, EV_CONTACT_LIMIT, NULL, "the contact ledger '%s' is open: submits go on",
			  ledger_store_path(e->ledger_store));
		e->ledger_broken = false;
		return true;
	}
	if (!e->ledger_broken)
		log_event(LOG_ERR, EV_STATE_ERROR, NULL, "%s; no submit or retry is sent until it can be read (tried "
			  "again at each)", cause ? cause : "the contact ledger cannot be opened");
	e->ledger_broken = true;
	free(cause);
	return false;
}

/* The contacts recorded so far onto stable storage: 0, or a negative
 * errno (nothing that depends on them may go on). */
static int carry_contacts_sync(struct engine *e)
{
	int rc;

	/* (no ledger open: nothing was recorded, and no submit or retry
	 * went on: carry_ledger_ready held them) */
	if (!e->ledger_store)
		return 0;
	rc = ledger_store_sync(e->ledger_store);
	if (rc < 0)
		log_event(LOG_ERR, EV_STATE_ERROR, NULL, "cannot write the contact ledger '%s': %s",
			  ledger_store_path(e->ledger_store), strerror(-rc));
	else if (ledger_store_due(e->ledger_store, ledger_size(&e->ledger), engine_now_ms() / 1000))
		engine_ledger_compact(e);
	return rc;
}

struct run_ctx carry_make_ctx(const struct slot *s)
{
	struct run_ctx c = {
		.spec = s->spec,
		.now_ms = s == s->e->early_slot ? s->e->early_at_ms : engine_now_ms(),
		.rnd = engine_rnd64(),
		.grace_ms = s->e->grace_ms,
		.backoff_base_ms = BACKOFF_API_BASE_MS,
		.backoff_cap_ms = BACKOFF_API_CAP_MS,
		.skip = s->skip,
	};

	if (s->spec)
		run_ctx_window(&c, s->run, run_zone(s->e, s->run, s->spec));
	c.rules = carry_rules(s->e);
	/* (opened first when a reload set the limits: a retry is judged
	 * against the ledger, never against an empty one) */
	carry_ledger_ready(s->e);
	c.contacts = carry_contacts(s->e);
	return c;
}

void carry_step(struct slot *s, const struct run_event *ev)
{
	struct run_ctx ctx;
	struct actions acts = { .n = 0 };
	enum run_state prev;

	/* Its deferred actions come first: keep the order of events. */
	if (s->in_group)
		carry_group_flush(s->e);
	ctx = carry_make_ctx(s);
	prev = s->run->state;
	run_step(s->run, &ctx, ev, &acts, NULL);
	carry_actions(s, &acts);
	if (s->run->state != prev)
		carry_note_state_change(s->e, s, prev);
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
void carry_note_api_result(struct engine *e, const struct api_result *res)
{
	long cls = res->http_status / 100;

	if ((unsigned)res->op < ARRAY_SIZE(e->stats.api_requests))
		e->stats.api_requests[res->op][cls >= 1 && cls <= 5 ? cls : 0]++;
	if (res->outcome == API_AUTH) {
		int64_t d = backoff_wait_ms(BACKOFF_AUTH, e->auth_failures, engine_rnd64(), -1);
		if (e->auth_failures == 0)
			log_event(LOG_ERR, EV_API_AUTH, &(struct log_fields){ .http_status = res->http_status },
				  "the API refused the key (HTTP %ld: %s); API work paused until it is accepted",
				  res->http_status, res->message ? res->message : "");
		e->auth_failures++;
		e->paused_until_ms = engine_now_ms() + d;
		return;
	}
	if (res->http_status > 0 && e->auth_failures > 0) {
		log_event(LOG_NOTICE, EV_API_KEY_ACCEPTED, NULL, "the API accepts the key again; API work resumed");
		e->auth_failures = 0;
		e->paused_until_ms = 0;
	}
}

struct run_event carry_event_of(enum run_event_kind kind, const struct api_result *res)
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
void carry_drop_body_keys(struct slot *s)
{
	for (size_t i = 0; i < s->n_body_keys; i++)
		free(s->body_keys[i]);
	free(s->body_keys);
	s->body_keys = NULL;
	s->n_body_keys = 0;
}

/* Whether none of keys (n) is on a do-not-call list now; else the first
 * listed one's masked form in masked. */
static bool none_listed(struct engine *e, char *const *keys, size_t n, char *masked, size_t size)
{
	const struct suppress_rules *rules = carry_rules(e);

	for (size_t i = 0; i < n; i++) {
		struct suppress_hit h;
		if (suppress_check_key(rules, keys[i], &h) == SUPPRESS_LISTED) {
			suppress_mask(keys[i], masked, size);
			return false;
		}
	}
	return true;
}

/* Whether the body about to be sent still calls nobody listed; logged
 * when it does not. */
static bool body_still_allowed(struct slot *s)
{
	char masked[SUPPRESS_NORMAL_MAX];

	if (none_listed(s->e, s->body_keys, s->n_body_keys, masked, sizeof(masked)))
		return true;
	engine_log_run(LOG_NOTICE, EV_SUPPRESSED, s->run, 0, 0,
		       "job '%s': the submit of '%s' withdrawn before it was sent: %s was put on a do-not-call list "
		       "since its body was made; it is made again without", s->run->job, s->run->call_name, masked);
	return false;
}

/* A submit leaves the HTTP client's queue (which may have held it for
 * seconds behind the rate limit): the lists are asked again. One listed
 * since the body was made withdraws it unsent; the run makes a new intent
 * (the body without them), as after any failure that never left this host. */
static bool submit_go_cb(void *arg)
{
	struct slot *s = arg;
	const struct run *r = s->run;
	/* Nor one asked to stop since its intent (cancelled, its job removed
	 * or disabled while it waited, e.g. held to its instant): withdrawn,
	 * and the run takes that up (on_submit_done). */
	bool go = !r->cancel_wanted && !r->removing && (!s->spec || s->spec->enabled) && body_still_allowed(s);

	carry_drop_body_keys(s);
	return go;
}

/* The same for a retry of a finished batch: the recipients it re-dials. */
static bool retry_go_cb(void *arg)
{
	struct slot *s = arg;
	char masked[SUPPRESS_NORMAL_MAX];
	bool go = none_listed(s->e, s->run->retry_keys, s->run->n_retry_keys, masked, sizeof(masked));

	if (!go)
		engine_log_run(LOG_NOTICE, EV_SUPPRESSED, s->run, 0, 0,
			       "job '%s': the retry of batch %s withdrawn before it was sent: %s was put on a do-not-call "
			       "list while it waited", s->run->job, s->run->batch_id ? s->run->batch_id : "?", masked);
	return go;
}

/* The due instant of s's submit on the monotonic clock, microseconds. */
static int64_t due_mono_us(const struct slot *s)
{
	struct timespec ts;
	int64_t mono = engine_mono_us(), real;

	clock_gettime(CLOCK_REALTIME, &ts);
	real = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return run_submit_at_ms(s->run, s->spec) * 1000 - (real - mono);
}

/* A first submit handed to the HTTP layer: the stages before it (the
 * timer that fired, the group commit that made its intent durable). */
static void note_first_stages(struct engine *e, const struct slot *s)
{
	struct stats_submit_times t = { .due_us = due_mono_us(s) };

	t.at_us[STATS_STAGE_FIRED] = e->fired_us;
	t.at_us[STATS_STAGE_DURABLE] = e->durable_us;
	stats_note_submit(&e->stats, &t);
}

/* A first submit answered (or failed): the stages of its request, and
 * the latency the daemon added to it. */
static void note_request_stages(struct engine *e, const struct slot *s, const struct http_timing *h)
{
	struct stats_submit_times t = { .due_us = due_mono_us(s), .slot_free_us = h->slot_free_us };

	t.at_us[STATS_STAGE_QUEUED] = h->queued_us;
	t.at_us[STATS_STAGE_CONNECTED] = h->connected_us;
	t.at_us[STATS_STAGE_WRITTEN] = h->written_us;
	t.at_us[STATS_STAGE_ANSWERED] = h->written_us ? h->done_us : 0;
	stats_note_submit(&e->stats, &t);
	/* Handed over before its instant (held to it): its lateness is
	 * when it was written. */
	if (h->held && h->written_us)
		stats_note_lateness(&e->stats, (h->written_us - t.due_us) / 1000);
}

static void run_request_done_cb(struct api_result *res, void *arg)
{
	static const enum run_event_kind kinds[API_OP__MAX] = {
		[API_OP_SUBMIT] = RE_SUBMIT_DONE, [API_OP_GET] = RE_DETAIL_DONE,
		[API_OP_RETRY] = RE_RETRY_DONE,   [API_OP_CANCEL] = RE_CANCEL_DONE,
	};
	struct slot *s = arg;
	struct engine *e = s->e;
	struct run_event ev = carry_event_of(kinds[res->op], res);
	bool ok = res->outcome == API_OK;

	s->busy--;
	if (!res->withdrawn) /* (never sent: no request to count) */
		carry_note_api_result(e, res);
	if (res->op == API_OP_SUBMIT && !res->withdrawn && s->run->submit_attempts == 1)
		note_request_stages(e, s, &res->timing);
	switch (res->op) {
	case API_OP_SUBMIT:
		if (ok)
			e->stats.submits_ok++;
		else if (res->outcome == API_REJECTED)
			e->stats.submits_rejected++;
		else if (!res->withdrawn)
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
	carry_step(s, &ev);
	/* A batch that ended: its recipients' rows (the run has stepped, so
	 * the rows see its final state). */
	if (ok && res->op == API_OP_GET && batch_status_terminal(res->detail.batch.status))
		report_note_detail(e, s->run, &res->detail);
	engine_settle(e);
}

/* A request could not even be queued: report it as a transient failure
 * that certainly did not reach the server. */
static void request_not_started(struct slot *s, enum run_event_kind kind)
{
	struct run_event ev = { .kind = kind, .outcome = REQ_TRANSIENT, .retry_after_s = -1,
				.message = "the request could not be started" };
	carry_step(s, &ev);
}

/* What a write of s's state came to: on failure, say so once for the
 * folder and let the machine step back (the actions after the persist,
 * dropped from v[from] on, are not carried out; a request of the run's op
 * not among them went out before); on success, say when the folder is
 * writable again. True when written. */
static bool store_result(struct engine *e, struct slot *s, int rc, const struct actions *dropped, size_t from)
{
	if (rc < 0) {
		struct actions more = { .n = 0 };
		struct run_ctx ctx = carry_make_ctx(s);
		struct run_event ev = { .kind = RE_STORE_FAILED, .retry_after_s = -1,
					.sent = s->run->op != OP_NONE && !run_actions_request(dropped, from) };

		if (!e->store_broken)
			engine_log_run(LOG_ERR, EV_STATE_ERROR, s->run, 0, 0,
				"cannot write the state of job '%s' in '%s': %s; submissions stop until it is writable",
				s->run->job, store_where(e->store), strerror(-rc));
		e->store_broken = true;
		free(s->body); /* made again, fresh, at the next attempt */
		s->body = NULL;
		run_step(s->run, &ctx, &ev, &more, NULL);
		slot_heap_place(e, s);
		return false;
	}
	if (e->store_broken) {
		log_event(LOG_NOTICE, EV_STATE_WRITABLE, NULL, "the state folder '%s' is writable again",
			  store_where(e->store));
		e->store_broken = false;
	}
	return true;
}

void carry_actions(struct slot *s, struct actions *acts)
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
				    a->kind == ACT_CANCEL)) {
			if (a->kind == ACT_SUBMIT) {
				free(s->body);
				s->body = NULL;
			}
			continue;
		}
		switch (a->kind) {
		case ACT_PERSIST:
			/* An intent: what the submit will send is recorded in
			 * it, so the body is made now, once. */
			if (i + 1 < acts->n && (acts->v[i + 1].kind == ACT_SUBMIT || acts->v[i + 1].kind == ACT_RETRY) &&
			    !carry_ledger_ready(e)) {
				struct run_event ev = { .kind = RE_STORE_FAILED, .retry_after_s = -1 };
				free(s->body);
				s->body = NULL;
				carry_step(s, &ev);
				return;
			}
			if (i + 1 < acts->n && acts->v[i + 1].kind == ACT_SUBMIT && s->spec && !s->body) {
				int64_t count;
				uint64_t digest;
				char why[400];
				if (reconcile_submit_refusal(e, s, why, sizeof(why))) {
					/* Nothing is sent: a refusal as final as the
					 * API's own. */
					struct run_event ev = { .kind = RE_SUBMIT_DONE, .outcome = REQ_REJECTED,
								.retry_after_s = -1, .message = why };
					carry_step(s, &ev);
					return;
				}
				char **left_out = NULL, **over = NULL;
				size_t n_left_out = 0, n_over = 0;
				s->body = submit_body(s, acts->v[i + 1].scheduled_time_unix, &count, &digest, &left_out,
						      &n_left_out, &over, &n_over, true);
				run_note_submission(r, count, digest);
				run_note_suppressed(r, left_out, n_left_out);
				run_note_over_limit(r, over, n_over, e->conf->limits && e->conf->limits->defer);
				if (n_left_out > 0)
					note_left_out(s);
				if (n_over > 0)
					note_over_limit(s);
				if (count == 0 && n_left_out + n_over > 0) {
					/* Nobody left to call: nothing is sent. */
					struct run_event ev = { .kind = RE_SUPPRESSED, .retry_after_s = -1 };
					free(s->body);
					s->body = NULL;
					carry_step(s, &ev);
					return;
				}
			}
			if (i + 1 < acts->n && acts->v[i + 1].kind == ACT_RETRY)
				/* a retry re-dials these: counted as calls */
				record_contacts(e, r, r->retry_keys, r->n_retry_keys, r->retries + 1,
						engine_now_ms() / 1000);
			if (!s->in_group) {
				/* Defer: the rest waits for the group commit. */
				if (!s->rest)
					s->rest = xmalloc(sizeof(*s->rest));
				s->rest->n = 0;
				for (size_t j = i + 1; j < acts->n; j++)
					s->rest->v[s->rest->n++] = acts->v[j];
				s->in_group = true;
				xgrow((void **)&e->group, &e->cap_group, e->n_group + 1, sizeof(*e->group));
				e->group[e->n_group++] = s;
				slot_heap_place(e, s);
				/* Outside an explicit group, commit at the end of
				 * this loop iteration, with whatever else came. */
				if (e->group_depth == 0)
					event_active(e->flush_ev, EV_TIMEOUT, 0);
				return;
			}
			/* Already in the pending group commit: write it now. */
			run_note_write(s->run);
			rc = carry_contacts_sync(e);
			ok = store_result(e, s, rc < 0 ? rc : store_put(e->store, (const struct run *const *)&s->run, 1),
					  acts, i + 1);
			break;
		case ACT_SUBMIT:
			/* The body its intent recorded (prepared before the
			 * persist); made now only if there was none. */
			if (!s->body && !carry_ledger_ready(e)) {
				/* the limits cannot be known: not sent */
				request_not_started(s, RE_SUBMIT_DONE);
				return;
			}
			body = s->body ? s->body
				       : submit_body(s, a->scheduled_time_unix, NULL, NULL, NULL, NULL, NULL, NULL, true);
			s->body = NULL;
			if (carry_contacts_sync(e) < 0) {
				/* its contacts are not on stable storage: not sent */
				free(body);
				carry_drop_body_keys(s);
				request_not_started(s, RE_SUBMIT_DONE);
				return;
			}
			if (!body_still_allowed(s)) {
				/* listed between the intent and now (the group
				 * commit): a new intent, as when withdrawn */
				struct run_event ev = { .kind = RE_SUBMIT_DONE, .outcome = REQ_TRANSIENT,
							.retry_after_s = 0, .message = "withdrawn before it was sent" };
				free(body);
				carry_drop_body_keys(s);
				carry_step(s, &ev);
				return;
			}
			s->busy++;
			{
				struct api_call *call = NULL;
				int64_t at = run_submit_at_ms(r, s->spec);
				/* stepped ahead of its instant (timer_cb): the
				 * request waits for it */
				http_hold_next(e->http, r->submit_attempts == 1 && at > engine_now_ms() ? at * 1000 : 0);
				rc = api_submit(e->api, body, run_request_done_cb, s, &call);
				http_hold_next(e->http, 0);
				free(body);
				if (rc < 0) {
					s->busy--;
					carry_drop_body_keys(s);
					request_not_started(s, RE_SUBMIT_DONE);
					return;
				}
				api_call_set_go(call, submit_go_cb, s);
			}
			if (r->submit_attempts == 1) {
				/* (one held to its instant: counted as it is
				 * written, note_request_stages) */
				int64_t late = engine_now_ms() - run_submit_at_ms(r, s->spec);
				if (late >= 0)
					stats_note_lateness(&e->stats, late);
				note_first_stages(e, s);
			}
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
		case ACT_RETRY: {
			struct api_call *call = NULL;
			s->busy++;
			rc = api_retry(e->api, r->batch_id, run_request_done_cb, s, &call);
			if (rc < 0) {
				s->busy--;
				request_not_started(s, RE_RETRY_DONE);
				return;
			}
			api_call_set_go(call, retry_go_cb, s);
			break;
		}
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
			case JE_SUPPRESSED: e->stats.suppressed_retry += (uint64_t)a->count; break;
			case JE_CONTACT_LIMIT: e->stats.contact_limited_retry += (uint64_t)a->count; break;
			default: break;
			}
			engine_log_run(a->priority, engine_log_event_of(a->event), r, a->attempt, a->http_status, "%s",
				a->msg);
			break;
		case ACT_FOLLOW_UP:
			follow_up(e, s);
			break;
		case ACT_DROP:
			slot_drop(e, s);
			break;
		}
	}
	slot_heap_place(e, s);
	if (run_state_active(r->state) || r->state == RUN_RETRY_WAIT)
		scan_poll_arm(e);
	engine_status_touch(e);
}

/* Carry out one of the machine's reactions to a (re)load on slot s. */
void carry_reload_step(struct slot *s, void (*fn)(struct run *, const struct run_ctx *, struct actions *),
			enum run_event_kind kind)
{
	struct run_ctx ctx;
	struct actions acts = { .n = 0 };
	enum run_state prev = s->run->state;

	if (s->in_group)
		carry_group_flush(s->e);
	ctx = carry_make_ctx(s);
	if (fn)
		fn(s->run, &ctx, &acts);
	else
		run_step(s->run, &ctx, &(struct run_event){ .kind = kind, .retry_after_s = -1 }, &acts, NULL);
	carry_actions(s, &acts);
	if (s->run->state != prev)
		carry_note_state_change(s->e, s, prev);
}

/* --- journal compaction and group commit ----------------------------------- */

#define COMPACT_CHUNK 32
#define COMPACT_DELAY_MS 200
/* Never start a chunk this close to a due instant. */
#define COMPACT_MARGIN_MS 100
/* Queued submits hold compaction back this long at most: a queue that
 * the rate limit drains for minutes must not pile journals up that long. */
#define COMPACT_HOLD_MAX_MS 10000

static void compact_arm(struct engine *e, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (!event_pending(e->compact_ev, EV_TIMEOUT, NULL))
		event_add(e->compact_ev, &tv);
}

void carry_compact_all(struct engine *e)
{
	long rc = store_compact(e->store, SIZE_MAX);

	if (rc < 0)
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "cannot write run files from the journal in '%s': %s; kept in the journal",
			  store_where(e->store), strerror((int)-rc));
}

void carry_compact_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	int64_t now = engine_now_ms();
	long rc;

	(void)fd;
	(void)what;
	/* Stay out of the way of a run about to come due, and of a burst
	 * whose submits are still waiting for a connection (for
	 * COMPACT_HOLD_MAX_MS at a time): a chunk holds the loop for as long
	 * as its writes take, and every submit behind it would wait that
	 * long once its slot is free. */
	if (http_urgent_queued(e->http) == 0)
		e->compact_held_ms = 0;
	else if (e->compact_held_ms == 0)
		e->compact_held_ms = now;
	if (engine_due_soon(e, now, COMPACT_MARGIN_MS) ||
	    (e->compact_held_ms != 0 && now - e->compact_held_ms < COMPACT_HOLD_MAX_MS)) {
		compact_arm(e, COMPACT_MARGIN_MS);
		return;
	}
	e->compact_held_ms = 0;
	rc = store_compact(e->store, COMPACT_CHUNK);
	if (rc < 0) {
		log_event(LOG_ERR, EV_STATE_ERROR, NULL,
			  "cannot write run files from the journal in '%s': %s; trying again",
			  store_where(e->store), strerror((int)-rc));
		compact_arm(e, 5000);
		return;
	}
	if (rc > 0)
		compact_arm(e, 0);
}

/* Group commit: persist every deferred run with one sync, then carry out
 * what each one deferred. */
void carry_group_begin(struct engine *e)
{
	e->group_depth++;
}

void carry_group_end(struct engine *e)
{
	if (--e->group_depth == 0)
		carry_group_flush(e);
}

void carry_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	carry_group_flush(arg);
	engine_settle(arg);
}

void carry_group_flush(struct engine *e)
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
		run_note_write(g[i]->run);
		runs[i] = g[i]->run;
	}
	/* One sync for all; a backend that writes them into a journal folds
	 * it into the runs' own records when the loop is quiet. The contacts
	 * their intents recorded first: none of their requests leaves before
	 * the ledger holds them. */
	rc = carry_contacts_sync(e);
	if (rc == 0)
		rc = store_put(e->store, runs, n);
	free(runs);
	e->durable_us = engine_mono_us();
	/* The backend says whether compaction is due (store.h). */
	if (rc == 0)
		compact_arm(e, COMPACT_DELAY_MS);
	for (size_t i = 0; i < n; i++) {
		struct slot *s = g[i];
		s->in_group = false;
		if (store_result(e, s, rc, s->rest, 0)) {
			/* taken: a second persist among them defers what
			 * follows it into a new s->rest. Called also with
			 * nothing deferred: carry_actions places the slot
			 * in the heap (a run made in this commit waits for
			 * its timer there). */
			struct actions *rest = s->rest, none;
			s->rest = NULL;
			none.n = 0;
			carry_actions(s, rest ? rest : &none);
			free(rest);
		}
	}
	e->durable_us = 0;
	free(g);
}

/* --- the submit body and follow-ups ---------------------------------------- */

/* Each recipient the do-not-call lists left out of s's body is logged
 * with its number masked (a few of them; the count says the rest) and
 * counted. */
#define LEFT_OUT_LOGGED 20
static void note_left_out(struct slot *s)
{
	const struct run *r = s->run;
	const struct suppress_rules *rules = carry_rules(s->e);
	char masked[SUPPRESS_NORMAL_MAX];

	s->e->stats.suppressed_submit += r->n_suppressed;
	for (size_t i = 0; i < r->n_suppressed && i < LEFT_OUT_LOGGED; i++) {
		struct suppress_hit h = { "?", 0 };
		struct log_fields f = { .job = r->job, .run_start = r->start, .recipient = masked };
		suppress_check_key(rules, r->suppressed[i], &h);
		suppress_mask(r->suppressed[i], masked, sizeof(masked));
		log_event(LOG_INFO, EV_SUPPRESSED, &f,
			  "job '%s': recipient %s left out of the submit of run '%s': on the do-not-call list %s:%d",
			  r->job, masked, r->call_name, h.file, h.line);
	}
	engine_log_run(LOG_NOTICE, EV_SUPPRESSED, r, 0, 0,
		       "job '%s': %zu recipient%s of run '%s' left out of its submit: on a do-not-call list%s", r->job,
		       r->n_suppressed, r->n_suppressed == 1 ? "" : "s", r->call_name,
		       r->n_suppressed > LEFT_OUT_LOGGED ? " (the first 20 are logged one by one)" : "");
}

/* Each recipient the contact limits left out of s's body, likewise. */
static void note_over_limit(struct slot *s)
{
	const struct run *r = s->run;
	char masked[SUPPRESS_NORMAL_MAX];

	s->e->stats.contact_limited_submit += r->n_over_limit;
	for (size_t i = 0; i < r->n_over_limit && i < LEFT_OUT_LOGGED; i++) {
		struct log_fields f = { .job = r->job, .run_start = r->start, .recipient = masked };
		suppress_mask(r->over_limit[i], masked, sizeof(masked));
		log_event(LOG_INFO, EV_CONTACT_LIMIT, &f,
			  "job '%s': recipient %s left out of the submit of run '%s': over the contact limits",
			  r->job, masked, r->call_name);
	}
	engine_log_run(LOG_NOTICE, EV_CONTACT_LIMIT, r, 0, 0,
		       "job '%s': %zu recipient%s of run '%s' left out of its submit: over the contact limits%s", r->job,
		       r->n_over_limit, r->n_over_limit == 1 ? "" : "s", r->call_name,
		       r->n_over_limit > LEFT_OUT_LOGGED ? " (the first 20 are logged one by one)" : "");
}

/* The submit body of a run: every recipient of its job, or only those of
 * its part (a zone group or a follow-up). A recurring job reads its
 * recipients CSV again for each run (a CRM export changes between
 * occurrences); when the file is unreadable now, the list of the last good
 * load is used, and that is said. How many recipients it holds and the
 * digest of their keys, in order, go to *ret_count and *ret_digest (when
 * not NULL): the intent records them. */
static char *submit_body(struct slot *s, int64_t scheduled_time_unix, int64_t *ret_count, uint64_t *ret_digest,
			 char ***ret_left_out, size_t *ret_n_left_out, char ***ret_over, size_t *ret_n_over,
			 bool keep_keys)
{
	const struct jobspec *j = s->spec;
	const struct run *r = s->run;
	struct jobspec copy = *j;
	struct recipient *fresh = NULL, *all = NULL;
	size_t n_fresh = 0, n_left_out = 0, n_over = 0;
	char **left_out = NULL, **over = NULL;
	const struct contact_rules *contacts;
	int64_t at;
	bool *include;
	int64_t count;
	uint64_t digest;
	char *body;

	if (!r->rcpts && j->repeat && j->recipients_csv) {
		struct diag d = { 0 };
		if (cfg_read_csv(s->e->conf, j->recipients_csv, &fresh, &n_fresh, &d) < 0) {
			char *why = d.n ? diag_format(&d, 0) : xstrdup("unreadable");
			engine_log_run(LOG_WARNING, EV_CONFIG_ERROR, s->run, 0, 0,
				"job '%s': cannot read the recipients again (%s); using the list of the last load",
				j->name, why);
			free(why);
		} else {
			all = xcalloc(j->n_inline_recipients + n_fresh + 1, sizeof(*all));
			memcpy(all, j->recipients, j->n_inline_recipients * sizeof(*all));
			memcpy(all + j->n_inline_recipients, fresh, n_fresh * sizeof(*all));
			copy.recipients = all;
			copy.n_recipients = j->n_inline_recipients + n_fresh;
		}
		diag_clear(&d);
	}
	include = xcalloc(copy.n_recipients ? copy.n_recipients : 1, sizeof(*include));
	/* The do-not-call lists are consulted now, at the moment of the
	 * submit: a number added after the run was planned is left out. */
	/* The calls happen at the batch's scheduled time when it is ahead
	 * (submit_ahead): checked and recorded as of then. */
	contacts = carry_contacts(s->e);
	if (contacts && scheduled_time_unix > contacts->now_s)
		s->e->contacts.now_s = scheduled_time_unix;
	at = contacts ? contacts->now_s : 0;
	count = (int64_t)run_body_select(r, carry_rules(s->e), contacts, copy.recipients, copy.n_recipients,
					 include, &digest, &left_out, &n_left_out, &over, &n_over);
	if (r->touch > 0) {
		/* a follow-up touch: its first_message and variables */
		struct jobspec view;
		jobspec_touch_view(&copy, r->touch, &view);
		body = codec_submit_body_only(&view, r->call_name, scheduled_time_unix, include);
		jobspec_view_clear(&view);
	} else {
		body = codec_submit_body_only(&copy, r->call_name, scheduled_time_unix, include);
	}
	if (keep_keys) {
		/* who the body calls, to be checked again when it leaves
		 * the HTTP client's queue (submit_go_cb) */
		carry_drop_body_keys(s);
		s->body_keys = xcalloc((size_t)count + 1, sizeof(*s->body_keys));
		for (size_t i = 0; i < copy.n_recipients; i++)
			if (include[i])
				s->body_keys[s->n_body_keys++] = xstrdup(recipient_key(
					copy.recipients[i].phone_number, copy.recipients[i].whatsapp_user_id));
		record_contacts(s->e, r, s->body_keys, s->n_body_keys, 0, at);
	}
	if (ret_over) {
		*ret_over = over;
		*ret_n_over = n_over;
		over = NULL;
		n_over = 0;
	}
	for (size_t i = 0; i < n_over; i++)
		free(over[i]);
	free(over);
	if (ret_left_out) {
		*ret_left_out = left_out;
		*ret_n_left_out = n_left_out;
		left_out = NULL;
		n_left_out = 0;
	}
	for (size_t i = 0; i < n_left_out; i++)
		free(left_out[i]);
	free(left_out);
	if (ret_count)
		*ret_count = count;
	if (ret_digest)
		*ret_digest = digest;
	for (size_t i = 0; i < n_fresh; i++)
		recipient_clear(&fresh[i]);
	free(fresh);
	free(all);
	free(include);
	return body;
}

/* A run that cannot be made again from the configuration alone (a zone
 * group, a follow-up) is written at once, in the current group commit. */
void carry_persist_new(struct engine *e, struct slot *s)
{
	s->in_group = true;
	if (s->rest)
		s->rest->n = 0;
	xgrow((void **)&e->group, &e->cap_group, e->n_group + 1, sizeof(*e->group));
	e->group[e->n_group++] = s;
	slot_heap_place(e, s);
	if (e->group_depth == 0)
		event_active(e->flush_ev, EV_TIMEOUT, 0);
}

/* A run stopped by the calling hours or the operator hands its never-dialled
 * recipients to a new part of the same occurrence: scheduled for the next
 * opening (resume), or paused until `batchcallctl resume`. It is persisted
 * in the same group commit as the run it comes from. */
void carry_follow_up(struct engine *e, struct slot *s)
{
	follow_up(e, s);
}

static void follow_up(struct engine *e, struct slot *s)
{
	struct run *r = s->run, *f;
	const struct jobspec *spec = s->spec;
	const struct run **runs;
	struct slot *fs;
	char *part;
	size_t n;

	if (!spec || r->n_unfinished == 0)
		return;
	n = slot_job_runs(e, r->job, &runs, NULL);
	part = occur_follow_up_part(r, runs, n);
	free(runs);
	if (r->follow == FOLLOW_DEFER) {
		/* the first instant the limits allow one of them (the others
		 * are deferred again then, when still over) */
		const struct contact_rules *c = carry_contacts(e);
		int64_t at = c ? run_limits_allow_at(r, c, r->unfinished, r->n_unfinished) * 1000 : 0;
		char when[32];
		f = run_new_follow_up(r, spec, part, at > engine_now_ms() ? at : engine_now_ms());
		format_utc(f->due_ms / 1000, when, sizeof(when));
		engine_log_run(LOG_NOTICE, EV_SCHEDULED, f, 0, 0,
			"job '%s': deferred run '%s' of %zu recipients over the contact limits is due at %s, when "
			"the limits allow, inside the calling hours", f->job, f->call_name, f->n_rcpts, when);
	} else {
		f = run_new_follow_up(r, spec, part, engine_now_ms());
		engine_log_run(LOG_NOTICE, EV_SCHEDULED, f, 0, 0, "job '%s': follow-up run '%s' of %zu recipients %s",
			f->job, f->call_name, f->n_rcpts, f->state == RUN_PAUSED ? "is paused until resumed" :
			"is submitted at the next opening of the calling hours");
	}
	free(part);
	fs = slot_insert(e, f, spec);
	/* Durable with the run it comes from (same group commit). */
	carry_persist_new(e, fs);
}
