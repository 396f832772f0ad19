/*
 * test_sbuf: the one string builder. Bytes, strings, formats and integers
 * append in order and keep the text NUL-terminated; a long format grows
 * the buffer in one go; stealing hands over the text and leaves the buffer
 * empty ("" when nothing was added); free accepts NULL and an empty one.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "util.h"

START_TEST(test_appends_in_order)
{
	struct sbuf b = { 0 };
	size_t len = 0;
	char *s;

	sbuf_add(&b, "ab\0cd", 2);
	ck_assert_str_eq(b.s, "ab");
	sbuf_adds(&b, "-");
	sbuf_addf(&b, "%d/%s", 42, "x");
	sbuf_add_int(&b, -7);
	sbuf_add(&b, "", 0);
	ck_assert_uint_eq(b.len, strlen("ab-42/x-7"));
	ck_assert_str_eq(b.s, "ab-42/x-7");
	s = sbuf_steal(&b, &len);
	ck_assert_str_eq(s, "ab-42/x-7");
	ck_assert_uint_eq(len, 9);
	ck_assert_ptr_null(b.s);
	ck_assert_uint_eq(b.len, 0);
	free(s);
}
END_TEST

START_TEST(test_integers)
{
	static const int64_t v[] = { 0, 1, -1, 9, 10, 1234567890123LL, INT64_MAX, INT64_MIN };
	char want[32];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct sbuf b = { 0 };
		sbuf_add_int(&b, v[i]);
		snprintf(want, sizeof(want), "%" PRId64, v[i]);
		ck_assert_str_eq(b.s, want);
		sbuf_free(&b);
	}
}
END_TEST

START_TEST(test_long_format_and_growth)
{
	struct sbuf b = { 0 };
	char big[5000];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_adds(&b, "<");
	sbuf_addf(&b, "%s|%s", big, big); /* longer than the first guess */
	sbuf_adds(&b, ">");
	ck_assert_uint_eq(b.len, 2 * (sizeof(big) - 1) + 3);
	ck_assert_int_eq(b.s[0], '<');
	ck_assert_int_eq(b.s[sizeof(big)], '|');
	ck_assert_int_eq(b.s[b.len - 1], '>');
	ck_assert_int_eq(b.s[b.len], '\0');
	ck_assert_uint_eq(strlen(b.s), b.len);
	/* many small appends */
	for (int i = 0; i < 100000; i++)
		sbuf_add(&b, "z", 1);
	ck_assert_uint_eq(strlen(b.s), b.len);
	ck_assert_uint_ge(b.cap, b.len + 1);
	sbuf_free(&b);
	ck_assert_ptr_null(b.s);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/* The one JSON string escaper (the daemon's views, the simulator). */
static char *json_of(const char *s, size_t n)
{
	struct sbuf b = { 0 };

	sbuf_add_json_strn(&b, s, n);
	return sbuf_steal(&b, NULL);
}

START_TEST(test_json_strings)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "", 0, "\"\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"" },
		{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"" },
		/* valid UTF-8 as it is: 2, 3 and 4 bytes */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\x9e", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\x9e\"" },
		/* invalid: a lone continuation, a truncated sequence, an overlong
		 * form, a surrogate, 0xff: one \ufffd per byte not decoded */
		{ "a\x80" "b", 3, "\"a\\ufffdb\"" },
		{ "\xe2\x82", 2, "\"\\ufffd\\ufffd\"" },
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xff", 1, "\"\\ufffd\"" },
		/* n bytes, NULs included */
		{ "a\0b", 3, "\"a\\u0000b\"" },
	};
	struct sbuf b = { 0 };
	char *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = json_of(cases[i].in, cases[i].n);
		ck_assert_msg(strcmp(s, cases[i].out) == 0, "case %zu: got %s, want %s", i, s, cases[i].out);
		free(s);
	}
	sbuf_add_json_str(&b, NULL);
	sbuf_add_json_str(&b, "x\xe9");
	ck_assert_str_eq(b.s, "null\"x\\ufffd\"");
	sbuf_free(&b);
}
END_TEST

START_TEST(test_empty)
{
	struct sbuf b = { 0 };
	size_t len = 99;
	char *s;

	sbuf_free(NULL);
	sbuf_free(&b);
	s = sbuf_steal(&b, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	s = sbuf_steal(&b, NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

static Suite *sbuf_suite(void)
{
	Suite *s = suite_create("sbuf");
	TCase *tc = tcase_create("sbuf");

	tcase_add_test(tc, test_appends_in_order);
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_long_format_and_growth);
	tcase_add_test(tc, test_json_strings);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sbuf_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
