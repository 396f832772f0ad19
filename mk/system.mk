# the service: the systemd unit and journald catalog (generated with the
# configured folders), and the tests that run the real daemon under a
# private journald and a NOTIFY_SOCKET listener.
systemdsystemunit_DATA = systemd/batchcalld.service
catalog_DATA = systemd/batchcalld.catalog
doc_DATA = README.md
# the drop-in of each node of a cluster (README "Running more than one node")
examplesdir = $(docdir)/examples
dist_examples_DATA = systemd/cluster.conf.example
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

# journal.sh needs root for its private journald and is skipped without it.
TESTS += tests/journal.sh tests/notify.sh tests/unit-file.sh tests/integration/test_systemd.py
# Every log call site of src/ has a kind with a catalogued MESSAGE_ID.
TESTS += tests/log-sites.py
EXTRA_DIST += tests/log-sites.py
dist_noinst_SCRIPTS += tests/journal.sh tests/notify.sh tests/unit-file.sh \
	tests/helpers/journald-ns.sh tests/helpers/notify-listen.py
EXTRA_DIST += tests/integration/test_systemd.py
# scripts/test's container gate (root, systemd-nspawn, debootstrap).
EXTRA_DIST += tests/container/test_container.py
