/*
 * test_b64: base64 as etcd's gateway writes it. RFC 4648's test vectors
 * both ways; every byte value and every length up to a few blocks read back
 * equal; what is not the one canonical padded encoding (bad length, a
 * symbol outside the alphabet, padding inside or partial, whitespace, the
 * URL alphabet, stray bits in the last symbol) is refused.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "util.h"

static const struct {
	const char *plain, *coded;
} rfc4648[] = {
	{ "", "" },	    { "f", "Zg==" },	     { "fo", "Zm8=" },		{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(test_rfc4648_vectors)
{
	for (size_t i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		char *enc = b64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain)), *dec = NULL;
		size_t len = 99;

		ck_assert_str_eq(enc, rfc4648[i].coded);
		ck_assert_int_eq(b64_decode(enc, strlen(enc), &dec, &len), 0);
		ck_assert_uint_eq(len, strlen(rfc4648[i].plain));
		ck_assert_mem_eq(dec, rfc4648[i].plain, len);
		ck_assert_int_eq(dec[len], '\0');
		free(enc);
		free(dec);
	}
}
END_TEST

START_TEST(test_every_byte_round_trips)
{
	unsigned char all[256 + 7];

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 37 + 11);
	for (size_t i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	/* every length, so every padding and every byte at every position
	 * of a block */
	for (size_t n = 0; n <= sizeof(all); n++) {
		for (size_t off = 0; off < 3 && off + n <= sizeof(all); off++) {
			char *enc = b64_encode(all + off, n), *dec = NULL;
			size_t len = 0;

			ck_assert_uint_eq(strlen(enc), (n + 2) / 3 * 4);
			ck_assert_uint_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
					  strlen(enc));
			ck_assert_int_eq(b64_decode(enc, strlen(enc), &dec, &len), 0);
			ck_assert_uint_eq(len, n);
			ck_assert(memcmp(dec, all + off, n) == 0);
			free(enc);
			free(dec);
		}
	}
	/* the high bytes use both + and / */
	{
		unsigned char hi[] = { 0xfb, 0xff, 0xbf };
		char *enc = b64_encode(hi, sizeof(hi));
		ck_assert_str_eq(enc, "+/+/");
		free(enc);
	}
}
END_TEST

START_TEST(test_length_is_explicit)
{
	/* slen bounds the text: what follows is not read */
	char *dec = NULL;
	size_t len = 0;

	ck_assert_int_eq(b64_decode("Zm9vYmFyXXXX", 8, &dec, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(dec, "foobar");
	free(dec);
	/* a NUL byte decoded stays in the length */
	ck_assert_int_eq(b64_decode("AGEA", 4, &dec, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(dec, "\0a\0", 3);
	free(dec);
}
END_TEST

START_TEST(test_refusals)
{
	static const char *const bad[] = {
		"Zg",	    /* unpadded */
		"Zg=",	    /* short padding */
		"Zm9",	    /* not a multiple of 4 */
		"Zm9vY",    /* the same, longer */
		"Zg==Zg==", /* padding inside */
		"Z===",	    /* three pad characters */
		"====",	    /* only padding */
		"=Zg=",	    /* padding first */
		"Zm=v",	    /* padding then a symbol */
		"Zm9v\n",   /* whitespace */
		"Zm 9v",    /* whitespace inside */
		"Zm9-",	    /* URL alphabet */
		"Zm9_",	    /* URL alphabet */
		"Zm9!",	    /* outside any alphabet */
		"Zh==",	    /* stray bits after the one byte of "f" */
		"Zm9=",	    /* stray bits after "fo" */
		"Zm\xc3\xa9", /* UTF-8 */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *dec = (char *)"untouched";
		size_t len = 42;

		ck_assert_msg(b64_decode(bad[i], strlen(bad[i]), &dec, &len) == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_str_eq(dec, "untouched");
		ck_assert_uint_eq(len, 42);
	}
	/* a NUL byte inside the given length is not a symbol either */
	{
		char *dec = NULL;
		size_t len = 0;
		ck_assert_int_eq(b64_decode("Zm\0v", 4, &dec, &len), -EINVAL);
		ck_assert_ptr_null(dec);
	}
}
END_TEST

static Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("b64");

	tcase_add_test(tc, test_rfc4648_vectors);
	tcase_add_test(tc, test_every_byte_round_trips);
	tcase_add_test(tc, test_length_is_explicit);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(b64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
