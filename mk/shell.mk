# shell layer: the I/O around the core (files, the tz database, libconfig,
# libcurl on libevent, the state store, the engine, journald, sd_notify, the
# control socket) and its tests.
src_shell_libshell_a_SOURCES += \
	src/shell/file.c src/shell/file.h \
	src/shell/tzdb.c src/shell/tzdb.h \
	src/shell/cfg.c src/shell/cfg.h \
	src/shell/http.c src/shell/http.h \
	src/shell/api.c src/shell/api.h \
	src/shell/store.h src/shell/store_file.c src/shell/store_etcd.c \
	src/shell/etcd.c src/shell/etcd.h \
	src/shell/engine.c src/shell/engine.h src/shell/engine_int.h \
	src/shell/slot.c src/shell/carry.c src/shell/scan.c src/shell/reconcile.c \
	src/shell/report.c src/shell/report.h src/shell/hook.c src/shell/hook.h \
	src/shell/log.c src/shell/log.h \
	src/shell/notify.c src/shell/notify.h \
	src/shell/control.c src/shell/control.h \
	src/shell/resfiles.c src/shell/resfiles.h \
	src/shell/ctl_online.c src/shell/ctl_online.h \
	src/shell/suppress_store.c src/shell/suppress_store.h src/shell/ledger_store.c src/shell/ledger_store.h
# cluster mode (README "Running more than one node")
src_shell_libshell_a_SOURCES += src/shell/cluster.c src/shell/cluster.h src/shell/standby.c src/shell/standby.h \
	src/shell/shared.c src/shell/shared.h
src_shell_libshell_a_SOURCES += src/shell/events_etcd.c src/shell/events_etcd.h

SHELL_TEST_CPPFLAGS = $(SHELL_CPPFLAGS) -I$(top_srcdir)/tests -I$(top_srcdir)/tests/shell
SHELL_TEST_CFLAGS = $(SHELL_CFLAGS) $(CHECK_CFLAGS) $(TEST_DEFINES)
SHELL_TEST_LIBS = $(SHELL_LIBS) $(CHECK_LIBS)
SHELL_TESTS = tests/shell/test_tzdb tests/shell/test_cfg tests/shell/test_plan_files \
	tests/shell/test_schedule_files tests/shell/test_http tests/shell/test_api tests/shell/test_log tests/shell/test_store \
	tests/shell/test_store_etcd
check_PROGRAMS += $(SHELL_TESTS) tests/shell/log-emit tests/shell/notify-emit
TESTS += $(SHELL_TESTS)
tests_shell_test_tzdb_SOURCES = tests/shell/test_tzdb.c
tests_shell_test_cfg_SOURCES = tests/shell/test_cfg.c
tests_shell_test_plan_files_SOURCES = tests/shell/test_plan_files.c
tests_shell_test_schedule_files_SOURCES = tests/shell/test_schedule_files.c
tests_shell_test_store_SOURCES = tests/shell/test_store.c
# Against a real etcd it starts itself (skipped when etcd is not installed).
tests_shell_test_store_etcd_SOURCES = tests/shell/test_store_etcd.c
tests_shell_test_log_SOURCES = tests/shell/test_log.c
# Both talk to an in-process HTTP(S) server (tests/shell/http_testsrv.c).
tests_shell_test_http_SOURCES = tests/shell/test_http.c tests/shell/http_testsrv.c tests/shell/http_testsrv.h
tests_shell_test_api_SOURCES = tests/shell/test_api.c tests/shell/http_testsrv.c tests/shell/http_testsrv.h
tests_shell_log_emit_SOURCES = tests/shell/log-emit.c
tests_shell_notify_emit_SOURCES = tests/shell/notify-emit.c
tests_shell_test_tzdb_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_cfg_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_plan_files_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_schedule_files_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_store_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_store_etcd_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_log_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_http_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_test_api_CPPFLAGS = $(SHELL_TEST_CPPFLAGS)
tests_shell_log_emit_CPPFLAGS = $(SHELL_CPPFLAGS)
tests_shell_notify_emit_CPPFLAGS = $(SHELL_CPPFLAGS)
tests_shell_test_tzdb_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_cfg_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_plan_files_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_schedule_files_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_store_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_store_etcd_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_log_CFLAGS = $(SHELL_TEST_CFLAGS)
tests_shell_test_http_CFLAGS = $(SHELL_TEST_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
tests_shell_test_api_CFLAGS = $(SHELL_TEST_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
tests_shell_test_tzdb_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_cfg_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_plan_files_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_schedule_files_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_store_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_store_etcd_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_log_LDADD = $(SHELL_TEST_LIBS)
tests_shell_test_http_LDADD = $(SHELL_LIBS) $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)
tests_shell_test_api_LDADD = $(SHELL_LIBS) $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)
tests_shell_log_emit_LDADD = $(SHELL_LIBS)
tests_shell_notify_emit_LDADD = $(SHELL_LIBS)

# Every configuration key against docs/config-keys.tsv: accepted and read by
# cfg.c, hashed, shown, sent, in the fuzz dictionary and the README as the
# checklist says.
TESTS += tests/config-keys.sh
dist_noinst_SCRIPTS += tests/config-keys.sh
EXTRA_DIST += docs/config-keys.tsv
