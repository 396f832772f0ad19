# tz area: appends to the variables of Makefile.am
src_libcore_a_SOURCES += src/tz.c src/tz.h

check_PROGRAMS += tests/test_tz
TESTS += tests/test_tz
tests_test_tz_SOURCES = tests/test_tz.c
tests_test_tz_CFLAGS = $(TEST_CFLAGS)
tests_test_tz_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
