#!/usr/bin/env python3
"""JOB_EVENT=late means the run's instant passed while the daemon could not
act (it was down, or the run waited for its calling hours): SPEC §6,
README "On time, never early". A run the daemon submitted at its instant
is not late, whatever its first attempt met: a 503 (retried after
Retry-After) or a 401 (API work paused) only delays the attempt that
succeeds. And a run that is late is logged late once, not once per
attempt."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, submits_named, unix_job, wait_until  # noqa: E402


def events_of(log, job):
    return [line for line in log.splitlines() if "job_name=%s " % job in line + " " and "job_event=" in line]


def on_time_then_fault(work, fault):
    with Env(work) as env:
        env.d.start()
        env.d.wait_started()
        env.sim.fault(endpoint="submit", **fault)
        # Due after the reload that brings it: the timer fires at the
        # instant (the daemon submits to the millisecond, SPEC §5.1).
        at = int(time.time()) + 5
        env.d.write_job("ontime", unix_job(at))
        env.d.signal(__import__("signal").SIGHUP)
        env.d.wait_log(r"configuration reloaded")
        assert time.time() < at, "premise: the run was known before its instant (the reload took over 4 s)"
        subs = wait_until(lambda: [s for s in submits_named(env.sim, "ontime ") if s["status"] == 200], 60,
                          "the submit that succeeds")
        first = submits_named(env.sim, "ontime ")[0]
        assert first["status"] == fault["status"], first
        # The first attempt left at the instant (not late by the rule's 1 s).
        assert first["time_us"] / 1e6 < at + 1.0, (first["time_us"] / 1e6 - at)
        assert subs[0]["time_us"] / 1e6 >= at + 1.0, "the fault did not delay the second attempt"
        env.d.wait_state("ontime", ("pending", "in_progress", "completed"), 30)
        lines = events_of(env.d.log(), "ontime")
        late = [line for line in lines if "job_event=late" in line]
        assert late == [], "logged late although submitted at its instant:\n" + "\n".join(late)
        assert len([s for s in submits_named(env.sim, "ontime ") if s["status"] == 200]) == 1
        assert env.d.stop() == 0


def test_503_first_attempt_not_late(work):
    # The API's own 503 with Retry-After: 2 (the retry comes 2 s later).
    on_time_then_fault(work, {"kind": "status", "status": 503, "retry_after": "2"})


def test_401_first_attempt_not_late(work):
    # A refused key pauses API work at least a second (then accepted).
    on_time_then_fault(work, {"kind": "status", "status": 401})


def test_late_once(work):
    # Late by downtime, and its first attempt meets a 503: one late entry.
    with Env(work) as env:
        env.sim.fault(endpoint="submit", kind="status", status=503, retry_after="1")
        env.d.write_job("down", unix_job(int(time.time()) - 120))
        env.d.start()
        wait_until(lambda: [s for s in submits_named(env.sim, "down ") if s["status"] == 200], 60,
                   "the submit that succeeds")
        env.d.wait_state("down", ("pending", "in_progress", "completed"), 30)
        late = [line for line in events_of(env.d.log(), "down") if "job_event=late" in line]
        assert len(late) == 1, late
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_503_first_attempt_not_late, test_401_first_attempt_not_late, test_late_once])
