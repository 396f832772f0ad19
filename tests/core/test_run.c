/*
 * Unit tests of the run state machine: every transition with plain values,
 * and a seeded randomised "world" that loses, delays and duplicates answers
 * and crashes the daemon at random, asserting exactly-once submission.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ledger.h"
#include "occur.h"
#include "run.h"
#include "state.h"
#include "tz.h"
#include "util.h"
#include "window.h"

#define T0 1800000000LL /* the run's instant, unix seconds */
#define MS(s) ((int64_t)(s) * 1000)

static struct jobspec spec;

static void spec_init(void)
{
	memset(&spec, 0, sizeof(spec));
	spec.name = (char *)"renewals";
	spec.agent_id = (char *)"agent_1";
	spec.timezone = (char *)"UTC";
	spec.start = T0;
	spec.call_name = (char *)"Renewals";
	spec.retry = (struct retry_policy){ .max_retries = 2, .delay = 600, .backoff = 2.0, .max_delay = 3600 };
	spec.max_lateness = 900;
	spec.submit_ahead = 0;
	spec.on_removal = ON_REMOVAL_CANCEL;
	spec.enabled = true;
	spec.digest = 42;
}

static struct run_ctx ctx_at(int64_t now_ms)
{
	return (struct run_ctx){ .spec = &spec, .now_ms = now_ms, .rnd = 0x8000000000000000ULL,
				 .grace_ms = 10000, .backoff_base_ms = 1000, .backoff_cap_ms = 60000 };
}

static struct actions acts;

static int step_at(struct run *r, int64_t now_ms, struct run_event ev)
{
	struct run_ctx c = ctx_at(now_ms);
	const char *why;
	acts.n = 0;
	if (ev.retry_after_s == 0)
		ev.retry_after_s = -1;
	return run_step(r, &c, &ev, &acts, &why);
}

/* The job left the files (its spec is gone) at now_ms. */
static void removed_at(struct run *r, int64_t now_ms)
{
	struct run_ctx c = ctx_at(now_ms);

	c.spec = NULL;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
}

static int count_kind(enum action_kind k)
{
	int n = 0;
	for (size_t i = 0; i < acts.n; i++)
		n += acts.v[i].kind == k;
	return n;
}

static const struct action *find_kind(enum action_kind k)
{
	for (size_t i = 0; i < acts.n; i++)
		if (acts.v[i].kind == k)
			return &acts.v[i];
	return NULL;
}

static const struct action *find_log(enum job_event e)
{
	for (size_t i = 0; i < acts.n; i++)
		if (acts.v[i].kind == ACT_LOG && acts.v[i].event == e)
			return &acts.v[i];
	return NULL;
}

static struct batch mkbatch(const char *id, enum batch_status st)
{
	return (struct batch){ .id = (char *)id, .name = (char *)"Renewals 2027-01-15 08:00",
			       .agent_id = (char *)"agent_1", .status = st, .created_at_unix = T0,
			       .scheduled_time_unix = T0, .total_calls_scheduled = 3 };
}

static struct run_event ev_time(void)
{
	return (struct run_event){ .kind = RE_TIME };
}

static struct run_event ev_done(enum run_event_kind k, enum req_outcome o, const struct batch *b)
{
	return (struct run_event){ .kind = k, .outcome = o, .batch = b, .http_status = o == REQ_OK ? 200 : 503 };
}

/* Bring a fresh run to "pending" with batch btcal_1. */
static struct run *submitted_run(void)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_PENDING);
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0) + 50, ev_done(RE_SUBMIT_DONE, REQ_OK, &b));
	return r;
}

static struct batch_detail mkdetail(enum batch_status st, int completed, int failed, int voicemail, int64_t retry_count)
{
	struct batch_detail d = { 0 };
	d.batch = mkbatch("btcal_1", st);
	d.batch.retry_count = retry_count;
	d.counts[BATCH_RCPT_COMPLETED] = (size_t)completed;
	d.counts[BATCH_RCPT_FAILED] = (size_t)failed;
	d.counts[BATCH_RCPT_VOICEMAIL] = (size_t)voicemail;
	return d;
}

START_TEST(test_new_run)
{
	struct run *r = run_new(&spec);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00");
	ck_assert_int_eq(r->due_ms, MS(T0));
	run_free(r);
	spec.enabled = false;
	r = run_new(&spec);
	ck_assert_int_eq(r->state, RUN_DISABLED);
	ck_assert_int_eq(r->due_ms, 0);
	step_at(r, MS(T0 + 5), ev_time());
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

START_TEST(test_never_early)
{
	struct run *r = run_new(&spec);
	step_at(r, MS(T0) - 1, ev_time());
	ck_assert_int_eq(acts.n, 0);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->due_ms, MS(T0));
	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(acts.n, 2);
	ck_assert_int_eq(acts.v[0].kind, ACT_PERSIST);
	ck_assert_int_eq(acts.v[1].kind, ACT_SUBMIT);
	ck_assert_int_eq(acts.v[1].scheduled_time_unix, 0);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert_int_eq(r->submit_attempts, 1);
	ck_assert_int_eq(r->intent_ms, MS(T0));
	ck_assert_int_eq(r->op, OP_SUBMIT);
	/* A second tick while the submit is in flight does nothing. */
	step_at(r, MS(T0) + 5, ev_time());
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

START_TEST(test_submit_ahead)
{
	struct run *r;
	spec.submit_ahead = 300;
	r = run_new(&spec);
	ck_assert_int_eq(r->due_ms, MS(T0 - 300));
	step_at(r, MS(T0 - 300) - 1, ev_time());
	ck_assert_int_eq(acts.n, 0);
	step_at(r, MS(T0 - 300), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(find_kind(ACT_SUBMIT)->scheduled_time_unix, T0);
	run_free(r);
	/* Already past the instant (daemon was down): no scheduled time. */
	r = run_new(&spec);
	step_at(r, MS(T0 + 10), ev_time());
	ck_assert_int_eq(find_kind(ACT_SUBMIT)->scheduled_time_unix, 0);
	run_free(r);
}
END_TEST

START_TEST(test_late_and_missed)
{
	struct run *r = run_new(&spec);
	/* Late by less than a second: not worth a "late" entry. */
	step_at(r, MS(T0) + 999, ev_time());
	ck_assert_ptr_null(find_log(JE_LATE));
	run_free(r);

	r = run_new(&spec);
	step_at(r, MS(T0 + 900), ev_time()); /* exactly max_lateness */
	ck_assert_ptr_nonnull(find_log(JE_LATE));
	ck_assert_int_eq(find_log(JE_LATE)->priority, SEV_WARNING);
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	run_free(r);

	r = run_new(&spec);
	step_at(r, MS(T0 + 900) + 1, ev_time());
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_ptr_nonnull(find_log(JE_MISSED));
	ck_assert_int_eq(find_log(JE_MISSED)->priority, SEV_ERR);
	ck_assert_int_eq(count_kind(ACT_PERSIST), 1);
	ck_assert_int_eq(r->state, RUN_MISSED);
	/* Missed is final: nothing more happens, even much later. */
	step_at(r, MS(T0 + 100000), ev_time());
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

START_TEST(test_submit_ok)
{
	struct run *r = submitted_run();
	ck_assert_int_eq(r->state, RUN_PENDING);
	ck_assert_str_eq(r->batch_id, "btcal_1");
	ck_assert_ptr_nonnull(find_log(JE_SUBMITTED));
	ck_assert_int_eq(find_log(JE_SUBMITTED)->attempt, 1);
	ck_assert_int_eq(find_log(JE_SUBMITTED)->http_status, 200);
	ck_assert_int_eq(count_kind(ACT_PERSIST), 1);
	ck_assert_int_eq(r->op, OP_NONE);
	ck_assert(!r->uncertain);
	run_free(r);
}
END_TEST

START_TEST(test_submit_rejected)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_REJECTED, NULL);
	step_at(r, MS(T0), ev_time());
	ev.http_status = 422;
	ev.message = "recipients.0.phone_number: Field required";
	step_at(r, MS(T0) + 20, ev);
	ck_assert_int_eq(r->state, RUN_ERROR);
	ck_assert_str_eq(r->error, "recipients.0.phone_number: Field required");
	ck_assert_ptr_nonnull(find_log(JE_ERROR));
	ck_assert_int_eq(find_log(JE_ERROR)->http_status, 422);
	ck_assert_ptr_nonnull(strstr(find_log(JE_ERROR)->msg, "Field required"));
	step_at(r, MS(T0 + 100), ev_time());
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

START_TEST(test_submit_transient_not_sent)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	step_at(r, MS(T0), ev_time());
	ev.http_status = 0;
	ev.maybe_applied = false;
	step_at(r, MS(T0) + 10, ev);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert(!r->uncertain);
	ck_assert_int_ge(r->due_ms, MS(T0) + 10);
	ck_assert_int_le(r->due_ms, MS(T0) + 10 + 1000);
	ck_assert_ptr_nonnull(find_log(JE_TRANSIENT));
	/* When due: submitted again, without a lookup (it never left). */
	step_at(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->submit_attempts, 2);
	run_free(r);
}
END_TEST

/* A submit withdrawn unsent after a cancel, a removal or `enabled =
 * false` came (it waited in the client's queue, held to its instant):
 * the run is cancelled, dropped or disabled at once, never sent again. */
START_TEST(test_withdrawn_after_stop_asked)
{
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	struct run *r = run_new(&spec);
	struct run_ctx c;

	ev.http_status = 0;
	ev.maybe_applied = false;
	/* cancelled while it waited */
	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert_int_eq(step_at(r, MS(T0) - 50, (struct run_event){ .kind = RE_CANCEL_REQ }), 0);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	step_at(r, MS(T0) + 1, ev);
	ck_assert_int_eq(r->state, RUN_CANCELLED);
	ck_assert_ptr_nonnull(find_log(JE_CANCELLED));
	ck_assert_ptr_null(find_log(JE_TRANSIENT));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);

	/* its job removed (on_removal keep) while it waited: dropped */
	spec.on_removal = ON_REMOVAL_KEEP;
	r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	c = ctx_at(MS(T0) - 50);
	c.spec = NULL;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert(r->removing);
	c.now_ms = MS(T0) + 1;
	acts.n = 0;
	run_step(r, &c, &ev, &acts, NULL);
	ck_assert_int_eq(acts.v[acts.n - 1].kind, ACT_DROP);
	ck_assert_ptr_nonnull(find_log(JE_REMOVED));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);
	spec.on_removal = ON_REMOVAL_CANCEL;

	/* disabled while it waited */
	r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	spec.enabled = false;
	step_at(r, MS(T0) + 1, ev);
	spec.enabled = true;
	ck_assert_int_eq(r->state, RUN_DISABLED);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);
}
END_TEST

START_TEST(test_retry_after_honoured)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	step_at(r, MS(T0), ev_time());
	ev.http_status = 429;
	ev.retry_after_s = 30;
	step_at(r, MS(T0), ev);
	ck_assert_int_eq(r->due_ms, MS(T0 + 30));
	run_free(r);
}
END_TEST

START_TEST(test_unknown_outcome_lookup)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK };
	struct batch b = mkbatch("btcal_9", BATCH_IN_PROGRESS);

	step_at(r, MS(T0), ev_time());
	ev.maybe_applied = true;
	ev.http_status = 0; /* a timeout: the request may still land */
	step_at(r, MS(T0) + 100, ev);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert(r->uncertain);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	/* Due: a lookup, never a blind submit. */
	step_at(r, r->due_ms, ev_time());
	ck_assert_int_eq(acts.n, 1);
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	/* Not found within the grace period: look again at its end. */
	step_at(r, MS(T0) + 2000, lk);
	ck_assert_int_eq(acts.n, 0);
	ck_assert_int_eq(r->due_ms, MS(T0) + 100 + 10000);
	step_at(r, MS(T0) + 10100, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	/* Found: adopted, not submitted again. */
	lk.batch = &b;
	lk.n_found = 1;
	step_at(r, MS(T0) + 10200, lk);
	ck_assert_int_eq(r->state, RUN_IN_PROGRESS);
	ck_assert_str_eq(r->batch_id, "btcal_9");
	ck_assert_ptr_nonnull(find_log(JE_ADOPTED));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->submit_attempts, 1);
	run_free(r);
}
END_TEST


/* A run whose record was lost is looked up under the call_name today's zone
 * gives; its batch, submitted while the job's zone was another, carries that
 * zone's local start: run_call_name_in_zone gives that name, parts kept. */
START_TEST(test_call_name_in_zone)
{
	struct tz *utc = fixture_tz("UTC"), *ny = fixture_tz("America/New_York"), *tokyo = fixture_tz("Asia/Tokyo");
	struct run *r, *p;
	char *alt;
	struct batch b = mkbatch("btcal_5", BATCH_COMPLETED);

	spec.tz = utc;
	r = run_new(&spec);
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00");
	alt = run_call_name_in_zone(r, &spec, ny);
	ck_assert_str_eq(alt, "Renewals 2027-01-15 03:00");
	free(alt);
	alt = run_call_name_in_zone(r, &spec, tokyo);
	ck_assert_str_eq(alt, "Renewals 2027-01-15 17:00");
	free(alt);
	/* in New York's repeated hour (2026-11-01 01:00-02:00) 05:30Z and
	 * 06:30Z both read 01:30: no name (either occurrence's batch could
	 * carry it); an hour later, one again */
	{
		struct run *f = run_new_at(&spec, 1793511000); /* 2026-11-01 05:30Z */
		ck_assert_ptr_null(run_call_name_in_zone(f, &spec, ny));
		run_free(f);
		f = run_new_at(&spec, 1793514600); /* 06:30Z */
		ck_assert_ptr_null(run_call_name_in_zone(f, &spec, ny));
		run_free(f);
		f = run_new_at(&spec, 1793518200); /* 07:30Z: 02:30 EST */
		alt = run_call_name_in_zone(f, &spec, ny);
		ck_assert_str_eq(alt, "Renewals 2026-11-01 02:30");
		free(alt);
		run_free(f);
	}
	/* a part keeps its suffix */
	p = run_new_part(&spec, T0, "follow-up 1", NULL, NULL, 0);
	ck_assert_str_eq(p->call_name, "Renewals 2027-01-15 08:00 (follow-up 1)");
	alt = run_call_name_in_zone(p, &spec, tokyo);
	ck_assert_str_eq(alt, "Renewals 2027-01-15 17:00 (follow-up 1)");
	free(alt);
	/* a call_name that is not this base and start: none */
	free(p->call_name);
	p->call_name = xstrdup("Other 2027-01-15 08:00");
	ck_assert_ptr_null(run_call_name_in_zone(p, &spec, tokyo));
	free(p->call_name);
	p->call_name = xstrdup("Renewals 2027-01-16 08:00");
	ck_assert_ptr_null(run_call_name_in_zone(p, &spec, tokyo));
	run_free(p);
	/* agreement without the name: agent and count */
	b.name = (char *)"Renewals 2027-01-15 17:00";
	ck_assert(!run_batch_matches(r, &b));
	ck_assert(run_batch_agrees(r, &b));
	b.agent_id = (char *)"agent_2";
	ck_assert(!run_batch_agrees(r, &b));
	run_free(r);
	spec.tz = NULL;
	tz_free(utc);
	tz_free(ny);
	tz_free(tokyo);
}
END_TEST

/* Found by the name of its submit's zone: adopted, and from then on it
 * carries that name (the batch's), so that the list and the results agree. */
START_TEST(test_lookup_adopts_zone_name)
{
	struct run *r = run_new(&spec);
	struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .n_found = 1 };
	struct batch b = mkbatch("btcal_7", BATCH_IN_PROGRESS);

	run_suspect(r, 0, MS(T0) + 5000);
	r->submit_attempts = 1;
	step_at(r, MS(T0) + 100, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	b.name = (char *)"Renewals 2027-01-15 17:00";
	lk.batch = &b;
	step_at(r, MS(T0) + 200, lk);
	ck_assert_str_eq(r->batch_id, "btcal_7");
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 17:00");
	ck_assert(run_batch_matches(r, &b));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);
}
END_TEST

/* A run with `retries` already (a follow-up's, from its parent) that
 * adopts, through a lookup, a batch showing retry_count retries. */
static struct run *adopted(int retries, int64_t retry_count)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_COMPLETED);

	b.retry_count = retry_count;
	run_suspect(r, 0, MS(T0) + 5000);
	r->retries = retries;
	step_at(r, MS(T0) + 100, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	step_at(r, MS(T0) + 200,
		(struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .n_found = 1, .batch = &b });
	ck_assert_str_eq(r->batch_id, "btcal_1");
	return r;
}

/* A batch adopted without its record (the state folder emptied) after
 * two retries under a policy of two: its failures are not retried again
 * (the review's model run: a number called four times over contact limits
 * of two, each adopted run retrying from 0 under attempt names its
 * earlier life had used). */
START_TEST(test_adopted_keeps_batch_retries)
{
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 1, 1, 2);
	struct run_event dt = { .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d };
	struct run *r = adopted(0, 2);

	ck_assert_int_eq(r->retries, 2);
	ck_assert_ptr_nonnull(find_kind(ACT_FETCH_DETAIL));
	step_at(r, MS(T0) + 300, dt);
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	run_free(r);
	/* After one retry of two: one more, named retry 2. */
	r = adopted(0, 1);
	ck_assert_int_eq(r->retries, 1);
	d = mkdetail(BATCH_COMPLETED, 1, 1, 1, 1);
	step_at(r, MS(T0) + 300, dt);
	ck_assert_int_eq(r->state, RUN_RETRY_WAIT);
	ck_assert_int_eq(find_log(JE_STATUS)->attempt, 2);
	run_free(r);
	/* A deferred follow-up begins with its parent's retries (1) and no
	 * contact_base: its batch's retry counts on top (review). */
	r = adopted(1, 1);
	ck_assert_int_eq(r->retries, 2);
	run_free(r);
	/* An API's retry_count at the codec's bound: within what the state
	 * file reads back (review). */
	r = adopted(1, 1000000);
	ck_assert_int_eq(r->retries, STATE_COUNT_MAX);
	run_free(r);
}
END_TEST

START_TEST(test_unknown_outcome_not_found_after_grace)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK };

	step_at(r, MS(T0), ev_time());
	ev.maybe_applied = true;
	ev.origin_answered = true; /* the API's own 503, long after the intent */
	step_at(r, MS(T0) + 30000, ev);
	step_at(r, r->due_ms, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	step_at(r, r->due_ms + 100, lk);
	/* 30 s after the instant, but the first attempt left on time: not
	 * late (issue 13), a new intent and submit. */
	ck_assert_int_eq(acts.n, 2);
	ck_assert_int_eq(acts.v[0].kind, ACT_PERSIST);
	ck_assert_int_eq(acts.v[1].kind, ACT_SUBMIT);
	ck_assert_ptr_null(find_log(JE_LATE));
	ck_assert_int_eq(r->submit_attempts, 2);
	run_free(r);
}
END_TEST

START_TEST(test_answered_failure_is_conclusive)
{
	/* The api layer says whose answer it was (api_origin_answered): the
	 * status alone does not, a load balancer sends 503 too. */
	static const struct {
		long status;
		bool origin;
	} cases[] = { { 500, true }, { 503, true }, { 429, true }, { 503, false }, { 500, false }, { 520, false },
		      { 504, false }, { 502, false }, { 408, false }, { 0, false } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run *r = run_new(&spec);
		struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
		struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK };
		bool origin = cases[i].origin;

		step_at(r, MS(T0), ev_time());
		ev.maybe_applied = true;
		ev.http_status = cases[i].status;
		ev.origin_answered = origin;
		step_at(r, MS(T0) + 100, ev);
		step_at(r, r->due_ms, ev_time());
		ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
		step_at(r, MS(T0) + 1200, lk);
		/* The API answered: the list is the truth at once. A proxy's
		 * answer or none: wait out the grace period first. */
		ck_assert_msg((find_kind(ACT_SUBMIT) != NULL) == origin, "status %ld", cases[i].status);
		if (!origin)
			ck_assert_int_eq(r->due_ms, MS(T0) + 100 + 10000);
		run_free(r);
	}
}
END_TEST

/* A load balancer's 503 (an HTML page) to a submit: the request may still
 * be on its way to the API, so a lookup that finds nothing settles only
 * after the grace period; the request landing meanwhile is adopted. */
START_TEST(test_proxy_503_waits_grace)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_TRANSIENT, NULL);
	struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK };
	struct batch b = mkbatch("btcal_late", BATCH_PENDING);

	step_at(r, MS(T0), ev_time());
	ev.maybe_applied = true;
	ev.http_status = 503;
	ev.origin_answered = false;
	step_at(r, MS(T0) + 100, ev);
	ck_assert(r->uncertain);
	ck_assert_int_eq(r->settle_ms, MS(T0) + 100 + 10000);
	/* every lookup inside the grace period finds nothing, and submits nothing */
	for (int64_t t = MS(T0) + 1000; t < MS(T0) + 100 + 10000; t += 1500) {
		step_at(r, r->due_ms > t ? r->due_ms : t, ev_time());
		if (find_kind(ACT_LOOKUP) == NULL)
			continue;
		step_at(r, t + 10, lk);
		ck_assert_ptr_null(find_kind(ACT_SUBMIT));
		ck_assert_int_eq(r->state, RUN_SUBMITTING);
		ck_assert_int_eq(r->due_ms, MS(T0) + 100 + 10000);
	}
	ck_assert_int_eq(r->submit_attempts, 1);
	/* it landed before the grace period ended: adopted, never sent twice */
	step_at(r, MS(T0) + 10100, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	lk.batch = &b;
	lk.n_found = 1;
	step_at(r, MS(T0) + 10150, lk);
	ck_assert_str_eq(r->batch_id, "btcal_late");
	ck_assert_ptr_nonnull(find_log(JE_ADOPTED));
	ck_assert_int_eq(r->submit_attempts, 1);
	run_free(r);

	/* the same, and nothing ever landed: submitted again only then */
	r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0) + 100, ev);
	step_at(r, r->due_ms, ev_time());
	lk.batch = NULL;
	lk.n_found = 0;
	step_at(r, MS(T0) + 10099, lk);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	step_at(r, MS(T0) + 10100, ev_time());
	step_at(r, MS(T0) + 10100, lk);
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->submit_attempts, 2);
	run_free(r);
}
END_TEST

START_TEST(test_restart_in_submitting_waits_grace)
{
	struct run *r = run_new(&spec);
	char *text, *cause = NULL;
	struct run *back = NULL;
	step_at(r, MS(T0), ev_time()); /* intent persisted, then kill -9 */
	text = state_format(r);
	ck_assert_int_eq(state_parse(text, strlen(text), &back, &cause), 0);
	ck_assert_int_eq(back->op, OP_NONE);
	step_at(back, MS(T0) + 500, ev_time());
	ck_assert_int_eq(acts.n, 1);
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	step_at(back, MS(T0) + 600, (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_int_eq(acts.n, 0);
	ck_assert_int_eq(back->due_ms, MS(T0) + 10000);
	free(text);
	run_free(r);
	run_free(back);
}
END_TEST

START_TEST(test_skip_reason_marks_missed)
{
	struct run *r = run_new(&spec);
	struct run_ctx c = ctx_at(MS(T0));
	c.skip = "the previous run's batch is still active (overlap = skip)";
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
	ck_assert_int_eq(r->state, RUN_MISSED);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_ptr_nonnull(strstr(find_log(JE_MISSED)->msg, "overlap = skip"));
	run_free(r);
}
END_TEST

START_TEST(test_deferred_submit_and_close)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_IN_PROGRESS);
	/* Deferred by calling hours to T0 + 1 h; the window closes at T0 + 2 h. */
	r->submit_at_ms = MS(T0 + 3600);
	r->close_ms = MS(T0 + 7200);
	r->due_ms = r->submit_at_ms;
	step_at(r, MS(T0 + 3599), ev_time());
	ck_assert_int_eq(acts.n, 0);
	step_at(r, MS(T0 + 3600), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_ptr_null(find_log(JE_LATE)); /* lateness counts from the opening */
	step_at(r, MS(T0 + 3601), ev_done(RE_SUBMIT_DONE, REQ_OK, &b));
	ck_assert_int_eq(r->due_ms, MS(T0 + 7200));
	step_at(r, MS(T0 + 7199), ev_time());
	ck_assert_int_eq(acts.n, 0);
	step_at(r, MS(T0 + 7200), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	ck_assert_ptr_nonnull(strstr(find_log(JE_CANCELLED)->msg, "calling hours closed"));
	run_free(r);
}
END_TEST

START_TEST(test_window_judged_at_submission)
{
	struct run *r = run_new(&spec);
	struct run_ctx c = ctx_at(MS(T0 + 600)); /* late by 10 min after downtime */
	/* The hours closed meanwhile; they open again at T0 + 13 h until T0 + 24 h. */
	c.window_open_ms = MS(T0 + 13 * 3600);
	c.window_close_ms = MS(T0 + 24 * 3600);
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->due_ms, MS(T0 + 13 * 3600));
	ck_assert_int_eq(r->close_ms, MS(T0 + 24 * 3600));
	/* At the opening: submitted, not missed (lateness counts from it). */
	c = ctx_at(MS(T0 + 13 * 3600));
	c.window_open_ms = c.now_ms;
	c.window_close_ms = MS(T0 + 24 * 3600);
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	run_free(r);

	r = run_new(&spec);
	c = ctx_at(MS(T0 + 600));
	c.window_open_ms = MS(T0 + 13 * 3600);
	c.window_skip = true;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
	ck_assert_int_eq(r->state, RUN_MISSED);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	/* A trigger outside the hours with skip is refused, not accepted and
	 * then skipped (the model test's "lost trigger"); the run is unchanged. */
	{
		const char *why = NULL;
		acts.n = 0;
		ck_assert_int_eq(run_step(r, &c, &(struct run_event){ .kind = RE_TRIGGER_REQ, .retry_after_s = -1 },
					  &acts, &why), -EBUSY);
		ck_assert_ptr_nonnull(strstr(why, "outside_window = skip"));
		ck_assert_int_eq(r->state, RUN_MISSED);
		ck_assert_int_eq(acts.n, 0);
		/* With defer it is accepted and deferred to the opening. */
		c.window_skip = false;
		ck_assert_int_eq(run_step(r, &c, &(struct run_event){ .kind = RE_TRIGGER_REQ, .retry_after_s = -1 },
					  &acts, &why), 0);
		ck_assert_int_eq(r->state, RUN_SCHEDULED);
		ck_assert_int_eq(r->due_ms, MS(T0 + 13 * 3600));
	}
	run_free(r);
}
END_TEST

START_TEST(test_pause_and_resume)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_CANCELLED);
	struct batch_detail d = mkdetail(BATCH_CANCELLED, 1, 0, 0, 0);
	struct batch_rcpt rc[4] = {
		{ .id = (char *)"a", .phone_number = (char *)"+15550100001", .status = BATCH_RCPT_COMPLETED,
		  .conversation_id = (char *)"conv_1" },
		{ .id = (char *)"b", .phone_number = (char *)"+15550100002", .status = BATCH_RCPT_CANCELLED,
		  .conversation_id = (char *)"conv_2" }, /* was on the phone: never rung again */
		{ .id = (char *)"c", .phone_number = (char *)"+15550100003", .status = BATCH_RCPT_CANCELLED },
		{ .id = (char *)"d", .whatsapp_user_id = (char *)"15550100004", .status = BATCH_RCPT_PENDING },
	};

	/* Not submitted yet: paused as it is, resumed at once. */
	ck_assert_int_eq(step_at(r, MS(T0 - 60), (struct run_event){ .kind = RE_PAUSE_REQ }), 0);
	ck_assert_int_eq(r->state, RUN_PAUSED);
	step_at(r, MS(T0 + 10), ev_time());
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(step_at(r, MS(T0 + 20), (struct run_event){ .kind = RE_PAUSE_REQ }), -EALREADY);
	ck_assert_int_eq(step_at(r, MS(T0 + 3600), (struct run_event){ .kind = RE_RESUME_REQ }), 0);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	step_at(r, MS(T0 + 3600), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_ptr_null(find_log(JE_MISSED)); /* lateness counts from the resume */
	run_free(r);

	/* Active: cancelled, and only the never-dialled are handed on. */
	r = submitted_run();
	ck_assert_int_eq(step_at(r, MS(T0 + 5), (struct run_event){ .kind = RE_PAUSE_REQ }), 0);
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	step_at(r, MS(T0 + 6), ev_done(RE_CANCEL_DONE, REQ_OK, &b));
	ck_assert_ptr_nonnull(find_kind(ACT_FETCH_DETAIL));
	d.rcpts = rc;
	d.n_rcpts = 4;
	step_at(r, MS(T0 + 7), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(r->n_unfinished, 2);
	ck_assert_str_eq(r->unfinished[0], "+15550100003");
	ck_assert_str_eq(r->unfinished[1], "15550100004");
	ck_assert_int_eq(r->follow, FOLLOW_PAUSE); /* for the engine, which clears it */
	ck_assert_int_eq(r->state, RUN_CANCELLED);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	run_free(r);
}
END_TEST

START_TEST(test_close_with_resume_hands_on)
{
	struct run *r;
	struct batch b = mkbatch("btcal_1", BATCH_CANCELLED);
	struct batch_detail d = mkdetail(BATCH_CANCELLED, 0, 0, 0, 0);
	struct batch_rcpt rc[1] = { { .id = (char *)"c", .phone_number = (char *)"+15550100003",
				      .status = BATCH_RCPT_CANCELLED } };
	spec.resume = true;
	r = submitted_run();
	r->close_ms = MS(T0 + 100);
	step_at(r, MS(T0 + 100), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	ck_assert_int_eq(r->follow, FOLLOW_RESUME);
	step_at(r, MS(T0 + 101), ev_done(RE_CANCEL_DONE, REQ_OK, &b));
	d.rcpts = rc;
	d.n_rcpts = 1;
	step_at(r, MS(T0 + 102), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(r->n_unfinished, 1);
	run_free(r);
}
END_TEST

/* A follow-up takes its parent's never-dialled recipients, zone and retry
 * budget; resumed it is due at once (the calling hours defer it), paused
 * it waits for the operator. */
START_TEST(test_new_follow_up)
{
	struct run *parent = submitted_run(), *f;
	char **left = xcalloc(2, sizeof(*left));

	left[0] = xstrdup("+15550100003");
	left[1] = xstrdup("15550100004");
	parent->unfinished = left;
	parent->n_unfinished = 2;
	parent->zone = xstrdup("America/Chicago");
	parent->retries = 1;
	parent->follow = FOLLOW_RESUME;
	f = run_new_follow_up(parent, &spec, "resume 1", MS(T0 + 500));
	ck_assert_str_eq(f->job, "renewals");
	ck_assert_int_eq(f->start, T0);
	ck_assert_str_eq(f->part, "resume 1");
	ck_assert_str_eq(f->call_name, "Renewals 2027-01-15 08:00 (resume 1)");
	ck_assert_str_eq(f->zone, "America/Chicago");
	ck_assert_ptr_eq(f->rcpts, left); /* taken, not copied */
	ck_assert_int_eq(f->n_rcpts, 2);
	ck_assert_str_eq(f->rcpts[1], "15550100004");
	ck_assert_int_eq(f->retries, 1);
	ck_assert_int_eq(f->state, RUN_SCHEDULED);
	ck_assert_int_eq(f->due_ms, MS(T0 + 500));
	ck_assert_int_eq(f->submit_at_ms, MS(T0 + 500));
	ck_assert_int_eq(f->submit_attempts, 0);
	ck_assert_ptr_null(f->batch_id);
	ck_assert_ptr_null(parent->unfinished);
	ck_assert_int_eq(parent->n_unfinished, 0);
	ck_assert_int_eq(parent->follow, FOLLOW_NONE);
	ck_assert_int_eq(parent->follow_n, 1);
	ck_assert_str_eq(parent->batch_id, "btcal_1");
	run_free(f);

	/* Paused: kept until `batchcallctl resume`, nothing due. */
	parent->unfinished = xcalloc(1, sizeof(*parent->unfinished));
	parent->unfinished[0] = xstrdup("+15550100005");
	parent->n_unfinished = 1;
	parent->follow = FOLLOW_PAUSE;
	f = run_new_follow_up(parent, &spec, "resume 2", MS(T0 + 900));
	ck_assert_str_eq(f->call_name, "Renewals 2027-01-15 08:00 (resume 2)");
	ck_assert_int_eq(f->state, RUN_PAUSED);
	ck_assert_int_eq(f->due_ms, 0);
	ck_assert_int_eq(f->submit_at_ms, 0);
	ck_assert_int_eq(f->n_rcpts, 1);
	ck_assert_int_eq(parent->follow_n, 2);
	run_free(f);

	/* The job was disabled meanwhile: the follow-up is too, and not due;
	 * the count saturates at STATE_COUNT_MAX. */
	spec.enabled = false;
	parent->follow = FOLLOW_RESUME;
	parent->follow_n = STATE_COUNT_MAX;
	f = run_new_follow_up(parent, &spec, "resume 3", MS(T0 + 950));
	ck_assert_int_eq(f->state, RUN_DISABLED);
	ck_assert_int_eq(f->due_ms, 0);
	ck_assert_int_eq(f->submit_at_ms, 0);
	ck_assert_ptr_null(f->rcpts);
	ck_assert_int_eq(f->n_rcpts, 0);
	ck_assert_int_eq(parent->follow_n, STATE_COUNT_MAX);
	run_free(f);
	run_free(parent);
}
END_TEST

/* A run rebuilt from its identity after its record was lost: uncertain,
 * one submit assumed, no intent instant, concluded from settle_ms on. */
START_TEST(test_new_lost)
{
	struct run *r = run_new_lost(&spec, T0, NULL, NULL, NULL, 0, false, MS(T0 + 30));
	char **v;

	ck_assert_ptr_null(r->part);
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00");
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert(r->uncertain);
	ck_assert(!r->lookup_only);
	ck_assert_int_eq(r->submit_attempts, 1);
	ck_assert_int_eq(r->intent_ms, 0);
	ck_assert_int_eq(r->first_intent_ms, 0);
	ck_assert_int_eq(r->settle_ms, MS(T0 + 30));
	ck_assert_int_eq(r->due_ms, 0);
	ck_assert_uint_eq(r->digest, 42);
	/* Looked up, never submitted blindly; found nothing after settle_ms:
	 * submitted once. */
	step_at(r, MS(T0 + 1), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_LOOKUP));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	step_at(r, MS(T0 + 31), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_int_eq(count_kind(ACT_SUBMIT), 1);
	run_free(r);

	/* A part whose recipients are unknown: lookup_only, taken rcpts. */
	v = xcalloc(1, sizeof(*v));
	v[0] = xstrdup("+15550100009");
	r = run_new_lost(&spec, T0 + 60, "America/Chicago", "America/Chicago", v, 1, true, MS(T0 + 90));
	ck_assert_int_eq(r->start, T0 + 60);
	ck_assert_str_eq(r->part, "America/Chicago");
	ck_assert_str_eq(r->zone, "America/Chicago");
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:01 (America/Chicago)");
	ck_assert_ptr_eq(r->rcpts, v);
	ck_assert_int_eq(r->n_rcpts, 1);
	ck_assert(r->lookup_only);
	ck_assert(r->uncertain);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert_int_eq(r->settle_ms, MS(T0 + 90));
	run_free(r);
}
END_TEST

/* The shell's postponement moves only the due time. */
START_TEST(test_postpone)
{
	struct run *r = run_new(&spec);

	run_postpone(r, MS(T0 + 5));
	ck_assert_int_eq(r->due_ms, MS(T0 + 5));
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->submit_at_ms, 0);
	ck_assert_int_eq(r->submit_attempts, 0);
	run_postpone(r, MS(T0 + 2));
	ck_assert_int_eq(r->due_ms, MS(T0 + 2));
	step_at(r, MS(T0 + 2), ev_time());
	ck_assert_int_eq(count_kind(ACT_SUBMIT), 1);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	run_free(r);
}
END_TEST

/* A run suspected of an earlier life's submit is looked up, never sent,
 * until the lookup concludes. */
START_TEST(test_suspect)
{
	struct run *r = run_new(&spec);

	run_suspect(r, MS(T0 - 10), MS(T0 + 6));
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert(r->uncertain);
	ck_assert_int_eq(r->intent_ms, MS(T0 - 10));
	ck_assert_int_eq(r->first_intent_ms, 0);
	ck_assert_int_eq(r->settle_ms, MS(T0 + 6));
	ck_assert_int_eq(r->due_ms, 0);
	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(count_kind(ACT_SUBMIT), 0);
	ck_assert_int_eq(count_kind(ACT_LOOKUP), 1);
	run_free(r);
}
END_TEST

/* The calling hours move a scheduled run's submit and due time; a run
 * past scheduled keeps its due time; 0 leaves the submit time alone. */
START_TEST(test_set_window)
{
	struct run *r = run_new(&spec);

	run_set_window(r, MS(T0 + 3600), MS(T0 + 7200));
	ck_assert_int_eq(r->submit_at_ms, MS(T0 + 3600));
	ck_assert_int_eq(r->due_ms, MS(T0 + 3600));
	ck_assert_int_eq(r->close_ms, MS(T0 + 7200));
	run_set_window(r, 0, 0);
	ck_assert_int_eq(r->submit_at_ms, MS(T0 + 3600));
	ck_assert_int_eq(r->due_ms, MS(T0 + 3600));
	ck_assert_int_eq(r->close_ms, 0);
	r->state = RUN_SUBMITTING;
	r->due_ms = MS(T0 + 10);
	run_set_window(r, MS(T0 + 9000), MS(T0 + 9900));
	ck_assert_int_eq(r->submit_at_ms, MS(T0 + 9000));
	ck_assert_int_eq(r->due_ms, MS(T0 + 10));
	ck_assert_int_eq(r->close_ms, MS(T0 + 9900));
	run_free(r);
}
END_TEST

/* Each write raises the generation, and the generation is kept in the
 * record: the newest record of a run wins wherever it is. */
START_TEST(test_note_write)
{
	struct run *r = run_new(&spec), *back = NULL;
	char *text, *cause = NULL;

	ck_assert_uint_eq(r->gen, 0);
	run_note_write(r);
	ck_assert_uint_eq(r->gen, 1);
	run_note_write(r);
	ck_assert_uint_eq(r->gen, 2);
	text = state_format(r);
	ck_assert_int_eq(state_parse(text, strlen(text), &back, &cause), 0);
	ck_assert_uint_eq(back->gen, 2);
	free(text);
	run_free(back);
	run_free(r);
}
END_TEST

START_TEST(test_state_roundtrip_parts)
{
	struct run *r = run_new(&spec), *back = NULL;
	char *text, *cause = NULL;
	run_set_part(r, &spec, "America/Chicago");
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00 (America/Chicago)");
	r->zone = xstrdup("America/Chicago");
	r->rcpts = xcalloc(2, sizeof(*r->rcpts));
	r->rcpts[r->n_rcpts++] = xstrdup("+15550100001");
	r->rcpts[r->n_rcpts++] = xstrdup("+15550100002");
	r->state = RUN_PAUSED;
	text = state_format(r);
	ck_assert_int_eq(state_parse(text, strlen(text), &back, &cause), 0);
	ck_assert_str_eq(back->part, "America/Chicago");
	ck_assert_str_eq(back->zone, "America/Chicago");
	ck_assert_int_eq(back->n_rcpts, 2);
	ck_assert_str_eq(back->rcpts[1], "+15550100002");
	ck_assert_int_eq(back->state, RUN_PAUSED);
	free(text);
	run_free(r);
	run_free(back);
}
END_TEST

START_TEST(test_duplicate_lookup_logged)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_old", BATCH_PENDING);
	struct run_event lk = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .batch = &b, .n_found = 2 };
	r->state = RUN_SUBMITTING;
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0), lk);
	ck_assert_ptr_nonnull(find_log(JE_DUPLICATE));
	ck_assert_str_eq(r->batch_id, "btcal_old");
	run_free(r);
}
END_TEST

START_TEST(test_auth_pauses_without_failing)
{
	struct run *r = run_new(&spec);
	struct run_event ev = ev_done(RE_SUBMIT_DONE, REQ_AUTH, NULL);
	step_at(r, MS(T0), ev_time());
	ev.http_status = 401;
	step_at(r, MS(T0), ev);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_ptr_null(find_log(JE_ERROR));
	ck_assert_int_gt(r->due_ms, 0);
	ck_assert(!r->uncertain);
	run_free(r);
}
END_TEST

START_TEST(test_full_lifecycle_with_retries)
{
	struct run *r = submitted_run();
	struct batch b = mkbatch("btcal_1", BATCH_IN_PROGRESS);
	struct batch_detail d;
	struct run_event st = { .kind = RE_STATUS, .outcome = REQ_OK, .batch = &b };
	struct run_event dt = { .kind = RE_DETAIL_DONE, .outcome = REQ_OK };
	int64_t t = MS(T0 + 60);

	step_at(r, t, st);
	ck_assert_int_eq(r->state, RUN_IN_PROGRESS);
	ck_assert_ptr_nonnull(find_log(JE_STATUS));
	/* Same status again: nothing to persist, a debug line only. */
	step_at(r, t + 1000, st);
	ck_assert_int_eq(acts.n, 1);
	ck_assert_int_eq(acts.v[0].kind, ACT_LOG);
	ck_assert_int_eq(acts.v[0].priority, SEV_DEBUG);
	b.status = BATCH_COMPLETED;
	step_at(r, t + 2000, st);
	ck_assert_ptr_nonnull(find_kind(ACT_FETCH_DETAIL));
	d = mkdetail(BATCH_COMPLETED, 1, 1, 1, 0);
	dt.detail = &d;
	step_at(r, t + 3000, dt);
	ck_assert_int_eq(r->state, RUN_RETRY_WAIT);
	ck_assert_int_eq(r->due_ms, t + 3000 + MS(600));
	ck_assert_int_eq(r->counts[BATCH_RCPT_FAILED], 1);
	step_at(r, r->due_ms - 1, ev_time());
	ck_assert_int_eq(acts.n, 0);
	step_at(r, t + 3000 + MS(600), ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_PERSIST);
	ck_assert_int_eq(acts.v[1].kind, ACT_RETRY);
	ck_assert_int_eq(r->retry_expect, 1);
	b.status = BATCH_IN_PROGRESS;
	b.retry_count = 1;
	step_at(r, t + MS(700), ev_done(RE_RETRY_DONE, REQ_OK, &b));
	ck_assert_int_eq(r->retries, 1);
	ck_assert_int_eq(r->state, RUN_IN_PROGRESS);
	ck_assert_int_eq(find_log(JE_RETRIED)->attempt, 1);
	/* Second round: delay doubles. */
	b.status = BATCH_COMPLETED;
	step_at(r, t + MS(800), st);
	d = mkdetail(BATCH_COMPLETED, 2, 1, 0, 1);
	step_at(r, t + MS(801), dt);
	ck_assert_int_eq(r->due_ms, t + MS(801) + MS(1200));
	step_at(r, r->due_ms, ev_time());
	b.status = BATCH_IN_PROGRESS;
	b.retry_count = 2;
	step_at(r, t + MS(2100), ev_done(RE_RETRY_DONE, REQ_OK, &b));
	ck_assert_int_eq(r->retries, 2);
	/* Third finish: max_retries reached, finished for good. */
	b.status = BATCH_COMPLETED;
	step_at(r, t + MS(2200), st);
	d = mkdetail(BATCH_COMPLETED, 2, 1, 0, 2);
	step_at(r, t + MS(2201), dt);
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_nonnull(find_log(JE_FINISHED));
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_int_eq(r->finished_at, (t + MS(2201)) / 1000);
	run_free(r);
}
END_TEST

START_TEST(test_all_completed_needs_no_retry)
{
	struct run *r = submitted_run();
	struct batch b = mkbatch("btcal_1", BATCH_COMPLETED);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 3, 0, 0, 0);
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_STATUS, .outcome = REQ_OK, .batch = &b });
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_int_eq(find_log(JE_FINISHED)->priority, SEV_NOTICE);
	run_free(r);
}
END_TEST

START_TEST(test_max_retries_zero)
{
	struct run *r;
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 2, 0, 0);
	spec.retry.max_retries = 0;
	r = submitted_run();
	r->op = OP_DETAIL;
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	run_free(r);
}
END_TEST

START_TEST(test_batch_failed)
{
	struct run *r = submitted_run();
	struct batch_detail d = mkdetail(BATCH_FAILED, 0, 0, 0, 0);
	d.counts[BATCH_RCPT_CANCELLED] = 3;
	r->op = OP_DETAIL;
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_FAILED);
	ck_assert_int_eq(find_log(JE_FINISHED)->priority, SEV_WARNING);
	run_free(r);
}
END_TEST

START_TEST(test_cancel_requests)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_CANCELLED);
	ck_assert_int_eq(step_at(r, MS(T0 - 10), (struct run_event){ .kind = RE_CANCEL_REQ }), 0);
	ck_assert_int_eq(r->state, RUN_CANCELLED);
	ck_assert_ptr_nonnull(find_log(JE_CANCELLED));
	/* Never submitted afterwards. */
	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(acts.n, 0);
	ck_assert_int_eq(step_at(r, MS(T0), (struct run_event){ .kind = RE_CANCEL_REQ }), -EALREADY);
	run_free(r);

	r = submitted_run();
	ck_assert_int_eq(step_at(r, MS(T0 + 5), (struct run_event){ .kind = RE_CANCEL_REQ }), 0);
	ck_assert_int_eq(acts.v[0].kind, ACT_PERSIST);
	ck_assert_int_eq(acts.v[1].kind, ACT_CANCEL);
	step_at(r, MS(T0 + 6), ev_done(RE_CANCEL_DONE, REQ_OK, &b));
	ck_assert_int_eq(r->state, RUN_CANCELLED);
	ck_assert_ptr_nonnull(find_log(JE_CANCELLED));
	run_free(r);

	/* Refused because it finished meanwhile: its real end is recorded,
	 * and no retry follows the cancel. */
	r = submitted_run();
	step_at(r, MS(T0 + 5), (struct run_event){ .kind = RE_CANCEL_REQ });
	step_at(r, MS(T0 + 6), ev_done(RE_CANCEL_DONE, REQ_REJECTED, NULL));
	ck_assert_ptr_nonnull(find_kind(ACT_FETCH_DETAIL));
	{
		struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 2, 0, 0);
		step_at(r, MS(T0 + 7), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	}
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	run_free(r);
}
END_TEST

START_TEST(test_removal)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_CANCELLED);
	struct run_ctx c = ctx_at(MS(T0 - 5));
	c.spec = NULL;
	/* Never submitted: dropped, made again if the job comes back. */
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_int_eq(acts.v[acts.n - 1].kind, ACT_DROP);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);

	/* Submitted, on_removal = cancel: cancelled, and the record stays. */
	r = submitted_run();
	c.now_ms = MS(T0 + 5);
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	ck_assert_ptr_null(find_kind(ACT_DROP));
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_CANCEL_DONE, .outcome = REQ_OK, .batch = &b }, &acts, NULL);
	ck_assert_int_eq(r->state, RUN_CANCELLED);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_ptr_null(find_kind(ACT_DROP));
	/* A finished run of a removed job is history: nothing more. */
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_int_eq(acts.n, 0);
	run_free(r);

	/* on_removal = keep: let go, kept as state "removed". */
	spec.on_removal = ON_REMOVAL_KEEP;
	r = submitted_run();
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_ptr_null(find_kind(ACT_CANCEL));
	ck_assert_ptr_null(find_kind(ACT_DROP));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_ptr_nonnull(find_log(JE_REMOVED));
	ck_assert_int_eq(r->state, RUN_REMOVED);
	ck_assert(run_submitted(r));
	ck_assert(run_at_rest(r));
	/* The job comes back: its batch is followed again, never submitted. */
	c.spec = &spec;
	c.now_ms = MS(T0 + 9);
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_READDED }, &acts, NULL);
	ck_assert_int_eq(r->state, RUN_PENDING);
	ck_assert(!r->removing);
	ck_assert_int_eq(r->due_ms, MS(T0 + 9));
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	step_at(r, MS(T0 + 9), ev_time());
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	run_free(r);
}
END_TEST

/* A follow-up's recipients exist only in its record: removal keeps it. */
START_TEST(test_removal_keeps_follow_up)
{
	struct run *r = run_new(&spec);
	struct run_ctx c = ctx_at(MS(T0 - 5));

	run_set_part(r, &spec, "resume 1");
	ck_assert(run_is_follow_up(r));
	r->state = RUN_PAUSED;
	r->due_ms = 0;
	c.spec = NULL;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_ptr_null(find_kind(ACT_DROP));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_int_eq(r->state, RUN_PAUSED);
	ck_assert(r->removing);
	c.spec = &spec;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_READDED }, &acts, NULL);
	ck_assert(!r->removing);
	ck_assert_int_eq(r->state, RUN_PAUSED);
	run_free(r);

	/* A zone group (a sibling may be under way) is kept too; a whole
	 * run is made again from the file: dropped. */
	r = run_new(&spec);
	run_set_part(r, &spec, "America/Chicago");
	r->zone = xstrdup("America/Chicago");
	ck_assert(!run_is_follow_up(r));
	c.spec = NULL;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_ptr_null(find_kind(ACT_DROP));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert(r->removing);
	run_free(r);
}
END_TEST

START_TEST(test_removal_while_uncertain)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_7", BATCH_PENDING);
	struct run_ctx c;

	r->state = RUN_SUBMITTING; /* as after a crash */
	r->intent_ms = MS(T0);
	c = ctx_at(MS(T0 + 1));
	c.spec = NULL;
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_REMOVED }, &acts, NULL);
	ck_assert_ptr_null(find_kind(ACT_DROP));
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_TIME }, &acts, NULL);
	ck_assert_int_eq(acts.v[0].kind, ACT_LOOKUP);
	acts.n = 0;
	run_step(r, &c, &(struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .batch = &b, .n_found = 1 },
		 &acts, NULL);
	ck_assert_ptr_nonnull(find_log(JE_ADOPTED));
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	run_free(r);
}
END_TEST

START_TEST(test_trigger_and_retry_requests)
{
	struct run *r = run_new(&spec);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 0, 1, 0);
	ck_assert_int_eq(step_at(r, MS(T0 - 3600), (struct run_event){ .kind = RE_TRIGGER_REQ }), 0);
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(step_at(r, MS(T0 - 3600), (struct run_event){ .kind = RE_TRIGGER_REQ }), -EBUSY);
	run_free(r);

	r = submitted_run();
	ck_assert_int_eq(step_at(r, MS(T0 + 1), (struct run_event){ .kind = RE_TRIGGER_REQ }), -EALREADY);
	ck_assert_int_eq(step_at(r, MS(T0 + 1), (struct run_event){ .kind = RE_RETRY_REQ }), -EBUSY);
	r->op = OP_DETAIL;
	spec.retry.max_retries = 0;
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	/* The operator may retry beyond the policy. */
	ck_assert_int_eq(step_at(r, MS(T0 + 70), (struct run_event){ .kind = RE_RETRY_REQ }), 0);
	ck_assert_ptr_nonnull(find_kind(ACT_RETRY));
	run_free(r);

	r = submitted_run();
	r->op = OP_DETAIL;
	d = mkdetail(BATCH_COMPLETED, 3, 0, 0, 0);
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(step_at(r, MS(T0 + 70), (struct run_event){ .kind = RE_RETRY_REQ }), -EALREADY);
	run_free(r);

	spec.enabled = false;
	r = run_new(&spec);
	ck_assert_int_eq(step_at(r, MS(T0), (struct run_event){ .kind = RE_TRIGGER_REQ }), -EBUSY);
	run_free(r);
}
END_TEST

START_TEST(test_store_failure_stops_submit)
{
	struct run *r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0), (struct run_event){ .kind = RE_STORE_FAILED });
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->submit_attempts, 0);
	ck_assert_int_eq(r->op, OP_NONE);
	ck_assert_int_gt(r->due_ms, MS(T0) - 1);
	run_free(r);
}
END_TEST

/* A batch that finished while the state could not be written: the write of
 * its status failed, so its detail was never asked for. The fetch is
 * asked for again once the failure's backoff is over; a run waiting for an
 * answer that will never come would stay in_progress for ever, unpolled,
 * and a removal with on_removal = keep would wait for that answer too. */
START_TEST(test_store_failure_before_fetch)
{
	struct run *r = submitted_run();
	struct batch b = mkbatch("btcal_1", BATCH_COMPLETED);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 3, 0, 0, 0);

	step_at(r, MS(T0 + 60), ev_done(RE_STATUS, REQ_OK, &b));
	ck_assert_int_eq(acts.n, 3); /* log, persist, fetch */
	ck_assert_int_eq(acts.v[1].kind, ACT_PERSIST);
	ck_assert_int_eq(acts.v[2].kind, ACT_FETCH_DETAIL);
	/* the persist failed: nothing after it was carried out */
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_STORE_FAILED });
	ck_assert_int_eq(r->op, OP_NONE);
	ck_assert_int_eq(r->state, RUN_IN_PROGRESS);
	ck_assert_int_gt(r->due_ms, MS(T0 + 60));
	step_at(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_FETCH_DETAIL));
	step_at(r, MS(T0 + 70), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	run_free(r);

	/* The same, and then the job is removed with on_removal = keep:
	 * let go at once (no answer is awaited). */
	spec.on_removal = ON_REMOVAL_KEEP;
	r = submitted_run();
	step_at(r, MS(T0 + 60), ev_done(RE_STATUS, REQ_OK, &b));
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_STORE_FAILED });
	removed_at(r, MS(T0 + 61));
	ck_assert_int_eq(r->state, RUN_REMOVED);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_ptr_nonnull(find_log(JE_REMOVED));
	run_free(r);
}
END_TEST

/* A write that fails while the run's request is out (a cancel written
 * while the submit is under way, a removal while a retry is) is not that
 * request's intent: the request stands and its answer is taken. Reverted
 * as if it had not gone out, the submit's batch was never followed (nor
 * cancelled) and the run could be submitted again; a retry's answer was
 * dropped and the retry made again (a second call). */
START_TEST(test_store_failure_with_request_out)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_PENDING);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 2, 1, 0, 0);
	int64_t due;

	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(r->op, OP_SUBMIT);
	ck_assert_int_eq(step_at(r, MS(T0) + 10, (struct run_event){ .kind = RE_CANCEL_REQ }), 0);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	step_at(r, MS(T0) + 10, (struct run_event){ .kind = RE_STORE_FAILED, .sent = true });
	ck_assert_int_eq(r->op, OP_SUBMIT);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert_int_eq(r->submit_attempts, 1);
	/* the submit's answer: its batch is this run's, and is cancelled */
	step_at(r, MS(T0) + 50, ev_done(RE_SUBMIT_DONE, REQ_OK, &b));
	ck_assert_str_eq(r->batch_id, "btcal_1");
	ck_assert_ptr_nonnull(find_kind(ACT_CANCEL));
	run_free(r);

	/* A retry out, the job removed with on_removal = keep, that write
	 * failed: the retry's answer is taken, and no retry is asked again. */
	spec.retry.max_retries = 2;
	r = submitted_run();
	r->op = OP_DETAIL;
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	due = r->due_ms;
	if (due)
		step_at(r, due, ev_time());
	ck_assert_int_eq(count_kind(ACT_RETRY), 1);
	ck_assert_int_eq(r->op, OP_RETRY);
	r->on_removal = ON_REMOVAL_KEEP;
	removed_at(r, MS(T0 + 70));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	step_at(r, MS(T0 + 70), (struct run_event){ .kind = RE_STORE_FAILED, .sent = true });
	ck_assert_int_eq(r->op, OP_RETRY);
	ck_assert_int_gt(r->retry_expect, 0);
	b = mkbatch("btcal_1", BATCH_PENDING);
	b.retry_count = 1;
	step_at(r, MS(T0 + 71), ev_done(RE_RETRY_DONE, REQ_OK, &b));
	ck_assert_int_eq(r->retries, 1);
	ck_assert_int_eq(count_kind(ACT_RETRY), 0);
	run_free(r);

	/* Not sent (the intent's write failed): stepped back, as before. */
	r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0), (struct run_event){ .kind = RE_STORE_FAILED });
	ck_assert_int_eq(r->op, OP_NONE);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->submit_attempts, 0);
	run_free(r);
}
END_TEST

/* A run's final state whose write failed is written again once the
 * failure's backoff is over: its record would otherwise keep the state
 * before (in_progress), which the next leader or start follows again. */
START_TEST(test_store_failure_of_final_state)
{
	struct run *r = submitted_run();
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 3, 0, 0, 0);
	int64_t due;

	r->op = OP_DETAIL;
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_STORE_FAILED });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	due = r->due_ms;
	ck_assert_int_gt(due, MS(T0 + 60));
	step_at(r, due, ev_time());
	ck_assert_int_eq(acts.n, 1);
	ck_assert_int_eq(acts.v[0].kind, ACT_PERSIST);
	ck_assert_int_eq(r->due_ms, 0);
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	/* written: nothing more comes due */
	step_at(r, due + 1000, ev_time());
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

/* A paused run whose write failed. The pause of a run not yet submitted
 * (or a paused follow-up made in a commit that failed) steps back with a
 * due time, and is written again when it comes: re-writing only final
 * states, PAUSED (and DISABLED) never wrote again, the record kept
 * SCHEDULED (a restart submits what the operator paused) and the run
 * stayed due, its timer postponed by 1 s for ever. */
START_TEST(test_store_failure_of_pause)
{
	struct run *r = run_new(&spec);
	struct run_ctx c = ctx_at(MS(T0 - 600));
	const char *why = NULL;
	int64_t due;

	acts.n = 0;
	ck_assert_int_eq(run_step(r, &c, &(struct run_event){ .kind = RE_PAUSE_REQ, .retry_after_s = -1 }, &acts,
				  &why), 0);
	ck_assert_int_eq(r->state, RUN_PAUSED);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	step_at(r, MS(T0 - 600), (struct run_event){ .kind = RE_STORE_FAILED });
	ck_assert_int_eq(r->state, RUN_PAUSED);
	due = r->due_ms;
	ck_assert_int_gt(due, MS(T0 - 600));
	step_at(r, due, ev_time());
	/* the pause is written again, and nothing stays due */
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_int_eq(r->due_ms, 0);
	run_free(r);
}
END_TEST

/* A deferred follow-up (over_limit = defer) is written at once, in the
 * group commit after its parent's hand-on (carry_persist_new); when that
 * write fails, RE_STORE_FAILED makes it due after the backoff, but on_time
 * found it scheduled before its instant (when the limits allow, hours
 * away) and only set its due time back: nothing wrote it until its submit.
 * Its parent's next write drops the hand-on from the disk (follow none),
 * so a restart in between lost those recipients for good. */
START_TEST(test_store_failure_of_deferred_follow_up)
{
	struct run *r = submitted_run(), *f;
	int64_t due;

	r->unfinished = xcalloc(2, sizeof(*r->unfinished));
	r->unfinished[0] = xstrdup("+15550100002");
	r->n_unfinished = 1;
	r->follow = FOLLOW_DEFER;
	f = run_new_follow_up(r, &spec, "deferred 1", MS(T0 + 3000));
	ck_assert_int_eq(r->follow, FOLLOW_NONE);
	ck_assert_int_eq(f->state, RUN_SCHEDULED);
	ck_assert_int_eq(f->due_ms, MS(T0 + 3000));
	/* its first write (the group commit of carry_persist_new) fails */
	step_at(f, MS(T0 + 60), (struct run_event){ .kind = RE_STORE_FAILED });
	due = f->due_ms;
	ck_assert_int_gt(due, MS(T0 + 60));
	ck_assert_int_lt(due, MS(T0 + 3000));
	step_at(f, due, ev_time());
	/* written again now, and due at its own instant */
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	ck_assert_int_eq(f->due_ms, MS(T0 + 3000));
	ck_assert_int_eq(f->op, OP_NONE);
	/* once: the next wake-up is its submit */
	step_at(f, MS(T0 + 3000), ev_time());
	ck_assert_int_eq(f->op, OP_SUBMIT);
	run_free(f);
	run_free(r);
}
END_TEST

/* over_limit = defer: the hand-on of the recipients over the limits is
 * [persist, follow-up]; when that persist fails the follow-up is not made
 * (nothing after a failed persist is carried out), and the hand-on is put
 * back to be made at the next step. Before, nothing asked for it again
 * (hand_on_deferred saw follow != none), and when the batch ended on its
 * own on_detail_done took the pending defer for a stop's hand-on that came
 * too late and cleared it: the deferred recipients were never called. */
START_TEST(test_store_failure_of_defer_hand_on)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_PENDING), bc = mkbatch("btcal_1", BATCH_COMPLETED);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 0, 0, 0);
	char **over = xcalloc(2, sizeof(*over));
	bool made = false;
	int64_t t;

	over[0] = xstrdup("+15550100002");
	step_at(r, MS(T0), ev_time());
	run_note_over_limit(r, over, 1, true);
	step_at(r, MS(T0) + 50, ev_done(RE_SUBMIT_DONE, REQ_OK, &b));
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	/* the first persist of those actions failed: the follow-up was not made */
	step_at(r, MS(T0) + 50, (struct run_event){ .kind = RE_STORE_FAILED });
	t = r->due_ms > 0 ? r->due_ms : MS(T0) + 5000;
	step_at(r, t, ev_time());
	made |= find_kind(ACT_FOLLOW_UP) != NULL;
	step_at(r, t + 1000, ev_done(RE_STATUS, REQ_OK, &bc));
	made |= find_kind(ACT_FOLLOW_UP) != NULL;
	if (r->op == OP_DETAIL) {
		step_at(r, t + 2000, (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
		made |= find_kind(ACT_FOLLOW_UP) != NULL;
	}
	ck_assert(run_state_final(r->state));
	/* the deferred recipient is handed on at some point, or still is */
	ck_assert(made || (r->follow == FOLLOW_DEFER && r->n_unfinished == 1));
	run_free(r);
}
END_TEST

START_TEST(test_uncertain_retry_reconciled)
{
	struct run *r = submitted_run();
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 1, 0, 0);
	struct run_event tr = ev_done(RE_RETRY_DONE, REQ_TRANSIENT, NULL);

	r->op = OP_DETAIL;
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	step_at(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_RETRY));
	tr.maybe_applied = true;
	step_at(r, MS(T0 + 700), tr);
	ck_assert_int_eq(r->retry_expect, 1);
	step_at(r, r->due_ms, ev_time());
	ck_assert_int_eq(acts.v[0].kind, ACT_FETCH_DETAIL);
	d = mkdetail(BATCH_IN_PROGRESS, 1, 0, 0, 1);
	step_at(r, MS(T0 + 702), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->retries, 1);
	ck_assert_int_eq(r->state, RUN_IN_PROGRESS);
	ck_assert_ptr_nonnull(find_log(JE_RETRIED));
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	run_free(r);
}
END_TEST

/* The calling hours a step sees: open now or later, the close, skip or
 * defer; none for a run at work. */
START_TEST(test_ctx_window)
{
	struct tz *utc = fixture_tz("UTC");
	struct window w = { .days = 0x7f, .from = 9 * 3600, .to = 17 * 3600 };
	struct run *r = run_new_at(&spec, T0); /* 2027-01-15 08:00 UTC */
	struct run_ctx c = ctx_at(MS(T0));

	/* no calling hours: nothing set */
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, 0);
	ck_assert_int_eq(c.window_close_ms, 0);
	spec.hours = &w;
	/* closed at 08:00: opens at 09:00, closes at 17:00, deferred */
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, MS(T0 + 3600));
	ck_assert_int_eq(c.window_close_ms, MS(T0 + 9 * 3600));
	ck_assert(!c.window_skip);
	/* open at 10:30: the opening is clamped to now */
	c = ctx_at(MS(T0 + 9000) + 500);
	spec.outside = OUTSIDE_SKIP;
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, MS(T0 + 9000) + 500);
	ck_assert_int_eq(c.window_close_ms, MS(T0 + 9 * 3600));
	ck_assert(c.window_skip);
	/* at work or waiting to retry: not asked */
	r->state = RUN_PENDING;
	c = ctx_at(MS(T0));
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, 0);
	r->state = RUN_RETRY_WAIT;
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, 0);
	/* a lookup may find nothing: asked */
	r->state = RUN_SUBMITTING;
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, MS(T0 + 3600));
	/* never open again (no weekday): nothing set */
	w.days = 0;
	c = ctx_at(MS(T0));
	run_ctx_window(&c, r, utc);
	ck_assert_int_eq(c.window_open_ms, 0);
	ck_assert(!c.window_skip);
	spec.hours = NULL;
	spec.outside = 0;
	run_free(r);
	tz_free(utc);
}
END_TEST

/* A part's recipients: all for a whole run, else those of its list, in
 * the job's order; the count and digest the intent records. */
START_TEST(test_part_select)
{
	struct recipient v[4] = {
		{ .phone_number = (char *)"+15550100001" },
		{ .whatsapp_user_id = (char *)"wa_2" },
		{ .phone_number = (char *)"+15550100003" },
		{ .phone_number = (char *)"+15550100004" },
	};
	struct run *r = run_new_at(&spec, T0);
	bool inc[4];
	uint64_t d, want = FNV1A64_INIT;

	ck_assert_uint_eq(run_part_select(r, v, 4, inc, &d), 4);
	ck_assert(inc[0] && inc[1] && inc[2] && inc[3]);
	want = fnv1a64(want, "+15550100001", 13);
	want = fnv1a64(want, "wa_2", 5);
	want = fnv1a64(want, "+15550100003", 13);
	want = fnv1a64(want, "+15550100004", 13);
	ck_assert_uint_eq(d, want);

	/* a part: its list (in any order) picks, the job's order stays */
	r->rcpts = xcalloc(3, sizeof(*r->rcpts));
	r->rcpts[0] = xstrdup("+15550100004");
	r->rcpts[1] = xstrdup("wa_2");
	r->rcpts[2] = xstrdup("+15550199999"); /* left the list since */
	r->n_rcpts = 3;
	ck_assert_uint_eq(run_part_select(r, v, 4, inc, &d), 2);
	ck_assert(!inc[0] && inc[1] && !inc[2] && inc[3]);
	want = fnv1a64(FNV1A64_INIT, "wa_2", 5);
	want = fnv1a64(want, "+15550100004", 13);
	ck_assert_uint_eq(d, want);
	ck_assert_str_eq(r->rcpts[0], "+15550100004"); /* r's list is not reordered */
	/* an empty part sends nothing */
	r->n_rcpts = 0;
	ck_assert_uint_eq(run_part_select(r, v, 4, inc, NULL), 0);
	ck_assert(!inc[0] && !inc[1] && !inc[2] && !inc[3]);
	r->n_rcpts = 3;
	run_free(r);
}
END_TEST

/* --- do-not-call lists ----------------------------------------------------- */

static struct suppress_set dnc;
static struct suppress_rules dnc_rules;

static void dnc_list(const char *text)
{
	struct diag d = { 0 };
	suppress_clear(&dnc);
	ck_assert_int_eq(suppress_parse(&dnc, "dnc.txt", text, strlen(text), &d), 0);
	suppress_seal(&dnc);
	dnc_rules = (struct suppress_rules){ .sets = { &dnc }, .n_sets = 1 };
}

static int step_rules(struct run *r, int64_t now_ms, struct run_event ev)
{
	struct run_ctx c = ctx_at(now_ms);
	const char *why;
	c.rules = &dnc_rules;
	acts.n = 0;
	if (ev.retry_after_s == 0)
		ev.retry_after_s = -1;
	return run_step(r, &c, &ev, &acts, &why);
}

/* What the body holds: the part's selection less the listed, the digest
 * over who is left, the keys left out in the job's order. */
START_TEST(test_body_select)
{
	struct recipient v[4] = {
		{ .phone_number = (char *)"+15550100001" },
		{ .whatsapp_user_id = (char *)"wa_2" },
		{ .phone_number = (char *)"+15550100003" },
		{ .phone_number = (char *)"+15550100004" },
	};
	struct run *r = run_new_at(&spec, T0);
	char **out = NULL, **over = NULL;
	size_t n_out = 9, n_over = 9;
	bool inc[4];
	uint64_t d, want;

	dnc_list("+1 555 010 0003\nwhatsapp:wa_2\n+15550100009\n");
	ck_assert_uint_eq(run_body_select(r, &dnc_rules, NULL, v, 4, inc, &d, &out, &n_out, &over, &n_over), 2);
	ck_assert(inc[0] && !inc[1] && !inc[2] && inc[3]);
	want = fnv1a64(FNV1A64_INIT, "+15550100001", 13);
	want = fnv1a64(want, "+15550100004", 13);
	ck_assert_uint_eq(d, want);
	ck_assert_uint_eq(n_out, 2);
	ck_assert_str_eq(out[0], "wa_2");
	ck_assert_str_eq(out[1], "+15550100003");
	run_note_suppressed(r, out, n_out);
	ck_assert_uint_eq(r->n_suppressed, 2);
	/* a part: only its own recipients can be left out */
	r->rcpts = xcalloc(1, sizeof(*r->rcpts));
	r->rcpts[0] = xstrdup("+15550100004");
	r->n_rcpts = 1;
	ck_assert_uint_eq(run_body_select(r, &dnc_rules, NULL, v, 4, inc, &d, &out, &n_out, &over, &n_over), 1);
	ck_assert_uint_eq(n_out, 0);
	ck_assert_ptr_null(out);
	/* no rules: run_part_select */
	ck_assert_uint_eq(run_body_select(r, NULL, NULL, v, 4, inc, NULL, &out, &n_out, &over, &n_over), 1);
	run_note_suppressed(r, NULL, 0);
	ck_assert_uint_eq(r->n_suppressed, 0);
	run_free(r);
	suppress_clear(&dnc);
}
END_TEST

/* Everyone listed: the shell sends nothing and says so; the run ends
 * complete, without a batch, and is never submitted again. */
START_TEST(test_all_suppressed)
{
	struct run *r = run_new(&spec);
	char **keys = xcalloc(2, sizeof(*keys));

	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	ck_assert_int_eq(r->submit_attempts, 1);
	keys[0] = xstrdup("+15550100001");
	keys[1] = xstrdup("+15550100002");
	run_note_submission(r, 0, FNV1A64_INIT);
	run_note_suppressed(r, keys, 2);
	step_at(r, MS(T0) + 1, (struct run_event){ .kind = RE_SUPPRESSED });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert(run_state_final(r->state));
	ck_assert_ptr_null(r->batch_id);
	ck_assert_int_eq(r->submit_attempts, 0);
	ck_assert_int_eq(r->op, OP_NONE);
	ck_assert(!run_submitted(r));
	ck_assert_int_eq(r->finished_at, T0);
	ck_assert_ptr_nonnull(find_log(JE_FINISHED));
	ck_assert_ptr_nonnull(strstr(find_log(JE_FINISHED)->msg, "every one of its 2 recipients"));
	ck_assert_int_eq(count_kind(ACT_PERSIST), 1);
	ck_assert_int_eq(count_kind(ACT_SUBMIT), 0);
	/* later events change nothing */
	step_at(r, MS(T0 + 5000), ev_time());
	ck_assert_uint_eq(acts.n, 0);
	step_at(r, MS(T0 + 5000), (struct run_event){ .kind = RE_SUPPRESSED });
	ck_assert_uint_eq(acts.n, 0);
	ck_assert_int_eq(step_at(r, MS(T0 + 5000), (struct run_event){ .kind = RE_TRIGGER_REQ }), -EBUSY);
	/* a reload of the same job leaves it alone */
	{
		struct run_ctx c = ctx_at(MS(T0 + 6000));
		acts.n = 0;
		run_update_spec(r, &c, &acts);
		ck_assert_int_eq(r->state, RUN_COMPLETED);
		ck_assert_int_eq(count_kind(ACT_SUBMIT), 0);
	}
	run_free(r);
}
END_TEST

/* A finished batch whose failed recipients include one listed since: no
 * retry request (it would re-dial everyone); the others become a
 * follow-up run, and the retry counts. */
static struct run *finished_with_failures(struct batch_rcpt *e, size_t n)
{
	struct run *r = submitted_run();
	struct batch b = mkbatch("btcal_1", BATCH_COMPLETED);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 1, 2, 1, 0);

	d.rcpts = e;
	d.n_rcpts = n;
	step_at(r, MS(T0 + 60), (struct run_event){ .kind = RE_STATUS, .outcome = REQ_OK, .batch = &b });
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_RETRY_WAIT);
	return r;
}

/* The contact limits: a recipient another attempt called too often (or
 * too lately) is left out of the body, after the lists; the run's own
 * attempt is not counted against itself (its body made again), a retry
 * is a new attempt that counts the submit's contacts. */
START_TEST(test_body_select_limits)
{
	struct recipient v[3] = {
		{ .phone_number = (char *)"+15550100001" },
		{ .phone_number = (char *)"+15550100002" },
		{ .phone_number = (char *)"+15550100003" },
	};
	struct ledger l = { 0 };
	struct contact_limits lim = { .max_calls = 2, .window_s = 7 * 86400, .min_gap_s = 3600 };
	struct contact_rules cr = { &l, &lim, T0 };
	struct run *r = run_new_at(&spec, T0);
	uint32_t a = ledger_agent(&l, spec.agent_id);
	char **out = NULL, **over = NULL;
	size_t n_out, n_over;
	bool inc[3];
	uint64_t d;

	dnc_list("+15550100003\n");
	/* 0001: twice this week by other runs; 0002: once, two hours ago */
	ledger_add(&l, ledger_key("+15550100001"), a, T0 - 86400, 1, NULL);
	ledger_add(&l, ledger_key("+15550100001"), a, T0 - 2 * 86400, 2, NULL);
	ledger_add(&l, ledger_key("+15550100002"), a, T0 - 7200, 3, NULL);
	ck_assert_uint_eq(run_body_select(r, &dnc_rules, &cr, v, 3, inc, &d, &out, &n_out, &over, &n_over), 1);
	ck_assert(!inc[0] && inc[1] && !inc[2]);
	ck_assert_uint_eq(n_out, 1);
	ck_assert_str_eq(out[0], "+15550100003");
	ck_assert_uint_eq(n_over, 1);
	ck_assert_str_eq(over[0], "+15550100001");
	run_note_suppressed(r, out, n_out);
	run_note_over_limit(r, over, n_over, false);
	ck_assert_uint_eq(r->n_over_limit, 1);
	/* the shell records the body's contacts as attempt 0: made again,
	 * the same body */
	ledger_add(&l, ledger_key("+15550100002"), a, T0, run_contact_tag(r, 0), NULL);
	ck_assert(!run_over_limit(r, &cr, "+15550100002", 0));
	ck_assert_uint_eq(run_body_select(r, &dnc_rules, &cr, v, 3, inc, &d, &out, &n_out, &over, &n_over), 1);
	ck_assert(inc[1]);
	run_note_suppressed(r, out, n_out);
	run_note_over_limit(r, over, n_over, false);
	/* a retry of it is another call: two in the window now, and the
	 * last one just now */
	ck_assert(run_over_limit(r, &cr, "+15550100002", 1));
	/* without limits, nobody is over */
	ck_assert(!run_over_limit(r, NULL, "+15550100001", 0));
	/* the same person twice in one body (a number and its WhatsApp
	 * digits): one attempt is one contact, so the second is left out */
	{
		struct recipient w[3] = {
			{ .phone_number = (char *)"+15550100005" },
			{ .whatsapp_user_id = (char *)"15550100005" },
			{ .phone_number = (char *)"+15550100006" },
		};
		struct run *r3 = run_new_at(&spec, T0 + 2 * 86400);
		ck_assert_uint_eq(run_body_select(r3, NULL, &cr, w, 3, inc, &d, &out, &n_out, &over, &n_over), 2);
		ck_assert(inc[0] && !inc[1] && inc[2]);
		ck_assert_uint_eq(n_over, 1);
		ck_assert_str_eq(over[0], "15550100005");
		run_note_over_limit(r3, over, n_over, false);
		run_note_suppressed(r3, out, n_out);
		run_free(r3);
	}
	/* a follow-up carries its parent's last attempt on: the parent's
	 * contacts of that attempt do not count against it, its own retries
	 * are attempts of its own */
	{
		struct run *p = run_new_at(&spec, T0 + 3 * 86400), *f;
		ledger_add(&l, ledger_key("+15550100007"), a, T0, run_contact_tag(p, 0), NULL);
		ck_assert(run_over_limit(p, &cr, "+15550100007", 1));
		p->unfinished = xcalloc(1, sizeof(*p->unfinished));
		p->unfinished[0] = xstrdup("+15550100007");
		p->n_unfinished = 1;
		p->follow = FOLLOW_RESUME;
		f = run_new_follow_up(p, &spec, "resume 1", MS(T0));
		ck_assert_uint_eq(f->contact_tag, run_contact_tag(p, 0));
		ck_assert_uint_eq(run_contact_tag(f, 0), run_contact_tag(p, 0));
		ck_assert(!run_over_limit(f, &cr, "+15550100007", 0));
		ck_assert(run_over_limit(f, &cr, "+15550100007", 1));
		ck_assert_uint_ne(run_contact_tag(f, 1), run_contact_tag(p, 1));
		run_free(f);
		run_free(p);
	}
	/* another run of the job is another attempt */
	{
		struct run *r2 = run_new_at(&spec, T0 + 86400);
		ck_assert_uint_ne(run_contact_tag(r2, 0), run_contact_tag(r, 0));
		ck_assert_uint_eq(run_contact_tag(r, 0), run_contact_tag(r, 0));
		run_free(r2);
	}
	run_free(r);
	ledger_clear(&l);
	suppress_clear(&dnc);
}
END_TEST

/* A retry that would re-dial someone over the contact limits is not
 * sent: the others go to a follow-up, as for a listed one. */
START_TEST(test_retry_over_limit)
{
	struct batch_rcpt e[3] = {
		{ .id = (char *)"a", .phone_number = (char *)"+15550100001", .status = BATCH_RCPT_COMPLETED },
		{ .id = (char *)"b", .phone_number = (char *)"+15550100002", .status = BATCH_RCPT_FAILED },
		{ .id = (char *)"c", .phone_number = (char *)"+15550100003", .status = BATCH_RCPT_FAILED },
	};
	struct ledger l = { 0 };
	struct contact_limits lim = { .max_calls = 1, .window_s = 86400 };
	struct contact_rules cr = { &l, &lim, T0 };
	struct run *r;
	struct run_ctx c;
	const char *why;

	dnc_list("+15550100009\n");
	r = finished_with_failures(e, 3);
	/* the submit's contacts, as the shell recorded them */
	for (int i = 0; i < 3; i++)
		ledger_add(&l, ledger_key(e[i].phone_number), ledger_agent(&l, spec.agent_id), T0,
			   run_contact_tag(r, 0), NULL);
	/* only 0003's limit is one call a day; the others' older call is gone */
	lim.max_calls = 2;
	ledger_add(&l, ledger_key("+15550100003"), ledger_agent(&l, spec.agent_id), T0 - 60, 77, NULL);
	c = ctx_at(r->due_ms);
	c.rules = &dnc_rules;
	c.contacts = &cr;
	cr.now_s = r->due_ms / 1000;
	acts.n = 0;
	ck_assert_int_eq(run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, &why), 0);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(find_log(JE_CONTACT_LIMIT)->count, 1);
	ck_assert_ptr_null(find_log(JE_SUPPRESSED));
	ck_assert_uint_eq(r->n_unfinished, 1);
	ck_assert_str_eq(r->unfinished[0], "+15550100002");
	run_free(r);
	/* over_limit = "defer": the one over the limits goes to the
	 * follow-up too (its submit defers it); the listed one never */
	dnc_list("+15550100002\n");
	lim.defer = true;
	r = finished_with_failures(e, 3);
	c = ctx_at(r->due_ms);
	c.rules = &dnc_rules;
	c.contacts = &cr;
	cr.now_s = r->due_ms / 1000;
	acts.n = 0;
	ck_assert_int_eq(run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, &why), 0);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_uint_eq(r->n_unfinished, 1);
	ck_assert_str_eq(r->unfinished[0], "+15550100003");
	run_free(r);
	ledger_clear(&l);
	suppress_clear(&dnc);
}
END_TEST


/* over_limit = "defer": those over the limits at the submit are handed on
 * once the submit is settled (its batch known, or nothing sent), to a
 * deferred follow-up of their own attempt, due when the limits allow the
 * first of them. A submit whose outcome is unknown hands on nothing yet. */
START_TEST(test_defer_over_limit)
{
	struct run *r = run_new(&spec), *f;
	struct batch b = mkbatch("btcal_1", BATCH_PENDING);
	char **over = xcalloc(3, sizeof(*over)), *part;
	struct ledger l = { 0 };
	struct contact_limits lim = { .min_gap_s = 3600, .defer = true };
	struct contact_rules cr = { &l, &lim, T0 };
	const struct run *v[2];

	over[0] = xstrdup("+15550100002");
	over[1] = xstrdup("+15550100003");
	step_at(r, MS(T0), ev_time());
	ck_assert_int_eq(r->op, OP_SUBMIT);
	run_note_over_limit(r, over, 2, true);
	ck_assert(r->defer_over);
	/* the answer is lost: nothing yet */
	step_at(r, MS(T0) + 50, (struct run_event){ .kind = RE_SUBMIT_DONE, .outcome = REQ_TRANSIENT,
						    .maybe_applied = true, .http_status = 503 });
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	ck_assert(r->uncertain);
	/* the lookup finds the batch: handed on, persisted first */
	step_at(r, MS(T0) + 20000, ev_time());
	ck_assert_int_eq(r->op, OP_LOOKUP);
	step_at(r, MS(T0) + 20100, (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .batch = &b,
						       .n_found = 1 });
	ck_assert_str_eq(r->batch_id, "btcal_1");
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert(find_kind(ACT_PERSIST) < find_kind(ACT_FOLLOW_UP));
	ck_assert_ptr_nonnull(find_log(JE_CONTACT_LIMIT));
	ck_assert_int_eq(find_log(JE_CONTACT_LIMIT)->count, 0); /* not a retry's */
	ck_assert_int_eq(r->follow, FOLLOW_DEFER);
	ck_assert(!r->defer_over);
	ck_assert_uint_eq(r->n_unfinished, 2);
	/* once only */
	step_at(r, MS(T0) + 30000, ev_done(RE_STATUS, REQ_OK, &b));
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	/* the follow-up: "deferred 1", its own attempt, due when the first is allowed */
	ledger_add(&l, ledger_key("+15550100002"), ledger_agent(&l, spec.agent_id), T0 - 600, 5, NULL);
	ledger_add(&l, ledger_key("+15550100003"), ledger_agent(&l, spec.agent_id), T0 - 60, 6, NULL);
	ck_assert_int_eq(run_limits_allow_at(r, &cr, r->unfinished, r->n_unfinished), T0 + 3000);
	v[0] = r;
	part = occur_follow_up_part(r, v, 1);
	ck_assert_str_eq(part, "deferred 1");
	r->retries = 1; /* (a retry's recipients, deferred: the retries left go with them) */
	f = run_new_follow_up(r, &spec, part, MS(T0 + 3000));
	ck_assert_int_eq(f->retries, 1);
	free(part);
	ck_assert_int_eq(f->state, RUN_SCHEDULED);
	ck_assert_int_eq(f->due_ms, MS(T0 + 3000));
	ck_assert_int_eq(f->submit_at_ms, MS(T0 + 3000));
	ck_assert_uint_eq(f->contact_tag, 0);
	ck_assert_uint_ne(run_contact_tag(f, 0), run_contact_tag(r, 0));
	ck_assert_int_eq(r->follow, FOLLOW_NONE);
	ck_assert_uint_eq(f->n_rcpts, 2);
	/* still over when it comes: deferred again, "deferred 2" */
	v[1] = f;
	f->follow = FOLLOW_DEFER;
	part = occur_follow_up_part(f, v, 2);
	ck_assert_str_eq(part, "deferred 2");
	free(part);
	f->follow = FOLLOW_NONE;
	run_free(f);
	run_free(r);
	/* everyone over the limits: nothing sent, the run completes and
	 * hands them on at once */
	r = run_new(&spec);
	over = xcalloc(2, sizeof(*over));
	over[0] = xstrdup("+15550100001");
	step_at(r, MS(T0), ev_time());
	run_note_over_limit(r, over, 1, true);
	step_at(r, MS(T0) + 1, (struct run_event){ .kind = RE_SUPPRESSED });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(r->follow, FOLLOW_DEFER);
	run_free(r);
	/* without defer: dropped, as before */
	r = run_new(&spec);
	over = xcalloc(2, sizeof(*over));
	over[0] = xstrdup("+15550100001");
	step_at(r, MS(T0), ev_time());
	run_note_over_limit(r, over, 1, false);
	step_at(r, MS(T0) + 50, ev_done(RE_SUBMIT_DONE, REQ_OK, &b));
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	run_free(r);
	ledger_clear(&l);
}
END_TEST

START_TEST(test_retry_suppressed)
{
	struct batch_rcpt e[4] = {
		{ .id = (char *)"a", .phone_number = (char *)"+15550100001", .status = BATCH_RCPT_COMPLETED },
		{ .id = (char *)"b", .phone_number = (char *)"+15550100002", .status = BATCH_RCPT_FAILED },
		{ .id = (char *)"c", .phone_number = (char *)"+15550100003", .status = BATCH_RCPT_FAILED },
		{ .id = (char *)"d", .whatsapp_user_id = (char *)"wa_4", .status = BATCH_RCPT_VOICEMAIL },
	};
	struct run *r, *f;

	/* nobody listed: the retry endpoint, as always */
	dnc_list("+15550100001\n"); /* completed: no retry would call it */
	r = finished_with_failures(e, 4);
	ck_assert_uint_eq(r->n_retry_keys, 3);
	ck_assert_str_eq(r->retry_keys[2], "wa_4");
	step_rules(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_RETRY));
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	run_free(r);

	/* one of them listed now */
	dnc_list("+15550100003\n");
	r = finished_with_failures(e, 4);
	step_rules(r, r->due_ms, ev_time());
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(find_log(JE_SUPPRESSED)->count, 1);
	ck_assert_ptr_nonnull(strstr(find_log(JE_SUPPRESSED)->msg, "1 of its 3 failed or unanswered"));
	/* the follow-up comes before the final persist: one group commit */
	ck_assert_int_eq(acts.v[acts.n - 1].kind, ACT_PERSIST);
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_int_eq(r->retries, 1);
	ck_assert_uint_eq(r->n_unfinished, 2);
	ck_assert_str_eq(r->unfinished[0], "+15550100002");
	ck_assert_str_eq(r->unfinished[1], "wa_4");
	f = run_new_follow_up(r, &spec, "resume 1", MS(T0 + 700));
	ck_assert_int_eq(f->state, RUN_SCHEDULED);
	ck_assert_int_eq(f->retries, 1); /* this retry counts */
	ck_assert_uint_eq(f->n_rcpts, 2);
	ck_assert_int_eq(f->due_ms, MS(T0 + 700));
	ck_assert_int_eq(r->follow, FOLLOW_NONE);
	run_free(f);
	run_free(r);

	/* every one of them listed: nobody to call, no follow-up */
	dnc_list("+15550100002\n+15550100003\nwhatsapp:wa_4\n");
	r = finished_with_failures(e, 4);
	step_rules(r, r->due_ms, ev_time());
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	ck_assert_int_eq(find_log(JE_SUPPRESSED)->count, 3);
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_uint_eq(r->n_unfinished, 0);
	run_free(r);

	/* the operator's retry is checked the same way */
	dnc_list("+15550100002\n");
	r = finished_with_failures(e, 4);
	ck_assert_int_eq(step_rules(r, MS(T0 + 62), (struct run_event){ .kind = RE_RETRY_REQ }), 0);
	ck_assert_ptr_null(find_kind(ACT_RETRY));
	ck_assert_ptr_nonnull(find_kind(ACT_FOLLOW_UP));
	ck_assert_uint_eq(r->n_unfinished, 2);
	run_free(r);

	/* a record without the batch's list (an earlier version): retried */
	r = finished_with_failures(e, 4);
	for (size_t i = 0; i < r->n_retry_keys; i++)
		free(r->retry_keys[i]);
	free(r->retry_keys);
	r->retry_keys = NULL;
	r->n_retry_keys = 0;
	step_rules(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_RETRY));
	run_free(r);
	suppress_clear(&dnc);
}
END_TEST

/* A submit refused before anything is sent: a part without its
 * recipients, a call_name held by another job's kept run. */
START_TEST(test_submit_refusal)
{
	struct run *r = run_new_at(&spec, T0);
	char buf[400];

	ck_assert_ptr_null(run_submit_refusal(r, NULL, NULL, buf, sizeof(buf)));
	/* held by a run of the same job (a rename back): allowed */
	ck_assert_ptr_null(run_submit_refusal(r, "renewals", "btcal_1", buf, sizeof(buf)));
	ck_assert_ptr_eq(run_submit_refusal(r, "old-renewals", "btcal_1", buf, sizeof(buf)), buf);
	ck_assert_ptr_nonnull(strstr(buf, "already used by job 'old-renewals' (batch btcal_1)"));
	ck_assert_ptr_nonnull(strstr(buf, r->call_name));
	ck_assert_ptr_eq(run_submit_refusal(r, "old-renewals", NULL, buf, sizeof(buf)), buf);
	ck_assert_ptr_nonnull(strstr(buf, "(batch unknown)"));
	/* a part whose recipients are unknown, whoever holds the name */
	run_set_part(r, &spec, "resume 1");
	ck_assert_ptr_eq(run_submit_refusal(r, NULL, NULL, buf, sizeof(buf)), buf);
	ck_assert_ptr_nonnull(strstr(buf, "is a part of its occurrence but its recipients are unknown"));
	r->rcpts = xcalloc(1, sizeof(*r->rcpts));
	r->rcpts[0] = xstrdup("+15550100001");
	r->n_rcpts = 1;
	ck_assert_ptr_null(run_submit_refusal(r, NULL, NULL, buf, sizeof(buf)));
	run_free(r);
}
END_TEST

START_TEST(test_update_spec)
{
	struct run *r = run_new(&spec);
	struct run_ctx c;

	/* A run is never moved: an edit reaches it at its own instant. */
	spec.start = T0 + 3600;
	spec.call_name = (char *)"Winter renewals";
	spec.digest = 43;
	c = ctx_at(MS(T0 - 10));
	acts.n = 0;
	run_update_spec(r, &c, &acts);
	ck_assert_int_eq(r->start, T0);
	ck_assert_str_eq(r->call_name, "Winter renewals 2027-01-15 08:00");
	ck_assert_int_eq(r->due_ms, MS(T0));
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	acts.n = 0;
	run_update_spec(r, &c, &acts); /* nothing changed since */
	ck_assert_int_eq(acts.n, 0);
	spec.enabled = false;
	spec.digest = 44;
	run_update_spec(r, &c, &acts);
	ck_assert_int_eq(r->state, RUN_DISABLED);
	ck_assert_int_eq(r->due_ms, 0);
	run_free(r);

	spec.start = T0;
	spec.digest = 42;
	spec.enabled = true;
	spec.call_name = (char *)"Renewals";
	r = submitted_run();
	spec.start = T0 + 3600;
	spec.digest = 44;
	acts.n = 0;
	run_update_spec(r, &c, &acts);
	ck_assert_ptr_nonnull(find_log(JE_CHANGED));
	ck_assert_int_eq(r->start, T0); /* the submitted run is not altered */
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00");
	acts.n = 0;
	run_update_spec(r, &c, &acts); /* warned once */
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

/* A follow-up or a zone group of an occurrence under way keeps its time
 * and recipients; only `enabled` reaches it. */
START_TEST(test_follow_enabled)
{
	struct run *r = run_new(&spec);
	struct run_ctx c = ctx_at(MS(T0 - 10));

	run_set_part(r, &spec, "resume 1");
	r->submit_at_ms = MS(T0 + 100);
	r->due_ms = MS(T0 + 100);
	spec.enabled = false;
	acts.n = 0;
	run_follow_enabled(r, &c, &acts);
	ck_assert_int_eq(r->state, RUN_DISABLED);
	ck_assert_int_eq(r->due_ms, 0);
	ck_assert_ptr_nonnull(find_kind(ACT_PERSIST));
	spec.enabled = true;
	acts.n = 0;
	run_follow_enabled(r, &c, &acts);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_eq(r->due_ms, MS(T0 + 100));
	ck_assert_str_eq(r->call_name, "Renewals 2027-01-15 08:00 (resume 1)");
	acts.n = 0;
	run_follow_enabled(r, &c, &acts);
	ck_assert_int_eq(acts.n, 0);
	run_free(r);
}
END_TEST

/* An operator's trigger makes now the run's time: a failed attempt is tried
 * again from now on, never parked until the original instant. */
START_TEST(test_trigger_failure_retried)
{
	struct run *r = run_new(&spec);
	struct run_event fail = { .kind = RE_SUBMIT_DONE, .outcome = REQ_TRANSIENT, .http_status = 503,
				  .maybe_applied = false };

	ck_assert_int_eq(step_at(r, MS(T0 - 3600), (struct run_event){ .kind = RE_TRIGGER_REQ }), 0);
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	step_at(r, MS(T0 - 3599), fail);
	ck_assert_int_eq(r->state, RUN_SCHEDULED);
	ck_assert_int_lt(r->due_ms, MS(T0 - 3000));
	step_at(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->submit_attempts, 2);
	ck_assert_ptr_null(find_log(JE_LATE)); /* tried again, not late */

	/* Unknown outcome: looked up; not found after the grace: submitted
	 * again at once, not at T0. */
	fail.maybe_applied = true;
	fail.http_status = 0;
	step_at(r, MS(T0 - 3590), fail);
	ck_assert_int_eq(r->state, RUN_SUBMITTING);
	step_at(r, r->due_ms, ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_LOOKUP));
	step_at(r, MS(T0 - 3500), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->submit_attempts, 3);
	run_free(r);
}
END_TEST

/* A record rebuilt after damage whose recipients are unknown is adopted
 * when its batch exists, and never submitted otherwise. */
START_TEST(test_lookup_only)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_9", BATCH_PENDING);

	r->state = RUN_SUBMITTING;
	r->uncertain = true;
	r->lookup_only = true;
	r->settle_ms = MS(T0 + 10);
	step_at(r, MS(T0 + 1), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_LOOKUP));
	step_at(r, MS(T0 + 11), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_int_eq(r->state, RUN_ERROR);
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_ptr_nonnull(r->error);
	run_free(r);

	r = run_new(&spec);
	r->state = RUN_SUBMITTING;
	r->uncertain = true;
	r->lookup_only = true;
	step_at(r, MS(T0 + 1), ev_time());
	step_at(r, MS(T0 + 2), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .batch = &b,
						    .n_found = 1 });
	ck_assert_int_eq(r->state, RUN_PENDING);
	ck_assert_str_eq(r->batch_id, "btcal_9");
	run_free(r);
}
END_TEST

/* Adoption compares everything the list shows with the intent. */
START_TEST(test_batch_matches)
{
	struct run *r = run_new(&spec);
	struct batch b = mkbatch("btcal_1", BATCH_PENDING);

	ck_assert(run_batch_matches(r, &b)); /* nothing known of the intent */
	b.name = (char *)"Renewals 2027-01-15 08:01";
	ck_assert(!run_batch_matches(r, &b));
	b = mkbatch("btcal_1", BATCH_PENDING);
	b.agent_id = (char *)"agent_2";
	ck_assert(!run_batch_matches(r, &b));
	b.agent_id = NULL;
	ck_assert(!run_batch_matches(r, &b));
	b = mkbatch("btcal_1", BATCH_PENDING);
	run_note_submission(r, 3, 7);
	r->first_intent_ms = MS(T0);
	ck_assert(run_batch_matches(r, &b));
	b.total_calls_scheduled = 4;
	ck_assert(!run_batch_matches(r, &b));
	b.total_calls_scheduled = 3;
	/* its creation time is not a criterion: made before the first
	 * intent by the API's clock, it is still this run's (how much before
	 * is told) */
	b.created_at_unix = T0 - 300;
	ck_assert(run_batch_matches(r, &b));
	ck_assert_int_eq(run_batch_early_s(r, &b), 300);
	b.created_at_unix = T0 - 3600;
	ck_assert(run_batch_matches(r, &b));
	ck_assert_int_eq(run_batch_early_s(r, &b), 3600);
	b.created_at_unix = T0 + 5;
	ck_assert_int_eq(run_batch_early_s(r, &b), 0);
	r->first_intent_ms = 0;
	b.created_at_unix = T0 - 3600;
	ck_assert_int_eq(run_batch_early_s(r, &b), 0);
	run_free(r);
}
END_TEST

/* What the attack on issue 11 found, each as a transition. */
START_TEST(test_attack11_transitions)
{
	struct run *r = run_new(&spec);
	struct batch_detail d = mkdetail(BATCH_COMPLETED, 3, 0, 0, 0);

	/* Disabled while a submit's outcome was unknown: not submitted. */
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0) + 10, (struct run_event){ .kind = RE_SUBMIT_DONE, .outcome = REQ_TRANSIENT,
						  .maybe_applied = true });
	spec.enabled = false;
	step_at(r, MS(T0 + 60), ev_time());
	ck_assert_ptr_nonnull(find_kind(ACT_LOOKUP));
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_ptr_null(find_kind(ACT_SUBMIT));
	ck_assert_int_eq(r->state, RUN_DISABLED);
	/* A paused run of a disabled job is not resumed. */
	r->state = RUN_PAUSED;
	ck_assert_int_eq(step_at(r, MS(T0 + 62), (struct run_event){ .kind = RE_RESUME_REQ }), -EBUSY);
	spec.enabled = true;
	run_free(r);

	/* Removed and put back while the submit is uncertain: the removal's
	 * cancel is undone, the run is submitted once nothing is found. */
	r = run_new(&spec);
	step_at(r, MS(T0), ev_time());
	step_at(r, MS(T0) + 10, (struct run_event){ .kind = RE_SUBMIT_DONE, .outcome = REQ_TRANSIENT,
						  .maybe_applied = true });
	removed_at(r, MS(T0 + 1));
	ck_assert(r->cancel_wanted && r->removal_cancel);
	step_at(r, MS(T0 + 2), (struct run_event){ .kind = RE_READDED });
	ck_assert(!r->cancel_wanted && !r->removing);
	step_at(r, MS(T0 + 60), ev_time());
	step_at(r, MS(T0 + 61), (struct run_event){ .kind = RE_LOOKUP_DONE, .outcome = REQ_OK });
	ck_assert_ptr_nonnull(find_kind(ACT_SUBMIT));
	run_free(r);

	/* A damaged follow-up in error is never triggered. */
	r = run_new(&spec);
	r->lookup_only = true;
	r->state = RUN_ERROR;
	ck_assert_int_eq(step_at(r, MS(T0), (struct run_event){ .kind = RE_TRIGGER_REQ }), -EBUSY);
	run_free(r);

	/* Paused while the detail of a batch that completed on its own was
	 * being fetched: it completed, nothing is handed on. */
	r = submitted_run();
	r->op = OP_DETAIL;
	r->cancel_wanted = true;
	r->follow = FOLLOW_PAUSE;
	step_at(r, MS(T0 + 30), (struct run_event){ .kind = RE_DETAIL_DONE, .outcome = REQ_OK, .detail = &d });
	ck_assert_int_eq(r->state, RUN_COMPLETED);
	ck_assert_ptr_null(find_kind(ACT_FOLLOW_UP));
	run_free(r);

	/* Paused before its time, resumed before its time: back to its instant. */
	r = run_new(&spec);
	ck_assert_int_eq(step_at(r, MS(T0 - 100), (struct run_event){ .kind = RE_PAUSE_REQ }), 0);
	ck_assert_int_eq(step_at(r, MS(T0 - 50), (struct run_event){ .kind = RE_RESUME_REQ }), 0);
	ck_assert_int_eq(r->due_ms, MS(T0));
	run_free(r);
}
END_TEST

/* A file name stands for exactly one run identity, and reads back. */
START_TEST(test_file_names)
{
	static const struct {
		const char *job;
		int64_t start;
		const char *part;
		const char *name;
	} ok[] = {
		{ "renewals", 1800000000, NULL, "renewals@1800000000.json" },
		{ ".x", 5, NULL, ".x@5.json" },
		{ "..", -7, NULL, "..@-7.json" },
		{ "a_b-c.d", 0, "America/Chicago", "a_b-c.d@0@America%2FChicago.json" },
		{ "j", 1, "resume 1", "j@1@resume%201.json" },
		{ "j", 1, "America/Port_of_Spain, resume 2", "j@1@America%2FPort%5Fof%5FSpain,%20resume%202.json" },
		{ "j", 1, "Etc/GMT+5", "j@1@Etc%2FGMT+5.json" },
		{ "j", 1, "%~._@\x01", "j@1@%25%7E%2E%5F%40%01.json" },
	};
	static const struct {
		const char *name, *job, *part;
		int64_t start;
	} legacy[] = {
		{ "j@1@America~Chicago.json", "j", "America/Chicago", 1 },
		{ "j@1@resume_3.json", "j", "resume 3", 1 },
		{ "j@1@America~Port_of_Spain,_resume_2.json", "j", "America/Port_of_Spain, resume 2", 1 },
	};
	static const char *const bad[] = {
		"renewals.json", "renewals@.json", "renewals@12", "renewals@1x.json", "renewals@01.json",
		"renewals@+1.json", "@1.json", "a b@1.json", "j@1@.json", "j@1@a%2f.json", "j@1@a%2.json",
		"j@1@a%00b.json", "j@1@a/b.json", ".j@1.json.tmp", "journal-1.jsonl", "j@1.json.damaged",
		"j@99999999999999999999.json",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *name = state_file_name(ok[i].job, ok[i].start, ok[i].part), *job, *part;
		int64_t start;
		bool old = true;
		ck_assert_str_eq(name, ok[i].name);
		ck_assert_int_eq(state_file_key(name, &job, &start, &part, &old), 0);
		ck_assert_str_eq(job, ok[i].job);
		ck_assert_int_eq(start, ok[i].start);
		if (ok[i].part)
			ck_assert_str_eq(part, ok[i].part);
		else
			ck_assert_ptr_null(part);
		ck_assert(!old);
		free(name);
		free(job);
		free(part);
	}
	for (size_t i = 0; i < ARRAY_SIZE(legacy); i++) {
		char *job, *part;
		int64_t start;
		bool old = false;
		ck_assert_int_eq(state_file_key(legacy[i].name, &job, &start, &part, &old), 0);
		ck_assert_str_eq(job, legacy[i].job);
		ck_assert_str_eq(part, legacy[i].part);
		ck_assert_int_eq(start, legacy[i].start);
		ck_assert(old);
		free(job);
		free(part);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *job = NULL, *part = NULL;
		int64_t start;
		ck_assert_msg(state_file_key(bad[i], &job, &start, &part, NULL) < 0, "%s accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_state_roundtrip)
{
	struct run *r = submitted_run(), *back = NULL;
	char *text, *text2, *cause = NULL;
	r->counts_valid = true;
	r->counts[BATCH_RCPT_FAILED] = 4;
	r->error = xstrdup("quote \" and \\ and \n");
	text = state_format(r);
	ck_assert_int_eq(state_parse(text, strlen(text), &back, &cause), 0);
	text2 = state_format(back);
	ck_assert_str_eq(text, text2);
	ck_assert_str_eq(back->batch_id, "btcal_1");
	ck_assert_int_eq(back->counts[BATCH_RCPT_FAILED], 4);
	ck_assert_int_eq(back->state, RUN_PENDING);
	/* Truncated at every length: damage, never a crash or a guess. */
	for (size_t n = 0; n + 2 < strlen(text); n++) {
		struct run *x = NULL;
		char *why = NULL;
		ck_assert_int_eq(state_parse(text, n, &x, &why), -EBADMSG);
		ck_assert_ptr_nonnull(why);
		ck_assert_ptr_null(x);
		free(why);
	}
	free(text);
	free(text2);
	run_free(r);
	run_free(back);
}
END_TEST

START_TEST(test_state_damage)
{
	static const char *bad[] = {
		"", "null", "[]", "{}", "{\"format\":\"other\",\"version\":1}",
		"{\"format\":\"batchcalld-run\",\"version\":99}",
		"{\"format\":\"batchcalld-run\",\"version\":1,\"job\":\"x\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct run *x = NULL;
		char *why = NULL;
		ck_assert_int_eq(state_parse(bad[i], strlen(bad[i]), &x, &why), -EBADMSG);
		ck_assert_ptr_nonnull(why);
		free(why);
	}
}
END_TEST

/* --- the randomised world ---------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct world {
	int batches;          /* batches created with the run's call_name */
	int64_t land_at;      /* a submit on its way lands at this time (0: none) */
	char *disk;           /* the last persisted state */
	bool submit_inflight; /* the machine awaits a submit answer */
	bool lookup_inflight;
	int64_t answer_at;
	int mode;             /* what happens to the submit in flight */
	bool cancelled;       /* the operator cancelled the run */
	int failed_writes;
};

static void world_persist(struct world *w, const struct run *r)
{
	free(w->disk);
	w->disk = state_format(r);
}

/* Carry out the actions the way the engine does, recording intent. A
 * write fails now and then (a full disk): what follows it is not carried
 * out, and the run steps back (RE_STORE_FAILED; its actions are dropped,
 * as the shell drops them). */
static void world_actions(struct world *w, struct run *r, int64_t now, int64_t grace)
{
	for (size_t i = 0; i < acts.n; i++) {
		switch (acts.v[i].kind) {
		case ACT_PERSIST:
			if (rng() % 100 < 5) {
				struct run_ctx c = ctx_at(now);
				struct actions more = { .n = 0 };
				struct run_event ev = { .kind = RE_STORE_FAILED, .retry_after_s = -1,
							.sent = r->op != OP_NONE && !run_actions_request(&acts, i + 1) };
				w->failed_writes++;
				run_step(r, &c, &ev, &more, NULL);
				return;
			}
			world_persist(w, r);
			break;
		case ACT_SUBMIT:
			/* Intent must already be on disk. */
			ck_assert_ptr_nonnull(w->disk);
			ck_assert_ptr_nonnull(strstr(w->disk, "\"submitting\""));
			ck_assert(!w->submit_inflight);
			w->submit_inflight = true;
			w->mode = (int)(rng() % 5);
			w->answer_at = now + (int64_t)(rng() % 3000);
			if (w->mode == 4) /* lands later, but within the grace period */
				w->land_at = now + (int64_t)(rng() % (uint64_t)(grace - 1));
			break;
		case ACT_LOOKUP:
			w->lookup_inflight = true;
			break;
		default:
			break;
		}
	}
}

START_TEST(test_world_exactly_once)
{
	int pending = 0, one_batch = 0, cancelled_first = 0, failed_writes = 0;

	for (int seed = 1; seed <= 3000; seed++) {
		struct world w = { 0 };
		struct run *r = run_new(&spec);
		int64_t now = MS(T0) - 5000;
		const int64_t grace = 10000;
		struct batch b = mkbatch("btcal_w", BATCH_PENDING);

		rng_state = 0x9e3779b97f4a7c15ULL * (uint64_t)seed;
		spec.max_lateness = 1000000;
		for (int iter = 0; iter < 400 && !(r->state == RUN_PENDING); iter++) {
			struct run_ctx c = ctx_at(now);
			uint64_t pick = rng() % 100;
			c.grace_ms = grace;
			c.rnd = rng();
			acts.n = 0;
			if (w.land_at && now >= w.land_at) {
				w.batches++;
				w.land_at = 0;
			}
			if (pick < 8) {
				/* kill -9: memory is lost, the disk remains. */
				struct run *back = NULL;
				char *why = NULL;
				run_free(r);
				w.submit_inflight = w.lookup_inflight = false;
				if (w.disk) {
					ck_assert_int_eq(state_parse(w.disk, strlen(w.disk), &back, &why), 0);
					r = back;
				} else {
					r = run_new(&spec);
				}
				c.now_ms = now;
				run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
			} else if (w.submit_inflight && !w.cancelled && pick < 10) {
				/* the operator cancels while the submit is out */
				w.cancelled = true;
				run_step(r, &c, &(struct run_event){ .kind = RE_CANCEL_REQ, .retry_after_s = -1 }, &acts,
					 NULL);
			} else if (w.submit_inflight && now >= w.answer_at) {
				struct run_event ev = { .kind = RE_SUBMIT_DONE, .retry_after_s = -1 };
				w.submit_inflight = false;
				switch (w.mode) {
				case 0: /* applied, answered */
					w.batches++;
					ev.outcome = REQ_OK;
					ev.batch = &b;
					break;
				case 1: /* applied, answer lost */
					w.batches++;
					ev.outcome = REQ_TRANSIENT;
					ev.maybe_applied = true;
					break;
				case 2: /* never left */
					ev.outcome = REQ_TRANSIENT;
					ev.maybe_applied = false;
					break;
				case 3: /* refused with the API's own 503 before applying */
					ev.outcome = REQ_TRANSIENT;
					ev.maybe_applied = true;
					ev.http_status = 503;
					ev.origin_answered = true;
					break;
				case 4: /* timed out, or a proxy's 504, 503 or 52x: lands later */
					ev.outcome = REQ_TRANSIENT;
					ev.maybe_applied = true;
					ev.http_status = (const long[]){ 0, 504, 503, 520 }[rng() % 4];
					break;
				}
				run_step(r, &c, &ev, &acts, NULL);
			} else if (w.lookup_inflight) {
				struct run_event ev = { .kind = RE_LOOKUP_DONE, .outcome = REQ_OK, .retry_after_s = -1 };
				w.lookup_inflight = false;
				if (pick < 20) {
					ev.outcome = REQ_TRANSIENT;
				} else if (w.batches > 0) {
					ev.batch = &b;
					ev.n_found = w.batches;
				}
				run_step(r, &c, &ev, &acts, NULL);
			} else if (r->due_ms == 0 || now >= r->due_ms) {
				run_step(r, &c, &(struct run_event){ .kind = RE_TIME, .retry_after_s = -1 }, &acts, NULL);
			}
			world_actions(&w, r, now, grace);
			ck_assert_msg(w.batches <= 1, "seed %d: %d batches", seed, w.batches);
			now += (int64_t)(rng() % 4000);
		}
		ck_assert_msg(w.batches <= 1, "seed %d: %d batches", seed, w.batches);
		if (r->state == RUN_PENDING)
			ck_assert_int_eq(w.batches, 1);
		/* a batch made is followed: never a run that ended without it */
		ck_assert_msg(!(w.batches == 1 && run_state_final(r->state) && !r->batch_id),
			      "seed %d: the run is %s, its batch followed by nobody", seed, run_state_name(r->state));
		/* a cancelled run that made no batch ends cancelled; one that made
		 * its batch follows it (and cancels it) */
		if (w.cancelled && w.batches == 0) {
			cancelled_first++;
			ck_assert_msg(r->state == RUN_CANCELLED || !run_state_final(r->state), "seed %d: %s", seed,
				      run_state_name(r->state));
		}
		pending += r->state == RUN_PENDING;
		one_batch += w.batches == 1;
		failed_writes += w.failed_writes;
		free(w.disk);
		run_free(r);
	}
	printf("test_world_exactly_once: %d of 3000 worlds reached pending, %d made their batch; %d cancelled "
	       "before any batch; %d writes failed\n", pending, one_batch, cancelled_first, failed_writes);
	/* Exactly once must not hold by never submitting: the worlds must make
	 * progress. The floor leaves a little room for a world made harsher,
	 * none for a machine that stalls. */
	ck_assert_int_ge(pending + cancelled_first, 2970);
	ck_assert_int_ge(one_batch + cancelled_first, 2970);
	ck_assert_int_gt(cancelled_first, 0);
	ck_assert_int_gt(failed_writes, 0);
}
END_TEST

static Suite *job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc = tcase_create("machine");
	tcase_add_checked_fixture(tc, spec_init, NULL);
	tcase_add_test(tc, test_new_run);
	tcase_add_test(tc, test_never_early);
	tcase_add_test(tc, test_submit_ahead);
	tcase_add_test(tc, test_late_and_missed);
	tcase_add_test(tc, test_submit_ok);
	tcase_add_test(tc, test_submit_rejected);
	tcase_add_test(tc, test_submit_transient_not_sent);
	tcase_add_test(tc, test_withdrawn_after_stop_asked);
	tcase_add_test(tc, test_retry_after_honoured);
	tcase_add_test(tc, test_unknown_outcome_lookup);
	tcase_add_test(tc, test_call_name_in_zone);
	tcase_add_test(tc, test_lookup_adopts_zone_name);
	tcase_add_test(tc, test_adopted_keeps_batch_retries);
	tcase_add_test(tc, test_unknown_outcome_not_found_after_grace);
	tcase_add_test(tc, test_duplicate_lookup_logged);
	tcase_add_test(tc, test_skip_reason_marks_missed);
	tcase_add_test(tc, test_deferred_submit_and_close);
	tcase_add_test(tc, test_window_judged_at_submission);
	tcase_add_test(tc, test_pause_and_resume);
	tcase_add_test(tc, test_close_with_resume_hands_on);
	tcase_add_test(tc, test_state_roundtrip_parts);
	tcase_add_test(tc, test_new_follow_up);
	tcase_add_test(tc, test_new_lost);
	tcase_add_test(tc, test_postpone);
	tcase_add_test(tc, test_suspect);
	tcase_add_test(tc, test_set_window);
	tcase_add_test(tc, test_note_write);
	tcase_add_test(tc, test_answered_failure_is_conclusive);
	tcase_add_test(tc, test_proxy_503_waits_grace);
	tcase_add_test(tc, test_restart_in_submitting_waits_grace);
	tcase_add_test(tc, test_auth_pauses_without_failing);
	tcase_add_test(tc, test_full_lifecycle_with_retries);
	tcase_add_test(tc, test_all_completed_needs_no_retry);
	tcase_add_test(tc, test_max_retries_zero);
	tcase_add_test(tc, test_batch_failed);
	tcase_add_test(tc, test_cancel_requests);
	tcase_add_test(tc, test_removal);
	tcase_add_test(tc, test_removal_while_uncertain);
	tcase_add_test(tc, test_removal_keeps_follow_up);
	tcase_add_test(tc, test_follow_enabled);
	tcase_add_test(tc, test_trigger_failure_retried);
	tcase_add_test(tc, test_lookup_only);
	tcase_add_test(tc, test_batch_matches);
	tcase_add_test(tc, test_file_names);
	tcase_add_test(tc, test_attack11_transitions);
	tcase_add_test(tc, test_trigger_and_retry_requests);
	tcase_add_test(tc, test_store_failure_stops_submit);
	tcase_add_test(tc, test_store_failure_before_fetch);
	tcase_add_test(tc, test_store_failure_of_final_state);
	tcase_add_test(tc, test_store_failure_of_pause);
	tcase_add_test(tc, test_store_failure_with_request_out);
	tcase_add_test(tc, test_store_failure_of_defer_hand_on);
	tcase_add_test(tc, test_store_failure_of_deferred_follow_up);
	tcase_add_test(tc, test_uncertain_retry_reconciled);
	tcase_add_test(tc, test_ctx_window);
	tcase_add_test(tc, test_part_select);
	tcase_add_test(tc, test_body_select);
	tcase_add_test(tc, test_all_suppressed);
	tcase_add_test(tc, test_retry_suppressed);
	tcase_add_test(tc, test_body_select_limits);
	tcase_add_test(tc, test_retry_over_limit);
	tcase_add_test(tc, test_defer_over_limit);
	tcase_add_test(tc, test_submit_refusal);
	tcase_add_test(tc, test_update_spec);
	tcase_add_test(tc, test_state_roundtrip);
	tcase_add_test(tc, test_state_damage);
	tcase_add_test(tc, test_world_exactly_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(job_suite());
	int failed;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
