# benchmarks: they print figures and are never run by make check
# (BENCHMARKS.md says how to run each one).
noinst_PROGRAMS += bench/bench-run bench/bench-parse bench/bench-sim-load bench/bench-suppress bench/bench-floor
bench_bench_suppress_SOURCES = bench/bench-suppress.c
bench_bench_suppress_CPPFLAGS = $(SHELL_CPPFLAGS)
bench_bench_suppress_LDADD = $(SHELL_LIBS)
bench_bench_run_SOURCES = bench/bench-run.c
bench_bench_floor_SOURCES = bench/bench-floor.c
bench_bench_floor_CFLAGS = $(BASE_CFLAGS) $(LIBCURL_CFLAGS) $(JSONC_CFLAGS)
bench_bench_floor_LDADD = $(LIBCURL_LIBS) $(JSONC_LIBS)
bench_bench_parse_SOURCES = bench/bench-parse.c
bench_bench_parse_CPPFLAGS = $(CORE_CPPFLAGS)
bench_bench_parse_LDADD = $(CORE_LIBS)
bench_bench_sim_load_SOURCES = bench/bench-sim-load.c
bench_bench_sim_load_LDADD = -lpthread
dist_noinst_SCRIPTS += bench/bench-parse.sh bench/bench-plan.sh bench/bench-sim.sh bench/soak
EXTRA_DIST += bench/bench-daemon.py bench/bench-webhooks.py bench/bench-results.py bench/bench-cluster.py
