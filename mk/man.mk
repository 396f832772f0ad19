# man pages: batchcalld(8), batchcallctl(8), batchcalld.conf(5) and
# batchcall-sim(1), made from docs/man/NAME.SECTION.md with pandoc and the
# filter docs/man/man.lua, which includes the README's and
# docs/simulator.md's marked regions (<!-- man-begin: ... -->) so that
# nothing is written twice. Installed by make install; tests/man.sh holds
# them to the keys of src/shell/cfg.c and to groff's warnings.
man_MANS = man/batchcalld.8 man/batchcallctl.8 man/batchcalld.conf.5 man/batchcall-sim.1
MAN_DEPS = Makefile $(srcdir)/docs/man/man.lua $(srcdir)/README.md $(srcdir)/docs/simulator.md
man/batchcalld.8: $(srcdir)/docs/man/batchcalld.8.md $(MAN_DEPS)
	$(AM_V_GEN)$(MAN_GEN)
man/batchcallctl.8: $(srcdir)/docs/man/batchcallctl.8.md $(MAN_DEPS)
	$(AM_V_GEN)$(MAN_GEN)
man/batchcalld.conf.5: $(srcdir)/docs/man/batchcalld.conf.5.md $(MAN_DEPS)
	$(AM_V_GEN)$(MAN_GEN)
man/batchcall-sim.1: $(srcdir)/docs/man/batchcall-sim.1.md $(MAN_DEPS)
	$(AM_V_GEN)$(MAN_GEN)
# man/NAME.S from docs/man/NAME.S.md: title NAME in capitals, section S, the
# manual's name by section, no date (the build stays reproducible).
MAN_GEN = $(MKDIR_P) man && \
	page=`echo '$@' | sed 's|^man/||'` && \
	sec=`echo "$$page" | sed 's|.*\.||'` && \
	title=`echo "$$page" | sed 's|\.[^.]*$$||' | tr '[:lower:]' '[:upper:]'` && \
	case $$sec in 1) manual='User Commands' ;; 5) manual='File Formats Manual' ;; \
		*) manual="System Manager's Manual" ;; esac && \
	$(PANDOC) -f gfm -t man -s --lua-filter=$(srcdir)/docs/man/man.lua \
		-M title="$$title" -M section="$$sec" -M header="$$manual" \
		-M footer='$(PACKAGE_NAME) $(PACKAGE_VERSION)' \
		-o $@.tmp $(srcdir)/docs/man/$$page.md && \
	mv $@.tmp $@
CLEANFILES += $(man_MANS)
EXTRA_DIST += docs/man/man.lua docs/man/batchcalld.8.md docs/man/batchcallctl.8.md \
	docs/man/batchcalld.conf.5.md docs/man/batchcall-sim.1.md

TESTS += tests/man.sh
dist_noinst_SCRIPTS += tests/man.sh
