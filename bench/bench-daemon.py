#!/usr/bin/env python3
"""
Benchmarks of batchcalld against batchcall-sim over loopback. Prints
figures; asserts nothing about speed. Measured at the simulator's receive
times (GET /_sim/requests, microseconds), with the client's rate limit
lifted where the figure is about the daemon itself.

usage: bench/bench-daemon.py [lateness] [burst] [poll] [rss] [idle] [reload] [million]
(TOP_BUILDDIR names the build folder; default ./build; million is not in
the default list: it writes 1,000,000 jobs, about 220 MB of job files)
"""
import os
import signal
import statistics
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
os.environ.setdefault("TOP_BUILDDIR", os.path.join(here, "..", "build"))
import harness  # noqa: E402
from harness import Daemon, Sim, wait_until  # noqa: E402


def write_jobs(d, prefix, instants, per_file=1000, recipients=("+15550100011",), zones=("UTC",), agent="agent_bench"):
    rc = ", ".join('{ phone_number = "%s"; }' % p for p in recipients)
    for f in range(0, len(instants), per_file):
        with open(os.path.join(d.jobs, "%s-%05d.conf" % (prefix, f // per_file)), "w") as fh:
            fh.write("jobs = (\n")
            items = []
            for i in range(f, min(f + per_file, len(instants))):
                items.append('{ name = "%s-%06d"; agent_id = "%s"; timezone = "%s"; scheduled_time_unix = %d; recipients = ( %s ); }'
                             % (prefix, i, agent, zones[i % len(zones)], instants[i], rc))
            fh.write(",\n".join(items))
            fh.write("\n);\n")


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(d, timeout):
    """Wait for the daemon's "started:" line, reading only what the log
    gained: with 100,000 jobs the log holds 100,000 "run scheduled" lines,
    and reading it whole every 20 ms (Daemon.wait_started) takes a core
    from the daemon being measured."""
    deadline = time.monotonic() + timeout
    pos, tail = 0, b""
    while True:
        try:
            with open(d.logfile, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        pos += len(chunk)
        buf = tail + chunk
        if b"started:" in buf:
            return
        tail = buf[-64:]  # a line cut between two reads
        assert d.proc.poll() is None, "daemon exited: %s" % d.log()[-2000:]
        assert time.monotonic() < deadline, "daemon start: timed out after %ds" % timeout
        time.sleep(0.005)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def env(speed=50):
    work = tempfile.mkdtemp(prefix="bc-bench-")
    sim = Sim(work, speed=speed)
    d = Daemon(work, sim, poll_interval=5, request_timeout=30, rate=1e6,
               extra_conf="")
    with open(d.conf) as f:
        text = f.read().replace("max_concurrent_requests = 16;", "max_concurrent_requests = 128;")
    with open(d.conf, "w") as f:
        f.write(text)
    return work, sim, d


def bench_lateness():
    work, sim, d = env(speed=50)
    try:
        start = int(time.time()) + 8
        instants = [start + (i * 10) // 1000 for i in range(1000)]
        write_jobs(d, "late", instants, per_file=100)
        d.start()
        d.wait_started(30)
        subs = wait_until(lambda: (lambda r: r if len(r) >= 1000 else None)(sim.requests("submit")), 60, "1000 submits")
        by_name = {}
        for r in subs:
            import json
            by_name[json.loads(r["body"])["call_name"].split(" ")[0]] = r["time_us"]
        late = [(by_name["late-%06d" % i] - instants[i] * 1000000) / 1000.0 for i in range(1000)]
        early = sum(1 for x in late if x < 0)
        print("lateness: 1000 jobs due across 10 s (100 per second): p50 %.1f ms, p99 %.1f ms, max %.1f ms, early %d"
              % (pct(late, 50), pct(late, 99), max(late), early))
    finally:
        d.stop()
        sim.stop()


def bench_burst():
    work, sim, d = env(speed=50)
    try:
        start = int(time.time()) + 8
        write_jobs(d, "burst", [start] * 1000, per_file=250)
        d.start()
        d.wait_started(30)
        subs = wait_until(lambda: (lambda r: r if len(r) >= 1000 else None)(sim.requests("submit")), 60, "1000 submits")
        t = sorted(r["time_us"] for r in subs)
        span = (t[-1] - t[0]) / 1e6
        print("burst: 1000 jobs due in the same second: first %.1f ms after the instant, last %.1f ms; %.0f submits/s"
              % ((t[0] - start * 1e6) / 1000, (t[-1] - start * 1e6) / 1000, 999 / span if span > 0 else float("inf")))
    finally:
        d.stop()
        sim.stop()


def bench_poll():
    work, sim, d = env(speed=0.0001)  # calls last for days: the batches stay active
    try:
        # Due after the start: a run already due at a start is looked up
        # first and waits the grace period when nothing is found.
        start = int(time.time()) + 8
        write_jobs(d, "poll", [start] * 1000, per_file=500)
        d.start()
        d.wait_started(30)
        wait_until(lambda: len(sim.requests("submit")) >= 1000, 60, "1000 submits")
        wait_until(lambda: all((d.run_state("poll-%06d" % i) or {}).get("state") in ("pending", "in_progress")
                               for i in range(0, 1000, 97)), 60, "batches active")
        seq = sim.requests()[-1]["seq"]
        cycles = 3
        t0 = time.time()
        wait_until(lambda: len([r for r in sim.requests() if r["seq"] > seq and r["endpoint"] == "list"
                                and "last_doc" not in (r["query"] or "")]) >= cycles + 1, 120, "poll cycles")
        reqs = [r for r in sim.requests() if r["seq"] > seq]
        firsts = [r for r in reqs if r["endpoint"] == "list" and "last_doc" not in (r["query"] or "")]
        window = [r for r in reqs if r["seq"] < firsts[cycles]["seq"] and r["seq"] >= firsts[0]["seq"]]
        lists = sum(1 for r in window if r["endpoint"] == "list")
        gets = sum(1 for r in window if r["endpoint"] == "get")
        per = (lists + gets) / cycles / 1000.0
        print("poll: 1000 active batches: %d list + %d get requests in %d polls = %.3f requests per active batch per poll "
              "(one GET per batch: 1.000; %.0fx fewer)" % (lists, gets, cycles, per, 1.0 / per if per else 0))
        _ = t0
    finally:
        d.stop()
        sim.stop()


def bench_rss():
    for n in (1000, 100000):
        work, sim, d = env()
        try:
            write_jobs(d, "rss", [int(time.time()) + 86400 * 30] * n, per_file=1000,
                       recipients=("+15550100011", "+15550100012", "+15550100013"))
            t0 = time.monotonic()
            d.start()
            wait_ready(d, 300)
            load = time.monotonic() - t0
            pid = d.proc.pid
            print("rss: %6d jobs (3 recipients each): peak RSS %.1f MiB (%.2f KiB per job), start-up %.2f s"
                  % (n, proc_status(pid, "VmHWM") / 1024.0, proc_status(pid, "VmHWM") / n, load))
        finally:
            d.stop(120)
            sim.stop()


def idle_window(pid, seconds):
    """Wake-ups (context switches) and CPU seconds of pid over seconds,
    after 2 s for the start-up to settle."""
    time.sleep(2)  # let start-up settle; this is a measurement window, not synchronisation
    c0 = proc_status(pid, "voluntary_ctxt_switches") + proc_status(pid, "nonvoluntary_ctxt_switches")
    cpu0 = cpu_seconds(pid)
    time.sleep(seconds)
    c1 = proc_status(pid, "voluntary_ctxt_switches") + proc_status(pid, "nonvoluntary_ctxt_switches")
    return c1 - c0, cpu_seconds(pid) - cpu0


def bench_idle(seconds=60):
    work, sim, d = env()
    try:
        write_jobs(d, "idle", [int(time.time()) + 86400 + i for i in range(10000)], per_file=1000)
        d.start()
        d.wait_started(120)
        wakeups, cpu = idle_window(d.proc.pid, seconds)
        print("idle: 10000 future jobs over %d s: %d wake-ups (context switches), %.3f CPU seconds (no watchdog)"
              % (seconds, wakeups, cpu))
    finally:
        d.stop()
        sim.stop()


def bench_million(seconds=60):
    n = 1000000
    work, sim, d = env()
    try:
        write_jobs(d, "m", [int(time.time()) + 86400 * 30] * n, per_file=1000,
                   recipients=("+15550100011", "+15550100012", "+15550100013"))
        t0 = time.monotonic()
        d.start()
        wait_ready(d, 1800)
        load = time.monotonic() - t0
        pid = d.proc.pid
        hwm = proc_status(pid, "VmHWM")
        wakeups, cpu = idle_window(pid, seconds)
        print("million: %d future jobs (3 recipients each): start-up %.2f s, peak RSS %.1f MiB (%.2f KiB per job); "
              "idle %d s: %d wake-ups (context switches), %.3f CPU seconds (no watchdog)"
              % (n, load, hwm / 1024.0, hwm / n, seconds, wakeups, cpu))
    finally:
        d.stop(300)
        sim.stop()
        import shutil
        shutil.rmtree(d.jobs, ignore_errors=True)


def bench_reload():
    import re
    work, sim, d = env()
    try:
        write_jobs(d, "reload", [int(time.time()) + 86400 + i for i in range(10000)], per_file=1000)
        d.start()
        d.wait_started(120)
        times = []
        for i in range(3):
            n = d.log().count("configuration reloaded")
            t0 = time.monotonic()
            d.signal(signal.SIGHUP)
            wait_until(lambda: d.log().count("configuration reloaded") > n, 60, "reload")
            times.append(time.monotonic() - t0)
        ms = [int(m) for m in re.findall(r"configuration reloaded: \d+ jobs in \d+ files,.* in (\d+) ms", d.log())]
        print("reload: SIGHUP with 10000 jobs: %s ms inside the daemon; %s ms signal to log line"
              % ("/".join(str(x) for x in ms), "/".join("%.0f" % (t * 1000) for t in times)))
    finally:
        d.stop()
        sim.stop()


if __name__ == "__main__":
    which = sys.argv[1:] or ["lateness", "burst", "poll", "rss", "idle", "reload"]
    for w in which:
        globals()["bench_" + w]()
