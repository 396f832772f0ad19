#!/bin/sh
# make check: replay every fuzz target's seed corpus (fuzz/corpus/TARGET/) and
# its committed crash inputs (fuzz/regressions/TARGET/, when there are any)
# through the target's own code, built without libFuzzer (fuzz/replay.c).
# A crash, a sanitizer report or a broken contract (the targets abort) fails.
set -u
src=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${TOP_BUILDDIR:-.}
fail=0
for t in tz csv cfg codec state sim_request control conv webhook suppress ledger etcdmsg; do
	prog=$build/fuzz/replay_$t
	case $t in sim_request) corpus=$src/fuzz/corpus/sim ;; *) corpus=$src/fuzz/corpus/$t ;; esac
	if [ ! -x "$prog" ]; then echo "FAIL: $t: $prog is not built"; fail=1; continue; fi
	if [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then echo "FAIL: $t: no seed corpus in $corpus"; fail=1; continue; fi
	set -- "$corpus"
	[ -d "$src/fuzz/regressions/$t" ] && set -- "$@" "$src/fuzz/regressions/$t"
	if out=$("$prog" "$@" 2>&1); then
		echo "ok: $t: $out"
	else
		echo "FAIL: $t"
		echo "$out" | tail -n 40
		fail=1
	fi
done
exit "$fail"
