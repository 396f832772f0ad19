#!/usr/bin/env python3
"""Benchmark of the post-call webhook receiver (issue 14): signed
post_call_transcription events of about 20 KiB each, posted by
CONCURRENCY clients as fast as the daemon answers (or at RATE events per
second), each answered 200 only once it is on stable storage (group
commit). Prints the sustained rate and the answer latencies.

    TOP_BUILDDIR=$PWD/build python3 bench/bench-webhooks.py [EVENTS] [CONCURRENCY] [RATE]
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


def main():
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
