/*
 * ratelimit: token bucket as GCRA. The bucket holds burst tokens and gains
 * one every interval; "tat" is the time at which the bucket would be exactly
 * empty if every token so far had been spaced by interval. A take at now is
 * allowed while tat - now stays within the burst tolerance.
 */
#include "config.h"

#include <math.h>

#include "ratelimit.h"

void ratelimit_init(struct ratelimit *rl, double rate_per_sec, int burst)
{
	*rl = (struct ratelimit){ 0 };
	if (!(rate_per_sec > 0) || !isfinite(rate_per_sec))
		return;
	if (burst < 1)
		burst = 1;
	/* Round the interval up so the achieved rate never exceeds the limit;
	 * at least 1 us so that absurd rates still make progress. */
	double iv = ceil(1e6 / rate_per_sec);
	if (iv < 1)
		iv = 1;
	if (iv > (double)INT64_MAX / 4 / burst)
		iv = (double)INT64_MAX / 4 / burst;
	rl->interval_us = (int64_t)iv;
	rl->tolerance_us = (int64_t)(burst - 1) * rl->interval_us;
}

int64_t ratelimit_take(struct ratelimit *rl, int64_t now_us)
{
	if (rl->interval_us == 0)
		return 0;
	/* A full bucket at the first take; afterwards an idle period refills
	 * it, but never beyond burst (tat never lags now). */
	if (!rl->started || rl->tat_us < now_us) {
		rl->tat_us = now_us;
		rl->started = true;
	}
	int64_t ahead = rl->tat_us - now_us;
	if (ahead > rl->tolerance_us)
		return ahead - rl->tolerance_us;
	rl->tat_us += rl->interval_us;
	return 0;
}
