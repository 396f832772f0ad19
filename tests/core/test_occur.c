/*
 * test_occur: occurrence planning with values only: which runs a job needs,
 * what a reload does to each run, which records the state lets go, and
 * follow-up names. Jobs are built by hand (no configuration files), zones
 * come from the tz database through the test fixture.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "fixture.h"
#include "occur.h"
#include "run.h"
#include "util.h"
#include "window.h"

#define T0 1800000000LL /* 2027-01-15 08:00 UTC, a Friday */
#define MS(s) ((int64_t)(s) * 1000)

static struct jobspec spec;
static struct tz *utc, *tokyo;
static struct recipient rcpts[3];

static void spec_init(void)
{
	memset(&spec, 0, sizeof(spec));
	memset(rcpts, 0, sizeof(rcpts));
	utc = fixture_tz("UTC");
	tokyo = fixture_tz("Asia/Tokyo");
	spec.name = (char *)"job";
	spec.agent_id = (char *)"agent_1";
	spec.timezone = (char *)"UTC";
	spec.tz = utc;
	spec.start = T0;
	spec.anchored = true;
	spec.max_lateness = 900;
	spec.enabled = true;
	spec.retry.max_retries = 2;
	rcpts[0].phone_number = (char *)"+15550100001";
	rcpts[1].phone_number = (char *)"+15550100002";
	rcpts[2].phone_number = (char *)"+81312345671";
	spec.recipients = rcpts;
	spec.n_recipients = 3;
	jobspec_compute_digest(&spec);
}

static void spec_done(void)
{
	calendar_free(spec.repeat);
	window_free(spec.hours);
	tz_free(utc);
	tz_free(tokyo);
}

static void set_repeat(const char *text)
{
	char *cause = NULL;

	ck_assert_msg(calendar_parse(text, &spec.repeat, &cause) == 0, "%s", cause ? cause : "");
	jobspec_compute_digest(&spec);
}

/* Calling hours from..to (seconds after midnight) every day. */
static void set_hours(int from, int to)
{
	spec.hours = xcalloc(1, sizeof(*spec.hours));
	spec.hours->days = 0x7f;
	spec.hours->from = from;
	spec.hours->to = to;
	jobspec_compute_digest(&spec);
}

/* The job's timezone edited to name (loaded as z). */
static void set_zone(const char *name, const struct tz *z)
{
	spec.timezone = (char *)name;
	spec.tz = z;
	jobspec_compute_digest(&spec);
}

static struct occur_opts opts_at(int64_t now_ms)
{
	return (struct occur_opts){ .now_ms = now_ms, .settle_ms = now_ms + 6000, .replan = INT64_MIN };
}

static struct occur_out plan(const struct run *const *runs, size_t n, struct occur_opts o)
{
	struct occur_out out = { 0 };

	occur_next(&spec, runs, n, &o, &out);
	return out;
}

static bool noted(const struct occur_out *out, enum job_event ev, const char *text)
{
	for (size_t i = 0; i < out->n_notes; i++)
		if (out->notes[i].event == ev && strstr(out->notes[i].msg, text))
			return true;
	return false;
}

START_TEST(test_oneoff_single_run)
{
	struct occur_out out = plan(NULL, 0, opts_at(MS(T0 - 60)));
	const struct run *have[1];

	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_int_eq(out.add[0]->start, T0);
	ck_assert_int_eq(out.add[0]->state, RUN_SCHEDULED);
	ck_assert(!out.persist[0]);
	ck_assert(noted(&out, JE_SCHEDULED, "run scheduled at"));
	/* It exists: nothing more, whatever its state. */
	have[0] = out.add[0];
	for (int st = 0; st < RUN__MAX; st++) {
		struct occur_out again;
		out.add[0]->state = (enum run_state)st;
		again = plan(have, 1, opts_at(MS(T0 + 10)));
		ck_assert_uint_eq(again.n_add, 0);
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
	/* Disabled: made disabled, never due. */
	spec.enabled = false;
	out = plan(NULL, 0, opts_at(MS(T0 - 60)));
	ck_assert_int_eq(out.add[0]->state, RUN_DISABLED);
	ck_assert_int_eq(out.add[0]->due_ms, 0);
	occur_out_clear(&out);
}
END_TEST

/* A one-off run whose record was lost while its follow-up touch kept one:
 * made again at a start as a lookup that may adopt its batch and never
 * submits (its batch was dialled: the touch exists), whatever its lateness;
 * not while the daemon runs, not when the run itself is there, not for a
 * deferred part (made at the submit, dialled or not). */
START_TEST(test_oneoff_lost_behind_touch)
{
	struct run *fu = run_new_part(&spec, T0, "follow-up 1", NULL, NULL, 0);
	const struct run *have[2] = { fu, NULL };
	struct occur_opts o = opts_at(MS(T0 + 3600)); /* far past max_lateness */
	struct occur_out out;

	fu->touch = 1;
	fu->state = RUN_COMPLETED;
	out = plan(have, 1, o);
	ck_assert_uint_eq(out.n_add, 0); /* not at a start */
	occur_out_clear(&out);
	o.starting = true;
	out = plan(have, 1, o);
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_ptr_null(out.add[0]->part);
	ck_assert_int_eq(out.add[0]->start, T0);
	ck_assert_int_eq(out.add[0]->state, RUN_SUBMITTING);
	ck_assert(out.add[0]->uncertain);
	ck_assert(out.add[0]->lookup_only);
	ck_assert_int_eq(out.add[0]->settle_ms, o.settle_ms);
	ck_assert(noted(&out, JE_SCHEDULED, "a part made from its batch has one"));
	/* The run is there: nothing more. */
	have[1] = out.add[0];
	{
		struct occur_out again = plan(have, 2, o);
		ck_assert_uint_eq(again.n_add, 0);
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
	/* A resume part is made from a dialled batch's unfinished recipients:
	 * the same evidence. A deferred one is made at the submit, also when
	 * nothing was sent: none. */
	fu->touch = 0;
	free(fu->part);
	fu->part = xstrdup("resume 1");
	out = plan(have, 1, o);
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert(out.add[0]->lookup_only);
	occur_out_clear(&out);
	free(fu->part);
	fu->part = xstrdup("deferred 1");
	out = plan(have, 1, o);
	ck_assert_uint_eq(out.n_add, 0);
	occur_out_clear(&out);
	run_free(fu);
}
END_TEST

/* A run whose time came before a start, without a record, is looked up
 * first (when the shell says so: every plan, at a start or after a reload);
 * only within max_lateness, and only if it came due before the daemon
 * began. */
START_TEST(test_suspect_after_start)
{
	struct occur_opts o = opts_at(MS(T0 + 60));
	struct occur_out out;

	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SCHEDULED); /* a first start: nothing to suspect */
	occur_out_clear(&out);
	o.suspect_due = true;
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SUBMITTING);
	ck_assert(out.add[0]->uncertain);
	ck_assert_int_eq(out.add[0]->settle_ms, o.settle_ms);
	ck_assert_int_eq(out.add[0]->first_intent_ms, 0);
	ck_assert(noted(&out, JE_SCHEDULED, "has no record; looking it up"));
	occur_out_clear(&out);
	o.now_ms = MS(T0 + 901); /* missed anyway: no lookup */
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SCHEDULED);
	occur_out_clear(&out);
	o.now_ms = MS(T0 - 1); /* not due yet */
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SCHEDULED);
	occur_out_clear(&out);
	/* Due after this daemon began (a slow start): its own, not looked up;
	 * due before it began: looked up. */
	o.now_ms = MS(T0 + 2);
	o.born_ms = MS(T0) - 1;
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SCHEDULED);
	occur_out_clear(&out);
	o.born_ms = MS(T0);
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SUBMITTING);
	/* Planned after the start (a reload brought its job back): no start
	 * loop looks at it, so it is due now, for its lookup. */
	ck_assert_int_eq(out.add[0]->due_ms, o.now_ms);
	occur_out_clear(&out);
	/* Planned by the start: the start looks at every run once. */
	o.starting = true;
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->state, RUN_SUBMITTING);
	ck_assert_int_eq(out.add[0]->due_ms, 0);
	occur_out_clear(&out);
}
END_TEST

START_TEST(test_recurring_next_and_catch_up)
{
	struct occur_out out;
	const struct run *have[1];

	set_repeat("*-*-* 08:00");
	out = plan(NULL, 0, opts_at(MS(T0 - 60)));
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_int_eq(out.add[0]->start, T0);
	/* One waits: nothing more. */
	have[0] = out.add[0];
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 - 30)));
		ck_assert_uint_eq(again.n_add, 0);
		occur_out_clear(&again);
	}
	/* Once it left "scheduled", the next day. */
	out.add[0]->state = RUN_COMPLETED;
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 60)));
		ck_assert_uint_eq(again.n_add, 1);
		ck_assert_int_eq(again.add[0]->start, T0 + 86400);
		occur_out_clear(&again);
	}
	/* Ten days down: the 9 older occurrences are one missed note, the
	 * newest (within max_lateness) is made. */
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 10 * 86400 + 60)));
		ck_assert_uint_eq(again.n_add, 1);
		ck_assert_int_eq(again.add[0]->start, T0 + 10 * 86400);
		ck_assert_uint_eq(again.missed, 9);
		ck_assert(noted(&again, JE_MISSED, "9 occurrences"));
		occur_out_clear(&again);
	}
	/* Later than max_lateness even for the newest: the one after. */
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 10 * 86400 + 1000)));
		ck_assert_int_eq(again.add[0]->start, T0 + 11 * 86400);
		ck_assert_uint_eq(again.missed, 10);
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
}
END_TEST

/* A minutely job with count, down for 12,000 minutes (the review's
 * reload that froze the loop for 20 s: each missed occurrence was counted
 * by a walk from start). One note, every missed one counted. */
START_TEST(test_long_downtime_with_count)
{
	struct occur_out out;

	set_repeat("*:*:00");
	spec.count = 13000;
	out = plan(NULL, 0, opts_at(MS(T0 + 12000 * 60 + 30)));
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_int_eq(out.add[0]->start, T0 + 12000 * 60);
	ck_assert_uint_eq(out.missed, 12000);
	ck_assert(noted(&out, JE_MISSED, "12000 occurrences"));
	occur_out_clear(&out);
}
END_TEST

/* The review's double call: a daily 08:00 job ran at 08:00 UTC; its
 * timezone is then edited to Etc/GMT+1 (UTC-1), where 08:00 of the same
 * day is an hour later and names the same call_name. That occurrence is
 * the run already made: the next is the following day's. */
START_TEST(test_zone_edit_same_call_name)
{
	struct occur_out out;
	const struct run *have[1];
	struct tz *minus1 = fixture_tz("Etc/GMT+1");

	set_repeat("*-*-* 08:00");
	out = plan(NULL, 0, opts_at(MS(T0 - 60)));
	ck_assert_uint_eq(out.n_add, 1);
	have[0] = out.add[0];
	out.add[0]->state = RUN_COMPLETED;
	set_zone("Etc/GMT+1", minus1);
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 60)));
		ck_assert_uint_eq(again.n_add, 1);
		ck_assert_int_eq(again.add[0]->start, T0 + 86400 + 3600);
		ck_assert_str_ne(again.add[0]->call_name, have[0]->call_name);
		ck_assert(noted(&again, JE_CHANGED, "1 occurrence from 2027-01-15T08:00:00-01:00 not run"));
		ck_assert_uint_eq(again.missed, 0);
		occur_out_clear(&again);
	}
	/* Down until 09:30Z, then started with the edit: the 09:00Z
	 * occurrence is the run's, not a missed one (review). */
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 5400)));
		ck_assert_int_eq(again.add[0]->start, T0 + 86400 + 3600);
		ck_assert_uint_eq(again.missed, 0);
		ck_assert(!noted(&again, JE_MISSED, "missed"));
		occur_out_clear(&again);
	}
	/* Back to UTC: the next is simply the following day's 08:00. */
	set_zone("UTC", utc);
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 60)));
		ck_assert_int_eq(again.add[0]->start, T0 + 86400);
		ck_assert(!noted(&again, JE_CHANGED, "not run"));
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
	tz_free(minus1);
}
END_TEST

/* Hourly, the 07:00 and 08:00 UTC runs made and only the newest kept (as
 * occur_prune keeps them), then the zone edited to Etc/GMT+2: 09:00Z and
 * 10:00Z are 07:00 and 08:00 there, both made already; the next is 11:00Z
 * (review: the pruned 07:00 record let 09:00Z reuse its call_name). */
START_TEST(test_zone_edit_pruned_records)
{
	struct run *made;
	const struct run *have[1];
	struct tz *minus2 = fixture_tz("Etc/GMT+2");

	set_repeat("*-*-* *:00");
	made = run_new_at(&spec, T0);
	made->state = RUN_COMPLETED;
	have[0] = made;
	ck_assert_str_eq(made->call_name, "job 2027-01-15 08:00");
	set_zone("Etc/GMT+2", minus2);
	{
		struct occur_out again = plan(have, 1, opts_at(MS(T0 + 60)));
		ck_assert_uint_eq(again.n_add, 1);
		ck_assert_int_eq(again.add[0]->start, T0 + 3 * 3600);
		ck_assert_str_eq(again.add[0]->call_name, "job 2027-01-15 09:00");
		ck_assert(noted(&again, JE_CHANGED, "2 occurrences from 2027-01-15T07:00:00-02:00 not run"));
		occur_out_clear(&again);
	}
	run_free(made);
	tz_free(minus2);
}
END_TEST

/* The same with recipient zones under calling hours: the occurrence whose
 * wall time came again is skipped whole (its groups' names are taken,
 * the job-zone group's by the whole-run name it extends). */
START_TEST(test_zone_edit_same_call_name_groups)
{
	struct occur_out out;
	const struct run *have[2];
	struct tz *minus1 = fixture_tz("Etc/GMT+1");

	rcpts[2].timezone = (char *)"Asia/Tokyo";
	rcpts[2].tz = tokyo;
	spec.has_recipient_zones = true;
	set_hours(0, 86399);
	set_repeat("*-*-* 08:00");
	out = plan(NULL, 0, opts_at(MS(T0 - 60)));
	ck_assert_uint_eq(out.n_add, 2);
	for (size_t i = 0; i < 2; i++) {
		out.add[i]->state = RUN_COMPLETED;
		have[i] = out.add[i];
	}
	set_zone("Etc/GMT+1", minus1);
	{
		struct occur_out again = plan(have, 2, opts_at(MS(T0 + 60)));
		ck_assert_uint_eq(again.n_add, 2);
		ck_assert_int_eq(again.add[0]->start, T0 + 86400 + 3600);
		ck_assert_int_eq(again.add[1]->start, T0 + 86400 + 3600);
		ck_assert(noted(&again, JE_CHANGED, "1 occurrence from 2027-01-15T08:00:00-01:00 not run"));
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
	tz_free(minus1);
}
END_TEST

/* A recurring job without start plans from now; an occurrence a reload
 * dropped is planned again at its own instant. */
START_TEST(test_unanchored_replan)
{
	struct occur_opts o = opts_at(MS(T0 + 30));
	struct occur_out out;

	spec.anchored = false;
	set_repeat("*-*-* 08:00");
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->start, T0 + 86400);
	occur_out_clear(&out);
	o.replan = T0;
	out = plan(NULL, 0, o);
	ck_assert_int_eq(out.add[0]->start, T0);
	occur_out_clear(&out);
}
END_TEST

START_TEST(test_zone_groups)
{
	struct occur_opts o = opts_at(MS(T0 - 3600));
	struct occur_out out;
	const struct run *have[1];

	rcpts[2].timezone = (char *)"Asia/Tokyo";
	rcpts[2].tz = tokyo;
	spec.has_recipient_zones = true;
	set_hours(9 * 3600, 17 * 3600); /* 09:00..17:00 local */
	out = plan(NULL, 0, o);
	ck_assert_uint_eq(out.n_add, 2);
	/* UTC opens at 09:00Z (an hour after the occurrence); Tokyo's window
	 * (17:00 JST at the occurrence) has just closed: 09:00 JST next day. */
	ck_assert_str_eq(out.add[0]->part, "UTC");
	ck_assert_uint_eq(out.add[0]->n_rcpts, 2);
	ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 3600));
	ck_assert_int_eq(out.add[0]->close_ms, MS(T0 + 9 * 3600));
	ck_assert_str_eq(out.add[1]->part, "Asia/Tokyo");
	ck_assert_uint_eq(out.add[1]->n_rcpts, 1);
	ck_assert_str_eq(out.add[1]->rcpts[0], "+81312345671");
	ck_assert_int_eq(out.add[1]->submit_at_ms, MS(T0 + 16 * 3600));
	ck_assert(out.persist[0] && out.persist[1]);
	ck_assert_str_eq(out.add[0]->call_name, "job 2027-01-15 08:00 (UTC)");
	/* One group's record lost, at start-up: only it is made again. */
	have[0] = out.add[0];
	o.starting = true;
	{
		struct occur_out again = plan(have, 1, o);
		ck_assert_uint_eq(again.n_add, 1);
		ck_assert_str_eq(again.add[0]->part, "Asia/Tokyo");
		occur_out_clear(&again);
	}
	/* ... unless a group of the occurrence was submitted. */
	out.add[0]->state = RUN_PENDING;
	out.add[0]->batch_id = xstrdup("btcal_1");
	{
		struct occur_out again = plan(have, 1, o);
		ck_assert_uint_eq(again.n_add, 0);
		occur_out_clear(&again);
	}
	occur_out_clear(&out);
}
END_TEST

START_TEST(test_skip_outside_hours_one_note)
{
	struct occur_out out;

	set_repeat("*-*-* 03:00"); /* always outside 09:00..17:00 */
	set_hours(9 * 3600, 17 * 3600);
	spec.outside = OUTSIDE_SKIP;
	out = plan(NULL, 0, opts_at(MS(T0)));
	ck_assert_uint_eq(out.n_add, 0);
	ck_assert_uint_eq(out.n_notes, 1);
	ck_assert(noted(&out, JE_MISSED, "no later occurrence falls inside them"));
	occur_out_clear(&out);
}
END_TEST

static struct run *mk(int64_t start, enum run_state st, const char *batch)
{
	struct run *r = run_new_at(&spec, start);

	r->state = st;
	if (batch)
		r->batch_id = xstrdup(batch);
	return r;
}

/* A damaged journal: every scheduled run whose time has come is looked up,
 * concluded at once; one not due yet, or in any other state, is left. */
START_TEST(test_suspect_damaged)
{
	for (int st = 0; st < RUN__MAX; st++) {
		struct run *r = mk(T0, (enum run_state)st, NULL);
		bool due = st == RUN_SCHEDULED;

		ck_assert(!occur_suspect_damaged(r, &spec, MS(T0) - 1));
		ck_assert_int_eq(r->state, st);
		ck_assert_int_eq(occur_suspect_damaged(r, &spec, MS(T0)), due);
		if (due) {
			ck_assert_int_eq(r->state, RUN_SUBMITTING);
			ck_assert(r->uncertain);
			ck_assert_int_eq(r->intent_ms, MS(T0));
			ck_assert_int_eq(r->settle_ms, 0);
		} else {
			ck_assert_int_eq(r->state, st);
		}
		run_free(r);
	}
	/* Under calling hours its time is the window's opening. */
	set_hours(10 * 3600, 12 * 3600);
	{
		struct run *r = mk(T0, RUN_SCHEDULED, NULL);
		int64_t at = run_submit_at_ms(r, &spec);

		ck_assert(!occur_suspect_damaged(r, &spec, at - 1));
		ck_assert(occur_suspect_damaged(r, &spec, at));
		run_free(r);
	}
}
END_TEST

START_TEST(test_reconcile_oneoff)
{
	struct run *a = mk(T0 - 7200, RUN_MISSED, NULL), *b;
	const struct run *v[2];
	struct occur_decision d[2];

	/* The missed run's start fixed ahead: the stale run is dropped. */
	spec.start = T0;
	jobspec_compute_digest(&spec);
	v[0] = a;
	occur_reconcile(&spec, v, 1, d);
	ck_assert_int_eq(d[0].verdict, OCCUR_DROP);
	/* At the job's start: updated in place. */
	a->start = T0;
	occur_reconcile(&spec, v, 1, d);
	ck_assert_int_eq(d[0].verdict, OCCUR_UPDATE);
	/* Cancelled by the operator: stays. */
	a->cancel_wanted = true;
	a->state = RUN_CANCELLED;
	occur_reconcile(&spec, v, 1, d);
	ck_assert_int_eq(d[0].verdict, OCCUR_KEEP);
	run_free(a);

	/* Submitted at an old start, a leftover at the new one: the
	 * submitted run is warned about, the leftover dropped. */
	a = mk(T0 - 7200, RUN_PENDING, "btcal_1");
	b = mk(T0, RUN_SCHEDULED, NULL);
	v[0] = a;
	v[1] = b;
	occur_reconcile(&spec, v, 2, d);
	ck_assert_int_eq(d[0].verdict, OCCUR_UPDATE);
	ck_assert_int_eq(d[1].verdict, OCCUR_DROP);
	run_free(a);
	run_free(b);
}
END_TEST

START_TEST(test_reconcile_recurring)
{
	struct run *a, *b, *f;
	const struct run *v[3];
	struct occur_decision d[3];

	set_repeat("*-*-* 08:00");
	a = mk(T0, RUN_COMPLETED, "btcal_1");
	b = mk(T0 + 86400, RUN_SCHEDULED, NULL);
	f = mk(T0, RUN_SCHEDULED, NULL);
	run_set_part(f, &spec, "resume 1");
	v[0] = a;
	v[1] = f;
	v[2] = b;
	occur_reconcile(&spec, v, 3, d);
	ck_assert_int_eq(d[0].verdict, OCCUR_UPDATE);
	ck_assert_int_eq(d[1].verdict, OCCUR_FOLLOW); /* a follow-up is never dropped */
	ck_assert_int_eq(d[2].verdict, OCCUR_KEEP);   /* unchanged */
	spec.call_name = (char *)"Other";
	jobspec_compute_digest(&spec);
	occur_reconcile(&spec, v, 3, d);
	ck_assert_int_eq(d[1].verdict, OCCUR_FOLLOW);
	ck_assert_int_eq(d[2].verdict, OCCUR_DROP); /* planned again */
	run_free(a);
	run_free(b);
	run_free(f);
}
END_TEST


/* Two touches: 2 days, then a week, after the previous touch ended. */
static struct touch touches[2];

static void set_touches(void)
{
	memset(touches, 0, sizeof(touches));
	touches[0].after_s = 2 * 86400;
	touches[0].status = TOUCH_VOICEMAIL | TOUCH_NOT_DIALLED;
	touches[1].after_s = 7 * 86400;
	spec.touches = touches;
	spec.n_touches = 2;
}

static void end_at(struct run *r, int64_t at_ms)
{
	r->finished_at = at_ms / 1000;
	r->finished_ms = at_ms;
}

/* When each touch is due, and when none is: the previous touch must have
 * ended (every run of it, its retries and resumes included) and dialled. */
START_TEST(test_touch_next)
{
	struct run *a = mk(T0, RUN_IN_PROGRESS, "btcal_1"), *b = mk(T0 + 86400, RUN_COMPLETED, "btcal_2");
	const struct run *v[4] = { a, b };
	int touch;
	int64_t due;

	ck_assert_int_eq(occur_touch_next(&spec, v, 2, T0, &touch, &due), OCCUR_TOUCH_NONE); /* no touches */
	set_touches();
	ck_assert_int_eq(occur_touch_next(&spec, v, 2, T0, &touch, &due), OCCUR_TOUCH_WAIT);
	ck_assert_int_eq(occur_touch_next(&spec, v, 2, T0 + 5, &touch, &due), OCCUR_TOUCH_NONE); /* no such occurrence */
	a->state = RUN_COMPLETED;
	end_at(a, MS(T0 + 3600) + 1);
	ck_assert_int_eq(occur_touch_next(&spec, v, 2, T0, &touch, &due), OCCUR_TOUCH_DUE);
	ck_assert_int_eq(touch, 1);
	ck_assert_int_eq(due, T0 + 3601 + 2 * 86400); /* the end, rounded up, plus after */
	/* a resume of the first touch still at work: wait for it */
	{
		struct run *f = mk(T0, RUN_PENDING, "btcal_3");
		run_set_part(f, &spec, "resume 1");
		v[2] = f;
		ck_assert_int_eq(occur_touch_next(&spec, v, 3, T0, &touch, &due), OCCUR_TOUCH_WAIT);
		f->state = RUN_FAILED;
		end_at(f, MS(T0 + 7200));
		ck_assert_int_eq(occur_touch_next(&spec, v, 3, T0, &touch, &due), OCCUR_TOUCH_DUE);
		ck_assert_int_eq(due, T0 + 7200 + 2 * 86400);
		/* an operator's request in flight is not an end */
		f->op = OP_RETRY;
		ck_assert_int_eq(occur_touch_next(&spec, v, 3, T0, &touch, &due), OCCUR_TOUCH_WAIT);
		f->op = OP_NONE;
		/* touch 1 made: touch 2 waits for it, then is due a week after */
		{
			char **k = xcalloc(2, sizeof(*k));
			k[0] = xstrdup("+15550100001");
			struct run *t1 = run_new_touch(&spec, T0, 1, NULL, k, 1, MS(T0 + 3 * 86400));
			ck_assert_str_eq(t1->part, "follow-up 1");
			ck_assert_str_eq(t1->call_name, "job 2027-01-15 08:00 (follow-up 1)");
			ck_assert_int_eq(t1->state, RUN_SCHEDULED);
			ck_assert_int_eq(t1->due_ms, MS(T0 + 3 * 86400));
			ck_assert(run_is_follow_up(t1));
			v[3] = t1;
			{
				/* a resume of a touch says which touch it continues */
				char *part = occur_follow_up_part(t1, v, 4);
				ck_assert_str_eq(part, "follow-up 1, resume 1");
				ck_assert_int_eq(run_part_touch(part), 1);
				free(part);
			}
			ck_assert_int_eq(occur_touch_next(&spec, v, 4, T0, &touch, &due), OCCUR_TOUCH_WAIT);
			t1->state = RUN_MISSED; /* ended without dialling: the campaign ends */
			end_at(t1, MS(T0 + 3 * 86400 + 900));
			ck_assert_int_eq(occur_touch_next(&spec, v, 4, T0, &touch, &due), OCCUR_TOUCH_NONE);
			t1->state = RUN_COMPLETED;
			t1->batch_id = xstrdup("btcal_9");
			/* cancelled by the operator: the campaign ends there */
			t1->stopped = true;
			ck_assert_int_eq(occur_touch_next(&spec, v, 4, T0, &touch, &due), OCCUR_TOUCH_NONE);
			t1->stopped = false;
			ck_assert_int_eq(occur_touch_next(&spec, v, 4, T0, &touch, &due), OCCUR_TOUCH_DUE);
			ck_assert_int_eq(touch, 2);
			ck_assert_int_eq(due, T0 + 3 * 86400 + 900 + 7 * 86400);
			/* the old occurrence is kept while its touch is pending;
			 * the newer one (b) is the newest */
			{
				bool rm[4];
				(void)occur_prune(&spec, v, 4, T0 + 30 * 86400, 30 * 86400, rm);
				ck_assert(!rm[0] && !rm[2] && !rm[3] && !rm[1]);
				spec.n_touches = 1; /* no touch left after touch 1 */
				(void)occur_prune(&spec, v, 4, T0 + 30 * 86400, 30 * 86400, rm);
				ck_assert(rm[0] && rm[2] && rm[3] && !rm[1]);
				spec.n_touches = 2;
			}
			/* a lost record of touch 1 knows its touch from its part */
			{
				struct run *lost = run_new_lost(&spec, T0, "Asia/Tokyo, follow-up 2", NULL, NULL, 0, true,
								MS(T0));
				ck_assert_int_eq(lost->touch, 2);
				ck_assert_int_eq(run_part_touch("resume 1"), 0);
				ck_assert_int_eq(run_part_touch("follow-up 1, resume 1"), 1);
				ck_assert_int_eq(run_part_touch("xfollow-up 1"), 0);
				ck_assert_int_eq(run_part_touch("follow-up 21"), 0);
				run_free(lost);
			}
			run_free(t1);
		}
		run_free(f);
	}
	spec.touches = NULL;
	spec.n_touches = 0;
	run_free(a);
	run_free(b);
}
END_TEST

/* A touch is made per zone of its recipients, each at the first instant
 * from its due time inside the calling hours (the touch's own when set);
 * nobody to call still makes the touch, ended at once. */
START_TEST(test_touch_make)
{
	struct occur_out out = { 0 };
	const char *keys[] = { "+81312345671", "+15550100002" };
	struct window *own;

	set_touches();
	touches[0].suffix = (char *)"second try";
	rcpts[2].timezone = (char *)"Asia/Tokyo";
	rcpts[2].tz = tokyo;
	spec.has_recipient_zones = true;
	set_hours(9 * 3600, 17 * 3600);
	/* due at 20:00 UTC (05:00 JST): UTC opens 09:00 next day, Tokyo 09:00 JST = 00:00 UTC */
	occur_touch_make(&spec, T0, 1, keys, 2, T0 + 12 * 3600, MS(T0), false, 0, &out);
	ck_assert_uint_eq(out.n_add, 2);
	ck_assert(out.persist[0] && out.persist[1]);
	ck_assert_str_eq(out.add[0]->part, "follow-up 1"); /* the job's zone: no zone words */
	ck_assert_str_eq(out.add[0]->call_name, "job 2027-01-15 08:00 (second try)");
	ck_assert_uint_eq(out.add[0]->n_rcpts, 1);
	ck_assert_str_eq(out.add[0]->rcpts[0], "+15550100002");
	ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 25 * 3600));
	ck_assert_int_eq(out.add[0]->close_ms, MS(T0 + 33 * 3600));
	ck_assert_str_eq(out.add[1]->part, "Asia/Tokyo, follow-up 1");
	ck_assert_str_eq(out.add[1]->call_name, "job 2027-01-15 08:00 (Asia/Tokyo, second try)");
	ck_assert_str_eq(out.add[1]->zone, "Asia/Tokyo");
	ck_assert_int_eq(out.add[1]->submit_at_ms, MS(T0 + 16 * 3600));
	ck_assert_int_eq(out.add[1]->touch, 1);
	ck_assert(run_is_follow_up(out.add[1]));
	occur_out_clear(&out);
	/* the touch's own hours: 18:00..20:00 */
	own = xcalloc(1, sizeof(*own));
	own->days = 0x7f;
	own->from = 18 * 3600;
	own->to = 20 * 3600;
	touches[0].hours = own;
	occur_touch_make(&spec, T0, 1, keys + 1, 1, T0 + 3600, MS(T0), false, 0, &out);
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 10 * 3600));
	occur_out_clear(&out);
	/* a number twice: once */
	{
		const char *twice[] = { "+15550100002", "+15550100002" };
		occur_touch_make(&spec, T0, 1, twice, 2, T0 + 3600, MS(T0), false, 0, &out);
		ck_assert_uint_eq(out.n_add, 1);
		ck_assert_uint_eq(out.add[0]->n_rcpts, 1);
		occur_out_clear(&out);
	}
	/* after the previous touch's record was rebuilt from the API (the
	 * state folder emptied): looked up now, concluded from settle, then
	 * submitted at its time */
	{
		struct run *p = mk(T0, RUN_COMPLETED, "btcal_1");
		const struct run *v[1] = { p };
		ck_assert(occur_touch_suspect(v, 1, T0, 1));
		p->first_intent_ms = MS(T0);
		ck_assert(!occur_touch_suspect(v, 1, T0, 1));
		ck_assert(!occur_touch_suspect(v, 1, T0, 2));
		p->first_intent_ms = 0;
		ck_assert(!occur_touch_suspect(v, 1, T0 + 1, 1));
		occur_touch_make(&spec, T0, 1, keys + 1, 1, T0 + 3600, MS(T0 + 60), true, MS(T0 + 70), &out);
		ck_assert_uint_eq(out.n_add, 1);
		ck_assert_int_eq(out.add[0]->state, RUN_SUBMITTING);
		ck_assert(out.add[0]->uncertain);
		ck_assert_int_eq(out.add[0]->due_ms, MS(T0 + 60));
		ck_assert_int_eq(out.add[0]->settle_ms, MS(T0 + 70));
		ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 10 * 3600));
		occur_out_clear(&out);
		run_free(p);
	}
	/* made while the job is disabled: its time is kept, so that its
	 * lateness counts from it when the job is enabled again */
	spec.enabled = false;
	occur_touch_make(&spec, T0, 1, keys + 1, 1, T0 + 3600, MS(T0), false, 0, &out);
	ck_assert_int_eq(out.add[0]->state, RUN_DISABLED);
	ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 10 * 3600));
	occur_out_clear(&out);
	spec.enabled = true;
	/* made later than it was due (it waited for results): from now */
	occur_touch_make(&spec, T0, 1, keys + 1, 1, T0 + 3600, MS(T0 + 11 * 3600 + 5), false, 0, &out);
	ck_assert_int_eq(out.add[0]->submit_at_ms, MS(T0 + 11 * 3600 + 5));
	occur_out_clear(&out);
	/* nobody */
	occur_touch_make(&spec, T0, 2, NULL, 0, T0 + 3600, MS(T0), false, 0, &out);
	ck_assert_uint_eq(out.n_add, 1);
	ck_assert_int_eq(out.add[0]->state, RUN_COMPLETED);
	ck_assert_int_eq(out.add[0]->touch, 2);
	ck_assert_int_eq(out.add[0]->finished_at, T0 + 3600);
	ck_assert_str_eq(out.add[0]->call_name, "job 2027-01-15 08:00 (follow-up 2)");
	occur_out_clear(&out);
	window_free(own);
	touches[0].hours = NULL;
	spec.touches = NULL;
	spec.n_touches = 0;
}
END_TEST

START_TEST(test_prune)
{
	struct run *a = mk(T0, RUN_COMPLETED, "btcal_1"), *b = mk(T0 + 86400, RUN_MISSED, NULL),
		   *c = mk(T0 + 2 * 86400, RUN_SCHEDULED, NULL);
	const struct run *v[3] = { a, b, c };
	bool rm[4];
	int64_t next;

	/* In the files: of what ended, the newest occurrence stays. */
	next = occur_prune(&spec, v, 3, T0 + 3 * 86400, 30 * 86400, rm);
	ck_assert(rm[0] && !rm[1] && !rm[2]);
	ck_assert_int_eq(next, INT64_MAX);
	/* An occurrence goes whole: its ended run stays while a part of it
	 * (a resume, a touch) is still at work. */
	{
		struct run *f = mk(T0, RUN_SCHEDULED, NULL);
		const struct run *w[4] = { a, f, b, c };
		run_set_part(f, &spec, "resume 1");
		next = occur_prune(&spec, w, 4, T0 + 3 * 86400, 30 * 86400, rm);
		ck_assert(!rm[0] && !rm[1] && !rm[2] && !rm[3]);
		f->state = RUN_COMPLETED;
		next = occur_prune(&spec, w, 4, T0 + 3 * 86400, 30 * 86400, rm);
		ck_assert(rm[0] && rm[1] && !rm[2] && !rm[3]);
		run_free(f);
	}
	/* Left the files: everything until retention after its end. */
	a->finished_at = T0 + 100;
	next = occur_prune(NULL, v, 3, T0 + 10 * 86400, 30 * 86400, rm);
	ck_assert(!rm[0] && !rm[1] && !rm[2]);
	ck_assert_int_eq(next, T0 + 100 + 30 * 86400);
	next = occur_prune(NULL, v, 3, T0 + 100 + 30 * 86400, 30 * 86400, rm);
	ck_assert(rm[0] && !rm[1] && !rm[2]);
	ck_assert_int_eq(next, T0 + 86400 + 30 * 86400);
	run_free(a);
	run_free(b);
	run_free(c);
}
END_TEST

START_TEST(test_overlap)
{
	struct run *prev, *cur, *group, *done;
	const struct run *v[4];
	bool cancel[4];

	set_repeat("daily");
	prev = mk(T0 - 86400, RUN_IN_PROGRESS, "btcal_1");
	cur = mk(T0, RUN_SCHEDULED, NULL);
	group = mk(T0, RUN_SUBMITTING, NULL); /* another zone group of cur's occurrence */
	done = mk(T0 - 2 * 86400, RUN_COMPLETED, "btcal_0");
	v[0] = done;
	v[1] = prev;
	v[2] = cur;
	v[3] = group;

	/* allow: submitted, nothing cancelled */
	spec.overlap = OVERLAP_ALLOW;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	for (int i = 0; i < 4; i++)
		ck_assert(!cancel[i]);
	/* skip: not submitted while the previous run works */
	spec.overlap = OVERLAP_SKIP;
	ck_assert_str_eq(occur_overlap(&spec, cur, v, 4, MS(T0), cancel),
			 "the previous run's batch is still active (overlap = skip)");
	for (int i = 0; i < 4; i++)
		ck_assert(!cancel[i]);
	/* cancel_previous: the working earlier run only, never a group of
	 * the same occurrence nor an ended run */
	spec.overlap = OVERLAP_CANCEL_PREVIOUS;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	ck_assert(!cancel[0] && cancel[1] && !cancel[2] && !cancel[3]);
	/* retry_wait and submitting count as at work; scheduled does not */
	prev->state = RUN_RETRY_WAIT;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	ck_assert(cancel[1]);
	prev->state = RUN_SUBMITTING;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	ck_assert(cancel[1]);
	/* a follow-up of an older occurrence (a touch, a resume) is no new
	 * occurrence: it cancels nothing and is never skipped */
	{
		struct run *touch = mk(T0 - 2 * 86400, RUN_SCHEDULED, NULL);
		const struct run *w[2] = { cur, touch };
		run_set_part(touch, &spec, "follow-up 1");
		cur->state = RUN_IN_PROGRESS;
		spec.overlap = OVERLAP_CANCEL_PREVIOUS;
		ck_assert_ptr_null(occur_overlap(&spec, touch, w, 2, MS(T0), cancel));
		ck_assert(!cancel[0] && !cancel[1]);
		spec.overlap = OVERLAP_SKIP;
		ck_assert_ptr_null(occur_overlap(&spec, touch, w, 2, MS(T0), cancel));
		/* ... nor does it hold the next occurrence back */
		cur->state = RUN_SCHEDULED;
		touch->state = RUN_IN_PROGRESS;
		touch->touch = 1;
		ck_assert_ptr_null(occur_overlap(&spec, cur, w, 2, MS(T0), cancel));
		spec.overlap = OVERLAP_CANCEL_PREVIOUS;
		ck_assert_ptr_null(occur_overlap(&spec, cur, w, 2, MS(T0), cancel));
		ck_assert(!cancel[1]);
		run_free(touch);
	}
	prev->state = RUN_SCHEDULED;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	ck_assert(!cancel[1]);
	prev->state = RUN_IN_PROGRESS;
	/* not yet due, not scheduled, or a one-off job: no verdict */
	spec.overlap = OVERLAP_SKIP;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0) - 1, cancel));
	cur->state = RUN_RETRY_WAIT;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	cur->state = RUN_SCHEDULED;
	ck_assert_ptr_nonnull(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	calendar_free(spec.repeat);
	spec.repeat = NULL;
	ck_assert_ptr_null(occur_overlap(&spec, cur, v, 4, MS(T0), cancel));
	ck_assert_ptr_null(occur_overlap(NULL, cur, v, 4, MS(T0), cancel));
	run_free(prev);
	run_free(cur);
	run_free(group);
	run_free(done);
}
END_TEST

START_TEST(test_follow_up_names)
{
	struct run *p = mk(T0, RUN_CANCELLED, "btcal_1"), *f1, *f2;
	const struct run *v[3];
	char *part;

	v[0] = p;
	part = occur_follow_up_part(p, v, 1);
	ck_assert_str_eq(part, "resume 1");
	f1 = run_new_part(&spec, T0, part, NULL, NULL, 0);
	free(part);
	v[1] = f1;
	part = occur_follow_up_part(f1, v, 2);
	ck_assert_str_eq(part, "resume 2"); /* never "resume 1, resume 1" */
	f2 = run_new_part(&spec, T0, part, NULL, NULL, 0);
	free(part);
	v[2] = f2;
	p->zone = xstrdup("Asia/Tokyo");
	part = occur_follow_up_part(p, v, 3);
	ck_assert_str_eq(part, "Asia/Tokyo, resume 1");
	free(part);
	run_free(p);
	run_free(f1);
	run_free(f2);
}
END_TEST

static void strv_clear(struct run *r)
{
	for (size_t i = 0; i < r->n_rcpts; i++)
		free(r->rcpts[i]);
	free(r->rcpts);
	r->rcpts = NULL;
	r->n_rcpts = 0;
}

static struct run *mk_part(const char *part, int retries, int follow_n)
{
	struct run *r = mk(T0, RUN_COMPLETED, "btcal_x");

	if (part)
		run_set_part(r, &spec, part);
	r->touch = run_part_touch(part);
	r->retries = retries;
	r->follow_n = follow_n;
	return r;
}

static const struct run *lost_parent(const struct run *lost, const struct run *const *v, size_t n, bool hands_on)
{
	bool h = !hands_on;
	const struct run *p = occur_lost_parent(lost, v, n, &h);

	ck_assert_int_eq(h, hands_on);
	return p;
}

/* A "resume N" or "deferred N" run rebuilt from a damaged record takes its
 * retries from the run of its zone and touch that handed recipients on,
 * never from one of its own kind made after it, nor from another zone,
 * touch or occurrence; the most retries when more than one could be it. */
START_TEST(test_lost_parent)
{
	struct run *base = mk_part(NULL, 1, 1), *r1 = mk_part("resume 1", 2, 1), *r2 = mk_part("resume 2", 3, 0),
		   *d1 = mk_part("deferred 1", 0, 0), *z = mk_part("Asia/Tokyo", 5, 1),
		   *zr = mk_part("Asia/Tokyo, resume 1", 6, 1), *t1 = mk_part("follow-up 1", 7, 1),
		   *t1r = mk_part("follow-up 1, resume 1", 0, 0), *other = mk_part(NULL, 9, 1),
		   *quiet = mk_part(NULL, 8, 0), *named = mk_part("Asia/Tokyo, follow-up 1", 4, 0);
	const struct run *v[] = { base, r1, r2, d1, z, zr, t1, t1r, other, quiet, named };
	size_t n = sizeof(v) / sizeof(v[0]);

	other->start = T0 + 3600; /* another occurrence */
	ck_assert_ptr_eq(lost_parent(r1, v, n, false), base);	  /* not r2, made after it */
	ck_assert_ptr_eq(lost_parent(r2, v, n, false), r1);	  /* r1 has more than base */
	ck_assert_ptr_eq(lost_parent(d1, v, n, false), r1);	  /* another kind: either */
	ck_assert_ptr_eq(lost_parent(zr, v, n, false), z);	  /* its zone's */
	ck_assert_ptr_eq(lost_parent(t1r, v, n, false), t1);	  /* its touch's */
	ck_assert_ptr_null(lost_parent(base, v, n, false)); /* no follow-up */
	ck_assert_ptr_null(lost_parent(z, v, n, false));
	ck_assert_ptr_null(lost_parent(t1, v, n, false));
	ck_assert_ptr_null(lost_parent(r1, v + 1, n - 1, false)); /* only runs made after it, or none handing on */
	for (size_t i = 0; i < n; i++)
		run_free((struct run *)v[i]);
}
END_TEST

static void hand_on(struct run *r, enum follow_up f, const char *key)
{
	r->follow = f;
	r->unfinished = xcalloc(2, sizeof(*r->unfinished));
	r->unfinished[0] = xstrdup(key);
	r->n_unfinished = 1;
}

static void give(struct run *r, const char *key)
{
	r->rcpts = xcalloc(2, sizeof(*r->rcpts));
	r->rcpts[0] = xstrdup(key);
	r->n_rcpts = 1;
}

/* A record that still hands recipients on (its follow-up's record came
 * after it and was damaged) names the lost run as that follow-up: of its
 * kind, numbered after it, the nearest such record; not when another run
 * holds those recipients (that run is the follow-up). */
START_TEST(test_lost_parent_hands_on)
{
	struct run *base = mk_part(NULL, 3, 0), *r1 = mk_part("resume 1", 1, 0), *d1 = mk_part("deferred 1", 0, 0),
		   *d2 = mk_part("deferred 2", 0, 0), *r2 = mk_part("resume 2", 0, 0);
	const struct run *v[] = { base, r1, d1, d2, r2 };
	size_t n = sizeof(v) / sizeof(v[0]);

	give(r1, "+1");
	hand_on(r1, FOLLOW_DEFER, "+1");
	/* resume 1 hands +1 on to a deferred part: deferred 1 or 2 is it
	 * (base has more retries, but hands nothing on) */
	ck_assert_ptr_eq(lost_parent(d1, v, n, true), r1);
	ck_assert_ptr_eq(lost_parent(d2, v, n, true), r1);
	/* not to a resume: r2 is no follow-up of its kind */
	ck_assert_ptr_eq(lost_parent(r2, v, n, false), r1);
	/* d2 holds +1: d2 is resume 1's follow-up; d1 is no longer (its
	 * budget is still the nearest guess: base handed nothing on) */
	give(d2, "+1");
	ck_assert_ptr_eq(lost_parent(d1, v, n, false), r1);
	/* deferred 1 hands +2 on: deferred 2 (lost) is nearer than resume 1's */
	strv_clear(d2);
	hand_on(d1, FOLLOW_DEFER, "+2");
	give(d1, "+2");
	ck_assert_ptr_eq(lost_parent(d2, v, n, true), d1);
	/* deferred 1 is not its own follow-up, nor one numbered before its parent */
	ck_assert_ptr_eq(lost_parent(d1, v, n, true), r1);
	for (size_t i = 0; i < n; i++)
		run_free((struct run *)v[i]);
}
END_TEST

/* run_rebuilt_from: the parent's retries; its last call as the first
 * contact of a resume, none for a deferred run; the recipients handed on,
 * and a lookup that may submit, when the parent still hands them on. */
START_TEST(test_rebuilt_from)
{
	struct run *p = mk_part("resume 1", 2, 0), *d = mk_part("deferred 1", 0, 0), *r = mk_part("resume 2", 0, 0);

	d->lookup_only = r->lookup_only = true;
	hand_on(p, FOLLOW_DEFER, "+1");
	run_rebuilt_from(d, p, true);
	ck_assert_int_eq(d->retries, 2);
	ck_assert_uint_eq(d->contact_tag, 0);
	ck_assert(!d->lookup_only);
	ck_assert_uint_eq(d->n_rcpts, 1);
	ck_assert_str_eq(d->rcpts[0], "+1");
	ck_assert_ptr_null(d->rcpts[1]);
	run_rebuilt_from(r, p, false);
	ck_assert_int_eq(r->retries, 2);
	ck_assert_uint_eq(r->contact_tag, run_contact_tag(p, 2));
	ck_assert_int_eq(r->contact_base, 2);
	ck_assert(r->lookup_only);
	ck_assert_uint_eq(r->n_rcpts, 0);
	p->follow = FOLLOW_RESUME;
	run_rebuilt_from(r, p, true);
	ck_assert_uint_eq(r->contact_tag, run_contact_tag(p, 2));
	ck_assert_uint_eq(r->n_rcpts, 1);
	run_free(p);
	run_free(d);
	run_free(r);
}
END_TEST

/* A zone group's deferred part ("ZONE, deferred 1") rebuilt from a damaged
 * record (load_damaged knows no zone for a follow-up) takes its parent's
 * zone: the calling hours of its submit, and of the cancel at their close,
 * are its recipients' (run_zone would fall back to the job's), and a later
 * hand-on of it goes to a part of its zone. */
START_TEST(test_rebuilt_zone_part)
{
	struct run *z = mk_part("Asia/Tokyo", 1, 0),
		   *lost = run_new_lost(&spec, T0, "Asia/Tokyo, deferred 1", NULL, NULL, 0, true, 0);
	const struct run *v[] = { z, lost }, *p;
	bool h = false;
	char *part;

	z->zone = xstrdup("Asia/Tokyo");
	give(z, "+1");
	hand_on(z, FOLLOW_DEFER, "+1");
	p = occur_lost_parent(lost, v, 2, &h);
	ck_assert_ptr_eq(p, z);
	ck_assert(h);
	run_rebuilt_from(lost, p, h);
	ck_assert(!lost->lookup_only); /* submittable now */
	ck_assert_ptr_nonnull(lost->zone);
	ck_assert_str_eq(lost->zone, "Asia/Tokyo");
	lost->follow = FOLLOW_DEFER;
	part = occur_follow_up_part(lost, v, 2);
	ck_assert_str_eq(part, "Asia/Tokyo, deferred 2");
	free(part);
	lost->follow = FOLLOW_NONE;
	run_free(z);
	run_free(lost);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("occur");
	TCase *tc = tcase_create("occur");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, spec_init, spec_done);
	tcase_add_test(tc, test_oneoff_single_run);
	tcase_add_test(tc, test_suspect_after_start);
	tcase_add_test(tc, test_oneoff_lost_behind_touch);
	tcase_add_test(tc, test_suspect_damaged);
	tcase_add_test(tc, test_recurring_next_and_catch_up);
	tcase_add_test(tc, test_unanchored_replan);
	tcase_add_test(tc, test_long_downtime_with_count);
	tcase_add_test(tc, test_zone_edit_same_call_name);
	tcase_add_test(tc, test_zone_edit_same_call_name_groups);
	tcase_add_test(tc, test_zone_edit_pruned_records);
	tcase_add_test(tc, test_zone_groups);
	tcase_add_test(tc, test_skip_outside_hours_one_note);
	tcase_add_test(tc, test_reconcile_oneoff);
	tcase_add_test(tc, test_reconcile_recurring);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_follow_up_names);
	tcase_add_test(tc, test_lost_parent);
	tcase_add_test(tc, test_lost_parent_hands_on);
	tcase_add_test(tc, test_rebuilt_from);
	tcase_add_test(tc, test_rebuilt_zone_part);
	tcase_add_test(tc, test_touch_next);
	tcase_add_test(tc, test_touch_make);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
