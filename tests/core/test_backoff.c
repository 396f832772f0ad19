/*
 * test_backoff: the retry policy delay, full jitter and Retry-After with
 * plain values — exhaustive over small ranges against a straightforward
 * reference, plus the edges (n = 0, huge n, backoff 1.0, a cap below the
 * delay, rnd = 0 and UINT64_MAX, every HTTP date form, junk).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "backoff.h"

static struct retry_policy policy(int delay, double backoff, int max_delay)
{
	return (struct retry_policy){ .max_retries = 2, .delay = delay, .backoff = backoff, .max_delay = max_delay };
}

START_TEST(test_retry_delay_spec_example)
{
	/* SPEC §3 defaults: delay 600, backoff 2.0, max_delay 3600 */
	struct retry_policy p = policy(600, 2.0, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, 2), 1200);
	ck_assert_int_eq(backoff_retry_delay(&p, 3), 2400);
	ck_assert_int_eq(backoff_retry_delay(&p, 4), 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 5), 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 100), 3600);
}
END_TEST

START_TEST(test_retry_delay_edges)
{
	struct retry_policy p = policy(600, 2.0, 3600);

	/* n below 1 counts as the first retry */
	ck_assert_int_eq(backoff_retry_delay(&p, 0), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, -7), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, INT_MIN), 600);
	/* huge n saturates at the cap, never overflows */
	ck_assert_int_eq(backoff_retry_delay(&p, 1024), 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, INT_MAX), 3600);

	/* backoff 1.0: a constant delay, whatever n */
	p = policy(45, 1.0, 3600);
	for (int n = 1; n <= 2000; n++)
		ck_assert_int_eq(backoff_retry_delay(&p, n), 45);
	ck_assert_int_eq(backoff_retry_delay(&p, INT_MAX), 45);

	/* a cap below the delay wins from the first retry */
	p = policy(600, 2.0, 100);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 100);
	ck_assert_int_eq(backoff_retry_delay(&p, 2), 100);
	ck_assert_int_eq(backoff_retry_delay(&p, INT_MAX), 100);

	/* fractional products round to the nearest second */
	p = policy(5, 1.5, 1000);
	ck_assert_int_eq(backoff_retry_delay(&p, 2), 8);  /* 7.5 */
	ck_assert_int_eq(backoff_retry_delay(&p, 3), 11); /* 11.25 */
	p = policy(600, 1.1, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 3), 726); /* 726.0000000000001 */

	/* absurd factors: no NaN, no overflow */
	p = policy(600, 1e308, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, 2), 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 3), 3600);
	p = policy(600, INFINITY, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, 2), 3600);
	p = policy(600, NAN, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 600);
	ck_assert_int_eq(backoff_retry_delay(&p, 50), 600);
	p = policy(600, -2.0, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 3), 600);
	p = policy(INT_MAX, 2.0, INT_MAX);
	ck_assert_int_eq(backoff_retry_delay(&p, INT_MAX), INT_MAX);

	/* nothing to wait for */
	p = policy(0, 2.0, 3600);
	ck_assert_int_eq(backoff_retry_delay(&p, 5), 0);
	p = policy(600, 2.0, 0);
	ck_assert_int_eq(backoff_retry_delay(&p, 5), 0);
	p = policy(-5, 2.0, -1);
	ck_assert_int_eq(backoff_retry_delay(&p, 1), 0);
	ck_assert_int_eq(backoff_retry_delay(NULL, 1), 0);
}
END_TEST

START_TEST(test_retry_delay_exhaustive)
{
	static const double factors[] = { 1.0, 1.25, 1.5, 2.0, 3.0, 10.0 };

	for (int delay = 0; delay <= 30; delay++)
		for (size_t f = 0; f < sizeof(factors) / sizeof(factors[0]); f++)
			for (int cap = 0; cap <= 80; cap++) {
				struct retry_policy p = policy(delay, factors[f], cap);
				double d = delay;
				int64_t prev = 0;
				for (int n = 1; n <= 40; n++) {
					int64_t got = backoff_retry_delay(&p, n);
					double want = d < cap ? d : cap;
					ck_assert_int_eq(got, llround(want));
					ck_assert_int_ge(got, prev);
					ck_assert_int_le(got, cap);
					prev = got;
					d *= factors[f];
				}
			}
}
END_TEST

/* floor(rnd * (ceiling + 1) / 2^64), the definition the code implements */
static int64_t jitter_ref(uint64_t rnd, int64_t ceiling)
{
	return (int64_t)(((unsigned __int128)rnd * ((unsigned __int128)ceiling + 1)) >> 64);
}

START_TEST(test_jitter_ends)
{
	/* rnd = 0 is always 0, rnd = UINT64_MAX is always the ceiling */
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 0, 0), 0);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 0, UINT64_MAX), 100);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 3, UINT64_MAX), 800);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 6, UINT64_MAX), 6400);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 7, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 7, 0), 0);
	/* huge attempts saturate instead of shifting out of range */
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 62, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 63, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 64, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, INT_MAX, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(INT64_MAX, 10000, 1, UINT64_MAX), 10000);
	ck_assert_int_eq(backoff_full_jitter_ms(1, INT64_MAX, 62, UINT64_MAX), INT64_C(1) << 62);
	ck_assert_int_eq(backoff_full_jitter_ms(1, INT64_MAX, 63, UINT64_MAX), INT64_MAX);
	ck_assert_int_eq(backoff_full_jitter_ms(INT64_MAX, INT64_MAX, INT_MAX, UINT64_MAX), INT64_MAX);
	ck_assert_int_eq(backoff_full_jitter_ms(INT64_MAX, INT64_MAX, INT_MAX, 0), 0);
	/* half way */
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, 0, UINT64_C(1) << 63), 50);
	ck_assert_int_eq(backoff_full_jitter_ms(1, INT64_MAX, 63, UINT64_C(1) << 63), INT64_C(1) << 62);
	/* negative inputs mean no wait; a negative attempt is the first */
	ck_assert_int_eq(backoff_full_jitter_ms(-100, 10000, 3, UINT64_MAX), 0);
	ck_assert_int_eq(backoff_full_jitter_ms(100, -1, 3, UINT64_MAX), 0);
	ck_assert_int_eq(backoff_full_jitter_ms(100, 10000, -3, UINT64_MAX), 100);
	ck_assert_int_eq(backoff_full_jitter_ms(0, 10000, 63, UINT64_MAX), 0);
}
END_TEST

START_TEST(test_jitter_exhaustive_small)
{
	/* 2^16 evenly spaced rnd values over every small ceiling: always in
	 * range, monotonic in rnd, equal to the reference, and every value
	 * of [0, ceiling] is hit equally often (within one). */
	for (int64_t c = 0; c <= 100; c++) {
		uint32_t hits[101] = { 0 };
		int64_t prev = 0;
		for (uint64_t i = 0; i < 65536; i++) {
			uint64_t rnd = i << 48;
			int64_t v = backoff_full_jitter_ms(c, c, 0, rnd);
			/* one check call per value would dominate the run time */
			if (v < prev || v > c || v != jitter_ref(rnd, c))
				ck_abort_msg("ceiling %lld rnd %#llx: %lld", (long long)c, (unsigned long long)rnd,
					     (long long)v);
			hits[v]++;
			prev = v;
		}
		uint32_t lo = UINT32_MAX, hi = 0;
		for (int64_t k = 0; k <= c; k++) {
			lo = hits[k] < lo ? hits[k] : lo;
			hi = hits[k] > hi ? hits[k] : hi;
		}
		ck_assert_uint_le(hi - lo, 1);
		ck_assert_int_eq(backoff_full_jitter_ms(c, c, 0, UINT64_MAX), c);
	}
}
END_TEST

START_TEST(test_jitter_matches_reference)
{
	/* a fixed xorshift sequence: replayable, no libc rand() */
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int64_t base = (int64_t)(x % 5000) + 1;
		int attempt = (int)((x >> 20) % 70);
		int64_t cap = (int64_t)((x >> 32) % 600000);
		int64_t ceiling = attempt >= 63 || base > (INT64_MAX >> attempt) ? INT64_MAX : base << attempt;
		if (ceiling > cap)
			ceiling = cap;
		ck_assert_int_eq(backoff_full_jitter_ms(base, cap, attempt, x), jitter_ref(x, ceiling));
	}
}
END_TEST

static int64_t retry_after(const char *v, int64_t now)
{
	int64_t s = -12345;
	int r = backoff_parse_retry_after(v, now, &s);
	ck_assert_msg(r == 0, "'%s' refused: %d", v, r);
	return s;
}

static void retry_after_junk(const char *v, int64_t now)
{
	int64_t s = -12345;
	int r = backoff_parse_retry_after(v, now, &s);
	ck_assert_msg(r == -EINVAL, "'%s' accepted (%d, %lld)", v, r, (long long)s);
	ck_assert_int_eq(s, -12345); /* untouched */
}

/* The daemon's rules through the one function every caller uses. */
START_TEST(test_wait_rules)
{
	struct backoff_rule api = { .base_ms = BACKOFF_API_BASE_MS, .cap_ms = BACKOFF_API_CAP_MS, .jitter = true };

	/* a run's transient failure: 1 s doubling to 5 min, jittered */
	ck_assert_int_eq(backoff_wait_ms(api, 0, UINT64_MAX, -1), 1000);
	ck_assert_int_eq(backoff_wait_ms(api, 3, UINT64_MAX, -1), 8000);
	ck_assert_int_eq(backoff_wait_ms(api, 20, UINT64_MAX, -1), 300000);
	ck_assert_int_eq(backoff_wait_ms(api, 3, UINT64_C(1) << 63, -1), 4000);
	ck_assert_int_eq(backoff_wait_ms(api, 3, 0, -1), 0);
	/* Retry-After is a floor, above the cap too, never a ceiling */
	ck_assert_int_eq(backoff_wait_ms(api, 3, 0, 0), 0);
	ck_assert_int_eq(backoff_wait_ms(api, 3, 0, 7), 7000);
	ck_assert_int_eq(backoff_wait_ms(api, 3, UINT64_MAX, 7), 8000);
	ck_assert_int_eq(backoff_wait_ms(api, 20, 0, RETRY_AFTER_MAX_S), RETRY_AFTER_MAX_S * 1000);
	ck_assert_int_eq(backoff_wait_ms(api, 0, 0, INT64_MAX), INT64_MAX);
	/* a list page: 500 ms doubling to 5 s, jittered, Retry-After a floor */
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_LIST_PAGE, 0, UINT64_MAX, -1), 500);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_LIST_PAGE, 2, UINT64_MAX, -1), 2000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_LIST_PAGE, 4, UINT64_MAX, -1), 5000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_LIST_PAGE, 1, 0, 30), 30000);
	/* a refused key: 5 s doubling to 5 min, jittered, at least 1 s */
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_AUTH, 0, 0, -1), 1000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_AUTH, 0, UINT64_MAX, -1), 5000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_AUTH, 1, UINT64_C(1) << 63, -1), 5000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_AUTH, 10, UINT64_MAX, -1), 300000);
	/* a failed accept: 100 ms doubling to 2 s, no jitter (rnd ignored) */
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_ACCEPT, 0, 0, -1), 100);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_ACCEPT, 1, 12345, -1), 200);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_ACCEPT, 4, 0, -1), 1600);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_ACCEPT, 5, 0, -1), 2000);
	ck_assert_int_eq(backoff_wait_ms(BACKOFF_ACCEPT, INT_MAX, 0, -1), 2000);
}
END_TEST

START_TEST(test_retry_after_seconds)
{
	ck_assert_int_eq(retry_after("120", 1000), 120);
	ck_assert_int_eq(retry_after("0", 1000), 0);
	ck_assert_int_eq(retry_after("007", 1000), 7);
	ck_assert_int_eq(retry_after(" \t30 ", 1000), 30);
	ck_assert_int_eq(retry_after("-5", 1000), 0);
	ck_assert_int_eq(retry_after("-0", 1000), 0);
	/* honoured up to an hour; more reads as the hour */
	ck_assert_int_eq(RETRY_AFTER_MAX_S, 3600);
	ck_assert_int_eq(retry_after("3599", 1000), 3599);
	ck_assert_int_eq(retry_after("3600", 1000), 3600);
	ck_assert_int_eq(retry_after("3601", 1000), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("86400", 1000), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("9223372036854775807", 0), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("99999999999999999999999999", 0), RETRY_AFTER_MAX_S);

	retry_after_junk(NULL, 0);
	retry_after_junk("", 0);
	retry_after_junk("   ", 0);
	retry_after_junk("-", 0);
	retry_after_junk("+3", 0);
	retry_after_junk("1.5", 0);
	retry_after_junk("1e3", 0);
	retry_after_junk("12 34", 0);
	retry_after_junk("12s", 0);
	retry_after_junk("0x10", 0);
	retry_after_junk("--5", 0);
	retry_after_junk("soon", 0);
}
END_TEST

START_TEST(test_retry_after_dates)
{
	const int64_t t = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */

	/* the three forms of RFC 9110 §5.6.7, 100 s ahead of now */
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 100), 100);
	ck_assert_int_eq(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t - 100), 100);
	ck_assert_int_eq(retry_after("Sun Nov  6 08:49:37 1994", t - 100), 100);
	ck_assert_int_eq(retry_after("Sun Nov 06 08:49:37 1994", t - 100), 100);
	ck_assert_int_eq(retry_after("  Sun, 06 Nov 1994 08:49:37 GMT\t", t - 1), 1);
	/* now and past: no wait */
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t), 0);
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 3600), 0);
	ck_assert_int_eq(retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 1795824000), 0);
	ck_assert_int_eq(retry_after("Mon, 01 Jan 1900 00:00:00 GMT", 0), 0);
	/* exact instants, seen from 17 s before each */
	static const struct {
		const char *date;
		int64_t at;
	} exact[] = {
		{ "Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 },
		{ "Mon, 29 Feb 2016 00:00:00 GMT", 1456704000 },
		{ "Tue, 29 Feb 2000 12:00:00 GMT", 951825600 },
		{ "Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 },
		{ "Sat, 28 Nov 2026 00:01:00 GMT", 1795824060 },
	};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		ck_assert_int_eq(retry_after(exact[i].date, exact[i].at - 17), 17);
		ck_assert_int_eq(retry_after(exact[i].date, exact[i].at), 0);
		/* an hour ahead is honoured, a second more reads as the hour */
		ck_assert_int_eq(retry_after(exact[i].date, exact[i].at - 3600), 3600);
		ck_assert_int_eq(retry_after(exact[i].date, exact[i].at - 3601), RETRY_AFTER_MAX_S);
	}
	ck_assert_int_eq(retry_after("Sat, 28 Nov 2026 00:01:00 GMT", 1795824000), 60);
	/* year 9999, from now: an hour, not eight thousand years */
	ck_assert_int_eq(retry_after("Fri, 31 Dec 9999 23:59:59 GMT", 1795824000), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("Fri Dec 31 23:59:59 9999", 1795824000), RETRY_AFTER_MAX_S);
	/* a leap second reads as the next second */
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:60 GMT", t), 23);
	/* the weekday name is redundant and not cross-checked */
	ck_assert_int_eq(retry_after("Mon, 06 Nov 1994 08:49:37 GMT", t - 5), 5);
	/* a clock at the end of time cannot overflow the subtraction */
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MAX), 0);
	ck_assert_int_eq(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MIN), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", INT64_MIN), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", INT64_MAX), 0);
}
END_TEST

START_TEST(test_retry_after_rfc850_century)
{
	const int64_t now = 1795824000; /* 2026-11-28 00:00:00Z */

	/* two-digit years up to 50 years ahead stay in this century (so
	 * ahead: the hour), and read exactly from 10 s before ... */
	ck_assert_int_eq(retry_after("Wednesday, 01-Jan-76 00:00:00 GMT", now), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("Wednesday, 01-Jan-76 00:00:00 GMT", 3345062400 - 10), 10);
	ck_assert_int_eq(retry_after("Saturday, 28-Nov-26 00:00:10 GMT", now), 10);
	/* ... later ones are the previous century, hence past */
	ck_assert_int_eq(retry_after("Friday, 01-Jan-77 00:00:00 GMT", now), 0);
	ck_assert_int_eq(retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
	/* near the end of a century the next one is meant */
	const int64_t y2090 = 3786912000; /* 2090-01-01 */
	ck_assert_int_eq(retry_after("Friday, 01-Jan-30 00:00:00 GMT", y2090), RETRY_AFTER_MAX_S);
	ck_assert_int_eq(retry_after("Friday, 01-Jan-30 00:00:00 GMT", 5049129600 - 10), 10);
}
END_TEST

START_TEST(test_retry_after_junk_dates)
{
	static const char *const junk[] = {
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 08:49:37 GMT junk",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun,06 Nov 1994 08:49:37 GMT",
		"sun, 06 nov 1994 08:49:37 gmt",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 23:60:00 GMT",
		"Sun, 06 Nov 1994 23:59:61 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 2015 08:49:37 GMT",
		"Sun, 29 Feb 2100 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37",
		"Sun Nov  6 08:49:37 94",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov   6 08:49:37 1994",
		"Sun Nov  6 08:49:37 1994 GMT",
		"Sun Nov  6 8:49:37 1994",
		"Sun, 06 Nov 1994 08:49 GMT",
		"2026-11-28T00:00:00Z",
		"Sun, 06 Nov 1994 08:49:37 GMT\r\n",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		retry_after_junk(junk[i], 0);
}
END_TEST

static Suite *backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("retry_delay");
	tcase_add_test(tc, test_retry_delay_spec_example);
	tcase_add_test(tc, test_retry_delay_edges);
	tcase_add_test(tc, test_retry_delay_exhaustive);
	suite_add_tcase(s, tc);
	tc = tcase_create("jitter");
	tcase_add_test(tc, test_jitter_ends);
	tcase_add_test(tc, test_jitter_exhaustive_small);
	tcase_add_test(tc, test_jitter_matches_reference);
	tcase_add_test(tc, test_wait_rules);
	suite_add_tcase(s, tc);
	tc = tcase_create("retry_after");
	tcase_add_test(tc, test_retry_after_seconds);
	tcase_add_test(tc, test_retry_after_dates);
	tcase_add_test(tc, test_retry_after_rfc850_century);
	tcase_add_test(tc, test_retry_after_junk_dates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(backoff_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
