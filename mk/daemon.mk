# daemon area: the run state machine (core), the store and engine (shell),
# and the batchcalld program.
src_libcore_a_SOURCES += src/job.c src/job.h src/state.c src/state.h

check_PROGRAMS += tests/test_job
TESTS += tests/test_job
tests_test_job_SOURCES = tests/test_job.c
tests_test_job_CFLAGS = $(TEST_CFLAGS)
tests_test_job_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
