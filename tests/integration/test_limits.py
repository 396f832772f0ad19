#!/usr/bin/env python3
"""Contact limits (issue 15): the daemon key `contact_limits` and the
contact ledger STATE_DIR/contacts.csv, against the simulator. Who was
called is read from the simulator's request log (the exact submit bodies,
the retry requests); what the operator sees from the results files, the
journal lines and /metrics."""
import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402
from test_suppress import RESULTS, ctl, job, metric, rows_of, submitted_numbers  # noqa: E402


def limits(body):
    return RESULTS + "\ncontact_limits = { %s };" % body


def ledger_lines(env):
    with open(os.path.join(env.d.state, "contacts.csv")) as f:
        return f.read().splitlines()


def test_shared_number_called_once(work):
    """Two jobs due in the same second share a number, at most one call a
    day: it is in one submit body only, left out of the other (results
    say contact_limit), and the ledger that says so survives kill -9: a
    third job later leaves it out too and, with nobody else, submits
    nothing."""
    with Env(work, extra_conf=limits('max_calls = 1; window = "1d";')) as env:
        at = int(time.time()) + 4
        env.d.write_job("la", job(at, ("+14155550101", "+14155550102")))
        env.d.write_job("lb", job(at, ("+14155550103", "+14155550101")), file="lb")
        env.d.start()
        env.d.wait_started()
        env.d.wait_state("la", ("completed",), 60)
        env.d.wait_state("lb", ("completed",), 60)
        subs = submitted_numbers(env.sim)
        assert len(subs) == 2, subs
        assert sum(x.count("+14155550101") for x in subs) == 1, subs
        rows = rows_of(work, "la", at) + rows_of(work, "lb", at)
        assert sorted(r["status"] for r in rows if r["phone_number"].lstrip("'") == "+14155550101") == \
            ["completed", "contact_limit"], rows
        assert metric(env, 'batchcalld_contact_limited_recipients_total{at="submit"}') == 1
        assert metric(env, "batchcalld_contact_ledger_entries") == 3
        assert "left out of its submit: over the contact limits" in env.d.log()
        assert "+14155550101" not in env.d.log().split("left out of the submit")[-1].split("\n")[0]
        lines = ledger_lines(env)
        assert sorted(x.split(",")[1] for x in lines) == ["+14155550101", "+14155550102", "+14155550103"], lines
        env.d.kill9()
        at2 = int(time.time()) + 3
        env.d.write_job("lc", job(at2, ("+14155550101",)), file="lc")
        env.d.start()
        env.d.wait_started()
        st = env.d.wait_state("lc", ("completed",), 60)
        assert st["batch_id"] is None, st
        assert len(env.sim.requests("submit")) == 2
        assert [r["status"] for r in rows_of(work, "lc", at2)] == ["contact_limit"]
        assert "over the contact limits (1): nothing submitted" in env.d.log()
        assert len(ledger_lines(env)) == 3
        # a contact's later line (its attempt remade later) replaces the
        # earlier one when a reload compacts the file; expired ones go
        lines = ledger_lines(env)
        later = lines[0].split(",")
        later[0] = str(int(later[0]) + 5000)
        with open(os.path.join(env.d.state, "contacts.csv"), "a") as f:
            f.write(",".join(later) + "\n" + "1000,+14155550199,agent_dnc,00000000000000ff\n")
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: "contacts kept" in env.d.log(), 20, "the compaction")
        assert sorted(ledger_lines(env)) == sorted([",".join(later)] + lines[1:]), ledger_lines(env)
        assert metric(env, "batchcalld_contact_ledger_entries") == 3
        assert env.d.stop() == 0
        # a torn last line (an intent never recorded) is cut at the start;
        # a malformed one stops it, naming its place
        with open(os.path.join(env.d.state, "contacts.csv"), "a") as f:
            f.write("1765000000,+1415555")
        env.d.start()
        env.d.wait_started()
        assert "ended in a line cut short" in env.d.log()
        assert env.d.stop() == 0
        with open(os.path.join(env.d.state, "contacts.csv"), "a") as f:
            f.write("x,+14155550101,a,0000000000000001\n")
        env.d.start()
        assert env.d.proc.wait(20) != 0
        assert "contacts.csv:4: the time is not a number of seconds" in env.d.log(), env.d.log()[-2000:]


def test_retry_over_limit(work):
    """A retry re-dials every failed recipient and takes no list: with
    calls at least an hour apart, it is not sent, nobody is handed on,
    and the journal and the metrics say why."""
    with Env(work, extra_conf=limits('min_gap = "1h";')) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("lr", job(at, ("+14155550101", "+14155550106", "+14155550116"))
                        .replace("retry = { max_retries = 0; };",
                                 "retry = { max_retries = 1; delay = 2; backoff = 1.0; max_delay = 2; };"))
        env.d.signal(signal.SIGHUP)
        env.d.wait_state("lr", ("failed", "completed"), 60)
        assert env.sim.requests("retry") == [], env.sim.requests("retry")
        assert len(env.sim.requests("submit")) == 1
        log = env.d.log()
        assert "2 of its 2 failed or unanswered recipients would go over the contact limits" in log, log[-3000:]
        assert metric(env, 'batchcalld_contact_limited_recipients_total{at="retry"}') == 2
        # a trigger of the same job later is a new run: over the limits too
        assert env.d.stop() == 0


def test_ledger_unreadable_at_reload(work):
    """A reload that sets contact_limits while the ledger cannot be opened
    (here a folder in its place): no submit is sent (the limits are never
    guessed), the rest of the daemon goes on, and once the ledger can be
    opened the next attempt opens it and submits, recording its
    contacts."""
    with Env(work, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        os.makedirs(os.path.join(env.d.state, "contacts.csv", "x"))
        with open(env.d.conf, "a") as f:
            f.write('\ncontact_limits = { max_calls = 1; window = "1d"; };\n')
        at = int(time.time()) + 2
        env.d.write_job("lu", job(at, ("+14155550101",)))
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("configuration reloaded")
        wait_until(lambda: "no submit or retry is sent until it can be read" in env.d.log(), 30, "the refusal")
        time.sleep(3)
        assert env.sim.requests("submit") == []
        assert env.d.log().count("no submit or retry is sent until it can be read") <= 2, env.d.log()[-3000:]
        assert ctl(env, "status").returncode == 0
        os.rmdir(os.path.join(env.d.state, "contacts.csv", "x"))
        os.rmdir(os.path.join(env.d.state, "contacts.csv"))
        env.d.wait_state("lu", ("completed",), 90)
        assert submitted_numbers(env.sim) == [["+14155550101"]]
        assert "is open: submits go on" in env.d.log()
        assert [x.split(",")[1] for x in ledger_lines(env)] == ["+14155550101"]
        assert env.d.stop() == 0


def test_cap_across_200_jobs(work):
    """200 jobs in four zones share 50 numbers (each number in about 20
    jobs), due within a few seconds, at most 3 calls in 7 days and 1
    second apart, with kill -9 twice during the burst: no number is in
    more than 3 submit bodies, no run is submitted twice, and after the
    restarts every run ended."""
    rnd = random.Random(15)
    numbers = ["+1415555%04d" % (1000 + i) for i in range(50)]
    zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"]
    with Env(work, extra_conf=limits('max_calls = 3; window = "7d"; min_gap = "1s";')) as env:
        at = int(time.time()) + 6
        for i in range(200):
            body = job(at + i % 5, rnd.sample(numbers, 5))
            body = body.replace('agent_id = "agent_dnc";', 'agent_id = "agent_dnc";\n  timezone = "%s";'
                                % zones[i % 4])
            env.d.write_job("j%03d" % i, body, file="j%03d" % i)
        env.d.start()
        env.d.wait_started()
        for _ in range(2):
            wait_until(lambda: len(env.sim.requests("submit")) >= rnd.randint(1, 20), 60, "submits")
            env.d.kill9()
            env.d.start()
            env.d.wait_started()

        def settled():
            for i in range(200):
                st = env.d.run_state("j%03d" % i)
                if not st or st["state"] not in ("completed", "failed"):
                    return False
            return True
        wait_until(settled, 180, "every run ended")
        subs = env.sim.requests("submit")
        names = [json.loads(x["body"])["call_name"] for x in subs]
        assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
        calls = {}
        for x in submitted_numbers(env.sim):
            for n in x:
                calls[n] = calls.get(n, 0) + 1
        assert max(calls.values()) <= 3, calls
        assert env.sim.requests("retry") == []
        print("calls per number: %s; submits %d; left out %d" % (
            sorted(calls.values()), len(subs),
            metric(env, 'batchcalld_contact_limited_recipients_total{at="submit"}')))
        assert env.d.stop() == 0


def test_defer_over_limit(work):
    """over_limit = "defer": a number that another job called a moment ago
    (calls at least 6 s apart) is left out of this job's submit and called
    by a deferred run of its own ("... (deferred 1)") once the gap has
    passed, alone; the results row says so, and a kill -9 while it waits
    neither loses it nor sends it twice."""
    with Env(work, extra_conf=limits('min_gap = "6s";') + '\nover_limit = "defer";') as env:
        at = int(time.time()) + 4
        env.d.write_job("da", job(at, ("+14155550101",)))
        env.d.write_job("db", job(at + 1, ("+14155550103", "+14155550101")), file="db")
        env.d.start()
        env.d.wait_started()
        subs = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(env.sim.requests("submit")), 30,
                          "two submits")
        bodies = [json.loads(r["body"]) for r in subs]
        assert [[x["phone_number"] for x in b["recipients"]] for b in bodies] == \
            [["+14155550101"], ["+14155550103"]], bodies
        env.d.wait_log(r"deferred run '.*\(deferred 1\)' of 1 recipients over the contact limits is due at", 20)
        env.d.kill9()
        env.d.start()
        env.d.wait_started()
        third = wait_until(lambda: (lambda s: s if len(s) >= 3 else None)(env.sim.requests("submit")), 30,
                           "the deferred submit")
        body = json.loads(third[2]["body"])
        assert body["call_name"].endswith("(deferred 1)"), body["call_name"]
        assert [x["phone_number"] for x in body["recipients"]] == ["+14155550101"], body
        # the gap after the first call (the simulator's clock); the ledger
        # counts whole seconds, so 6 s apart is at least 5 s of real time
        gap = (third[2]["time_us"] - subs[0]["time_us"]) / 1e6
        assert 5 <= gap <= 12, gap
        st = [r for r in env.d.runs() if r["job"] == "db" and r.get("part") == "deferred 1"]
        assert len(st) == 1 and st[0]["recipients"] == ["+14155550101"], st
        wait_until(lambda: all(r["state"] == "completed" for r in env.d.runs() if r["job"] == "db"), 60,
                   "db's runs completed")
        # the occurrence's files are written again once the deferred run's
        # conversations are in (a write waits for them: up to 30 s)
        def done_rows():
            rows = {r["phone_number"].lstrip("'"): r for r in rows_of(work, "db", at + 1)}
            return rows if rows.get("+14155550101", {}).get("status") == "completed" else None
        rows = wait_until(done_rows, 45, "the results row of the deferred run")
        assert rows["+14155550101"]["part"] == "deferred 1" and rows["+14155550101"]["status"] == "completed", rows
        time.sleep(2)
        assert len(env.sim.requests("submit")) == 3
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_shared_number_called_once, test_retry_over_limit, test_ledger_unreadable_at_reload,
         test_cap_across_200_jobs, test_defer_over_limit])
