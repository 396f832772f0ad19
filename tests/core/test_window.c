/*
 * test_window: calling hours on the wall clock of a zone -- plain days,
 * windows that straddle midnight, blackout dates, DST days (gap and
 * overlap at either end), and periods of touching all-day windows. Every
 * expected instant was computed with Python's zoneinfo (fold=0, RFC 5545's
 * rule) from the wall time in the comment beside it, never with this code.
 */
#include "fixture.h"
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "tz.h"
#include "util.h"
#include "window.h"

static const struct tz *zone(const char *name)
{
	static struct tz_cache *zc;
	const struct tz *z = NULL;
	char *cause = NULL;

	if (!zc)
		zc = fixture_zones();
	ck_assert_msg(tz_cache_get(zc, name, &z, &cause) == 0, "%s: %s", name, cause ? cause : "?");
	return z;
}

/* A window from "days", "from", "to" (NULL from: all day). */
static struct window *mk(const char *days, const char *from, const char *to)
{
	struct window *w = xcalloc(1, sizeof(*w));
	char *cause = NULL;

	w->days = CALENDAR_ALL_WEEKDAYS;
	if (days)
		ck_assert_int_eq(calendar_parse_weekdays(days, &w->days, &cause), 0);
	if (from) {
		ck_assert_int_eq(window_parse_clock(from, &w->from), 0);
		ck_assert_int_eq(window_parse_clock(to, &w->to), 0);
	} else {
		w->all_day = true;
	}
	return w;
}

static void blackout(struct window *w, const char *date)
{
	int64_t d;
	ck_assert_int_eq(window_parse_date(date, &d), 0);
	window_add_blackout(w, d);
}

/* open at t, closes at close; closed one second before the opening */
static void assert_open(const struct window *w, const struct tz *z, int64_t t, int64_t close)
{
	int64_t r = 0;
	ck_assert_msg(window_is_open(w, z, t), "closed at %lld", (long long)t);
	ck_assert_int_eq(window_next_open(w, z, t, &r), 0);
	ck_assert_int_eq(r, t);
	ck_assert_int_eq(window_close_after(w, z, t, &r), 0);
	ck_assert_msg(r == close, "at %lld: closes at %lld, expected %lld", (long long)t, (long long)r,
		      (long long)close);
}

static void assert_closed(const struct window *w, const struct tz *z, int64_t t, int64_t next)
{
	int64_t r = 0;
	ck_assert_msg(!window_is_open(w, z, t), "open at %lld", (long long)t);
	ck_assert_int_eq(window_close_after(w, z, t, &r), -ENOENT);
	ck_assert_int_eq(window_next_open(w, z, t, &r), 0);
	ck_assert_msg(r == next, "at %lld: opens at %lld, expected %lld", (long long)t, (long long)r,
		      (long long)next);
}

START_TEST(test_parse)
{
	int s = -1;
	int64_t d = -1;

	ck_assert_int_eq(window_parse_clock("09:00", &s), 0);
	ck_assert_int_eq(s, 32400);
	ck_assert_int_eq(window_parse_clock("23:59:59", &s), 0);
	ck_assert_int_eq(s, 86399);
	ck_assert_int_eq(window_parse_clock("00:00", &s), 0);
	ck_assert_int_eq(s, 0);
	static const char *const bad[] = { "24:00", "9:00", "09:60", "09:00:60", "09-00", "", "09:00:0", "9am",
					   "09:00 ", "0900" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(window_parse_clock(bad[i], &s) == -EINVAL, "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(window_parse_date("2026-12-25", &d), 0);
	ck_assert_int_eq(d, 20812);
	ck_assert_int_eq(window_parse_date("2028-02-29", &d), 0);
	ck_assert_int_eq(d, 21243);
	static const char *const bad_dates[] = { "2026-02-29", "2026-13-01", "2026-12-32", "26-12-25", "2026/12/25",
						 "2026-12-25 ", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_dates); i++)
		ck_assert_msg(window_parse_date(bad_dates[i], &d) == -EINVAL, "\"%s\" accepted", bad_dates[i]);
}
END_TEST

START_TEST(test_blackout_order)
{
	struct window *w = mk("Mon..Fri", "09:00", "20:30:15");

	blackout(w, "2027-01-01");
	blackout(w, "2026-12-25");
	blackout(w, "2027-01-01");
	ck_assert_uint_eq(w->n_blackout, 2);
	ck_assert_int_eq(w->blackout[0], 20812);
	ck_assert_int_eq(w->blackout[1], civil_to_days(2027, 1, 1));
	window_free(w);
	window_free(NULL);
}
END_TEST

START_TEST(test_weekdays)
{
	const struct tz *z = zone("America/New_York");
	struct window *w = mk("Mon..Fri", "09:00", "20:00");

	/* Tuesday 2026-12-01 */
	assert_closed(w, z, 1796133599 /* 2026-12-01 08:59:59 America/New_York */, 1796133600 /* 2026-12-01 09:00 America/New_York */);
	assert_open(w, z, 1796133600 /* 2026-12-01 09:00 America/New_York */, 1796173200 /* 2026-12-01 20:00 America/New_York */);
	assert_open(w, z, 1796173199 /* 2026-12-01 19:59:59 America/New_York */, 1796173200 /* 2026-12-01 20:00 America/New_York */);
	assert_closed(w, z, 1796173200 /* 2026-12-01 20:00 America/New_York */, 1796220000 /* 2026-12-02 09:00 America/New_York */);
	/* Friday evening to Monday morning */
	assert_closed(w, z, 1796432400 /* 2026-12-04 20:00 America/New_York */, 1796652000 /* 2026-12-07 09:00 America/New_York */);
	assert_closed(w, z, 1796576400 /* 2026-12-06 12:00 America/New_York */, 1796652000 /* 2026-12-07 09:00 America/New_York */);
	window_free(w);
}
END_TEST

/* The day rule applies to the day the window opens: Friday 20:00 to
 * Saturday 02:00 with days = "Fri". */
START_TEST(test_straddles_midnight)
{
	const struct tz *z = zone("Europe/Berlin");
	struct window *w = mk("Fri", "20:00", "02:00");

	assert_closed(w, z, 1796335200 /* 2026-12-03 23:00 Europe/Berlin */, 1796410800 /* 2026-12-04 20:00 Europe/Berlin */); /* Thursday */
	assert_closed(w, z, 1796342400 /* 2026-12-04 01:00 Europe/Berlin */, 1796410800 /* 2026-12-04 20:00 Europe/Berlin */); /* Fri 01:00 */
	assert_open(w, z, 1796410800 /* 2026-12-04 20:00 Europe/Berlin */, 1796432400 /* 2026-12-05 02:00 Europe/Berlin */);
	assert_open(w, z, 1796425199 /* 2026-12-04 23:59:59 Europe/Berlin */, 1796432400 /* 2026-12-05 02:00 Europe/Berlin */);
	assert_open(w, z, 1796425200 /* 2026-12-05 00:00 Europe/Berlin */, 1796432400 /* 2026-12-05 02:00 Europe/Berlin */); /* Saturday */
	assert_open(w, z, 1796432399 /* 2026-12-05 01:59:59 Europe/Berlin */, 1796432400 /* 2026-12-05 02:00 Europe/Berlin */);
	assert_closed(w, z, 1796432400 /* 2026-12-05 02:00 Europe/Berlin */, 1797015600 /* 2026-12-11 20:00 Europe/Berlin */);
	assert_closed(w, z, 1796500800 /* 2026-12-05 21:00 Europe/Berlin */, 1797015600 /* 2026-12-11 20:00 Europe/Berlin */);
	window_free(w);
}
END_TEST

/* A straddling window that opens on a blackout date does not open; the one
 * that opened the evening before runs into the blackout date. */
START_TEST(test_blackout)
{
	const struct tz *z = zone("America/New_York");
	struct window *w = mk(NULL, "20:00", "02:00");

	blackout(w, "2026-12-25");
	assert_open(w, z, 1798171200 /* 2026-12-24 23:00 America/New_York */, 1798182000 /* 2026-12-25 02:00 America/New_York */);
	assert_open(w, z, 1798178400 /* 2026-12-25 01:00 America/New_York */, 1798182000 /* 2026-12-25 02:00 America/New_York */);
	assert_closed(w, z, 1798246800 /* 2026-12-25 20:00 America/New_York */, 1798333200 /* 2026-12-26 20:00 America/New_York */);
	assert_closed(w, z, 1798263000 /* 2026-12-26 00:30 America/New_York */, 1798333200 /* 2026-12-26 20:00 America/New_York */);
	window_free(w);

	/* blackout dates without calling hours: whole days; touching days are
	 * one open period, so a batch is not cut at every midnight */
	w = mk(NULL, NULL, NULL);
	blackout(w, "2026-12-25");
	blackout(w, "2027-01-01");
	assert_open(w, z, 1798124400 /* 2026-12-24 10:00 America/New_York */, 1798174800 /* 2026-12-25 00:00 America/New_York */);
	assert_closed(w, z, 1798174800 /* 2026-12-25 00:00 America/New_York */, 1798261200 /* 2026-12-26 00:00 America/New_York */);
	assert_closed(w, z, 1798261199 /* 2026-12-25 23:59:59 America/New_York */, 1798261200 /* 2026-12-26 00:00 America/New_York */);
	assert_open(w, z, 1798261200 /* 2026-12-26 00:00 America/New_York */, 1798779600 /* 2027-01-01 00:00 America/New_York */);
	assert_open(w, z, 1798567200 /* 2026-12-29 13:00 America/New_York */, 1798779600 /* 2027-01-01 00:00 America/New_York */);
	window_free(w);

	/* only blackout dates, consecutive: the next opening is after the last */
	w = mk("Mon..Fri", "09:00", "17:00");
	for (int d = 1; d <= 31; d++) {
		char date[16];
		snprintf(date, sizeof(date), "2026-12-%02d", d);
		blackout(w, date);
	}
	assert_closed(w, z, 1796076000 /* 2026-11-30 17:00 America/New_York */, 1798812000 /* 2027-01-01 09:00 America/New_York */);
	window_free(w);
}
END_TEST

START_TEST(test_dst_new_york)
{
	const struct tz *z = zone("America/New_York");
	struct window *w;

	/* fall-back day 2026-11-01: a window from 01:30 opens at the first 01:30
	 * and stays open through the repeated hour */
	w = mk(NULL, "01:30", "03:00");
	assert_closed(w, z, 1793509200 /* 2026-11-01 01:00 America/New_York */, 1793511000 /* 2026-11-01 01:30 America/New_York */);
	assert_open(w, z, 1793511000 /* 2026-11-01 01:30 America/New_York */, 1793520000 /* 2026-11-01 03:00 America/New_York */);
	assert_open(w, z, 1793511000 /* 2026-11-01 01:30 America/New_York */ + 3600, 1793520000 /* 2026-11-01 03:00 America/New_York */);
	window_free(w);
	/* ... and a window that ends at 01:30 ends at the first 01:30 */
	w = mk(NULL, "00:30", "01:30");
	assert_open(w, z, 1793510940 /* 2026-11-01 01:29 America/New_York */, 1793511000 /* 2026-11-01 01:30 America/New_York */);
	assert_closed(w, z, 1793511000 /* 2026-11-01 01:30 America/New_York */ + 60, 1793597400 /* 2026-11-02 00:30 America/New_York */);
	window_free(w);

	/* spring-forward day 2026-03-08: `to` inside the gap closes at the
	 * instant tz_to_instant gives (02:30 EST = 03:30 EDT) */
	w = mk(NULL, "00:00", "02:30");
	assert_open(w, z, 1772954100 /* 2026-03-08 03:15 America/New_York */, 1772955000 /* 2026-03-08 02:30 America/New_York */);
	assert_closed(w, z, 1772955000 /* 2026-03-08 03:30 America/New_York */, 1773028800 /* 2026-03-09 00:00 America/New_York */);
	window_free(w);
	/* `from` inside the gap */
	w = mk(NULL, "02:30", "05:00");
	assert_closed(w, z, 1772953200 /* 2026-03-08 03:00 America/New_York */, 1772955000 /* 2026-03-08 02:30 America/New_York */);
	assert_open(w, z, 1772955000 /* 2026-03-08 02:30 America/New_York */, 1772960400 /* 2026-03-08 05:00 America/New_York */);
	window_free(w);
	/* a window that comes out empty (02:30 EST is after 03:00 EDT) does not open */
	w = mk(NULL, "02:30", "03:00");
	assert_closed(w, z, 1772946000 /* 2026-03-08 00:00 America/New_York */, 1773037800 /* 2026-03-09 02:30 America/New_York */);
	window_free(w);
	/* a straddling window across the fall-back night lasts an hour longer */
	w = mk(NULL, "22:00", "06:00");
	assert_open(w, z, 1793498400 /* 2026-10-31 22:00 America/New_York */, 1793530800 /* 2026-11-01 06:00 America/New_York */);
	window_free(w);
}
END_TEST

START_TEST(test_dst_other_zones)
{
	const struct tz *lh = zone("Australia/Lord_Howe"), *ch = zone("Pacific/Chatham"),
			*lo = zone("Europe/London");
	struct window *w;

	/* Lord Howe springs forward 30 minutes at 02:00 on 2026-10-04: 02:10
	 * reads as +10:30, which is 02:40 of the new offset */
	w = mk(NULL, "02:10", "03:00");
	assert_closed(w, lh, 1791041340 /* 2026-10-04 01:59 Australia/Lord_Howe */, 1791042000 /* 2026-10-04 02:10 Australia/Lord_Howe */);
	assert_open(w, lh, 1791042000 /* 2026-10-04 02:10 Australia/Lord_Howe */, 1791043200 /* 2026-10-04 03:00 Australia/Lord_Howe */);
	assert_closed(w, lh, 1791042000 /* 2026-10-04 02:10 Australia/Lord_Howe */ - 1, 1791042000 /* 2026-10-04 02:10 Australia/Lord_Howe */);
	window_free(w);
	/* so 02:10..02:40 comes out empty that day and does not open */
	w = mk(NULL, "02:10", "02:40");
	assert_closed(w, lh, 1791041340 /* 2026-10-04 01:59 Australia/Lord_Howe */, 1791126600 /* 2026-10-05 02:10 Australia/Lord_Howe */);
	window_free(w);
	/* and falls back 30 minutes at 02:00 on 2026-04-05: 01:45 is the first */
	w = mk(NULL, "01:45", "02:15");
	assert_open(w, lh, 1775313900 /* 2026-04-05 01:45 Australia/Lord_Howe */, 1775317500 /* 2026-04-05 02:15 Australia/Lord_Howe */);
	assert_open(w, lh, 1775313900 /* 2026-04-05 01:45 Australia/Lord_Howe */ + 1800, 1775317500 /* 2026-04-05 02:15 Australia/Lord_Howe */);
	window_free(w);
	/* Chatham (+12:45/+13:45) springs forward at 02:45 on 2026-09-27: 03:00
	 * is in the gap and reads as 04:00 of the new offset */
	w = mk("Sun", "03:00", "05:00");
	assert_closed(w, ch, 1790421300 /* 2026-09-27 00:00 Pacific/Chatham */, 1790432100 /* 2026-09-27 03:00 Pacific/Chatham */);
	assert_open(w, ch, 1790432100 /* 2026-09-27 03:00 Pacific/Chatham */, 1790435700 /* 2026-09-27 05:00 Pacific/Chatham */);
	assert_open(w, ch, 1791033300 /* 2026-10-04 03:00 Pacific/Chatham */, 1791040500 /* 2026-10-04 05:00 Pacific/Chatham */);
	window_free(w);
	/* London: a window wholly inside the gap of 2026-03-29 (01:00..02:00)
	 * is read with GMT at both ends: 02:00..02:30 BST */
	w = mk(NULL, "01:00", "01:30");
	assert_closed(w, lo, 1774742400 /* 2026-03-29 00:00 Europe/London */, 1774746000 /* 2026-03-29 01:00 Europe/London */);
	assert_open(w, lo, 1774746000 /* 2026-03-29 02:00 Europe/London */, 1774747800 /* 2026-03-29 02:30 Europe/London */);
	assert_closed(w, lo, 1774747800 /* 2026-03-29 02:30 Europe/London */, 1774828800 /* 2026-03-30 01:00 Europe/London */);
	window_free(w);
}
END_TEST

/* Exhaustive over a week at one-minute steps: is_open agrees with the
 * plain rule (weekday of opening, from..to, straddling) in a zone without
 * DST, and next_open / close_after agree with a linear scan. */
START_TEST(test_exhaustive_week)
{
	const struct tz *z = zone("Asia/Kolkata");
	struct window *w = mk("Mon,Wed..Fri", "22:00", "06:30");
	int64_t t0 = 1796581800 /* 2026-12-07 00:00 Asia/Kolkata */; /* a Monday */
	const int n = 9 * 1440;
	bool *open = xcalloc((size_t)n + 1, sizeof(*open));

	for (int m = 0; m <= n; m++) {
		int day = m / 1440, tod = m % 1440; /* day 0 = Monday */
		bool today = day % 7 == 0 || (day % 7 >= 2 && day % 7 <= 4);
		int yd = (day + 6) % 7;
		bool yesterday = day > 0 && (yd == 0 || (yd >= 2 && yd <= 4));
		open[m] = (today && tod >= 22 * 60) || (yesterday && tod < 6 * 60 + 30);
		ck_assert_msg(window_is_open(w, z, t0 + m * 60) == open[m], "minute %d", m);
	}
	for (int m = 0; m < 7 * 1440; m += 7) {
		int64_t r;
		int k = m;
		if (open[m]) {
			while (open[k])
				k++;
			ck_assert_int_eq(window_close_after(w, z, t0 + m * 60, &r), 0);
		} else {
			while (!open[k])
				k++;
			ck_assert_int_eq(window_next_open(w, z, t0 + m * 60, &r), 0);
		}
		ck_assert_msg(r == t0 + k * 60, "minute %d", m);
	}
	free(open);
	window_free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("window");
	TCase *tc = tcase_create("window");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_blackout_order);
	tcase_add_test(tc, test_weekdays);
	tcase_add_test(tc, test_straddles_midnight);
	tcase_add_test(tc, test_blackout);
	tcase_add_test(tc, test_dst_new_york);
	tcase_add_test(tc, test_dst_other_zones);
	tcase_add_test(tc, test_exhaustive_week);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
