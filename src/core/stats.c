/*
 * stats: the lateness histogram (see stats.h).
 */
#include "config.h"

#include <stddef.h>

#include "stats.h"

const double stats_lateness_bounds[STATS_LATENESS_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void stats_note_lateness(struct stats *s, int64_t late_ms)
{
	double late = late_ms > 0 ? late_ms / 1000.0 : 0;

	for (size_t i = 0; i < STATS_LATENESS_BUCKETS - 1; i++)
		if (late <= stats_lateness_bounds[i])
			s->lateness_buckets[i]++;
	s->lateness_buckets[STATS_LATENESS_BUCKETS - 1]++;
	s->lateness_sum += late;
	s->lateness_count++;
}
