/*
 * apiclock: how far the API's clock is from this host's, measured from
 * its answers (the `Date` header of every answer, and `created_at_unix`
 * of the daemon's own submits). Pure: the shell hands in when it sent the
 * request, when the answer came (this host's wall clock) and the server's
 * second.
 *
 * The lookup of an uncertain submit looks for batches created after the
 * run's first intent minus a margin (scan.c). A batch's created_at is the
 * API's clock: when that clock runs behind ours by more than the margin,
 * the batch we made would be missed and the run submitted again. So the
 * margin grows by the lag measured: the most the API's clock was ever
 * seen behind ours in this process (never shrinking: a wider lookup costs
 * pages, a narrower one can ring people twice).
 */
#ifndef BC_APICLOCK_H
#define BC_APICLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* A lookup looks for batches created this long before the run's first
 * intent, and further by the lag measured (api_clock_lookup_margin_s). */
#define API_CLOCK_LOOKUP_MARGIN_S 300

/* Warned above this (either way), back to normal at or below half of it. */
#define API_CLOCK_WARN_MS (60 * 1000)

struct api_clock {
	bool known;
	int64_t offset_ms;  /* latest estimate of the API's clock minus ours */
	int64_t error_ms;   /* its uncertainty, +-: half the round trip + 500 ms */
	int64_t max_lag_ms; /* most the API's clock can have been behind ours, >= 0 */
	bool off;           /* the estimate is beyond API_CLOCK_WARN_MS (warned) */
};

enum api_clock_change {
	API_CLOCK_SAME,
	API_CLOCK_OFF,  /* now more than API_CLOCK_WARN_MS apart: warn */
	API_CLOCK_BACK, /* within API_CLOCK_WARN_MS / 2 again */
};

/* The server said it was server_s (its second, truncated) at some instant
 * between sent_ms and recv_ms of ours. Swapped or negative times are
 * ignored (API_CLOCK_SAME, nothing changes). */
enum api_clock_change api_clock_note(struct api_clock *c, int64_t sent_ms, int64_t recv_ms, int64_t server_s);

/* Seconds to add to a lookup's margin: the largest lag seen, rounded up. */
int64_t api_clock_lag_s(const struct api_clock *c);

/* A lookup's margin: API_CLOCK_LOOKUP_MARGIN_S plus api_clock_lag_s. */
int64_t api_clock_lookup_margin_s(const struct api_clock *c);

#endif
