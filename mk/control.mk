# control area: appends to the variables of Makefile.am
# The views (JSON of the control API, the human status/show pages, the
# metrics text) are pure core; the control socket and batchcallctl's online
# commands are shell.
src_libcore_a_SOURCES += src/ctlview.c src/ctlview.h
src_libshell_a_SOURCES += src/control.c src/control.h src/ctl_online.c src/ctl_online.h

check_PROGRAMS += tests/test_ctlview
TESTS += tests/test_ctlview tests/integration/test_control.py
tests_test_ctlview_SOURCES = tests/test_ctlview.c
tests_test_ctlview_CFLAGS = $(TEST_CFLAGS)
tests_test_ctlview_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

EXTRA_DIST += tests/integration/test_control.py fuzz/fuzz_control.c fuzz/corpus/control
