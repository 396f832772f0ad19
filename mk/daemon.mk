# daemon area: the run state machine (core), the store and engine (shell),
# the batchcalld program, and the integration scenarios that run it against
# the simulator.
src_libcore_a_SOURCES += src/job.c src/job.h src/state.c src/state.h
src_libshell_a_SOURCES += src/store_file.c src/store.h src/engine.c src/engine.h

sbin_PROGRAMS += batchcalld
batchcalld_SOURCES = src/batchcalld.c
batchcalld_LDADD = $(SHELL_LIBS)

check_PROGRAMS += tests/test_job tests/test_state
TESTS += tests/test_job tests/test_state
tests_test_job_SOURCES = tests/test_job.c
tests_test_job_CFLAGS = $(TEST_CFLAGS)
tests_test_job_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
tests_test_state_SOURCES = tests/test_state.c
tests_test_state_CFLAGS = $(TEST_CFLAGS)
tests_test_state_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

TESTS += tests/integration/test_lifecycle.py tests/integration/test_faults.py tests/integration/test_crash.py \
	tests/integration/test_recurring.py tests/integration/test_hours.py tests/integration/test_weeks.py \
	tests/integration/test_identity.py tests/integration/test_attack11.py
# The model-based test (Hypothesis, for /usr/bin/python3: the .sh picks the
# interpreter); BC_MODEL_MINUTES sizes it, 3 minutes by default.
TESTS += tests/integration/test_model.sh
dist_noinst_SCRIPTS += tests/integration/test_model.sh
EXTRA_DIST += tests/integration/test_model.py
EXTRA_DIST += tests/integration/harness.py tests/integration/test_lifecycle.py \
	tests/integration/test_faults.py tests/integration/test_crash.py tests/integration/test_recurring.py tests/integration/test_hours.py tests/integration/test_weeks.py \
	tests/integration/test_identity.py tests/integration/test_attack11.py \
	scripts/demo scripts/test \
	scripts/build scripts/install-deps tests/data/state/v1-pending.json
