#!/usr/bin/env python3
"""Campaign results (issue 14, docs/results.md): the daemon writes one CSV
and one JSON Lines file per occurrence below results_dir when the batch
ends, one row per recipient of the job file, and writes them again as
later facts arrive. The rows are asserted exactly, from the simulator's
documented rules (docs/simulator.md: the last digit decides the call, the
second-to-last the analysis)."""
import csv
import io
import json
import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402

COLUMNS = ["job", "run_start", "run_start_utc", "call_name", "part", "batch_id", "recipient_id",
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
        assert os.path.basename(csv_path) == "%s_Results_run_%s.csv" % (
            stamp(at), time.strftime("%Y-%m-%d_%H_%M_%S", time.gmtime(at))), csv_path
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
        assert stat.S_IMODE(os.stat(os.path.dirname(csv_path)).st_mode) & 0o777 == 0o750
        # a journal entry per file with its path
        log = env.d.log()
        for p in (csv_path, jsonl_path):
            assert "job 'res': results file '%s' written (3 rows)" % p in log, log[-3000:]
        # no temporary file left behind
        assert not [n for n in os.listdir(os.path.dirname(csv_path)) if n.endswith(".tmp")]
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_results_files_when_batch_ends])
