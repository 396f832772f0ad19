#!/usr/bin/env python3
"""Simulated weeks: the daemon, the simulator and this script share one
accelerated clock (libfaketime, started by `faketime` around this script
with FAKETIME_DONT_RESET=1, so that every process of the tree reads the
same fake time: without it each process starts its own clock at START when
it starts, and a daemon started one real second after the simulator runs
10,000 fake seconds behind it, beyond the 5 minutes of clock skew the
daemon's lookup allows; a submit that timed out was then not recognised
as its own and was sent again). A weekday
09:00 schedule in New York over two weeks across the 2026-03-08 DST change:
exactly ten submits, each at 09:00 local (14:00Z before, 13:00Z after)."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402

# A Sunday, UTC: 26 fake hours (9.4 real seconds) before the first occurrence,
# so that a slow start (ASan under load) is over before it.
START = "2026-03-01 12:00:00"
RATE = 10000                   # fake seconds per real second


def reexec_under_faketime():
    if os.environ.get("BC_UNDER_FAKETIME") == "1":
        return
    if not shutil.which("faketime"):
        print("SKIP: faketime (Debian package faketime) is not installed")
        sys.exit(77)
    from harness import DAEMON
    with open(DAEMON, "rb") as f:
        if b"__asan_init" in f.read() and "verify_asan_link_order=0" not in os.environ.get("ASAN_OPTIONS", ""):
            # libfaketime is preloaded before ASan's runtime: only with
            # ASAN_OPTIONS=verify_asan_link_order=0 (scripts/test sets it).
            print("SKIP: the sanitizer build needs ASAN_OPTIONS=verify_asan_link_order=0 under libfaketime")
            sys.exit(77)
    env = dict(os.environ, BC_UNDER_FAKETIME="1", BC_TIME_SCALE=str(RATE), FAKETIME_DONT_RESET="1")
    os.execvpe("faketime", ["faketime", "-f", "@%s x%d" % (START, RATE), sys.executable] + sys.argv, env)


def test_weekdays_across_dst(work):
    t0 = time.time()
    assert abs(t0 - 1772366400) < 86400, "the fake clock is not in March 2026: %s" % time.ctime(t0)
    with Env(work, sim_kw={"speed": 1, "extra": ("--io-timeout", "100000000")}, poll_interval=600,
             request_timeout=600) as env:
        def clocks_agree(when):
            # The simulator's clock and this script's (the daemon's, started
            # the same way) within the 300 s of skew the daemon's lookup
            # allows: the fake clock is shared, not one per process.
            a = time.time()
            st, c = env.sim.call("GET", "/_sim/clock", key=False)
            b = time.time()
            assert st == 200, st
            assert a - 300 <= c["now_us"] / 1e6 <= b + 300, (when, a, c, b)
        clocks_agree("start")
        # max_lateness 12 h: 4.3 real seconds for the daemon to act on a run
        # (the runs are a day apart); 1 h was 0.36 s, which a loaded machine can miss.
        env.d.write_job("weekday", """  agent_id = "agent_w";
  timezone = "America/New_York";
  repeat = "Mon..Fri 09:00";
  start = "2026-03-01 00:00";
  until = "2026-03-13 12:00";
  call_name = "Weekday";
  max_lateness = 43200;
  recipients = ( { phone_number = "+15550100031"; } );""")
        env.d.start()
        subs = wait_until(lambda: (lambda x: x if len(x) >= 10 else None)(env.sim.requests("submit")),
                          240, "ten weekday submits")
        names = [json.loads(r["body"])["call_name"] for r in subs]
        expect = ["Weekday 2026-03-%02d 09:00" % d for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
        assert names == expect, names
        # Each run's instant is 09:00 in New York: 14:00Z before the change
        # on 2026-03-08, 13:00Z after (the daemon's own record is the
        # measure: the simulator's receive time includes the daemon's
        # lateness, up to seconds of fake time at this rate).
        import re

        def starts_logged():
            s = [int(x) for x in re.findall(r"job 'weekday': submitted as batch \S+ .*? run_start=(\d+)",
                                            env.d.log())]
            return s if len(s) >= 10 else None
        # The simulator logs a submit before the daemon reads its answer.
        starts = wait_until(starts_logged, 240, "the daemon's ten 'submitted' entries")
        want = [int(subprocess.check_output(["date", "-u", "-d", "2026-03-%02d %02d:00:00" % (d, 14 if d < 8 else 13),
                                             "+%s"])) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
        assert starts == want, (starts, want)
        # Nothing after until: the Monday after would be 2026-03-16 13:00Z.
        wait_until(lambda: time.time() > 1773666000 + 3600, 600, "past the Monday after until")
        assert len(env.sim.requests("submit")) == 10
        clocks_agree("end")
        env.d.stop()


if __name__ == "__main__":
    reexec_under_faketime()
    run([test_weekdays_across_dst])
