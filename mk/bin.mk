# programs: argv and wiring only; everything else is in the libraries.
BIN_CPPFLAGS = $(SHELL_CPPFLAGS)
sbin_PROGRAMS += batchcalld
batchcalld_SOURCES = src/bin/batchcalld.c
batchcalld_CPPFLAGS = $(BIN_CPPFLAGS)
batchcalld_LDADD = $(SHELL_LIBS)

bin_PROGRAMS += batchcallctl
batchcallctl_SOURCES = src/bin/batchcallctl.c
batchcallctl_CPPFLAGS = $(BIN_CPPFLAGS)
batchcallctl_LDADD = $(SHELL_LIBS)

bin_PROGRAMS += batchcall-sim
batchcall_sim_SOURCES = src/bin/batchcall-sim.c
batchcall_sim_CPPFLAGS = $(SIMSHELL_CPPFLAGS)
batchcall_sim_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_SSL_CFLAGS) $(OPENSSL_CFLAGS)
batchcall_sim_LDADD = sim/shell/libsimshell.a $(SIMCORE_LIBS) $(LIBEVENT_SSL_LIBS) $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS)

EXTRA_DIST += etc/batchcalld.conf etc/jobs.d
