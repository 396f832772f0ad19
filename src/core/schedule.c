/*
 * schedule: occurrences of a job from its calendar and limits, the newest
 * due one for catch-up, and submit times after the calling hours, per zone
 * group. Everything is derived from the jobspec and the instants passed in,
 * so the engine and `plan` agree by construction.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "schedule.h"
#include "tz.h"
#include "util.h"
#include "window.h"

/* Catch-up looks back this far at first, then eight times further each round. */
#define LOOKBACK_FIRST 3600
#define LOOKBACK_MAX ((int64_t)CALENDAR_SEARCH_YEARS * 366 * 86400)
/* Calendars name years 1970..2199: instants outside a little more than that
 * are clamped, so that callers may pass INT64_MIN or INT64_MAX for "ever"
 * without overflowing the arithmetic below. */
#define SCHED_MIN ((int64_t)-4 * 86400)
#define SCHED_MAX ((int64_t)7258118400 + 4 * 86400) /* 2200-01-05 */

const char *schedule_window_name(enum schedule_window w)
{
	switch (w) {
	case SCHEDULE_OPEN:
		return "open";
	case SCHEDULE_DEFERRED:
		return "deferred";
	case SCHEDULE_SKIPPED:
		return "skipped";
	}
	return "unknown";
}

static bool past_until(const struct jobspec *j, int64_t t)
{
	return j->has_until && t > j->until;
}

/* The walk of schedule_occurrences and schedule_count: the occurrences at
 * or after from and before to, at most max, stored in ret when it is not
 * NULL; how many. One walk, from start when count decides which exist. */
static size_t walk(const struct jobspec *j, int64_t from, int64_t to, size_t max, int64_t *ret)
{
	size_t n = 0;
	int64_t t;
	int k = 0;

	if (!j->repeat) {
		if (max > 0 && j->start >= from && j->start < to) {
			if (ret)
				ret[n] = j->start;
			n++;
		}
		return n;
	}
	if (from < SCHED_MIN)
		from = SCHED_MIN;
	if (from > SCHED_MAX)
		from = SCHED_MAX;
	/* count is counted from start, so the walk begins there */
	if (j->anchored && (j->count > 0 || j->start > from))
		t = j->start - 1;
	else
		t = from - 1;
	while (n < max && (j->count == 0 || k < j->count)) {
		int64_t occ;
		if (calendar_next(j->repeat, j->tz, t, &occ) < 0 || past_until(j, occ) || occ >= to)
			break;
		if (occ >= from) {
			if (ret)
				ret[n] = occ;
			n++;
		}
		k++;
		t = occ;
	}
	return n;
}

int schedule_occurrences(const struct jobspec *j, int64_t from, size_t max, int64_t *ret, size_t *ret_n)
{
	*ret_n = walk(j, from, INT64_MAX, max, ret);
	return 0;
}

size_t schedule_count(const struct jobspec *j, int64_t from, int64_t to, size_t max)
{
	return walk(j, from, to, max, NULL);
}

int schedule_latest_due(const struct jobspec *j, int64_t now, int64_t *ret)
{
	int64_t upper, lb = LOOKBACK_FIRST;

	if (j->repeat && now > SCHED_MAX)
		now = SCHED_MAX;
	upper = j->has_until && j->until < now ? j->until : now;
	if (!j->repeat) {
		if (j->start > now)
			return -ENOENT;
		*ret = j->start;
		return 0;
	}
	if ((j->anchored && j->start > upper) || upper < SCHED_MIN)
		return -ENOENT;
	if (j->count > 0) {
		/* the count decides which occurrences exist: walk them from start */
		int64_t t = j->start - 1, last = 0, occ;
		bool found = false;
		for (int k = 0; k < j->count; k++) {
			if (calendar_next(j->repeat, j->tz, t, &occ) < 0 || occ > upper)
				break;
			last = occ;
			found = true;
			t = occ;
		}
		if (!found)
			return -ENOENT;
		*ret = last;
		return 0;
	}
	for (;;) {
		int64_t lo = upper - lb, t, occ, last = 0;
		bool found = false, final = lb >= LOOKBACK_MAX;

		if (j->anchored && lo <= j->start) {
			lo = j->start;
			final = true;
		}
		t = lo - 1;
		while (calendar_next(j->repeat, j->tz, t, &occ) == 0 && occ <= upper) {
			last = occ;
			found = true;
			t = occ;
		}
		if (found) {
			*ret = last;
			return 0;
		}
		if (final)
			return -ENOENT;
		lb *= 8;
	}
}

int schedule_submit_time(const struct jobspec *j, const struct tz *zone, int64_t occurrence, int64_t *ret,
			 bool *ret_skipped)
{
	const struct tz *z = zone ? zone : j->tz;
	int64_t t;
	int r;

	if (!j->hours || window_is_open(j->hours, z, occurrence)) {
		*ret = occurrence;
		*ret_skipped = false;
		return 0;
	}
	if (j->outside == OUTSIDE_SKIP) {
		*ret = occurrence;
		*ret_skipped = true;
		return 0;
	}
	r = window_next_open(j->hours, z, occurrence, &t);
	if (r < 0)
		return r;
	*ret = t;
	*ret_skipped = false;
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct schedule_group *x = a, *y = b;

	if (x->submit_at != y->submit_at)
		return x->submit_at < y->submit_at ? -1 : 1;
	return strcmp(x->timezone, y->timezone);
}

static int fill_group(const struct jobspec *j, int64_t occurrence, struct schedule_group *g)
{
	bool skipped;
	int r = schedule_submit_time(j, g->tz, occurrence, &g->submit_at, &skipped);

	if (r < 0)
		return r;
	g->window = skipped ? SCHEDULE_SKIPPED : g->submit_at != occurrence ? SCHEDULE_DEFERRED : SCHEDULE_OPEN;
	return 0;
}

int schedule_zone_groups(const struct jobspec *j, int64_t occurrence, struct schedule_group **ret, size_t *ret_n)
{
	struct schedule_group *g = NULL;
	size_t n = 0;
	int r = 0;

	if (!j->hours || !j->has_recipient_zones) {
		g = xcalloc(1, sizeof(*g));
		g->timezone = j->timezone;
		g->tz = j->tz;
		g->recipients = xcalloc(j->n_recipients ? j->n_recipients : 1, sizeof(*g->recipients));
		for (size_t i = 0; i < j->n_recipients; i++)
			g->recipients[i] = i;
		g->n_recipients = j->n_recipients;
		n = 1;
	} else {
		g = xcalloc(j->n_recipients, sizeof(*g));
		for (size_t i = 0; i < j->n_recipients; i++) {
			const struct recipient *rc = &j->recipients[i];
			const char *name = rc->timezone ? rc->timezone : j->timezone;
			size_t k = 0;

			while (k < n && strcmp(g[k].timezone, name) != 0)
				k++;
			if (k == n) {
				g[n].timezone = name;
				g[n].tz = rc->timezone ? rc->tz : j->tz;
				/* at most every recipient of the job in one zone */
				g[n].recipients = xcalloc(j->n_recipients, sizeof(*g[n].recipients));
				n++;
			}
			g[k].recipients[g[k].n_recipients++] = i;
		}
	}
	for (size_t k = 0; k < n; k++) {
		r = fill_group(j, occurrence, &g[k]);
		if (r < 0)
			goto out;
	}
	if (n > 1)
		qsort(g, n, sizeof(*g), cmp_group);
	*ret = g;
	*ret_n = n;
	g = NULL;
out:
	schedule_groups_free(g, n);
	return r;
}

void schedule_groups_free(struct schedule_group *g, size_t n)
{
	if (!g)
		return;
	for (size_t i = 0; i < n; i++)
		free(g[i].recipients);
	free(g);
}
