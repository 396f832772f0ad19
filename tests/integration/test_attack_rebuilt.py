#!/usr/bin/env python3
"""Attack on 7a2a7e0 (a deferred part rebuilt from a damaged record takes
its parent's recipients and becomes submittable): a zone group's deferred
part, rebuilt, has no zone, so the calling hours it is judged by are the
job's zone's, not its recipients'."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402

V = "+81312345671"  # a Tokyo number


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def test_damaged_zone_deferred_keeps_its_zone(work):
    """Job 'da' (no hours) calls V; job 'db' (timezone UTC, calling hours
    open now in Tokyo, closed now in UTC) has V in Asia/Tokyo, over
    min_gap: its Tokyo run hands V on to "Asia/Tokyo, deferred 1", due
    when min_gap allows, inside Tokyo's hours (open). The deferred run's
    record is damaged while the daemon is stopped. Rebuilt, it takes V
    from its parent's record but no zone: judged by UTC's hours it waits
    for UTC's opening (the middle of the night in Tokyo) instead of being
    called min_gap after the first call."""
    conf = 'results_dir = "results";\ncontact_limits = { min_gap = "20s"; };\nover_limit = "defer";'
    with Env(work, extra_conf=conf) as env:
        now = int(time.time())
        tokyo = now + 9 * 3600
        at = now + 3
        env.d.write_job("da", """  agent_id = "agent_a";
  phone_number_id = "phnum_a";
  scheduled_time_unix = %d;
  recipients = ( { phone_number = "%s"; } );""" % (at, V))
        env.d.write_job("db", """  agent_id = "agent_b";
  phone_number_id = "phnum_b";
  timezone = "UTC";
  scheduled_time_unix = %d;
  calling_hours = { from = "%s"; to = "%s"; };
  recipients = ( { phone_number = "%s"; timezone = "Asia/Tokyo"; } );""" % (
            at + 1, hhmm(tokyo - 3600), hhmm(tokyo + 3600), V), file="db")
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"deferred run '.*\(Asia/Tokyo, deferred 1\)' of 1 recipients", 30)
        assert env.d.stop() == 0
        first = env.sim.requests("submit")
        assert len(first) == 1, first
        runs = os.path.join(env.d.state, "runs")
        files = [n for n in os.listdir(runs) if "deferred" in n and n.endswith(".json")]
        assert len(files) == 1, os.listdir(runs)
        with open(os.path.join(runs, files[0]), "w") as f:
            f.write("{")
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"\(Asia/Tokyo, deferred 1\)' takes its retries \(0\) and its 1 recipients", 5)
        rebuilt = [r for r in env.d.runs() if r.get("part") == "Asia/Tokyo, deferred 1"]
        # the second call: min_gap after the first, inside Tokyo's hours
        try:
            wait_until(lambda: len(env.sim.requests("submit")) >= 2, 40, "the deferred call")
        finally:
            print("log tail:\n" + "\n".join(l for l in env.d.log().splitlines()
                                            if "deferred 1" in l)[-3000:])
            print("rebuilt record:", json.dumps(rebuilt))
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_damaged_zone_deferred_keeps_its_zone])
