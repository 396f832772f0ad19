#!/usr/bin/env python3
"""A three-touch campaign (follow_up) across the 2026-03-08 DST change in
New York, on the accelerated clock of test_weeks.py (libfaketime shared by
the daemon, the simulator and this script).

Saturday 2026-03-07 10:00 EST the occurrence calls five numbers; the
simulator's rule (the last digit) makes ...0101, ...0161 and ...0181
answer, ...0107 reach voicemail and ...0106 fail; the second-to-last digit
gives the agent's verdict of an answered call (0: success, 6: failure,
8: unknown), voicemail is a failure.

- follow-up 1 ("second try"): a day after the run ended, the voicemail
  and failed recipients, inside its own hours 17:00-19:00: Sunday the 8th,
  the day the clocks moved, at 17:00 EDT = 21:00Z (17:00 EST would be
  22:00Z), with its own first_message and a variable.
- follow-up 2: 12 hours after follow-up 1 ended, those of follow-up 1
  whose conversation the agent judged a failure (the voicemail one; the
  failed call has no verdict), at the job's opening 09:00 EDT Monday =
  13:00Z.

The daemon is killed (kill -9) while follow-up 1 is pending and again
right after it was made: each touch is submitted once, to exactly those
people, at those local times (the simulator's request log and the state
records), and the results rows carry the touch that last called each."""
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402
from test_weeks import reexec_under_faketime as _reexec  # noqa: E402
import test_weeks  # noqa: E402

START = "2026-03-07 12:00:00"  # 07:00 EST, three fake hours before the run
RATE = 3000

T_RUN = 1772895600    # 2026-03-07 15:00Z = 10:00 EST
T_TOUCH1 = 1773003600  # 2026-03-08 21:00Z = 17:00 EDT
T_TOUCH2 = 1773061200  # 2026-03-09 13:00Z = 09:00 EDT
# fake seconds the simulator may see a submit after its instant (one real
# second: a loaded machine); the instant itself is asserted exactly from
# the daemon's records, and an hour (17:00 EST against EDT) is 3600
SLACK = 3000

A, B, C, D, E = "+15550100101", "+15550100107", "+15550100106", "+15550100161", "+15550100181"


def keys_of(body):
    return sorted(r["phone_number"] for r in json.loads(body)["recipients"])


def test_three_touches_across_dst(work):
    assert abs(time.time() - (T_RUN - 10800)) < 3600, "the fake clock is not at %s: %s" % (START, time.ctime())
    with Env(work, sim_kw={"speed": 1, "extra": ("--io-timeout", "100000000")}, poll_interval=600,
             request_timeout=600) as env:
        env.d.write_job("camp", """  agent_id = "agent_c";
  timezone = "America/New_York";
  start = "2026-03-07 10:00";
  call_name = "Camp";
  max_lateness = 43200;
  retry = { max_retries = 0; };
  calling_hours = { from = "09:00"; to = "18:00"; };
  recipients = ( { phone_number = "%s"; }, { phone_number = "%s"; variables = { tier = "gold"; }; },
                 { phone_number = "%s"; }, { phone_number = "%s"; }, { phone_number = "%s"; } );
  follow_up = (
    { after = "1d"; status = [ "voicemail", "failed" ]; call_name_suffix = "second try";
      first_message = "Hello again"; variables = { touch = 1; };
      calling_hours = { from = "17:00"; to = "19:00"; }; },
    { after = "12h"; call_successful = "failure"; }
  );""" % (A, B, C, D, E))
        env.d.start()
        # the occurrence: everybody, at 10:00 EST
        first = wait_until(lambda: env.sim.requests("submit") or None, 60, "the first submit")
        assert len(first) == 1 and keys_of(first[0]["body"]) == sorted([A, B, C, D, E])
        assert json.loads(first[0]["body"])["call_name"] == "Camp 2026-03-07 10:00"
        assert T_RUN <= first[0]["time_us"] / 1e6 <= T_RUN + SLACK, first[0]["time_us"]

        # the run ended: follow-up 1 is pending, shown by status
        def ended():
            # (the control socket's 30 s limits are 10 ms of real time on
            # this clock: a request a loaded machine is slow to answer is
            # closed, and asked again)
            try:
                st, doc = env.d.control("GET", "/v1/jobs/camp")
            except OSError:
                return None
            return doc if st == 200 and doc["state"] == "completed" and doc["follow_up"] else None
        doc = wait_until(ended, 60, "the run's end, with follow-up 1 pending")
        assert doc["follow_up"]["touch"] == 1 and doc["follow_up"]["of"] == 2, doc
        due = doc["follow_up"]["due_unix"]
        # a day after the end, which came within the hour after 10:00 EST
        assert T_RUN + 86400 <= due <= T_RUN + 86400 + 3600, due
        # a crash while it is pending: it is made once, after the restart
        env.d.kill9()
        env.d.start()
        env.d.wait_started(30)

        second = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(env.sim.requests("submit")), 120,
                            "follow-up 1's submit")
        body = json.loads(second[1]["body"])
        assert body["call_name"] == "Camp 2026-03-07 10:00 (second try)", body["call_name"]
        assert keys_of(second[1]["body"]) == sorted([B, C])
        for r in body["recipients"]:
            ccd = r["conversation_initiation_client_data"]
            assert ccd["conversation_config_override"]["agent"]["first_message"] == "Hello again", r
            assert ccd["dynamic_variables"]["touch"] == 1, r
            if r["phone_number"] == B:
                assert ccd["dynamic_variables"]["tier"] == "gold", r
        # 17:00 EDT on the day of the change, not 17:00 EST
        assert T_TOUCH1 <= second[1]["time_us"] / 1e6 <= T_TOUCH1 + SLACK, second[1]["time_us"]
        touch1 = [r for r in env.d.runs() if r.get("touch") == 1]
        assert len(touch1) == 1 and touch1[0]["part"] == "follow-up 1", touch1
        assert touch1[0]["submit_at_ms"] == T_TOUCH1 * 1000, touch1[0]
        # a crash right after it was submitted: nothing is sent twice
        env.d.kill9()
        env.d.start()
        env.d.wait_started(30)

        third = wait_until(lambda: (lambda s: s if len(s) >= 3 else None)(env.sim.requests("submit")), 120,
                           "follow-up 2's submit")
        body = json.loads(third[2]["body"])
        assert body["call_name"] == "Camp 2026-03-07 10:00 (follow-up 2)", body["call_name"]
        # of follow-up 1's people, the one whose call the agent judged a failure
        assert keys_of(third[2]["body"]) == [B]
        assert "first_message" not in third[2]["body"]
        assert T_TOUCH2 <= third[2]["time_us"] / 1e6 <= T_TOUCH2 + SLACK, third[2]["time_us"]
        touch2 = [r for r in env.d.runs() if r.get("touch") == 2]
        assert len(touch2) == 1 and touch2[0]["submit_at_ms"] == T_TOUCH2 * 1000, touch2

        # nothing more: no touch 3, no second copy of any touch
        wait_until(lambda: time.time() > T_TOUCH2 + 43200, 120, "half a day past the last touch")
        subs = env.sim.requests("submit")
        assert len(subs) == 3, [json.loads(s["body"])["call_name"] for s in subs]

        # the results: each row from the touch that last called it
        def rows():
            files = glob.glob(os.path.join(env.d.state, "results", "camp", "*.jsonl"))
            if not files:
                return None
            with open(files[0]) as f:
                got = {r["phone_number"]: r for r in map(json.loads, f)}
            return got if got[B]["touch"] == 2 and got[B]["status"] == "voicemail" else None
        got = wait_until(rows, 60, "results rows of follow-up 2")
        assert {k: got[k]["touch"] for k in got} == {A: 0, B: 2, C: 1, D: 0, E: 0}, got
        assert got[C]["status"] == "failed" and got[C]["call_name"] == "Camp 2026-03-07 10:00 (second try)"
        def settled():
            try:
                st, doc = env.d.control("GET", "/v1/jobs/camp")
            except OSError:
                return None
            return doc if st == 200 else None
        doc = wait_until(settled, 30, "GET /v1/jobs/camp")
        assert doc["follow_up"] is None, doc
        env.d.stop()


if __name__ == "__main__":
    test_weeks.START = START
    test_weeks.RATE = RATE
    _reexec()
    run([test_three_touches_across_dst])
