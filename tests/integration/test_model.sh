#!/bin/sh
# Runs the model-based test (test_model.py) with Debian's /usr/bin/python3,
# the interpreter python3-hypothesis installs Hypothesis for (the python3
# first on PATH may be another one). Skips (77) when Hypothesis is missing.
# The size of the run: BC_MODEL_MINUTES (default 3), see test_model.py.
py=${BC_MODEL_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import hypothesis' 2>/dev/null; then
	echo "SKIP: $py has no Hypothesis (Debian: apt-get install python3-hypothesis)"
	exit 77
fi
exec "$py" "$(dirname "$0")/test_model.py" "$@"
