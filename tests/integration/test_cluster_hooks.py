#!/usr/bin/env python3
"""Post-call webhooks in cluster mode (README "Running more than one
node"): every node receives them, verifies them and keeps them in etcd
(PREFIX "events/TYPE-CONVERSATION.json", the body as received); the leader
joins them into its results rows.

test_standby_receives_and_failover: one etcd member, the simulator, two
nodes each with its own webhook_listen; the simulator delivers every
webhook to the STANDBY.
 (a) the events are in etcd and the leader's results rows are filled from
     them (nothing fetched: GET of a conversation never sent);
 (b) after kill -9 of the leader, the new leader (the old standby: its
     receiver now the leader's, on the same socket) writes the results
     files with the events received before, still without fetching a
     conversation; an event its own receiver takes goes to etcd too; an
     exact redelivery with a stale timestamp is answered 200 from etcd;
 (c) with etcd down, a webhook gets 503 (the sender retries), on a standby
     and on the leader.

Every process is killed at the end, also on a failure. Skipped (77)
without /usr/bin/etcd."""
import atexit
import base64
import csv
import hashlib
import hmac
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DAEMON, SCALE, WRAP, Daemon, EtcdMember, Sim, Skip, run  # noqa: E402

ETCD = os.environ.get("BC_ETCD", "/usr/bin/etcd")
TTL = 3
PREFIX = "/bch/"
SECRET = "wsec_cluster_hooks"
XS = float(os.environ.get("BC_SCALE", "1")) * SCALE
# answered; no answer (failed: a call_initiation_failure); voicemail
RECIPIENTS = (("cust-1", "+14155550101"), ("cust-2", "+14155550166"), ("cust-3", "+14155550107"))

_PROCS = []


def _reap(p):
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            p.kill()
        except ProcessLookupError:
            pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        pass


def _reap_all():
    for p in list(_PROCS):
        _reap(p)


atexit.register(_reap_all)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))


def free_ports(n):
    return harness.free_ports(n)


def wait_for(pred, timeout, what, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


def post_json(url, body, timeout=1.0):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


class Etcd(EtcdMember):
    """One etcd member on loopback."""

    def start(self):
        super().start(_PROCS.append)
        wait_for(self.up, 30 * XS, "etcd to be up", step=0.1)

    def healthy(self):
        return self.up()

    def kill(self):
        self.stop()

    def range_prefix(self, prefix):
        """{key: (value bytes, mod_revision)} of every key under prefix."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        r = post_json(self.endpoint + "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)}, 3)
        return {base64.b64decode(kv["key"]).decode(): (base64.b64decode(kv.get("value", "")),
                                                       int(kv.get("mod_revision", "0")))
                for kv in r.get("kvs", [])}


class Node(Daemon):
    def __init__(self, work, name, sim, endpoint, hook_port):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        extra = ('results_dir = "results";\nwebhook_listen = "127.0.0.1:%d";\n'
                 'cluster = { etcd_endpoints = [ "%s" ]; node_name = "%s"; lease_ttl = %d; key_prefix = "%s"; };\n'
                 % (hook_port, endpoint, name, TTL, PREFIX))
        super().__init__(d, sim, poll_interval=1, request_timeout=2, extra_conf=extra)
        self.name = name
        self.port = hook_port
        self.results = os.path.join(d, "results")

    def start(self, env=None, args=(), preexec=None):
        self.starts += 1
        self.log_fh = open(self.logfile, "ab")
        self.log_fh.write(b"---- start %d\n" % self.starts)
        self.log_fh.flush()
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        e["ELEVENLABS_WEBHOOK_SECRET"] = SECRET
        self.proc = subprocess.Popen(WRAP + [DAEMON, "-c", self.conf, "--log-target=console", "--verbose"],
                                     stdout=self.log_fh, stderr=self.log_fh, env=e, start_new_session=True)
        _PROCS.append(self.proc)
        return self.proc

    def life_log(self):
        return self.log().split("---- start %d\n" % self.starts)[-1]

    def leading(self):
        return self.proc.poll() is None and "is the leader" in self.life_log()

    def role(self):
        try:
            st, body = self.control("GET", "/v1/cluster", timeout=2)
            return body.get("role") if st == 200 else None
        except (OSError, ValueError):
            return None

    def kill9(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def job_text(at):
    rc = ", ".join('{ id = "%s"; phone_number = "%s"; }' % (i, p) for i, p in RECIPIENTS)
    return """jobs = ( {
  name = "hooked";
  agent_id = "agent_results";
  phone_number_id = "phnum_results";
  scheduled_time_unix = %d;
  call_name = "Hooked run";
  retry = { max_retries = 0; };
  recipients = ( %s );
} );
""" % (at, rc)


def sign(body, t, secret=SECRET):
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v0=%s" % (t, mac)


def post(port, body, sig):
    req = urllib.request.Request("http://127.0.0.1:%d/hook" % port, data=body, method="POST")
    req.add_header("ElevenLabs-Signature", sig)
    try:
        with urllib.request.urlopen(req, timeout=10 * XS) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def rows(results, at):
    """The rows of the CSV results file of the occurrence (dicts), or []."""
    d = os.path.join(results, "hooked")
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(at))
    if not os.path.isdir(d):
        return []
    names = sorted(n for n in os.listdir(d) if n.startswith(stamp) and n.endswith(".csv"))
    if not names:
        return []
    with open(os.path.join(d, names[0]), "rb") as f:
        r = list(csv.reader(io.StringIO(f.read().decode("utf-8"), newline="")))
    return [dict(zip(r[0], x)) for x in r[1:]]


def final_rows(results, at):
    """The rows once every event is joined: the answered and the voicemail
    conversations done (their analysis), the unanswered one's failure
    reason."""
    b = {x["recipient_id"]: x for x in rows(results, at)}
    ok = len(b) == 3 and b["cust-2"]["failure_reason"] and all(
        b[i]["conversation_status"] == "done" and b[i]["call_successful"] for i in ("cust-1", "cust-3"))
    return b if ok else None


def test_standby_receives_and_failover(work):
    if not os.access(ETCD, os.X_OK):
        raise Skip("%s is missing (Debian package etcd-server)" % ETCD)
    p1, p2 = free_ports(2)
    etcd = Etcd(work)
    sim = None
    nodes = []
    try:
        etcd.start()
        # every webhook goes to n2, the standby
        sim = Sim(work, speed=50, extra=("--webhook-url", "http://127.0.0.1:%d/hook" % p2, "--webhook-secret", SECRET))
        _PROCS.append(sim.proc)
        n1 = Node(work, "n1", sim, etcd.endpoint, p1)
        n2 = Node(work, "n2", sim, etcd.endpoint, p2)
        nodes = [n1, n2]
        at = int(time.time() + 6 * XS)
        for n in nodes:
            with open(os.path.join(n.jobs, "hooked.conf"), "w") as f:
                f.write(job_text(at))
        n1.start()
        wait_for(n1.leading, 20 * XS, "n1 to lead")
        n2.start()
        wait_for(lambda: n2.role() == "standby", 15 * XS, "n2 to be a standby")
        assert "post-call webhooks received on 127.0.0.1:%d" % p2 in n2.log()

        # (a) the standby stores, the leader's rows join them
        b = wait_for(lambda: final_rows(n1.results, at), 90 * XS, "the leader's rows from the standby's events")
        assert sim.requests("conversation") == [], "a conversation was fetched: %s" % sim.requests("conversation")
        deliveries = sim.call("GET", "/_sim/webhooks", key=False)[1]["deliveries"]
        assert deliveries and all(d["status"] == 200 for d in deliveries), deliveries
        events = etcd.range_prefix(PREFIX + "events/")
        want = {PREFIX + "events/post_call_transcription-%s.json" % b["cust-1"]["conversation_id"],
                PREFIX + "events/call_initiation_failure-%s.json" % b["cust-2"]["conversation_id"],
                PREFIX + "events/post_call_transcription-%s.json" % b["cust-3"]["conversation_id"]}
        assert set(events) == want, sorted(events)
        for v, _ in events.values():
            json.loads(v)
        # nothing in the state folders
        for n in nodes:
            assert not os.path.isdir(os.path.join(n.state, "events")) or not os.listdir(
                os.path.join(n.state, "events")), n.name
        assert "cannot keep a webhook event" not in n1.log() + n2.log()

        # (b) kill -9 of the leader: the new one has the events
        t_kill = time.time()
        n1.kill9()
        wait_for(n2.leading, (3 * TTL + 10) * XS, "n2 to lead after the kill of n1")
        print("n2 leads %.1fs after the kill of n1" % (time.time() - t_kill), flush=True)
        b2 = wait_for(lambda: final_rows(n2.results, at), 60 * XS, "the new leader's rows with the events kept")
        for rid in ("cust-1", "cust-2", "cust-3"):
            for col in ("conversation_id", "conversation_status", "call_successful", "failure_reason",
                        "transcript_summary"):
                assert b2[rid][col] == b[rid][col], (rid, col, b2[rid][col], b[rid][col])
        assert sim.requests("conversation") == [], "the new leader fetched a conversation: %s" % (
            sim.requests("conversation"),)
        assert "post-call events read from etcd" in n2.life_log(), n2.life_log()[-3000:]
        # the new leader's own receiver (the standby's, switched) stores in etcd
        now = int(time.time())
        fresh = json.dumps({"type": "call_initiation_failure", "event_timestamp": now, "data": {
            "agent_id": "agent_results", "conversation_id": "conv_leader_own", "failure_reason": "busy",
            "metadata": {"type": "sip", "body": {}}}}).encode()
        assert post(p2, fresh, sign(fresh, now)) == 200
        got = etcd.range_prefix(PREFIX + "events/call_initiation_failure-conv_leader_own.json")
        assert list(got.values())[0][0] == fresh, got
        # an exact redelivery of a stored event with a stale timestamp: 200
        # (read from etcd); another body with a stale timestamp: 401
        kept = events[PREFIX + "events/post_call_transcription-%s.json" % b["cust-1"]["conversation_id"]][0]
        assert post(p2, kept, sign(kept, now - 7200)) == 200
        assert post(p2, fresh.replace(b"busy", b"unknown"), sign(fresh.replace(b"busy", b"unknown"), now - 7200)) == 401
        # a version that does not supersede the stored one changes nothing
        again = json.dumps({"type": "call_initiation_failure", "event_timestamp": now + 1, "data": {
            "agent_id": "agent_results", "conversation_id": "conv_leader_own", "failure_reason": "unknown",
            "metadata": {"type": "sip", "body": {}}}}).encode()
        assert post(p2, again, sign(again, now)) == 200
        got2 = etcd.range_prefix(PREFIX + "events/call_initiation_failure-conv_leader_own.json")
        assert got2 == got, (got2, got)

        # n1 back as a standby; its receiver stores too
        n1.start()
        wait_for(lambda: n1.role() == "standby", 15 * XS, "n1 to be a standby")
        fresh1 = fresh.replace(b"conv_leader_own", b"conv_standby_n1")
        assert post(p1, fresh1, sign(fresh1, now)) == 200
        assert etcd.range_prefix(PREFIX + "events/call_initiation_failure-conv_standby_n1.json")

        # (c) etcd down: 503, the sender retries
        etcd.kill()
        fresh3 = fresh.replace(b"conv_leader_own", b"conv_while_down")
        st_leader = post(p2, fresh3, sign(fresh3, now))
        st_standby = post(p1, fresh3, sign(fresh3, now))
        assert st_leader == 503, st_leader
        assert st_standby == 503, st_standby
        assert "cannot keep a webhook event in etcd" in n1.life_log(), n1.life_log()[-3000:]
        etcd.start()
        assert post(p1, fresh3, sign(fresh3, int(time.time()))) == 200
        assert etcd.range_prefix(PREFIX + "events/call_initiation_failure-conv_while_down.json")
        print("ok: standby stores, leader joins, failover keeps, etcd down 503", flush=True)
    except BaseException:
        for n in nodes:
            print("---- %s/daemon.log (tail)\n%s" % (n.name, n.log()[-6000:]))
        raise
    finally:
        for n in nodes:
            if n.proc:
                _reap(n.proc)
        etcd.kill()
        if sim:
            sim.stop()


if __name__ == "__main__":
    run([test_standby_receives_and_failover])
