# core layer: pure modules (no clock, no sockets, no files, no environment)
# and their check suites, which link the core library alone.
src_core_libcore_a_SOURCES += \
	src/core/util.c src/core/util.h \
	src/core/utf8.c src/core/utf8.h \
	src/core/sbuf.c src/core/sbuf.h \
	src/core/civil.c src/core/civil.h \
	src/core/tz.c src/core/tz.h \
	src/core/csv.c src/core/csv.h \
	src/core/jobspec.c src/core/jobspec.h \
	src/core/calendar.c src/core/calendar.h \
	src/core/window.c src/core/window.h \
	src/core/schedule.c src/core/schedule.h \
	src/core/plan.c src/core/plan.h \
	src/core/batch.c src/core/batch.h \
	src/core/codec.c src/core/codec.h \
	src/core/backoff.c src/core/backoff.h \
	src/core/apiclock.c src/core/apiclock.h \
	src/core/ratelimit.c src/core/ratelimit.h \
	src/core/run.c src/core/run.h \
	src/core/occur.c src/core/occur.h \
	src/core/state.c src/core/state.h \
	src/core/stats.c src/core/stats.h \
	src/core/ctlview.c src/core/ctlview.h \
	src/core/sha256.c src/core/sha256.h \
	src/core/jsonin.c src/core/jsonin.h \
	src/core/conv.c src/core/conv.h \
	src/core/webhook.c src/core/webhook.h \
	src/core/results.c src/core/results.h \
	src/core/suppress.c src/core/suppress.h src/core/ledger.c src/core/ledger.h \
	src/core/b64.c src/core/b64.h \
	src/core/strpool.c src/core/strpool.h \
	src/core/etcdmsg.c src/core/etcdmsg.h

CORE_TEST_CPPFLAGS = $(CORE_CPPFLAGS) -I$(top_srcdir)/tests
CORE_TEST_CFLAGS = $(CORE_CFLAGS) $(CHECK_CFLAGS) $(TEST_DEFINES)
CORE_TEST_LIBS = tests/libfixture.a $(CORE_LIBS) $(CHECK_LIBS)
CORE_TESTS = tests/core/test_util tests/core/test_utf8 tests/core/test_sbuf tests/core/test_civil tests/core/test_tz tests/core/test_csv tests/core/test_calendar tests/core/test_window tests/core/test_batch tests/core/test_codec tests/core/test_backoff \
	tests/core/test_ratelimit tests/core/test_apiclock tests/core/test_run tests/core/test_occur tests/core/test_state tests/core/test_ctlview \
	tests/core/test_jobspec tests/core/test_stats tests/core/test_schedule tests/core/test_plan \
	tests/core/test_sha256 tests/core/test_conv tests/core/test_webhook tests/core/test_results \
	tests/core/test_suppress tests/core/test_ledger tests/core/test_b64 tests/core/test_etcdmsg \
	tests/core/test_strpool
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
tests_core_test_util_SOURCES = tests/core/test_util.c
tests_core_test_util_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_util_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_util_LDADD = $(CORE_TEST_LIBS)
tests_core_test_jobspec_SOURCES = tests/core/test_jobspec.c
tests_core_test_jobspec_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_jobspec_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_jobspec_LDADD = $(CORE_TEST_LIBS)
tests_core_test_schedule_SOURCES = tests/core/test_schedule.c
tests_core_test_schedule_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_schedule_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_schedule_LDADD = $(CORE_TEST_LIBS)
tests_core_test_plan_SOURCES = tests/core/test_plan.c
tests_core_test_plan_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_plan_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_plan_LDADD = $(CORE_TEST_LIBS)
tests_core_test_stats_SOURCES = tests/core/test_stats.c
tests_core_test_stats_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_stats_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_stats_LDADD = $(CORE_TEST_LIBS)
tests_core_test_sbuf_SOURCES = tests/core/test_sbuf.c
tests_core_test_strpool_SOURCES = tests/core/test_strpool.c
tests_core_test_utf8_SOURCES = tests/core/test_utf8.c
tests_core_test_civil_SOURCES = tests/core/test_civil.c
tests_core_test_tz_SOURCES = tests/core/test_tz.c
tests_core_test_csv_SOURCES = tests/core/test_csv.c
tests_core_test_calendar_SOURCES = tests/core/test_calendar.c
tests_core_test_window_SOURCES = tests/core/test_window.c
tests_core_test_batch_SOURCES = tests/core/test_batch.c
tests_core_test_codec_SOURCES = tests/core/test_codec.c
tests_core_test_backoff_SOURCES = tests/core/test_backoff.c
tests_core_test_ratelimit_SOURCES = tests/core/test_ratelimit.c
tests_core_test_apiclock_SOURCES = tests/core/test_apiclock.c
tests_core_test_run_SOURCES = tests/core/test_run.c
tests_core_test_occur_SOURCES = tests/core/test_occur.c
tests_core_test_occur_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_occur_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_occur_LDADD = $(CORE_TEST_LIBS)
tests_core_test_state_SOURCES = tests/core/test_state.c
tests_core_test_ctlview_SOURCES = tests/core/test_ctlview.c
tests_core_test_sbuf_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_strpool_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_utf8_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_civil_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_tz_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_csv_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_calendar_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_window_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_batch_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_codec_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_backoff_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_ratelimit_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_apiclock_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_run_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_state_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_ctlview_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_sbuf_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_strpool_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_utf8_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_civil_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_tz_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_csv_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_calendar_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_window_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_batch_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_codec_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_backoff_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_ratelimit_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_apiclock_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_run_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_state_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_ctlview_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_sbuf_LDADD = $(CORE_TEST_LIBS)
tests_core_test_strpool_LDADD = $(CORE_TEST_LIBS)
tests_core_test_utf8_LDADD = $(CORE_TEST_LIBS)
tests_core_test_civil_LDADD = $(CORE_TEST_LIBS)
tests_core_test_tz_LDADD = $(CORE_TEST_LIBS)
tests_core_test_csv_LDADD = $(CORE_TEST_LIBS)
tests_core_test_calendar_LDADD = $(CORE_TEST_LIBS)
tests_core_test_window_LDADD = $(CORE_TEST_LIBS)
tests_core_test_batch_LDADD = $(CORE_TEST_LIBS)
tests_core_test_codec_LDADD = $(CORE_TEST_LIBS)
tests_core_test_backoff_LDADD = $(CORE_TEST_LIBS)
tests_core_test_ratelimit_LDADD = $(CORE_TEST_LIBS)
tests_core_test_apiclock_LDADD = $(CORE_TEST_LIBS)
tests_core_test_run_LDADD = $(CORE_TEST_LIBS)
tests_core_test_state_LDADD = $(CORE_TEST_LIBS)
tests_core_test_ctlview_LDADD = $(CORE_TEST_LIBS)

tests_core_test_conv_SOURCES = tests/core/test_conv.c
tests_core_test_conv_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_conv_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_conv_LDADD = $(CORE_TEST_LIBS)
tests_core_test_webhook_SOURCES = tests/core/test_webhook.c
tests_core_test_webhook_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_webhook_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_webhook_LDADD = $(CORE_TEST_LIBS)
tests_core_test_results_SOURCES = tests/core/test_results.c
tests_core_test_results_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_results_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_results_LDADD = $(CORE_TEST_LIBS)
tests_core_test_suppress_SOURCES = tests/core/test_suppress.c
tests_core_test_suppress_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_suppress_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_suppress_LDADD = $(CORE_TEST_LIBS)
# libcrypto is the oracle of this test only: the core's own SHA-256 is
# compared with it; nothing of the core links it.
tests_core_test_sha256_SOURCES = tests/core/test_sha256.c
tests_core_test_sha256_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_sha256_CFLAGS = $(CORE_TEST_CFLAGS) $(OPENSSL_CFLAGS)
tests_core_test_sha256_LDADD = $(CORE_TEST_LIBS) $(OPENSSL_LIBS)

# The layer rule, checked on the built objects: the core calls no I/O.
TESTS += tests/layers.sh
dist_noinst_SCRIPTS += tests/layers.sh
EXTRA_DIST += tests/data/good tests/data/good-repeat tests/data/bad tests/data/state/v1-pending.json tests/data/conv docs/results.md

# What core tests share (reading files and zones is the test's I/O, not the
# library's): with the shell's file and tzdb, the one way zone files are
# found and read, built in here (they need nothing but the core and libc).
check_LIBRARIES = tests/libfixture.a
tests_libfixture_a_SOURCES = tests/fixture.c tests/fixture.h src/shell/file.c src/shell/tzdb.c
tests_libfixture_a_CPPFLAGS = $(CORE_TEST_CPPFLAGS) -I$(top_srcdir)/src/shell
tests_libfixture_a_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_ledger_SOURCES = tests/core/test_ledger.c
tests_core_test_ledger_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_ledger_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_ledger_LDADD = $(CORE_TEST_LIBS)
tests_core_test_b64_SOURCES = tests/core/test_b64.c
tests_core_test_b64_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_b64_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_b64_LDADD = $(CORE_TEST_LIBS)
tests_core_test_etcdmsg_SOURCES = tests/core/test_etcdmsg.c
tests_core_test_etcdmsg_CPPFLAGS = $(CORE_TEST_CPPFLAGS)
tests_core_test_etcdmsg_CFLAGS = $(CORE_TEST_CFLAGS)
tests_core_test_etcdmsg_LDADD = $(CORE_TEST_LIBS)
