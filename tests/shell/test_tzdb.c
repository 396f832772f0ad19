/*
 * test_tzdb: the shell's reading of the tz database: names, unknown zones
 * with a "did you mean", $TZDIR, files that are not TZif, the cache.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "tzdb.h"
#include "util.h"

static void read_zone_file(const char *name, char **ret, size_t *ret_len)
{
	char *path = xasprintf("/usr/share/zoneinfo/%s", name);

	ck_assert_int_eq(file_read(path, 1 << 20, ret, ret_len), 0);
	free(path);
}

START_TEST(test_names)
{
	static const char *const bad[] = {
		"", "../etc/passwd", "/etc/localtime", "America/../../etc/passwd", "America//New_York",
		"America/New_York/", "/", ".", "..", "America/New York", "America/New_York\n",
		"Europe/Berlin.tab", "-rf", "America/-x", "Amer\\ica",
	};
	static const char *const good[] = { "UTC", "America/New_York", "Etc/GMT+5", "Etc/GMT-14",
					    "America/Argentina/Buenos_Aires", "EST5EDT" };
	struct tz *z = (struct tz *)0x1;
	char *cause = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(!tz_name_valid(bad[i]), "'%s' valid", bad[i]);
		ck_assert_int_eq(tzdb_load(bad[i], &z, &cause), -EINVAL);
		ck_assert(cause && strstr(cause, "invalid time zone name"));
		freep(&cause);
	}
	ck_assert(!tz_name_valid(NULL));
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ck_assert_msg(tz_name_valid(good[i]), "'%s' invalid", good[i]);

	ck_assert_int_eq(tzdb_load("Foo/Bar", &z, &cause), -ENOENT);
	ck_assert_str_eq(cause, "unknown time zone 'Foo/Bar'");
	freep(&cause);
	ck_assert_int_eq(tzdb_load("Amerca/New_York", &z, &cause), -ENOENT);
	ck_assert_str_eq(cause, "unknown time zone 'Amerca/New_York' (did you mean 'America/New_York'?)");
	freep(&cause);
	ck_assert_int_eq(tzdb_load("Europe/Berln", &z, &cause), -ENOENT);
	ck_assert_str_eq(cause, "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)");
	freep(&cause);
	ck_assert_int_eq(tzdb_load("America", &z, &cause), -ENOENT); /* a folder */
	ck_assert(strstr(cause, "unknown time zone 'America'"));
	freep(&cause);
	ck_assert_int_eq(tzdb_load("America/New_York/x", &z, &cause), -ENOENT);
	freep(&cause);
	ck_assert(z == (struct tz *)0x1);
	/* A missing cause pointer is allowed. */
	ck_assert_int_eq(tzdb_load("Foo/Bar", &z, NULL), -ENOENT);
	tz_free(NULL);
}
END_TEST

START_TEST(test_tzdir)
{
	char dir[] = "/tmp/test_tz.XXXXXX", *path, *cause = NULL, *data;
	size_t len;
	FILE *f;
	struct tz *z;

	ck_assert(mkdtemp(dir) != NULL);
	path = xasprintf("%s/Bad", dir);
	f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs("not a zone\n", f);
	fclose(f);
	setenv("TZDIR", dir, 1);
	ck_assert_int_eq(tzdb_load("Bad", &z, &cause), -EBADMSG);
	ck_assert_msg(strstr(cause, "time zone 'Bad': not a valid TZif file") && strstr(cause, path),
		      "cause: %s", cause);
	freep(&cause);
	/* TZDIR is honoured: a copy of New York under another name loads. */
	read_zone_file("America/New_York", &data, &len);
	free(path);
	path = xasprintf("%s/Mine", dir);
	f = fopen(path, "w");
	ck_assert(f != NULL);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(tzdb_load("Mine", &z, &cause), 0);
	ck_assert_int_eq(tz_to_instant(z, &(struct civil){ 2026, 11, 1, 1, 30, 0 }, NULL), 1793511000);
	tz_free(z);
	/* No tzdata.zi there: no hint, but still a clear message. */
	ck_assert_int_eq(tzdb_load("America/New_York", &z, &cause), -ENOENT);
	ck_assert_str_eq(cause, "unknown time zone 'America/New_York'");
	freep(&cause);
	unsetenv("TZDIR");
	unlink(path);
	free(path);
	path = xasprintf("%s/Bad", dir);
	unlink(path);
	free(path);
	rmdir(dir);
	free(data);
}
END_TEST

START_TEST(test_cache_hint)
{
	struct tz_cache *c = tzdb_cache_new();
	const struct tz *a, *z = (const struct tz *)0x1;
	char *cause = NULL;

	ck_assert_int_eq(tz_cache_get(c, "America/New_York", &a, NULL), 0);
	ck_assert_int_eq(tz_to_instant(a, &(struct civil){ 2026, 3, 8, 2, 30, 0 }, NULL), 1772955000);
	ck_assert_int_eq(tz_cache_get(c, "Amerca/New_York", &z, &cause), -ENOENT);
	ck_assert(strstr(cause, "did you mean 'America/New_York'"));
	freep(&cause);
	ck_assert_int_eq(tz_cache_get(c, "../etc/passwd", &z, &cause), -EINVAL);
	ck_assert(strstr(cause, "invalid time zone name"));
	freep(&cause);
	ck_assert(z == (const struct tz *)0x1);
	tz_cache_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tzdb");
	TCase *tc = tcase_create("tzdb");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_tzdir);
	tcase_add_test(tc, test_cache_hint);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
