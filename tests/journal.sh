#!/bin/sh
# journal.sh: what a real journald stores from log.c. Runs itself inside a
# private journald (tests/helpers/journald-ns.sh; skipped when not root),
# emits every event kind with tests/shell/log-emit and checks each entry's fields
# with `journalctl -o json`, the debug filter, $JOURNAL_STREAM detection and
# `journalctl -x` explanations from systemd/batchcalld.catalog.
set -eu
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
export TOP_SRCDIR TOP_BUILDDIR

if [ "${BC_JOURNALD_NS:-}" != 1 ]; then
	exec "$TOP_SRCDIR/tests/helpers/journald-ns.sh" "$0" "$@"
fi

emit=$TOP_BUILDDIR/tests/shell/log-emit
fail=0
check() { # check NAME COMMAND...: run a check, report it
	name=$1
	shift
	if "$@"; then echo "ok: $name"; else echo "FAIL: $name"; fail=1; fi
}

"$emit" journal jobx >/run/batchcalld-test/jobx.out
"$emit" journal jobv -v >/dev/null
# auto: stderr is a journal stream and $JOURNAL_STREAM names it, as systemd
# sets it for a service (systemd-cat does not set the variable itself).
systemd-cat -t logemit-auto sh -c \
	'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" auto joba' "$emit"
# auto: the variable is inherited, but stderr was redirected elsewhere
# (stat before the redirection: assignments are expanded after it).
systemd-cat -t logemit-redirected sh -c \
	's=$(stat -L -c %d:%i /proc/self/fd/2); JOURNAL_STREAM=$s exec "$0" auto jobr 2>/run/batchcalld-test/jobr.err' "$emit"
journalctl --sync

journalctl -o json JOB_NAME=jobx >/run/batchcalld-test/jobx.json
journalctl -o json SYSLOG_IDENTIFIER=batchcalld >/run/batchcalld-test/all.json
journalctl -o json SYSLOG_IDENTIFIER=logemit-auto >/run/batchcalld-test/auto-stdout.json

# Every MESSAGE_ID is fixed forever: this table is the contract with the
# catalog and with operators' queries.
python3 - /run/batchcalld-test <<'PY' || fail=1
import json, sys, os
d = sys.argv[1]
ids = [
    ("scheduled", "06a2fcbd0a3e45039abb88e83f2d5604", "scheduled"),
    ("submitted", "52db1a0b3ca441058a88453a18d80fb2", "submitted"),
    ("adopted", "c9db8e79c7f04878afcb267a6377f17f", "adopted"),
    ("status", "0345ab50abc941acbaffbd28fd770154", "status"),
    ("retried", "4cfec00bb0214248ba9b77eb661eea01", "retried"),
    ("cancelled", "a418bd70e2184c24978fd7f341557f5c", "cancelled"),
    ("finished", "99df601d78ca4cbab54de82d214d8adf", "finished"),
    ("missed", "a0910cfb3c2045bea6705c535c2bd2ee", "missed"),
    ("error", "e89f56a81d624dc79f4b6667a3d030f5", "error"),
    ("late", "bd5f11da4b95496184bc9d8f47f4d3c9", "late"),
    ("daemon-started", "d21f7874ee0e499ba41b96b51b5f8ca7", None),
    ("daemon-stopping", "e8d246706f6947118b5362a688156cc7", None),
    ("daemon-stopped", "d92205aa43f24d4d82541d97732a801e", None),
    ("reloaded", "7c325cf6ee6d4a43bd5470d5cc79f422", None),
    ("reload-failed", "037e7ccf3f064731a88061227c640062", None),
    ("config-error", "664c312f53b94cc0ab48422efddb4c0a", None),
    ("api-key", "15c98541775244d2ad06491e7315e390", None),
    ("api-auth", "ae9b2427aed84c7d987bdfbb2d7dc141", None),
    ("api-transient", "c7029d4b36bf47fba255f4bb49ec1a59", None),
    ("state-error", "f256f693394c4bddbe09ad0f2fc8b3b7", None),
    ("job-changed", "7a352a1c64534195b51a65f234f4946e", None),
    ("removed", "1cc102a77d9f420085ba9b4a4031239c", None),
    ("control", "e84c3566cdfc4f8083713ef4b07bae08", None),
    ("control-listening", "c946f8e5e95345a89ab8a1f02f76cd7c", None),
    ("control-failed", "0b3a6ee87d054508b680d0bc79f35a58", None),
    ("control-accept", "fb61b628bd09430baba1db952b252a9f", None),
    ("api-key-accepted", "bcafdf473ad64d69ac82fcb25b3c6e2d", None),
    ("state-writable", "10bff2a02507452e8157e02f7b2d2b08", None),
    ("duplicate", "976151599cc848a48bc96f1a36b7d3ce", None),
    ("paused", "cbf3c335bd7a4b38b7aa30a3a146f6a1", None),
    ("restart-needed", "7a70138514994365977017d8bdc468e5", None),
    ("stop-abandoned", "5c5d284f60144991a185425d7cad1cde", None),
    ("record-removed", "304adc6bd2ff40ac9539464d6adc8ee6", None),
    ("internal", "a39206db9ef3494d994fff3b90df3a17", None),
    ("results-written", "dbdaecf626fc42ce9b88a8c307b61464", None),
    ("webhook-refused", "c0ad8aae23424426b8c32ff771a2096c", None),
    ("webhook-failed", "6f132762825644acb6db22596a0682af", None),
    ("api-clock", "46f197c731234704b00f486b0bb50276", None),
    ("suppressed", "5d1e6a0c9b7f4e2a8c3d41f0a6b2e917", None),
    ("contact-limit", "904c8d9fcf5c417d9a53c7d265bf476f", None),
    ("leader-gained", "734986c986344c9883b80c7d0c0ee8cb", None),
    ("leader-lost", "3e60082be14b4eaa89c404039a3230d3", None),
    ("cluster", "4196ed2680194e87908d8b39cd6d8381", None),
]
failed = False
def expect(what, got, want):
    global failed
    if got != want:
        print(f"FAIL: {what}: got {got!r}, want {want!r}")
        failed = True
def load(name):
    with open(os.path.join(d, name)) as f:
        return [json.loads(l) for l in f if l.strip()]

jobx = load("jobx.json")
expect("entries with JOB_NAME=jobx", len(jobx), len(ids))
for k, (name, mid, job_event) in enumerate(ids, start=1):
    e = [x for x in jobx if x.get("BATCH_ID") == "btcal_" + name]
    expect(f"entries for {name}", len(e), 1)
    if not e:
        continue
    e = e[0]
    expect(f"{name} MESSAGE_ID", e.get("MESSAGE_ID"), mid)
    expect(f"{name} JOB_EVENT", e.get("JOB_EVENT"), job_event)
    expect(f"{name} MESSAGE", e.get("MESSAGE"), f"job 'jobx': event {name}")
    expect(f"{name} PRIORITY", e.get("PRIORITY"), "5")
    expect(f"{name} SYSLOG_IDENTIFIER", e.get("SYSLOG_IDENTIFIER"), "batchcalld")
    expect(f"{name} RUN_START", e.get("RUN_START"), str(1764597600 + k))
    expect(f"{name} JOB_STATE", e.get("JOB_STATE"), "pending")
    expect(f"{name} ATTEMPT", e.get("ATTEMPT"), str(k))
    expect(f"{name} HTTP_STATUS", e.get("HTTP_STATUS"), str(200 + k))
    expect(f"{name} CODE_FILE", e.get("CODE_FILE", "").endswith("tests/shell/log-emit.c"), True)
    expect(f"{name} CODE_FUNC", e.get("CODE_FUNC"), "main")
    expect(f"{name} transport", e.get("_TRANSPORT"), "journal")

alle = load("all.json")
def by_job(j):
    return [x for x in alle if x.get("JOB_NAME") == j]
# debug is off by default, on with -v
expect("debug entry without -v", len(by_job("jobx-debug")), 0)
dbg = by_job("jobv-debug")
expect("debug entry with -v", len(dbg), 1)
if dbg:
    expect("debug PRIORITY", dbg[0].get("PRIORITY"), "7")
    expect("debug JOB_EVENT", dbg[0].get("JOB_EVENT"), "status")
    expect("debug JOB_STATE", dbg[0].get("JOB_STATE"), "in_progress")
    for f in ("RUN_START", "BATCH_ID", "ATTEMPT", "HTTP_STATUS"):
        expect(f"debug entry has no {f}", f in dbg[0], False)
# a plain message: no MESSAGE_ID, no job fields, control characters escaped
plain = [x for x in alle if x.get("MESSAGE", "").startswith("plain jobx")]
expect("plain entries", len(plain), 1)
if plain:
    expect("plain MESSAGE", plain[0].get("MESSAGE"), "plain jobx\\tmessage\\nforged=1")
    expect("plain PRIORITY", plain[0].get("PRIORITY"), "4")
    for f in ("MESSAGE_ID", "JOB_NAME", "JOB_EVENT", "FORGED"):
        expect(f"plain entry has no {f}", f in plain[0], False)
# without a code location: no CODE_* fields at all rather than log.c's
nowhere = [x for x in alle if x.get("MESSAGE") == "jobx: no location"]
expect("no-location entries", len(nowhere), 1)
if nowhere:
    for f in ("CODE_FILE", "CODE_LINE", "CODE_FUNC"):
        expect(f"no-location entry has no {f}", f in nowhere[0], False)
# auto with stderr = the journal stream: native entries, not stdout lines
auto = by_job("joba")
expect("auto entries", len(auto), len(ids))
expect("auto entries are native", sorted({x.get("_TRANSPORT") for x in auto}), ["journal"])
out = [x.get("MESSAGE") for x in load("auto-stdout.json")]
expect("auto stdout", out, ["target=journal"])
# auto with stderr redirected away from the stream: console
expect("redirected entries", len(by_job("jobr")), 0)
with open(os.path.join(d, "jobr.err")) as f:
    lines = f.read().splitlines()
expect("redirected console lines", len(lines), len(ids) + 2)
expect("redirected first line", lines[0] if lines else None,
       "notice: job 'jobr': event scheduled job_name=jobr run_start=1764597601 "
       "batch_id=btcal_scheduled job_event=scheduled job_state=pending attempt=1 http_status=201")
sys.exit(1 if failed else 0)
PY
[ "$fail" = 0 ] && echo "ok: journal fields"

# Queries from the README.
n=$(journalctl -o cat BATCH_ID=btcal_submitted JOB_NAME=jobx | wc -l)
check "query by BATCH_ID and JOB_NAME" [ "$n" = 1 ]
n=$(journalctl -o cat JOB_NAME=jobx JOB_EVENT=missed | wc -l)
check "query by JOB_EVENT" [ "$n" = 1 ]
n=$(journalctl -o cat -p err SYSLOG_IDENTIFIER=batchcalld | wc -l)
check "nothing at err or above" [ "$n" = 0 ]

# journalctl -x explains an entry from the catalog, with the entry's fields
# substituted. The catalog folder is replaced in this namespace only.
catdir=/run/batchcalld-test/catalog
if [ -d /usr/lib/systemd/catalog ]; then
	mkdir -p "$catdir"
	cp "$TOP_BUILDDIR/systemd/batchcalld.catalog" "$catdir/"
	mount --bind "$catdir" /usr/lib/systemd/catalog
	journalctl --update-catalog
	journalctl -x -o short JOB_NAME=jobx JOB_EVENT=missed >/run/batchcalld-test/x.txt
	check "journalctl -x subject" grep -q "Subject: Run of job jobx missed" /run/batchcalld-test/x.txt
	check "journalctl -x body" grep -q "due at RUN_START=1764597608 (unix seconds) was" /run/batchcalld-test/x.txt
	check "journalctl -x documentation" grep -q "Documentation: file:///.*/doc/batchcalld/README.md" /run/batchcalld-test/x.txt
else
	catalog_skipped=1
fi

# A check that could not run is a skip, never a pass (automake's 77).
if [ "$fail" = 0 ] && [ -n "${catalog_skipped:-}" ]; then
	echo "SKIP: journalctl -x: no /usr/lib/systemd/catalog to stand in for (the other checks passed)"
	exit 77
fi
exit "$fail"
