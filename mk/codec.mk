# codec area: appends to the variables of Makefile.am
# The JSON mapping of the API and the backoff arithmetic: pure core.
src_libcore_a_SOURCES += src/codec.c src/codec.h src/backoff.c src/backoff.h

check_PROGRAMS += tests/test_codec tests/test_backoff
TESTS += tests/test_codec tests/test_backoff
tests_test_codec_SOURCES = tests/test_codec.c
tests_test_codec_CFLAGS = $(TEST_CFLAGS)
tests_test_codec_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
tests_test_backoff_SOURCES = tests/test_backoff.c
tests_test_backoff_CFLAGS = $(TEST_CFLAGS)
tests_test_backoff_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

# Prints what parsing the largest answers costs (bench/bench-parse.sh);
# never run by make check.
noinst_PROGRAMS += bench/bench-parse
bench_bench_parse_SOURCES = bench/bench-parse.c
bench_bench_parse_LDADD = $(CORE_LIBS)
dist_noinst_SCRIPTS += bench/bench-parse.sh
