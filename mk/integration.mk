# integration: the real programs against each other over loopback (python3
# scenarios with the standard library; the model-based test with
# Hypothesis), and the command line tests.
INTEGRATION = tests/integration/test_lifecycle.py tests/integration/test_faults.py \
	tests/integration/test_crash.py tests/integration/test_recurring.py tests/integration/test_hours.py \
	tests/integration/test_weeks.py tests/integration/test_identity.py tests/integration/test_attack11.py \
	tests/integration/test_control.py tests/integration/test_damage.py tests/integration/test_late.py \
	tests/integration/test_results.py tests/integration/test_suppress.py \
	tests/integration/test_limits.py tests/integration/test_touches.py
TESTS += $(INTEGRATION) tests/cli-check-plan.sh tests/cli-ctl-socket.sh
# The model-based test (Hypothesis, for /usr/bin/python3: the .sh picks the
# interpreter); BC_MODEL_MINUTES sizes it, 3 minutes by default.
TESTS += tests/integration/test_model.sh
dist_noinst_SCRIPTS += tests/integration/test_model.sh tests/cli-check-plan.sh tests/cli-ctl-socket.sh
EXTRA_DIST += tests/helpers/cli.sh
EXTRA_DIST += $(INTEGRATION) tests/integration/harness.py tests/integration/test_model.py \
	scripts/demo scripts/test scripts/build scripts/install-deps scripts/stress
