#!/usr/bin/env python3
"""
Benchmarks of batchcalld against batchcall-sim over loopback. Prints
figures; asserts nothing about speed. Measured at the simulator's receive
times (GET /_sim/requests, microseconds), with the client's rate limit
lifted where the figure is about the daemon itself.

usage: bench/bench-daemon.py [lateness] [burst] [burst-added] [poll] [rss] [idle] [reload] [workload] [million]
(TOP_BUILDDIR names the build folder; default ./build; burst-added,
workload and million are not in the default list. burst-added takes
BURST_SIZES=50,500,5000 and SERVICE_MS=20; workload: BENCH_PERF=FILE
records a perf profile of the daemon into FILE (BENCH_PERF_HZ, default
999; BENCH_PERF_CG, default -g, e.g. "--call-graph dwarf,16384"),
BENCH_STRACE=FILE counts its system calls into FILE instead,
BENCH_HOOKS=1 has the conversations come as post-call webhooks rather
than fetched, BENCH_VERBOSE=1 runs the daemon with --verbose; million writes 1,000,000 jobs, about
220 MB of job files)
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


def control_get(d, path):
    """GET path on the daemon's control socket: the body as text."""
    status, text = d.control("GET", path, timeout=30, raw=True)
    assert status == 200, (path, status)
    return text


def histograms(text, family):
    """{label set without le: ([(le, cumulative count)], sum, count)} of one family."""
    import re
    out = {}
    for line in text.splitlines():
        m = re.match(r'%s_(bucket|sum|count)(?:\{(.*)\})? (\S+)$' % re.escape(family), line)
        if not m:
            continue
        kind, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        le = None
        rest = []
        for part in re.findall(r'(\w+)="([^"]*)"', labels):
            if part[0] == "le":
                le = float("inf") if part[1] == "+Inf" else float(part[1])
            else:
                rest.append("%s=%s" % part)
        key = ",".join(rest)
        h = out.setdefault(key, {"buckets": [], "sum": 0.0, "count": 0})
        if kind == "bucket":
            h["buckets"].append((le, value))
        else:
            h[kind] = value
    return out


def hist_quantile(h, q):
    """Prometheus' histogram_quantile: linear within the bucket, seconds."""
    b = sorted(h["buckets"])
    total = b[-1][1] if b else 0
    if total == 0:
        return float("nan")
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in b:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 1)
        prev_le, prev_c = le, c
    return prev_le


def bench_burst_added():
    """A burst of N runs due at the same instant against a server that
    takes SERVICE_MS per answer, 8 connections, no binding rate limit: the
    latency the daemon itself added to each submit (first byte written
    minus the later of the instant and the moment a slot came free), from
    its own /metrics, and the stage breakdown from the due instant."""
    sizes = [int(x) for x in os.environ.get("BURST_SIZES", "50,500,5000").split(",")]
    service = int(os.environ.get("SERVICE_MS", "20"))
    for n in sizes:
        work = tempfile.mkdtemp(prefix="bc-bench-")
        sim = Sim(work, speed=50, extra=("--service-time", str(service)))
        d = Daemon(work, sim, poll_interval=5, request_timeout=60, rate=1e6)
        with open(d.conf) as f:
            text = f.read().replace("max_concurrent_requests = 16;", "max_concurrent_requests = 8;")
        with open(d.conf, "w") as f:
            f.write(text)
        try:
            start = int(time.time()) + 6 + n // 1000
            write_jobs(d, "ba", [start] * n, per_file=1000)
            d.start()
            d.wait_started(60)
            assert time.time() < start - 1, "the daemon started too late for the instant"
            wait_until(lambda: len(sim.requests("submit")) >= n, 60 + n * service / 1000.0, "%d submits" % n)
            subs = sorted(r["time_us"] for r in sim.requests("submit"))
            server = ("             at the server: first submit %.1f ms after the instant, last %.1f ms "
                      "(ideal last: %.0f ms = (ceil(%d/8) - 1) x %d ms)"
                      % ((subs[0] - start * 1e6) / 1000, (subs[-1] - start * 1e6) / 1000,
                         ((n + 7) // 8 - 1) * service, n, service))
            if "batchcalld_submit_added_latency_seconds" not in control_get(d, "/metrics"):
                # a daemon from before the metric: the server's view only
                print("burst-added: %5d runs due at once, service %d ms, 8 connections:" % (n, service))
                print(server)
                continue
            # every answer read: each submit counted
            wait_until(lambda: histograms(control_get(d, "/metrics"),
                                          "batchcalld_submit_added_latency_seconds")[""]["count"] >= n, 60,
                       "%d answers" % n)
            m = control_get(d, "/metrics")
            added = histograms(m, "batchcalld_submit_added_latency_seconds")[""]
            mx = [float(line.split()[1]) for line in m.splitlines()
                  if line.startswith("batchcalld_submit_added_latency_max_seconds ")][0]
            stages = histograms(m, "batchcalld_submit_stage_seconds")
            within = dict(added["buckets"])
            print("burst-added: %5d runs due at once, service %d ms, 8 connections: added latency per submit "
                  "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d submits; %.1f%% within 1 ms, %.1f%% within 2 ms)"
                  % (n, service, min(mx, hist_quantile(added, 0.5)) * 1e3, min(mx, hist_quantile(added, 0.99)) * 1e3,
                     mx * 1e3,
                     added["count"], 100.0 * within[0.001] / max(1, added["count"]),
                     100.0 * within[0.002] / max(1, added["count"])))
            parts = []
            for st in ("fired", "durable", "queued", "connected", "written", "answered"):
                h = stages.get("stage=" + st)
                if h and h["count"]:
                    parts.append("%s %.1f/%.1f" % (st, hist_quantile(h, 0.5) * 1e3, hist_quantile(h, 0.99) * 1e3))
            print("             stages from the instant, p50/p99 ms: " + ", ".join(parts))
            print(server)
        finally:
            d.stop(120)
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


def floor(sim, reqs, path):
    """The requests of a run sent again by bench-floor (a bare libcurl
    client) at the same pace and concurrency, with and without json-c
    parsing the answers: what the traffic alone costs."""
    import subprocess
    t0 = min(r["time_us"] for r in reqs)
    with open(path, "w") as f:
        for r in sorted(reqs, key=lambda r: r["seq"]):
            url = sim.url + r["path"] + ("?" + r["query"] if r.get("query") else "")
            f.write("%d\t%s\t%s\t%s\n" % (r["time_us"] - t0, r["method"], url, r["body"] or ""))
    exe = os.path.join(os.environ["TOP_BUILDDIR"], "bench", "bench-floor")
    for extra in ([], ["--reuse"], ["--parse"]):
        wrap = os.environ.get("BENCH_FLOOR_WRAP", "").split()  # e.g. "perf record -o f.data"
        out = subprocess.run(wrap + [exe] + extra + ["8", sim.api_key, path], stdout=subprocess.PIPE, check=True)
        print("workload: " + out.stdout.decode().strip())


def bench_workload():
    """Issue 17's workload, as operators run it: 1,000 jobs due on whole
    seconds over 20 s (50 at each instant), 3 recipients each, calls of
    20 s (simulator speed 0.4), poll_interval 2 s, 2 retries,
    max_concurrent_requests 8, max_requests_per_second 100. Prints the
    daemon's CPU seconds for the whole run (start to every run finished),
    per request and per job, the requests per job, submit lateness and
    peak RSS."""
    import json
    import subprocess
    work = tempfile.mkdtemp(prefix="bc-bench-")
    # BENCH_HOOKS=1: the conversations come as signed post-call webhooks
    # (webhook_listen) rather than being fetched
    hooks = os.environ.get("BENCH_HOOKS") == "1"
    secret, port = "wsec_bench", harness.free_port()
    sim = Sim(work, speed=0.4, extra=("--webhook-url", "http://127.0.0.1:%d/hook" % port, "--webhook-secret", secret)
              if hooks else ())
    d = Daemon(work, sim, poll_interval=2, request_timeout=30, rate=100,
               extra_conf='webhook_listen = "127.0.0.1:%d";' % port if hooks else "")
    # as operators run it: info and up (BENCH_VERBOSE=1 adds the debug lines)
    d.verbose = os.environ.get("BENCH_VERBOSE") == "1"
    with open(d.conf) as f:
        text = f.read().replace("max_concurrent_requests = 16;", "max_concurrent_requests = 8;")
    with open(d.conf, "w") as f:
        f.write(text)
    n = 1000
    perf = None
    try:
        start = int(time.time()) + 6
        instants = [start + i // 50 for i in range(n)]
        write_jobs(d, "work", instants, per_file=100,
                   recipients=("+15550100011", "+15550100012", "+15550100013"))
        d.start(env={"ELEVENLABS_WEBHOOK_SECRET": secret} if hooks else None)
        d.wait_started(30)
        pid = d.proc.pid
        cpu0 = cpu_seconds(pid)
        if os.environ.get("BENCH_PERF"):
            perf = subprocess.Popen(["perf", "record", "-F", os.environ.get("BENCH_PERF_HZ", "999")] + os.environ.get("BENCH_PERF_CG", "-g").split() + ["-o", os.environ["BENCH_PERF"],
                                     "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif os.environ.get("BENCH_STRACE"):
            perf = subprocess.Popen(["strace"] + os.environ.get("BENCH_STRACE_ARGS", "-c").split() + ["-f", "-o", os.environ["BENCH_STRACE"], "-p", str(pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        last = [None]

        def finished():
            # Every run ended, its results files written, and no request
            # for two seconds: the conversations of the results are in.
            time.sleep(2)  # reading the state costs CPU: look every 2 s
            if sum(1 for r in d.runs() if r.get("state") in ("completed", "failed", "cancelled", "missed", "error")) < n:
                return None
            res = os.path.join(d.state, "results")
            if not os.path.isdir(res) or sum(len([f for f in fs if f.endswith(".csv")]) for _, _, fs in os.walk(res)) < n:
                return None
            seen, last[0] = last[0], len(sim.requests())
            return seen == last[0] or None
        wait_until(finished, 300, "every run finished")
        cpu = cpu_seconds(pid) - cpu0
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        reqs = sim.requests()
        subs = [r for r in reqs if r["endpoint"] == "submit"]
        by_name = {json.loads(r["body"])["call_name"].split(" ")[0]: r["time_us"] for r in subs}
        late = [(by_name["work-%06d" % i] - instants[i] * 1000000) / 1000.0 for i in range(n) if "work-%06d" % i in by_name]
        print("workload: 1000 jobs (50 due each second over 20 s), 3 recipients, calls 20 s, poll 2 s, "
              "8 connections, 100 requests/s; conversations %s" % ("by webhook" if hooks else "fetched"))
        print("workload: CPU %.2f s (%.2f ms per request, %.2f ms per job); %d requests (%.2f per job; %d submits)"
              % (cpu, 1000 * cpu / max(1, len(reqs)), 1000 * cpu / n, len(reqs), len(reqs) / float(n), len(subs)))
        print("workload: submit lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms; peak RSS %.1f MiB"
              % (pct(late, 50), pct(late, 99), max(late), proc_status(pid, "VmHWM") / 1024.0))
        import collections
        print("workload: requests by endpoint: %s" % ", ".join(
            "%s %d" % kv for kv in collections.Counter(r["endpoint"] for r in reqs).most_common()))
        if os.environ.get("BENCH_FLOOR"):
            # the same requests again, from a bare libcurl client against
            # the same simulator (its batches and conversations still
            # there): what the requests alone cost (bench/bench-floor.c)
            d.stop()
            floor(sim, reqs, os.environ["BENCH_FLOOR"])
    finally:
        if perf and perf.poll() is None:
            perf.kill()
        d.stop()
        sim.stop()


if __name__ == "__main__":
    which = sys.argv[1:] or ["lateness", "burst", "poll", "rss", "idle", "reload"]
    for w in which:
        globals()["bench_" + w.replace("-", "_")]()
