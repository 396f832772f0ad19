/*
 * stats: the lateness histograms (see stats.h).
 */
#include "config.h"

#include <stddef.h>

#include "stats.h"

const double stats_lateness_bounds[STATS_LATENESS_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Stages: a burst of thousands spreads over seconds; a single submit
 * over a millisecond or two. */
const double stats_stage_bounds[STATS_STAGE_BOUNDS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

/* Added latency: fine around the 2 ms a submit may cost the daemon. */
const double stats_added_bounds[STATS_ADDED_BOUNDS] = {
	0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* One value into cumulative buckets (n finite bounds, then +Inf). */
static void buckets_add(uint64_t *buckets, const double *bounds, size_t n, double v)
{
	for (size_t i = 0; i < n; i++)
		if (v <= bounds[i])
			buckets[i]++;
	buckets[n]++;
}

void stats_note_lateness(struct stats *s, int64_t late_ms)
{
	double late = late_ms > 0 ? late_ms / 1000.0 : 0;

	buckets_add(s->lateness_buckets, stats_lateness_bounds, STATS_LATENESS_BUCKETS - 1, late);
	s->lateness_sum += late;
	s->lateness_count++;
}

const char *stats_stage_name(enum stats_stage st)
{
	static const char *const names[STATS_STAGE__MAX] = {
		[STATS_STAGE_FIRED] = "fired",         [STATS_STAGE_DURABLE] = "durable",
		[STATS_STAGE_QUEUED] = "queued",       [STATS_STAGE_CONNECTED] = "connected",
		[STATS_STAGE_WRITTEN] = "written",     [STATS_STAGE_ANSWERED] = "answered",
	};
	return (unsigned)st < STATS_STAGE__MAX ? names[st] : "?";
}

void stats_hist_note(struct stats_hist *h, const double *bounds, size_t n_bounds, double v)
{
	if (v < 0)
		v = 0;
	buckets_add(h->buckets, bounds, n_bounds, v);
	h->sum += v;
	if (v > h->max)
		h->max = v;
	h->count++;
}

int64_t stats_added_latency_us(const struct stats_submit_times *t)
{
	int64_t from = t->slot_free_us > t->due_us ? t->slot_free_us : t->due_us;
	int64_t w = t->at_us[STATS_STAGE_WRITTEN];

	if (w == 0)
		return -1;
	return w > from ? w - from : 0;
}

void stats_note_submit(struct stats *s, const struct stats_submit_times *t)
{
	int64_t added = stats_added_latency_us(t);

	/* (a stage reached before the instant, as a first submit's intent
	 * stepped ahead of it is: 0) */
	for (int st = 0; st < STATS_STAGE__MAX; st++)
		if (t->at_us[st] != 0)
			stats_hist_note(&s->stage[st], stats_stage_bounds, STATS_STAGE_BOUNDS,
					t->at_us[st] > t->due_us ? (double)(t->at_us[st] - t->due_us) / 1e6 : 0.0);
	if (added >= 0)
		stats_hist_note(&s->added, stats_added_bounds, STATS_ADDED_BOUNDS, (double)added / 1e6);
}
