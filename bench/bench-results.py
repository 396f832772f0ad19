#!/usr/bin/env python3
"""Benchmark of the results files of a large run (issue 14), end to end:
the real daemon runs one job of N recipients (default 10,000) against the
simulator, without webhooks (every conversation comes by the polling
fallback), and the daemon's own journal entries tell how long each write
of the run's results took: the rows' join, the CSV and the JSON Lines,
each written crash-safe (temporary file, fsync, rename, fsync of the
folder). Prints the first write (when the batch ended), the last one
(every conversation known), how many writes there were, the files' sizes
and the daemon's CPU time.

    TOP_BUILDDIR=$PWD/build python3 bench/bench-results.py [RECIPIENTS]
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import Env, wait_until  # noqa: E402

WRITTEN = re.compile(r"results file '([^']+\.jsonl)' written \((\d+) rows, (\d+) ms\)")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    work = tempfile.mkdtemp(prefix="bc-bench-results-")
    with Env(work, sim_kw={"speed": 2000, "extra": ["--processing-secs", "0"]}, rate=1e6, request_timeout=30,
             extra_conf='results_dir = "results";') as env:
        with open(env.d.conf) as f:
            text = f.read().replace("max_concurrent_requests = 16;", "max_concurrent_requests = 64;")
        with open(env.d.conf, "w") as f:
            f.write(text)
        with open(os.path.join(env.d.jobs, "big.csv"), "w") as f:
            f.write("id,phone_number\n")
            for i in range(n):
                f.write("cust-%05d,+1415%07d\n" % (i, 5550000 + i))
        at = int(time.time()) + 3
        env.d.write_job("big", 'agent_id = "agent_bench";\n  phone_number_id = "phnum_bench";\n'
                        '  scheduled_time_unix = %d;\n  recipients_csv = "big.csv";' % at)
        env.d.start()
        env.d.wait_started(30)
        env.d.wait_state("big", ("completed", "failed"), 600)

        def settled():
            # every conversation polled, and no write for 5 s
            w = WRITTEN.findall(env.d.log())
            if not w or int(w[-1][1]) != n:
                return None
            gets = len(env.sim.requests("conversation")) if n <= 20000 else 0
            if gets < n:
                return None
            time.sleep(5)
            return w if WRITTEN.findall(env.d.log()) == w else None
        w = wait_until(settled, 900, "the results of every conversation")
        cpu = cpu_s(env.d.proc.pid)
        path = w[-1][0]
        sizes = (os.path.getsize(path[:-len("jsonl")] + "csv"), os.path.getsize(path))
        env.d.stop()
    ms = [int(x[2]) for x in w]
    print("%d recipients: %d writes of the results; first (batch ended) %d ms, last (every conversation) %d ms, "
          "max %d ms; CSV %.1f MB, JSON Lines %.1f MB; daemon CPU %.1f s for the whole run" % (
              n, len(w), ms[0], ms[-1], max(ms), sizes[0] / 1e6, sizes[1] / 1e6, cpu))


if __name__ == "__main__":
    main()
