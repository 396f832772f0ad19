/*
 * schedule: when the runs of a job happen and when they are really
 * submitted. Occurrences come from the job's `repeat` calendar (bounded by
 * start, until and count) or are its single `start`; the submit time of an
 * occurrence follows the calling hours and blackout dates of a zone (the
 * job's, or each recipient zone's when recipients carry one). Pure: the
 * caller passes every instant, no clock is read; the engine and
 * `batchcallctl plan` share these answers.
 */
#ifndef BC_SCHEDULE_H
#define BC_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobspec.h"

struct tz;

/* The next occurrences of j at or after from, at most max, in order.
 * A repeating job without start begins at from; one with start at its first
 * calendar match at or after start; until and count end it. A job without
 * repeat has its single instant j->start (when it is at or after from).
 * 0 always (fewer than max when the job ends or nothing occurs within
 * CALENDAR_SEARCH_YEARS). */
int schedule_occurrences(const struct jobspec *j, int64_t from, size_t max, int64_t *ret, size_t *ret_n);

/* How many occurrences of j are at or after from and before to, at most
 * max: those schedule_occurrences would give, counted in one walk (the
 * occurrences missed over a downtime, however many). */
size_t schedule_count(const struct jobspec *j, int64_t from, int64_t to, size_t max);

/* The newest occurrence of j at or before now (catch-up after downtime: the
 * engine submits it if it is late by at most max_lateness and marks older
 * ones missed). 0, or -ENOENT when none is at or before now. */
int schedule_latest_due(const struct jobspec *j, int64_t now, int64_t *ret);

/* How an occurrence fares against the calling hours. */
enum schedule_window {
	SCHEDULE_OPEN,     /* inside the window (or the job has none): submitted at the occurrence */
	SCHEDULE_DEFERRED, /* outside, outside_window = "defer": submitted at the next opening */
	SCHEDULE_SKIPPED,  /* outside, outside_window = "skip": not submitted */
};

/* Wire name of a schedule_window: "open", "deferred", "skipped". */
const char *schedule_window_name(enum schedule_window w);

/* When the run of occurrence would really be submitted after the calling
 * hours and blackout dates of j read in zone (NULL: the job's zone): the
 * occurrence itself inside the window, else the next opening (defer) or
 * *ret_skipped = true and *ret = occurrence (skip). 0, or -ENOENT when the
 * window never opens again within WINDOW_SEARCH_DAYS. */
int schedule_submit_time(const struct jobspec *j, const struct tz *zone, int64_t occurrence, int64_t *ret,
			 bool *ret_skipped);

/* The recipients of one zone and when their batch is submitted. */
struct schedule_group {
	const char *timezone;  /* IANA name (points into j) */
	const struct tz *tz;   /* loaded zone (owned by the daemonconf) */
	size_t *recipients;    /* indexes into j->recipients, in file order */
	size_t n_recipients;
	int64_t submit_at;     /* the occurrence itself when skipped */
	enum schedule_window window;
};

/* Split the run of occurrence into one group per recipient zone (recipients
 * without a timezone take the job's), each with its submit time; sorted by
 * submit time, then zone name. A job without calling hours, or whose
 * recipients carry no zone, gives one group of every recipient.
 * 0 and *ret (schedule_groups_free it), or -ENOENT as schedule_submit_time. */
int schedule_zone_groups(const struct jobspec *j, int64_t occurrence, struct schedule_group **ret, size_t *ret_n);
/* Free groups from schedule_zone_groups (accepts NULL). */
void schedule_groups_free(struct schedule_group *g, size_t n);

#endif
