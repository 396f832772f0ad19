# the simulator: a pure core (model, validation, rendering, request
# handling; sim/core) and its server (sim/shell), split like src/.
sim_core_libsimcore_a_SOURCES = \
	sim/core/sim_model.c sim/core/sim_model.h \
	sim/core/sim_render.c sim/core/sim_render.h \
	sim/core/sim_validate.c sim/core/sim_validate.h \
	sim/core/sim_api.c sim/core/sim_api.h \
	sim/core/sim_conv.c sim/core/sim_conv.h \
	sim/core/sim_sign.c sim/core/sim_sign.h \
	sim/core/sim_hooks.c sim/core/sim_hooks.h
sim_core_libsimcore_a_CPPFLAGS = $(SIMCORE_CPPFLAGS)
sim_core_libsimcore_a_CFLAGS = $(CORE_CFLAGS)
noinst_LIBRARIES += sim/shell/libsimshell.a
sim_shell_libsimshell_a_SOURCES = sim/shell/sim_server.c sim/shell/sim_server.h
sim_shell_libsimshell_a_CPPFLAGS = $(SIMSHELL_CPPFLAGS)
sim_shell_libsimshell_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)

check_PROGRAMS += tests/sim/test_sim_model
tests_sim_test_sim_model_SOURCES = tests/sim/test_sim_model.c
tests_sim_test_sim_model_CPPFLAGS = $(SIMCORE_CPPFLAGS)
tests_sim_test_sim_model_CFLAGS = $(CORE_CFLAGS) $(CHECK_CFLAGS) $(TEST_DEFINES)
tests_sim_test_sim_model_LDADD = $(SIMCORE_LIBS) $(CHECK_LIBS)
TESTS += tests/sim/test_sim_model tests/sim/sim-api.sh
dist_noinst_SCRIPTS += tests/sim/sim-api.sh
EXTRA_DIST += tests/sim/sim_api_test.py docs/simulator.md
