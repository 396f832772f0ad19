/*
 * backoff: the waiting times of the daemon, as pure functions of their
 * inputs. The retry policy of a finished batch (SPEC §5.2), full-jitter
 * backoff for transient API failures (SPEC §5.4) and the Retry-After header
 * (delta-seconds or an HTTP date). No clock and no random source inside:
 * the caller passes `now` and the random bits, so every case is testable.
 */
#ifndef BC_BACKOFF_H
#define BC_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#include "jobspec.h"

/* Seconds to wait before the n-th retry of a finished batch:
 * min(delay * backoff^(n-1), max_delay), rounded to the nearest second,
 * saturating (never negative, never overflows). n < 1 counts as the first. */
int64_t backoff_retry_delay(const struct retry_policy *p, int n);

/* Full jitter: a value in [0, min(cap_ms, base_ms * 2^attempt)] chosen by
 * the caller's random 64-bit value rnd (0 -> 0, UINT64_MAX -> the ceiling). */
int64_t backoff_full_jitter_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint64_t rnd);

/* A rule of waiting after consecutive failures: the wait after failure
 * attempt + 1 is min(cap_ms, base_ms * 2^attempt), or with jitter a value
 * in [0, that] chosen by random bits (full jitter); never below min_ms. */
struct backoff_rule {
	int64_t base_ms;
	int64_t cap_ms;
	int64_t min_ms;
	bool jitter;
};

/* The daemon's rules, in one place. */
/* A run's transient API failure (SPEC §5.4): run_ctx.backoff_base_ms and
 * backoff_cap_ms. */
#define BACKOFF_API_BASE_MS 1000
#define BACKOFF_API_CAP_MS (5 * 60 * 1000)
/* A page of the workspace's batch list that failed: asked again soon (a
 * scan of many pages must not be thrown away for one). */
#define BACKOFF_LIST_PAGE ((struct backoff_rule){ .base_ms = 500, .cap_ms = 5000, .jitter = true })
/* The API refused the key (401/403): all API work pauses, at least 1 s. */
#define BACKOFF_AUTH \
	((struct backoff_rule){ .base_ms = 5000, .cap_ms = BACKOFF_API_CAP_MS, .min_ms = 1000, .jitter = true })
/* accept() failed on a control or metrics socket (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM): the listener pauses 100 ms, doubling to 2 s, no jitter. */
#define BACKOFF_ACCEPT ((struct backoff_rule){ .base_ms = 100, .cap_ms = 2000 })

/* The wait after failure attempt + 1 (attempt 0: the first failure) under
 * rule b, with rnd the random bits for its jitter, raised to a server's
 * Retry-After of retry_after_s seconds when that is >= 0 (a floor, never
 * lowered by the rule's cap; backoff_parse_retry_after caps it). */
int64_t backoff_wait_ms(struct backoff_rule b, int attempt, uint64_t rnd, int64_t retry_after_s);

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

/* Parse an HTTP date (IMF-fixdate, RFC 850 or asctime; the `Date` header
 * of an answer) into unix seconds; now places an RFC 850 two-digit year.
 * -EINVAL when it is none of them. */
int backoff_parse_http_date(const char *value, int64_t now, int64_t *ret_unix);

#endif
