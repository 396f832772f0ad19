/*
 * occur: occurrence planning, the pure half of keeping a job's runs in line
 * with its definition. Given the job (or NULL when it left the files), the
 * runs the daemon holds for it and the time, it says which runs to make
 * (a one-off job's single run, a recurring job's next occurrence, zone
 * groups, the catch-up after downtime), what a (re)load does to each
 * existing run, which records the state may let go, and how a follow-up is
 * named. The engine carries the answers out (run.c changes the runs, the
 * store writes them, log.c says so); nothing here reads the clock or a file.
 *
 * The rules are the README's "Run identity: what an edit does".
 */
#ifndef BC_OCCUR_H
#define BC_OCCUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"
#include "run.h"

/* A log entry the shell writes for the planner. */
struct occur_note {
	enum job_event event;  /* JE_SCHEDULED, JE_MISSED */
	enum severity priority;
	const struct run *run; /* the run it is about (one of out.add), or NULL */
	int64_t start;         /* RUN_START when run is NULL */
	char msg[320];
};

struct occur_out {
	struct run **add;   /* new runs, in order; the caller takes them */
	bool *persist;      /* add[i] is written at once (it cannot be made
			     * again from the files alone: a zone group) */
	size_t n_add;
	struct occur_note *notes;
	size_t n_notes;
	uint64_t missed;    /* occurrences or groups that will never run */
};

/* Free what out holds (runs still in out.add included). */
void occur_out_clear(struct occur_out *out);

struct occur_opts {
	int64_t now_ms;
	/* A run whose time came before this daemon began (born_ms) and that
	 * has no record may have been submitted by an earlier life (or before
	 * the state folder was emptied); it is looked up first and concluded
	 * from settle_ms on (started + grace). This holds for the plan at a
	 * start and for one after a reload that brings a job back: a job out
	 * of the files at the start was not looked up then. */
	bool suspect_due;
	int64_t settle_ms;
	/* When this daemon began (0: now_ms). A run that came due after it
	 * came due while this daemon ran: no earlier life can have
	 * submitted it (it writes its intent before a submit, and holds the
	 * state folder's lock until it exits), so it is not looked up. */
	int64_t born_ms;
	/* At start-up a zone group missing from a one-off occurrence (its
	 * record lost) is made again, as long as no group of it was
	 * submitted. */
	bool starting;
	/* An occurrence a (re)load dropped to plan it again (INT64_MIN: none):
	 * a recurring job without start counts from it, not from now. */
	int64_t replan;
};

/* The runs a job needs made: its single run when it has none, the next
 * occurrence of a recurring job when no occurrence waits (after downtime
 * only the newest occurrence within max_lateness, the older ones noted as
 * missed), split into zone groups under calling hours with recipient
 * zones. runs are the job's current runs (sorted by start, then part). */
void occur_next(const struct jobspec *spec, const struct run *const *runs, size_t n, const struct occur_opts *o,
		struct occur_out *out);

/* The state's journal lost some run's newest record (which run is not
 * known): a run of a job in the files whose time has come and that is
 * scheduled may have been submitted, so it is looked up first, concluded
 * at once (its intent, now, is long past any earlier life's request).
 * true when r became a lookup. */
bool occur_suspect_damaged(struct run *r, const struct jobspec *spec, int64_t now_ms);

/* What a (re)load does to one run of a job still in the files, once runs
 * of a job that came back are followed again. */
enum occur_verdict {
	OCCUR_KEEP,   /* as it is */
	OCCUR_UPDATE, /* run_update_spec: at its own instant */
	OCCUR_FOLLOW, /* run_follow_enabled: keeps its time and recipients */
	OCCUR_DROP,   /* never submitted and planned again: delete it */
};
struct occur_decision {
	enum occur_verdict verdict;
	const char *why; /* OCCUR_DROP: a phrase for the log ("is planned again ...") */
};

/* decisions[i] for runs[i] (the job's runs, sorted by start then part). */
void occur_reconcile(const struct jobspec *spec, const struct run *const *runs, size_t n,
		     struct occur_decision *ret);

/* Which records of a job the state lets go (remove[i] for runs[i]): a job
 * in the files keeps its runs that may still do something and, of those
 * that ended, every part of the newest occurrence; a job that left the
 * files keeps every record until retention_s after the run's end. Returns
 * when the next kept record expires (INT64_MAX: none). */
int64_t occur_prune(const struct jobspec *spec, const struct run *const *runs, size_t n, int64_t now_s,
		    int64_t retention_s, bool *remove);
/* (spec NULL: the job left the files. An occurrence goes whole: one
 * with a run still at work, or whose next follow-up touch may still be
 * made, is kept, as the newest is.) */

/* The next follow-up touch (follow_up) of occurrence start, given the
 * job's runs (any occurrences: only those of start count). */
enum occur_touch {
	OCCUR_TOUCH_NONE, /* none: every touch was made, or the last made
			   * touch dialled nobody (no batch), or none are set */
	OCCUR_TOUCH_WAIT, /* touch *ret_touch waits: the one before it is still
			   * at work (or paused), so when it is due is not known */
	OCCUR_TOUCH_DUE,  /* touch *ret_touch is due at *ret_due_s: the end
			   * of the previous touch (its last run's end, its
			   * retries included) plus the touch's after */
};
enum occur_touch occur_touch_next(const struct jobspec *spec, const struct run *const *runs, size_t n,
				  int64_t start, int *ret_touch, int64_t *ret_due_s);

/* Make touch `touch` of occurrence start for the recipients keys (n of
 * them; copied): one run per zone of the recipients when the job has
 * recipient zones under calling hours, else one; each due at the first
 * instant from due_s inside its calling hours (the touch's, else the
 * job's). No recipient: one run that ends at once (completed, nobody to
 * call), so the touch is made and the next has nobody to follow. Every
 * run is to be persisted at once (out.persist). now_ms: for the log. */
void occur_touch_make(const struct jobspec *spec, int64_t start, int touch, const char *const *keys, size_t n,
		      int64_t due_s, int64_t now_ms, bool suspect, int64_t settle_ms, struct occur_out *out);
/* (with suspect, each run is looked up first, now, and concluded from
 * settle_ms on: see occur_touch_suspect) */

/* Whether touch `touch` of occurrence start may have been made, and
 * submitted, by an earlier life whose records are gone: a run of the
 * touch before it has a record rebuilt from the API (no first intent
 * known: the state folder was emptied, or a record was lost), so the
 * touch's runs are looked up before they are submitted. */
bool occur_touch_suspect(const struct run *const *runs, size_t n, int64_t start, int touch);

/* The part name of a follow-up of parent: "[ZONE, ][follow-up T, ]resume N"
 * ("deferred N" for parent.follow FOLLOW_DEFER) with the next
 * N among runs (the runs of parent's occurrence). Caller frees. */
char *occur_follow_up_part(const struct run *parent, const struct run *const *runs, size_t n);

/* A "resume N" or "deferred N" run rebuilt from a damaged record (lost)
 * knows neither its recipients nor the retries it began with. Returns the
 * run it was made from, of lost's occurrence:
 * - one whose record still hands recipients on to a part of lost's kind
 *   (zone, touch, resume or deferred) numbered before lost, which no other
 *   run holds: lost is that part, its recipients that run's unfinished
 *   (*ret_hands_on); the nearest before lost when more than one;
 * - else, of the runs of lost's zone and touch that handed recipients on,
 *   the one with the most retries, leaving out the parts of lost's own
 *   kind numbered after it (made later). A guess that errs towards fewer
 *   calls: a later run of the chain has at least the retries of the one
 *   lost.
 * NULL: none, or lost is no such part. */
const struct run *occur_lost_parent(const struct run *lost, const struct run *const *runs, size_t n,
				    bool *ret_hands_on);

/* Do the two key lists hold the same recipients (in any order)? */
bool occur_same_keys(char **a, size_t na, char **b, size_t nb);

/* A recurring job's overlap policy, when its run r comes due at now_ms
 * while earlier runs of the job may still be at work. runs are the job's
 * runs (r among them or not). Returns why r must not be submitted
 * (overlap = skip), or NULL; cancel[i] says whether runs[i] is cancelled
 * (overlap = cancel_previous). A run is still at work while it is being
 * submitted, active or waiting to retry; runs of r's own occurrence
 * (other zone groups, follow-ups) never overlap it. */
const char *occur_overlap(const struct jobspec *spec, const struct run *r, const struct run *const *runs, size_t n,
			  int64_t now_ms, bool *cancel);

/* The recipients (keys) of spec in zone, its zone group: a NULL-terminated
 * array in *ret (the caller frees); how many. */
size_t occur_zone_rcpts(const struct jobspec *spec, const char *zone, char ***ret);

#endif
