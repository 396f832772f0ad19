/*
 * window: calling hours as one window per local day, each end turned into an
 * instant with tz_to_instant, so that the DST rule is the one `start` uses.
 * Questions about an instant look at the windows of the few local days
 * around it (a window opens on its day and lasts less than a day of wall
 * time, plus at most a DST shift).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "tz.h"
#include "util.h"
#include "window.h"

static bool digits(const char *s, size_t n, int *ret)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int window_parse_clock(const char *s, int *ret)
{
	int h, m, sec = 0;
	size_t len = s ? strlen(s) : 0;

	if (len != 5 && len != 8)
		return -EINVAL;
	if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m))
		return -EINVAL;
	if (len == 8 && (s[5] != ':' || !digits(s + 6, 2, &sec)))
		return -EINVAL;
	if (h > 23 || m > 59 || sec > 59)
		return -EINVAL;
	*ret = h * 3600 + m * 60 + sec;
	return 0;
}

int window_parse_date(const char *s, int64_t *ret)
{
	struct civil c = { 0 };

	if (!s || strlen(s) != 10 || !digits(s, 4, &c.year) || s[4] != '-' || !digits(s + 5, 2, &c.month) ||
	    s[7] != '-' || !digits(s + 8, 2, &c.day) || !civil_valid(&c))
		return -EINVAL;
	*ret = civil_to_days(c.year, c.month, c.day);
	return 0;
}

static bool is_blackout(const struct window *w, int64_t day)
{
	size_t lo = 0, hi = w->n_blackout;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->blackout[mid] == day)
			return true;
		if (w->blackout[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void window_add_blackout(struct window *w, int64_t day)
{
	size_t i = 0;

	if (is_blackout(w, day))
		return;
	while (i < w->n_blackout && w->blackout[i] < day)
		i++;
	w->blackout = xrealloc(w->blackout, (w->n_blackout + 1) * sizeof(*w->blackout));
	memmove(w->blackout + i + 1, w->blackout + i, (w->n_blackout - i) * sizeof(*w->blackout));
	w->blackout[i] = day;
	w->n_blackout++;
}

void window_free(struct window *w)
{
	if (!w)
		return;
	free(w->blackout);
	free(w);
}

static int64_t at(const struct tz *z, int64_t day, int secs)
{
	struct civil c = { .hour = secs / 3600, .min = secs / 60 % 60, .sec = secs % 60 };
	int64_t y;

	civil_from_days(day, &y, &c.month, &c.day);
	c.year = (int)y;
	return tz_to_instant(z, &c, NULL);
}

/* The window opening on local day `day`: false when it does not open. */
static bool day_window(const struct window *w, const struct tz *z, int64_t day, int64_t *ret_open,
		       int64_t *ret_close)
{
	int64_t open, close;

	if (!(w->days & (1u << civil_weekday(day))) || is_blackout(w, day))
		return false;
	if (w->all_day) {
		open = at(z, day, 0);
		close = at(z, day + 1, 0);
	} else {
		open = at(z, day, w->from);
		close = at(z, w->to > w->from ? day : day + 1, w->to);
	}
	if (close <= open)
		return false;
	*ret_open = open;
	*ret_close = close;
	return true;
}

static int64_t local_day(const struct tz *z, int64_t t)
{
	struct civil c;

	tz_to_local(z, t, &c, NULL);
	return civil_to_days(c.year, c.month, c.day);
}

/* The window containing t: its close; false when none does. */
static bool containing(const struct window *w, const struct tz *z, int64_t t, int64_t *ret_close)
{
	int64_t d0 = local_day(z, t);

	for (int64_t d = d0 - 2; d <= d0 + 1; d++) {
		int64_t open, close;
		if (day_window(w, z, d, &open, &close) && open <= t && t < close) {
			*ret_close = close;
			return true;
		}
	}
	return false;
}

bool window_is_open(const struct window *w, const struct tz *z, int64_t t)
{
	int64_t close;
	return containing(w, z, t, &close);
}

int window_next_open(const struct window *w, const struct tz *z, int64_t t, int64_t *ret)
{
	int64_t d0, close;

	if (containing(w, z, t, &close)) {
		*ret = t;
		return 0;
	}
	d0 = local_day(z, t);
	for (int64_t d = d0 - 1; d <= d0 + WINDOW_SEARCH_DAYS; d++) {
		int64_t open;
		if (day_window(w, z, d, &open, &close) && open >= t) {
			*ret = open;
			return 0;
		}
	}
	return -ENOENT;
}

int window_close_after(const struct window *w, const struct tz *z, int64_t t, int64_t *ret)
{
	int64_t close, next;

	if (!containing(w, z, t, &close))
		return -ENOENT;
	/* a window that opens where this one closes continues the period */
	for (int i = 0; i < WINDOW_SEARCH_DAYS && containing(w, z, close, &next) && next > close; i++)
		close = next;
	*ret = close;
	return 0;
}
