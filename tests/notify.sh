#!/bin/sh
# notify.sh: the sd_notify messages of notify.c as systemd would receive
# them. tests/shell/notify-emit sends a start, a reload and a stop with the
# watchdog timer running in between (with a hang of its loop); tests/helpers/
# notify-listen.py records each message with the time the kernel queued it.
set -eu
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"

emit=$TOP_BUILDDIR/tests/shell/notify-emit
listen=$TOP_SRCDIR/tests/helpers/notify-listen.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

# 1. The whole sequence with a 200 ms watchdog: pings every 100 ms.
WATCHDOG_USEC=200000 python3 "$listen" --socket "$tmp/notify.sock" --out "$tmp/seq" -- "$emit" >"$tmp/stdout"
[ "$(cat "$tmp/stdout")" = "interval=100000" ] && ok "interval is half of WATCHDOG_USEC" ||
	bad "interval: $(cat "$tmp/stdout")"

# Everything but the pings, in order (field 1: time, 2: pid, 3..: assignments).
cut -f3- "$tmp/seq" | grep -v '^WATCHDOG=1$' | sed 's/MONOTONIC_USEC=[0-9][0-9]*$/MONOTONIC_USEC=N/' >"$tmp/got"
printf '%s\n' 'READY=1' 'STATUS=jobs: 3, active: 1 READY=1' \
	"$(printf 'RELOADING=1\tMONOTONIC_USEC=N')" 'READY=1' 'STATUS=hung' 'STATUS=resumed' \
	'EXTEND_TIMEOUT_USEC=5000000' 'STOPPING=1' >"$tmp/want"
if cmp -s "$tmp/got" "$tmp/want"; then ok "notify sequence"; else
	bad "notify sequence"; diff "$tmp/want" "$tmp/got" || true
fi

# The pings come between the second READY=1 and the stop, one per message,
# at least 40 ms apart; none while the loop is hung, and they resume after.
awk -F'\t' '
	BEGIN { phase = 0 }
	$3 == "READY=1" { ready++ }
	$3 == "STATUS=hung" { phase = 1 }
	$3 == "STATUS=resumed" { phase = 2 }
	$3 == "WATCHDOG=1" {
		if (ready != 2 || stopping || NF != 3) { print "misplaced ping: " $0; bad = 1 }
		n[phase]++
		if (prev && $1 - prev < 40000) { print "pings " ($1 - prev) " us apart"; bad = 1 }
		prev = $1
	}
	$3 ~ /^EXTEND_TIMEOUT_USEC=/ { stopping = 1 }
	END {
		print "pings: " n[0] + 0 " before the hang, " n[1] + 0 " during, " n[2] + 0 " after"
		if (n[0] < 3 || n[0] > 8) { print "want 3..8 pings in 0.5 s"; bad = 1 }
		if (n[1] != 0) { print "pings from a hung loop"; bad = 1 }
		if (n[2] < 2 || n[2] > 8) { print "want 2..8 pings in 0.5 s after the hang"; bad = 1 }
		exit bad
	}' "$tmp/seq" && ok "watchdog cadence" || bad "watchdog cadence"

# RELOADING=1 carries the sender's CLOCK_MONOTONIC, no later than its arrival.
awk -F'\t' '$3 == "RELOADING=1" {
	split($4, kv, "="); d = $1 - kv[2]
	exit !(kv[1] == "MONOTONIC_USEC" && d >= 0 && d < 5000000) }' "$tmp/seq" &&
	ok "RELOADING=1 MONOTONIC_USEC" || bad "RELOADING=1 MONOTONIC_USEC"

# All messages from the emitter itself.
pids=$(cut -f2 "$tmp/seq" | sort -u | wc -l)
[ "$pids" = 1 ] && ok "one sender" || bad "senders: $pids"

# 2. The watchdog is meant for another process (WATCHDOG_PID): no pings.
WATCHDOG_USEC=200000 WATCHDOG_PID=1 python3 "$listen" --socket "$tmp/notify.sock" --out "$tmp/other" -- "$emit" >"$tmp/stdout"
[ "$(cat "$tmp/stdout")" = "interval=0" ] && ! grep -q WATCHDOG "$tmp/other" &&
	[ "$(wc -l <"$tmp/other")" = 8 ] && ok "WATCHDOG_PID of another process" || bad "WATCHDOG_PID of another process"

# 3. No NOTIFY_SOCKET: every call is a quiet no-op.
env -u NOTIFY_SOCKET WATCHDOG_USEC=200000 "$emit" >"$tmp/stdout" 2>"$tmp/stderr"
[ "$(cat "$tmp/stdout")" = "interval=0" ] && [ ! -s "$tmp/stderr" ] && ok "no NOTIFY_SOCKET" || bad "no NOTIFY_SOCKET"

exit "$fail"
