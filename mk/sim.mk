# sim area: appends to the variables of Makefile.am
#
# batchcall-sim, the simulator of the ElevenLabs batch-calling API. The pure
# parts (model, validation, rendering, request handling) live in
# sim/libsim.a so the unit tests and the fuzz target link them without the
# server; sim/server.c and sim/main.c are the I/O shell.
noinst_LIBRARIES += sim/libsim.a
sim_libsim_a_SOURCES = sim/model.c sim/model.h sim/render.c sim/render.h \
	sim/validate.c sim/validate.h sim/api.c sim/api.h
sim_libsim_a_CFLAGS = $(AM_CFLAGS)

bin_PROGRAMS += batchcall-sim
batchcall_sim_SOURCES = sim/main.c sim/server.c sim/server.h
batchcall_sim_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
batchcall_sim_LDADD = sim/libsim.a $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) $(LIBEVENT_LIBS) \
	$(JSONC_LIBS) src/libcore.a -lm

check_PROGRAMS += tests/test_sim_model
tests_test_sim_model_SOURCES = tests/test_sim_model.c
tests_test_sim_model_CFLAGS = $(TEST_CFLAGS)
tests_test_sim_model_LDADD = sim/libsim.a $(CHECK_LIBS) $(JSONC_LIBS) src/libcore.a -lm

TESTS += tests/test_sim_model tests/sim-api.sh

# The benchmark prints figures (bench/bench-sim.sh); it is never run by
# make check. The libFuzzer target is built by hand (see its header).
noinst_PROGRAMS += bench/bench-sim-load
bench_bench_sim_load_SOURCES = bench/bench-sim-load.c
bench_bench_sim_load_LDADD = -lpthread
dist_noinst_SCRIPTS += tests/sim-api.sh bench/bench-sim.sh
EXTRA_DIST += tests/sim_api_test.py fuzz/fuzz_sim_request.c fuzz/corpus/sim docs/simulator.md
