/*
 * window: calling hours and blackout dates, evaluated on the wall clock of a
 * zone (the job's, or a recipient's).
 *
 * The window of a local day D opens at D `from` and closes at D `to`; when
 * `to` is earlier than `from` the window straddles midnight and closes at
 * `to` on the next day. The weekday rule and the blackout dates apply to the
 * day the window OPENS: a window from Fri 20:00 to 02:00 runs into Saturday
 * even with days = "Mon..Fri", and a window that would open on a blackout
 * date does not open at all (one that opened the evening before still runs
 * to its close). Both ends are read with the RFC 5545 rule of tz.h: a `from`
 * of 01:30 on a fall-back day opens at the first 01:30, an end inside a
 * spring-forward gap is the instant tz_to_instant gives; a window that comes
 * out empty that way (02:30..03:00 on a spring-forward day) does not open.
 * Windows that touch (only blackout dates, no calling_hours: every other day
 * is open from midnight to midnight) are one period for window_close_after.
 * Pure: no clock, no I/O.
 */
#ifndef BC_WINDOW_H
#define BC_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz;

/* How many days window_next_open looks ahead before -ENOENT. */
#define WINDOW_SEARCH_DAYS 3660

struct window {
	unsigned days;     /* weekday bits of calendar.h (bit 0 = Sunday); all when not given */
	int from, to;      /* seconds after local midnight, from != to ... */
	bool all_day;      /* ... unless all_day: no calling hours, only blackout dates */
	int64_t *blackout; /* local dates as civil_to_days numbers, sorted, unique */
	size_t n_blackout;
};

/* "HH:MM" or "HH:MM:SS" (00:00 .. 23:59:59) -> seconds after midnight; 0 or -EINVAL. */
int window_parse_clock(const char *s, int *ret);
/* "YYYY-MM-DD" (a real date) -> civil_to_days number; 0 or -EINVAL. */
int window_parse_date(const char *s, int64_t *ret);
/* Add a blackout date, keeping the list sorted and unique. */
void window_add_blackout(struct window *w, int64_t day);
/* Free w and its blackout list (accepts NULL). */
void window_free(struct window *w);

/* Is t inside a window of w on the wall clock of z? */
bool window_is_open(const struct window *w, const struct tz *z, int64_t t);
/* The first instant >= t at which w is open (t itself when open); 0 or -ENOENT. */
int window_next_open(const struct window *w, const struct tz *z, int64_t t, int64_t *ret);
/* When the open period that contains t closes; 0, or -ENOENT when w is closed at t. */
int window_close_after(const struct window *w, const struct tz *z, int64_t t, int64_t *ret);

#endif
