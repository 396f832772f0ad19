/*
 * backoff: the waiting times of the daemon, as pure functions of their
 * inputs. The retry policy of a finished batch (SPEC §5.2), full-jitter
 * backoff for transient API failures (SPEC §5.4) and the Retry-After header
 * (delta-seconds or an HTTP date). No clock and no random source inside:
 * the caller passes `now` and the random bits, so every case is testable.
 */
#ifndef BC_BACKOFF_H
#define BC_BACKOFF_H

#include <stdint.h>

#include "jobspec.h"

/* Seconds to wait before the n-th retry of a finished batch:
 * min(delay * backoff^(n-1), max_delay), rounded to the nearest second,
 * saturating (never negative, never overflows). n < 1 counts as the first. */
int64_t backoff_retry_delay(const struct retry_policy *p, int n);

/* Full jitter: a value in [0, min(cap_ms, base_ms * 2^attempt)] chosen by
 * the caller's random 64-bit value rnd (0 -> 0, UINT64_MAX -> the ceiling). */
int64_t backoff_full_jitter_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint64_t rnd);

/* The longest Retry-After the daemon honours, in seconds. A server (or a
 * proxy) asking for more, up to a date in year 9999, would otherwise park a
 * run, or the list scan that polls every active batch, for good; past an
 * hour the daemon asks again, and a server still unwilling says so again. */
#define RETRY_AFTER_MAX_S 3600

/* Parse a Retry-After value (delta-seconds, or an IMF-fixdate, RFC 850 or
 * asctime HTTP date) into the seconds to wait from now: 0 when negative or
 * past, RETRY_AFTER_MAX_S when later than that, -EINVAL when it is neither
 * form. */
int backoff_parse_retry_after(const char *value, int64_t now, int64_t *ret_seconds);

#endif
