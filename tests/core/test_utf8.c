/*
 * test_utf8: the one UTF-8 decoder. Every code point's encoding decodes
 * back to it at its length (surrogates refused); every two-byte sequence
 * is accepted exactly when it is the shortest encoding of a code point;
 * overlong forms, values past U+10FFFF, stray continuation bytes and
 * sequences cut by n are refused, leaving the code point untouched.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "utf8.h"
#include "util.h"

static size_t encode(uint32_t c, unsigned char *b)
{
	if (c < 0x80) {
		b[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		b[0] = (unsigned char)(0xc0 | c >> 6);
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		b[0] = (unsigned char)(0xe0 | c >> 12);
		b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | c >> 18);
	b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	b[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

START_TEST(test_every_code_point)
{
	unsigned char b[4];

	for (uint32_t c = 0; c <= 0x10ffff; c++) {
		size_t len = encode(c, b), k;
		uint32_t got = 0xdeadbeef;

		k = utf8_decode(b, len, &got);
		if (c >= 0xd800 && c <= 0xdfff) {
			if (k != 0 || got != 0xdeadbeef)
				ck_abort_msg("surrogate U+%04X accepted", c);
			continue;
		}
		if (k != len || got != c)
			ck_abort_msg("U+%04X: length %zu, code point %X", c, k, got);
		/* one byte short is never a sequence */
		if (len > 1 && utf8_decode(b, len - 1, NULL) != 0)
			ck_abort_msg("U+%04X cut to %zu bytes accepted", c, len - 1);
	}
}
END_TEST

START_TEST(test_every_two_bytes)
{
	for (unsigned hi = 0x80; hi <= 0xff; hi++) {
		for (unsigned lo = 0; lo <= 0xff; lo++) {
			unsigned char b[2] = { (unsigned char)hi, (unsigned char)lo };
			bool want = hi >= 0xc2 && hi <= 0xdf && (lo & 0xc0) == 0x80;
			size_t k = utf8_decode(b, 2, NULL);

			if (k != (want ? 2u : 0u))
				ck_abort_msg("%02x %02x: %zu", hi, lo, k);
		}
	}
}
END_TEST

START_TEST(test_refused)
{
	static const struct {
		const char *what;
		unsigned char b[4];
		size_t n;
	} bad[] = {
		{ "overlong NUL", { 0xc0, 0x80 }, 2 },
		{ "overlong '/'", { 0xc1, 0xaf }, 2 },
		{ "overlong 3-byte", { 0xe0, 0x9f, 0xbf }, 3 },
		{ "overlong 4-byte", { 0xf0, 0x8f, 0xbf, 0xbf }, 4 },
		{ "surrogate D800", { 0xed, 0xa0, 0x80 }, 3 },
		{ "surrogate DFFF", { 0xed, 0xbf, 0xbf }, 3 },
		{ "past U+10FFFF", { 0xf4, 0x90, 0x80, 0x80 }, 4 },
		{ "lead F5", { 0xf5, 0x80, 0x80, 0x80 }, 4 },
		{ "lead FF", { 0xff, 0x80, 0x80, 0x80 }, 4 },
		{ "stray continuation", { 0x80 }, 1 },
		{ "continuation missing", { 0xe2, 0x82, 0x41 }, 3 },
		{ "cut by n", { 0xe2, 0x82, 0xac }, 2 },
		{ "NUL inside", { 0xe2, 0x00, 0xac }, 3 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint32_t cp = 7;
		ck_assert_msg(utf8_decode(bad[i].b, bad[i].n, &cp) == 0, "%s accepted", bad[i].what);
		ck_assert_uint_eq(cp, 7);
	}
	/* the edges that are valid */
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, NULL), 4);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xee\x80\x80", 3, NULL), 3);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe2\x82\xac" "rest", 7, NULL), 3);
	ck_assert_uint_eq(utf8_decode((const unsigned char *)"", 1, NULL), 1);
}
END_TEST

static Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_test(tc, test_every_code_point);
	tcase_add_test(tc, test_every_two_bytes);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(utf8_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
