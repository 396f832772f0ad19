#!/bin/sh
# sim-api.sh: drive the real batchcall-sim binary over loopback (plain HTTP
# and HTTPS) with tests/sim/sim_api_test.py: every endpoint, every error body,
# each fault kind, the request log, reset, advance and TLS.
set -eu
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
sim=$TOP_BUILDDIR/batchcall-sim
if [ ! -x "$sim" ]; then
	echo "sim-api.sh: $sim not built" >&2
	exit 99
fi
exec python3 "$TOP_SRCDIR/tests/sim/sim_api_test.py" "$sim"
