#!/bin/sh
# Conformance test: drive batchcall-sim with the official ElevenLabs JS SDK
# (pinned in package.json / package-lock.json), see conformance.mjs.
#
# Works from `make check` (TOP_SRCDIR / TOP_BUILDDIR set by the harness) and by
# hand from any directory:
#   TOP_BUILDDIR=/tmp/b-conf tests/conformance/run.sh
#
# Never skips: a missing node/npm or an unreachable npm registry is a failure,
# because without the SDK nothing proves the simulator's fidelity.
set -u

me=conformance
fail() {
	echo "$me: FAIL: $*" >&2
	exit 1
}

here=$(cd "$(dirname "$0")" && pwd) || fail "cannot find my own directory"
srcdir=${TOP_SRCDIR:-$(cd "$here/../.." && pwd)}
builddir=${TOP_BUILDDIR:-$(pwd)}
confsrc=$srcdir/tests/conformance

sim=${BATCHCALL_SIM:-}
if [ -z "$sim" ]; then
	for c in "$builddir/batchcall-sim" "$builddir/sim/batchcall-sim"; do
		if [ -x "$c" ]; then sim=$c; break; fi
	done
fi
if [ -z "$sim" ] || [ ! -x "$sim" ]; then
	fail "batchcall-sim not found in $builddir (build it first: make batchcall-sim)"
fi

command -v node >/dev/null 2>&1 || fail "node is not installed (Node.js >= 18 is needed; .ci/run installs it)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (.ci/run installs it)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
	fail "node $(node --version) is too old, need >= 18"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-conformance.XXXXXX") || fail "mktemp"
simpid=
cleanup() {
	if [ -n "$simpid" ]; then
		kill "$simpid" 2>/dev/null
		# bounded: a simulator that ignores SIGTERM gets SIGKILL after 5 s
		n=0
		while kill -0 "$simpid" 2>/dev/null && [ "$n" -lt 100 ]; do
			sleep 0.05
			n=$((n + 1))
		done
		kill -9 "$simpid" 2>/dev/null
		wait "$simpid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Where the npm dependencies live: beside the sources when writable (a fresh
# clone), else (read-only source tree, e.g. distcheck) a private copy.
if [ -w "$confsrc" ]; then
	workdir=$confsrc
else
	workdir=$tmp/conformance
	mkdir -p "$workdir" || fail "mkdir $workdir"
	cp "$confsrc/package.json" "$confsrc/package-lock.json" "$confsrc/conformance.mjs" "$workdir/" ||
		fail "cannot copy the test to $workdir"
fi

# Installed and matching the pinned version?
deps_ok() {
	(cd "$workdir" && node -e '
		const want = require("./package.json").dependencies["@elevenlabs/elevenlabs-js"];
		const have = require("./node_modules/@elevenlabs/elevenlabs-js/package.json").version;
		process.exit(have === want ? 0 : 1);
	') >/dev/null 2>&1
}

install_deps() {
	deps_ok && return 0
	echo "$me: installing the npm dependencies in $workdir (npm ci)"
	if ! (cd "$workdir" && npm ci --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=2 >"$tmp/npm.log" 2>&1); then
		cat "$tmp/npm.log" >&2
		fail "npm ci failed in $workdir: cannot install @elevenlabs/elevenlabs-js from the npm registry (is the registry reachable?)"
	fi
	deps_ok || fail "npm ci succeeded but @elevenlabs/elevenlabs-js is not the pinned version"
}

# Several builds may share one source tree: install under a lock.
if command -v flock >/dev/null 2>&1; then
	lock=${TMPDIR:-/tmp}/batchcalld-conformance-npm.lock
	exec 9>"$lock" || fail "cannot open $lock"
	flock 9 || fail "cannot lock $lock"
	install_deps
	flock -u 9
	exec 9>&-
else
	install_deps
fi

# Start the simulator on an ephemeral port and wait for its ready line.
# BC_WRAP: a command put in front of the simulator (scripts/test: valgrind).
# --processing-secs 50: a conversation stays "processing" 1 s at --speed 50
# (the default 3 s made it 60 ms, which a slow simulator under valgrind
# polled past: the conversations test must read one while processing).
# shellcheck disable=SC2086
${BC_WRAP:-} "$sim" --listen 127.0.0.1:0 --api-key conf-key --speed 50 --processing-secs 50 \
	>"$tmp/sim.out" 2>"$tmp/sim.err" &
simpid=$!
url=
deadline=$(($(date +%s) + 15))
while :; do
	# only a complete first line counts (the port may still be half written)
	line=
	if [ "$(wc -l <"$tmp/sim.out")" -ge 1 ]; then
		line=$(head -n 1 "$tmp/sim.out")
	fi
	case $line in
	"batchcall-sim: listening on http://127.0.0.1:"*)
		url=${line#batchcall-sim: listening on }
		case ${url#http://127.0.0.1:} in
		'' | *[!0-9]*) fail "malformed ready line: '$line'" ;;
		esac
		break
		;;
	?*)
		fail "unexpected first line from batchcall-sim: '$line'"
		;;
	esac
	if ! kill -0 "$simpid" 2>/dev/null; then
		wait "$simpid"
		rc=$?
		simpid=
		cat "$tmp/sim.err" >&2
		fail "batchcall-sim exited (status $rc) before it was ready"
	fi
	[ "$(date +%s)" -lt "$deadline" ] || {
		cat "$tmp/sim.err" >&2
		fail "batchcall-sim printed no ready line within 15 s"
	}
	sleep 0.05
done
echo "$me: batchcall-sim ($sim) is listening on $url"

status=0
BATCHCALL_SIM_URL=$url BATCHCALL_SIM_KEY=conf-key \
	node --test --test-reporter=spec "$workdir/conformance.mjs" || status=$?

if ! kill -0 "$simpid" 2>/dev/null; then
	echo "$me: batchcall-sim died during the test" >&2
	[ "$status" -ne 0 ] || status=1
fi
if [ "$status" -ne 0 ] && [ -s "$tmp/sim.err" ]; then
	echo "$me: ---- batchcall-sim stderr (last 40 lines)" >&2
	tail -n 40 "$tmp/sim.err" >&2
fi
exit "$status"
