/*
 * Unit tests for tz: TZif parsing (real files, synthetic images and corrupt
 * ones), POSIX footer rules, the RFC 5545 gap/overlap rule, and a seeded
 * cross-check against glibc for instant -> wall time (the calendar
 * arithmetic is test_civil's). Expected instants were computed independently (zdump, GNU date
 * and Python zoneinfo, whose fold=0 reading is RFC 5545's rule) and are
 * asserted as literals. Only instants a tzdata release is unlikely to move
 * are pinned: Morocco's predicted Ramadan transitions (2087, 2090) went when
 * tzdata 2026f put Africa/Casablanca on +00 from 2026-09-20, so its cases
 * stop at the transitions of early 2026, which every release since agrees on.
 *
 * glibc localtime_r with TZ set is used here, in the test only, as an oracle;
 * src/core/tz.c never consults TZ.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tz.h"
#include "util.h"

static struct tz *load(const char *name)
{
	struct tz *z = NULL;
	char *cause = NULL;
	int r = fixture_tz_loader(name, &z, &cause, NULL);

	ck_assert_msg(r == 0, "load(%s) = %d: %s", name, r, cause ? cause : "");
	free(cause);
	return z;
}

static struct civil civ(const char *s)
{
	struct civil c;

	ck_assert_msg(civil_parse(s, &c) == 0, "civil_parse(%s)", s);
	return c;
}

START_TEST(test_format)
{
	char buf[64];
	struct tz *ny = load("America/New_York"), *kol = load("Asia/Kolkata"),
		  *cha = load("Pacific/Chatham"), *stj = load("America/St_Johns"), *utc = load("UTC");

	civil_format(&(struct civil){ 2026, 3, 8, 2, 30, 0 }, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-08 02:30");
	civil_format(&(struct civil){ 2026, 3, 8, 2, 30, 5 }, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-08 02:30:05");
	civil_format(&(struct civil){ 2026, 3, 8, 2, 30, 5 }, buf, 11);
	ck_assert_str_eq(buf, "2026-03-08");
	format_utc(1772955000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-08T07:30:00Z");
	format_utc(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	/* Both readings of New York's repeated 01:30. */
	tz_format_local(ny, 1793511000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-01T01:30:00-04:00");
	tz_format_local(ny, 1793514600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-01T01:30:00-05:00");
	tz_format_local(ny, 1796133600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-12-01T09:00:00-05:00");
	/* Local mean time has seconds in its offset; they are not dropped. */
	tz_format_local(ny, -5364662400LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1799-12-31T19:03:58-04:56:02");
	tz_format_local(kol, 1772917200, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-08T02:30:00+05:30");
	tz_format_local(cha, 1798712100, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2027-01-01T00:00:00+13:45");
	tz_format_local(stj, 1772949600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-03-08T03:30:00-02:30");
	tz_format_local(stj, 1798774200, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2027-01-01T00:00:00-03:30");
	tz_format_local(utc, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00+00:00");
	tz_free(ny);
	tz_free(kol);
	tz_free(cha);
	tz_free(stj);
	tz_free(utc);
}
END_TEST

/* ---- real zones: transitions, gaps, overlaps ---- */

/* A transition at t: the offset before it (t - 1) and at it (t). */
static const struct trans_case {
	const char *zone;
	int64_t t;
	int before, after;
	bool isdst_after;
} trans_cases[] = {
	{ "America/New_York", 1772953200LL, -18000, -14400, 1 }, /* Mar 8 2026 07:00:00Z */
	{ "America/New_York", 1793512800LL, -14400, -18000, 0 }, /* Nov 1 2026 06:00:00Z */
	{ "America/New_York", 2215062000LL, -18000, -14400, 1 }, /* Mar 11 2040 07:00:00Z */
	{ "America/New_York", 2235621600LL, -14400, -18000, 0 }, /* Nov 4 2040 06:00:00Z */
	{ "America/New_York", 4108690800LL, -18000, -14400, 1 }, /* Mar 14 2100 07:00:00Z */
	{ "America/New_York", 4129250400LL, -14400, -18000, 0 }, /* Nov 7 2100 06:00:00Z */
	{ "Europe/London", 1774746000LL, 0, 3600, 1 }, /* Mar 29 2026 01:00:00Z */
	{ "Europe/London", 1792890000LL, 3600, 0, 0 }, /* Oct 25 2026 01:00:00Z */
	{ "Europe/London", 2531955600LL, 0, 3600, 1 }, /* Mar 27 2050 01:00:00Z */
	{ "Europe/London", 2550704400LL, 3600, 0, 0 }, /* Oct 30 2050 01:00:00Z */
	{ "Europe/Berlin", 1774746000LL, 3600, 7200, 1 }, /* Mar 29 2026 01:00:00Z */
	{ "Europe/Berlin", 1792890000LL, 7200, 3600, 0 }, /* Oct 25 2026 01:00:00Z */
	{ "Europe/Berlin", 4078429200LL, 3600, 7200, 1 }, /* Mar 29 2099 01:00:00Z */
	{ "Europe/Berlin", 4096573200LL, 7200, 3600, 0 }, /* Oct 25 2099 01:00:00Z */
	{ "Australia/Sydney", 1775318400LL, 39600, 36000, 0 }, /* Apr 4 2026 16:00:00Z */
	{ "Australia/Sydney", 1791043200LL, 36000, 39600, 1 }, /* Oct 3 2026 16:00:00Z */
	{ "Australia/Sydney", 2374675200LL, 39600, 36000, 0 }, /* Apr 1 2045 16:00:00Z */
	{ "Australia/Sydney", 2390400000LL, 36000, 39600, 1 }, /* Sep 30 2045 16:00:00Z */
	{ "Australia/Lord_Howe", 1775314800LL, 39600, 37800, 0 }, /* Apr 4 2026 15:00:00Z */
	{ "Australia/Lord_Howe", 1791041400LL, 37800, 39600, 1 }, /* Oct 3 2026 15:30:00Z */
	{ "Australia/Lord_Howe", 2532524400LL, 39600, 37800, 0 }, /* Apr 2 2050 15:00:00Z */
	{ "Australia/Lord_Howe", 2548251000LL, 37800, 39600, 1 }, /* Oct 1 2050 15:30:00Z */
	{ "Pacific/Chatham", 1775311200LL, 49500, 45900, 0 }, /* Apr 4 2026 14:00:00Z */
	{ "Pacific/Chatham", 1790431200LL, 45900, 49500, 1 }, /* Sep 26 2026 14:00:00Z */
	{ "Pacific/Chatham", 2848226400LL, 49500, 45900, 0 }, /* Apr 3 2060 14:00:00Z */
	{ "Pacific/Chatham", 2863346400LL, 45900, 49500, 1 }, /* Sep 25 2060 14:00:00Z */
	{ "Asia/Kolkata", -872058600LL, 23400, 19800, 0 }, /* May 14 1942 17:30:00Z */
	{ "Asia/Kolkata", -862637400LL, 19800, 23400, 1 }, /* Aug 31 1942 18:30:00Z */
	{ "Asia/Kolkata", -764145000LL, 23400, 19800, 0 }, /* Oct 14 1945 17:30:00Z */
	{ "America/St_Johns", 1772947800LL, -12600, -9000, 1 }, /* Mar 8 2026 05:30:00Z */
	{ "America/St_Johns", 1793507400LL, -9000, -12600, 0 }, /* Nov 1 2026 04:30:00Z */
	{ "America/St_Johns", 2372909400LL, -12600, -9000, 1 }, /* Mar 12 2045 05:30:00Z */
	{ "America/St_Johns", 2393469000LL, -9000, -12600, 0 }, /* Nov 5 2045 04:30:00Z */
	{ "America/Sao_Paulo", 1518919200LL, -7200, -10800, 0 }, /* Feb 18 2018 02:00:00Z */
	{ "America/Sao_Paulo", 1541300400LL, -10800, -7200, 1 }, /* Nov 4 2018 03:00:00Z */
	{ "America/Sao_Paulo", 1550368800LL, -7200, -10800, 0 }, /* Feb 17 2019 02:00:00Z */
	{ "Africa/Casablanca", 1771120800LL, 3600, 0, 1 }, /* Feb 15 2026 02:00:00Z */
	{ "Africa/Casablanca", 1774144800LL, 0, 3600, 0 }, /* Mar 22 2026 02:00:00Z */
	{ "Pacific/Apia", 1301752800LL, -36000, -39600, 0 }, /* Apr 2 2011 14:00:00Z */
	{ "Pacific/Apia", 1316872800LL, -39600, -36000, 1 }, /* Sep 24 2011 14:00:00Z */
	{ "Pacific/Apia", 1325239200LL, -36000, 50400, 1 }, /* Dec 30 2011 10:00:00Z */
	{ "Pacific/Apia", 1617458400LL, 50400, 46800, 0 }, /* Apr 3 2021 14:00:00Z */
};

/* A wall time and the instant RFC 5545 gives it. */
static const struct wall_case {
	const char *zone, *wall;
	int64_t t;
	enum tz_kind kind;
} wall_cases[] = {
	{ "America/New_York", "2026-03-08 02:30", 1772955000LL, TZ_GAP }, /* 2026-03-08 07:30:00Z */
	{ "America/New_York", "2026-11-01 01:30", 1793511000LL, TZ_OVERLAP }, /* 2026-11-01 05:30:00Z */
	{ "America/New_York", "2026-03-08 01:59:59", 1772953199LL, TZ_NORMAL }, /* 2026-03-08 06:59:59Z */
	{ "America/New_York", "2026-03-08 03:00", 1772953200LL, TZ_NORMAL }, /* 2026-03-08 07:00:00Z */
	{ "America/New_York", "2026-11-01 00:59:59", 1793509199LL, TZ_NORMAL }, /* 2026-11-01 04:59:59Z */
	{ "America/New_York", "2026-11-01 02:00", 1793516400LL, TZ_NORMAL }, /* 2026-11-01 07:00:00Z */
	{ "America/New_York", "2040-03-11 02:30", 2215063800LL, TZ_GAP }, /* 2040-03-11 07:30:00Z */
	{ "America/New_York", "2040-11-04 01:30", 2235619800LL, TZ_OVERLAP }, /* 2040-11-04 05:30:00Z */
	{ "America/New_York", "2100-03-14 02:15", 4108691700LL, TZ_GAP }, /* 2100-03-14 07:15:00Z */
	{ "America/New_York", "2100-11-07 01:45", 4129249500LL, TZ_OVERLAP }, /* 2100-11-07 05:45:00Z */
	{ "America/New_York", "2100-07-04 12:00", 4118400000LL, TZ_NORMAL }, /* 2100-07-04 16:00:00Z */
	{ "America/New_York", "2100-12-25 12:00", 4133437200LL, TZ_NORMAL }, /* 2100-12-25 17:00:00Z */
	{ "America/New_York", "2026-12-31 23:59:59", 1798779599LL, TZ_NORMAL }, /* 2027-01-01 04:59:59Z */
	{ "America/New_York", "2027-01-01 00:00", 1798779600LL, TZ_NORMAL }, /* 2027-01-01 05:00:00Z */
	{ "America/New_York", "2099-12-31 23:59:59", 4102462799LL, TZ_NORMAL }, /* 2100-01-01 04:59:59Z */
	{ "America/New_York", "2100-01-01 00:00", 4102462800LL, TZ_NORMAL }, /* 2100-01-01 05:00:00Z */
	{ "Europe/London", "2026-03-29 01:30", 1774747800LL, TZ_GAP }, /* 2026-03-29 01:30:00Z */
	{ "Europe/London", "2026-10-25 01:30", 1792888200LL, TZ_OVERLAP }, /* 2026-10-25 00:30:00Z */
	{ "Europe/London", "2026-07-01 12:00", 1782903600LL, TZ_NORMAL }, /* 2026-07-01 11:00:00Z */
	{ "Europe/London", "2050-03-27 01:00", 2531955600LL, TZ_GAP }, /* 2050-03-27 01:00:00Z */
	{ "Europe/London", "2050-10-30 01:59:59", 2550704399LL, TZ_OVERLAP }, /* 2050-10-30 00:59:59Z */
	{ "Europe/London", "2026-12-31 23:59:59", 1798761599LL, TZ_NORMAL }, /* 2026-12-31 23:59:59Z */
	{ "Europe/London", "2027-01-01 00:00", 1798761600LL, TZ_NORMAL }, /* 2027-01-01 00:00:00Z */
	{ "Europe/London", "2099-12-31 23:59:59", 4102444799LL, TZ_NORMAL }, /* 2099-12-31 23:59:59Z */
	{ "Europe/London", "2100-01-01 00:00", 4102444800LL, TZ_NORMAL }, /* 2100-01-01 00:00:00Z */
	{ "Europe/Berlin", "2026-03-29 02:30", 1774747800LL, TZ_GAP }, /* 2026-03-29 01:30:00Z */
	{ "Europe/Berlin", "2026-10-25 02:30", 1792888200LL, TZ_OVERLAP }, /* 2026-10-25 00:30:00Z */
	{ "Europe/Berlin", "2099-03-29 02:00", 4078429200LL, TZ_GAP }, /* 2099-03-29 01:00:00Z */
	{ "Europe/Berlin", "2099-10-25 02:59:59", 4096573199LL, TZ_OVERLAP }, /* 2099-10-25 00:59:59Z */
	{ "Europe/Berlin", "2099-10-25 03:00", 4096576800LL, TZ_NORMAL }, /* 2099-10-25 02:00:00Z */
	{ "Europe/Berlin", "2026-12-31 23:59:59", 1798757999LL, TZ_NORMAL }, /* 2026-12-31 22:59:59Z */
	{ "Europe/Berlin", "2027-01-01 00:00", 1798758000LL, TZ_NORMAL }, /* 2026-12-31 23:00:00Z */
	{ "Europe/Berlin", "2099-12-31 23:59:59", 4102441199LL, TZ_NORMAL }, /* 2099-12-31 22:59:59Z */
	{ "Europe/Berlin", "2100-01-01 00:00", 4102441200LL, TZ_NORMAL }, /* 2099-12-31 23:00:00Z */
	{ "Australia/Sydney", "2026-10-04 02:30", 1791045000LL, TZ_GAP }, /* 2026-10-03 16:30:00Z */
	{ "Australia/Sydney", "2026-04-05 02:30", 1775316600LL, TZ_OVERLAP }, /* 2026-04-04 15:30:00Z */
	{ "Australia/Sydney", "2045-10-01 02:00", 2390400000LL, TZ_GAP }, /* 2045-09-30 16:00:00Z */
	{ "Australia/Sydney", "2045-04-02 02:59:59", 2374675199LL, TZ_OVERLAP }, /* 2045-04-01 15:59:59Z */
	{ "Australia/Sydney", "2045-04-02 03:00", 2374678800LL, TZ_NORMAL }, /* 2045-04-01 17:00:00Z */
	{ "Australia/Sydney", "2026-12-31 23:59:59", 1798721999LL, TZ_NORMAL }, /* 2026-12-31 12:59:59Z */
	{ "Australia/Sydney", "2027-01-01 00:00", 1798722000LL, TZ_NORMAL }, /* 2026-12-31 13:00:00Z */
	{ "Australia/Sydney", "2099-12-31 23:59:59", 4102405199LL, TZ_NORMAL }, /* 2099-12-31 12:59:59Z */
	{ "Australia/Sydney", "2100-01-01 00:00", 4102405200LL, TZ_NORMAL }, /* 2099-12-31 13:00:00Z */
	{ "Australia/Lord_Howe", "2026-10-04 02:15", 1791042300LL, TZ_GAP }, /* 2026-10-03 15:45:00Z */
	{ "Australia/Lord_Howe", "2026-04-05 01:45", 1775313900LL, TZ_OVERLAP }, /* 2026-04-04 14:45:00Z */
	{ "Australia/Lord_Howe", "2050-10-02 02:00", 2548251000LL, TZ_GAP }, /* 2050-10-01 15:30:00Z */
	{ "Australia/Lord_Howe", "2050-04-03 01:30", 2532522600LL, TZ_OVERLAP }, /* 2050-04-02 14:30:00Z */
	{ "Australia/Lord_Howe", "2050-04-03 02:00", 2532526200LL, TZ_NORMAL }, /* 2050-04-02 15:30:00Z */
	{ "Australia/Lord_Howe", "2026-12-31 23:59:59", 1798721999LL, TZ_NORMAL }, /* 2026-12-31 12:59:59Z */
	{ "Australia/Lord_Howe", "2027-01-01 00:00", 1798722000LL, TZ_NORMAL }, /* 2026-12-31 13:00:00Z */
	{ "Australia/Lord_Howe", "2099-12-31 23:59:59", 4102405199LL, TZ_NORMAL }, /* 2099-12-31 12:59:59Z */
	{ "Australia/Lord_Howe", "2100-01-01 00:00", 4102405200LL, TZ_NORMAL }, /* 2099-12-31 13:00:00Z */
	{ "Pacific/Chatham", "2026-09-27 03:00", 1790432100LL, TZ_GAP }, /* 2026-09-26 14:15:00Z */
	{ "Pacific/Chatham", "2026-04-05 03:00", 1775308500LL, TZ_OVERLAP }, /* 2026-04-04 13:15:00Z */
	{ "Pacific/Chatham", "2060-09-26 02:45", 2863346400LL, TZ_GAP }, /* 2060-09-25 14:00:00Z */
	{ "Pacific/Chatham", "2060-04-04 02:45", 2848222800LL, TZ_OVERLAP }, /* 2060-04-03 13:00:00Z */
	{ "Pacific/Chatham", "2060-04-04 03:45", 2848230000LL, TZ_NORMAL }, /* 2060-04-03 15:00:00Z */
	{ "Pacific/Chatham", "2026-12-31 23:59:59", 1798712099LL, TZ_NORMAL }, /* 2026-12-31 10:14:59Z */
	{ "Pacific/Chatham", "2027-01-01 00:00", 1798712100LL, TZ_NORMAL }, /* 2026-12-31 10:15:00Z */
	{ "Pacific/Chatham", "2099-12-31 23:59:59", 4102395299LL, TZ_NORMAL }, /* 2099-12-31 10:14:59Z */
	{ "Pacific/Chatham", "2100-01-01 00:00", 4102395300LL, TZ_NORMAL }, /* 2099-12-31 10:15:00Z */
	{ "Asia/Kolkata", "1942-09-01 00:30", -862635600LL, TZ_GAP }, /* 1942-08-31 19:00:00Z */
	{ "Asia/Kolkata", "1942-05-14 23:30", -872060400LL, TZ_OVERLAP }, /* 1942-05-14 17:00:00Z */
	{ "Asia/Kolkata", "1945-10-14 23:15", -764147700LL, TZ_OVERLAP }, /* 1945-10-14 16:45:00Z */
	{ "Asia/Kolkata", "2026-03-08 02:30", 1772917200LL, TZ_NORMAL }, /* 2026-03-07 21:00:00Z */
	{ "Asia/Kolkata", "2080-06-01 09:00", 3484438200LL, TZ_NORMAL }, /* 2080-06-01 03:30:00Z */
	{ "Asia/Kolkata", "2026-12-31 23:59:59", 1798741799LL, TZ_NORMAL }, /* 2026-12-31 18:29:59Z */
	{ "Asia/Kolkata", "2027-01-01 00:00", 1798741800LL, TZ_NORMAL }, /* 2026-12-31 18:30:00Z */
	{ "Asia/Kolkata", "2099-12-31 23:59:59", 4102424999LL, TZ_NORMAL }, /* 2099-12-31 18:29:59Z */
	{ "Asia/Kolkata", "2100-01-01 00:00", 4102425000LL, TZ_NORMAL }, /* 2099-12-31 18:30:00Z */
	{ "America/St_Johns", "2026-03-08 02:30", 1772949600LL, TZ_GAP }, /* 2026-03-08 06:00:00Z */
	{ "America/St_Johns", "2026-11-01 01:30", 1793505600LL, TZ_OVERLAP }, /* 2026-11-01 04:00:00Z */
	{ "America/St_Johns", "2045-03-12 02:00", 2372909400LL, TZ_GAP }, /* 2045-03-12 05:30:00Z */
	{ "America/St_Johns", "2045-11-05 01:00", 2393465400LL, TZ_OVERLAP }, /* 2045-11-05 03:30:00Z */
	{ "America/St_Johns", "2045-11-05 02:00", 2393472600LL, TZ_NORMAL }, /* 2045-11-05 05:30:00Z */
	{ "America/St_Johns", "2026-12-31 23:59:59", 1798774199LL, TZ_NORMAL }, /* 2027-01-01 03:29:59Z */
	{ "America/St_Johns", "2027-01-01 00:00", 1798774200LL, TZ_NORMAL }, /* 2027-01-01 03:30:00Z */
	{ "America/St_Johns", "2099-12-31 23:59:59", 4102457399LL, TZ_NORMAL }, /* 2100-01-01 03:29:59Z */
	{ "America/St_Johns", "2100-01-01 00:00", 4102457400LL, TZ_NORMAL }, /* 2100-01-01 03:30:00Z */
	{ "America/Sao_Paulo", "2018-11-04 00:30", 1541302200LL, TZ_GAP }, /* 2018-11-04 03:30:00Z */
	{ "America/Sao_Paulo", "2019-02-16 23:30", 1550367000LL, TZ_OVERLAP }, /* 2019-02-17 01:30:00Z */
	{ "America/Sao_Paulo", "2018-02-17 23:00", 1518915600LL, TZ_OVERLAP }, /* 2018-02-18 01:00:00Z */
	{ "America/Sao_Paulo", "2026-11-01 00:30", 1793503800LL, TZ_NORMAL }, /* 2026-11-01 03:30:00Z */
	{ "America/Sao_Paulo", "2040-02-18 23:30", 2213231400LL, TZ_NORMAL }, /* 2040-02-19 02:30:00Z */
	{ "America/Sao_Paulo", "2026-12-31 23:59:59", 1798772399LL, TZ_NORMAL }, /* 2027-01-01 02:59:59Z */
	{ "America/Sao_Paulo", "2027-01-01 00:00", 1798772400LL, TZ_NORMAL }, /* 2027-01-01 03:00:00Z */
	{ "America/Sao_Paulo", "2099-12-31 23:59:59", 4102455599LL, TZ_NORMAL }, /* 2100-01-01 02:59:59Z */
	{ "America/Sao_Paulo", "2100-01-01 00:00", 4102455600LL, TZ_NORMAL }, /* 2100-01-01 03:00:00Z */
	{ "Africa/Casablanca", "2026-03-22 02:30", 1774146600LL, TZ_GAP }, /* 2026-03-22 02:30:00Z */
	{ "Africa/Casablanca", "2026-02-15 02:30", 1771119000LL, TZ_OVERLAP }, /* 2026-02-15 01:30:00Z */
	{ "Pacific/Apia", "2011-12-30 12:00", 1325282400LL, TZ_GAP }, /* 2011-12-30 22:00:00Z */
	{ "Pacific/Apia", "2011-12-29 23:59:59", 1325239199LL, TZ_NORMAL }, /* 2011-12-30 09:59:59Z */
	{ "Pacific/Apia", "2011-12-31 00:00", 1325239200LL, TZ_NORMAL }, /* 2011-12-30 10:00:00Z */
	{ "Pacific/Apia", "2021-04-04 03:30", 1617456600LL, TZ_OVERLAP }, /* 2021-04-03 13:30:00Z */
	{ "Pacific/Apia", "2011-04-02 03:30", 1301751000LL, TZ_OVERLAP }, /* 2011-04-02 13:30:00Z */
	{ "Pacific/Apia", "2011-09-24 03:30", 1316874600LL, TZ_GAP }, /* 2011-09-24 14:30:00Z */
	{ "Pacific/Apia", "2050-01-01 00:00", 2524561200LL, TZ_NORMAL }, /* 2049-12-31 11:00:00Z */
	{ "Pacific/Apia", "2026-12-31 23:59:59", 1798714799LL, TZ_NORMAL }, /* 2026-12-31 10:59:59Z */
	{ "Pacific/Apia", "2027-01-01 00:00", 1798714800LL, TZ_NORMAL }, /* 2026-12-31 11:00:00Z */
	{ "Pacific/Apia", "2099-12-31 23:59:59", 4102397999LL, TZ_NORMAL }, /* 2099-12-31 10:59:59Z */
	{ "Pacific/Apia", "2100-01-01 00:00", 4102398000LL, TZ_NORMAL }, /* 2099-12-31 11:00:00Z */
	{ "UTC", "2026-03-08 02:30", 1772937000LL, TZ_NORMAL }, /* 2026-03-08 02:30:00Z */
	{ "UTC", "2100-02-28 23:59:59", 4107542399LL, TZ_NORMAL }, /* 2100-02-28 23:59:59Z */
	{ "UTC", "1970-01-01 00:00", 0LL, TZ_NORMAL }, /* 1970-01-01 00:00:00Z */
	{ "UTC", "2026-12-31 23:59:59", 1798761599LL, TZ_NORMAL }, /* 2026-12-31 23:59:59Z */
	{ "UTC", "2027-01-01 00:00", 1798761600LL, TZ_NORMAL }, /* 2027-01-01 00:00:00Z */
	{ "UTC", "2099-12-31 23:59:59", 4102444799LL, TZ_NORMAL }, /* 2099-12-31 23:59:59Z */
	{ "UTC", "2100-01-01 00:00", 4102444800LL, TZ_NORMAL }, /* 2100-01-01 00:00:00Z */
};

static const char *kind_name(enum tz_kind k)
{
	return k == TZ_GAP ? "gap" : k == TZ_OVERLAP ? "overlap" : "normal";
}

START_TEST(test_transitions)
{
	for (size_t i = 0; i < ARRAY_SIZE(trans_cases); i++) {
		const struct trans_case *c = &trans_cases[i];
		struct tz *z = load(c->zone);
		struct civil l0, l1, w;
		int off;
		bool dst;
		enum tz_kind k;
		int diff = c->after - c->before;

		tz_lookup(z, c->t - 1, &off, NULL, NULL);
		ck_assert_msg(off == c->before, "%s at %" PRId64 "-1: offset %d, want %d", c->zone,
			      c->t, off, c->before);
		tz_lookup(z, c->t, &off, NULL, &dst);
		ck_assert_msg(off == c->after && dst == c->isdst_after,
			      "%s at %" PRId64 ": offset %d dst %d, want %d %d", c->zone, c->t, off,
			      dst, c->after, c->isdst_after);
		/* Wall clock on both sides of the transition. */
		tz_to_local(z, c->t - 1, &l0, &off);
		ck_assert_int_eq(off, c->before);
		ck_assert_int_eq(civil_to_unix_utc(&l0), c->t - 1 + c->before);
		tz_to_local(z, c->t, &l1, &off);
		ck_assert_int_eq(off, c->after);
		ck_assert_int_eq(civil_to_unix_utc(&l1), c->t + c->after);
		/* And back: the last second before is T-1 (first occurrence when
		 * the clock goes back), the first wall second after is T. */
		ck_assert_int_eq(tz_to_instant(z, &l0, &k), c->t - 1);
		ck_assert_int_eq(k, diff < 0 ? TZ_OVERLAP : TZ_NORMAL);
		ck_assert_int_eq(tz_to_instant(z, &l1, &k), diff < 0 ? c->t + diff : c->t);
		ck_assert_int_eq(k, diff < 0 ? TZ_OVERLAP : TZ_NORMAL);
		/* Middle of the gap or the overlap. */
		unix_to_civil_utc(c->t + c->before + diff / 2, &w);
		ck_assert_int_eq(tz_to_instant(z, &w, &k), c->t + diff / 2);
		ck_assert_int_eq(k, diff > 0 ? TZ_GAP : TZ_OVERLAP);
		tz_free(z);
	}
}
END_TEST

START_TEST(test_walls)
{
	for (size_t i = 0; i < ARRAY_SIZE(wall_cases); i++) {
		const struct wall_case *c = &wall_cases[i];
		struct tz *z = load(c->zone);
		struct civil w = civ(c->wall), back;
		enum tz_kind k;
		int64_t t = tz_to_instant(z, &w, &k);

		ck_assert_msg(t == c->t && k == c->kind, "%s %s: %" PRId64 " (%s), want %" PRId64 " (%s)",
			      c->zone, c->wall, t, kind_name(k), c->t, kind_name(c->kind));
		/* Outside a gap the instant reads back as the same wall time. */
		tz_to_local(z, t, &back, NULL);
		if (c->kind != TZ_GAP)
			ck_assert_int_eq(civil_to_unix_utc(&back), civil_to_unix_utc(&w));
		tz_free(z);
	}
}
END_TEST

START_TEST(test_spec_examples)
{
	struct tz *ny = load("America/New_York");
	struct civil a = civ("2026-03-08 02:30"), b = civ("2026-03-08 03:30"), c = civ("2026-11-01 01:30");
	enum tz_kind k;

	ck_assert_int_eq(tz_to_instant(ny, &a, &k), 1772955000); /* 07:30Z */
	ck_assert_int_eq(k, TZ_GAP);
	ck_assert_int_eq(tz_to_instant(ny, &b, &k), 1772955000); /* = 03:30 EDT */
	ck_assert_int_eq(k, TZ_NORMAL);
	ck_assert_int_eq(tz_to_instant(ny, &c, NULL), 1793511000); /* 05:30Z */
	tz_free(ny);
}
END_TEST

/* The same wall time gives the same instant whatever was converted before. */
START_TEST(test_pure)
{
	struct tz *ny = load("America/New_York"), *syd = load("Australia/Sydney"),
		  *lon = load("Europe/London"), *ny2;
	struct civil ov = civ("2026-11-01 01:30"), gap = civ("2026-03-08 02:30"), l;
	int64_t first = tz_to_instant(ny, &ov, NULL), g = tz_to_instant(ny, &gap, NULL);
	int64_t forward[ARRAY_SIZE(wall_cases)];

	ck_assert_int_eq(first, 1793511000);
	/* Visit the second occurrence, other zones, other sides. */
	tz_to_local(ny, 1793514600, &l, NULL); /* 01:30 EST */
	ck_assert_int_eq(l.hour, 1);
	ck_assert_int_eq(l.min, 30);
	tz_to_instant(syd, &(struct civil){ 2026, 4, 5, 2, 30, 0 }, NULL);
	tz_to_instant(lon, &(struct civil){ 2026, 10, 25, 1, 30, 0 }, NULL);
	tz_to_instant(ny, &(struct civil){ 2026, 11, 1, 2, 30, 0 }, NULL);
	tz_lookup(ny, 1793514600, NULL, NULL, NULL);
	ck_assert_int_eq(tz_to_instant(ny, &l, NULL), first);
	ck_assert_int_eq(tz_to_instant(ny, &ov, NULL), first);
	ck_assert_int_eq(tz_to_instant(ny, &gap, NULL), g);
	/* A second copy of the zone agrees. */
	ny2 = load("America/New_York");
	ck_assert_int_eq(tz_to_instant(ny2, &ov, NULL), first);
	/* Every case forward, then backward: identical answers. */
	for (size_t i = 0; i < ARRAY_SIZE(wall_cases); i++) {
		struct tz *z = load(wall_cases[i].zone);
		struct civil w = civ(wall_cases[i].wall);
		forward[i] = tz_to_instant(z, &w, NULL);
		tz_free(z);
	}
	for (size_t i = ARRAY_SIZE(wall_cases); i-- > 0;) {
		struct tz *z = load(wall_cases[i].zone);
		struct civil w = civ(wall_cases[i].wall);
		ck_assert_int_eq(tz_to_instant(z, &w, NULL), forward[i]);
		tz_free(z);
	}
	tz_free(ny);
	tz_free(ny2);
	tz_free(syd);
	tz_free(lon);
}
END_TEST

START_TEST(test_abbr)
{
	static const struct {
		const char *zone;
		int64_t t;
		const char *abbr;
		int off;
		bool dst;
	} cases[] = {
		{ "America/New_York", 1772953200, "EDT", -14400, true },
		{ "America/New_York", 4133437200LL, "EST", -18000, false },
		{ "America/New_York", 4118400000LL, "EDT", -14400, true },
		{ "America/Sao_Paulo", 1798772400, "-03", -10800, false },
		{ "Africa/Casablanca", 1771200000, "+00", 0, true }, /* Ramadan: "negative DST" */
		{ "Australia/Lord_Howe", 1798722000, "+11", 39600, true },
		{ "Pacific/Chatham", 1798712100, "+1345", 49500, true },
		{ "Pacific/Apia", 1325239199, "-10", -36000, true },
		{ "Pacific/Apia", 2524561200LL, "+13", 46800, false },
		{ "Europe/London", 1782903600, "BST", 3600, true },
		{ "Asia/Kolkata", 1772917200, "IST", 19800, false },
		{ "UTC", 1772917200, "UTC", 0, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tz *z = load(cases[i].zone);
		const char *abbr;
		int off;
		bool dst;

		tz_lookup(z, cases[i].t, &off, &abbr, &dst);
		ck_assert_msg(strcmp(abbr, cases[i].abbr) == 0 && off == cases[i].off &&
				      dst == cases[i].dst,
			      "%s at %" PRId64 ": %s %d %d", cases[i].zone, cases[i].t, abbr, off, dst);
		tz_lookup(z, cases[i].t, NULL, NULL, NULL); /* all outputs optional */
		tz_free(z);
	}
}
END_TEST

/* ---- randomised cross-check against glibc (test-only oracle) ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static const char *const oracle_zones[] = {
	"America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
	"Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "America/St_Johns",
	"America/Sao_Paulo", "Africa/Casablanca", "Pacific/Apia", "UTC",
	"America/Santiago", "Asia/Tehran", "Europe/Dublin", "America/Nuuk",
};

START_TEST(test_oracle)
{
	const char *env = getenv("TZ_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 20261128, s = seed;
	const int64_t lo = 0, hi = 4133980800LL; /* 1970 .. 2101 */
	size_t checked = 0;

	for (size_t zi = 0; zi < ARRAY_SIZE(oracle_zones); zi++) {
		const char *zone = oracle_zones[zi];
		char tzenv[128];
		struct tz *z = load(zone);

		snprintf(tzenv, sizeof(tzenv), ":%s", zone);
		setenv("TZ", tzenv, 1);
		tzset();
		for (int i = 0; i < 600; i++) {
			int64_t t = lo + (int64_t)(rng_next(&s) % (uint64_t)(hi - lo)), back;
			time_t tt = (time_t)t;
			struct tm tm;
			struct civil l, l2;
			const char *abbr;
			int off;
			bool dst;
			enum tz_kind k;

			ck_assert(localtime_r(&tt, &tm) != NULL);
			tz_lookup(z, t, &off, &abbr, &dst);
			tz_to_local(z, t, &l, NULL);
			if (off != tm.tm_gmtoff || dst != (tm.tm_isdst > 0) || strcmp(abbr, tm.tm_zone) != 0 ||
			    l.year != tm.tm_year + 1900 || l.month != tm.tm_mon + 1 || l.day != tm.tm_mday ||
			    l.hour != tm.tm_hour || l.min != tm.tm_min || l.sec != tm.tm_sec)
				ck_abort_msg("seed %" PRIu64 ": %s at %" PRId64 ": got %d %s dst=%d, glibc %ld %s dst=%d",
					     seed, zone, t, off, abbr, dst, tm.tm_gmtoff, tm.tm_zone, tm.tm_isdst);
			/* Wall time back to an instant: the same one, or the first
			 * occurrence of that wall time when it is repeated. */
			back = tz_to_instant(z, &l, &k);
			tz_to_local(z, back, &l2, NULL);
			if (civil_to_unix_utc(&l2) != civil_to_unix_utc(&l) || back > t ||
			    (back != t && k != TZ_OVERLAP) || k == TZ_GAP)
				ck_abort_msg("seed %" PRIu64 ": %s at %" PRId64 ": round trip gave %" PRId64 " (%s)",
					     seed, zone, t, back, kind_name(k));
			checked++;
		}
		tz_free(z);
	}
	ck_assert_int_eq(checked, 600 * ARRAY_SIZE(oracle_zones));
}
END_TEST

/* ---- synthetic TZif images ---- */

struct img {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct img *m, const void *d, size_t n)
{
	if (n == 0)
		return;
	xgrow((void **)&m->p, &m->cap, m->n + n, 1);
	memcpy(m->p + m->n, d, n);
	m->n += n;
}

static void put32(struct img *m, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };
	put(m, b, 4);
}

static void put64(struct img *m, uint64_t v)
{
	put32(m, v >> 32);
	put32(m, (uint32_t)v);
}

struct ttype {
	int32_t off;
	uint8_t dst, abbr;
};

/* Build a TZif image: version 0 has one 32-bit block; version '2'/'3' gets a
 * minimal 32-bit block, the 64-bit block and the footer (NULL: none at all,
 * for corruption tests). */
static struct img make_tzif(char version, const int64_t *trans, const uint8_t *idx, size_t ntrans,
			    const struct ttype *types, size_t ntypes, const char *chars, size_t nchars,
			    const char *footer)
{
	struct img m = { 0 };
	uint8_t pad[15] = { 0 };
	unsigned ts = version ? 8 : 4;

	put(&m, "TZif", 4);
	put(&m, &version, 1);
	put(&m, pad, 15);
	if (version) {
		/* isut, isstd, leap, time, type, char */
		put32(&m, 0); put32(&m, 0); put32(&m, 0); put32(&m, 0); put32(&m, 1); put32(&m, 4);
		put32(&m, 0); put(&m, "\0\0", 2);
		put(&m, "UTC", 4);
		put(&m, "TZif", 4);
		put(&m, &version, 1);
		put(&m, pad, 15);
	}
	put32(&m, 0);
	put32(&m, 0);
	put32(&m, 0);
	put32(&m, (uint32_t)ntrans);
	put32(&m, (uint32_t)ntypes);
	put32(&m, (uint32_t)nchars);
	for (size_t i = 0; i < ntrans; i++) {
		if (ts == 8)
			put64(&m, (uint64_t)trans[i]);
		else
			put32(&m, (uint32_t)trans[i]);
	}
	put(&m, idx, ntrans);
	for (size_t i = 0; i < ntypes; i++) {
		put32(&m, (uint32_t)types[i].off);
		put(&m, &types[i].dst, 1);
		put(&m, &types[i].abbr, 1);
	}
	put(&m, chars, nchars);
	if (version && footer) {
		put(&m, "\n", 1);
		put(&m, footer, strlen(footer));
		put(&m, "\n", 1);
	}
	return m;
}

/* A zone with no transitions: the footer rules everything. */
static struct tz *footer_zone(const char *footer)
{
	static const struct ttype t0 = { 0, 0, 0 };
	struct img m = make_tzif('3', NULL, NULL, 0, &t0, 1, "XXX", 4, footer);
	struct tz *z = NULL;
	char *cause = NULL;
	int r = tz_parse("Test/Footer", m.p, m.n, &z, &cause);

	ck_assert_msg(r == 0, "footer '%s': %d %s", footer, r, cause ? cause : "");
	free(m.p);
	return z;
}

static int footer_error(const char *footer)
{
	static const struct ttype t0 = { 0, 0, 0 };
	struct img m = make_tzif('2', NULL, NULL, 0, &t0, 1, "XXX", 4, footer);
	struct tz *z = NULL;
	char *cause = NULL;
	int r = tz_parse("Test/Bad", m.p, m.n, &z, &cause);

	if (r == 0)
		tz_free(z);
	else
		ck_assert(cause && strstr(cause, "Test/Bad"));
	free(cause);
	free(m.p);
	return r;
}

static void assert_change(const struct tz *z, int64_t t, int before, int after)
{
	int o0, o1;

	tz_lookup(z, t - 1, &o0, NULL, NULL);
	tz_lookup(z, t, &o1, NULL, NULL);
	ck_assert_msg(o0 == before && o1 == after, "at %" PRId64 ": %d -> %d, want %d -> %d", t, o0, o1, before,
		      after);
}

/* Offset changes that footer rules alone produce (zones without transitions). */
static const struct footer_case {
	const char *footer;
	int64_t t;
	int before, after;
} footer_cases[] = {
	/* Mm.w.d, default times: New York's rules, 2026, 2040 and 2100. */
	{ "EST5EDT,M3.2.0,M11.1.0", 1772953200, -18000, -14400 },
	{ "EST5EDT,M3.2.0,M11.1.0", 1793512800, -14400, -18000 },
	{ "EST5EDT,M3.2.0,M11.1.0", 2215062000LL, -18000, -14400 },
	{ "EST5EDT,M3.2.0,M11.1.0", 4108690800LL, -18000, -14400 },
	{ "EST5EDT,M3.2.0,M11.1.0", 4129250400LL, -14400, -18000 },
	/* DST named without rules takes the US default. */
	{ "EST5EDT", 1772953200, -18000, -14400 },
	{ "EST5EDT", 1793512800, -14400, -18000 },
	/* Negative rule time (Nuuk): the clock changes at 23:00 the day before. */
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1901149200, -7200, -3600 },
	{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 1919293200, -3600, -7200 },
	/* 24:00 (Santiago), southern hemisphere. */
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 1788667200, -14400, -10800 },
	{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 1775358000, -10800, -14400 },
	/* TZif v3: hours beyond 24 and negative ones. */
	{ "EST5EDT,M3.2.0/50,M11.1.0/-25", 1773126000, -18000, -14400 },
	{ "EST5EDT,M3.2.0/50,M11.1.0/-25", 1793415600, -14400, -18000 },
	/* Jn never counts Feb 29: J60 is March 1 in leap and common years. */
	{ "AAA3BBB,J60/0,J300/0", 1709262000, -10800, -7200 }, /* 2024-03-01 03:00Z */
	{ "AAA3BBB,J60/0,J300/0", 1729994400, -7200, -10800 }, /* 2024-10-27 02:00Z */
	{ "AAA3BBB,J60/0,J300/0", 1677639600, -10800, -7200 }, /* 2023-03-01 03:00Z */
	{ "AAA3BBB,J60/0,J300/0", 1698372000, -7200, -10800 }, /* 2023-10-27 02:00Z */
	/* Zero-based n counts Feb 29: day 59 is Feb 29 in 2024, Mar 1 in 2023. */
	{ "AAA3BBB,59/0,299/0", 1709175600, -10800, -7200 }, /* 2024-02-29 03:00Z */
	{ "AAA3BBB,59/0,299/0", 1729908000, -7200, -10800 }, /* 2024-10-26 02:00Z */
	{ "AAA3BBB,59/0,299/0", 1677639600, -10800, -7200 }, /* 2023-03-01 03:00Z */
	{ "AAA3BBB,59/0,299/0", 1698372000, -7200, -10800 }, /* 2023-10-27 02:00Z */
	/* Southern rules written out equal Sydney's file. */
	{ "AEST-10AEDT,M10.1.0,M4.1.0/3", 1775318400, 39600, 36000 },
	{ "AEST-10AEDT,M10.1.0,M4.1.0/3", 1791043200, 36000, 39600 },
	{ "AEST-10AEDT,M10.1.0,M4.1.0/3", 2374675200LL, 39600, 36000 },
};

START_TEST(test_footer_rules)
{
	struct tz *z;
	const char *abbr;
	bool dst;
	int off;
	enum tz_kind k;

	for (size_t i = 0; i < ARRAY_SIZE(footer_cases); i++) {
		z = footer_zone(footer_cases[i].footer);
		assert_change(z, footer_cases[i].t, footer_cases[i].before, footer_cases[i].after);
		tz_free(z);
	}

	/* The RFC 5545 rule holds on footer-only zones too. */
	z = footer_zone("EST5EDT,M3.2.0,M11.1.0");
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 2026, 3, 8, 2, 30, 0 }, &k), 1772955000);
	ck_assert_int_eq(k, TZ_GAP);
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 2026, 11, 1, 1, 30, 0 }, &k), 1793511000);
	ck_assert_int_eq(k, TZ_OVERLAP);
	/* Far instants fold into the 400-year cycle without overflow. */
	tz_lookup(z, INT64_MAX, &off, NULL, NULL);
	tz_lookup(z, INT64_MIN, &off, NULL, NULL);
	tz_free(z);

	/* Quoted names, offsets with minutes and seconds, no DST. */
	z = footer_zone("<+0545>-5:45");
	tz_lookup(z, 1780315200, &off, &abbr, &dst);
	ck_assert_int_eq(off, 20700);
	ck_assert_str_eq(abbr, "+0545");
	ck_assert(!dst);
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 2026, 6, 1, 12, 0, 0 }, &k), 1780294500);
	ck_assert_int_eq(k, TZ_NORMAL);
	tz_free(z);
	z = footer_zone("<+053015>-5:30:15");
	tz_lookup(z, 0, &off, NULL, NULL);
	ck_assert_int_eq(off, 19815);
	tz_free(z);
	z = footer_zone("<-0330>+3:30");
	tz_lookup(z, 0, &off, NULL, NULL);
	ck_assert_int_eq(off, -12600);
	tz_free(z);

	/* Santiago's new year is in summer time. */
	z = footer_zone("<-04>4<-03>,M9.1.6/24,M4.1.6/24");
	tz_lookup(z, 1798761600, &off, &abbr, &dst);
	ck_assert_int_eq(off, -10800);
	ck_assert_str_eq(abbr, "-03");
	ck_assert(dst);
	tz_free(z);

	/* DST all year (RFC 8536 3.3.1): no change at the new year. */
	z = footer_zone("EST5EDT,0/0,J365/25");
	{
		static const int64_t ts[] = { 1767243599, 1767243600, 1767243601, 1782907200,
					      1798761599, 1798761600, 1798779600, 4102462800LL };
		for (size_t i = 0; i < ARRAY_SIZE(ts); i++) {
			tz_lookup(z, ts[i], &off, NULL, &dst);
			ck_assert_msg(off == -14400 && dst, "all-year DST at %" PRId64 ": %d", ts[i], off);
		}
	}
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 2027, 1, 1, 0, 0, 0 }, &k), 1798776000);
	ck_assert_int_eq(k, TZ_NORMAL);
	tz_free(z);
}
END_TEST

START_TEST(test_footer_bad)
{
	static const char *const bad[] = {
		"EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0", "<+05", "<+05>", "ES5",
		"EST5EDT,J0,J365", "EST5EDT,J366,J1", "EST5EDT,366,1", "EST25", "EST5 ", "EST5EDT,",
		"EST5EDT,M3.2.0/168,M11.1.0", "EST5EDT,M3.0.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,M3.2.0,M11.1.0,", "EST5:60", "EST5:00:60",
		"5EST", "EST5EDT25,M3.2.0,M11.1.0", "EST+", "<+05!>-5", "EST5EDT,M3.2.0/2:,M11.1.0",
		"EST5EDTxyz,M3.2.0,M11.1.0junk", "EST5EDT;M3.2.0,M11.1.0",
		"<ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH>5",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(footer_error(bad[i]) == -EBADMSG, "accepted footer '%s'", bad[i]);
	ck_assert_int_eq(footer_error(""), 0); /* v2+ may say "no rule" */
	ck_assert_int_eq(footer_error("EST5EDT,M3.2.0/-167,M11.1.0/167"), 0);
}
END_TEST

START_TEST(test_synthetic_tables)
{
	static const int64_t tr[] = { -100, 0, 1000 };
	static const uint8_t ix[] = { 1, 2, 1 };
	static const struct ttype ty[] = { { -17762, 0, 0 }, { -18000, 0, 4 }, { -14400, 1, 8 } };
	static const char chars[] = "LMT\0EST\0EDT";
	struct img m;
	struct tz *z = NULL;
	const char *abbr;
	int off;
	enum tz_kind k;

	/* Version 1 (32-bit times, no footer): the last type holds forever. */
	m = make_tzif(0, tr, ix, 3, ty, 3, chars, sizeof(chars), NULL);
	ck_assert_int_eq(tz_parse("Test/V1", m.p, m.n, &z, NULL), 0);
	tz_lookup(z, -101, &off, &abbr, NULL);
	ck_assert_int_eq(off, -17762);
	ck_assert_str_eq(abbr, "LMT");
	assert_change(z, -100, -17762, -18000);
	assert_change(z, 0, -18000, -14400);
	assert_change(z, 1000, -14400, -18000);
	tz_lookup(z, INT64_MAX, &off, &abbr, NULL);
	ck_assert_int_eq(off, -18000);
	ck_assert_str_eq(abbr, "EST");
	/* Going back to EST at 1000 repeats the wall times of the EDT stretch
	 * (0, 1000): 1969-12-31 20:00:30 is first 30, then 3630. */
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 1969, 12, 31, 20, 0, 30, }, &k), 30);
	ck_assert_int_eq(k, TZ_OVERLAP);
	tz_free(z);
	free(m.p);

	/* Version 2 with an empty footer: same answers from the 64-bit block. */
	m = make_tzif('2', tr, ix, 3, ty, 3, chars, sizeof(chars), "");
	ck_assert_int_eq(tz_parse("Test/V2", m.p, m.n, &z, NULL), 0);
	assert_change(z, 0, -18000, -14400);
	tz_lookup(z, 4102444800LL, &off, NULL, NULL);
	ck_assert_int_eq(off, -18000);
	tz_free(z);
	free(m.p);
}
END_TEST

/* ---- corrupt images ---- */

static void assert_bad(const void *p, size_t n, const char *what)
{
	struct tz *z = (struct tz *)0x1;
	char *cause = NULL;
	int r = tz_parse("Test/Corrupt", p, n, &z, &cause);

	ck_assert_msg(r == -EBADMSG, "%s: %d", what, r);
	ck_assert_msg(cause && strstr(cause, "Test/Corrupt") && strstr(cause, "TZif"), "%s: cause '%s'",
		      what, cause ? cause : "(null)");
	ck_assert_msg(z == (struct tz *)0x1, "%s: output written on failure", what);
	free(cause);
}

static void read_zone_file(const char *name, char **ret, size_t *ret_len)
{
	char *path = xasprintf("/usr/share/zoneinfo/%s", name);

	*ret = fixture_read(path, ret_len);
	free(path);
}

START_TEST(test_truncated)
{
	static const char *const zones[] = { "America/New_York", "Australia/Lord_Howe", "UTC",
					     "Africa/Casablanca" };

	for (size_t zi = 0; zi < ARRAY_SIZE(zones); zi++) {
		char *data, what[96];
		size_t len;
		struct tz *z;

		read_zone_file(zones[zi], &data, &len);
		for (size_t n = 0; n < len; n++) {
			/* A fresh heap copy of exactly n bytes so ASan sees over-reads. */
			char *p = xmalloc(n ? n : 1);

			memcpy(p, data, n);
			snprintf(what, sizeof(what), "%s truncated to %zu bytes", zones[zi], n);
			assert_bad(p, n, what);
			free(p);
		}
		ck_assert_int_eq(tz_parse(zones[zi], data, len, &z, NULL), 0);
		tz_free(z);
		free(data);
	}
	assert_bad(NULL, 0, "NULL");
}
END_TEST

START_TEST(test_corrupt)
{
	static const int64_t tr[] = { 0, 1000 };
	static const uint8_t ix[] = { 1, 0 };
	static const struct ttype ty[] = { { -18000, 0, 0 }, { -14400, 1, 4 } };
	static const char chars[] = "EST\0EDT";
	/* Offset of the 64-bit header: 44 + the minimal 32-bit block (6 + 4). */
	const size_t h2 = 54, d2 = h2 + 44;
	struct img good = make_tzif('2', tr, ix, 2, ty, 2, chars, sizeof(chars), "EST5EDT,M3.2.0,M11.1.0");
	struct img m;
	struct tz *z;

#define MUTATE(what, stmt)                                   \
	do {                                                  \
		m.n = good.n;                                 \
		m.p = xmalloc(m.n);                           \
		memcpy(m.p, good.p, m.n);                     \
		stmt;                                         \
		assert_bad(m.p, m.n, what);                   \
		free(m.p);                                    \
	} while (0)
#define BE32(off, v) (m.p[(off)] = (uint8_t)((uint32_t)(v) >> 24), m.p[(off) + 1] = (uint8_t)((uint32_t)(v) >> 16), \
		      m.p[(off) + 2] = (uint8_t)((uint32_t)(v) >> 8), m.p[(off) + 3] = (uint8_t)(v))

	ck_assert_int_eq(tz_parse("Test/Good", good.p, good.n, &z, NULL), 0);
	tz_free(z);
	MUTATE("bad magic", m.p[0] = 'X');
	MUTATE("bad second magic", m.p[h2 + 3] = 'g');
	MUTATE("unknown version", m.p[4] = '9');
	MUTATE("zero types", BE32(h2 + 36, 0));
	MUTATE("zero chars", BE32(h2 + 40, 0));
	MUTATE("huge transition count", BE32(h2 + 32, 0xffffffffu));
	MUTATE("huge type count", BE32(h2 + 36, 0xffffffffu));
	MUTATE("huge char count", BE32(h2 + 40, 0xffffffffu));
	MUTATE("huge leap count", BE32(h2 + 28, 0xffffffffu));
	MUTATE("huge v1 count", BE32(32, 0x7fffffffu));
	MUTATE("isstd count mismatch", BE32(h2 + 24, 1));
	MUTATE("isut count mismatch", BE32(h2 + 20, 3));
	MUTATE("descending times", (m.p[d2 + 7] = 0xff, m.p[d2 + 0] = 0x00, m.p[d2 + 8 + 7] = 0x00,
				    m.p[d2 + 8 + 6] = 0x00));
	MUTATE("equal times", memcpy(m.p + d2 + 8, m.p + d2, 8));
	MUTATE("time out of range", m.p[d2 + 8] = 0x7f);
	MUTATE("type index out of range", m.p[d2 + 16] = 2);
	MUTATE("utoff out of range", BE32(d2 + 18, 100000));
	MUTATE("utoff INT32_MIN", BE32(d2 + 18, 0x80000000u));
	MUTATE("isdst 2", m.p[d2 + 18 + 4] = 2);
	MUTATE("abbr index out of range", m.p[d2 + 18 + 5] = 8);
	MUTATE("no footer newline", m.p[good.n - 1] = 'x');
	MUTATE("footer does not start with newline", m.p[d2 + 18 + 12 + 8] = 'E');
	MUTATE("NUL in footer", m.p[good.n - 3] = '\0');
	MUTATE("bad footer", m.p[good.n - 2] = '!');
#undef MUTATE
#undef BE32
	free(good.p);

	/* Leap-second records ("right/" zones) are refused, not misapplied. */
	{
		struct img l = { 0 };
		uint8_t pad[15] = { 0 };
		char v = '2';

		put(&l, "TZif", 4); put(&l, &v, 1); put(&l, pad, 15);
		put32(&l, 0); put32(&l, 0); put32(&l, 0); put32(&l, 0); put32(&l, 1); put32(&l, 4);
		put32(&l, 0); put(&l, "\0\0", 2); put(&l, "UTC", 4);
		put(&l, "TZif", 4); put(&l, &v, 1); put(&l, pad, 15);
		put32(&l, 0); put32(&l, 0); put32(&l, 1); put32(&l, 0); put32(&l, 1); put32(&l, 4);
		put32(&l, 0); put(&l, "\0\0", 2); put(&l, "UTC", 4);
		put64(&l, 78796800); put32(&l, 1);
		put(&l, "\nUTC0\n", 6);
		assert_bad(l.p, l.n, "leap seconds");
		free(l.p);
	}
}
END_TEST

/* Every single-byte corruption of a real file parses or fails cleanly, and a
 * zone that parses can be queried (ASan/UBSan builds make this bite). */
START_TEST(test_mutations)
{
	char *data;
	size_t len;
	uint64_t s = 42;
	static const uint8_t vals[] = { 0x00, 0xff, 0x7f, 0x80, 0x01, '\n' };

	read_zone_file("America/New_York", &data, &len);
	for (size_t i = 0; i < len; i++) {
		for (size_t v = 0; v < ARRAY_SIZE(vals) + 1; v++) {
			char *p = xmalloc(len);
			struct tz *z = NULL;
			char *cause = NULL;
			int r;

			memcpy(p, data, len);
			p[i] = v < ARRAY_SIZE(vals) ? (char)vals[v] : (char)(rng_next(&s) & 0xff);
			r = tz_parse("Test/Mutant", p, len, &z, &cause);
			ck_assert(r == 0 || r == -EBADMSG);
			if (r == 0) {
				struct civil c = { 2040, 11, 4, 1, 30, 0 };

				tz_lookup(z, 4129250400LL, NULL, NULL, NULL);
				tz_lookup(z, INT64_MIN, NULL, NULL, NULL);
				tz_lookup(z, INT64_MAX, NULL, NULL, NULL);
				tz_to_instant(z, &c, NULL);
				tz_free(z);
			} else {
				ck_assert(cause != NULL);
			}
			free(cause);
			free(p);
		}
	}
	free(data);
}
END_TEST

/* ---- names, loading, cache ---- */

START_TEST(test_offsets)
{
	char b[16];
	tz_format_offset(-18000, b, sizeof(b));
	ck_assert_str_eq(b, "-05:00");
	tz_format_offset(19800, b, sizeof(b));
	ck_assert_str_eq(b, "+05:30");
	tz_format_offset(45900, b, sizeof(b));
	ck_assert_str_eq(b, "+12:45");
	tz_format_offset(0, b, sizeof(b));
	ck_assert_str_eq(b, "+00:00");
	tz_format_offset(-12600, b, sizeof(b));
	ck_assert_str_eq(b, "-03:30");
	/* LMT offsets have seconds: Amsterdam's +00:19:32, Monrovia's -00:44:30 */
	tz_format_offset(1172, b, sizeof(b));
	ck_assert_str_eq(b, "+00:19:32");
	tz_format_offset(-2670, b, sizeof(b));
	ck_assert_str_eq(b, "-00:44:30");
	tz_format_offset(-93599, b, sizeof(b));
	ck_assert_str_eq(b, "-25:59:59");
}
END_TEST

START_TEST(test_cache)
{
	struct tz_cache *c = fixture_zones();
	const struct tz *a, *b, *z = (const struct tz *)0x1, *first[ARRAY_SIZE(oracle_zones)];
	char *cause = NULL;

	/* Each name its own zone: no two names share one. */
	for (size_t i = 0; i < ARRAY_SIZE(oracle_zones); i++) {
		ck_assert_int_eq(tz_cache_get(c, oracle_zones[i], &a, &cause), 0);
		for (size_t k = 0; k < i; k++)
			ck_assert_ptr_ne(first[k], a);
		first[i] = a;
	}
	/* Reverse order: every name finds its own zone, the same object. */
	for (size_t i = ARRAY_SIZE(oracle_zones); i-- > 0;) {
		ck_assert_int_eq(tz_cache_get(c, oracle_zones[i], &a, NULL), 0);
		ck_assert_int_eq(tz_cache_get(c, oracle_zones[i], &b, NULL), 0);
		ck_assert_ptr_eq(a, b);
		ck_assert_ptr_eq(a, first[i]);
	}
	ck_assert_int_eq(tz_cache_get(c, "America/New_York", &a, NULL), 0);
	ck_assert_int_eq(tz_to_instant(a, &(struct civil){ 2026, 3, 8, 2, 30, 0 }, NULL), 1772955000);
	ck_assert_int_eq(tz_cache_get(c, "Amerca/New_York", &z, &cause), -ENOENT);
	freep(&cause);
	ck_assert_int_eq(tz_cache_get(c, "../etc/passwd", &z, &cause), -EINVAL);
	freep(&cause);
	ck_assert(z == (const struct tz *)0x1);
	tz_cache_free(c);
	tz_cache_free(NULL);
}
END_TEST

static Suite *tz_suite(void)
{
	Suite *s = suite_create("tz");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_transitions);
	tcase_add_test(tc, test_walls);
	tcase_add_test(tc, test_spec_examples);
	tcase_add_test(tc, test_pure);
	tcase_add_test(tc, test_abbr);
	tcase_add_test(tc, test_oracle);
	tcase_add_test(tc, test_footer_rules);
	tcase_add_test(tc, test_footer_bad);
	tcase_add_test(tc, test_synthetic_tables);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_offsets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tz_suite());
	int failed;

	/* The system tz database is the reference; a stray TZDIR would not be. */
	unsetenv("TZDIR");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
