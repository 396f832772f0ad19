#!/usr/bin/env python3
"""Fault scenarios: every kind of API failure, the wrong key, an unwritable
state folder. Each asserts on the simulator's request log that exactly one
batch exists for the run, whatever happened on the wire."""
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Skip, run, unix_job, wait_until  # noqa: E402


def one_batch(env, job, states=("pending", "in_progress", "completed", "retry_wait"), timeout=30):
    st = env.d.wait_state(job, states, timeout)
    created = [b for b in env.sim.batches() if b["name"].startswith(job + " ")]
    assert len(created) == 1, "%d batches for %s: %s" % (len(created), job, [b["id"] for b in created])
    assert st["batch_id"] == created[0]["id"], (st, created)
    return st


def fault_scenario(work, fault, expect_adopted, lookup_first=True):
    with Env(work, request_timeout=2) as env:
        env.sim.fault(endpoint="submit", **fault)
        # Added by a reload once the daemon runs: a run already due at a
        # start is looked up first (its batch may exist), and a start can
        # take seconds (valgrind); these scenarios begin with a submit.
        env.d.start()
        env.d.wait_started(60)
        env.d.write_job("faulty", unix_job(int(time.time()) + 1))
        env.d.signal(signal.SIGHUP)
        st = one_batch(env, "faulty")
        subs = env.sim.requests("submit")
        assert subs[0]["fault"] == fault["kind"], subs
        if expect_adopted:
            assert len(subs) == 1, subs  # found by the lookup, never sent again
            env.d.wait_log(r"job 'faulty': adopted batch %s" % st["batch_id"])
        else:
            assert len(subs) == 2, subs
            assert subs[1]["status"] == 200
        # Every resubmission came after a lookup through the list endpoint.
        lists = env.sim.requests("list")
        if lookup_first:
            assert lists and lists[0]["seq"] > subs[0]["seq"], (lists, subs)
        if len(subs) == 2:
            between = any(subs[0]["seq"] < l["seq"] < subs[1]["seq"] for l in lists)
            assert between == lookup_first, (lists, subs)
        env.d.stop()
        return env, subs


def test_status_503_with_retry_after(work):
    env, subs = fault_scenario(work, {"kind": "status", "status": 503, "retry_after": "2"}, False)
    gap = (subs[1]["time_us"] - subs[0]["time_us"]) / 1e6
    assert gap >= 2.0, "Retry-After not honoured: %.3fs" % gap


def test_status_429_http_date(work):
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    # 429 says the request was not taken: sent again without a lookup.
    env, subs = fault_scenario(work, {"kind": "status", "status": 429, "retry_after": date}, False, False)
    gap = (subs[1]["time_us"] - subs[0]["time_us"]) / 1e6
    assert gap >= 1.0, "Retry-After date not honoured: %.3fs" % gap


def test_api_clock_behind(work):
    """The API's clock ten minutes behind ours: the batch of an uncertain
    submit was created "before" the run's intent by the API's clock. The
    lookup's margin (5 minutes) grows by the lag measured from the API's
    answers, so the batch is found and adopted, not submitted again; a
    warning says how far the clocks are apart, and the metric shows it."""
    with Env(work, sim_kw={"extra": ["--clock-offset", "-600"]}, request_timeout=2) as env:
        env.sim.fault(endpoint="submit", kind="apply_then_drop")
        env.d.start()
        env.d.wait_started(60)
        env.d.write_job("skewed", unix_job(int(time.time()) + 1))
        env.d.signal(signal.SIGHUP)
        st = one_batch(env, "skewed")
        subs = env.sim.requests("submit")
        assert len(subs) == 1, subs
        env.d.wait_log(r"job 'skewed': adopted batch %s" % st["batch_id"])
        created = [b for b in env.sim.batches() if b["name"].startswith("skewed ")][0]["created_at_unix"]
        assert created < subs[0]["time_us"] / 1e6 - 590, (created, subs[0]["time_us"])
        line = env.d.wait_log(r"the API's clock is (\d+\.\d) s behind this host's \(from its answers, "
                              r"\+-\d+\.\d s\): check this host's time synchronisation; lookups of uncertain "
                              r"submits now reach (\d+) s further back")
        assert 598 <= float(line.group(1)) <= 602 and 600 <= int(line.group(2)) <= 603, line.group(0)
        assert env.d.log().count("the API's clock is") == 1, "warned once"
        import test_control
        m, _ = test_control.metrics(env)
        assert -602 <= m["batchcalld_api_clock_offset_seconds"] <= -598, m
        assert 900 <= m["batchcalld_lookup_margin_seconds"] <= 903, m
        env.d.stop()


class DateProxy:
    """A reverse proxy that writes its own Date header (nginx does by
    default) and answers 502 when the upstream drops the connection: an
    edge whose clock is right in front of an API whose clock is not."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "date", "server", "content-length"}

    def __init__(self, upstream):
        import http.client
        import http.server
        import socketserver
        import threading
        import urllib.parse
        u = urllib.parse.urlparse(upstream)
        hop = self.HOP

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                try:
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                    c.request(self.command, self.path, body=body, headers=hdrs)
                    r = c.getresponse()
                    data, st, rh = r.read(), r.status, r.getheaders()
                    c.close()
                except (OSError, http.client.HTTPException):
                    data, st, rh = b"<html><body>502 Bad Gateway</body></html>", 502, [("Content-Type", "text/html")]
                self.send_response(st)  # with a Date of this host's clock
                for k, v in rh:
                    if k.lower() not in hop:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            do_GET = do_POST = do_DELETE = relay

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_api_clock_behind_date_from_proxy(work):
    """The same, with a proxy in front that writes its own (right) Date:
    the lag cannot be measured before the first submit is answered, so the
    margin stays 300 s; the batch found with this run's call_name, agent
    and recipient count is still this run's, whatever the API dated its
    creation, and is adopted with a warning saying how much earlier."""
    with Env(work, sim_kw={"extra": ["--clock-offset", "-600"]}, request_timeout=2) as env:
        px = DateProxy(env.sim.url)
        try:
            with open(env.d.conf) as f:
                conf = f.read()
            with open(env.d.conf, "w") as f:
                f.write(conf.replace(env.sim.url, px.url))
            env.sim.fault(endpoint="submit", kind="apply_then_drop")
            env.d.start()
            env.d.wait_started(60)
            env.d.write_job("skewed", unix_job(int(time.time()) + 1))
            env.d.signal(signal.SIGHUP)
            st = one_batch(env, "skewed")
            env.d.wait_log(r"job 'skewed': adopted batch %s" % st["batch_id"])
            line = env.d.wait_log(r"job 'skewed': batch %s carries this run's call_name, agent and recipient "
                                  r"count but the API dated it (\d+) s before the run's first intent: taken as "
                                  r"this run's" % st["batch_id"])
            assert 590 <= int(line.group(1)) <= 610, line.group(0)
            assert len(env.sim.requests("submit")) == 1
            env.d.stop()
        finally:
            px.close()


def test_delay_past_timeout(work):
    # The submit takes effect after 3.5 s; the client gave up at 2 s. The
    # lookup must keep looking through the grace period and adopt it.
    fault_scenario(work, {"kind": "delay", "delay_ms": 3500}, True)


def test_drop_not_applied(work):
    fault_scenario(work, {"kind": "drop"}, False)


def test_apply_then_drop(work):
    fault_scenario(work, {"kind": "apply_then_drop"}, True)


def test_apply_then_500(work):
    fault_scenario(work, {"kind": "apply_then_500"}, True)


def test_malformed_body(work):
    fault_scenario(work, {"kind": "malformed"}, True)


def test_truncated_body(work):
    fault_scenario(work, {"kind": "truncated"}, True)


def test_poll_faults_do_not_stop_progress(work):
    with Env(work) as env:
        env.sim.fault(endpoint="list", kind="status", status=500, count=3)
        env.sim.fault(endpoint="get", kind="malformed", count=2)
        env.d.write_job("pollf", unix_job(int(time.time()), ("+15550100011",)))
        env.d.start()
        st = env.d.wait_state("pollf", "completed", 40)
        assert st["counts"]["completed"] == 1
        assert len(env.sim.requests("submit")) == 1
        env.d.stop()


def test_wrong_key(work):
    with Env(work, api_key="not-the-key") as env:
        env.d.write_job("nokey", unix_job(int(time.time()) + 2))  # not due at the start: no lookup first
        env.d.start()
        env.d.wait_log(r"the API refused the key \(HTTP 401")
        wait_until(lambda: len(env.sim.requests("submit")) >= 2, 20, "a second attempt after the pause")
        assert all(r["status"] == 401 for r in env.sim.requests("submit"))
        log = env.d.log()
        assert log.count("the API refused the key") == 1, log
        assert "not-the-key" not in log
        # Refused, never failed or left uncertain (it may be caught in the
        # middle of its next attempt: 'submitting' with a fresh intent).
        st = env.d.run_state("nokey")
        assert st is None or (st["state"] in ("scheduled", "submitting") and not st["uncertain"]
                              and st["batch_id"] is None), st
        assert env.sim.batches() == []
        assert env.d.proc.poll() is None
        env.d.stop()
        for root, _, files in os.walk(env.d.state):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    assert b"not-the-key" not in fh.read()


def test_missing_key_is_a_startup_error(work):
    with Env(work) as env:
        os.unlink(os.path.join(work, "api-key"))
        env.d.write_job("x", unix_job(int(time.time()) + 60))
        p = env.d.start(env={"ELEVENLABS_API_KEY": "", "CREDENTIALS_DIRECTORY": ""})
        assert p.wait(10) == 1
        assert "cannot read the API key from" in env.d.log()


@contextlib.contextmanager
def small_state_disk(env):
    """The daemon's state folder on a 2 MiB tmpfs of its own (root and
    mount, else Skip); at the end the daemon is killed if still running and
    the tmpfs unmounted."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        raise Skip("needs root and mount (a small tmpfs for the state folder)")
    os.makedirs(env.d.state)
    subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0750", "tmpfs", env.d.state])
    try:
        yield
    finally:
        if env.d.proc and env.d.proc.poll() is None:
            env.d.proc.kill()
            env.d.proc.wait()
        subprocess.call(["umount", "-l", env.d.state])


def fill_state_disk(env):
    """Fill the state folder's disk to ENOSPC (what a file there may still
    take: a file's last page is its own); the filler's path."""
    filler = os.path.join(env.d.state, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    for chunk in (65536, 4096, 1):
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass  # ENOSPC: the disk is full
    os.close(fd)
    return filler


def test_unwritable_state_folder(work):
    # The state folder's disk fills up while a run comes due: the journal
    # the daemon appends to (open since its start, so permissions taken
    # away later would not stop it) gets ENOSPC. The run's intent cannot
    # be made durable, so nothing is submitted; once space is back the
    # daemon says so and submits once.
    with Env(work) as env, small_state_disk(env):
        at = int(time.time()) + 3
        env.d.write_job("nostate", unix_job(at))
        env.d.start()
        env.d.wait_started()
        filler = fill_state_disk(env)
        env.d.wait_log(r"cannot write the state of job 'nostate'", 15)
        time.sleep(0)  # the instant has passed: nothing may have been submitted
        assert env.sim.requests("submit") == [], env.sim.requests("submit")
        assert env.d.proc.poll() is None
        os.unlink(filler)
        env.d.wait_log(r"is writable again", 30)
        subs = wait_until(lambda: env.sim.requests("submit"), 30, "the submit once writable")
        assert len(subs) == 1
        one_batch(env, "nostate")
        env.d.stop()


def test_cancel_written_while_submit_out(work):
    """The operator cancels runs while their submits are out (the answers
    held 6 s), and the writes of those cancels fail (the state folder's
    disk is full; three runs, so that not every record fits in what is
    left of the journal's last page). The submits stand: their answers are
    taken, and their batches are cancelled once the disk has room.
    (Before, a failed write stepped the run back as if its submit had not
    gone out: the answer was dropped, the run "cancelled before it was
    submitted", and its batch dialled on, followed by nobody.)"""
    jobs = ("held1", "held2", "held3")
    with Env(work, request_timeout=15, sim_kw={"speed": 0.05}) as env, small_state_disk(env):
        env.sim.fault(endpoint="submit", kind="delay", delay_ms=6000, count=-1)
        at = int(time.time()) + 3
        for j in jobs:
            env.d.write_job(j, unix_job(at), file=j)
        env.d.start()
        env.d.wait_started()
        time.sleep(max(0, at + 1 - time.time()))
        assert env.sim.batches() == [], "premise: the submits' answers are still held"
        filler = fill_state_disk(env)
        for j in jobs:
            st, body = env.d.control("POST", "/v1/jobs/%s/cancel" % j)
            assert st in (200, 202), (st, body)
        env.d.wait_log(r"cannot write the state of job 'held", 10)
        assert env.sim.batches() == [], "premise: a cancel's write failed while the submits were out"
        os.unlink(filler)
        for j in jobs:
            st = env.d.wait_state(j, ("cancelled",), 40)
            b = [x for x in env.sim.batches() if x["name"].startswith(j + " ")]
            assert len(b) == 1 and st["batch_id"] == b[0]["id"], (st, b)
            wait_until(lambda: env.sim.batch(b[0]["id"])["status"] == "cancelled", 20, "%s's batch cancelled" % j)
        assert len(env.sim.requests("submit")) == 3, env.sim.requests("submit")
        env.d.stop()


def test_lookup_survives_bad_pages(work):
    # The submit takes effect but its answer is lost, and the first list
    # pages of the lookup fail: the page is asked for again, not the whole
    # lookup pushed into a long backoff.
    with Env(work, request_timeout=2) as env:
        env.sim.fault(endpoint="submit", kind="apply_then_500")
        env.sim.fault(endpoint="list", kind="status", status=502, count=2)
        env.d.write_job("pages", unix_job(int(time.time()) + 2))  # due after the start: a submit first
        env.d.start()
        t0 = time.time()
        st = one_batch(env, "pages", timeout=20)
        assert time.time() - t0 < 10, "adopted only after %.1fs" % (time.time() - t0)
        assert len(env.sim.requests("submit")) == 1
        env.d.wait_log(r"job 'pages': adopted batch %s" % st["batch_id"])
        env.d.stop()


LB_503 = ("<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
          "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n")


def proxy_answer_scenario(work, status, body):
    """A submit answered by something in front of the API (a load
    balancer's HTML 503, a CDN's 520): the request may still be on its way
    to the API, so a lookup that finds nothing is conclusive only after the
    grace period, 2 x request_timeout + 2 s. Then it is sent again, once."""
    timeout = 2
    grace = 2 * timeout + 2
    with Env(work, request_timeout=timeout) as env:
        env.sim.fault(endpoint="submit", kind="status", status=status, body=body)
        env.d.write_job("proxied", unix_job(int(time.time()) + 2))  # due after the start: a submit first
        env.d.start()
        st = one_batch(env, "proxied", timeout=40)
        subs = env.sim.requests("submit")
        assert len(subs) == 2, subs
        assert (subs[0]["fault"], subs[0]["status"]) == ("status", status), subs[0]
        assert subs[1]["status"] == 200 and subs[1]["batch_id"] == st["batch_id"], subs[1]
        gap = (subs[1]["time_us"] - subs[0]["time_us"]) / 1e6
        assert gap >= grace, "sent again %.3fs after a proxy's %d (grace %ds)" % (gap, status, grace)
        # it looked, found nothing, and waited: the lookups came between
        lists = env.sim.requests("list")
        assert any(subs[0]["seq"] < l["seq"] < subs[1]["seq"] for l in lists), (lists, subs)
        env.d.wait_log(r"job 'proxied': submit failed \(HTTP %d: .*\) and may have taken effect" % status)
        assert len(env.sim.batches()) == 1
        env.d.stop()


def test_load_balancer_503_waits_grace(work):
    proxy_answer_scenario(work, 503, LB_503)


def test_cdn_520_waits_grace(work):
    proxy_answer_scenario(work, 520, "error code: 520")


def test_retry_after_year_9999_on_list(work):
    """The poll's list answered 503 with Retry-After in year 9999: the daemon
    waits an hour (RETRY_AFTER_MAX_S), not eight thousand years, then polls
    the run to its end. The hour passes in about 36 s: the daemon and the
    simulator run on clocks 100 times faster than real (libfaketime), so
    every figure below is in their seconds."""
    import harness
    rate = 100
    if not shutil.which("faketime"):
        raise Skip("faketime (Debian package faketime) is not installed")
    if harness.WRAP:
        raise Skip("runs its own wrapper (faketime), not BC_WRAP")
    with open(harness.DAEMON, "rb") as f:
        if b"__asan_init" in f.read() and "verify_asan_link_order=0" not in os.environ.get("ASAN_OPTIONS", ""):
            raise Skip("the sanitizer build needs ASAN_OPTIONS=verify_asan_link_order=0 under libfaketime")
    lib = [p for p in glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1")]
    if not lib:
        raise Skip("libfaketime.so.1 not found")
    # env(1) execs the program itself (the faketime(1) wrapper forks, and
    # a signal to it would not reach the daemon, which would be left over).
    harness.WRAP = ["env", "LD_PRELOAD=" + lib[0], "FAKETIME=+0 x%d" % rate, "FAKETIME_DONT_RESET=1"]
    try:
        # request_timeout, poll_interval: 6 s and 0.6 s of real time
        with Env(work, sim_kw={"extra": ("--io-timeout", "100000000")}, request_timeout=600,
                 poll_interval=60) as env:
            env.sim.fault(endpoint="list", kind="status", status=503,
                          retry_after="Fri, 31 Dec 9999 23:59:59 GMT")
            # Due after the start (a run due at the start would meet the
            # fault in its lookup, not in a poll): the daemon's clock runs
            # 100 times faster from its exec, so 600 of its seconds leave
            # its start 6 real seconds, however loaded the machine.
            env.d.write_job("parked", unix_job(int(time.time()) + 600, ("+15550100011",)))
            env.d.start()
            env.d.wait_started()
            st = env.d.wait_state("parked", "completed", 150)
            assert st["counts"]["completed"] == 1, st
            lists = env.sim.requests("list")
            hit = [i for i, l in enumerate(lists) if l["fault"] == "status"]
            assert len(hit) == 1 and hit[0] + 1 < len(lists), lists
            # the simulator's clock runs at the daemon's rate: its receive
            # times measure the daemon's wait
            wait = (lists[hit[0] + 1]["time_us"] - lists[hit[0]]["time_us"]) / 1e6
            print("the list was asked again %.0f s (simulated) after the 503" % wait)
            assert 3600 - 1 <= wait < 2 * 3600, "asked again %.0f s later, want an hour" % wait
            assert len(env.sim.requests("submit")) == 1
            env.d.stop()
    finally:
        harness.WRAP = []


if __name__ == "__main__":
    run([test_status_503_with_retry_after, test_status_429_http_date, test_api_clock_behind,
         test_api_clock_behind_date_from_proxy, test_delay_past_timeout,
         test_drop_not_applied, test_apply_then_drop, test_apply_then_500, test_malformed_body,
         test_truncated_body, test_poll_faults_do_not_stop_progress, test_wrong_key,
         test_missing_key_is_a_startup_error, test_unwritable_state_folder, test_cancel_written_while_submit_out,
         test_lookup_survives_bad_pages,
         test_load_balancer_503_waits_grace, test_cdn_520_waits_grace, test_retry_after_year_9999_on_list])
