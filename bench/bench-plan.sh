#!/bin/sh
# Benchmark (prints figures; not a test): `batchcallctl plan` over 10,000
# jobs spread across 50 zones, and `batchcallctl check` over a job with a
# CSV of 10,000 recipients. Wall time and peak RSS come from bench/bench-run
# (wait4 rusage), so no GNU time is needed.
# usage: bench/bench-plan.sh [BUILDDIR]   (default: ./build, or $BUILDDIR)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILDDIR:-$top/build}}
ctl="$build/batchcallctl"
runner="$build/bench/bench-run"
[ -x "$ctl" ] || { echo "no $ctl: build first" >&2; exit 1; }
[ -x "$runner" ] || make -C "$build" bench/bench-run >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

zones="America/New_York America/Chicago America/Denver America/Los_Angeles America/Anchorage
Pacific/Honolulu America/Sao_Paulo America/St_Johns America/Halifax America/Mexico_City
America/Bogota America/Lima America/Santiago America/Argentina/Buenos_Aires America/Caracas
Europe/London Europe/Dublin Europe/Lisbon Europe/Paris Europe/Berlin Europe/Madrid Europe/Rome
Europe/Athens Europe/Helsinki Europe/Istanbul Europe/Moscow Africa/Casablanca Africa/Lagos
Africa/Cairo Africa/Johannesburg Africa/Nairobi Asia/Dubai Asia/Tehran Asia/Karachi Asia/Kolkata
Asia/Kathmandu Asia/Dhaka Asia/Bangkok Asia/Singapore Asia/Shanghai Asia/Tokyo Asia/Seoul
Australia/Perth Australia/Adelaide Australia/Sydney Australia/Lord_Howe Pacific/Auckland
Pacific/Chatham Pacific/Apia UTC"

# 10,000 jobs in 50 zones, 100 files of 100 jobs
mkdir -p "$tmp/plan/jobs.d"
printf 'jobs_dir = "jobs.d";\n' >"$tmp/plan/batchcalld.conf"
echo "$zones" | tr ' ' '\n' | grep . | awk -v dir="$tmp/plan/jobs.d" '
{ z[n++] = $0 }
END {
	for (f = 0; f < 100; f++) {
		file = sprintf("%s/%03d.conf", dir, f)
		print "jobs = (" > file
		for (k = 0; k < 100; k++) {
			i = f * 100 + k
			printf "  { name = \"job-%05d\"; agent_id = \"agent_%d\"; start = \"2026-%02d-%02d %02d:%02d\"; timezone = \"%s\";\n", \
				i, i % 7, i % 12 + 1, i % 28 + 1, i % 24, (i * 7) % 60, z[i % n] > file
			printf "    recipients = ( { phone_number = \"+1555%07d\"; variables = { n = %d; }; } ); }%s\n", \
				i, i, k < 99 ? "," : "" > file
		}
		print ");" > file
	}
}'
[ "$(cat "$tmp/plan/jobs.d/"*.conf | grep -c 'name = ')" -eq 10000 ] || { echo "generator failed" >&2; exit 1; }

# one job with a CSV of 10,000 recipients (quoted fields, overrides, variables)
mkdir -p "$tmp/csv/jobs.d"
printf 'jobs_dir = "jobs.d";\n' >"$tmp/csv/batchcalld.conf"
printf 'jobs = ( { name = "big"; agent_id = "a"; start = "2026-12-01 09:00"; timezone = "America/New_York";\n  recipients_csv = "big.csv"; } );\n' \
	>"$tmp/csv/jobs.d/big.conf"
awk 'BEGIN {
	print "phone_number,id,first_name,plan,language,first_message,balance"
	for (i = 0; i < 10000; i++)
		printf "+1555%07d,cust-%d,Name %d,\"Pro, yearly\",en,\"Hello \"\"friend\"\", this is Acme\",%d.%02d\r\n", i, i, i, i, i % 100
}' >"$tmp/csv/jobs.d/big.csv"

echo "batchcallctl: $ctl"
"$ctl" -c "$tmp/plan/batchcalld.conf" check
"$ctl" -c "$tmp/csv/batchcalld.conf" check
for i in 1 2 3; do
	"$runner" "plan (10,000 jobs, 50 zones)" "$ctl" -c "$tmp/plan/batchcalld.conf" plan --from 2026-06-01T00:00:00Z
done
for i in 1 2 3; do
	"$runner" "plan --json (10,000 jobs)" "$ctl" -c "$tmp/plan/batchcalld.conf" plan --json --from 2026-06-01T00:00:00Z
done
for i in 1 2 3; do
	"$runner" "check (10,000 jobs)" "$ctl" -c "$tmp/plan/batchcalld.conf" check
done
for i in 1 2 3; do
	"$runner" "check (CSV, 10,000 recipients)" "$ctl" -c "$tmp/csv/batchcalld.conf" check
done
