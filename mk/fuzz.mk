# fuzz area: appends to the variables of Makefile.am
#
# Every parser that reads outside input has a libFuzzer target in fuzz/ with
# a seed corpus in fuzz/corpus/TARGET/ (and a dictionary fuzz/TARGET.dict
# where it helps). Two ways to build the same target source:
#  - fuzz/replay_TARGET (every build, make check): fuzz/replay.c runs the
#    seed corpus and the committed crash inputs of fuzz/regressions/TARGET/
#    once, so a crash found and fixed stays fixed (under ASan/UBSan in the
#    sanitizer build);
#  - fuzz/fuzz_TARGET (./configure --enable-fuzzing CC=clang only): the real
#    libFuzzer program; scripts/fuzz [SECONDS] runs them all.
FUZZ_TARGETS = tz csv cfg codec state sim_request control conv webhook suppress ledger etcdmsg

# LeakSanitizer: suppressions for third-party leaks only (lsan.supp says why).
# verify_asan_link_order=0: a scenario run under faketime preloads
# libfaketime ahead of the ASan runtime, which ASan refuses by default (it
# works: test_weeks.py passes so under the sanitizer build).
AM_TESTS_ENVIRONMENT += export LSAN_OPTIONS='suppressions=$(abs_top_srcdir)/lsan.supp:print_suppressions=0' \
	UBSAN_OPTIONS='print_stacktrace=1' ASAN_OPTIONS='verify_asan_link_order=0';

check_PROGRAMS += fuzz/replay_tz fuzz/replay_csv fuzz/replay_cfg fuzz/replay_codec fuzz/replay_state fuzz/replay_sim_request fuzz/replay_control \
	fuzz/replay_conv fuzz/replay_webhook fuzz/replay_suppress fuzz/replay_ledger fuzz/replay_etcdmsg
TESTS += fuzz/replay.sh
fuzz_replay_tz_SOURCES = fuzz/replay.c fuzz/fuzz_tz.c
fuzz_replay_tz_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_tz_LDADD = $(CORE_LIBS)
fuzz_replay_csv_SOURCES = fuzz/replay.c fuzz/fuzz_csv.c
fuzz_replay_csv_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_csv_LDADD = $(CORE_LIBS)
fuzz_replay_cfg_SOURCES = fuzz/replay.c fuzz/fuzz_cfg.c
fuzz_replay_cfg_CPPFLAGS = $(SHELL_CPPFLAGS)
fuzz_replay_cfg_LDADD = $(SHELL_LIBS)
fuzz_replay_codec_SOURCES = fuzz/replay.c fuzz/fuzz_codec.c
fuzz_replay_codec_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_codec_LDADD = $(CORE_LIBS)
fuzz_replay_state_SOURCES = fuzz/replay.c fuzz/fuzz_state.c
fuzz_replay_state_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_state_LDADD = $(CORE_LIBS)
fuzz_replay_sim_request_SOURCES = fuzz/replay.c fuzz/fuzz_sim_request.c
fuzz_replay_sim_request_CPPFLAGS = $(SIMCORE_CPPFLAGS)
fuzz_replay_sim_request_LDADD = $(SIMCORE_LIBS)
fuzz_replay_control_SOURCES = fuzz/replay.c fuzz/fuzz_control.c
fuzz_replay_control_CPPFLAGS = $(SHELL_CPPFLAGS)
fuzz_replay_control_LDADD = $(SHELL_LIBS)
fuzz_replay_conv_SOURCES = fuzz/replay.c fuzz/fuzz_conv.c
fuzz_replay_conv_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_conv_LDADD = $(CORE_LIBS)
fuzz_replay_webhook_SOURCES = fuzz/replay.c fuzz/fuzz_webhook.c
fuzz_replay_webhook_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_webhook_LDADD = $(CORE_LIBS)
fuzz_replay_suppress_SOURCES = fuzz/replay.c fuzz/fuzz_suppress.c
fuzz_replay_suppress_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_suppress_LDADD = $(CORE_LIBS)
fuzz_replay_ledger_SOURCES = fuzz/replay.c fuzz/fuzz_ledger.c
fuzz_replay_ledger_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_ledger_LDADD = $(CORE_LIBS)
fuzz_replay_etcdmsg_SOURCES = fuzz/replay.c fuzz/fuzz_etcdmsg.c
fuzz_replay_etcdmsg_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_replay_etcdmsg_LDADD = $(CORE_LIBS)

if FUZZING
noinst_PROGRAMS += fuzz/fuzz_tz fuzz/fuzz_csv fuzz/fuzz_cfg fuzz/fuzz_codec fuzz/fuzz_state fuzz/fuzz_sim_request fuzz/fuzz_control \
	fuzz/fuzz_conv fuzz/fuzz_webhook fuzz/fuzz_suppress fuzz/fuzz_ledger fuzz/fuzz_etcdmsg
fuzz_fuzz_tz_SOURCES = fuzz/fuzz_tz.c
fuzz_fuzz_tz_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_tz_LDADD = $(CORE_LIBS)
fuzz_fuzz_tz_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_csv_SOURCES = fuzz/fuzz_csv.c
fuzz_fuzz_csv_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_csv_LDADD = $(CORE_LIBS)
fuzz_fuzz_csv_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_cfg_SOURCES = fuzz/fuzz_cfg.c
fuzz_fuzz_cfg_CPPFLAGS = $(SHELL_CPPFLAGS)
fuzz_fuzz_cfg_LDADD = $(SHELL_LIBS)
fuzz_fuzz_cfg_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_codec_SOURCES = fuzz/fuzz_codec.c
fuzz_fuzz_codec_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_codec_LDADD = $(CORE_LIBS)
fuzz_fuzz_codec_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_state_SOURCES = fuzz/fuzz_state.c
fuzz_fuzz_state_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_state_LDADD = $(CORE_LIBS)
fuzz_fuzz_state_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_sim_request_SOURCES = fuzz/fuzz_sim_request.c
fuzz_fuzz_sim_request_CPPFLAGS = $(SIMCORE_CPPFLAGS)
fuzz_fuzz_sim_request_LDADD = $(SIMCORE_LIBS)
fuzz_fuzz_sim_request_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_control_SOURCES = fuzz/fuzz_control.c
fuzz_fuzz_control_CPPFLAGS = $(SHELL_CPPFLAGS)
fuzz_fuzz_control_LDADD = $(SHELL_LIBS)
fuzz_fuzz_control_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_conv_SOURCES = fuzz/fuzz_conv.c
fuzz_fuzz_conv_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_conv_LDADD = $(CORE_LIBS)
fuzz_fuzz_conv_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_webhook_SOURCES = fuzz/fuzz_webhook.c
fuzz_fuzz_webhook_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_webhook_LDADD = $(CORE_LIBS)
fuzz_fuzz_webhook_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_suppress_SOURCES = fuzz/fuzz_suppress.c
fuzz_fuzz_suppress_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_suppress_LDADD = $(CORE_LIBS)
fuzz_fuzz_suppress_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_ledger_SOURCES = fuzz/fuzz_ledger.c
fuzz_fuzz_ledger_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_ledger_LDADD = $(CORE_LIBS)
fuzz_fuzz_ledger_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_etcdmsg_SOURCES = fuzz/fuzz_etcdmsg.c
fuzz_fuzz_etcdmsg_CPPFLAGS = $(CORE_CPPFLAGS)
fuzz_fuzz_etcdmsg_LDADD = $(CORE_LIBS)
fuzz_fuzz_etcdmsg_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
endif

# Build only the libFuzzer programs (scripts/fuzz).
fuzz-targets: $(FUZZ_TARGETS:%=fuzz/fuzz_%$(EXEEXT))
.PHONY: fuzz-targets

dist_noinst_SCRIPTS += fuzz/replay.sh scripts/fuzz
EXTRA_DIST += fuzz/fuzz_tz.c fuzz/fuzz_codec.c fuzz/fuzz_state.c fuzz/replay.c fuzz/cfg.dict fuzz/control.dict \
	fuzz/corpus/tz fuzz/corpus/codec fuzz/corpus/state fuzz/codec.dict fuzz/state.dict \
	fuzz/regressions fuzz/fuzz_csv.c fuzz/fuzz_cfg.c fuzz/fuzz_control.c fuzz/fuzz_sim_request.c \
	fuzz/corpus/csv fuzz/corpus/cfg fuzz/corpus/control fuzz/corpus/sim \
	fuzz/fuzz_conv.c fuzz/fuzz_webhook.c fuzz/conv.dict fuzz/webhook.dict fuzz/corpus/conv fuzz/corpus/webhook fuzz/fuzz_suppress.c fuzz/corpus/suppress fuzz/fuzz_ledger.c fuzz/corpus/ledger fuzz/fuzz_etcdmsg.c fuzz/corpus/etcdmsg lsan.supp valgrind.supp cppcheck.supp scan-build.reviewed scripts/scan-findings
