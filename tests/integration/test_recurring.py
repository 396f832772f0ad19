#!/usr/bin/env python3
"""Recurring jobs in real time: occurrences every few seconds, each its own
run with its own call_name and exactly-once guarantees; overlap policies;
catch-up after downtime submits only the newest occurrence."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402


def rec_job(repeat, extra="", recipients=("+15550100011",)):
    rc = ", ".join('{ phone_number = "%s"; }' % p for p in recipients)
    return """  agent_id = "agent_rec";
  timezone = "UTC";
  repeat = "%s";
  recipients = ( %s );
%s""" % (repeat, rc, extra)


def names_of(env, prefix):
    return [json.loads(r["body"])["call_name"] for r in env.sim.requests("submit")
            if json.loads(r["body"])["call_name"].startswith(prefix)]


def test_every_three_seconds_with_count(work):
    with Env(work) as env:
        env.d.write_job("tick", rec_job("*-*-* *:*:00/3", '  count = 3;\n  call_name = "Tick";\n'
                                        '  scheduled_time_unix = %d;' % (int(time.time()) + 2)))
        env.d.start()
        wait_until(lambda: len(names_of(env, "Tick")) >= 3, 30, "three occurrences")
        # The fourth would be due 3 s after the third: it must never come.
        t3 = max(r["time_us"] for r in env.sim.requests("submit")) / 1e6
        wait_until(lambda: time.time() > t3 + 4.5, 10, "the fourth occurrence's instant to pass")
        subs = env.sim.requests("submit")
        names = names_of(env, "Tick")
        assert len(names) == len(set(names)) == 3, names
        # Each occurrence is submitted at its instant, never before.
        for r in subs:
            name = json.loads(r["body"])["call_name"]
            hms = name.split(" ")[2].split(":")
            secs = int(hms[2]) if len(hms) == 3 else 0  # ":00" is not written
            assert secs % 3 == 0, name
        env.d.wait_log(r"job 'tick': run scheduled at", 5)
        env.d.stop()


def test_overlap_skip_and_cancel_previous(work):
    # Calls last minutes at this speed: each batch is still active when
    # the next occurrence comes.
    with Env(work, sim_kw={"speed": 0.01}) as env:
        env.d.write_job("skipper", rec_job("*-*-* *:*:00/2", '  overlap = "skip";\n  call_name = "Skip";'))
        env.d.write_job("canceller", rec_job("*-*-* *:*:00/2", '  overlap = "cancel_previous";\n  call_name = "Cancel";'))
        env.d.start()
        wait_until(lambda: len(names_of(env, "Cancel")) >= 3, 30, "three occurrences of canceller")
        # An occurrence due in the second the daemon started is looked up
        # first and submitted after the grace period (6 s here): wait for it.
        wait_until(lambda: names_of(env, "Skip"), 30, "the first occurrence of skipper")
        env.d.wait_log(r"job 'skipper': run not submitted: the previous run's batch is still active")
        assert len(names_of(env, "Skip")) == 1, names_of(env, "Skip")
        cancels = env.sim.requests("cancel")
        assert len(cancels) >= 2, cancels
        # Every cancelled batch is an earlier occurrence of canceller.
        ids = {r["batch_id"] for r in env.sim.requests("submit")
               if json.loads(r["body"])["call_name"].startswith("Cancel")}
        assert all(c["path"].split("/")[4] in ids for c in cancels), cancels
        env.d.stop()


def test_catch_up_only_newest(work):
    with Env(work) as env:
        env.d.write_job("catch", rec_job("*-*-* *:*:00/2", '  call_name = "Catch";\n  max_lateness = 3;'))
        env.d.start()
        wait_until(lambda: len(names_of(env, "Catch")) >= 1, 15, "a first occurrence")
        env.d.kill9()
        down = time.time()
        wait_until(lambda: time.time() - down > 7, 10, "seven seconds of downtime")
        before = len(names_of(env, "Catch"))
        env.d.start()
        env.d.wait_log(r"job 'catch': \d+ occurrences from .* were missed", 10)
        wait_until(lambda: len(names_of(env, "Catch")) >= before + 1, 10, "the catch-up submit")
        subs = [r for r in env.sim.requests("submit") if json.loads(r["body"])["call_name"].startswith("Catch")]
        # Right after the restart exactly one catch-up submit (not a burst).
        restart_us = int(down * 1e6) + 7000000
        burst = [r for r in subs if restart_us - 1000000 <= r["time_us"] <= restart_us + 1500000]
        assert len(burst) <= 1, burst
        names = [json.loads(r["body"])["call_name"] for r in subs]
        assert len(names) == len(set(names)), names
        env.d.stop()


def test_csv_read_again_each_run(work):
    with Env(work) as env:
        csv = os.path.join(env.d.jobs, "people.csv")
        with open(csv, "w") as f:
            f.write("phone_number,first_name\n+15550100041,Ada\n")
        env.d.write_job("csvrec", """  agent_id = "agent_rec";
  timezone = "UTC";
  repeat = "*-*-* *:*:00/3";
  call_name = "Csv";
  recipients = ( { phone_number = "+15550100040"; } );
  recipients_csv = "people.csv";""")
        env.d.start()
        wait_until(lambda: len(names_of(env, "Csv")) >= 1, 15, "a first occurrence")
        with open(csv + ".tmp", "w") as f:
            f.write("phone_number,first_name\n+15550100042,Grace\n+15550100043,Alan\n")
        os.rename(csv + ".tmp", csv)
        n = len(names_of(env, "Csv"))
        wait_until(lambda: len(names_of(env, "Csv")) >= n + 1, 15, "the next occurrence")
        bodies = [json.loads(r["body"]) for r in env.sim.requests("submit")]
        first = [r["phone_number"] for r in bodies[0]["recipients"]]
        last = [r["phone_number"] for r in bodies[-1]["recipients"]]
        assert first == ["+15550100040", "+15550100041"], first
        assert last == ["+15550100040", "+15550100042", "+15550100043"], last
        assert bodies[-1]["recipients"][1]["conversation_initiation_client_data"]["dynamic_variables"] == \
            {"first_name": "Grace"}
        env.d.stop()


if __name__ == "__main__":
    run([test_every_three_seconds_with_count, test_overlap_skip_and_cancel_previous, test_catch_up_only_newest,
         test_csv_read_again_each_run])
