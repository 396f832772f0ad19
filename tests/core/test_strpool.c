/*
 * test_strpool: equal strings give one copy until the pool is sealed, a
 * copy is equal to what was given and outlives it, long strings and many
 * strings (past a block, past the index's growth) keep their text, a
 * sealed pool still copies, NULL gives NULL, free accepts NULL.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"
#include "util.h"

START_TEST(test_equal_strings_share)
{
	struct strpool *p = strpool_new();
	char *a = xstrdup("agent_abc"), *b = xstrdup("agent_abc");
	const char *x = strpool_intern(p, a), *y = strpool_intern(p, b), *z = strpool_intern(p, "agent_abd");

	ck_assert_ptr_ne(x, a);
	ck_assert_ptr_eq(x, y);
	ck_assert_ptr_ne(x, z);
	free(a);
	free(b);
	ck_assert_str_eq(x, "agent_abc");
	ck_assert_str_eq(z, "agent_abd");
	ck_assert_ptr_null(strpool_intern(p, NULL));
	ck_assert_str_eq(strpool_intern(p, ""), "");
	strpool_free(p);
	strpool_free(NULL);
}
END_TEST

START_TEST(test_many_and_long)
{
	struct strpool *p = strpool_new();
	enum { N = 50000 };
	const char **v = xcalloc(N, sizeof(*v));
	char buf[64], *big = xcalloc(200001, 1);

	memset(big, 'x', 200000);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "job-%06d", i);
		v[i] = strpool_intern(p, buf);
		if (i == N / 2)
			ck_assert_str_eq(strpool_intern(p, big), big);
	}
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "job-%06d", i);
		ck_assert_str_eq(v[i], buf);
		ck_assert_ptr_eq(strpool_intern(p, buf), v[i]);
	}
	/* blocks are shared: far less than a malloc per string */
	ck_assert_uint_lt(strpool_bytes(p), (size_t)N * 11 + 200001 + (size_t)N * 8 * 4 + 65536 * 2);
	strpool_seal(p);
	ck_assert_str_eq(v[7], "job-000007");
	ck_assert_str_eq(strpool_intern(p, "job-000007"), "job-000007");
	ck_assert_ptr_ne(strpool_intern(p, "job-000007"), v[7]);
	free(big);
	free(v);
	strpool_free(p);
}
END_TEST

static Suite *strpool_suite(void)
{
	Suite *s = suite_create("strpool");
	TCase *tc = tcase_create("strpool");

	tcase_add_test(tc, test_equal_strings_share);
	tcase_add_test(tc, test_many_and_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(strpool_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
