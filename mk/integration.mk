# integration: the real programs against each other over loopback (python3
# scenarios with the standard library; the model-based test with
# Hypothesis), and the command line tests.
INTEGRATION = tests/integration/test_cluster.py tests/integration/test_identity.py tests/integration/test_attack11.py \
	tests/integration/test_results.py tests/integration/test_suppress.py tests/integration/test_faults.py \
	tests/integration/test_hours.py tests/integration/test_touches.py tests/integration/test_touch_faults.py tests/integration/test_weeks.py \
	tests/integration/test_lifecycle.py tests/integration/test_limits.py tests/integration/test_recurring.py \
	tests/integration/test_control.py tests/integration/test_damage.py tests/integration/test_late.py \
	tests/integration/test_crash.py
INTEGRATION += tests/integration/test_cluster_hooks.py
# The model-based test (Hypothesis, for /usr/bin/python3: the .sh picks the
# interpreter); BC_MODEL_MINUTES sizes it, 3 minutes by default. It and the
# longest scenarios come first: `make -j N check` starts them first, so that
# they do not end alone (scripts/test runs the tests 2 per core: they wait
# on the simulator's calls far more than they compute).
TESTS += tests/integration/test_model.sh
TESTS += $(INTEGRATION) tests/cli-check-plan.sh tests/cli-ctl-socket.sh
dist_noinst_SCRIPTS += tests/integration/test_model.sh tests/cli-check-plan.sh tests/cli-ctl-socket.sh
EXTRA_DIST += tests/helpers/cli.sh
EXTRA_DIST += $(INTEGRATION) tests/integration/harness.py tests/integration/test_model.py \
	scripts/demo scripts/test scripts/build scripts/install-deps scripts/stress
