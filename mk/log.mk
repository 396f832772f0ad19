# log area: appends to the variables of Makefile.am
# Logging (journald/console), sd_notify, the systemd unit and journald
# catalog, and the tests that run them against a private journald and a
# NOTIFY_SOCKET listener.

src_libshell_a_SOURCES += src/log.c src/log.h src/notify.c src/notify.h

# The unit and the catalog name installed paths (the daemon, the README),
# so they are generated with the configured folders rather than shipped
# with guessed ones.
systemdsystemunit_DATA = systemd/batchcalld.service
catalog_DATA = systemd/batchcalld.catalog
doc_DATA = README.md
systemd/batchcalld.service: $(srcdir)/systemd/batchcalld.service.in Makefile
systemd/batchcalld.catalog: $(srcdir)/systemd/batchcalld.catalog.in Makefile
systemd/batchcalld.service systemd/batchcalld.catalog:
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@docdir[@]|$(docdir)|g' $(srcdir)/$@.in >$@.tmp && \
	mv $@.tmp $@
CLEANFILES += systemd/batchcalld.service systemd/batchcalld.catalog
EXTRA_DIST += systemd/batchcalld.service.in systemd/batchcalld.catalog.in

# The Debian systemd.pc names /lib/systemd/system whatever the prefix;
# distcheck must stay inside its own prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = --with-systemdsystemunitdir='$${prefix}/lib/systemd/system'

check_PROGRAMS += tests/test_log tests/log-emit tests/notify-emit
tests_test_log_SOURCES = tests/test_log.c
tests_test_log_CFLAGS = $(TEST_CFLAGS)
tests_test_log_LDADD = $(SHELL_LIBS) $(CHECK_LIBS)
tests_log_emit_SOURCES = tests/log-emit.c
tests_log_emit_LDADD = $(SHELL_LIBS)
tests_notify_emit_SOURCES = tests/notify-emit.c
tests_notify_emit_LDADD = $(SHELL_LIBS)

# journal.sh needs root for its private journald and is skipped without it.
TESTS += tests/test_log tests/journal.sh tests/notify.sh tests/unit-file.sh
dist_noinst_SCRIPTS += tests/journal.sh tests/notify.sh tests/unit-file.sh \
	tests/helpers/journald-ns.sh tests/helpers/notify-listen.py

# The real daemon under a private journald and a NOTIFY_SOCKET listener
# (skipped without root).
TESTS += tests/integration/test_systemd.py
EXTRA_DIST += tests/integration/test_systemd.py
