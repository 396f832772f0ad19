# the Debian package (debian/, scripts/test gate `deb`, tests/package/).
#
# HERMETIC_TESTS: the part of `make check` that needs no network, no
# sockets, no root and no registry, which the package build runs
# (debian/rules: override_dh_auto_test).
HERMETIC_TESTS = $(CORE_TESTS) tests/sim/test_sim_model tests/layers.sh tests/man.sh \
	tests/cli-check-plan.sh tests/shell/test_tzdb tests/shell/test_cfg tests/shell/test_plan_files \
	tests/shell/test_schedule_files fuzz/replay.sh
EXTRA_DIST += debian tests/package scripts/deb
