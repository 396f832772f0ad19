/*
 * ratelimit: a token bucket for the client-side request rate
 * (max_requests_per_second). Pure: the caller passes the time in, so the
 * bucket is tested with plain numbers and the shell decides how to wait.
 *
 * Implemented as GCRA (a "virtual scheduling" token bucket): one integer
 * theoretical-arrival time instead of a fractional token count, so there is
 * no floating-point drift and the spacing is never shorter than 1/rate.
 */
#ifndef BC_RATELIMIT_H
#define BC_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t interval_us; /* time per token, rounded up; 0: unlimited */
	int64_t tolerance_us; /* (burst - 1) * interval_us */
	int64_t tat_us;       /* theoretical arrival time of the next token */
	bool started;         /* false until the first take: the bucket starts full */
};

/* Set up a bucket that allows burst requests at once and rate_per_sec on
 * average; rate_per_sec <= 0 (or not finite) means unlimited, burst < 1
 * counts as 1. The bucket is full at the first ratelimit_take. */
void ratelimit_init(struct ratelimit *rl, double rate_per_sec, int burst);

/* Take one token at time now_us (any monotonic microsecond clock): 0 when
 * the token was taken, else the microseconds to wait before a token is
 * available (nothing is taken then). */
int64_t ratelimit_take(struct ratelimit *rl, int64_t now_us);

#endif
