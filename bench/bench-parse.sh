#!/bin/sh
# Peak RSS and time of the codec parsing the largest answers: the largest
# legitimate 10,000-recipient detail under the 64 MiB cap of a get (api.h),
# and bodies of "[{},{},...]" at that cap and just under the parse budget.
# Each case runs in a process of its own. Usage: bench/bench-parse.sh [BUILDDIR]
set -eu
build=${1:-build}
make -C "$build" bench/bench-parse >/dev/null
p=$build/bench/bench-parse
# 10,000 recipients, each with 40 dynamic variables, a first message and a
# system prompt of 4,000 / 5,000 bytes: 54 MB and 64 MB
"$p" detail 10000 4000 40
"$p" detail 10000 5000 40
# 64 MiB of "{}," (json-c alone would want about 17 GB), as a detail and
# as an error body
"$p" empties 67108864
"$p" error 67108864
# the most "{}," the budget lets through (about 80,000 objects)
"$p" empties 240000
