#!/usr/bin/env python3
"""Benchmark of the post-call webhook receiver (issue 14): signed
post_call_transcription events of about 20 KiB each, posted by
CONCURRENCY clients as fast as the daemon answers (or at RATE events per
second), each answered 200 only once it is on stable storage (group
commit). Prints the sustained rate and the answer latencies.

    TOP_BUILDDIR=$PWD/build python3 bench/bench-webhooks.py [EVENTS] [CONCURRENCY] [RATE]
    TOP_BUILDDIR=$PWD/build python3 bench/bench-webhooks.py lateness [RATE]

The second form measures the submit lateness of 1,000 jobs due across
10 s (bench-daemon.py's lateness case) while the receiver takes RATE
events per second (0: none, the baseline), at the simulator's receive
times. With two CPUs or more, the daemon and the simulator run on CPU 0
and the Python senders on the others (so the senders' own CPU, which a
real sender spends on another machine, does not count against the
daemon); the baseline is placed the same way.
"""
import hashlib
import hmac
import http.client
import json
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import Env  # noqa: E402

SECRET = "wsec_bench"


def body_of(i, size=20 * 1024):
    turn = {"role": "agent", "message": "x" * 200, "time_in_call_secs": 1, "tool_calls": [], "tool_results": [],
            "interrupted": False, "source_medium": None}
    data = {
        "agent_id": "agent_bench", "agent_name": None, "conversation_id": "conv_bench%08d" % i, "status": "done",
        "user_id": None, "branch_id": None, "version_id": None, "environment": None, "transcript": [],
        "metadata": {"start_time_unix_secs": 1796000000, "call_duration_secs": 30, "termination_reason": "",
                     "batch_call": {"batch_call_id": "btcal_bench", "batch_call_recipient_id": "r%d" % i}},
        "analysis": {"call_successful": "success", "transcript_summary": "ok"},
        "has_audio": False, "has_user_audio": False, "has_response_audio": False, "has_auxiliary_audio": False,
    }
    while len(json.dumps(data)) < size:
        data["transcript"].append(turn)
    env = {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": data}
    return json.dumps(env, separators=(",", ":")).encode()


def sign(body, t):
    return "t=%d,v0=%s" % (t, hmac.new(SECRET.encode(), b"%d." % t + body, hashlib.sha256).hexdigest())


def write_jobs(d, instants):
    with open(os.path.join(d.jobs, "late.conf"), "w") as fh:
        fh.write("jobs = (\n")
        fh.write(",\n".join('{ name = "late-%06d"; agent_id = "agent_bench"; scheduled_time_unix = %d; '
                            'recipients = ( { phone_number = "+15550100011"; } ); }' % (i, t)
                            for i, t in enumerate(instants)))
        fh.write("\n);\n")


def lateness(rate):
    from harness import wait_until
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tempfile.mkdtemp(prefix="bc-bench-hooks-")
    n_events = int(rate * 14)
    bodies = [body_of(i) for i in range(n_events)]
    cpus = sorted(os.sched_getaffinity(0))
    pin = len(cpus) >= 2
    if pin:
        os.sched_setaffinity(0, {cpus[0]})  # inherited by the daemon and the simulator
    with Env(work, extra_conf='webhook_listen = "127.0.0.1:%d";' % port, rate=1e6, request_timeout=30) as env:
        with open(env.d.conf) as f:
            text = f.read().replace("max_concurrent_requests = 16;", "max_concurrent_requests = 128;")
        with open(env.d.conf, "w") as f:
            f.write(text)
        start = int(time.time()) + 8
        instants = [start + (i * 10) // 1000 for i in range(1000)]
        write_jobs(env.d, instants)
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started(30)
        if pin:
            os.sched_setaffinity(0, set(cpus[1:]))  # this thread and the senders it starts
        lock, nxt, t0 = threading.Lock(), [0], time.monotonic() + max(0.0, start - 2 - time.time())
        ok, ends = [0], [t0]

        def worker():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n_events:
                    break
                wait = t0 + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                b = bodies[i]
                c.request("POST", "/hook", body=b, headers={"ElevenLabs-Signature": sign(b, int(time.time()))})
                r = c.getresponse()
                r.read()
                with lock:
                    ok[0] += r.status == 200
                    ends[0] = max(ends[0], time.monotonic())
            c.close()
        ts = [threading.Thread(target=worker) for _ in range(32 if rate else 0)]
        for t in ts:
            t.start()
        subs = wait_until(lambda: (lambda r: r if len(r) >= 1000 else None)(env.sim.requests("submit")), 90,
                          "1000 submits")
        for t in ts:
            t.join()
        by_name = {json.loads(r["body"])["call_name"].split(" ")[0]: r["time_us"] for r in subs}
        late = sorted((by_name["late-%06d" % i] - instants[i] * 1000000) / 1000.0 for i in range(1000))
        env.d.stop()
    print("lateness with %d webhook events/s%s: p50 %.1f ms, p99 %.1f ms, max %.1f ms, early %d" % (
        rate, " (daemon and simulator on CPU %d, senders on %s)" % (cpus[0], cpus[1:]) if pin else "",
        late[500], late[990], late[-1], sum(1 for x in late if x < 0)))
    if rate:
        print("events: %d of %d answered 200, %.0f events/s reached" % (ok[0], n_events, n_events / (ends[0] - t0)))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "lateness":
        lateness(float(sys.argv[2]) if len(sys.argv) > 2 else 500)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = tempfile.mkdtemp(prefix="bc-bench-hooks-")
    bodies = [body_of(i) for i in range(n)]
    with Env(work, extra_conf='webhook_listen = "127.0.0.1:%d";' % port) as env:
        env.d.start(env={"ELEVENLABS_WEBHOOK_SECRET": SECRET})
        env.d.wait_started()
        lat, bad, lock, nxt = [], [], threading.Lock(), [0]
        t0 = time.monotonic()

        def worker():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n:
                    break
                if rate:
                    wait = t0 + i / rate - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                b = bodies[i]
                a = time.monotonic()
                c.request("POST", "/hook", body=b, headers={"ElevenLabs-Signature": sign(b, int(time.time())),
                                                            "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                with lock:
                    lat.append(time.monotonic() - a)
                    if r.status != 200:
                        bad.append(r.status)
            c.close()
        ts = [threading.Thread(target=worker) for _ in range(conc)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        took = time.monotonic() - t0
        stored = len(os.listdir(os.path.join(work, "state", "events")))
        env.d.stop()
    lat.sort()
    print("%d events of %d bytes, %d clients: %.1f s, %.0f events/s; answers p50 %.1f ms, p99 %.1f ms, "
          "max %.1f ms; not 200: %d; stored: %d" % (
              n, len(bodies[0]), conc, took, n / took, 1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * .99)],
              1000 * lat[-1], len(bad), stored))


if __name__ == "__main__":
    main()
