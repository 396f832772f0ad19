# config area: appends to the variables of Makefile.am
# CSV, job definitions and the plan are pure core; the libconfig loader is shell.
src_libcore_a_SOURCES += src/csv.c src/csv.h src/jobspec.c src/jobspec.h src/plan.c src/plan.h
# recurrence and calling hours (issue 8): pure core
src_libcore_a_SOURCES += src/calendar.c src/calendar.h src/window.c src/window.h src/schedule.c src/schedule.h
src_libshell_a_SOURCES += src/cfg.c src/cfg.h

bin_PROGRAMS += batchcallctl
batchcallctl_SOURCES = src/batchcallctl.c
batchcallctl_LDADD = $(SHELL_LIBS)

check_PROGRAMS += tests/test_csv tests/test_cfg tests/test_plan
TESTS += tests/test_csv tests/test_cfg tests/test_plan tests/cli-check-plan.sh
check_PROGRAMS += tests/test_calendar tests/test_window tests/test_schedule
TESTS += tests/test_calendar tests/test_window tests/test_schedule
tests_test_calendar_SOURCES = tests/test_calendar.c
tests_test_calendar_CFLAGS = $(TEST_CFLAGS)
tests_test_calendar_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_test_window_SOURCES = tests/test_window.c
tests_test_window_CFLAGS = $(TEST_CFLAGS)
tests_test_window_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_test_schedule_SOURCES = tests/test_schedule.c
tests_test_schedule_CFLAGS = $(TEST_CFLAGS)
tests_test_schedule_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_test_csv_SOURCES = tests/test_csv.c
tests_test_csv_CFLAGS = $(TEST_CFLAGS)
tests_test_csv_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_test_cfg_SOURCES = tests/test_cfg.c
tests_test_cfg_CFLAGS = $(TEST_CFLAGS)
tests_test_cfg_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_test_plan_SOURCES = tests/test_plan.c
tests_test_plan_CFLAGS = $(TEST_CFLAGS)
tests_test_plan_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)

# The benchmark prints figures; it is built on demand, never run by make check.
noinst_PROGRAMS += bench/bench-run
bench_bench_run_SOURCES = bench/bench-run.c

dist_noinst_SCRIPTS += tests/cli-check-plan.sh bench/bench-plan.sh
EXTRA_DIST += tests/data/good tests/data/good-repeat tests/data/bad etc/batchcalld.conf etc/jobs.d \
	fuzz/fuzz_csv.c fuzz/fuzz_cfg.c fuzz/corpus/csv fuzz/corpus/cfg
