/*
 * test_store: the file backend's folder, read through the store interface.
 * Every put appends to one journal file (no file per run); a load finds
 * every run once, newest record first, and counts the journal; a removal
 * is a line that stands against the records before it; a last line cut
 * short by a crash is skipped, a damaged line in the middle is damage;
 * compacting (only when due, or forced) folds the journal into the runs'
 * own files and removes it; files that are no run are ignored, and a
 * damaged run file is reported under its run's identity.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "store.h"
#include "util.h"

static char dir[] = "/tmp/test_store.XXXXXX";

static struct run *mk(const char *job, int64_t start, uint64_t gen)
{
	struct run *r = xcalloc(1, sizeof(*r));

	r->job = xstrdup(job);
	r->start = start;
	r->call_name = xasprintf("%s %lld", job, (long long)start);
	r->state = RUN_SCHEDULED;
	r->gen = gen;
	return r;
}

struct seen {
	size_t runs, damaged;
	uint64_t gen_of_a;
	char *damaged_job;
};

static void load_cb(const struct run_key *key, struct run *r, const char *cause, const char *where, void *arg)
{
	struct seen *s = arg;

	if (r) {
		s->runs++;
		if (strcmp(r->job, "a") == 0)
			s->gen_of_a = r->gen;
		run_free(r);
		return;
	}
	s->damaged++;
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(where);
	if (key) {
		free(s->damaged_job);
		s->damaged_job = xstrdup(key->job);
	}
}

/* Files in dir/runs whose name starts with prefix. */
static size_t count_files(const char *prefix)
{
	char *runs = xasprintf("%s/runs", dir);
	DIR *d = opendir(runs);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	free(runs);
	return n;
}

static void load(struct seen *s, struct store_load_info *info)
{
	struct store *st = NULL;
	char *cause = NULL;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, s, info), 0);
	/* fold what lives only in journals into the runs' own files */
	ck_assert_int_eq(store_compact(st, SIZE_MAX), 0);
	store_close(st);
}

START_TEST(test_journal_load_and_clear)
{
	struct store *st = NULL;
	struct store_load_info info;
	struct run *v[3] = { mk("a", 1000, 1), mk("b", 2000, 1), mk("c", 3000, 1) };
	struct seen s;
	char *cause = NULL, *path;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 3), 0);
	ck_assert_uint_eq(count_files("journal-"), 1);
	/* a newer record of a, appended to the same journal, wins */
	v[0]->gen = 2;
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	ck_assert_uint_eq(count_files("journal-"), 1);
	ck_assert_uint_eq(count_files("a@"), 0);
	/* not due: compaction writes nothing */
	ck_assert_int_eq(store_compact(st, 32), 0);
	ck_assert_uint_eq(count_files("a@"), 0);
	store_close(st);
	for (size_t i = 0; i < 3; i++)
		run_free(v[i]);

	/* neither a run nor a journal: ignored by the scan */
	path = xasprintf("%s/runs/notes.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a run\n", f);
	fclose(f);
	free(path);

	load(&s, &info);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(s.damaged, 0);
	ck_assert_uint_eq(s.gen_of_a, 2);
	ck_assert_uint_eq(info.journals, 1);
	ck_assert(!info.journal_damaged);
	/* compacted: the journal is gone, every run has its own file; the
	 * next journal is begun, empty, for the next put */
	ck_assert_uint_eq(count_files("journal-"), 1);
	ck_assert_uint_eq(count_files("journal-1.jsonl"), 1);
	ck_assert_uint_eq(count_files("a@"), 1);
	ck_assert_uint_eq(count_files("b@"), 1);
	ck_assert_uint_eq(count_files("c@"), 1);
	ck_assert_uint_eq(count_files("notes.txt"), 1);

	load(&s, &info);
	ck_assert_uint_eq(s.runs, 3);
	ck_assert_uint_eq(info.journals, 1); /* the empty one */

	/* a damaged run file: reported with its run's identity, kept aside */
	path = xasprintf("%s/runs/b@2000.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format\":", f);
	fclose(f);
	free(path);
	load(&s, &info);
	ck_assert_uint_eq(s.runs, 2);
	ck_assert_uint_eq(s.damaged, 1);
	ck_assert_str_eq(s.damaged_job, "b");
	ck_assert_uint_eq(count_files("b@2000.json.damaged"), 1);
	free(s.damaged_job);
}
END_TEST

static char *slurp(const char *name)
{
	char *path = xasprintf("%s/runs/%s", dir, name), *text = xcalloc(1, 1 << 16);
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, (1 << 16) - 1, f);
	text[n] = '\0';
	fclose(f);
	free(path);
	return text;
}

static void append_raw(const char *name, const char *text)
{
	char *path = xasprintf("%s/runs/%s", dir, name);
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static void fresh_dir(void)
{
	strcpy(dir, "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Load without compacting: what a crash at that point would find. */
static void load_only(struct seen *s, struct store_load_info *info)
{
	struct store *st = NULL;
	char *cause = NULL;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, s, info), 0);
	store_close(st);
}

START_TEST(test_removal_lines)
{
	struct store *st = NULL;
	struct store_load_info info;
	struct run *v[2] = { mk("a", 1000, 1), mk("b", 2000, 1) };
	struct seen s;
	char *cause = NULL, *text;

	fresh_dir();
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2), 0);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	text = slurp("journal-0.jsonl");
	ck_assert_ptr_nonnull(strstr(text, "{\"remove\":{\"job\":\"a\",\"start\":1000,\"part\":null}}\n"));
	free(text);
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 1);
	ck_assert_uint_eq(s.gen_of_a, 0);

	/* the run comes back after its removal, with a lower gen: it stands */
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, &s, &info), 0);
	v[0]->gen = 0;
	v[0]->state = RUN_PENDING;
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	ck_assert_uint_eq(count_files("journal-"), 2);
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 2);
	ck_assert_uint_eq(info.journals, 2);

	/* folded into own files, then removed again: the own file goes too */
	load(&s, &info);
	ck_assert_uint_eq(count_files("a@"), 1);
	ck_assert_uint_eq(count_files("journal-"), 1);
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, &s, &info), 0);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	ck_assert_uint_eq(count_files("a@"), 0);
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 1);
	for (size_t i = 0; i < 2; i++)
		run_free(v[i]);
}
END_TEST

START_TEST(test_torn_and_damaged_lines)
{
	struct store *st = NULL;
	struct store_load_info info;
	struct run *v[2] = { mk("a", 1000, 1), mk("b", 2000, 1) };
	struct seen s;
	char *cause = NULL;

	fresh_dir();
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 2), 0);
	store_close(st);
	/* a crash cut the next append short: skipped, not damage */
	append_raw("journal-0.jsonl", "{ \"version\": 3, \"job\": \"a\", \"sta");
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 2);
	ck_assert_uint_eq(s.damaged, 0);
	ck_assert_uint_eq(info.torn, 1);
	ck_assert(!info.journal_damaged);
	/* the same bytes with a line after them: damage, named by its line */
	append_raw("journal-0.jsonl", "\n{}\n");
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 2);
	ck_assert_uint_eq(s.damaged, 2);
	ck_assert_uint_eq(info.torn, 0);
	ck_assert(info.journal_damaged);
	ck_assert_uint_eq(count_files("journal-0.jsonl.damaged"), 1);
	/* the next daemon never appends to a journal it found */
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, &s, &info), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	ck_assert_uint_eq(count_files("journal-1.jsonl"), 1);
	for (size_t i = 0; i < 2; i++)
		run_free(v[i]);
}
END_TEST


/* kill -9 (or a power cut before the folder's sync) after the
 * removal line is synced and before the run's own file is unlinked: the
 * next start loads correctly (the removal line stands against the own
 * file), but its compaction removes the journal, the removal line with
 * it, and leaves the own file: the start after that brings the removed
 * run back. */
START_TEST(test_attack_removed_run_resurrects)
{
	struct store *st = NULL;
	struct store_load_info info;
	struct run *v[1] = { mk("a", 1000, 5) };
	struct seen s;
	char *cause = NULL, *text, *path;

	fresh_dir();
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	ck_assert_int_eq(store_compact(st, SIZE_MAX), 0); /* a@1000.json written */
	store_close(st);
	ck_assert_uint_eq(count_files("a@"), 1);
	text = slurp("a@1000.json");

	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, &s, &info), 0);
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	/* the crash point: removal line durable, own file not yet unlinked */
	append_raw("a@1000.json", text);
	free(text);
	path = xasprintf("%s/runs/a@1000.json", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	free(path);

	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 0); /* correct: the removal stands */
	load(&s, &info);              /* the next daemon's start: compacts */
	ck_assert_uint_eq(s.runs, 0);
	load_only(&s, &info);         /* the start after that */
	ck_assert_msg(s.runs == 0, "removed run a came back (gen %llu) after a compaction",
		      (unsigned long long)s.gen_of_a);

	/* the same crash point, then the run is made again under its name
	 * with a lower gen: the old file goes at load, the new record is
	 * folded into a file of its own and stays */
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_load(st, load_cb, &s, &info), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	ck_assert_int_eq(store_compact(st, SIZE_MAX), 0);
	text = slurp("a@1000.json");
	ck_assert_int_eq(store_remove(st, (const struct run *const *)v, 1), 0);
	v[0]->gen = 1;
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	store_close(st);
	append_raw("a@1000.json", text); /* the gen 5 file is back: the crash */
	free(text);
	load(&s, &info);
	ck_assert_uint_eq(s.runs, 1);
	ck_assert_uint_eq(s.gen_of_a, 1);
	load_only(&s, &info);
	ck_assert_uint_eq(s.runs, 1);
	ck_assert_uint_eq(s.gen_of_a, 1);
	run_free(v[0]);
}
END_TEST

/* A removal whose journal append fails (disk full; here the file
 * size limit) has already dropped the run's newest record from the
 * backend's to-write list; the removal returns an error (the engine keeps
 * the run), and the next compaction (at stop at the latest) clears the
 * journals without writing that record to the run's own file: load
 * returns an older record than the one put acknowledged. */
START_TEST(test_attack_failed_removal_reverts_run)
{
	struct store *st = NULL;
	struct store_load_info info;
	struct run *v[1] = { mk("a", 1000, 1) };
	struct seen s;
	char *cause = NULL, *path;
	struct rlimit old, lim;
	struct stat sb;
	int rc;

	fresh_dir();
	ck_assert_int_eq(store_file_open(dir, &st, &cause), 0);
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0);
	ck_assert_int_eq(store_compact(st, SIZE_MAX), 0); /* own file: gen 1 */
	v[0]->gen = 2;
	v[0]->state = RUN_COMPLETED;
	ck_assert_int_eq(store_put(st, (const struct run *const *)v, 1), 0); /* acknowledged: gen 2 */

	path = xasprintf("%s/runs/journal-1.jsonl", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	free(path);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = store_remove(st, (const struct run *const *)v, 1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_lt(rc, 0); /* failed: "the records may still be there" */

	ck_assert_int_eq(store_compact(st, SIZE_MAX), 0); /* e.g. at stop */
	store_close(st);
	load_only(&s, &info);
	ck_assert_msg(s.runs == 0 || s.gen_of_a == 2,
		      "after a failed removal and a compaction, load returns gen %llu, not the acknowledged gen 2",
		      (unsigned long long)s.gen_of_a);
	run_free(v[0]);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, test_journal_load_and_clear);
	tcase_add_test(tc, test_removal_lines);
	tcase_add_test(tc, test_torn_and_damaged_lines);
	tcase_add_test(tc, test_attack_removed_run_resurrects);
	tcase_add_test(tc, test_attack_failed_removal_reverts_run);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	/* one process: the test's folder is known after the run */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed == 0) {
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_store: could not remove %s\n", dir);
		free(cmd);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
