#!/usr/bin/env python3
"""
Benchmarks of batchcalld's cluster mode (README "Running more than one
node") against batchcall-sim over loopback: one leader node plus one
standby on etcd 3.4 (/usr/bin/etcd, or BC_ETCD). Prints figures; asserts
nothing about speed (it does say when a run was missed or submitted twice).

cost: N jobs (default 1,000; 3 recipients each, short calls) due over 20 s
      on whole seconds, poll_interval 2, api.max_concurrent_requests 8,
      api.max_requests_per_second 100. The leader runs on a 3-member etcd
      (every fenced write is a quorum write). Prints the etcd requests and
      bytes per submitted run (the leader's /metrics after every batch
      finished and a settle, minus the value just before the jobs came
      due), the idle keepalive rate before that, and the submit lateness
      (p50/p99/max at the simulator's receive time) next to the same
      workload on one node without `cluster` (the state folder).
hold: 10,000 jobs (3 recipients each) due over 100 s on a 1-member etcd
      (max_requests_per_second 200, max_concurrent_requests 32, fast
      calls); then etcd's dbSize and dbSizeInUse, the keys under the prefix
      and the bytes per run, before and after `etcdctl compact REV
      --physical` + `etcdctl defrag`, and the headroom against etcd's
      default 2 GiB quota.

usage: TOP_BUILDDIR=build bench/bench-cluster.py [cost] [hold] [--jobs N]
(--jobs sets N of both; work folders under BC_BENCH_DIR, default
TOP_BUILDDIR/bench-work, kept for their logs: etcd preallocates its
logs, so a full run leaves about 1.4 GB there.) Every process (etcd, nodes,
simulator) is killed at the end, also on a failure.
"""
import atexit
import base64
import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
os.environ.setdefault("TOP_BUILDDIR", os.path.join(here, "..", "build"))
import harness  # noqa: E402
from harness import DAEMON, WRAP, Daemon, Sim, wait_until  # noqa: E402

ETCD = os.environ.get("BC_ETCD", "/usr/bin/etcd")
ETCDCTL = os.environ.get("BC_ETCDCTL", "/usr/bin/etcdctl")
BENCH_DIR = os.environ.get("BC_BENCH_DIR") or os.path.join(os.path.abspath(os.environ.get("TOP_BUILDDIR", "build")),
                                                           "bench-work")
PREFIX = "/bc/"
LEASE_TTL = 10
QUOTA = 2 * 1024 ** 3          # etcd's default --quota-backend-bytes
RECIPIENTS = ("+15550100011", "+15550100012", "+15550100013")   # last digits 1-3: completed at once
TERMINAL = ("completed", "failed", "missed", "error", "cancelled")

# --- processes: each registered, all killed at exit -----------------------------

_PROCS = []
_LOCK = threading.Lock()


def register(p):
    with _LOCK:
        _PROCS.append(p)
    return p


def reap(p, group=True):
    if p is None or p.poll() is not None:
        return
    try:
        if group:
            os.killpg(p.pid, signal.SIGKILL)
        else:
            p.kill()
    except (ProcessLookupError, PermissionError):
        try:
            p.kill()
        except ProcessLookupError:
            pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        pass


def reap_all():
    with _LOCK:
        procs = list(_PROCS)
    for p in procs:
        # only processes started in a session of their own are killed as a group
        reap(p, group=getattr(p, "_own_group", False))


atexit.register(reap_all)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))


def spawn(argv, out, env=None):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    p._own_group = True
    return register(p)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def post_json(url, body, timeout=5.0):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def say(msg):
    print("  [%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def prefix_end(p):
    return p[:-1] + chr(ord(p[-1]) + 1)


# --- etcd -----------------------------------------------------------------------


class Etcd:
    """n etcd 3.4 members on loopback, data under WORK/etcd/."""

    def __init__(self, work, n):
        ports = free_ports(2 * n)
        self.n = n
        self.client, self.peer = ports[:n], ports[n:]
        self.names = ["m%d" % (i + 1) for i in range(n)]
        self.base = os.path.join(work, "etcd")
        os.makedirs(self.base, exist_ok=True)
        self.procs = []
        self.logs = []
        initial = ",".join("%s=http://127.0.0.1:%d" % (nm, p) for nm, p in zip(self.names, self.peer))
        token = "bc-bench-%d" % os.getpid()
        for i in range(n):
            c = "http://127.0.0.1:%d" % self.client[i]
            p = "http://127.0.0.1:%d" % self.peer[i]
            argv = [ETCD, "--name", self.names[i], "--data-dir", os.path.join(self.base, self.names[i]),
                    "--listen-client-urls", c, "--advertise-client-urls", c,
                    "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", token,
                    "--experimental-enable-lease-checkpoint",
                    "--logger=zap", "--log-outputs=stderr"]
            lg = os.path.join(self.base, self.names[i] + ".log")
            self.logs.append(lg)
            with open(lg, "ab") as fh:
                self.procs.append(spawn(argv, fh))
        wait_until(lambda: all((self.status(i) or {}).get("leader") not in (None, "0") for i in range(n)),
                   60, "every etcd member up with a leader", scaled=False)

    @property
    def endpoints(self):
        return ["http://127.0.0.1:%d" % p for p in self.client]

    def status(self, i, timeout=2.0):
        try:
            return post_json(self.endpoints[i] + "/v3/maintenance/status", {}, timeout)
        except (OSError, ValueError):
            return None

    def call(self, path, body, timeout=60.0):
        return post_json(self.endpoints[0] + path, body, timeout)

    def count(self, prefix):
        r = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix)),
                                       "count_only": True})
        return int(r.get("count", 0))

    def values(self, prefix):
        """(count, total key+value bytes) of the keys under prefix."""
        r = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}, 300)
        kvs = r.get("kvs") or []
        return len(kvs), sum(len(base64.b64decode(kv["key"])) + len(base64.b64decode(kv.get("value", "")))
                             for kv in kvs)

    def ctl(self, *args, all_members=True):
        eps = ",".join(self.endpoints if all_members else self.endpoints[:1])
        cmd = [ETCDCTL, "--endpoints=" + eps, "--command-timeout=300s"] + list(args)
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, ETCDCTL_API="3"),
                           timeout=600)
        out = r.stdout.decode(errors="replace").strip()
        if r.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, out))
        return out, time.monotonic() - t0

    def stop(self):
        for p in self.procs:
            reap(p)

    def log_problems(self):
        out = []
        for lg in self.logs:
            with open(lg, errors="replace") as f:
                for line in f:
                    if '"level":"error"' in line or '"level":"panic"' in line or '"level":"fatal"' in line:
                        out.append("%s: %s" % (os.path.basename(lg), line.strip()[:300]))
        return out


# --- nodes ----------------------------------------------------------------------


class Node(Daemon):
    """A batchcalld with its own folder; started in a session of its own and
    registered so that it is killed at the end."""

    def __init__(self, work, name, sim, endpoints, poll_interval, conc, rate):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        extra = ""
        if endpoints:
            extra = ("cluster = { etcd_endpoints = [ %s ]; node_name = \"%s\"; lease_ttl = %d; key_prefix = \"%s\"; };\n"
                     % (", ".join('"%s"' % e for e in endpoints), name, LEASE_TTL, PREFIX))
        super().__init__(d, sim, poll_interval=poll_interval, request_timeout=30, rate=rate, extra_conf=extra)
        with open(self.conf) as f:
            text = f.read()
        assert "max_concurrent_requests = 16;" in text
        with open(self.conf, "w") as f:
            f.write(text.replace("max_concurrent_requests = 16;", "max_concurrent_requests = %d;" % conc))
        self.name = name

    def start(self, env=None, args=(), preexec=None):
        self.starts += 1
        self.log_fh = open(self.logfile, "ab")
        self.log_fh.write(b"---- start %d\n" % self.starts)
        self.log_fh.flush()
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        self.proc = spawn(WRAP + [DAEMON, "-c", self.conf, "--log-target=console", "--verbose"], self.log_fh, env=e)
        return self.proc

    def raw(self, method, path, timeout=120):
        sock_path = os.path.join(self.dir, "control.sock")

        class UnixConnection(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(sock_path)
        c = UnixConnection("localhost", timeout=timeout)
        try:
            c.request(method, path, body=b"" if method == "POST" else None)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def metrics(self):
        st, body = self.raw("GET", "/metrics")
        assert st == 200, st
        m = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    m[k] = float(v)
                except ValueError:
                    pass
        return m

    def cluster(self):
        try:
            st, body = self.raw("GET", "/v1/cluster", timeout=5)
            return json.loads(body) if st == 200 else None
        except (OSError, ValueError):
            return None

    def jobs_states(self):
        st, body = self.raw("GET", "/v1/jobs")
        assert st == 200, (st, body[:200])
        return {j["name"]: j.get("state") for j in json.loads(body)["jobs"]}

    def problems(self):
        """The log lines at warning level or worse, counted by their text
        with the numbers taken out."""
        import re
        c = collections.Counter()
        examples = {}
        for line in self.log().splitlines():
            # the console log's level prefixes (and anything that says error)
            if line.startswith(("warning:", "err:", "crit:", "alert:", "emerg:")) or "error" in line.lower() \
                    or "lost the leadership" in line:
                k = re.sub(r"btcal_[0-9a-z]+", "btcal_X", line)
                k = re.sub(r"'[a-z]+-\d+( [-0-9: ]+)?'", "'JOB'", k)
                k = re.sub(r"\d+", "N", k)[:160]
                c[k] += 1
                examples.setdefault(k, line[:300])
        return [(n, examples[k]) for k, n in c.most_common(12)]


def deposed(text):
    """(lines saying 'deposed leader's late submit: cancelled', those of
    them whose batch is the very one its run holds)."""
    import re
    rx = re.compile(r"batch (btcal_\w+) \([a-z_]+\) is a second batch of run '[^']*', which holds (btcal_\w+);")
    hits = rx.findall(text)
    return len(hits), sum(1 for a, b in hits if a == b)


def write_jobs(dirs, prefix, instants, per_file=1000):
    rc = ", ".join('{ phone_number = "%s"; }' % p for p in RECIPIENTS)
    for f in range(0, len(instants), per_file):
        text = "jobs = (\n" + ",\n".join(
            '{ name = "%s-%06d"; agent_id = "agent_bench"; timezone = "UTC"; scheduled_time_unix = %d; recipients = ( %s ); }'
            % (prefix, i, instants[i], rc) for i in range(f, min(f + per_file, len(instants)))) + "\n);\n"
        for d in dirs:
            with open(os.path.join(d, "%s-%05d.conf" % (prefix, f // per_file)), "w") as fh:
                fh.write(text)


class SimLog:
    """The simulator's request log, fetched incrementally (?since=SEQ)."""

    def __init__(self, sim):
        self.sim = sim
        self.seq = 0
        self.reqs = []

    def fetch(self):
        st, body = self.sim.call("GET", "/_sim/requests?since=%d" % self.seq, key=False)
        assert st == 200, st
        new = body["requests"]
        if new:
            self.seq = new[-1]["seq"]
            self.reqs += new
        return self.reqs

    def submits(self):
        """{job name: [(time_us, status)]} of every submit received."""
        out = collections.defaultdict(list)
        for r in self.reqs:
            if r["endpoint"] != "submit" or not r["body"]:
                continue
            try:
                name = json.loads(r["body"]).get("call_name", "").split(" ")[0]
            except ValueError:
                name = "?"
            out[name].append((r["time_us"], r["status"]))
        return out

    def accepted(self):
        return {k: [t for t, s in v if s == 200] for k, v in self.submits().items()}


def once_check(log, names):
    """Text saying how many jobs were submitted (accepted) exactly once, and
    which were not."""
    acc = log.accepted()
    allsub = log.submits()
    never = [n for n in names if not acc.get(n)]
    twice = [n for n in names if len(acc.get(n, [])) > 1]
    refused = sum(1 for v in allsub.values() for t, s in v if s != 200)
    strangers = [n for n in acc if n not in set(names)]
    txt = "%d/%d jobs submitted exactly once (accepted), %d never, %d more than once, %d submits not accepted" \
        % (sum(1 for n in names if len(acc.get(n, [])) == 1), len(names), len(never), len(twice), refused)
    if never:
        txt += "; never: %s" % never[:10]
    if twice:
        txt += "; twice: %s" % twice[:10]
    if strangers:
        txt += "; unknown call_names: %s" % strangers[:10]
    return txt, acc


def lateness(acc, names, instants):
    late = [(acc[n][0] - instants[i] * 1000000) / 1000.0 for i, n in enumerate(names) if acc.get(n)]
    return late


def wait_terminal(node, names, timeout, log=None, step=2.0):
    t_end = time.monotonic() + timeout
    while True:
        states = node.jobs_states()
        left = [n for n in names if states.get(n) not in TERMINAL]
        if not left:
            return collections.Counter(states.get(n) for n in names)
        if time.monotonic() > t_end:
            raise AssertionError("timed out: %d runs not finished, e.g. %s" % (len(left), [(n, states.get(n)) for n in left[:5]]))
        if log:
            log.fetch()
        time.sleep(step)


def wait_role(node, role, timeout):
    def ok():
        if node.proc.poll() is not None:
            raise AssertionError("%s exited %s: %s" % (node.name, node.proc.returncode, node.log()[-2000:]))
        return (node.cluster() or {}).get("role") == role
    return wait_until(ok, timeout, "%s %s" % (node.name, role), scaled=False)


def mk_work(tag):
    os.makedirs(BENCH_DIR, exist_ok=True)
    return tempfile.mkdtemp(prefix="bc-cluster-%s-" % tag, dir=BENCH_DIR)


def report_logs(nodes, etcd=None):
    for n in nodes:
        probs = n.problems()
        if probs:
            print("    %s log, lines at warning level or worse (count, first example):" % n.name)
            for c, ex in probs:
                print("      %5d  %s" % (c, ex))
        else:
            print("    %s log: no warning or error lines" % n.name)
    if etcd:
        ep = etcd.log_problems()
        print("    etcd logs: %d error-level lines%s" % (len(ep), "".join("\n      " + x for x in ep[:5])))


# --- cost -----------------------------------------------------------------------


def cost_workload(tag, n_jobs, endpoints, work, etcd=None, idle_lead=0):
    """One leader (plus one standby when endpoints) and the simulator: n_jobs
    due over 20 s. Returns a dict of figures."""
    sim = Sim(work, speed=50)
    register(sim.proc)
    nodes = []
    try:
        names = ["n1", "n2"] if endpoints else ["n1"]
        for nm in names:
            nodes.append(Node(work, nm, sim, endpoints, poll_interval=2, conc=8, rate=100))
        lead = nodes[0]
        t_launch = time.time()
        # due on whole seconds, 20 s: job i at start + floor(20 i / N)
        start = int(t_launch) + (idle_lead + 40 if endpoints else 15)
        instants = [start + (i * 20) // n_jobs for i in range(n_jobs)]
        jnames = ["cost-%06d" % i for i in range(n_jobs)]
        write_jobs([n.jobs for n in nodes], "cost", instants, per_file=100)
        log = SimLog(sim)
        out = {"start": start}
        lead.start()
        if endpoints:
            wait_role(lead, "leader", 60)
            lead.wait_started(120)
            out["leader_after"] = time.time() - t_launch
            nodes[1].start()
            wait_role(nodes[1], "standby", 120)
            say("%s: leader n1 after %.1f s, standby n2 up; jobs due at +%.0f s" % (tag, out["leader_after"], start - time.time()))
            time.sleep(1)
            m_a, t_a = lead.metrics(), time.time()
            sm_a = nodes[1].metrics()
            left = start - 1.0 - time.time()
            if left < 10:
                raise AssertionError("only %.1f s of idle time before the jobs are due" % left)
            time.sleep(left)
            m_b, t_b = lead.metrics(), time.time()
            sm_b = nodes[1].metrics()
            out["idle_t"] = (t_a, t_b)
            out["idle_s"] = t_b - t_a
            out["idle_rate"] = (m_b["batchcalld_etcd_requests_total"] - m_a["batchcalld_etcd_requests_total"]) / (t_b - t_a)
            out["idle_bytes"] = ((m_b['batchcalld_etcd_bytes_total{direction="out"}'] - m_a['batchcalld_etcd_bytes_total{direction="out"}']) / (t_b - t_a),
                                 (m_b['batchcalld_etcd_bytes_total{direction="in"}'] - m_a['batchcalld_etcd_bytes_total{direction="in"}']) / (t_b - t_a))
            out["standby_idle_rate"] = (sm_b["batchcalld_etcd_requests_total"] - sm_a["batchcalld_etcd_requests_total"]) / (t_b - t_a)
        else:
            lead.wait_started(120)
        # let the due window pass without polling anybody, then follow
        time.sleep(max(0, instants[-1] + 3 - time.time()))
        log.fetch()
        t_sub = time.time()
        try:
            wait_until(lambda: log.fetch() is not None and len(log.accepted()) >= n_jobs, 120,
                       "%d accepted submits" % n_jobs, scaled=False)
        except AssertionError as e:
            print("    %s: %s (%d accepted): going on" % (tag, e, len(log.accepted())))
        out["states"] = wait_terminal(lead, jnames, 600, log)
        out["finished_after_last_due"] = time.time() - instants[-1]
        time.sleep(5)   # settle: two polls, the last writes
        log.fetch()
        if endpoints:
            m_c, t_c = lead.metrics(), time.time()
            d = {k: m_c.get(k, 0) - m_b.get(k, 0) for k in m_c}
            out["window_s"] = t_c - t_b
            out["req"] = d["batchcalld_etcd_requests_total"]
            out["out"] = d['batchcalld_etcd_bytes_total{direction="out"}']
            out["in"] = d['batchcalld_etcd_bytes_total{direction="in"}']
            out["fail"] = d.get("batchcalld_etcd_failures_total", 0)
            out["cluster_metrics"] = {k: v for k, v in m_c.items() if k.startswith("batchcalld_cluster_")}
            out["standby_role"] = (nodes[1].cluster() or {}).get("role")
        out["once"], acc = once_check(log, jnames)
        out["submitted"] = sum(1 for n in jnames if acc.get(n))
        late = lateness(acc, jnames, instants)
        out["late"] = (pct(late, 50), pct(late, 99), max(late), sum(1 for x in late if x < 0)) if late else None
        out["api"] = collections.Counter(r["endpoint"] for r in log.reqs)
        out["deposed"] = deposed(lead.log())
        _ = t_sub
        return out, nodes
    finally:
        for n in nodes:
            try:
                n.stop(30)
            except AssertionError as e:
                print("    %s: %s" % (n.name, e))
            reap(n.proc)
        sim.stop()
        reap(sim.proc, group=False)


def bench_cost(n_jobs):
    print("cost: %d jobs (3 recipients each) due over 20 s on whole seconds; poll_interval 2, "
          "api.max_concurrent_requests 8, api.max_requests_per_second 100, simulator --speed 50; load average %s"
          % (n_jobs, load()), flush=True)
    t0 = time.monotonic()
    work = mk_work("cost-single")
    say("single node (state folder), work %s" % work)
    single, snodes = cost_workload("single", n_jobs, None, work)
    print("    single: %s" % single["once"])
    report_logs(snodes)

    work = mk_work("cost-cluster")
    say("cluster: 3-member etcd, leader n1 + standby n2, lease_ttl %d, work %s" % (LEASE_TTL, work))
    etcd = Etcd(work, 3)
    try:
        clus, cnodes = cost_workload("cluster", n_jobs, etcd.endpoints, work, etcd, idle_lead=60)
        print("    cluster: %s" % clus["once"])
        report_logs(cnodes, etcd)
    finally:
        etcd.stop()
    n = clus["submitted"] or 1
    idle_part = clus["idle_rate"] * clus["window_s"]
    print("cost: cluster on a 3-member etcd (every fenced write a quorum write), leader n1 + standby n2, lease_ttl %d:"
          % LEASE_TTL)
    print("cost:   idle before the jobs came due: leader %.3f etcd requests/s (%.0f B/s out, %.0f B/s in; over %.0f s), "
          "standby %.3f requests/s (its campaign)"
          % (clus["idle_rate"], clus["idle_bytes"][0], clus["idle_bytes"][1], clus["idle_s"], clus["standby_idle_rate"]))
    print("cost:   %d runs submitted; from 1 s before the first due instant to %.0f s after the last (every batch finished + 5 s settle; %.0f s window):"
          % (clus["submitted"], clus["finished_after_last_due"] + 5, clus["window_s"]))
    print("cost:   etcd requests per submitted run %.3f (%d in all, %d failures; %.3f without the idle rate x window, %.0f requests)"
          % (clus["req"] / n, clus["req"], clus["fail"], (clus["req"] - idle_part) / n, idle_part))
    print("cost:   etcd bytes per submitted run: %.0f request (out), %.0f answer (in)"
          % (clus["out"] / n, clus["in"] / n))
    print("cost:   cluster metrics at the end: %s" % ", ".join("%s %g" % (k[len("batchcalld_cluster_"):], v)
                                                         for k, v in sorted(clus["cluster_metrics"].items())))
    for tag, r in (("single node, state folder", single), ("cluster, 3-member etcd", clus)):
        print("cost:   lateness (%s): p50 %.1f ms, p99 %.1f ms, max %.1f ms, early %d; run states %s; API requests %s"
              % ((tag,) + r["late"] + (dict(r["states"]), dict(r["api"]))))
    print("cost:   the leader's 'deposed leader's late submit: cancelled' lines (duplicate watch of the first 10 min after a takeover): %d, "
          "%d of them cancelling the very batch the run holds; cancel requests the simulator received: %d"
          % (clus["deposed"] + (clus["api"].get("cancel", 0),)))
    print("cost:   took %.0f s; load average now %s" % (time.monotonic() - t0, load()), flush=True)


# --- hold -----------------------------------------------------------------------


def db_figures(etcd, runs):
    st = etcd.status(0, 30)
    size, inuse = int(st["dbSize"]), int(st.get("dbSizeInUse", 0))
    keys = etcd.count(PREFIX)
    return {"size": size, "inuse": inuse, "keys": keys, "rev": int(st["header"]["revision"]),
            "per_run": size / runs, "per_run_inuse": inuse / runs,
            "headroom": QUOTA / size, "headroom_inuse": QUOTA / inuse if inuse else float("inf")}


def print_db(tag, f, runs):
    print("hold:   %-22s dbSize %.2f MiB, dbSizeInUse %.2f MiB, %d keys under %s (revision %d); per run %.0f B (in use %.0f B); "
          "2 GiB quota / dbSize = %.0fx (in use %.0fx), room for ~%.1f M runs at this size per run (~%.1f M in use)"
          % (tag, f["size"] / 2 ** 20, f["inuse"] / 2 ** 20, f["keys"], PREFIX, f["rev"], f["per_run"], f["per_run_inuse"],
             f["headroom"], f["headroom_inuse"], QUOTA / f["per_run"] / 1e6, QUOTA / f["per_run_inuse"] / 1e6 if f["inuse"] else 0))


def bench_hold(n_jobs):
    spread = 100
    print("hold: %d jobs (3 recipients each) due over %d s on whole seconds; 1-member etcd, leader n1 + standby n2, "
          "lease_ttl %d; poll_interval 2, api.max_concurrent_requests 32, api.max_requests_per_second 200, "
          "simulator --speed 200; load average %s" % (n_jobs, spread, LEASE_TTL, load()), flush=True)
    t0 = time.monotonic()
    work = mk_work("hold")
    say("work %s" % work)
    etcd = Etcd(work, 1)
    sim = Sim(work, speed=200)
    register(sim.proc)
    nodes = []
    try:
        st0 = etcd.status(0)
        say("fresh etcd: dbSize %d, dbSizeInUse %s" % (int(st0["dbSize"]), st0.get("dbSizeInUse")))
        for nm in ("n1", "n2"):
            nodes.append(Node(work, nm, sim, etcd.endpoints, poll_interval=2, conc=32, rate=200))
        lead = nodes[0]
        t_launch = time.time()
        start = int(t_launch) + 60
        instants = [start + (i * spread) // n_jobs for i in range(n_jobs)]
        jnames = ["hold-%06d" % i for i in range(n_jobs)]
        write_jobs([n.jobs for n in nodes], "hold", instants, per_file=1000)
        log = SimLog(sim)
        lead.start()
        wait_role(lead, "leader", 120)
        lead.wait_started(300)
        say("leader n1 after %.1f s" % (time.time() - t_launch))
        nodes[1].start()
        wait_role(nodes[1], "standby", 300)
        if time.time() > start - 2:
            raise AssertionError("the nodes took too long to start: jobs already due")
        st = etcd.status(0)
        say("standby n2 up; etcd before the jobs came due: dbSize %d, dbSizeInUse %s, %d keys; jobs due from +%.0f s"
            % (int(st["dbSize"]), st.get("dbSizeInUse"), etcd.count(PREFIX), start - time.time()))
        m_b = lead.metrics()
        t_due = start
        # follow the simulator every few seconds (its log is fetched incrementally)
        while time.time() < instants[-1] + 3:
            time.sleep(5)
            log.fetch()
        say("due window over: %d accepted submits so far, load average %s" % (len(log.accepted()), load()))
        states = wait_terminal(lead, jnames, 1800, log, step=5.0)
        t_fin = time.time()
        say("every run finished %.0f s after the first due instant (%.0f s after the last); states %s; load average %s"
            % (t_fin - t_due, t_fin - instants[-1], dict(states), load()))
        time.sleep(5)
        log.fetch()
        m_c = lead.metrics()
        once, acc = once_check(log, jnames)
        late = lateness(acc, jnames, instants)
        nruns, vbytes = etcd.values(PREFIX + "runs/")
        ci = lead.cluster() or {}
        before = db_figures(etcd, n_jobs)
        print("hold: %s" % once)
        if late:
            print("hold:   lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms, early %d; run states %s; API requests %s"
                  % (pct(late, 50), pct(late, 99), max(late), sum(1 for x in late if x < 0), dict(states),
                     dict(collections.Counter(r["endpoint"] for r in log.reqs))))
        req = m_c["batchcalld_etcd_requests_total"] - m_b["batchcalld_etcd_requests_total"]
        print("hold:   leader etcd traffic from before the due window to the end: %.3f requests, %.0f B out, %.0f B in per run"
              % (req / n_jobs, (m_c['batchcalld_etcd_bytes_total{direction="out"}'] - m_b['batchcalld_etcd_bytes_total{direction="out"}']) / n_jobs,
                 (m_c['batchcalld_etcd_bytes_total{direction="in"}'] - m_b['batchcalld_etcd_bytes_total{direction="in"}']) / n_jobs))
        print("hold:   %d run records under %sruns/, %.0f B of key+value each on average; GET /v1/cluster etcd db_size %s"
              % (nruns, PREFIX, vbytes / max(nruns, 1), [e.get("db_size") for e in ci.get("etcd", [])]))
        print_db("before compaction:", before, n_jobs)
        out, dt1 = etcd.ctl("compact", str(before["rev"]), "--physical")
        say("etcdctl compact %d --physical: %s (%.1f s)" % (before["rev"], out, dt1))
        mid = db_figures(etcd, n_jobs)
        print_db("after compact:", mid, n_jobs)
        out, dt2 = etcd.ctl("defrag")
        say("etcdctl defrag: %s (%.1f s)" % (out, dt2))
        after = db_figures(etcd, n_jobs)
        print_db("after compact+defrag:", after, n_jobs)
        print("hold:   the leader's 'deposed leader's late submit: cancelled' lines: %d, %d of them cancelling the very batch "
              "the run holds; cancel requests the simulator received: %d"
              % (deposed(lead.log()) + (sum(1 for r in log.reqs if r["endpoint"] == "cancel"),)))
        comp = [ln for ln in lead.log().splitlines() if "compact" in ln.lower()]
        print("hold:   the leader's own compactions (log lines): %d%s" % (len(comp), "".join("\n      " + x[:200] for x in comp[:3])))
        report_logs(nodes, etcd)
        print("hold:   took %.0f s in all (%.0f s from the first due instant to every run finished); load average now %s"
              % (time.monotonic() - t0, t_fin - t_due, load()), flush=True)
    finally:
        for n in nodes:
            try:
                n.stop(60)
            except AssertionError as e:
                print("    %s: %s" % (n.name, e))
            reap(n.proc)
        sim.stop()
        reap(sim.proc, group=False)
        etcd.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    jobs = None
    if "--jobs" in args:
        i = args.index("--jobs")
        jobs = int(args[i + 1])
        del args[i:i + 2]
    which = args or ["cost", "hold"]
    if not os.access(ETCD, os.X_OK):
        print("SKIP: %s is missing (Debian package etcd-server)" % ETCD)
        sys.exit(77)
    try:
        for w in which:
            if w == "cost":
                bench_cost(jobs or 1000)
            elif w == "hold":
                bench_hold(jobs or 10000)
            else:
                raise SystemExit("unknown benchmark %r (cost, hold)" % w)
    finally:
        reap_all()
