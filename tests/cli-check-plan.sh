#!/bin/sh
# batchcallctl check and plan as an operator runs them: exit codes, the
# summary line, FILE:LINE errors on stderr, the plan table and JSON, bad
# usage, and junk input that must give a clear error rather than a crash.
#
# The JSON documents are read with python3, which scripts/install-deps
# installs and the package build depends on (debian/control): without it
# the test fails rather than leave them unchecked.
set -u
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is needed to read plan --json"; exit 1; }
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
data="$top/tests/data"
# shellcheck source=tests/helpers/cli.sh
. "$top/tests/helpers/cli.sh"

# the examples shipped in etc/
run 0 -c "$top/etc/batchcalld.conf" check
expect_out "6 jobs in 3 files, 11 recipients"
[ -s "$tmp/err" ] && fail "check of etc/ wrote to stderr"

run 0 -c "$top/etc/batchcalld.conf" plan --from 2026-11-30T00:00:00Z
[ "$(wc -l <"$tmp/out")" -eq 7 ] || fail "plan of etc/ should print a header and 6 runs"
grep -q '^dec-renewals  *2026-12-01 09:00 -05:00 (EST)  *America/New_York  *2026-12-01T14:00:00Z  *1796133600  *2026-12-01 09:00 -05:00  *future$' "$tmp/out" ||
	fail "plan of etc/ lacks the dec-renewals row"
grep -q '^in-kyc-reminder .* disabled$' "$tmp/out" || fail "plan of etc/ lacks the disabled job"

# the good fixture, relative path, fixed --from
cd "$data" || exit 1
run 0 -c good/batchcalld.conf check
expect_out "4 jobs in 2 files, 7 recipients"
run 0 -c good/batchcalld.conf plan --from "2026-12-01 14:05"
expect_out "JOB           LOCAL TIME                        TIMEZONE          UTC                         UNIX  SUBMIT AT                STATE
gap-job       2026-03-08 03:30 -04:00 (EDT)     America/New_York  2026-03-08T07:30:00Z  1772955000  -                        disabled
wa.sg         2026-12-01 03:00 -05:00 (EST)     America/New_York  2026-12-01T08:00:00Z  1796112000  -                        missed by 6h5m
dec-renewals  2026-12-01 09:00 -05:00 (EST)     America/New_York  2026-12-01T14:00:00Z  1796133600  2026-12-01 09:05 -05:00  late by 5m
kolkata       2026-12-01 19:30:15 +05:30 (IST)  Asia/Kolkata      2026-12-01T14:00:15Z  1796133615  -                        missed by 4m45s"
run 0 -c good/batchcalld.conf plan --json --from 1796133900
grep -q '"from": 1796133900,' "$tmp/out" || fail "plan --json lacks from"
grep -q '"file": "good/jobs.d/10-us.conf",' "$tmp/out" || fail "plan --json lacks the job file"
[ "$(grep -c '"job":' "$tmp/out")" -eq 4 ] || fail "plan --json should hold 4 runs"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert [r["state"] for r in d["runs"]] == ["disabled","missed","late","missed"]' \
	<"$tmp/out" || fail "plan --json is not the expected JSON document"
# the same instant written four ways gives the same plan
for t in 1796133900 "2026-12-01 14:05:00" 2026-12-01T09:05:00-05:00 2026-12-01T19:35+05:30; do
	run 0 -c good/batchcalld.conf plan --json --from "$t"
	grep -q '"from": 1796133900,' "$tmp/out" || fail "--from '$t' is not 1796133900"
done

# recurring jobs and calling hours: --count, SUBMIT AT, zone groups
run 0 -c good-repeat/batchcalld.conf check
expect_out "6 jobs in 2 files, 10 recipients"
run 0 -c good-repeat/batchcalld.conf plan --from 2026-12-04T19:00:00Z --count 3
[ "$(grep -c '^weekday ' "$tmp/out")" -eq 3 ] || fail "plan --count 3 should list 3 runs of weekday"
[ "$(grep -c '^hourly ' "$tmp/out")" -eq 3 ] || fail "plan --count 3 should list 3 runs of hourly"
grep -q '^night  *2026-12-05 21:00 +01:00 (CET)  *Europe/Berlin  *2026-12-05T20:00:00Z  *1796500800  *skipped  *future$' "$tmp/out" ||
	fail "plan lacks the skipped Saturday run of night"
grep -q '^xmas  *2026-12-25 10:00 -05:00 (EST) .* 1798210800  *2026-12-28 09:00 -05:00 (deferred)  *future$' "$tmp/out" ||
	fail "plan lacks the deferred xmas run"
grep -q '^  *+ 1 recipient  *America/Los_Angeles  *2026-12-07 09:00 -08:00  *deferred$' "$tmp/out" ||
	fail "plan lacks the Los Angeles zone group"
run 0 -c good-repeat/batchcalld.conf plan --from 2026-12-04T19:00:00Z
[ "$(grep -c '^weekday ' "$tmp/out")" -eq 1 ] || fail "plan lists one occurrence by default"
run 0 -c good-repeat/batchcalld.conf plan --json --count 2 --from 1796133900
python3 -c '
import json, sys
d = json.load(sys.stdin)
z = [r for r in d["runs"] if r["job"] == "zones"]
assert len(z) == 2, z
g = z[0]["zone_groups"]
assert [x["timezone"] for x in g] == ["Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles"], g
assert [x["submit_at"] for x in g] == [1796216400, 1796220000, 1796223600, 1796230800], g
assert [x["window"] for x in g] == ["open", "deferred", "deferred", "deferred"], g
w = [r for r in d["runs"] if r["job"] == "weekday"]
assert [(r["state"], r["submit_at"], r["window"]) for r in w] == [("late", 1796133900, "open"), ("future", 1796220000, "open"), ("future", 1796306400, "open")], w
x = [r for r in d["runs"] if r["job"] == "xmas"][0]
assert (x["submit_at"], x["window"], x["submit_local"]) == (1798466400, "deferred", "2026-12-28T09:00:00-05:00"), x
' <"$tmp/out" || fail "plan --json of good-repeat is not the expected document"
run 2 -c good-repeat/batchcalld.conf plan --count 0
run 2 -c good-repeat/batchcalld.conf plan --count 1001
run 2 -c good-repeat/batchcalld.conf plan --count many

# a bad daemon file: every error, FILE:LINE, exit 1, nothing on stdout
run 1 -c bad/daemon/api-ranges.conf check
expect_out ""
expect_err_line "bad/daemon/api-ranges.conf:6: 'api.base_url' must be an http:// or https:// URL with a host (got \"ftp://example.com\")"
expect_err_line "bad/daemon/api-ranges.conf:7: 'api.request_timeout' must be between 1 and 600 (got 0)"
[ "$(wc -l <"$tmp/err")" -eq 4 ] || fail "api-ranges.conf should give 4 errors"
run 1 -c bad/daemon/jobs-dir-missing.conf plan
expect_err_line "bad/daemon/jobs-dir-missing.conf:2: jobs folder 'bad/daemon/nowhere.d': No such file or directory"

# bad job files: a folder of them, every file's errors reported in one run
mkdir "$tmp/j" "$tmp/j/jobs.d"
printf 'jobs_dir = "jobs.d";\ndefaults = { timezone = "UTC"; };\n' >"$tmp/j/batchcalld.conf"
cp "$data/bad/jobs/ranges.conf" "$data/bad/jobs/unknown-key.conf" "$tmp/j/jobs.d/"
run 1 -c "$tmp/j/batchcalld.conf" check
expect_err_line "$tmp/j/jobs.d/ranges.conf:6: 'ringing_timeout_secs' must be between 1 and 999 (got 1000)"
expect_err_line "$tmp/j/jobs.d/unknown-key.conf:7: unknown key 'agnet_id' in a job (did you mean 'agent_id'?)"
[ "$(wc -l <"$tmp/err")" -eq 8 ] || fail "the two bad job files should give 8 errors"

# junk: binary, empty, a 1 MB line, NUL bytes
rm -f "$tmp/j/jobs.d/"*
head -c 65536 /dev/urandom >"$tmp/j/jobs.d/junk.conf"
: >"$tmp/j/jobs.d/empty.conf"
awk 'BEGIN { printf "jobs = ( { name = \""; for (i = 0; i < 1048576; i++) printf "x"; print "\"; } );" }' \
	>"$tmp/j/jobs.d/long.conf"
run 1 -c "$tmp/j/batchcalld.conf" check
expect_err_line "$tmp/j/jobs.d/empty.conf:1: no 'jobs' list: a job file holds jobs = ( { name = ...; ... } );"
grep -q "^$tmp/j/jobs.d/junk.conf:[0-9]*: " "$tmp/err" || fail "junk.conf gave no FILE:LINE error"
grep -q "^$tmp/j/jobs.d/long.conf:1: job name 'xxxx*' is not valid" "$tmp/err" || fail "long.conf gave no name error"
printf 'phone_number\n+15550100001\n\000\n' >"$tmp/j/jobs.d/nul.csv"
rm -f "$tmp/j/jobs.d/"*.conf
printf 'jobs = ( { name = "n"; agent_id = "a"; start = "2026-12-01 09:00"; recipients_csv = "nul.csv"; } );\n' \
	>"$tmp/j/jobs.d/nul.conf"
run 1 -c "$tmp/j/batchcalld.conf" check
expect_err_line "$tmp/j/jobs.d/nul.csv:3: NUL byte in the file (is this a binary file?)"
run 1 -c "$tmp/nope.conf" check
expect_err_line "$tmp/nope.conf: cannot read: No such file or directory"

# call_names that two jobs could share, and state_retention: each refused
# with FILE:LINE and exit 1 (the daemon's own load says the same)
mkdir "$tmp/n" "$tmp/n/jobs.d"
job() { # NAME [MORE KEYS]
	printf '{ name = "%s"; agent_id = "a"; start = "2026-12-01 09:00";%s\n  recipients = ( { phone_number = "+15550100001"; } ); }' "$1" "${2:-}"
}
printf 'jobs_dir = "jobs.d";\ndefaults = { timezone = "UTC"; };\n' >"$tmp/n/batchcalld.conf"
printf 'jobs = (\n%s,\n%s,\n%s,\n%s\n);\n' "$(job a ' call_name = "Renewals";')" "$(job b ' call_name = "Renewals EU";')" \
	"$(job c ' call_name = "Renewals-2026";')" "$(job d)" >"$tmp/n/jobs.d/ok.conf"
run 0 -c "$tmp/n/batchcalld.conf" check
expect_out "4 jobs in 1 file, 4 recipients"
printf 'jobs = (\n%s\n);\n' "$(job e ' call_name = "Renewals";')" >"$tmp/n/jobs.d/same.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_out ""
expect_err_line "$tmp/n/jobs.d/same.conf:2: job 'e' has the same call_name 'Renewals' as job 'a' at $tmp/n/jobs.d/ok.conf:2: their runs at the same local time would get the same call_name, and after a crash one job could adopt the other's batch; give each job its own call_name"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "same.conf should give 1 error"
if "$build/batchcalld" -c "$tmp/n/batchcalld.conf" --check >"$tmp/out" 2>"$tmp/err"; then
	fail "batchcalld --check accepted a shared call_name"
fi
grep -qF "$tmp/n/jobs.d/same.conf:2: job 'e' has the same call_name 'Renewals'" "$tmp/err" ||
	fail "batchcalld --check did not name the shared call_name"
printf 'jobs = (\n%s\n);\n' "$(job e ' call_name = "d";')" >"$tmp/n/jobs.d/same.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/jobs.d/same.conf:2: job 'e' has the same call_name 'd' as job 'd' at $tmp/n/jobs.d/ok.conf:8 (its name, as it has no call_name): their runs at the same local time would get the same call_name, and after a crash one job could adopt the other's batch; give each job its own call_name"
printf 'jobs = (\n%s\n);\n' "$(job e ' call_name = "Renewals 2026";')" >"$tmp/n/jobs.d/same.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/jobs.d/same.conf:2: call_name 'Renewals 2026' of job 'e' begins with 'Renewals', a space and a digit, and 'Renewals' is the call_name of job 'a' at $tmp/n/jobs.d/ok.conf:2: a run's call_name is its job's call_name, a space and its local start, which begins with a digit, so runs of the two jobs could get the same call_name; change one of them"
rm "$tmp/n/jobs.d/same.conf"
printf 'jobs_dir = "jobs.d";\ndefaults = {\n  timezone = "UTC";\n  call_name = "Campaign";\n};\n' >"$tmp/n/batchcalld.conf"
printf 'jobs = (\n%s\n);\n' "$(job e)" >"$tmp/n/jobs.d/same.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/jobs.d/same.conf:2: job 'e' has the same call_name 'Campaign' as job 'd', an inherited call_name shared by two jobs (job 'd' at $tmp/n/jobs.d/ok.conf:8, 'call_name' in defaults at $tmp/n/batchcalld.conf:4): their runs at the same local time would get the same call_name, and after a crash one job could adopt the other's batch; give each job its own call_name"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "an inherited call_name of two jobs should give 1 error"
rm "$tmp/n/jobs.d/same.conf"
printf 'jobs_dir = "jobs.d";\nstate_retention = 3600;\nstate_retension = 86400;\ndefaults = { timezone = "UTC"; };\n' \
	>"$tmp/n/batchcalld.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/batchcalld.conf:2: 'state_retention' must be between 86400 and 315360000 (got 3600)"
expect_err_line "$tmp/n/batchcalld.conf:3: unknown key 'state_retension' in the daemon configuration (did you mean 'state_retention'?)"
[ "$(wc -l <"$tmp/err")" -eq 2 ] || fail "a bad state_retention should give 2 errors"
printf 'jobs_dir = "jobs.d";\nstate_retention = "30d";\ndefaults = { timezone = "UTC"; };\n' >"$tmp/n/batchcalld.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/batchcalld.conf:2: 'state_retention' must be an integer, not a string"
printf 'jobs_dir = "jobs.d";\nstate_retention = 86400;\ndefaults = {\n  timezone = "UTC";\n  max_lateness = 86401;\n};\n' \
	>"$tmp/n/batchcalld.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/batchcalld.conf:5: 'max_lateness' (86401) must be at most 'state_retention' (86400): the state keeps the record of a run only that long after it ended, so a run later than that could be submitted twice"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "a default max_lateness beyond state_retention is reported once"
printf 'jobs_dir = "jobs.d";\nstate_retention = 86400;\ndefaults = { timezone = "UTC"; };\n' >"$tmp/n/batchcalld.conf"
printf 'jobs = (\n%s\n);\n' "$(job e ' max_lateness = 86400;')" >"$tmp/n/jobs.d/late.conf"
run 0 -c "$tmp/n/batchcalld.conf" check
expect_out "5 jobs in 2 files, 5 recipients"
printf 'jobs = (\n%s\n);\n' "$(job e '
  max_lateness = 90000;')" >"$tmp/n/jobs.d/late.conf"
run 1 -c "$tmp/n/batchcalld.conf" check
expect_err_line "$tmp/n/jobs.d/late.conf:3: 'max_lateness' (90000) must be at most 'state_retention' (86400): the state keeps the record of a run only that long after it ended, so a run later than that could be submitted twice"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "a job's max_lateness beyond state_retention is 1 error"

# usage
run 2
grep -q '^usage: batchcallctl' "$tmp/err" || fail "no usage line without a command"
run 2 frobnicate
expect_err_line "batchcallctl: unknown command 'frobnicate'"
run 2 -c good/batchcalld.conf plan --from yesterday
run 2 -c good/batchcalld.conf plan --bogus
run 2 -c good/batchcalld.conf plan extra
run 2 -c good/batchcalld.conf check extra
run 2 -x check
run 2 -c
run 0 --help
grep -q '^usage: batchcallctl' "$tmp/out" || fail "--help lacks the usage"
run 0 --version
grep -q '^batchcallctl [0-9]' "$tmp/out" || fail "--version lacks the version"

cli_done
