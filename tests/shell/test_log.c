/*
 * test_log: the console line format, sanitising, the capture writer that
 * other suites use, $JOURNAL_STREAM detection and the MESSAGE_ID table
 * (checked against the catalog file). The journal itself is exercised by
 * tests/journal.sh against a private journald.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "util.h"

static const struct log_fields full_fields = {
	.job = "dec-renewals",
	.run_start = 1764597600,
	.batch_id = "btcal_01",
	.state = "pending",
	.attempt = 2,
	.http_status = 503,
};

START_TEST(test_console_full_line)
{
	struct log_entry e = {
		.priority = LOG_WARNING,
		.ev = EV_SUBMITTED,
		.message = "job 'dec-renewals': submitted",
		.f = full_fields,
	};
	char *s = log_format_console(&e);

	ck_assert_str_eq(s, "warning: job 'dec-renewals': submitted job_name=dec-renewals "
			    "run_start=1764597600 batch_id=btcal_01 job_event=submitted "
			    "job_state=pending attempt=2 http_status=503");
	free(s);
}
END_TEST

START_TEST(test_console_no_fields)
{
	struct log_entry e = { .priority = LOG_INFO, .ev = EV_NONE, .message = "hello world" };
	char *s = log_format_console(&e);

	ck_assert_str_eq(s, "info: hello world");
	free(s);
	/* A daemon event has a MESSAGE_ID but no job_event. */
	e.ev = EV_RELOADED;
	e.priority = LOG_ERR;
	s = log_format_console(&e);
	ck_assert_str_eq(s, "err: hello world");
	free(s);
}
END_TEST

START_TEST(test_console_quoting)
{
	struct log_entry e = {
		.priority = LOG_DEBUG,
		.ev = EV_STATUS,
		.message = "m",
		.f = { .job = "a", .batch_id = "two words", .state = "" },
	};
	char *s = log_format_console(&e);

	ck_assert_str_eq(s, "debug: m job_name=a batch_id=\"two words\" job_event=status job_state=\"\"");
	free(s);
	e.f = (struct log_fields){ .job = "q\"x", .batch_id = "a=b", .state = "back\\slash" };
	s = log_format_console(&e);
	ck_assert_str_eq(s, "debug: m job_name=\"q\\\"x\" batch_id=\"a=b\" job_event=status "
			    "job_state=\"back\\\\slash\"");
	free(s);
}
END_TEST

START_TEST(test_sanitise)
{
	char *s = log_sanitise("a\nb\tc\rd\x01" "e\x7f" "f\xc3\xa9");

	ck_assert_str_eq(s, "a\\nb\\tc\\rd\\x01e\\x7ff\xc3\xa9");
	free(s);
	/* Not UTF-8: a lone continuation byte, a truncated sequence, an
	 * overlong '/', a surrogate; valid 3- and 4-byte sequences pass. */
	s = log_sanitise("x\x80y\xc3" "z\xc0\xaf\xed\xa0\x80\xe2\x82\xac\xf0\x9f\x93\x9e");
	ck_assert_str_eq(s, "x\\x80y\\xc3z\\xc0\\xaf\\xed\\xa0\\x80\xe2\x82\xac\xf0\x9f\x93\x9e");
	free(s);
	s = log_sanitise("end\xf0\x9f");
	ck_assert_str_eq(s, "end\\xf0\\x9f");
	free(s);
	ck_assert_ptr_null(log_sanitise(NULL));
}
END_TEST

START_TEST(test_priority_names)
{
	ck_assert_str_eq(log_priority_name(LOG_EMERG), "emerg");
	ck_assert_str_eq(log_priority_name(LOG_ERR), "err");
	ck_assert_str_eq(log_priority_name(LOG_WARNING), "warning");
	ck_assert_str_eq(log_priority_name(LOG_NOTICE), "notice");
	ck_assert_str_eq(log_priority_name(LOG_INFO), "info");
	ck_assert_str_eq(log_priority_name(LOG_DEBUG), "debug");
}
END_TEST

START_TEST(test_capture_records_fields)
{
	struct log_capture c;
	const struct log_capture_entry *e;
	struct log_fields f = full_fields;

	log_capture_start(&c);
	f.job = "evil\njob";
	log_event(LOG_ERR, EV_ERROR, &f, "job '%s': refused (HTTP %ld): %s", "x", 422L, "bad\x1b[31m");
	log_event(LOG_DEBUG, EV_STATUS, &full_fields, "poll");
	log_msg(LOG_INFO, "plain %d", 7);
	ck_assert_uint_eq(log_capture_count(&c, EV__MAX), 3);
	ck_assert_uint_eq(log_capture_count(&c, EV_STATUS), 1);

	e = log_capture_find(&c, EV_ERROR, NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->priority, LOG_ERR);
	ck_assert_str_eq(e->message, "job 'x': refused (HTTP 422): bad\\x1b[31m");
	ck_assert_str_eq(e->job, "evil\\njob");
	ck_assert_int_eq(e->run_start, 1764597600);
	ck_assert_str_eq(e->batch_id, "btcal_01");
	ck_assert_str_eq(e->state, "pending");
	ck_assert_int_eq(e->attempt, 2);
	ck_assert_int_eq(e->http_status, 503);

	/* The capture sees debug entries: tests assert on priorities. */
	e = log_capture_find(&c, EV_STATUS, "dec-renewals");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->priority, LOG_DEBUG);
	ck_assert_ptr_null(log_capture_find(&c, EV_STATUS, "other"));

	e = &c.v[2];
	ck_assert_int_eq(e->ev, EV_NONE);
	ck_assert_str_eq(e->message, "plain 7");
	ck_assert_ptr_null(e->job);
	ck_assert_ptr_null(e->batch_id);
	ck_assert_ptr_null(e->state);
	ck_assert_int_eq(e->run_start, 0);

	log_capture_clear(&c);
	ck_assert_uint_eq(log_capture_count(&c, EV__MAX), 0);
	log_capture_stop(&c);
}
END_TEST

START_TEST(test_capture_nests)
{
	struct log_capture outer, inner;

	log_capture_start(&outer);
	log_capture_start(&inner);
	log_msg(LOG_INFO, "to inner");
	log_capture_stop(&inner);
	log_msg(LOG_INFO, "to outer");
	ck_assert_uint_eq(log_capture_count(&outer, EV__MAX), 1);
	ck_assert_str_eq(outer.v[0].message, "to outer");
	log_capture_stop(&outer);
}
END_TEST

START_TEST(test_errno_preserved)
{
	struct log_capture c;

	log_capture_start(&c);
	errno = EPIPE;
	log_msg(LOG_ERR, "write failed: %m");
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_str_eq(c.v[0].message, "write failed: Broken pipe");
	log_capture_stop(&c);
}
END_TEST

/* Run fn with stderr redirected to a file; return what it wrote. */
static char *stderr_of(void (*fn)(void))
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path), saved;
	char *out;
	size_t len;

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	fn();
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	close(fd);
	ck_assert_int_eq(file_read(path, 1 << 20, &out, &len), 0);
	unlink(path);
	return out;
}

static void emit_console(void)
{
	log_open(LOG_TARGET_CONSOLE, LOG_INFO);
	log_event(LOG_DEBUG, EV_STATUS, &full_fields, "routine poll");
	log_event(LOG_INFO, EV_FINISHED, &full_fields, "job '%s': batch finished", "dec-renewals");
	log_msg(LOG_NOTICE, "two\nlines");
	log_set_max_priority(LOG_DEBUG);
	log_msg(LOG_DEBUG, "now visible");
	log_set_max_priority(LOG_INFO);
}

START_TEST(test_console_writer)
{
	char *out = stderr_of(emit_console);

	ck_assert_str_eq(out, "info: job 'dec-renewals': batch finished job_name=dec-renewals "
			      "run_start=1764597600 batch_id=btcal_01 job_event=finished "
			      "job_state=pending attempt=2 http_status=503\n"
			      "notice: two\\nlines\n"
			      "debug: now visible\n");
	free(out);
}
END_TEST

static enum log_target journal_target_after_open;

static void emit_journal(void)
{
	log_open(LOG_TARGET_JOURNAL, LOG_INFO);
	journal_target_after_open = log_get_target();
	log_msg(LOG_DEBUG, "dropped");
	log_msg(LOG_NOTICE, "fallback");
}

START_TEST(test_journal_unreachable)
{
	char *out;

	/* No journald: the journal target falls back to the console
	 * (libsystemd would drop the entries silently); debug stays off. The
	 * socket is moved to a path that does not exist, so this runs on a
	 * host with journald too. */
	log_test_journal_socket(TOP_BUILDDIR "/no-such-dir/journal/socket");
	out = stderr_of(emit_journal);
	ck_assert_int_eq(journal_target_after_open, LOG_TARGET_CONSOLE);
	ck_assert_str_eq(out, "notice: fallback\n");
	free(out);
	/* A socket there (any file will do: only its existence is looked
	 * at): the journal target is kept. Nothing is logged, so nothing
	 * reaches this host's journal; the entries themselves are
	 * tests/journal.sh's, against a private journald. */
	log_test_journal_socket("/dev/null");
	log_open(LOG_TARGET_JOURNAL, LOG_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
	log_test_journal_socket(NULL);
	log_open(LOG_TARGET_CONSOLE, LOG_INFO);
}
END_TEST

START_TEST(test_journal_stream_detection)
{
	struct stat st;
	char *v;
	enum log_target t;

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	v = xasprintf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	ck_assert(log_stderr_is_journal());
	/* With journald's socket there: the journal; without it the
	 * console (tests/journal.sh checks auto with a real one). */
	log_test_journal_socket("/dev/null");
	log_open(LOG_TARGET_AUTO, LOG_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_JOURNAL);
	log_test_journal_socket(TOP_BUILDDIR "/no-such-dir/journal/socket");
	log_open(LOG_TARGET_AUTO, LOG_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_CONSOLE);
	log_test_journal_socket(NULL);
	free(v);

	/* Another stream (e.g. inherited by a child whose stderr was redirected). */
	v = xasprintf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	ck_assert(!log_stderr_is_journal());
	log_open(LOG_TARGET_AUTO, LOG_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_CONSOLE);
	free(v);

	setenv("JOURNAL_STREAM", "garbage", 1);
	ck_assert(!log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "1:", 1);
	ck_assert(!log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	ck_assert(!log_stderr_is_journal());
	log_open(LOG_TARGET_AUTO, LOG_INFO);
	ck_assert_int_eq(log_get_target(), LOG_TARGET_CONSOLE);

	ck_assert_int_eq(log_target_parse("auto", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_AUTO);
	ck_assert_int_eq(log_target_parse("journal", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_JOURNAL);
	ck_assert_int_eq(log_target_parse("console", &t), 0);
	ck_assert_int_eq(t, LOG_TARGET_CONSOLE);
	t = LOG_TARGET_JOURNAL;
	ck_assert_int_eq(log_target_parse("syslog", &t), -EINVAL);
	ck_assert_int_eq(log_target_parse(NULL, &t), -EINVAL);
	ck_assert_int_eq(t, LOG_TARGET_JOURNAL);
}
END_TEST

START_TEST(test_event_table)
{
	static const char *const job_events[] = {
		"scheduled", "submitted", "adopted", "status", "retried",
		"cancelled", "finished", "missed", "error", "late",
	};
	size_t njob = 0;

	ck_assert_ptr_null(log_event_message_id(EV_NONE));
	ck_assert_ptr_null(log_event_job_name(EV_NONE));
	ck_assert_str_eq(log_event_job_name(EV_SCHEDULED), "scheduled");
	ck_assert_str_eq(log_event_job_name(EV_LATE), "late");
	ck_assert_ptr_null(log_event_job_name(EV_REMOVED));
	ck_assert_ptr_null(log_event_job_name(EV_RELOAD_FAILED));
	for (int k = EV_NONE + 1; k < EV__MAX; k++) {
		const char *id = log_event_message_id((enum log_event)k);
		const char *je = log_event_job_name((enum log_event)k);

		ck_assert_msg(id != NULL, "event %d has no MESSAGE_ID", k);
		ck_assert_uint_eq(strlen(id), 32);
		ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
		for (int j = EV_NONE + 1; j < k; j++)
			ck_assert_str_ne(id, log_event_message_id((enum log_event)j));
		if (je) {
			ck_assert_uint_lt(njob, ARRAY_SIZE(job_events));
			ck_assert_str_eq(je, job_events[njob]);
			njob++;
		}
	}
	ck_assert_uint_eq(njob, ARRAY_SIZE(job_events));
}
END_TEST

START_TEST(test_catalog_covers_every_id)
{
	char *cat, *p;
	size_t len, entries = 0;
	const char *header = "-- ";

	ck_assert_int_eq(file_read(TOP_BUILDDIR "/systemd/batchcalld.catalog", 1 << 20, &cat, &len), 0);
	for (int k = EV_NONE + 1; k < EV__MAX; k++) {
		char *needle = xasprintf("\n-- %s\n", log_event_message_id((enum log_event)k));

		ck_assert_msg(strstr(cat, needle) != NULL, "catalog lacks %s (%s)",
			      log_event_message_id((enum log_event)k), log_event_name((enum log_event)k));
		free(needle);
	}
	/* ... and holds no entry for an id the daemon never sends. */
	for (p = cat; (p = strstr(p, header)) != NULL; p += 3)
		if (p == cat || p[-1] == '\n')
			entries++;
	ck_assert_uint_eq(entries, EV__MAX - 1);
	free(cat);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_console_full_line);
	tcase_add_test(tc, test_console_no_fields);
	tcase_add_test(tc, test_console_quoting);
	tcase_add_test(tc, test_sanitise);
	tcase_add_test(tc, test_priority_names);
	tcase_add_test(tc, test_capture_records_fields);
	tcase_add_test(tc, test_capture_nests);
	tcase_add_test(tc, test_errno_preserved);
	tcase_add_test(tc, test_console_writer);
	tcase_add_test(tc, test_journal_unreachable);
	tcase_add_test(tc, test_journal_stream_detection);
	tcase_add_test(tc, test_event_table);
	tcase_add_test(tc, test_catalog_covers_every_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
