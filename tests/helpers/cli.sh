# Sourced by the tests/cli-*.sh tests of batchcallctl: a scratch folder in
# $tmp (removed on exit), $ctl, and run/fail/expect_* that count runs and
# failures; cli_done prints the count and sets the exit status.
# shellcheck shell=sh
build=${TOP_BUILDDIR:-$(pwd)}
ctl="$build/batchcallctl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run EXPECTED_STATUS ARGS...: output in $tmp/out and $tmp/err
run() {
	want=$1
	shift
	n=$((n + 1))
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "batchcallctl $* exited $got, expected $want"
		sed 's/^/  stderr: /' "$tmp/err" | head -20
	fi
}

expect_out() {
	if [ "$(cat "$tmp/out")" != "$1" ]; then
		fail "stdout differs; expected:"
		printf '%s\n' "$1" | sed 's/^/  want: /'
		sed 's/^/  got:  /' "$tmp/out"
	fi
}

expect_err_line() {
	if ! grep -qxF -- "$1" "$tmp/err"; then
		fail "stderr lacks the line: $1"
		sed 's/^/  got: /' "$tmp/err" | head -20
	fi
}

expect_err_lacks() {
	if grep -qF -- "$1" "$tmp/err"; then
		fail "stderr has: $1"
		sed 's/^/  got: /' "$tmp/err" | head -20
	fi
}

cli_done() {
	echo "$n runs, $fails failure(s)"
	[ "$fails" -eq 0 ]
}
