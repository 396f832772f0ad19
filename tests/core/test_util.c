/*
 * test_util: the helpers every module shares. Growth by doubling from 8,
 * copies, FNV-1a 64 against its published test vectors (the job digest and
 * the submit body's recipient digest are kept in the state, so the hash
 * must never change), strict decimal parsing with its bounds, the
 * diagnostics list in order with its FILE:LINE format, and the "did you
 * mean" word with its distance limit.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

START_TEST(test_grow)
{
	int *v = NULL;
	size_t cap = 0;

	xgrow((void **)&v, &cap, 1, sizeof(*v));
	ck_assert_uint_eq(cap, 8);
	v[7] = 7;
	xgrow((void **)&v, &cap, 8, sizeof(*v));
	ck_assert_uint_eq(cap, 8); /* enough already: untouched */
	xgrow((void **)&v, &cap, 9, sizeof(*v));
	ck_assert_uint_eq(cap, 16);
	ck_assert_int_eq(v[7], 7); /* kept across the move */
	xgrow((void **)&v, &cap, 100, sizeof(*v));
	ck_assert_uint_eq(cap, 128);
	v[127] = 1;
	free(v);
}
END_TEST

START_TEST(test_copies)
{
	char *s = xstrdup("batch"), *t = xstrndup("abcdef", 3), *u = xasprintf("%s-%03d", "run", 7);
	char *n = xstrndup("ab\0cd", 5); /* n bytes, a NUL among them */

	ck_assert_str_eq(s, "batch");
	ck_assert_str_eq(t, "abc");
	ck_assert_str_eq(u, "run-007");
	ck_assert_int_eq(memcmp(n, "ab\0cd", 6), 0);
	ck_assert_ptr_null(xstrdup(NULL));
	freep(&s);
	ck_assert_ptr_null(s);
	freep(&s); /* twice: free(NULL) */
	free(t);
	free(u);
	free(n);
}
END_TEST

START_TEST(test_fnv1a64)
{
	uint64_t h;

	/* The published FNV-1a 64 vectors. */
	ck_assert_uint_eq(fnv1a64(FNV1A64_INIT, "", 0), 0xcbf29ce484222325ULL);
	ck_assert_uint_eq(fnv1a64(FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(fnv1a64(FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ULL);
	/* Fed in pieces, the same as in one go. */
	h = fnv1a64(FNV1A64_INIT, "foo", 3);
	ck_assert_uint_eq(fnv1a64(h, "bar", 3), 0x85944171f73967e8ULL);
	/* Bytes, not strings: a NUL counts. */
	ck_assert_uint_ne(fnv1a64(FNV1A64_INIT, "a\0", 2), fnv1a64(FNV1A64_INIT, "a", 1));
}
END_TEST

START_TEST(test_parse_timespan)
{
	static const struct {
		const char *in;
		int rc;
		int64_t secs;
	} cases[] = {
		{ "2d", 0, 172800 },	     { "1h 30min", 0, 5400 },	{ "1w2d", 0, 777600 },	 { "90", 0, 90 },
		{ "90s", 0, 90 },	     { " 3 days ", 0, 259200 }, { "1 week", 0, 604800 }, { "5m", 0, 300 },
		{ "2hr1sec", 0, 7201 },	     { "0", 0, 0 },		{ "", -EINVAL, 0 },	 { "d", -EINVAL, 0 },
		{ "2x", -EINVAL, 0 },	     { "-1d", -EINVAL, 0 },	{ "1.5d", -EINVAL, 0 },	 { "2D", -EINVAL, 0 },
		{ "3661d", -ERANGE, 0 },     { "3660d", 0, 316224000 }, { "99999999999999999999", -ERANGE, 0 },
		{ "1d 1", 0, 86401 },	     { "1 1d", -EINVAL, 0 },	{ "   ", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -7;
		int rc = parse_timespan(cases[i].in, &v);
		ck_assert_msg(rc == cases[i].rc, "'%s': %d", cases[i].in, rc);
		if (rc == 0)
			ck_assert_msg(v == cases[i].secs, "'%s': %lld", cases[i].in, (long long)v);
		else
			ck_assert_int_eq(v, -7);
	}
}
END_TEST

START_TEST(test_parse_int64)
{
	int64_t v = 99;

	ck_assert_int_eq(parse_int64("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(parse_int64("-7", -10, 10, &v), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
	ck_assert_int_eq(parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert_int_eq(v, INT64_MIN);
	v = 99;
	ck_assert_int_eq(parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse_int64("101", 0, 100, &v), -ERANGE);
	ck_assert_int_eq(parse_int64("-1", 0, 100, &v), -ERANGE);
	ck_assert_int_eq(parse_int64("", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(parse_int64(NULL, 0, 100, &v), -EINVAL);
	ck_assert_int_eq(parse_int64("12x", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(parse_int64("1.5", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(parse_int64("0x10", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(parse_int64("-", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(v, 99); /* untouched on failure */
}
END_TEST

START_TEST(test_diag)
{
	struct diag d = { 0 }, more = { 0 };
	char *s;

	diag_add(&d, "jobs.d/a.conf", 3, "'%s' must be an integer", "count");
	diag_add(&d, "jobs.d/b.csv", 0, "no rows");
	diag_add(&d, NULL, 0, "no jobs");
	diag_add(&d, NULL, 9, "a line without a file is not shown");
	ck_assert_uint_eq(d.n, 4);
	s = diag_format(&d, 0);
	ck_assert_str_eq(s, "jobs.d/a.conf:3: 'count' must be an integer");
	free(s);
	s = diag_format(&d, 1);
	ck_assert_str_eq(s, "jobs.d/b.csv: no rows");
	free(s);
	s = diag_format(&d, 2);
	ck_assert_str_eq(s, "no jobs");
	free(s);
	s = diag_format(&d, 3);
	ck_assert_str_eq(s, "a line without a file is not shown");
	free(s);

	/* Moved in order to the end; the source is left empty. */
	diag_add(&more, "x.conf", 1, "first");
	diag_add(&more, "x.conf", 2, "second");
	diag_move(&d, &more);
	ck_assert_uint_eq(d.n, 6);
	ck_assert_uint_eq(more.n, 0);
	ck_assert_ptr_null(more.v);
	s = diag_format(&d, 5);
	ck_assert_str_eq(s, "x.conf:2: second");
	free(s);
	diag_move(&d, &more); /* nothing to move */
	ck_assert_uint_eq(d.n, 6);
	diag_clear(&d);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_null(d.v);
	diag_clear(&d);
}
END_TEST

START_TEST(test_closest_word)
{
	const char *const keys[] = { "timezone", "start", "repeat", "recipients", "recipients_csv" };
	const char *const long_words[] = { "abcdefghi" };

	ck_assert_str_eq(closest_word("timezon", keys, 5), "timezone");
	ck_assert_str_eq(closest_word("strat", keys, 5), "start");   /* distance 2 */
	ck_assert_str_eq(closest_word("recipient", keys, 5), "recipients");
	ck_assert_str_eq(closest_word("recipients", keys, 5), "recipients");
	ck_assert_ptr_null(closest_word("agent_id", keys, 5));
	ck_assert_ptr_null(closest_word("x", keys, 0));
	/* The limit: 2, or a third of the word when that is more. */
	ck_assert_str_eq(closest_word("srt", keys, 5), "start"); /* 2 letters missing */
	ck_assert_ptr_null(closest_word("sxxxt", keys, 5));      /* 3 from "start", of 5 */
	ck_assert_str_eq(closest_word("abcdefxyz", long_words, 1), "abcdefghi"); /* 3 of 9 */
	ck_assert_ptr_null(closest_word("abcdewxyz", long_words, 1));             /* 4 of 9 */
	ck_assert_ptr_null(closest_word("abxyz", long_words, 1));
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_copies);
	tcase_add_test(tc, test_fnv1a64);
	tcase_add_test(tc, test_parse_int64);
	tcase_add_test(tc, test_parse_timespan);
	tcase_add_test(tc, test_diag);
	tcase_add_test(tc, test_closest_word);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
