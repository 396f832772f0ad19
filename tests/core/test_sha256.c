/*
 * test_sha256: SHA-256 and HMAC-SHA256 against the published vectors
 * (FIPS 180-2 appendix B / NIST CSRC examples, RFC 4231 §4), against
 * OpenSSL's libcrypto on seeded random keys, messages and split points
 * (the oracle is linked into this test only, never into the core), and the
 * constant-time comparison's answers.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sha256.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void unhex(const char *s, uint8_t *out, size_t *ret_len)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	*ret_len = n;
}

static void assert_sha(const void *msg, size_t len, const char *want)
{
	uint8_t d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];

	sha256(msg, len, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, want);
}

START_TEST(test_nist_vectors)
{
	assert_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		   112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

	/* one million 'a', fed in uneven pieces */
	struct sha256 c;
	char *a = malloc(1000000);
	uint8_t d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];
	memset(a, 'a', 1000000);
	sha256_init(&c);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 7 % 1013 + 1)
		sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
	sha256_final(&c, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}
END_TEST

/* RFC 4231 §4.2-4.8 (case 5's output is truncated to 128 bits there). */
START_TEST(test_rfc4231_vectors)
{
	static const struct {
		const char *key, *data, *mac; /* hex, hex, hex */
	} v[] = {
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
		  "a3b6167473100ee06e0c796c2955552b" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[256], data[256], mac[SHA256_LEN];
		size_t kl, dl;
		char got[2 * SHA256_LEN + 1];
		unhex(v[i].key, key, &kl);
		unhex(v[i].data, data, &dl);
		hmac_sha256(key, kl, data, dl, mac);
		hex(mac, sizeof(mac), got);
		got[strlen(v[i].mac)] = '\0';
		ck_assert_msg(strcmp(got, v[i].mac) == 0, "RFC 4231 case %zu: %s", i + 1, got);
	}
}
END_TEST

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Lengths around every block boundary, keys shorter and longer than a
 * block, streamed in random pieces: the same bytes as libcrypto. */
START_TEST(test_against_libcrypto)
{
	uint8_t key[300], msg[700], mine[SHA256_LEN], theirs[SHA256_LEN];
	unsigned theirs_len;
	int n = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd();
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)rnd();
	for (size_t ml = 0; ml < sizeof(msg); ml += 1 + (ml > 200 ? rnd() % 13 : 0)) {
		size_t kl = rnd() % sizeof(key);
		struct hmac_sha256 h;

		SHA256(msg, ml, theirs);
		sha256(msg, ml, mine);
		ck_assert_msg(memcmp(mine, theirs, SHA256_LEN) == 0, "sha256 of %zu bytes", ml);

		HMAC(EVP_sha256(), key, (int)kl, msg, ml, theirs, &theirs_len);
		ck_assert_uint_eq(theirs_len, SHA256_LEN);
		hmac_sha256_init(&h, key, kl);
		for (size_t off = 0; off < ml;) {
			size_t step = 1 + rnd() % 97;
			if (off + step > ml)
				step = ml - off;
			hmac_sha256_update(&h, msg + off, step);
			off += step;
		}
		hmac_sha256_final(&h, mine);
		ck_assert_msg(memcmp(mine, theirs, SHA256_LEN) == 0, "hmac: key %zu bytes, message %zu bytes", kl, ml);
		n++;
	}
	ck_assert_int_gt(n, 250);
}
END_TEST

START_TEST(test_equal_ct)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	ck_assert(sha256_equal_ct(a, b, 32));
	ck_assert(sha256_equal_ct(a, b, 0));
	for (int i = 0; i < 32; i++) {
		b[i] = 0x80;
		ck_assert(!sha256_equal_ct(a, b, 32));
		b[i] = 0;
	}
	memset(b, 0xff, sizeof(b));
	sha256_wipe(b, sizeof(b));
	ck_assert(sha256_equal_ct(a, b, 32));
}
END_TEST

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("sha256");

	tcase_add_test(tc, test_nist_vectors);
	tcase_add_test(tc, test_rfc4231_vectors);
	tcase_add_test(tc, test_against_libcrypto);
	tcase_add_test(tc, test_equal_ct);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sha256_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
