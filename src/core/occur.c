/*
 * occur: occurrence planning (see occur.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occur.h"
#include "schedule.h"
#include "state.h"
#include "tz.h"
#include "util.h"
#include "window.h"

void occur_out_clear(struct occur_out *out)
{
	for (size_t i = 0; i < out->n_add; i++)
		run_free(out->add[i]);
	free(out->add);
	free(out->persist);
	free(out->notes);
	memset(out, 0, sizeof(*out));
}

__attribute__((format(printf, 6, 7)))
static void note(struct occur_out *out, enum job_event ev, enum severity prio, const struct run *r, int64_t start,
		 const char *fmt, ...)
{
	struct occur_note *x;
	va_list ap;

	out->notes = xrealloc(out->notes, (out->n_notes + 1) * sizeof(*out->notes));
	x = &out->notes[out->n_notes++];
	x->event = ev;
	x->priority = prio;
	x->run = r;
	x->start = start;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
}

static void announce(struct occur_out *out, const struct run *r, const struct jobspec *spec)
{
	char local[64], utc[32], at[64];

	if (r->state != RUN_SCHEDULED)
		return;
	tz_format_local(spec->tz, r->start, local, sizeof(local));
	format_utc(r->start, utc, sizeof(utc));
	if (r->submit_at_ms > 0) {
		format_utc(r->submit_at_ms / 1000, at, sizeof(at));
		note(out, JE_SCHEDULED, SEV_INFO, r, 0,
		     "job '%s': run '%s' of %s (%s) scheduled; outside the calling hours%s%s, it is submitted at %s",
		     r->job, r->call_name, local, utc, r->zone ? " of " : "", r->zone ? r->zone : "", at);
	} else if (r->part) {
		note(out, JE_SCHEDULED, SEV_INFO, r, 0, "job '%s': run '%s' scheduled at %s (%s)", r->job,
		     r->call_name, local, utc);
	} else {
		note(out, JE_SCHEDULED, SEV_INFO, r, 0, "job '%s': run scheduled at %s (%s)", r->job, local, utc);
	}
}

/* A run whose time came before this start and that has no record: look it
 * up first (see occur_opts). */
static void suspect(struct occur_out *out, struct run *r, const struct jobspec *spec, const struct occur_opts *o)
{
	int64_t at = run_submit_at_ms(r, spec);

	if (!o->suspect_due || r->state != RUN_SCHEDULED || at > (o->born_ms ? o->born_ms : o->now_ms) ||
	    o->now_ms - at > (int64_t)spec->max_lateness * 1000)
		return;
	run_suspect(r, 0, o->settle_ms);
	/* At a start every run is looked at once; after that, the timer. */
	if (!o->starting)
		run_postpone(r, o->now_ms);
	note(out, JE_SCHEDULED, SEV_INFO, r, 0,
	     "job '%s': run '%s' came due before this start and has no record; looking it up before submitting it",
	     r->job, r->call_name);
}

bool occur_suspect_damaged(struct run *r, const struct jobspec *spec, int64_t now_ms)
{
	if (r->state != RUN_SCHEDULED || run_submit_at_ms(r, spec) > now_ms)
		return false;
	run_suspect(r, now_ms, 0);
	return true;
}

static void add(struct occur_out *out, struct run *r, bool persist)
{
	out->add = xrealloc(out->add, (out->n_add + 1) * sizeof(*out->add));
	out->persist = xrealloc(out->persist, (out->n_add + 1) * sizeof(*out->persist));
	out->add[out->n_add] = r;
	out->persist[out->n_add] = persist;
	out->n_add++;
}

static bool has_part(const struct run *const *runs, size_t n, int64_t start, const char *part)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i]->start == start && runs[i]->part && strcmp(runs[i]->part, part) == 0)
			return true;
	return false;
}

/* The occurrence at start has a part that is made only after its run's
 * batch was dialled (a follow-up touch, or "resume N": its unfinished
 * recipients after a close or a pause) but no run of its own: the record of
 * that run was lost. (A "deferred N" part proves nothing: it is made at the
 * submit, also when nobody was left to send.) */
static bool lost_dialled_run(const struct run *const *runs, size_t n, int64_t start)
{
	bool touched = false;

	for (size_t i = 0; i < n; i++) {
		if (runs[i]->start != start)
			continue;
		if (!runs[i]->part)
			return false;
		if (runs[i]->touch > 0 || strncmp(runs[i]->part, "resume ", 7) == 0)
			touched = true;
	}
	return touched;
}

/* The run at occurrence occ with the calling hours applied; NULL when they
 * skip it (outside_window = skip). */
static struct run *make_run(const struct jobspec *spec, int64_t occ)
{
	int64_t at = occ, close;
	bool skipped = false;
	struct run *r;

	if (spec->hours && spec->enabled &&
	    (schedule_submit_time(spec, spec->tz, occ, &at, &skipped) < 0 || skipped))
		return NULL;
	r = run_new_at(spec, occ);
	if (spec->hours && spec->enabled)
		run_set_window(r, at != occ ? at * 1000 : 0,
			       window_close_after(spec->hours, spec->tz, at, &close) == 0 ? close * 1000 : 0);
	return r;
}

/* An occurrence whose recipients carry their own zones under calling hours:
 * one run per zone group, each submitted when its own window opens, each
 * with its own call_name ("... (America/Chicago)"). A group skipped by its
 * hours is noted as missed. How many groups exist afterwards. */
static size_t zone_groups(const struct jobspec *spec, int64_t occ, const struct run *const *runs, size_t n,
			  const struct occur_opts *o, struct occur_out *out)
{
	struct schedule_group *g = NULL;
	size_t n_g = 0, made = 0;
	int64_t close;

	if (schedule_zone_groups(spec, occ, &g, &n_g) < 0) {
		note(out, JE_MISSED, SEV_ERR, NULL, occ,
		     "job '%s': the calling hours never open within the search horizon; run not scheduled", spec->name);
		return 0;
	}
	for (size_t i = 0; i < n_g; i++) {
		char **rcpts;
		struct run *r;

		if (has_part(runs, n, occ, g[i].timezone)) {
			made++; /* it exists: nothing to make */
			continue;
		}
		if (g[i].window == SCHEDULE_SKIPPED) {
			note(out, JE_MISSED, SEV_WARNING, NULL, occ,
			     "job '%s': %zu recipients in %s skipped: outside their calling hours (outside_window = skip)",
			     spec->name, g[i].n_recipients, g[i].timezone);
			out->missed++;
			continue;
		}
		rcpts = xcalloc(g[i].n_recipients + 1, sizeof(*rcpts));
		for (size_t k = 0; k < g[i].n_recipients; k++) {
			const struct recipient *x = &spec->recipients[g[i].recipients[k]];
			rcpts[k] = xstrdup(recipient_key(x->phone_number, x->whatsapp_user_id));
		}
		r = run_new_part(spec, occ, g[i].timezone, g[i].timezone, rcpts, g[i].n_recipients);
		run_set_window(r, g[i].submit_at != occ ? g[i].submit_at * 1000 : 0,
			       window_close_after(spec->hours, g[i].tz, g[i].submit_at, &close) == 0 ? close * 1000 : 0);
		suspect(out, r, spec, o);
		add(out, r, true);
		announce(out, r, spec);
		made++;
	}
	schedule_groups_free(g, n_g);
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

/* Occurrences after a given one, fetched 64 at a time: with count, each
 * schedule_occurrences walks from start, so stepping one at a time over
 * many skipped occurrences would be quadratic. */
struct occ_iter {
	int64_t v[64];
	size_t n, i;
};

static int occ_iter_next(const struct jobspec *spec, struct occ_iter *it, int64_t after, int64_t *ret)
{
	while (it->i < it->n && it->v[it->i] <= after)
		it->i++;
	if (it->i == it->n) {
		it->i = 0;
		if (schedule_occurrences(spec, after + 1, sizeof(it->v) / sizeof(it->v[0]), it->v, &it->n) < 0 ||
		    it->n == 0)
			return -ENOENT;
	}
	*ret = it->v[it->i++];
	return 0;
}

/* The note for occurrences not run because they were taken, count of
 * them from first. */
static void note_taken(struct occur_out *out, const struct jobspec *spec, int64_t first, size_t count)
{
	char a[64];

	if (count == 0)
		return;
	tz_format_local(spec->tz, first, a, sizeof(a));
	note(out, JE_CHANGED, SEV_NOTICE, NULL, first,
	     "job '%s': %zu occurrence%s from %s not run: a run of the job already has %s call_name (the job's "
	     "timezone changed since, so that the same wall time came again)",
	     spec->name, count, count == 1 ? "" : "s", a, count == 1 ? "its" : "their");
}

/* Where the local start L of call_name (B " " L S, jobspec.c) is when its
 * base B is base; false when it is another's. */
static bool call_label(const char *call_name, const char *base, size_t *off, size_t *len)
{
	size_t b = strlen(base);
	const char *l, *end;

	if (!call_name || strncmp(call_name, base, b) != 0 || call_name[b] != ' ')
		return false;
	l = call_name + b + 1;
	end = strstr(l, " (");
	*off = b + 1;
	*len = end ? (size_t)(end - l) : strlen(l);
	return true;
}

/* Local starts in call_name's form sort as text; a minute without its
 * seconds ("08:00") is before the same minute with them ("08:00:30"). */
static int label_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

/* A `timezone` edit can bring wall times the series has had back at later
 * instants. An occurrence whose local start is not after that of the
 * newest recorded run (as its call_name writes it) is that run's or an
 * older one's, whose records may be pruned: it is not run again
 * (call_name is unique per run). *occ moves to the first occurrence after
 * them; -ENOENT when the series has none. */
static int skip_taken(const struct jobspec *spec, const struct run *const *runs, size_t n, int64_t latest,
		      int64_t *occ, struct occur_out *out)
{
	const char *base = jobspec_call_base(spec), *last = NULL;
	size_t last_off = 0, last_len = 0, count = 0;
	int64_t first = *occ;
	struct occ_iter it = { .n = 0 };
	int rc = 0;

	for (size_t i = 0; i < n && !last; i++)
		if (runs[i]->start == latest && call_label(runs[i]->call_name, base, &last_off, &last_len))
			last = runs[i]->call_name + last_off;
	if (!last)
		return 0;
	for (;;) {
		char local[32];

		run_local_start(spec, *occ, local, sizeof(local));
		if (label_cmp(local, strlen(local), last, last_len) > 0)
			break;
		/* (a zone moves wall times by at most 26 hours: 93,600
		 * occurrences of a job due every second) */
		if (++count > 100000 || occ_iter_next(spec, &it, *occ, occ) < 0) {
			rc = -ENOENT;
			break;
		}
	}
	note_taken(out, spec, first, count);
	return rc;
}

void occur_next(const struct jobspec *spec, const struct run *const *runs, size_t n, const struct occur_opts *o,
		struct occur_out *out)
{
	int64_t now_s = o->now_ms / 1000, latest = INT64_MIN, occ;
	bool waiting = false, only_at_start = true, any_submitted = false;
	struct run *r;

	for (size_t i = 0; i < n; i++) {
		const struct run *x = runs[i];
		if ((x->state == RUN_SCHEDULED || x->state == RUN_DISABLED) && !run_is_follow_up(x))
			waiting = true;
		if (x->start != spec->start)
			only_at_start = false;
		if (run_submitted(x))
			any_submitted = true;
		if (x->start > latest)
			latest = x->start;
	}
	if (!spec->repeat) {
		/* A one-off job has one run. A zone group missing from it (its
		 * record lost) is made again at start-up, looked up first, as
		 * long as no group of it was submitted (an edit while the
		 * daemon was down must not make a group of recipients that a
		 * submitted one already holds). */
		if (spec->hours && spec->has_recipient_zones) {
			if (latest == INT64_MIN || (o->starting && only_at_start && !any_submitted))
				zone_groups(spec, spec->start, runs, n, o, out);
			return;
		}
		if (latest != INT64_MIN) {
			if (o->starting && lost_dialled_run(runs, n, spec->start)) {
				/* Its record was lost while a part made from
				 * its dialled batch (a touch, a resume) was
				 * kept. Looked up through the API (adopted,
				 * never submitted again), so that the
				 * occurrence's results have their rows. */
				r = run_new(spec);
				r->lookup_only = true;
				r->submit_attempts = 1;
				run_suspect(r, 0, o->settle_ms);
				add(out, r, false);
				note(out, JE_SCHEDULED, SEV_NOTICE, r, 0,
				     "job '%s': run '%s' has no record but a part made from its batch has one; looking "
				     "its batch up through the API (it is not submitted again)", r->job, r->call_name);
			}
			return;
		}
		r = run_new(spec);
		suspect(out, r, spec, o);
		add(out, r, false);
		announce(out, r, spec);
		return;
	}
	if (waiting)
		return;
	/* An occurrence planned again after an edit: without a start to count
	 * from, it would be lost (occurrences begin at now). */
	if (latest == INT64_MIN && !spec->anchored && o->replan != INT64_MIN)
		latest = o->replan - 1;
	if (next_occurrence(spec, latest, now_s, &occ) < 0)
		return; /* the series has ended (until/count) */
	if (skip_taken(spec, runs, n, latest, &occ, out) < 0)
		return;
	if (occ + spec->max_lateness < now_s) {
		int64_t newest = occ, first = occ;
		size_t missed = 0;

		if (schedule_latest_due(spec, now_s, &newest) < 0 || newest < occ)
			newest = occ;
		/* Count what is skipped (bounded: a log line, not a loop over
		 * years), in one walk: with count, each next_occurrence walks
		 * from start, so one a missed occurrence was quadratic. */
		missed = schedule_count(spec, occ, newest, 100000);
		if (now_s - newest <= spec->max_lateness) {
			occ = newest;
		} else {
			missed++;
			if (next_occurrence(spec, newest, now_s, &occ) < 0)
				occ = INT64_MIN;
		}
		if (missed > 0) {
			char a[64], b[64];
			tz_format_local(spec->tz, first, a, sizeof(a));
			tz_format_local(spec->tz, newest, b, sizeof(b));
			out->missed += missed;
			note(out, JE_MISSED, SEV_ERR, NULL, first,
			     "job '%s': %zu occurrences from %s to %s were missed (later than max_lateness %ds); not "
			     "submitted", spec->name, missed, a, b, spec->max_lateness);
		}
		if (occ == INT64_MIN)
			return;
	}
	if (spec->hours && spec->has_recipient_zones) {
		/* Every group skipped: on to the next occurrence. */
		struct occ_iter it = { .n = 0 };
		for (int guard = 0; zone_groups(spec, occ, runs, n, o, out) == 0 && guard < 10000; guard++)
			if (occ_iter_next(spec, &it, occ, &occ) < 0)
				break;
		return;
	}
	/* Occurrences outside the calling hours with outside_window = skip:
	 * one note for however many. */
	{
		struct occ_iter it = { .n = 0 };
		int64_t first_skip = occ;
		size_t skipped = 0;
		bool found = true;

		while (!(r = make_run(spec, occ))) {
			skipped++;
			if (skipped > 10000 || occ_iter_next(spec, &it, occ, &occ) < 0) {
				found = false;
				break;
			}
		}
		if (skipped > 0) {
			char a[64];
			tz_format_local(spec->tz, first_skip, a, sizeof(a));
			out->missed += skipped;
			note(out, JE_MISSED, SEV_WARNING, NULL, first_skip,
			     "job '%s': %zu run%s from %s skipped: outside the calling hours (outside_window = skip)%s",
			     spec->name, skipped, skipped == 1 ? "" : "s", a,
			     found ? "" : "; no later occurrence falls inside them");
		}
		if (!found)
			return;
	}
	suspect(out, r, spec, o);
	add(out, r, false);
	announce(out, r, spec);
}

/* A replaceable run: never submitted, made again by the files (not a
 * follow-up, not cancelled or paused by the operator). */
static bool replaceable(const struct run *r)
{
	return !run_submitted(r) && !r->cancel_wanted && r->op == OP_NONE && !run_is_follow_up(r) &&
	       (r->state == RUN_SCHEDULED || r->state == RUN_DISABLED || r->state == RUN_MISSED ||
		r->state == RUN_ERROR);
}

static struct occur_decision verdict(enum occur_verdict v, const char *why)
{
	return (struct occur_decision){ .verdict = v, .why = why };
}

/* A one-off job has one run. While none of its runs was submitted, the run
 * follows the file: an edit of start or timezone plans it at the new
 * instant (the old record goes), other edits update it in place. Once one
 * was submitted (or may have been), an edit submits nothing new: the
 * submitted run is warned about, its unsubmitted zone groups keep their
 * time, and leftovers at other instants go. */
static void reconcile_oneoff(const struct jobspec *spec, const struct run *const *runs, size_t n,
			     struct occur_decision *ret)
{
	int64_t sub = INT64_MIN;
	bool zones = spec->hours && spec->has_recipient_zones;

	for (size_t i = 0; i < n; i++)
		if (run_submitted(runs[i]) && runs[i]->start > sub)
			sub = runs[i]->start;
	for (size_t i = 0; i < n; i++) {
		const struct run *r = runs[i];

		ret[i] = verdict(OCCUR_KEEP, NULL);
		if (sub != INT64_MIN) {
			if (r->start == sub && run_submitted(r))
				ret[i] = verdict(OCCUR_UPDATE, NULL);
			else if (r->start == sub || run_is_follow_up(r))
				ret[i] = verdict(OCCUR_FOLLOW, NULL);
			else if (replaceable(r))
				ret[i] = verdict(OCCUR_DROP, "is dropped: another run of this one-off job was submitted");
		} else if (run_is_follow_up(r)) {
			ret[i] = verdict(OCCUR_FOLLOW, NULL);
		} else if (!replaceable(r)) {
			/* cancelled or paused by the operator: stays so */
		} else if (r->start != spec->start) {
			ret[i] = verdict(OCCUR_DROP, "is planned again at the job's new start");
		} else if (zones != (r->part != NULL)) {
			ret[i] = verdict(OCCUR_DROP, "is planned again: the job's zone groups changed");
		} else if (zones && r->digest != spec->digest) {
			ret[i] = verdict(OCCUR_DROP, "is planned again: the job changed");
		} else {
			ret[i] = verdict(OCCUR_UPDATE, NULL);
		}
	}
}

/* A recurring job: an occurrence none of whose runs was submitted is
 * planned again from the new definition; runs that were submitted are
 * warned about; follow-ups and the zone groups of an occurrence under way
 * keep their time and follow `enabled`; what ended stays. */
static void reconcile_recurring(const struct jobspec *spec, const struct run *const *runs, size_t n,
				struct occur_decision *ret)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		bool any = false;

		while (j < n && runs[j]->start == runs[i]->start) {
			any = any || run_submitted(runs[j]);
			j++;
		}
		for (size_t k = i; k < j; k++) {
			const struct run *r = runs[k];
			if (run_submitted(r))
				ret[k] = verdict(OCCUR_UPDATE, NULL);
			else if (run_is_follow_up(r) || any)
				ret[k] = verdict(OCCUR_FOLLOW, NULL);
			else if ((r->state == RUN_SCHEDULED || r->state == RUN_DISABLED) && r->op == OP_NONE &&
				 (r->digest != spec->digest || spec->enabled != (r->state == RUN_SCHEDULED)))
				ret[k] = verdict(OCCUR_DROP, "is planned again: the job changed");
			else
				ret[k] = verdict(OCCUR_KEEP, NULL);
		}
		i = j;
	}
}

void occur_reconcile(const struct jobspec *spec, const struct run *const *runs, size_t n,
		     struct occur_decision *ret)
{
	if (spec->repeat)
		reconcile_recurring(spec, runs, n, ret);
	else
		reconcile_oneoff(spec, runs, n, ret);
}

int64_t occur_prune(const struct jobspec *spec, const struct run *const *runs, size_t n, int64_t now_s,
		    int64_t retention_s, bool *remove)
{
	int64_t newest = INT64_MIN, next = INT64_MAX;

	for (size_t i = 0; i < n; i++)
		remove[i] = false;
	if (spec) {
		for (size_t i = 0; i < n; i++)
			if (run_state_final(runs[i]->state) && runs[i]->start > newest)
				newest = runs[i]->start;
		for (size_t i = 0; i < n; i++) {
			int k;
			int64_t due;
			bool whole = true; /* every run of its occurrence ended */
			for (size_t m = 0; m < n && whole; m++)
				whole = runs[m]->start != runs[i]->start || run_state_final(runs[m]->state);
			if (!whole || runs[i]->start == newest)
				continue;
			/* an occurrence with a touch still to come keeps what
			 * it is made from */
			if (spec->n_touches > 0 &&
			    occur_touch_next(spec, runs, n, runs[i]->start, &k, &due) != OCCUR_TOUCH_NONE)
				continue;
			remove[i] = true;
		}
		return INT64_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t until;
		if (!run_at_rest(runs[i]))
			continue;
		until = run_end_s(runs[i]) + retention_s;
		if (until <= now_s)
			remove[i] = true;
		else if (until < next)
			next = until;
	}
	return next;
}

/* The parts of parent's follow-ups begin with this: "[ZONE, ][follow-up T,
 * ]resume " ("deferred " for FOLLOW_DEFER). Caller frees. */
static char *follow_prefix(const struct run *parent)
{
	const char *word = parent->follow == FOLLOW_DEFER ? "deferred " : "resume ";

	if (parent->touch > 0)
		return xasprintf("%s%sfollow-up %d, %s", parent->zone ? parent->zone : "", parent->zone ? ", " : "",
				 parent->touch, word);
	return xasprintf("%s%s%s", parent->zone ? parent->zone : "", parent->zone ? ", " : "", word);
}

char *occur_follow_up_part(const struct run *parent, const struct run *const *runs, size_t n)
{
	char *prefix = follow_prefix(parent), *part;
	size_t plen = strlen(prefix);
	int64_t max = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = runs[i]->part;
		int64_t k;
		if (runs[i]->start == parent->start && p && strncmp(p, prefix, plen) == 0 &&
		    parse_int64(p + plen, 1, INT32_MAX - 1, &k) == 0 && k > max)
			max = k;
	}
	part = xasprintf("%s%" PRId64, prefix, max + 1);
	free(prefix);
	return part;
}

/* A follow-up's part, "[BASE, ]resume K" or "[BASE, ]deferred K" (BASE:
 * the zone and the touch, "ZONE, follow-up T"): the length of BASE and of
 * the part up to K, and K. */
static bool follow_part_seq(const char *part, size_t *ret_base, size_t *ret_prefix, int64_t *ret_k)
{
	const char *sp = part ? strrchr(part, ' ') : NULL, *word;
	size_t plen;

	if (!sp || parse_int64(sp + 1, 1, INT32_MAX - 1, ret_k) < 0)
		return false;
	plen = (size_t)(sp + 1 - part);
	if (plen >= 7 && strncmp(sp - 6, "resume ", 7) == 0)
		word = sp - 6;
	else if (plen >= 9 && strncmp(sp - 8, "deferred ", 9) == 0)
		word = sp - 8;
	else
		return false;
	if (word != part && (word < part + 2 || strncmp(word - 2, ", ", 2) != 0))
		return false;
	*ret_base = word == part ? 0 : (size_t)(word - 2 - part);
	*ret_prefix = plen;
	return true;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool occur_same_keys(char **a, size_t na, char **b, size_t nb)
{
	char **x, **y;
	bool eq = na == nb;

	if (!eq || na == 0)
		return eq;
	x = xcalloc(na, sizeof(*x));
	y = xcalloc(nb, sizeof(*y));
	memcpy(x, a, na * sizeof(*x));
	memcpy(y, b, nb * sizeof(*y));
	qsort(x, na, sizeof(*x), str_cmp);
	qsort(y, nb, sizeof(*y), str_cmp);
	for (size_t i = 0; i < na && eq; i++)
		eq = strcmp(x[i], y[i]) == 0;
	free(x);
	free(y);
	return eq;
}

/* o's record hands recipients on to a part that begins with lost's
 * prefix (plen long) and is numbered before k, and no run but lost holds
 * them: lost is that part. Returns o's own number (0: o is no part of
 * that kind), or -1. */
static int64_t hands_on_to(const struct run *o, const struct run *lost, size_t plen, int64_t k,
			   const struct run *const *runs, size_t n)
{
	char *prefix;
	size_t blen, qlen;
	int64_t own = 0, q;
	bool ok;

	if (o->follow == FOLLOW_NONE || o->n_unfinished == 0)
		return -1;
	prefix = follow_prefix(o);
	ok = strlen(prefix) == plen && strncmp(prefix, lost->part, plen) == 0;
	free(prefix);
	if (!ok)
		return -1;
	if (follow_part_seq(o->part, &blen, &qlen, &q) && qlen == plen && strncmp(o->part, lost->part, plen) == 0)
		own = q;
	if (own >= k)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct run *m = runs[i];
		if (m != lost && m != o && m->start == o->start && run_is_follow_up(m) &&
		    occur_same_keys(m->rcpts, m->n_rcpts, o->unfinished, o->n_unfinished))
			return -1;
	}
	return own;
}

const struct run *occur_lost_parent(const struct run *lost, const struct run *const *runs, size_t n,
				    bool *ret_hands_on)
{
	const struct run *best = NULL;
	size_t blen, plen, oblen, oplen;
	int64_t k, q, best_own = -1;

	*ret_hands_on = false;
	if (!follow_part_seq(lost->part, &blen, &plen, &k))
		return NULL;
	/* the run whose hand-on it was, when its record still says so: the
	 * nearest before lost */
	for (size_t i = 0; i < n; i++) {
		int64_t own;
		if (runs[i] == lost || runs[i]->start != lost->start)
			continue;
		own = hands_on_to(runs[i], lost, plen, k, runs, n);
		if (own > best_own) {
			best_own = own;
			best = runs[i];
		}
	}
	if (best) {
		*ret_hands_on = true;
		return best;
	}
	for (size_t i = 0; i < n; i++) {
		const struct run *o = runs[i];
		bool seq = o->part && follow_part_seq(o->part, &oblen, &oplen, &q);
		if (o == lost || o->start != lost->start || (o->follow_n == 0 && o->follow == FOLLOW_NONE))
			continue;
		/* of the same zone and touch: the chain's first run ("BASE",
		 * no part when BASE is empty), or another follow-up of it */
		if (!seq)
			oblen = o->part ? strlen(o->part) : 0;
		if (oblen != blen || (blen && strncmp(o->part, lost->part, blen) != 0))
			continue;
		/* made after lost: its own kind, numbered higher */
		if (seq && oplen == plen && strncmp(o->part, lost->part, plen) == 0 && q >= k)
			continue;
		if (!best || o->retries > best->retries)
			best = o;
	}
	return best;
}

const char *occur_overlap(const struct jobspec *spec, const struct run *r, const struct run *const *runs, size_t n,
			  int64_t now_ms, bool *cancel)
{
	const char *why = NULL;

	for (size_t i = 0; i < n; i++)
		cancel[i] = false;
	/* a follow-up (a touch, a resume, a deferred run) is no new
	 * occurrence: the policy is about occurrences */
	if (!spec || !spec->repeat || r->state != RUN_SCHEDULED || now_ms < run_submit_at_ms(r, spec) ||
	    run_is_follow_up(r))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct run *o = runs[i];
		enum run_state st = o->state;
		/* (a touch of an earlier occurrence is that campaign's later
		 * step, not the previous run) */
		if (o == r || o->start == r->start || o->touch > 0 ||
		    !(st == RUN_SUBMITTING || run_state_active(st) || st == RUN_RETRY_WAIT))
			continue;
		switch (spec->overlap) {
		case OVERLAP_ALLOW:
			break;
		case OVERLAP_SKIP:
			why = "the previous run's batch is still active (overlap = skip)";
			break;
		case OVERLAP_CANCEL_PREVIOUS:
			cancel[i] = true;
			break;
		}
	}
	return why;
}

size_t occur_zone_rcpts(const struct jobspec *spec, const char *zone, char ***ret)
{
	char **v = xcalloc(spec->n_recipients + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < spec->n_recipients; i++) {
		const struct recipient *x = &spec->recipients[i];
		const char *z = x->timezone ? x->timezone : spec->timezone;
		const char *key = recipient_key(x->phone_number, x->whatsapp_user_id);
		if (key && z && strcmp(z, zone) == 0)
			v[n++] = xstrdup(key);
	}
	*ret = v;
	return n;
}

enum occur_touch occur_touch_next(const struct jobspec *spec, const struct run *const *runs, size_t n,
				  int64_t start, int *ret_touch, int64_t *ret_due_s)
{
	int last = 0;
	bool dialled = false, ended = true, any = false;
	int64_t end_ms = 0;

	*ret_touch = 0;
	*ret_due_s = 0;
	if (spec->n_touches == 0)
		return OCCUR_TOUCH_NONE;
	for (size_t i = 0; i < n; i++)
		if (runs[i]->start == start && runs[i]->touch > last)
			last = runs[i]->touch;
	for (size_t i = 0; i < n; i++) {
		const struct run *r = runs[i];
		int64_t e;
		if (r->start != start || r->touch != last)
			continue;
		any = true;
		if (r->stopped)
			return OCCUR_TOUCH_NONE; /* the operator cancelled it: the campaign ends */
		if (r->batch_id || run_submitted(r))
			dialled = true;
		if (!run_state_final(r->state) || r->op != OP_NONE) {
			ended = false;
			continue;
		}
		e = r->finished_ms ? r->finished_ms : r->finished_at * 1000;
		if (e > end_ms)
			end_ms = e;
	}
	if (!any || (size_t)last >= spec->n_touches || (ended && !dialled))
		return OCCUR_TOUCH_NONE;
	*ret_touch = last + 1;
	if (!ended)
		return OCCUR_TOUCH_WAIT;
	*ret_due_s = (end_ms + 999) / 1000 + spec->touches[last].after_s;
	return OCCUR_TOUCH_DUE;
}

struct keyzone {
	const char *key;
	const char *zone; /* NULL: the job's */
	const struct tz *tz;
};

static int keyzone_cmp(const void *a, const void *b)
{
	const struct keyzone *x = a, *y = b;
	int c = strcmp(x->zone ? x->zone : "", y->zone ? y->zone : "");
	return c ? c : strcmp(x->key, y->key);
}


static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyzone *)a)->key, ((const struct keyzone *)b)->key);
}

bool occur_touch_suspect(const struct run *const *runs, size_t n, int64_t start, int touch)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i]->start == start && runs[i]->touch == touch - 1 && runs[i]->first_intent_ms == 0 &&
		    (runs[i]->batch_id || run_submitted(runs[i])))
			return true;
	return false;
}

static const char *zone_name(const struct keyzone *k)
{
	return k->zone ? k->zone : "";
}

void occur_touch_make(const struct jobspec *spec, int64_t start, int touch, const char *const *keys, size_t n,
		      int64_t due_s, int64_t now_ms, bool suspect, int64_t settle_ms, struct occur_out *out)
{
	/* from its due time, or from now when it is made later (it waited
	 * for results, or the daemon was down): its lateness counts from
	 * then */
	int64_t from = due_s > now_ms / 1000 ? due_s : now_ms / 1000;
	const struct window *h = jobspec_hours(spec, touch);
	bool zones = spec->hours && spec->has_recipient_zones;
	struct keyzone *kz = xcalloc(n + 1, sizeof(*kz)), *byk = xcalloc(spec->n_recipients + 1, sizeof(*byk));
	size_t nb = 0;

	/* which zone each recipient's calls follow */
	for (size_t i = 0; i < spec->n_recipients; i++) {
		const struct recipient *x = &spec->recipients[i];
		const char *key = recipient_key(x->phone_number, x->whatsapp_user_id);
		if (!key)
			continue;
		byk[nb++] = (struct keyzone){ .key = key, .zone = zones && x->timezone ? x->timezone : NULL,
					      .tz = zones && x->tz ? x->tz : spec->tz };
	}
	qsort(byk, nb, sizeof(*byk), key_cmp);
	for (size_t i = 0; i < n; i++) {
		struct keyzone want = { .key = keys[i] }, *f = bsearch(&want, byk, nb, sizeof(*byk), key_cmp);
		kz[i] = f ? *f : (struct keyzone){ .key = keys[i], .tz = spec->tz };
		kz[i].key = keys[i];
	}
	qsort(kz, n, sizeof(*kz), keyzone_cmp);
	if (n == 0) {
		struct run *r = run_new_touch(spec, start, touch, NULL, NULL, 0, due_s * 1000);
		note(out, JE_SCHEDULED, SEV_NOTICE, r, 0,
		     "job '%s': follow-up %d of the run of %s has nobody to call (no recipient of the previous "
		     "touch matches it)", spec->name, touch, r->call_name);
		add(out, r, true);
	}
	for (size_t i = 0; i < n;) {
		size_t j = i, m = 0;
		char **rcpts;
		int64_t at = from, close;
		struct run *r;

		while (j < n && strcmp(zone_name(&kz[j]), zone_name(&kz[i])) == 0)
			j++;
		rcpts = xcalloc(j - i + 1, sizeof(*rcpts));
		for (size_t k = i; k < j; k++)
			if (k == i || strcmp(kz[k].key, kz[k - 1].key) != 0) /* a number twice in the file: once */
				rcpts[m++] = xstrdup(kz[k].key);
		if (h && window_next_open(h, kz[i].tz, from, &at) < 0)
			at = from; /* never open again: missed when due */
		r = run_new_touch(spec, start, touch, kz[i].zone, rcpts, m, at * 1000);
		if (h)
			run_set_window(r, at * 1000,
				       window_close_after(h, kz[i].tz, at, &close) == 0 ? close * 1000 : 0);
		if (suspect && r->state == RUN_SCHEDULED) {
			/* an earlier life may have sent it: found, it is
			 * adopted; else it waits for its time */
			run_suspect(r, 0, settle_ms);
			run_postpone(r, now_ms);
			note(out, JE_SCHEDULED, SEV_NOTICE, r, 0,
			     "job '%s': follow-up %d '%s' follows runs whose records were rebuilt from the API; "
			     "looking it up before it is submitted", spec->name, touch, r->call_name);
		}
		add(out, r, true);
		{
			char local[64], utc[32];
			tz_format_local(kz[i].tz, at, local, sizeof(local));
			format_utc(at, utc, sizeof(utc));
			note(out, JE_SCHEDULED, SEV_INFO, r, 0,
			     "job '%s': follow-up %d '%s' of %zu recipient%s scheduled at %s (%s)", spec->name, touch,
			     r->call_name, m, m == 1 ? "" : "s", local, utc);
		}
		i = j;
	}
	free(kz);
	free(byk);
}
