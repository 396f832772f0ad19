#!/bin/sh
# Benchmark of batchcall-sim (prints figures; not a test):
#  1. requests/s on loopback, mixed GET/list/submit over kept-alive
#     connections (bench/bench-sim-load mix), at 1 and 4 connections;
#  2. resident memory with 1,000 batches x 1,000 recipients, with the
#     request log (which keeps every body) and after clearing it.
# usage: bench/bench-sim.sh [BUILDDIR]   (default: ./build, or $BUILDDIR)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILDDIR:-$top/build}}
sim=$build/batchcall-sim
load=$build/bench/bench-sim-load
[ -x "$sim" ] || { echo "no $sim: build first" >&2; exit 1; }
[ -x "$load" ] || make -C "$build" bench/bench-sim-load >/dev/null
secs=${BENCH_SECONDS:-5}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

start_sim() {
	rm -f "$tmp/out"
	"$sim" --listen 127.0.0.1:0 --api-key bench >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	i=0
	while ! grep -q 'listening on' "$tmp/out"; do
		i=$((i + 1))
		[ $i -lt 500 ] || { echo "batchcall-sim did not start" >&2; exit 1; }
		kill -0 "$pid" || { cat "$tmp/err" >&2; exit 1; }
		sleep 0.01
	done
	port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$tmp/out")
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }

start_sim
echo "idle RSS: $(rss_kib) KiB"
"$load" mix "$port" bench "$secs" 1
"$load" mix "$port" bench "$secs" 4
kill "$pid"; wait "$pid" || true; pid=

start_sim
before=$(rss_kib)
"$load" fill "$port" bench 1000 1000
with_log=$(rss_kib)
curl -s -X DELETE "http://127.0.0.1:$port/_sim/requests" >/dev/null
without_log=$(rss_kib)
t0=$(date +%s%N)
curl -s -H 'xi-api-key: bench' -o /dev/null "http://127.0.0.1:$port/v1/convai/batch-calling/workspace?limit=100"
t1=$(date +%s%N)
id=$(curl -s -H 'xi-api-key: bench' "http://127.0.0.1:$port/v1/convai/batch-calling/workspace?limit=1" |
	sed 's/^{"batch_calls":\[{"id":"\([^"]*\)".*/\1/')
t2=$(date +%s%N)
curl -s -H 'xi-api-key: bench' -o "$tmp/one.json" "http://127.0.0.1:$port/v1/convai/batch-calling/$id"
t3=$(date +%s%N)
echo "1,000 batches x 1,000 recipients: RSS $with_log KiB with the request log, $(rss_kib) KiB after clearing it (was $before KiB empty)"
echo "  per recipient: $(( (without_log - before) * 1024 / 1000000 )) bytes; list(limit=100) $(( (t1 - t0) / 1000000 )) ms, GET of a 1,000-recipient batch ($(wc -c <"$tmp/one.json") bytes) $(( (t3 - t2) / 1000000 )) ms (curl, incl. process start)"
