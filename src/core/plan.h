/*
 * plan: the upcoming runs of every job relative to a given instant, and
 * their text and JSON renderings for `batchcallctl plan`. Pure: the caller
 * passes `from` (no clock is read) and gets rows back; one row per run: a
 * one-off job has one, a recurring job its next N occurrences (and the
 * newest past one while it is still late enough to be submitted). Each row
 * says when the run will really start after calling hours and blackout
 * dates, per recipient zone group when recipients carry zones.
 */
#ifndef BC_PLAN_H
#define BC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"
#include "schedule.h"

/* The most occurrences `plan --count` lists per job. */
#define PLAN_MAX_COUNT 1000

/* Where a run stands relative to `from`. */
enum plan_state {
	PLAN_FUTURE,   /* its instant is at or after from */
	PLAN_LATE,     /* past, by at most the job's max_lateness: still submitted */
	PLAN_MISSED,   /* past, by more: never submitted */
	PLAN_DISABLED, /* the job has enabled = false */
};

struct plan_run {
	const struct jobspec *job; /* owned by the daemonconf */
	int64_t instant;           /* unix seconds */
	enum plan_state state;
	int64_t late_by;  /* seconds past the instant (late and missed), else 0 */
	char local[80];   /* "2026-12-01 09:00 -05:00 (EST)" */
	char utc[32];     /* "2026-12-01T14:00:00Z" */
	/* when the batch really starts: the instant (future), from (late), or
	 * the next opening of the calling hours; not for missed and disabled */
	bool submitted;   /* false: missed or disabled, submit_at means nothing */
	int64_t submit_at;
	enum schedule_window window; /* over all groups: open, deferred (some wait) or skipped (all) */
	struct schedule_group *groups; /* per recipient zone, when recipients carry zones and the
					* job has calling hours; else NULL */
	size_t n_groups;
};

struct plan {
	int64_t from;
	struct plan_run *runs; /* sorted by instant, then job name */
	size_t n_runs;
};

/* Wire and display name of a state ("future", "late", "missed", "disabled"). */
const char *plan_state_name(enum plan_state s);
/* State of a run of j at instant relative to from; *ret_late_by (may be NULL)
 * gets the seconds past the instant, 0 when not past. */
enum plan_state plan_state_of(const struct jobspec *j, int64_t instant, int64_t from, int64_t *ret_late_by);
/* The runs of every job of c relative to from, count occurrences of each
 * recurring job (at least 1). 0 and *ret (plan_free it). */
int plan_build_count(const struct daemonconf *c, int64_t from, size_t count, struct plan **ret);
void plan_free(struct plan *p);
/* The aligned table for people; the caller frees. */
char *plan_format_text(const struct plan *p);
/* One JSON document (shape in README.md, "batchcallctl plan --json"); the caller frees. */
char *plan_format_json(const struct plan *p);
/* A job's follow-up touches as a JSON array (plan --json's "follow_up",
 * and status's): touch, call_name_suffix, after (seconds), status,
 * call_successful, data (null when not asked), own_calling_hours. */
struct json_object;
struct json_object *plan_touches_json(const struct jobspec *j);
/* Parse a --from TIME: unix seconds, "YYYY-MM-DD HH:MM[:SS]" read as UTC, or
 * ISO 8601 with 'Z' or a +HH:MM / -HH:MM offset. 0 or -EINVAL. */
int plan_parse_time(const char *s, int64_t *ret);

#endif
