#!/usr/bin/env python3
"""Campaign results (issue 14, docs/results.md): the daemon writes one CSV
and one JSON Lines file per occurrence below results_dir when the batch
ends, one row per recipient of the job file, and writes them again as
later facts arrive. The rows are asserted exactly, from the simulator's
documented rules (docs/simulator.md: the last digit decides the call, the
second-to-last the analysis)."""
import collections
import csv
import hashlib
import hmac
import io
import json
import os
import re
import socket
import stat
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SCALE, WRAP, Env, Skip, run, unix_job, wait_until  # noqa: E402

COLUMNS = ["job", "run_start", "run_start_utc", "call_name", "part", "touch", "batch_id", "recipient_id",
           "phone_number", "whatsapp_user_id", "status", "attempts", "conversation_id",
           "conversation_status", "conversation_start", "duration_secs", "termination_reason",
           "call_result", "call_successful", "transcript_summary", "failure_reason"]

# +14155550101: answered, analysis success (second-to-last digit 0);
# +14155550166: no answer (failed); +14155550107: voicemail.
RECIPIENTS = (("cust-1", "+14155550101"), ("cust-2", "+14155550166"), ("cust-3", "+14155550107"))


def job_body(at, extra=""):
    rc = ", ".join('{ id = "%s"; phone_number = "%s"; variables = { user_name = "N%s"; }; }'
                   % (i, p, i[-1]) for i, p in RECIPIENTS)
    return """  agent_id = "agent_results";
  phone_number_id = "phnum_results";
  scheduled_time_unix = %d;
  call_name = "Results run";
  retry = { max_retries = 0; };
  recipients = ( %s );
%s""" % (at, rc, extra)


def ctl(env, *args):
    import subprocess
    from harness import CTL
    return subprocess.run([CTL, "-c", env.d.conf] + list(args), capture_output=True, timeout=30)


def stamp(t):
    return time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(t))


def files_of(results, job, at):
    d = os.path.join(results, job)
    if not os.path.isdir(d):
        return None
    names = sorted(n for n in os.listdir(d) if n.startswith(stamp(at)) and not n.startswith("."))
    return [os.path.join(d, n) for n in names] if len(names) == 2 else None


def read_rows(path):
    with open(path, "rb") as f:
        raw = f.read()
    assert raw.endswith(b"\r\n"), "CSV lines end in CRLF"
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))


def test_results_files_when_batch_ends(work):
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("res", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("res", ("completed", "failed"), 60)
        paths = wait_until(lambda: files_of(results, "res", at), 20, "the results files")
        csv_path, jsonl_path = sorted(paths)
        assert csv_path.endswith(".csv") and jsonl_path.endswith(".jsonl"), paths
        # The call_name's local start has its seconds only when they are not
        # zero (civil_format): a run due at :00 is "... 09_54", not "... 09_54_00".
        fmt = "%Y-%m-%d_%H_%M_%S" if at % 60 else "%Y-%m-%d_%H_%M"
        assert os.path.basename(csv_path) == "%s_Results_run_%s.csv" % (
            stamp(at), time.strftime(fmt, time.gmtime(at))), csv_path
        batch_id = env.d.run_state("res")["batch_id"]
        rows = read_rows(csv_path)
        assert rows[0][:len(COLUMNS)] == COLUMNS, rows[0]
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        assert [r["recipient_id"] for r in body] == ["cust-1", "cust-2", "cust-3"], body
        want_status = {"cust-1": "completed", "cust-2": "failed", "cust-3": "voicemail"}
        for r in body:
            assert r["job"] == "res", r
            assert r["batch_id"] == batch_id, r
            assert r["status"] == want_status[r["recipient_id"]], r
            assert r["attempts"] == "1", r
            assert r["conversation_id"].startswith("conv_"), r
            assert r["phone_number"] == "'" + dict(RECIPIENTS)[r["recipient_id"]], r
            assert r["run_start_utc"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), r
        lines = [json.loads(x) for x in open(jsonl_path, encoding="utf-8").read().splitlines()]
        assert [x["recipient_id"] for x in lines] == ["cust-1", "cust-2", "cust-3"]
        assert lines[0]["phone_number"] == "+14155550101"
        assert lines[0]["attempts"] == 1
        # mode 0640, folder 2750
        assert stat.S_IMODE(os.stat(csv_path).st_mode) == 0o640, oct(os.stat(csv_path).st_mode)
        assert stat.S_IMODE(os.stat(os.path.dirname(csv_path)).st_mode) == 0o2750
        assert stat.S_IMODE(os.stat(results).st_mode) == 0o2750
        # a journal entry per file with its path (logged once the file is
        # in place: the file may be seen a moment before its line)
        for p in (csv_path, jsonl_path):
            wait_until(lambda: re.search(r"job 'res': results file '%s' written \(3 rows, \d+ ms\)" % re.escape(p),
                                         env.d.log()), 10, "the log line of %s" % p)
        # no temporary file left behind
        assert not [n for n in os.listdir(os.path.dirname(csv_path)) if n.endswith(".tmp")]

        # batchcallctl results: the rows from the daemon (once the polls
        # have brought every conversation, so that the files stay as they are) ...
        wait_until(lambda: csv_final(results, "res", at), 60, "the conversation columns")
        # written once: the first write waited for the conversations the
        # polls fetched when the batch ended (not once without their
        # columns, then again as each came)
        assert env.d.log().count("results file '%s' written" % csv_path) == 1, env.d.log()
        csv_text = open(csv_path, "rb").read()
        jsonl_text = open(jsonl_path, "rb").read()
        lines = [json.loads(x) for x in jsonl_text.decode().splitlines()]
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        runs = ((), ("--run", str(at)), ("--run", iso), ("--run", stamp(at)))
        for args in runs:
            p = ctl(env, "results", "res", *args)
            assert p.returncode == 0 and p.stdout == csv_text, (args, p.returncode, p.stderr)
        p = ctl(env, "results", "res", "--json")
        assert p.returncode == 0, p.stderr
        online = p.stdout
        # one JSON document (SPEC section 7), its keys in this order
        assert online.endswith(b"}\n") and online.count(b"\n") == 1, online[-200:]
        doc = json.loads(online, object_pairs_hook=collections.OrderedDict)
        assert list(doc) == ["job", "run_start", "run_start_utc", "csv_file", "csv", "rows"], list(doc)
        assert doc["job"] == "res" and doc["run_start"] == at and doc["run_start_utc"] == iso, doc
        assert doc["csv_file"] == os.path.relpath(csv_path, results), doc["csv_file"]
        assert doc["csv"].encode() == csv_text, doc["csv"]
        assert doc["rows"] == lines, doc["rows"]
        for args in runs[1:]:
            p = ctl(env, "results", "res", "--json", *args)
            assert p.returncode == 0 and p.stdout == online, (args, p.returncode, p.stderr)
        # nothing to show: exit status 1 and the reason (the same offline below)
        refusals = {("res", "--run", str(at + 1)): "job 'res': no run of this job has that start",
                    ("nosuchjob",): "job 'nosuchjob': no run of this job has results yet",
                    ("nosuchjob", "--run", iso): "job 'nosuchjob': no run of this job has that start"}
        for args, why in refusals.items():
            for js in ((), ("--json",)):
                p = ctl(env, "results", *args, *js)
                assert p.returncode == 1 and p.stdout == b"", (args, p.returncode, p.stdout)
                assert p.stderr.decode().splitlines() == ["batchcallctl: " + why], (args, p.stderr)
        assert ctl(env, "results", "res", "--run", "yesterday").returncode == 2
        assert env.d.stop() == 0
        # ... and from the files when it is down: the same CSV, the same
        # document byte for byte, the same refusals
        folder = os.path.dirname(csv_path)
        note = "batchcallctl: batchcalld cannot be reached; the rows of the results files in '%s'" % folder
        for args in runs:
            p = ctl(env, "results", "res", *args)
            assert p.returncode == 0 and p.stdout == csv_text, (args, p.returncode, p.stderr)
            assert p.stderr.decode().splitlines()[-1] == note, p.stderr
            p = ctl(env, "results", "res", "--json", *args)
            assert p.returncode == 0 and p.stdout == online, (args, p.returncode, p.stdout[-300:], online[-300:])
        for args, why in refusals.items():
            for js in ((), ("--json",)):
                p = ctl(env, "results", *args, *js)
                assert p.returncode == 1 and p.stdout == b"", (args, p.returncode, p.stdout)
                assert p.stderr.decode().splitlines()[-1] == "batchcallctl: " + why, (args, p.stderr)
        # a JSON Lines file that is not JSON Lines is refused, not printed
        # as half a document (the CSV alone still prints)
        with open(jsonl_path, "ab") as f:
            f.write(b'{"recipient_id": "cut sh\n')
        p = ctl(env, "results", "res", "--json")
        assert p.returncode == 1 and p.stdout == b"", (p.returncode, p.stdout)
        assert re.search(r"line 4 of the JSON Lines text is not one JSON object", p.stderr.decode()), p.stderr
        assert ctl(env, "results", "res").stdout == csv_text
        with open(jsonl_path, "wb") as f:
            f.write(jsonl_text)

        # the daemon answers for an occurrence it no longer holds from the
        # same files: here its job left the files
        env.d.remove_job("res")
        env.d.start()
        env.d.wait_started()
        for args in runs:
            p = ctl(env, "results", "res", "--json", *args)
            assert p.returncode == 0 and p.stdout == online, (args, p.returncode, p.stderr)
            assert p.stderr == b"", p.stderr
            p = ctl(env, "results", "res", *args)
            assert p.returncode == 0 and p.stdout == csv_text, (args, p.returncode, p.stderr)
        assert ctl(env, "results", "res", "--run", str(at + 1)).returncode == 1
        # (stopped, not killed at the end: under valgrind a killed daemon
        # leaves no summary, and the gate counts it a failure)
        assert env.d.stop() == 0


def local_iso(t):
    """ISO 8601 in UTC with its offset, as the rows write a job in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def expected_rows(env, job, at, batch_id, call_name, failure_reasons=None, webhooks=False):
    """The rows the simulator's documented rules give (docs/simulator.md
    "The analysis rule", "What a conversation says"), with the ids and
    instants the simulator chose read back from it."""
    detail = env.sim.batch(batch_id)
    by_id = {r["id"]: r for r in detail["recipients"]}
    rows = []
    want = {
        # status, conversation_status, duration, termination, call_result, verdict, summary, decision, reached
        "cust-1": ("completed", "done", "5", "Call ended by remote party", "answered", "success",
                   "N1 agreed to the proposal.", "accept", "success"),
        "cust-2": ("failed", "failed", "0", "No answer", "no_answer", "", "", None, None),
        "cust-3": ("voicemail", "done", "5", "Voicemail detected", "voicemail", "failure",
                   "The call reached voicemail; the agent left a message for N3.", "", "failure"),
    }
    for rid, phone in RECIPIENTS:
        r = by_id[rid]
        st, conv = env.sim.call("GET", "/v1/convai/conversations/" + r["conversation_id"])
        assert st == 200, (st, conv)
        w = want[rid]
        row = {
            "job": job, "run_start": local_iso(at), "run_start_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
            "call_name": call_name, "part": "", "touch": "0", "batch_id": batch_id, "recipient_id": rid,
            "phone_number": "'" + phone, "whatsapp_user_id": "", "status": w[0], "attempts": "1",
            "conversation_id": r["conversation_id"], "conversation_status": w[1],
            "conversation_start": local_iso(conv["metadata"]["start_time_unix_secs"]),
            "duration_secs": w[2], "termination_reason": w[3], "call_result": w[4], "call_successful": w[5],
            "transcript_summary": w[6], "failure_reason": (failure_reasons or {}).get(rid, ""),
            "data.customer_name": "" if w[7] is None else "N" + rid[-1],
            "data.decision": "" if w[7] is None else w[7],
            "eval.customer_reached": w[8] or "", "eval.goal_achieved": w[5] if w[8] else "",
        }
        if webhooks and rid == "cust-2":
            # no transcription is sent for a call that failed unanswered
            # (docs/simulator.md), and its failure event counts as its
            # event: the conversation is not fetched, its columns stay empty
            for k in ("conversation_status", "conversation_start", "duration_secs", "termination_reason",
                      "call_result"):
                row[k] = ""
        rows.append(row)
    return rows


def csv_final(results, job, at):
    """The CSV rows once every conversation is final (failed, or done with
    its analysis: a conversation done without one is fetched again) and
    the JSON Lines file, written after the CSV, says the same."""
    paths = files_of(results, job, at)
    if not paths:
        return None
    csv_path, jsonl_path = sorted(paths)
    rows = read_rows(csv_path)
    if len(rows) < 2:
        return None
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    if not all(r["conversation_status"] == "failed" or (r["conversation_status"] == "done" and r["call_successful"])
               for r in body):
        return None
    with open(jsonl_path, encoding="utf-8") as f:
        lines = [json.loads(x) for x in f.read().splitlines()]
    seen = [(x["conversation_id"], x["conversation_status"], x["call_successful"] or "") for x in lines]
    if seen != [(r["conversation_id"], r["conversation_status"], r["call_successful"]) for r in body]:
        return None
    return rows[0], body


def log_lines_of(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            x = json.loads(line)
            assert list(x) == ["kept_ms", "conversation"] and abs(x["kept_ms"] / 1000 - time.time()) < 600, x
            out.append(x["conversation"]["conversation_id"])
    return out


def log_lines(work):
    """The conversation ids of the lines of the conversations log, in
    file and line order."""
    folder = os.path.join(work, "state", "conversations")
    out = []
    for name in sorted((n for n in os.listdir(folder) if n.startswith("conversations-")),
                       key=lambda n: int(n.split("-")[1].split(".")[0])):
        out += log_lines_of(os.path.join(folder, name))
    return out


def test_campaign_without_webhooks(work):
    """The polling fallback: every finished recipient's conversation is
    fetched and the files are written again with its columns."""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        # the polls meet the API's faults like any request: retried after Retry-After
        env.sim.fault(endpoint="conversation", kind="status", status=503, retry_after="1", count=2)
        at = int(time.time()) + 2
        env.d.write_job("camp", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("camp", ("completed", "failed"), 60)
        header, body = wait_until(lambda: csv_final(results, "camp", at), 60, "the conversation columns")
        st = env.d.run_state("camp")
        want = expected_rows(env, "camp", at, st["batch_id"], st["call_name"])
        assert header == COLUMNS + ["data.customer_name", "data.decision", "eval.customer_reached",
                                    "eval.goal_achieved"], header
        for got, exp in zip(body, want):
            assert got == exp, "\n got %r\nwant %r" % (got, exp)
        assert len(body) == len(want)
        # the JSON Lines file: the same rows, typed
        jsonl = sorted(files_of(results, "camp", at))[1]
        lines = [json.loads(x) for x in open(jsonl, encoding="utf-8").read().splitlines()]
        assert [x["recipient_id"] for x in lines] == ["cust-1", "cust-2", "cust-3"]
        assert lines[0]["duration_secs"] == 5 and lines[0]["attempts"] == 1
        assert lines[0]["data"] == {"customer_name": "N1", "decision": "accept"}, lines[0]
        assert lines[0]["eval"] == {"customer_reached": "success", "goal_achieved": "success"}, lines[0]
        # a conversation without analysis: empty objects (null is for no conversation)
        assert lines[1]["call_successful"] is None and lines[1]["data"] == {} and lines[1]["eval"] == {}, lines[1]
        assert lines[2]["data"] == {"customer_name": "N3", "decision": None}, lines[2]
        # status and show count the outcomes (answered: the call connected;
        # successful: the agent's verdict), as of the files' last write
        stt, job = env.d.control("GET", "/v1/jobs/camp")
        assert stt == 200 and job["results"] == {"rows": 3, "answered": 1, "successful": 1}, job
        stt, jobs = env.d.control("GET", "/v1/jobs")
        assert [j["results"] for j in jobs["jobs"] if j["name"] == "camp"] == [job["results"]], jobs
        p = ctl(env, "show", "camp")
        assert p.returncode == 0 and b"Results" in p.stdout and b"successful" in p.stdout, p.stdout
        # every conversation fetched through the API, and kept in the state
        convs = env.sim.requests("conversation")
        assert {r["path"].rsplit("/", 1)[1] for r in convs} == {r["conversation_id"] for r in want}, convs
        assert [r["status"] for r in convs].count(503) == 2, convs
        # kept in the conversations log: one line each, appended (no file
        # per conversation), the body as fetched and when
        kept = log_lines(work)
        assert sorted(kept) == sorted(r["conversation_id"] for r in want), kept
        assert os.listdir(os.path.join(work, "state", "conversations")) == ["conversations-1.jsonl"]
        assert env.d.stop() == 0
        # a restart fetches nothing again and appends to a new file (the
        # last line of the old one may be torn); a log file whose last
        # line is older than state_retention (30 days) goes
        n = len(env.sim.requests("conversation"))
        folder = os.path.join(work, "state", "conversations")
        with open(os.path.join(folder, "conversations-7.jsonl"), "w") as f:
            f.write('{"kept_ms":1,"conversation":{}}\n')
        os.utime(os.path.join(folder, "conversations-7.jsonl"), (time.time() - 31 * 86400,) * 2)
        env.d.start()
        env.d.wait_started()
        time.sleep(1)
        assert len(env.sim.requests("conversation")) == n
        assert os.listdir(folder) == ["conversations-1.jsonl"], os.listdir(folder)
        assert "conversations-7.jsonl" not in env.d.log()
        # after the restart the daemon holds no detail of the ended batch:
        # it answers from the files while it fetches the detail again, and
        # never writes rows that would say less than the files
        csv_before = open(sorted(files_of(results, "camp", at))[0], "rb").read()
        p = ctl(env, "results", "camp")
        assert p.returncode == 0 and p.stdout == csv_before, (p.returncode, p.stderr)
        time.sleep(1.5)
        assert open(sorted(files_of(results, "camp", at))[0], "rb").read() == csv_before
        assert env.d.stop() == 0


def test_conversation_log_damage_and_upgrade(work):
    """The conversations log is a cache: at start a damaged line and a
    torn last line (a crash while it was appended) are skipped with a
    warning naming FILE:LINE, never fatal, and only what they held is
    fetched again; a conversation kept by an earlier version
    (conv-ID.json) is read as before; new lines go to a new file, never
    after the torn one."""
    results = os.path.join(work, "results")
    folder = os.path.join(work, "state", "conversations")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("camp", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("camp", ("completed", "failed"), 60)
        header, body = wait_until(lambda: csv_final(results, "camp", at), 60, "the conversation columns")
        csv_before = open(sorted(files_of(results, "camp", at))[0], "rb").read()
        assert env.d.stop() == 0
        log1 = os.path.join(folder, "conversations-1.jsonl")
        lines = open(log1, "rb").read().splitlines(keepends=True)
        assert len(lines) == 3 and all(x.endswith(b"\n") for x in lines), lines
        ids = [json.loads(x)["conversation"]["conversation_id"] for x in lines]
        assert sorted(ids) == sorted(r["conversation_id"] for r in body), ids
        # the first as an earlier version kept it; the second after a
        # damaged line; the third cut short at the end
        with open(os.path.join(folder, "conv-%s.json" % ids[0]), "w") as f:
            json.dump(json.loads(lines[0])["conversation"], f, indent=1)
        damaged = lines[1] + b'{"kept_ms":1,"conversation":{"conversation_id":"x"}}\n' + lines[2][:80]
        with open(log1, "wb") as f:
            f.write(damaged)
        for p in files_of(results, "camp", at):
            os.unlink(p)  # written again at start, from what is kept
        n = len(env.sim.requests("conversation"))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: csv_final(results, "camp", at), 60, "the files written again")
        assert open(sorted(files_of(results, "camp", at))[0], "rb").read() == csv_before
        # only the torn line's conversation is fetched again ...
        again = [r["path"].rsplit("/", 1)[1] for r in env.sim.requests("conversation")[n:]]
        assert again == [ids[2]], (again, ids)
        log = env.d.log()
        assert re.search(r"conversation log '%s:2': cannot be read: conversation\.agent_id: missing; line skipped"
                         % re.escape(log1), log), log
        assert "conversation log '%s:3': a cut last line (a crash while it was written); line skipped" % log1 in log
        assert "conversation log '%s:1'" % log1 not in log
        # ... and kept in a new file; the damaged one is left as it was
        wait_until(lambda: os.path.exists(os.path.join(folder, "conversations-2.jsonl")), 10, "the new log file")
        assert open(log1, "rb").read() == damaged
        assert log_lines_of(os.path.join(folder, "conversations-2.jsonl")) == [ids[2]]
        assert env.d.stop() == 0


SECRET = "wsec_test_secret"


def free_port():
    return harness.free_port()


def post(port, body, sig=None, method="POST"):
    """One request to the receiver: its HTTP status."""
    req = urllib.request.Request("http://127.0.0.1:%d/hook" % port, data=body if method == "POST" else None,
                                 method=method)
    if sig is not None:
        req.add_header("ElevenLabs-Signature", sig)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def sign(body, t, secret=SECRET):
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v0=%s" % (t, mac)


def test_campaign_with_webhooks(work):
    """Signed post-call webhooks fill the rows (the failure's reason too);
    duplicates and out-of-order deliveries change nothing; nothing is
    fetched while the events came. Then the receiver's refusals."""
    results = os.path.join(work, "results")
    port = free_port()
    sim_kw = {"extra": ("--webhook-url", "http://127.0.0.1:%d/hook" % port, "--webhook-secret", SECRET)}
    with Env(work, sim_kw=sim_kw,
             extra_conf='results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";' % port) as env:
        env.sim.call("POST", "/_sim/webhook-faults", {"kind": "duplicate", "count": -1}, key=False)
        env.sim.call("POST", "/_sim/webhook-faults", {"kind": "out_of_order", "event": "call_initiation_failure",
                                                     "delay_secs": 1}, key=False)
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on 127\.0\.0\.1:%d" % port)
        # the secret taken from the environment does not stay in
        # /proc/PID/environ (unless BC_WRAP runs the daemon: the process is
        # then the wrapper, e.g. valgrind, which keeps its own copy)
        if not WRAP:
            with open("/proc/%d/environ" % env.d.proc.pid, "rb") as f:
                assert SECRET.encode() not in f.read()
        at = int(time.time()) + 2
        env.d.write_job("hooked", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("hooked", ("completed", "failed"), 60)

        def final_with_failure():
            paths = files_of(results, "hooked", at)
            rows = read_rows(sorted(paths)[0]) if paths else []
            body = [dict(zip(rows[0], r)) for r in rows[1:]]
            done = len(body) == 3 and body[1]["failure_reason"] and all(
                body[i]["conversation_status"] == "done" for i in (0, 2))
            return (rows[0], body) if done else None
        header, body = wait_until(final_with_failure, 60, "the rows from the webhooks")
        # nothing fetched: the events came within the grace
        assert env.sim.requests("conversation") == []
        st = env.d.run_state("hooked")
        want = expected_rows(env, "hooked", at, st["batch_id"], st["call_name"], {"cust-2": "no-answer"},
                             webhooks=True)
        for got, exp in zip(body, want):
            assert got == exp, "\n got %r\nwant %r" % (got, exp)
        assert len(body) == 3
        # every delivery answered 200, duplicates included; nothing polled
        st_, hooks = env.sim.call("GET", "/_sim/webhooks", key=False)
        deliveries = hooks["deliveries"]
        assert deliveries and all(d["status"] == 200 for d in deliveries), deliveries
        assert any(d["duplicate"] for d in deliveries), deliveries
        events = sorted(os.listdir(os.path.join(work, "state", "events")))
        by_id = {r["recipient_id"]: r["conversation_id"] for r in want}
        assert events == sorted(["post_call_transcription-%s.json" % by_id["cust-1"],
                                 "call_initiation_failure-%s.json" % by_id["cust-2"],
                                 "post_call_transcription-%s.json" % by_id["cust-3"]]), events

        # the receiver's refusals: nothing stored, a warning with the peer
        now = int(time.time())
        stored = os.path.join(work, "state", "events", "post_call_transcription-%s.json" % by_id["cust-1"])
        kept = open(stored, "rb").read()
        fresh = json.dumps({"type": "call_initiation_failure", "event_timestamp": now, "data": {
            "agent_id": "agent_results", "conversation_id": "conv_forged", "failure_reason": "busy",
            "metadata": {"type": "sip", "body": {}}}}).encode()
        assert post(port, fresh, sign(fresh, now, "another secret")) == 401      # forged
        assert post(port, fresh, None) == 401                                    # no signature
        assert post(port, fresh, sign(fresh, now - 1900)) == 401                 # stale (31 min)
        assert post(port, fresh, sign(fresh, now)[:-1] + "X") == 401             # malformed v0
        assert post(port, fresh, "t=%d, v0=%s" % (now, sign(fresh, now).split("v0=")[1])) == 401
        assert post(port, b"{}", sign(b"{}", now)) == 400                        # not an envelope
        assert post(port, b"", None, method="GET") == 405
        # an exact redelivery of a kept event, its t stale: 200, nothing changes
        assert post(port, kept, sign(kept, now - 7200)) == 200
        # ... and with a fresh t
        assert post(port, kept, sign(kept, now)) == 200
        assert sorted(os.listdir(os.path.join(work, "state", "events"))) == events
        assert open(stored, "rb").read() == kept
        log = env.d.log()
        assert "webhook from 127.0.0.1:" in log and "refused (mismatch)" in log, log[-2000:]
        assert "refused (stale)" in log and "refused (no_header)" in log and "refused (malformed)" in log
        assert SECRET not in log and sign(fresh, now, "another secret").split("v0=")[1] not in log
        # the event cannot be stored (the folder is not one): 503, the sender retries
        evdir = os.path.join(work, "state", "events")
        os.rename(evdir, evdir + ".away")
        with open(evdir, "w") as f:
            f.write("not a folder")
        assert post(port, fresh, sign(fresh, now)) == 503
        assert "cannot keep a webhook event" in env.d.log()
        os.unlink(evdir)
        os.rename(evdir + ".away", evdir)
        # a valid new event for a conversation nobody knows: kept, 200
        assert post(port, fresh, sign(fresh, now)) == 200
        assert "call_initiation_failure-conv_forged.json" in os.listdir(evdir)
        assert env.d.stop() == 0


def test_stored_event_never_goes_backwards(work):
    """A less complete delivery of a stored event (the same transcription
    still `processing`, its analysis null, sent after the final one) is
    answered 200 and changes nothing: the stored file keeps the final
    body, the rows stay `done` after a restart, and an exact redelivery of
    the final body with a stale timestamp is still answered 200 (it would
    have been refused 401 once the stored file held the other body); the
    less complete one with a stale timestamp is no exact redelivery: 401."""
    results = os.path.join(work, "results")
    port = free_port()
    sim_kw = {"extra": ("--webhook-url", "http://127.0.0.1:%d/hook" % port, "--webhook-secret", SECRET)}
    with Env(work, sim_kw=sim_kw,
             extra_conf='results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";' % port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("keep", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("keep", ("completed", "failed"), 60)
        conv_of = {r["id"]: r["conversation_id"] for r in env.sim.batch(st["batch_id"])["recipients"]}
        stored = os.path.join(work, "state", "events", "post_call_transcription-%s.json" % conv_of["cust-1"])
        wait_until(lambda: os.path.exists(stored), 30, "the final transcription stored")

        def row0():
            paths = files_of(results, "keep", at)
            table = read_rows(sorted(paths)[0]) if paths else []
            body = [dict(zip(table[0], r)) for r in table[1:]]
            return body[0] if body and body[0]["conversation_status"] == "done" else None
        assert wait_until(row0, 30, "the final row")["call_successful"] == "success"
        final = open(stored, "rb").read()
        early = json.loads(final)
        early["data"]["status"] = "processing"
        early["data"]["analysis"] = None
        early["event_timestamp"] -= 60
        eb = json.dumps(early).encode()
        now = int(time.time())
        assert post(port, eb, sign(eb, now)) == 200
        assert open(stored, "rb").read() == final
        # the same less complete body again, stale: not an exact redelivery
        # of what is stored, so 401 (the rule; it changes nothing)
        assert post(port, eb, sign(eb, now - 7200)) == 401
        # the exact redelivery of the kept one, stale: 200
        assert post(port, final, sign(final, now - 7200)) == 200
        assert open(stored, "rb").read() == final
        m = metrics_text(env)
        assert m['batchcalld_webhooks_events_total{result="duplicate"}'] == "2", m
        assert m['batchcalld_webhooks_refused_total{reason="stale"}'] == "1", m
        time.sleep(1.5)
        assert row0()["call_successful"] == "success"
        assert env.d.stop() == 0
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        time.sleep(1.5)
        r = row0()
        assert r and r["call_successful"] == "success", r
        assert open(stored, "rb").read() == final
        assert env.d.stop() == 0


def test_events_not_of_batch_calls_dropped(work):
    """The workspace webhook delivers every conversation of the workspace:
    a transcription whose metadata.batch_call is null (documented: null
    for calls that are not batch calls) is answered 200, counted dropped,
    and never stored; one an earlier version stored stays until its
    retention (it was answered 200). A call_initiation_failure carries no
    batch_call and is kept."""
    port = free_port()
    with hook_env(work, port) as env:
        evdir = os.path.join(env.d.state, "events")
        os.makedirs(evdir)
        now = int(time.time())

        def transcription(cid, batch_call):
            return {"type": "post_call_transcription", "event_timestamp": now, "data": {
                "agent_id": "agent_other", "conversation_id": cid, "status": "done", "transcript": [],
                "metadata": {"start_time_unix_secs": now, "call_duration_secs": 10, "batch_call": batch_call},
                "analysis": None, "has_audio": False, "has_user_audio": False, "has_response_audio": False}}
        with open(os.path.join(evdir, "post_call_transcription-conv_old.json"), "w") as f:
            json.dump(transcription("conv_old", None), f)
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on")
        assert os.listdir(evdir) == ["post_call_transcription-conv_old.json"], os.listdir(evdir)
        inbound = json.dumps(transcription("conv_inbound", None)).encode()
        assert post(port, inbound, sign(inbound, now)) == 200
        absent = transcription("conv_absent", None)
        del absent["data"]["metadata"]["batch_call"]
        absent = json.dumps(absent).encode()
        assert post(port, absent, sign(absent, now)) == 200
        batch = json.dumps(transcription("conv_batch", {"batch_call_id": "btcal_x",
                                                         "batch_call_recipient_id": "r1"})).encode()
        assert post(port, batch, sign(batch, now)) == 200
        failure = json.dumps({"type": "call_initiation_failure", "event_timestamp": now, "data": {
            "agent_id": "agent_other", "conversation_id": "conv_fail", "failure_reason": "busy",
            "metadata": {"type": "sip", "body": {}}}}).encode()
        assert post(port, failure, sign(failure, now)) == 200
        assert sorted(os.listdir(evdir)) == ["call_initiation_failure-conv_fail.json",
                                             "post_call_transcription-conv_batch.json",
                                             "post_call_transcription-conv_old.json"], os.listdir(evdir)
        m = metrics_text(env)
        assert m['batchcalld_webhooks_events_total{result="dropped"}'] == "2", m
        assert m['batchcalld_webhooks_events_total{result="stored"}'] == "2", m
        assert env.d.stop() == 0


def test_known_conversation_without_batch_call_kept(work):
    """Should the sender ever leave metadata.batch_call out of a batch
    call's transcription, the event is not dropped when it names a
    conversation of a batch the daemon follows: stored, and its row
    filled from it."""
    port = free_port()
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";' % port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("res", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("res", ("completed", "failed"), 60)
        wait_until(lambda: files_of(results, "res", at), 20, "the results files")
        st_, detail = env.sim.call("GET", "/v1/convai/batch-calling/" + st["batch_id"])
        cid = [r["conversation_id"] for r in detail["recipients"] if r.get("conversation_id")][0]
        now = int(time.time())
        body = json.dumps({"type": "post_call_transcription", "event_timestamp": now, "data": {
            "agent_id": "agent_results", "conversation_id": cid, "status": "done", "transcript": [],
            "metadata": {"start_time_unix_secs": now, "call_duration_secs": 10},
            "analysis": {"call_successful": "success", "transcript_summary": "kept without batch_call"},
            "has_audio": False, "has_user_audio": False, "has_response_audio": False}}).encode()
        assert post(port, body, sign(body, now)) == 200
        assert os.path.exists(os.path.join(env.d.state, "events", "post_call_transcription-%s.json" % cid))
        m = metrics_text(env)
        assert m['batchcalld_webhooks_events_total{result="stored"}'] == "1", m
        assert m['batchcalld_webhooks_events_total{result="dropped"}'] == "0", m

        def summarised():
            paths = files_of(results, "res", at)
            return paths and "kept without batch_call" in open(sorted(paths)[0], encoding="utf-8").read()
        wait_until(summarised, 20, "the row filled from the event")
        assert env.d.stop() == 0


def test_late_webhook_kill9_restart(work):
    """A transcription held back until after the batch ended reaches a
    daemon that is stopped (SIGSTOP: the connection is taken, never
    answered) and then killed with -9: the sender retries, the restarted
    daemon stores it, fetches the batch's detail again (it was in memory
    only) and writes the whole rows again."""
    results = os.path.join(work, "results")
    port = free_port()
    sim_kw = {"extra": ("--webhook-url", "http://127.0.0.1:%d/hook" % port, "--webhook-secret", SECRET)}
    with Env(work, sim_kw=sim_kw,
             extra_conf='results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";' % port) as env:
        env.sim.call("POST", "/_sim/webhook-faults", {"kind": "late", "event": "post_call_transcription",
                                                     "delay_secs": 3600}, key=False)
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("late", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("late", ("completed", "failed"), 60)

        def two_events():
            d = os.path.join(work, "state", "events")
            return os.path.isdir(d) and len(os.listdir(d)) == 2
        wait_until(two_events, 30, "the two events not held back")
        held = [d for d in env.sim.call("GET", "/_sim/webhooks", key=False)[1]["deliveries"]]
        assert all(d["status"] == 200 for d in held), held
        env.d.signal(__import__("signal").SIGSTOP)
        env.sim.advance(3600)
        # the held event goes out and meets a daemon that does not answer
        wait_until(lambda: any(d["event"] == "post_call_transcription" and d["status"] is None and d["error"]
                               for d in env.sim.call("GET", "/_sim/webhooks", key=False)[1]["deliveries"]),
                   30, "a delivery without an answer")
        env.d.kill9()
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()

        def final():
            paths = files_of(results, "late", at)
            rows = read_rows(sorted(paths)[0]) if paths else []
            body = [dict(zip(rows[0], r)) for r in rows[1:]]
            ok = len(body) == 3 and all(body[i]["conversation_status"] == "done" for i in (0, 2))
            return body if ok and body[1]["failure_reason"] else None
        body = wait_until(final, 60, "the rows with the late event")
        assert env.sim.requests("conversation") == []
        st = env.d.run_state("late")
        want = expected_rows(env, "late", at, st["batch_id"], st["call_name"], {"cust-2": "no-answer"},
                             webhooks=True)
        for got, exp in zip(body, want):
            assert got == exp, "\n got %r\nwant %r" % (got, exp)
        assert len(os.listdir(os.path.join(work, "state", "events"))) == 3
        last = [d for d in env.sim.call("GET", "/_sim/webhooks", key=False)[1]["deliveries"]
                if d["event"] == "post_call_transcription"][-1]
        assert last["status"] == 200 and last["attempt"] > 1, last
        assert env.d.stop() == 0


def test_retry_counts_attempts(work):
    """A recipient whose first call failed and whose retry answered (digit
    8): its row is the retry's outcome and conversation, attempts 2; the
    files were first written when the batch ended, then again after the
    retry."""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("retried", """  agent_id = "agent_results";
  phone_number_id = "phnum_results";
  scheduled_time_unix = %d;
  retry = { max_retries = 1; delay = 1; backoff = 1.0; max_delay = 1; };
  recipients = ( { id = "r8"; phone_number = "+14155550108"; }, { id = "r1"; phone_number = "+14155550101"; } );
""" % at)
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("retried", ("completed", "failed"), 60)

        def settled():
            r = csv_final(results, "retried", at)
            return r if r and r[1][0]["status"] == "completed" else None
        header, body = wait_until(settled, 60, "the retry's rows")
        detail = env.sim.batch(st["batch_id"])
        conv8 = [r for r in detail["recipients"] if r["id"] == "r8"][0]["conversation_id"]
        assert body[0]["recipient_id"] == "r8" and body[0]["attempts"] == "2", body[0]
        assert body[0]["conversation_id"] == conv8 and body[0]["call_result"] == "answered", body[0]
        assert body[1]["recipient_id"] == "r1" and body[1]["attempts"] == "1", body[1]
        # (the log line follows the file's rename: wait for it)
        wait_until(lambda: env.d.log().count("results file '%s" % os.path.join(results, "retried")) >= 4, 30,
                   "the second write's log lines")
        assert env.d.stop() == 0


def test_missed_run_has_rows(work):
    """A run later than max_lateness is never submitted: its recipients are
    rows too, never dialled, with the reason."""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        at = int(time.time()) - 7200
        env.d.write_job("gone", job_body(at))
        env.d.start()
        env.d.wait_started()
        env.d.wait_state("gone", ("missed",), 20)
        paths = wait_until(lambda: files_of(results, "gone", at), 20, "the missed run's files")
        rows = read_rows(sorted(paths)[0])
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        assert [(r["recipient_id"], r["status"], r["attempts"], r["batch_id"], r["conversation_id"])
                for r in body] == [(i, "missed", "0", "", "") for i, _ in RECIPIENTS], body
        assert env.sim.requests("submit") == []
        assert env.d.stop() == 0


def test_stop_writes_pending_results(work):
    """A SIGTERM right after a run ended (the write waits a second for more
    facts) still leaves its files: the stop writes what is pending. (A
    test that reached the stop after the write proves nothing: it tries
    again with another job, at most three times.)"""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        for attempt in range(3):
            name = "stopped%d" % attempt
            at = int(time.time()) - 7200
            env.d.write_job(name, job_body(at))
            env.d.start()
            env.d.wait_started()
            env.d.wait_log(r"job '%s'.*missed" % name, 20)
            early = files_of(results, name, at) is not None
            assert env.d.stop() == 0
            paths = files_of(results, name, at)
            assert paths, "no results files after the stop: %s" % env.d.log()[-2000:]
            rows = read_rows(sorted(paths)[0])
            assert [r[rows[0].index("status")] for r in rows[1:]] == ["missed"] * 3, rows
            if not early:
                return
            env.d.remove_job(name)
        raise AssertionError("three times the files were written before the SIGTERM came: the test tested nothing")


def test_kill9_after_event_answer(work):
    """A post-call event answered 200 is in the files even when the daemon
    is killed (-9) right after the answer, before it wrote them again: the
    restart finds the event newer than the files and writes them again
    (the batch's detail fetched anew). (A kill that came after the write
    proves nothing: the test goes on with another new fact, at most three.)"""
    results = os.path.join(work, "results")
    port = free_port()
    sim_kw = {"extra": ("--webhook-url", "http://127.0.0.1:%d/hook" % port, "--webhook-secret", SECRET)}
    with Env(work, sim_kw=sim_kw,
             extra_conf='results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";' % port) as env:
        # the transcriptions are held back for an hour: the test sends them itself
        env.sim.call("POST", "/_sim/webhook-faults", {"kind": "late", "event": "post_call_transcription",
                                                     "delay_secs": 3600, "count": -1}, key=False)
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("k9", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("k9", ("completed", "failed"), 60)
        conv_of = {r["id"]: r["conversation_id"] for r in env.sim.batch(st["batch_id"])["recipients"]}

        def rows():
            paths = files_of(results, "k9", at)
            table = read_rows(sorted(paths)[0]) if paths else []
            body = [dict(zip(table[0], r)) for r in table[1:]]
            return body if len(body) == 3 and body[1]["failure_reason"] else None
        body = wait_until(rows, 30, "the rows without the transcriptions")
        assert body[0]["conversation_status"] == body[2]["conversation_status"] == "", body

        def transcription(rid):
            code, conv = env.sim.call("GET", "/v1/convai/conversations/" + conv_of[rid])
            assert code == 200 and conv["status"] == "done", (code, conv)
            return {"type": "post_call_transcription", "data": conv}

        def failure(rid):
            return {"type": "call_initiation_failure", "data": {
                "agent_id": "agent_results", "conversation_id": conv_of[rid], "failure_reason": "busy",
                "metadata": {"type": "sip", "body": {}}}}
        # (row index, the event, what the row shows once it is in the files)
        facts = ((0, transcription("cust-1"), lambda r: r["conversation_status"] == "done"),
                 (2, transcription("cust-3"), lambda r: r["conversation_status"] == "done"),
                 (0, failure("cust-1"), lambda r: r["failure_reason"] == "busy"))
        for i, ev, shown in facts:
            now = int(time.time())
            ev["event_timestamp"] = now
            event = json.dumps(ev).encode()
            assert post(port, event, sign(event, now)) == 200
            env.d.kill9()      # within the second the write waits for more facts
            early = shown(rows()[i])
            env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
            env.d.wait_started()
            body = wait_until(lambda: (lambda b: b if b and shown(b[i]) else None)(rows()), 30,
                              "the event in the files after the restart")
            if not early:
                break
        else:
            raise AssertionError("three times the files were written before the kill: the test tested nothing")
        if i == 0:
            assert body[0]["call_successful"] == "success" and body[0]["attempts"] == "1", body[0]
        assert env.d.stop() == 0


def test_restart_rewrites_stale_results(work):
    """What a crash between a run's end and its files' write leaves (the
    files missing, or older than the run's end) is written again at the
    next start, from the batch's detail fetched anew."""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("crashed", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("crashed", ("completed", "failed"), 60)
        wait_until(lambda: csv_final(results, "crashed", at), 60, "the conversation columns")
        assert env.d.stop() == 0
        csv_path, jsonl_path = sorted(files_of(results, "crashed", at))
        want_csv, want_jsonl = open(csv_path, "rb").read(), open(jsonl_path, "rb").read()
        finished = env.d.run_state("crashed")["finished_ms"] / 1000
        # the JSON Lines file never written; the CSV one from before the end
        os.unlink(jsonl_path)
        with open(csv_path, "wb") as f:
            f.write(want_csv.split(b"\r\n")[0] + b"\r\n")
        os.utime(csv_path, (finished - 5, finished - 5))
        gets = len(env.sim.requests("get"))
        # the detail's first two fetches fail: asked again after a backoff
        env.sim.fault(endpoint="get", kind="status", status=503, count=2)
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: os.path.exists(jsonl_path) and open(csv_path, "rb").read() == want_csv, 20,
                   "the files written again")
        assert open(jsonl_path, "rb").read() == want_jsonl
        assert [r["status"] for r in env.sim.requests("get")[gets:]] == [503, 503, 200]
        assert env.d.stop() == 0


def test_refetch_does_not_delay_submit(work):
    """A start that finds the results files of many ended runs missing
    fetches their batches' details again, at most two at a time with the
    conversation polls and none close to a due run, so a submit that comes
    due meanwhile is not queued behind them in the API client (at 2
    requests a second, 16 GETs queued at once made it about 5 s late);
    every file is written again in the end."""
    import re as _re
    import shutil
    from harness import unix_job
    results = os.path.join(work, "results")
    n = 16
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        for i in range(n):
            env.d.write_job("j%02d" % i, unix_job(at, extra="  retry = { max_retries = 0; };"))
        env.d.signal(__import__("signal").SIGHUP)
        wait_until(lambda: sum(1 for r in env.d.runs() if r["state"] in ("completed", "failed")) == n, 60,
                   "every run ended")

        def n_files():
            # the j jobs' files (urgent's own may come before or after them)
            if not os.path.isdir(results):
                return 0
            return sum(len([f for f in os.listdir(os.path.join(results, d)) if not f.startswith(".")])
                       for d in os.listdir(results) if d.startswith("j"))
        wait_until(lambda: n_files() == 2 * n, 60, "the results files")
        assert env.d.stop() == 0
        shutil.rmtree(results)
        with open(env.d.conf) as f:
            conf = f.read()
        with open(env.d.conf, "w") as f:
            f.write(_re.sub(r"max_requests_per_second = [0-9.]+;", "max_requests_per_second = 2.0;", conf))
        due = int(time.time()) + 4
        env.d.write_job("urgent", unix_job(due, recipients=("+15550100009",)))
        env.d.start()
        env.d.wait_started()
        subs = wait_until(lambda: [r for r in env.sim.requests("submit") if "urgent" in (r["body"] or "")], 60,
                          "the urgent submit")
        late_ms = subs[0]["time_us"] / 1000 - due * 1000
        assert late_ms < 1500, "the submit was %.0f ms late" % late_ms
        wait_until(lambda: n_files() == 2 * n, 60, "every results file written again")
        assert env.d.stop() == 0


def test_cancelled_run_has_rows(work):
    """An operator's cancel ends a run without the batch's detail (the
    cancel's answer has none): the detail is fetched for the rows, which
    say what became of each recipient in the cancelled batch."""
    results = os.path.join(work, "results")
    # speed 0.05: the calls take minutes, the batch is still running when cancelled
    with Env(work, sim_kw={"speed": 0.05}, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("stopme", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("stopme", ("pending", "in_progress"), 30)
        p = ctl(env, "cancel", "stopme")
        assert p.returncode == 0, (p.stdout, p.stderr)
        st = env.d.wait_state("stopme", ("cancelled",), 30)
        paths = wait_until(lambda: files_of(results, "stopme", at), 20, "the cancelled run's files")
        rows = read_rows(sorted(paths)[0])
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        detail = {r["id"]: r["status"] for r in env.sim.batch(st["batch_id"])["recipients"]}
        assert [(r["recipient_id"], r["batch_id"], r["status"]) for r in body] == \
            [(i, st["batch_id"], detail[i]) for i, _ in RECIPIENTS], (body, detail)
        assert all(s == "cancelled" for s in detail.values()), detail
        assert env.d.stop() == 0


def test_readded_job_gets_files(work):
    """A run that ended while its job was out of the files (removed, its
    batch cancelled) has no rows to write then; when the job comes back
    unchanged, its occurrence gets its files."""
    results = os.path.join(work, "results")
    with Env(work, sim_kw={"speed": 0.05}, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("back", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("back", ("pending", "in_progress"), 30)
        env.d.remove_job("back")
        env.d.signal(__import__("signal").SIGHUP)
        st = env.d.wait_state("back", ("cancelled",), 30)
        time.sleep(1.5)    # (a write waits a second: none may come while the job is gone)
        assert files_of(results, "back", at) is None
        env.d.write_job("back", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        paths = wait_until(lambda: files_of(results, "back", at), 20, "the files of the job that came back")
        rows = read_rows(sorted(paths)[0])
        body = [dict(zip(rows[0], r)) for r in rows[1:]]
        assert [(r["recipient_id"], r["batch_id"], r["status"]) for r in body] == \
            [(i, st["batch_id"], "cancelled") for i, _ in RECIPIENTS], body
        assert env.d.stop() == 0


def test_polls_until_analysed(work):
    """A conversation still processing when its batch ended is fetched
    again until it is done with its analysis, and the kept copy is
    replaced by the more complete one (--processing-secs 150, 3 s at speed 50: the first
    fetch sees it processing)."""
    results = os.path.join(work, "results")
    with Env(work, sim_kw={"extra": ("--processing-secs", "150")}, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("slow", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("slow", ("completed", "failed"), 60)
        header, body = wait_until(lambda: csv_final(results, "slow", at), 60, "the analysed conversations")
        assert [r["call_successful"] for r in body] == ["success", "", "failure"], body
        fetched = collections.Counter(r["path"].rsplit("/", 1)[1] for r in env.sim.requests("conversation"))
        assert max(fetched.values()) > 1, fetched
        assert env.d.stop() == 0


def hook_env(work, port):
    return Env(work, extra_conf='webhook_listen = "127.0.0.1:%d";' % port)


def metrics_text(env):
    sock_path = os.path.join(env.d.dir, "control.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return dict(line.split(" ", 1) for line in data.decode().split("\r\n\r\n", 1)[1].splitlines()
                if line and not line.startswith("#"))


def test_webhook_connection_cap(work):
    """The receiver holds at most 32 connections: 32 idle clients are
    kept, a 33rd gets a 503 and is closed at once, the control socket
    still answers promptly, and once some close a request is served
    again."""
    port = free_port()
    with hook_env(work, port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on")
        idle = []
        for _ in range(32):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        wait_until(lambda: metrics_text(env).get("batchcalld_webhook_connections") == "32", 10,
                   "32 open webhook connections")
        extra = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.monotonic()
        got = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break
            got += chunk
        assert got.startswith(b"HTTP/1.1 503 "), got
        assert time.monotonic() - t0 < 2
        extra.close()
        t0 = time.monotonic()
        r = ctl(env, "status")
        assert r.returncode == 0 and time.monotonic() - t0 < 3, (r, time.monotonic() - t0)
        m = metrics_text(env)
        assert m["batchcalld_webhook_connections_refused_total"] == "1", m
        assert m["batchcalld_webhook_connections"] == "32", m
        for s in idle[:4]:
            s.close()
        wait_until(lambda: metrics_text(env).get("batchcalld_webhook_connections") == "28", 10,
                   "the closed connections forgotten")
        assert post(port, b"{}", None) == 401
        for s in idle[4:]:
            s.close()
        assert env.d.stop() == 0


def test_large_bodies_yield_to_a_due_submit(work):
    """Forged bodies of 16 MiB (anyone who reaches the port can send them)
    are hashed a slice per loop iteration, and not while a run comes due:
    four of them completed 150 ms before a run's instant do not hold its
    submit back behind four HMACs of 16 MiB (before, the submit waited for
    all of them: 13.6 s late behind 32 of 32 MiB). The submit's entry comes
    before most of the refusals, and every body is still refused."""
    port = free_port()
    n, size = 4, 16 << 20
    body = b"{" + b"x" * (size - 1)
    with hook_env(work, port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on")
        at = int(time.time()) + int(15 * SCALE) + 1
        env.d.write_job("due", unix_job(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_log(r"job 'due': run scheduled at", 20)
        conns = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port), timeout=60)
            c.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nElevenLabs-Signature: t=%d,v0=%s\r\n"
                      b"Content-Length: %d\r\n\r\n" % (int(time.time()), b"0" * 64, len(body)))
            c.sendall(body[:-1])
            conns.append(c)
        assert time.time() < at - 1, "the bodies took too long to send: %.1f s left" % (at - time.time())
        while time.time() < at - 0.15:
            time.sleep(0.005)
        for c in conns:
            c.sendall(b"x")
        for c in conns:
            c.settimeout(60 * SCALE)
            assert c.recv(4096).startswith(b"HTTP/1.1 401 "), "refused"
            c.close()
        env.d.wait_log(r"job 'due': submitted as batch", 30)
        log = env.d.log()
        sub = log.find("job 'due': submitted as batch")
        refusals = [m.start() for m in re.finditer(r"webhook from \S+ refused \(mismatch\)", log)]
        assert len(refusals) == n, refusals
        after = sum(1 for r in refusals if r > sub)
        assert after >= n // 2, "only %d of %d refusals after the submit" % (after, n)
        assert len(env.sim.requests("submit")) == 1
        assert env.d.stop() == 0


def test_planted_files_are_not_read(work):
    """results_dir may be writable by the group that reads it (README's
    install -d -m 3770): what a member plants there is never read or
    written through. A job folder holding a link to the API key file, or
    a FIFO, under a results file's name: `batchcallctl results` (answered
    by the daemon from the files of a job it does not hold) prints no key
    and does not hang the daemon; offline the same. A job folder someone
    else made before the daemon: the daemon does not write into it."""
    results = os.path.join(work, "results")
    os.makedirs(results)
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        name = "2026-01-01T00-00-00Z_x"
        os.makedirs(os.path.join(results, "fake"))
        os.symlink(os.path.join(work, "api-key"), os.path.join(results, "fake", name + ".csv"))
        open(os.path.join(results, "fake", name + ".jsonl"), "w").close()
        os.makedirs(os.path.join(results, "fifo"))
        os.mkfifo(os.path.join(results, "fifo", name + ".csv"))
        open(os.path.join(results, "fifo", name + ".jsonl"), "w").close()
        key = open(os.path.join(work, "api-key")).read().strip()
        for job in ("fake", "fifo"):
            for args in ((), ("--json",)):
                r = ctl(env, "results", job, *args)
                assert key.encode() not in r.stdout + r.stderr, (job, args, r)
                assert r.returncode == 1, (job, args, r)
        assert ctl(env, "status").returncode == 0
        # a job folder made by another user before the daemon's first write
        at = int(time.time()) + 2
        theirs = os.path.join(results, "res")
        os.makedirs(theirs)
        if os.geteuid() == 0:
            os.chown(theirs, 65534, 65534)
            env.d.write_job("res", job_body(at))
            env.d.signal(__import__("signal").SIGHUP)
            env.d.wait_state("res", ("completed", "failed"), 60)
            env.d.wait_log(r"job 'res': cannot write the results file '%s/res/[^']+': its job folder was made by "
                           r"another user, not this daemon" % re.escape(results), 20)
            assert os.listdir(theirs) == [], os.listdir(theirs)
        env.d.stop()
    # offline: the same refusals, no hang
    for job in ("fake", "fifo"):
        r = ctl(env, "results", job)
        assert key.encode() not in r.stdout + r.stderr and r.returncode == 1, (job, r)
        assert (b"not a regular file" if job == "fifo" else b"a symbolic link") in r.stderr, (job, r.stderr)


def test_webhook_connection_lifetime(work):
    """A client trickling a header line every 10 s (never idle for the
    30 s timeout) is closed by the 60 s lifetime."""
    port = free_port()
    with hook_env(work, port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on")
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.monotonic()
        s.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
        closed = None
        n = 0
        while time.monotonic() - t0 < 90:
            s.settimeout(10)
            try:
                data = s.recv(4096)
                if not data:
                    closed = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = time.monotonic() - t0
                break
            try:
                n += 1
                s.sendall(b"X-Trickle-%d: 1\r\n" % n)
            except (BrokenPipeError, ConnectionResetError):
                closed = time.monotonic() - t0
                break
        s.close()
        assert closed is not None, "the trickling client was never closed"
        assert 55 <= closed <= 75, closed
        assert metrics_text(env)["batchcalld_webhook_connections"] == "0"
        assert env.d.stop() == 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_webhook_emfile(work):
    """At the file descriptor limit (EMFILE) the receiver pauses its
    listener instead of calling accept() again at once: the daemon stays
    nearly idle, logs one warning, and serves again once descriptors are
    free."""
    import subprocess
    if WRAP:
        raise Skip("the daemon runs under BC_WRAP: its descriptors are the wrapper's")
    port = free_port()
    with hook_env(work, port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        env.d.wait_log(r"post-call webhooks received on")
        pid = env.d.proc.pid
        n = len(os.listdir("/proc/%d/fd" % pid))
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % (n + 2)], check=True)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
        env.d.wait_log(r"cannot accept connections on '127\.0\.0\.1:%d'" % port)
        cpu0 = cpu_seconds(pid)
        time.sleep(3)
        used = cpu_seconds(pid) - cpu0
        assert used < 0.3, "the daemon used %.2f s of CPU in 3 s at EMFILE" % used
        log = env.d.log()
        assert log.count("cannot accept connections on") == 1, log[-3000:]
        assert "Error from accept" not in log, log[-3000:]
        for c in clients:
            c.close()
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=1024:"], check=True)
        wait_until(lambda: post(port, b"{}", None) == 401, 10, "the receiver serving again")
        assert int(metrics_text(env)["batchcalld_webhook_accept_errors_total"]) >= 1
        assert env.d.stop() == 0


def test_reload_sets_webhook_listen(work):
    """A reload that sets webhook_listen starts no receiver: a warning
    says it takes effect at the next start, and the conversations are
    still fetched at once (no event can come, so no grace is waited)."""
    results = os.path.join(work, "results")
    port = free_port()
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        with open(env.d.conf, "a") as f:
            f.write('webhook_listen = "127.0.0.1:%d";\n' % port)
        at = int(time.time()) + 2
        env.d.write_job("camp", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_log(r"a change to webhook_listen \('127\.0\.0\.1:%d', was ''\) takes effect at the next "
                       r"start; until then the receiver stays off" % port)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("a receiver listens after the reload")
        except ConnectionRefusedError:
            pass
        env.d.wait_state("camp", ("completed", "failed"), 60)
        header, body = wait_until(lambda: csv_final(results, "camp", at), 60, "the conversation columns")
        assert env.sim.requests("conversation"), "nothing fetched"
        assert env.d.stop() == 0


def test_modes_under_umask_0077(work):
    """The results files keep their documented mode 0640 (folders 2750)
    under a umask that would make them 0600 (UMask=0077 in a drop-in)."""
    results = os.path.join(work, "results")
    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start(preexec=lambda: os.umask(0o077))
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("res", job_body(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_state("res", ("completed", "failed"), 60)
        paths = wait_until(lambda: files_of(results, "res", at), 30, "the results files")
        for p in paths:
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o640, (p, oct(os.stat(p).st_mode))
        assert stat.S_IMODE(os.stat(os.path.dirname(paths[0])).st_mode) == 0o2750
        assert stat.S_IMODE(os.stat(results).st_mode) == 0o2750
        assert env.d.stop() == 0


def test_shared_write_crash_safe(work):
    """The files of occurrences ready together are written with one sync
    (issue 17), and stay crash-safe: traced, every results file's
    temporary file is synced (syncfs, or its own fdatasync) after its last
    write and before its rename, and the rename synced (syncfs, or the
    folder's fsync) before the file's journal entry; killed (-9) amid the
    renames of such a write, every file is the whole old one or the whole
    new one, and the restart writes the rest; when the shared sync fails,
    no file of the write is renamed, each is logged as not written, and
    the next start writes them."""
    import shutil
    import signal
    import subprocess
    if harness.WRAP:
        raise Skip("strace and BC_WRAP (%s) together" % " ".join(harness.WRAP))
    if not shutil.which("strace") or subprocess.run(["strace", "-o", "/dev/null", "true"]).returncode != 0:
        raise Skip("strace (Debian package strace) is missing or cannot trace here")
    results = os.path.join(work, "results")
    at = int(time.time()) - 7200
    jobs = ["shared-%d" % i for i in range(12)]

    def state(job):
        """'both', 'none' or the names present; every visible file whole."""
        d = os.path.join(results, job)
        names = sorted(n for n in os.listdir(d) if not n.startswith(".")) if os.path.isdir(d) else []
        for n in names:
            path = os.path.join(d, n)
            if n.endswith(".csv"):
                rows = read_rows(path)
                assert [r[rows[0].index("status")] for r in rows[1:]] == ["missed"] * 3, (path, rows)
            else:
                with open(path, "rb") as f:
                    lines = f.read().split(b"\n")
                assert lines[-1] == b"" and [json.loads(x)["status"] for x in lines[:-1]] == ["missed"] * 3, path
        return "both" if len(names) == 2 else "none" if not names else names

    def body(job):
        return job_body(at).replace('"Results run"', '"Shared run %s"' % job.split("-")[1])

    def trace(args, what):
        """strace attached to the daemon (its stderr says when)."""
        err = os.path.join(work, "strace-%s.err" % what)
        tr = subprocess.Popen(["strace", "-f", "-p", str(env.d.proc.pid)] + args, stderr=open(err, "wb"))
        wait_until(lambda: "attached" in open(err).read() or tr.poll() is not None, 10, "strace attached")
        if tr.poll() is not None:
            raise Skip("strace cannot attach here: %s" % open(err).read()[-300:])
        return tr

    with Env(work, extra_conf='results_dir = "results";') as env:
        env.d.start()
        env.d.wait_started()
        # 1. the order of the calls, for the first four jobs
        log = os.path.join(work, "calls.txt")
        tr = trace(["-y", "-s", "300", "-o", log, "-e", "trace=write,fdatasync,fsync,syncfs,renameat,rename"], "order")
        for job in jobs[:4]:
            env.d.write_job(job, body(job))
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: all(state(j) == "both" for j in jobs[:4]), 30, "the first files")
        wait_until(lambda: len(re.findall(r"results file .* written", env.d.log())) == 8, 10, "8 journal entries")
        tr.send_signal(signal.SIGINT)
        tr.wait(10)
        fd_path = re.compile(r"(\w+)\((\d+)<([^>]*)>")
        last_write, synced, renamed, logged = {}, set(), {}, 0
        written_rx = re.compile(r"results file '[^']*?(shared-\d/[^']+)' written")
        real = os.path.realpath(results)
        for i, line in enumerate(open(log)):
            m = fd_path.search(line)
            if re.match(r"\d+ +write\([12]<", line):
                w = written_rx.search(line)
                if w:
                    path = os.path.join(real, w.group(1))
                    assert path in renamed and renamed[path][1], "journal entry before its rename was synced: %s" % line
                    logged += 1
                continue
            if not m or "= -1" in line:
                continue
            call, target = m.group(1), m.group(3)
            if call == "write" and os.path.basename(target).startswith("."):
                last_write[target] = i
                synced.discard(target)
            elif call == "fdatasync":
                synced.add(target)
            elif call == "syncfs":
                synced.update(last_write)
                for p in renamed:
                    renamed[p][1] = True
            elif call == "fsync":
                for p in renamed:
                    if os.path.dirname(p) == target:
                        renamed[p][1] = True
            elif call == "renameat":
                old, new = re.findall(r'"([^"]+)"', line)[:2]
                tmp, final = os.path.join(target, old), os.path.join(target, new)
                if final.startswith(real + os.sep):
                    assert tmp in synced, "renamed before its temporary file was synced: %s" % line
                    renamed[final] = [i, False]
        assert logged == 8, "journal entries of the 8 files: %d" % logged
        # 2. killed at the second rename in one job's folder (its JSON
        # Lines file) amid a write of four occurrences
        killed = jobs[5]
        tr = trace(["-o", "/dev/null", "-P", os.path.join(results, killed), "-e", "trace=renameat,rename",
                    "-e", "inject=renameat,rename:signal=KILL:when=2"], "kill")
        for job in jobs[4:8]:
            env.d.write_job(job, body(job))
        env.d.signal(signal.SIGHUP)
        env.d.proc.wait(30)
        tr.wait(10)
        env.d.kill9()
        seen = {j: state(j) for j in jobs[4:8]}
        assert isinstance(seen[killed], list) and len(seen[killed]) == 1 and seen[killed][0].endswith(".csv"), seen
        assert [n for n in os.listdir(os.path.join(results, killed)) if n.endswith(".jsonl.tmp")], \
            "the JSON Lines file's temporary file was written before the renames"
        assert all(v in ("both", "none") for j, v in seen.items() if j != killed), seen
        # 3. the restart writes what the kill left out
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: all(state(j) == "both" for j in jobs[:8]), 30, "every file after the restart")
        for job in jobs[:8]:
            left = [n for n in os.listdir(os.path.join(results, job)) if n.startswith(".")]
            assert not left, (job, left)
        # 4. the first syncfs of the next write fails (EIO): nothing of it
        # is renamed, its temporary files are removed, the next start
        # writes it
        failed = len(re.findall(r"cannot write the results file", env.d.log()))
        paths = sum([["-P", os.path.join(results, j)] for j in jobs[8:]], [])
        tr = trace(["-o", "/dev/null"] + paths + ["-e", "trace=syncfs", "-e", "inject=syncfs:error=EIO:when=1"],
                   "eio")
        for job in jobs[8:]:
            env.d.write_job(job, body(job))
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: len(re.findall(r"cannot write the results file .*Input/output error", env.d.log()))
                   == failed + 8, 30, "8 files not written")
        tr.send_signal(signal.SIGINT)
        tr.wait(10)
        for job in jobs[8:]:
            d = os.path.join(results, job)
            assert os.listdir(d) == [], (job, os.listdir(d))
        assert env.d.stop() == 0
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: all(state(j) == "both" for j in jobs), 30, "every file after the second restart")
        for job in jobs:
            left = [n for n in os.listdir(os.path.join(results, job)) if n.startswith(".")]
            assert not left, (job, left)
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_results_files_when_batch_ends, test_campaign_without_webhooks, test_conversation_log_damage_and_upgrade,
         test_campaign_with_webhooks,
         test_stored_event_never_goes_backwards, test_events_not_of_batch_calls_dropped,
         test_late_webhook_kill9_restart, test_retry_counts_attempts, test_missed_run_has_rows,
         test_stop_writes_pending_results, test_kill9_after_event_answer,
         test_restart_rewrites_stale_results, test_refetch_does_not_delay_submit, test_cancelled_run_has_rows,
         test_readded_job_gets_files, test_polls_until_analysed, test_webhook_connection_cap,
         test_large_bodies_yield_to_a_due_submit, test_planted_files_are_not_read,
         test_known_conversation_without_batch_call_kept,
         test_webhook_connection_lifetime, test_webhook_emfile, test_reload_sets_webhook_listen,
         test_modes_under_umask_0077, test_shared_write_crash_safe])
