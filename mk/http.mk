# http area: appends to the variables of Makefile.am
# The token bucket is pure core; the curl+libevent transport and the
# ElevenLabs endpoints are shell.
src_libcore_a_SOURCES += src/ratelimit.c src/ratelimit.h
src_libshell_a_SOURCES += src/http.c src/http.h src/api.c src/api.h

check_PROGRAMS += tests/test_ratelimit tests/test_http tests/test_api
TESTS += tests/test_ratelimit tests/test_http tests/test_api

tests_test_ratelimit_SOURCES = tests/test_ratelimit.c
tests_test_ratelimit_CFLAGS = $(TEST_CFLAGS)
tests_test_ratelimit_LDADD = $(CORE_LIBS) $(CHECK_LIBS)

# Both talk to an in-process HTTP(S) server (tests/http_testsrv.c).
tests_test_http_SOURCES = tests/test_http.c tests/http_testsrv.c tests/http_testsrv.h
tests_test_http_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
tests_test_http_LDADD = $(SHELL_LIBS) $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)

tests_test_api_SOURCES = tests/test_api.c tests/http_testsrv.c tests/http_testsrv.h
tests_test_api_CFLAGS = $(TEST_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
tests_test_api_LDADD = $(SHELL_LIBS) $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS)
