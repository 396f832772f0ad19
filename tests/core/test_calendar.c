/*
 * test_calendar: the calendar-event grammar (every form, every error, the
 * normalised text) and the next-occurrence search across DST transitions in
 * several zones. The expected instants of the reference table were
 * computed with Python's zoneinfo (fold=0 is RFC 5545's
 * rule) by enumerating every wall minute of each range against explicit
 * field sets, sorting and removing duplicates -- never from this code.
 */
#include "fixture.h"
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "tz.h"
#include "util.h"

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

/* The date fields of *c from a day count. */
static void set_date(struct civil *c, int64_t days)
{
	int64_t y;

	civil_from_days(days, &y, &c->month, &c->day);
	c->year = (int)y;
}

static void assert_format(const char *in, const char *want)
{
	struct calendar *c = NULL;
	char *cause = NULL, *text, *again;
	struct calendar *c2 = NULL;

	ck_assert_msg(calendar_parse(in, &c, &cause) == 0, "\"%s\": %s", in, cause ? cause : "?");
	text = calendar_format(c);
	ck_assert_msg(strcmp(text, want) == 0, "\"%s\" formats as \"%s\", expected \"%s\"", in, text, want);
	/* the normalised text reads back as the same event */
	ck_assert_msg(calendar_parse(text, &c2, &cause) == 0, "\"%s\": %s", text, cause ? cause : "?");
	again = calendar_format(c2);
	ck_assert_str_eq(again, want);
	free(again);
	free(text);
	calendar_free(c2);
	calendar_free(c);
}

START_TEST(test_grammar)
{
	static const char *const ok[][2] = {
		{ "Mon..Fri 09:00", "Mon..Fri *-*-* 09:00:00" },
		{ "Mon..Fri *-*-* 09:00:00", "Mon..Fri *-*-* 09:00:00" },
		{ "hourly", "*-*-* *:00:00" },
		{ "daily", "*-*-* 00:00:00" },
		{ "DAILY", "*-*-* 00:00:00" },
		{ " weekly ", "Mon *-*-* 00:00:00" },
		{ "monthly", "*-*-01 00:00:00" },
		{ "yearly", "*-01-01 00:00:00" },
		{ "annually", "*-01-01 00:00:00" },
		{ "Sat,Sun", "Sat,Sun *-*-* 00:00:00" },
		{ "mon,wed,fri 08:30", "Mon,Wed,Fri *-*-* 08:30:00" },
		{ "Monday..Wednesday 10:00", "Mon..Wed *-*-* 10:00:00" },
		{ "Mon..Tue", "Mon,Tue *-*-* 00:00:00" },
		{ "Mon..Sun", "Mon..Sun *-*-* 00:00:00" },
		{ "Sun,Sat,Mon", "Mon,Sat,Sun *-*-* 00:00:00" },
		{ "Mon,Tue,Wed,Fri", "Mon..Wed,Fri *-*-* 00:00:00" },
		{ "Thursday", "Thu *-*-* 00:00:00" },
		{ "2026-12-01 09:00", "2026-12-01 09:00:00" },
		{ "12-25", "*-12-25 00:00:00" },
		{ "*-*-1,15 10:00", "*-*-01,15 10:00:00" },
		{ "*-*-1..5", "*-*-01..05 00:00:00" },
		{ "*:*/15", "*-*-* *:00/15:00" },
		{ "*:0/15", "*-*-* *:00/15:00" },
		{ "8/2:00", "*-*-* 08/2:00:00" },
		{ "*-*-1..10/3 12:00", "*-*-01..10/3 12:00:00" },
		{ "*:0/10:30", "*-*-* *:00/10:30" },
		{ "2026/2-01-01", "2026/2-01-01 00:00:00" },
		{ "  Mon   09:00  ", "Mon *-*-* 09:00:00" },
		{ "9:5", "*-*-* 09:05:00" },
		{ "*/2:00", "*-*-* 00/2:00:00" },
		{ "*:*:*", "*-*-* *:*:*" },
		{ "*:*:*/1", "*-*-* *:*:00/1" },
		{ "Fri *-*-13 13:13:13", "Fri *-*-13 13:13:13" },
		{ "*-02-29 12:00", "*-02-29 12:00:00" },
		{ "2026..2027-*-* 9,17:00", "2026..2027-*-* 09,17:00:00" },
		{ "Mon 2026-12-*", "Mon 2026-12-* 00:00:00" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		assert_format(ok[i][0], ok[i][1]);
}
END_TEST

START_TEST(test_grammar_errors)
{
	static const char *const bad[][2] = {
		{ "", "empty" },
		{ "   ", "empty" },
		{ "Fry 09:00", "unknown weekday 'Fry'" },
		{ "Fri..Mon", "weekday range 'Fri..Mon' runs backwards" },
		{ "Mon. 09:00", "is written 'Mon..Fri'" },
		{ "Mon..Fri..Sun", "is written 'Mon..Fri'" },
		{ "Mon..", "missing weekday in 'Mon..'" },
		{ "Mon,,Tue", "missing weekday in 'Mon,,Tue'" },
		{ "Mon-Fri", "unknown weekday 'Mon-Fri' (a range is written 'Mon..Fri')" },
		{ "Mon, 09:00", "missing weekday in 'Mon,'" },
		{ "25:00", "hour 25 is out of range 0..23" },
		{ "12:60", "minute 60 is out of range 0..59" },
		{ "12:00:61", "second 61 is out of range 0..59" },
		{ "*-13-01", "month 13 is out of range 1..12" },
		{ "*-*-32", "day 32 is out of range 1..31" },
		{ "*-*-0", "day 0 is out of range 1..31" },
		{ "1969-01-01", "year 1969 is out of range 1970..2199" },
		{ "2026-12", "month 2026 is out of range 1..12" },
		{ "*-*-5..1", "day range '5..1' runs backwards" },
		{ "*:*/0", "minute step must be at least 1" },
		{ "*-*~1", "'~' (days from the end of the month) is not supported" },
		{ "*-02~1", "'~' (days from the end of the month) is not supported" },
		{ "*-*-~1", "'~' (days from the end of the month) is not supported" },
		{ "12:00:00.5", "fractional seconds are not supported" },
		{ "09:00 Europe/Berlin", "a time zone suffix ('Europe/Berlin') is not supported" },
		{ "Mon 09:00 UTC", "a time zone suffix ('UTC') is not supported" },
		{ "minutely", "'minutely' is not supported" },
		{ "*-02-30", "the date never occurs" },
		{ "*-04,06-31", "the date never occurs" },
		{ "Mon 09:00 extra 1", "cannot read 'extra'" },
		{ "12", "cannot read '12'" },
		{ "a:b", "cannot read the hour 'a'" },
		{ "1:2:3:4", "cannot read the time '1:2:3:4'" },
		{ "1-2-3-4", "cannot read the date '1-2-3-4'" },
		{ "*,5:00", "'*' cannot be part of the hour list '*,5'" },
		{ "1,,2:00", "empty element in the hour list '1,,2'" },
		{ "12345:00", "cannot read the hour '12345'" },
		{ "-5:00", "cannot read" },
		{ "1..:00", "cannot read the hour '1..'" },
		{ "*/x:00", "cannot read the hour '*/x'" },
		{ "a b c d e f g h i", "too many parts" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct calendar *c = NULL;
		char *cause = NULL;
		ck_assert_msg(calendar_parse(bad[i][0], &c, &cause) == -EINVAL, "\"%s\" was accepted", bad[i][0]);
		ck_assert_ptr_null(c);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, bad[i][1]), "\"%s\": cause \"%s\" lacks \"%s\"", bad[i][0], cause,
			      bad[i][1]);
		free(cause);
	}
}
END_TEST

START_TEST(test_weekdays)
{
	unsigned m = 0;
	char *cause = NULL, buf[64];

	ck_assert_int_eq(calendar_parse_weekdays("Mon..Fri", &m, &cause), 0);
	ck_assert_uint_eq(m, 0x3e); /* bits 1..5 */
	ck_assert_int_eq(calendar_parse_weekdays("sun", &m, &cause), 0);
	ck_assert_uint_eq(m, 0x01);
	ck_assert_int_eq(calendar_parse_weekdays("Sat,Sun", &m, &cause), 0);
	ck_assert_uint_eq(m, 0x41);
	ck_assert_int_eq(calendar_parse_weekdays("Mon..Sun", &m, &cause), 0);
	ck_assert_uint_eq(m, 0x7f);
	/* blanks around names, as an operator may write calling_hours.days */
	ck_assert_int_eq(calendar_parse_weekdays(" Mon , Wed .. Fri ", &m, &cause), 0);
	ck_assert_uint_eq(m, 0x3a);
	ck_assert_int_eq(calendar_parse_weekdays("", &m, &cause), -EINVAL);
	free(cause);
	ck_assert_int_eq(calendar_parse_weekdays("Mon Wed", &m, &cause), -EINVAL);
	ck_assert_str_eq(cause, "cannot read the weekdays 'Mon Wed': write 'Mon..Fri' or 'Mon,Wed'");
	free(cause);
	ck_assert_int_eq(calendar_parse_weekdays("Mon...Fri", &m, &cause), -EINVAL);
	free(cause);
	ck_assert_int_eq(calendar_parse_weekdays("Mon.Fri", &m, &cause), -EINVAL);
	ck_assert_str_eq(cause, "a weekday range is written 'Mon..Fri' (in 'Mon.Fri')");
	free(cause);
	cause = NULL;
	/* every mask formats and reads back as itself */
	for (unsigned k = 1; k < 128; k++) {
		unsigned back = 0;
		calendar_format_weekdays(k, buf, sizeof(buf));
		ck_assert_msg(calendar_parse_weekdays(buf, &back, &cause) == 0, "%u: \"%s\": %s", k, buf, cause);
		ck_assert_uint_eq(back, k);
	}
	calendar_format_weekdays(0x3e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Mon..Fri");
	calendar_format_weekdays(0x2a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Mon,Wed,Fri");
	calendar_format_weekdays(0x4f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Mon..Wed,Sat,Sun");
}
END_TEST

/* Which wall times an event matches, read through calendar_next in UTC
 * (wall time = instant): the occurrences after a point, in order. */
static int64_t next_utc(const struct calendar *c, int y, int mo, int d, int h, int mi, int sec)
{
	struct civil w = { y, mo, d, h, mi, sec };
	int64_t t;

	ck_assert_int_eq(calendar_next(c, zone("UTC"), tz_to_instant(zone("UTC"), &w, NULL), &t), 0);
	return t;
}

static int64_t utc(int y, int mo, int d, int h, int mi, int sec)
{
	struct civil w = { y, mo, d, h, mi, sec };
	return tz_to_instant(zone("UTC"), &w, NULL);
}

START_TEST(test_matches)
{
	struct calendar *c = NULL;
	char *cause = NULL;
	int64_t t;

	ck_assert_int_eq(calendar_parse("Mon..Fri *-*-* 09:00", &c, &cause), 0);
	/* from a Sunday: Monday 09:00:00, then each weekday, skipping the weekend */
	ck_assert_int_eq(next_utc(c, 2026, 3, 8, 0, 0, 0), utc(2026, 3, 9, 9, 0, 0));
	ck_assert_int_eq(next_utc(c, 2026, 3, 9, 9, 0, 0), utc(2026, 3, 10, 9, 0, 0));
	ck_assert_int_eq(next_utc(c, 2026, 3, 12, 9, 0, 0), utc(2026, 3, 13, 9, 0, 0));
	ck_assert_int_eq(next_utc(c, 2026, 3, 13, 9, 0, 0), utc(2026, 3, 16, 9, 0, 0));
	/* 09:00:01 is not a match: the next is a day later */
	ck_assert_int_eq(next_utc(c, 2026, 3, 13, 8, 59, 59), utc(2026, 3, 13, 9, 0, 0));
	calendar_free(c);
	ck_assert_int_eq(calendar_parse("*-*-1..10/3 8/4:00", &c, &cause), 0);
	t = utc(2026, 1, 1, 0, 0, 0) - 1;
	for (int d = 1; d <= 10; d += 3)
		for (int h = 8; h < 24; h += 4) {
			ck_assert_int_eq(calendar_next(c, zone("UTC"), t, &t), 0);
			ck_assert_msg(t == utc(2026, 1, d, h, 0, 0), "day %d hour %d", d, h);
		}
	ck_assert_int_eq(calendar_next(c, zone("UTC"), t, &t), 0);
	ck_assert_int_eq(t, utc(2026, 2, 1, 8, 0, 0));
	calendar_free(c);
}
END_TEST

/* Reference occurrences: after, then the first n instants strictly after it. */
static const struct {
	const char *expr, *zone;
	int64_t after;
	size_t n;
	int64_t v[160];
} ref[] = {
	{ "*-*-* 02:30", "America/New_York", 1772773199, 5,
	  {
		1772782200, 1772868600, 1772955000, 1773037800, 1773124200 } },
	{ "*-*-* 01:30", "America/New_York", 1793332799, 5,
	  {
		1793338200, 1793424600, 1793511000, 1793601000, 1793687400 } },
	{ "Mon..Fri 09:00", "America/New_York", 1772427599, 10,
	  {
		1772460000, 1772546400, 1772632800, 1772719200, 1772805600, 1773061200, 1773147600, 1773234000,
		1773320400, 1773406800 } },
	{ "Mon..Fri 09:00", "America/New_York", 1792987199, 10,
	  {
		1793019600, 1793106000, 1793192400, 1793278800, 1793365200, 1793628000, 1793714400, 1793800800,
		1793887200, 1793973600 } },
	{ "*:00/15", "America/New_York", 1772945999, 92,
	  {
		1772946000, 1772946900, 1772947800, 1772948700, 1772949600, 1772950500, 1772951400, 1772952300,
		1772953200, 1772954100, 1772955000, 1772955900, 1772956800, 1772957700, 1772958600, 1772959500,
		1772960400, 1772961300, 1772962200, 1772963100, 1772964000, 1772964900, 1772965800, 1772966700,
		1772967600, 1772968500, 1772969400, 1772970300, 1772971200, 1772972100, 1772973000, 1772973900,
		1772974800, 1772975700, 1772976600, 1772977500, 1772978400, 1772979300, 1772980200, 1772981100,
		1772982000, 1772982900, 1772983800, 1772984700, 1772985600, 1772986500, 1772987400, 1772988300,
		1772989200, 1772990100, 1772991000, 1772991900, 1772992800, 1772993700, 1772994600, 1772995500,
		1772996400, 1772997300, 1772998200, 1772999100, 1773000000, 1773000900, 1773001800, 1773002700,
		1773003600, 1773004500, 1773005400, 1773006300, 1773007200, 1773008100, 1773009000, 1773009900,
		1773010800, 1773011700, 1773012600, 1773013500, 1773014400, 1773015300, 1773016200, 1773017100,
		1773018000, 1773018900, 1773019800, 1773020700, 1773021600, 1773022500, 1773023400, 1773024300,
		1773025200, 1773026100, 1773027000, 1773027900 } },
	{ "*:00/15", "America/New_York", 1793505599, 96,
	  {
		1793505600, 1793506500, 1793507400, 1793508300, 1793509200, 1793510100, 1793511000, 1793511900,
		1793516400, 1793517300, 1793518200, 1793519100, 1793520000, 1793520900, 1793521800, 1793522700,
		1793523600, 1793524500, 1793525400, 1793526300, 1793527200, 1793528100, 1793529000, 1793529900,
		1793530800, 1793531700, 1793532600, 1793533500, 1793534400, 1793535300, 1793536200, 1793537100,
		1793538000, 1793538900, 1793539800, 1793540700, 1793541600, 1793542500, 1793543400, 1793544300,
		1793545200, 1793546100, 1793547000, 1793547900, 1793548800, 1793549700, 1793550600, 1793551500,
		1793552400, 1793553300, 1793554200, 1793555100, 1793556000, 1793556900, 1793557800, 1793558700,
		1793559600, 1793560500, 1793561400, 1793562300, 1793563200, 1793564100, 1793565000, 1793565900,
		1793566800, 1793567700, 1793568600, 1793569500, 1793570400, 1793571300, 1793572200, 1793573100,
		1793574000, 1793574900, 1793575800, 1793576700, 1793577600, 1793578500, 1793579400, 1793580300,
		1793581200, 1793582100, 1793583000, 1793583900, 1793584800, 1793585700, 1793586600, 1793587500,
		1793588400, 1793589300, 1793590200, 1793591100, 1793592000, 1793592900, 1793593800, 1793594700 } },
	{ "*-*-* 01:30", "Europe/London", 1774655999, 3,
	  {
		1774661400, 1774747800, 1774830600 } },
	{ "*-*-* 01:30", "Europe/London", 1792796399, 3,
	  {
		1792801800, 1792888200, 1792978200 } },
	{ "*-*-* 02:30", "Europe/Berlin", 1774652399, 3,
	  {
		1774661400, 1774747800, 1774830600 } },
	{ "*-*-* 02:30", "Europe/Berlin", 1792792799, 3,
	  {
		1792801800, 1792888200, 1792978200 } },
	{ "*-*-* 01,02:15,45", "Australia/Lord_Howe", 1775221199, 12,
	  {
		1775225700, 1775227500, 1775229300, 1775231100, 1775312100, 1775313900, 1775317500, 1775319300,
		1775400300, 1775402100, 1775403900, 1775405700 } },
	{ "*-*-* 01,02:15,45", "Australia/Lord_Howe", 1790947799, 11,
	  {
		1790952300, 1790954100, 1790955900, 1790957700, 1791038700, 1791040500, 1791042300, 1791123300,
		1791125100, 1791126900, 1791128700 } },
	{ "*:0/10", "Australia/Lord_Howe", 1791034199, 141,
	  {
		1791034200, 1791034800, 1791035400, 1791036000, 1791036600, 1791037200, 1791037800, 1791038400,
		1791039000, 1791039600, 1791040200, 1791040800, 1791041400, 1791042000, 1791042600, 1791043200,
		1791043800, 1791044400, 1791045000, 1791045600, 1791046200, 1791046800, 1791047400, 1791048000,
		1791048600, 1791049200, 1791049800, 1791050400, 1791051000, 1791051600, 1791052200, 1791052800,
		1791053400, 1791054000, 1791054600, 1791055200, 1791055800, 1791056400, 1791057000, 1791057600,
		1791058200, 1791058800, 1791059400, 1791060000, 1791060600, 1791061200, 1791061800, 1791062400,
		1791063000, 1791063600, 1791064200, 1791064800, 1791065400, 1791066000, 1791066600, 1791067200,
		1791067800, 1791068400, 1791069000, 1791069600, 1791070200, 1791070800, 1791071400, 1791072000,
		1791072600, 1791073200, 1791073800, 1791074400, 1791075000, 1791075600, 1791076200, 1791076800,
		1791077400, 1791078000, 1791078600, 1791079200, 1791079800, 1791080400, 1791081000, 1791081600,
		1791082200, 1791082800, 1791083400, 1791084000, 1791084600, 1791085200, 1791085800, 1791086400,
		1791087000, 1791087600, 1791088200, 1791088800, 1791089400, 1791090000, 1791090600, 1791091200,
		1791091800, 1791092400, 1791093000, 1791093600, 1791094200, 1791094800, 1791095400, 1791096000,
		1791096600, 1791097200, 1791097800, 1791098400, 1791099000, 1791099600, 1791100200, 1791100800,
		1791101400, 1791102000, 1791102600, 1791103200, 1791103800, 1791104400, 1791105000, 1791105600,
		1791106200, 1791106800, 1791107400, 1791108000, 1791108600, 1791109200, 1791109800, 1791110400,
		1791111000, 1791111600, 1791112200, 1791112800, 1791113400, 1791114000, 1791114600, 1791115200,
		1791115800, 1791116400, 1791117000, 1791117600, 1791118200 } },
	{ "*-*-* 02:15,35", "Australia/Lord_Howe", 1790947799, 6,
	  {
		1790955900, 1790957100, 1791041700, 1791042300, 1791126900, 1791128100 } },
	{ "*:0/20", "Australia/Lord_Howe", 1791034199, 72,
	  {
		1791034200, 1791035400, 1791036600, 1791037800, 1791039000, 1791040200, 1791041400, 1791042000,
		1791042600, 1791043200, 1791044400, 1791045600, 1791046800, 1791048000, 1791049200, 1791050400,
		1791051600, 1791052800, 1791054000, 1791055200, 1791056400, 1791057600, 1791058800, 1791060000,
		1791061200, 1791062400, 1791063600, 1791064800, 1791066000, 1791067200, 1791068400, 1791069600,
		1791070800, 1791072000, 1791073200, 1791074400, 1791075600, 1791076800, 1791078000, 1791079200,
		1791080400, 1791081600, 1791082800, 1791084000, 1791085200, 1791086400, 1791087600, 1791088800,
		1791090000, 1791091200, 1791092400, 1791093600, 1791094800, 1791096000, 1791097200, 1791098400,
		1791099600, 1791100800, 1791102000, 1791103200, 1791104400, 1791105600, 1791106800, 1791108000,
		1791109200, 1791110400, 1791111600, 1791112800, 1791114000, 1791115200, 1791116400, 1791117600 } },
	{ "*-*-* 02..04:00/30", "Pacific/Chatham", 1775211299, 18,
	  {
		1775218500, 1775220300, 1775222100, 1775223900, 1775225700, 1775227500, 1775304900, 1775306700,
		1775308500, 1775310300, 1775315700, 1775317500, 1775394900, 1775396700, 1775398500, 1775400300,
		1775402100, 1775403900 } },
	{ "*-*-* 02..04:00/30", "Pacific/Chatham", 1790334899, 16,
	  {
		1790342100, 1790343900, 1790345700, 1790347500, 1790349300, 1790351100, 1790428500, 1790430300,
		1790432100, 1790433900, 1790511300, 1790513100, 1790514900, 1790516700, 1790518500, 1790520300 } },
	{ "Sat,Sun 1..10/3:05", "Europe/Berlin", 1790805599, 36,
	  {
		1790982300, 1790993100, 1791003900, 1791014700, 1791068700, 1791079500, 1791090300, 1791101100,
		1791587100, 1791597900, 1791608700, 1791619500, 1791673500, 1791684300, 1791695100, 1791705900,
		1792191900, 1792202700, 1792213500, 1792224300, 1792278300, 1792289100, 1792299900, 1792310700,
		1792796700, 1792807500, 1792818300, 1792829100, 1792883100, 1792897500, 1792908300, 1792919100,
		1793405100, 1793415900, 1793426700, 1793437500 } },
};

START_TEST(test_next_reference)
{
	for (size_t i = 0; i < ARRAY_SIZE(ref); i++) {
		struct calendar *c = NULL;
		char *cause = NULL;
		const struct tz *z = zone(ref[i].zone);
		int64_t t = ref[i].after;

		ck_assert_msg(calendar_parse(ref[i].expr, &c, &cause) == 0, "%s", cause ? cause : "?");
		for (size_t k = 0; k < ref[i].n; k++) {
			int64_t got = 0;
			ck_assert_int_eq(calendar_next(c, z, t, &got), 0);
			ck_assert_msg(got == ref[i].v[k], "%s in %s, occurrence %zu after %lld: got %lld, want %lld",
				      ref[i].expr, ref[i].zone, k, (long long)t, (long long)got,
				      (long long)ref[i].v[k]);
			/* from any instant inside the step, the same answer */
			if (ref[i].v[k] - t > 2) {
				ck_assert_int_eq(calendar_next(c, z, t + (ref[i].v[k] - t) / 2, &got), 0);
				ck_assert_int_eq(got, ref[i].v[k]);
				ck_assert_int_eq(calendar_next(c, z, ref[i].v[k] - 1, &got), 0);
				ck_assert_int_eq(got, ref[i].v[k]);
			}
			t = ref[i].v[k];
		}
		calendar_free(c);
	}
}
END_TEST

/* The cases the issue names, spelled out. */
START_TEST(test_dst_named_cases)
{
	const struct tz *ny = zone("America/New_York");
	struct calendar *c = NULL;
	char *cause = NULL;
	int64_t t;

	/* daily 02:30 on 2026-03-08 (gap): once, at the instant `start` gives */
	ck_assert_int_eq(calendar_parse("daily", &c, &cause), 0);
	calendar_free(c);
	ck_assert_int_eq(calendar_parse("*-*-* 02:30", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, ny, 1772868600, &t), 0); /* after 03-07 02:30 EST */
	ck_assert_int_eq(t, 1772955000);                         /* 07:30Z, as tz_to_instant gives */
	{
		struct civil w = { 2026, 3, 8, 2, 30, 0 };
		ck_assert_int_eq(t, tz_to_instant(ny, &w, NULL));
	}
	ck_assert_int_eq(calendar_next(c, ny, t, &t), 0);
	ck_assert_int_eq(t, 1773037800); /* 03-09 02:30 EDT = 06:30Z */
	calendar_free(c);

	/* daily 01:30 on 2026-11-01 (overlap): once, at the first 01:30 */
	ck_assert_int_eq(calendar_parse("*-*-* 01:30", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, ny, 1793424600, &t), 0); /* after 10-31 01:30 EDT */
	ck_assert_int_eq(t, 1793511000);                         /* 05:30Z, EDT */
	/* from the first 01:30, and from between the two: the next day */
	ck_assert_int_eq(calendar_next(c, ny, 1793511000, &t), 0);
	ck_assert_int_eq(t, 1793601000); /* 11-02 01:30 EST = 06:30Z */
	ck_assert_int_eq(calendar_next(c, ny, 1793514600, &t), 0); /* the second 01:30 itself */
	ck_assert_int_eq(t, 1793601000);
	calendar_free(c);
}
END_TEST

START_TEST(test_bounds)
{
	const struct tz *utc = zone("UTC");
	struct calendar *c = NULL;
	char *cause = NULL;
	int64_t t = 0;
	clock_t t0;

	/* leap day: the next one is 2028-02-29 12:00Z */
	ck_assert_int_eq(calendar_parse("*-02-29 12:00", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, utc, 1772323200, &t), 0); /* 2026-03-01 */
	ck_assert_int_eq(t, 1835438400);
	calendar_free(c);
	/* beyond the search horizon: -ENOENT, output untouched */
	ck_assert_int_eq(calendar_parse("2040-01-01", &c, &cause), 0);
	t = 42;
	ck_assert_int_eq(calendar_next(c, utc, 1772323200, &t), -ENOENT);
	ck_assert_int_eq(t, 42);
	/* within it */
	ck_assert_int_eq(calendar_next(c, utc, 1893456000, &t), 0); /* 2030-01-01 */
	ck_assert_int_eq(t, 2208988800);
	calendar_free(c);
	/* the last second a calendar can name, then nothing */
	ck_assert_int_eq(calendar_parse("2199-12-31 23:59:59", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, utc, 7258118398LL, &t), 0);
	ck_assert_int_eq(t, 7258118399LL);
	ck_assert_int_eq(calendar_next(c, utc, t, &t), -ENOENT);
	calendar_free(c);
	/* a past year */
	ck_assert_int_eq(calendar_parse("2020-*-* 09:00", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, utc, 1772323200, &t), -ENOENT);
	calendar_free(c);
	/* a year before 1970 as `after` */
	ck_assert_int_eq(calendar_parse("daily", &c, &cause), 0);
	ck_assert_int_eq(calendar_next(c, utc, -1000000000, &t), 0);
	ck_assert_int_eq(t, 0);
	calendar_free(c);

	/* walks days, not seconds: 2000 searches for a yearly event that is
	 * nearly a year away, and 100 that find nothing in ten years, are quick */
	ck_assert_int_eq(calendar_parse("yearly", &c, &cause), 0);
	t0 = clock();
	for (int i = 0; i < 2000; i++) {
		ck_assert_int_eq(calendar_next(c, utc, 1767225600 + i, &t), 0); /* 2026-01-01 + i */
		ck_assert_int_eq(t, 1798761600);                              /* 2027-01-01 */
	}
	calendar_free(c);
	ck_assert_int_eq(calendar_parse("2199-01-01", &c, &cause), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(calendar_next(c, utc, 1767225600 + i, &t), -ENOENT);
	calendar_free(c);
	ck_assert_msg(clock() - t0 < 2 * CLOCKS_PER_SEC, "the search is too slow");
}
END_TEST

/* every weekday at 09:00 over two weeks across each DST change of 2026, in
 * every zone of the issue: exactly 10 occurrences, each at 09:00 local */
START_TEST(test_weekdays_across_dst)
{
	static const char *const zones[] = { "America/New_York", "Europe/London", "Australia/Lord_Howe",
					     "Pacific/Chatham", "Europe/Berlin" };
	static const struct civil starts[] = { { 2026, 3, 2, 0, 0, 0 }, { 2026, 3, 23, 0, 0, 0 },
					       { 2026, 3, 30, 0, 0, 0 }, { 2026, 9, 21, 0, 0, 0 },
					       { 2026, 9, 28, 0, 0, 0 }, { 2026, 10, 19, 0, 0, 0 },
					       { 2026, 10, 26, 0, 0, 0 } };
	struct calendar *c = NULL;
	char *cause = NULL;

	ck_assert_int_eq(calendar_parse("Mon..Fri 09:00", &c, &cause), 0);
	for (size_t zi = 0; zi < ARRAY_SIZE(zones); zi++) {
		const struct tz *z = zone(zones[zi]);
		for (size_t si = 0; si < ARRAY_SIZE(starts); si++) {
			struct civil end = starts[si];
			int64_t t = tz_to_instant(z, &starts[si], NULL) - 1, lim;
			int n = 0;

			end.day += 14;
			if (end.day > 28) {
				int64_t d = civil_to_days(end.year, end.month, 1) + end.day - 1;
				set_date(&end, d);
			}
			lim = tz_to_instant(z, &end, NULL);
			for (;;) {
				struct civil l;
				ck_assert_int_eq(calendar_next(c, z, t, &t), 0);
				if (t >= lim)
					break;
				tz_to_local(z, t, &l, NULL);
				ck_assert_msg(l.hour == 9 && l.min == 0 && l.sec == 0, "%s: %04d-%02d-%02d %02d:%02d",
					      zones[zi], l.year, l.month, l.day, l.hour, l.min);
				ck_assert_int_ne(civil_weekday(civil_to_days(l.year, l.month, l.day)), 0);
				ck_assert_int_ne(civil_weekday(civil_to_days(l.year, l.month, l.day)), 6);
				n++;
			}
			ck_assert_msg(n == 10, "%s from %04d-%02d-%02d: %d occurrences", zones[zi], starts[si].year,
				      starts[si].month, starts[si].day, n);
		}
	}
	calendar_free(c);
}
END_TEST

/* Differential: random events in the zones of the issue, `after` near each
 * DST change of 2026, against a plain oracle that converts every matching
 * wall minute of the days around `after` with tz_to_instant and keeps the
 * smallest instant after it. The seed is printed on failure to replay. */
START_TEST(test_next_against_oracle)
{
	static const char *const zones[] = { "America/New_York", "Europe/London", "Australia/Lord_Howe",
					     "Pacific/Chatham", "Europe/Berlin" };
	static const struct civil near[] = { { 2026, 3, 8, 0, 0, 0 },  { 2026, 3, 29, 0, 0, 0 },
					     { 2026, 4, 5, 0, 0, 0 },  { 2026, 9, 27, 0, 0, 0 },
					     { 2026, 10, 4, 0, 0, 0 }, { 2026, 10, 25, 0, 0, 0 },
					     { 2026, 11, 1, 0, 0, 0 } };
	unsigned seed = 20261128;

	for (int iter = 0; iter < 400; iter++) {
		unsigned s0 = seed;
		const char *zn = zones[rand_r(&seed) % ARRAY_SIZE(zones)];
		const struct tz *z = zone(zn);
		struct civil base = near[rand_r(&seed) % ARRAY_SIZE(near)];
		char hours[128] = "", mins[128] = "", expr[300];
		struct calendar *c = NULL;
		char *cause = NULL;
		int64_t after, got = 0, want = 0, d0;
		bool found = false, hour_in[24] = { false }, min_in[60] = { false }, sun_mon;
		int r;

		/* 1..3 hours near the small hours, 1..3 minutes, maybe Sun,Mon;
		 * the oracle matches a wall time against these sets itself */
		for (int k = 0, n = 1 + (int)(rand_r(&seed) % 3); k < n; k++) {
			unsigned h = rand_r(&seed) % 5;
			hour_in[h] = true;
			snprintf(hours + strlen(hours), sizeof(hours) - strlen(hours), "%s%u", k ? "," : "", h);
		}
		for (int k = 0, n = 1 + (int)(rand_r(&seed) % 3); k < n; k++) {
			unsigned mi = rand_r(&seed) % 60;
			min_in[mi] = true;
			snprintf(mins + strlen(mins), sizeof(mins) - strlen(mins), "%s%u", k ? "," : "", mi);
		}
		sun_mon = rand_r(&seed) % 3 == 0;
		snprintf(expr, sizeof(expr), "%s%s:%s", sun_mon ? "Sun,Mon " : "", hours, mins);
		ck_assert_msg(calendar_parse(expr, &c, &cause) == 0, "%s: %s", expr, cause ? cause : "?");
		base.hour = (int)(rand_r(&seed) % 6);
		base.min = (int)(rand_r(&seed) % 60);
		after = tz_to_instant(z, &base, NULL) + (int64_t)(rand_r(&seed) % 7200) - 3600;

		d0 = civil_to_days(base.year, base.month, base.day);
		for (int64_t d = d0 - 2; d <= d0 + 9; d++) {
			struct civil w = { 0 };
			int wd = civil_weekday(d);
			set_date(&w, d);
			if (sun_mon && wd != 0 && wd != 1)
				continue;
			for (int m = 0; m < 1440; m++) {
				int64_t t;
				w.hour = m / 60;
				w.min = m % 60;
				if (!hour_in[w.hour] || !min_in[w.min])
					continue;
				t = tz_to_instant(z, &w, NULL);
				if (t > after && (!found || t < want)) {
					want = t;
					found = true;
				}
			}
		}
		ck_assert_msg(found, "seed %u: the oracle's range is too short for %s", s0, expr);
		r = calendar_next(c, z, after, &got);
		ck_assert_msg(r == 0 && got == want, "seed %u: \"%s\" in %s after %lld: got %lld (%d), want %lld", s0,
			      expr, zn, (long long)after, (long long)got, r, (long long)want);
		calendar_free(c);
	}
}
END_TEST

/* Junk never crashes the parser: it parses (and then its normalised text
 * reads back the same) or it says why. */
START_TEST(test_parse_junk)
{
	static const char alphabet[] = "0123456789*/.,:- ~MonTuesdayWFriSSunhourlydaily\t";
	unsigned seed = 4242;

	for (int iter = 0; iter < 20000; iter++) {
		char in[24];
		size_t len = rand_r(&seed) % (sizeof(in) - 1);
		struct calendar *c = NULL;
		char *cause = NULL;

		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		in[len] = '\0';
		if (calendar_parse(in, &c, &cause) == 0) {
			char *t = calendar_format(c), *t2;
			struct calendar *c2 = NULL;
			ck_assert_msg(calendar_parse(t, &c2, &cause) == 0, "\"%s\" -> \"%s\": %s", in, t, cause);
			t2 = calendar_format(c2);
			ck_assert_str_eq(t, t2);
			free(t2);
			free(t);
			calendar_free(c2);
			calendar_free(c);
		} else {
			ck_assert_ptr_null(c);
			ck_assert_msg(cause && *cause, "\"%s\" refused without a cause", in);
			free(cause);
		}
	}
}
END_TEST

static Suite *calendar_suite(void)
{
	Suite *s = suite_create("calendar");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_grammar);
	tcase_add_test(tc, test_grammar_errors);
	tcase_add_test(tc, test_weekdays);
	tcase_add_test(tc, test_matches);
	tcase_add_test(tc, test_next_reference);
	tcase_add_test(tc, test_dst_named_cases);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_weekdays_across_dst);
	tcase_add_test(tc, test_next_against_oracle);
	tcase_add_test(tc, test_parse_junk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(calendar_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
