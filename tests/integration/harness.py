"""
Integration harness: runs the real batchcalld against the real
batchcall-sim over loopback. Tests wait on conditions with deadlines (the
simulator's request log, the daemon's state files and log), never on fixed
sleeps.
"""
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SIM = os.path.join(TOP_BUILDDIR, "batchcall-sim")
DAEMON = os.path.join(TOP_BUILDDIR, "batchcalld")
CTL = os.path.join(TOP_BUILDDIR, "batchcallctl")
SUBMIT_PATH = "/v1/convai/batch-calling/submit"
# Under an accelerated clock (libfaketime) every timeout is read on the fake
# clock: BC_TIME_SCALE multiplies them so that they keep their real length.
SCALE = float(os.environ.get("BC_TIME_SCALE", "1"))
# A command line put in front of the daemon's and the simulator's, e.g.
# BC_WRAP="valgrind --error-exitcode=99 --log-file=/tmp/vg.%p" (scripts/test).
WRAP = shlex.split(os.environ.get("BC_WRAP", ""))


def wait_until(pred, timeout, what, scaled=True):
    """Poll pred until it returns a true value; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout * (SCALE if scaled else 1)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(0.02 * SCALE)


def read_ready_line(proc, prefix, timeout):
    """Read the first stdout line of proc (which must start with prefix)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout * SCALE
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            raise AssertionError("no ready line from %s" % prefix)
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise AssertionError("%s exited before it was ready" % prefix)
        buf += chunk
    line = buf.split(b"\n", 1)[0].decode()
    if not line.startswith(prefix):
        raise AssertionError("unexpected ready line %r" % line)
    return line


class Sim:
    def __init__(self, workdir, api_key="sim-test-key", speed=50, seed=1, extra=()):
        self.api_key = api_key
        self.errlog = open(os.path.join(workdir, "sim.stderr"), "wb")
        self.proc = subprocess.Popen(
            WRAP + [SIM, "--listen", "127.0.0.1:0", "--api-key", api_key, "--speed", str(speed),
             "--seed", str(seed)] + list(extra),
            stdout=subprocess.PIPE, stderr=self.errlog)
        line = read_ready_line(self.proc, "batchcall-sim: listening on ", 10)
        self.url = line.split("listening on ", 1)[1].strip()

    def call(self, method, path, body=None, key=True):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key:
            req.add_header("xi-api-key", self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=10 * SCALE) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text else None)

    def requests(self, endpoint=None):
        st, body = self.call("GET", "/_sim/requests", key=False)
        assert st == 200, st
        reqs = body["requests"]
        if endpoint:
            reqs = [r for r in reqs if r["endpoint"] == endpoint]
        return reqs

    def fault(self, **kw):
        st, body = self.call("POST", "/_sim/faults", kw, key=False)
        assert st == 200, (st, body)
        return body["id"]

    def clear_faults(self):
        self.call("DELETE", "/_sim/faults", key=False)

    def advance(self, seconds):
        self.call("POST", "/_sim/advance", {"seconds": seconds}, key=False)

    def batches(self):
        """Every batch of the workspace, following the pages."""
        out, last = [], None
        while True:
            path = "/v1/convai/batch-calling/workspace?limit=100"
            if last:
                path += "&last_doc=" + last
            st, body = self.call("GET", path)
            assert st == 200, (st, body)
            out += body["batch_calls"]
            if not body["has_more"]:
                return out
            last = body["next_doc"]

    def batch(self, batch_id):
        """A batch's detail as the API's GET answers it, through the
        simulator's control route: never logged, never met by the faults a
        test set for the daemon (the model test's checks read batches
        while faults on every endpoint are active)."""
        st, body = self.call("GET", "/_sim/batches/" + urllib.parse.quote(batch_id, safe=""), key=False)
        assert st == 200, (st, body)
        return body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()


class Daemon:
    def __init__(self, workdir, sim, poll_interval=1, request_timeout=2, api_key=None,
                 rate=1000.0, extra_conf="", defaults="", api_extra=""):
        self.dir = workdir
        self.sim = sim
        self.conf = os.path.join(workdir, "batchcalld.conf")
        self.jobs = os.path.join(workdir, "jobs.d")
        self.state = os.path.join(workdir, "state")
        self.logfile = os.path.join(workdir, "daemon.log")
        os.makedirs(self.jobs, exist_ok=True)
        with open(os.path.join(workdir, "api-key"), "w") as f:
            f.write((api_key or sim.api_key) + "\n")
        with open(self.conf, "w") as f:
            f.write("""api = {
  base_url = "%s";
  api_key_file = "api-key";
  request_timeout = %d;
  max_concurrent_requests = 16;
  max_requests_per_second = %s;
  %s
};
jobs_dir = "jobs.d";
state_dir = "state";
control_socket = "control.sock";
poll_interval = %d;
defaults = {
  timezone = "UTC";
  max_lateness = 900;
  retry = { max_retries = 2; delay = 1; backoff = 1.0; max_delay = 1; };
  %s
};
%s
""" % (sim.url, request_timeout, repr(float(rate)), api_extra, poll_interval, defaults, extra_conf))
        self.proc = None
        self.log_fh = None
        self.starts = 0
        self.verbose = True  # --verbose: debug lines too (a benchmark runs as operators do, without)

    def write_job(self, name, body, file=None):
        path = os.path.join(self.jobs, (file or name) + ".conf")
        with open(path + ".tmp", "w") as f:
            f.write("jobs = ( {\n  name = \"%s\";\n%s\n} );\n" % (name, body))
        os.rename(path + ".tmp", path)
        return path

    def remove_job(self, name):
        os.unlink(os.path.join(self.jobs, name + ".conf"))

    def start(self, env=None, args=(), preexec=None):
        self.starts += 1
        self.log_fh = open(self.logfile, "ab")
        self.log_fh.write(b"---- start %d\n" % self.starts)
        self.log_fh.flush()
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("JOURNAL_STREAM", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(WRAP + [DAEMON, "-c", self.conf, "--log-target=console"] +
                                     (["--verbose"] if self.verbose else []) + list(args),
                                     stdout=self.log_fh, stderr=self.log_fh, env=e, preexec_fn=preexec)
        return self.proc

    def wait_started(self, timeout=10):
        n = self.starts
        wait_until(lambda: self.log().split("---- start %d\n" % n)[-1].find("started:") >= 0 or self.proc.poll() is not None,
                   timeout, "daemon start")
        assert self.proc.poll() is None, "daemon exited: %s" % self.log()[-2000:]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log_fh.close()

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(timeout * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop within %ds" % timeout)
            self.log_fh.close()
            return rc
        return self.proc.returncode if self.proc else None

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=15):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()), timeout, "log line /%s/" % pattern)

    def run_state(self, job):
        """The newest record of job's run (of its latest occurrence, the
        whole run before a part), wherever the state folder keeps it."""
        mine = [r for r in self.runs() if r.get("job") == job]
        if not mine:
            return None
        return max(mine, key=lambda r: (r.get("start", 0), r.get("part") is None))

    def runs(self):
        """Every run the state folder holds, as the daemon would load it: the
        run files (those of dot-named jobs too) and the records of the
        journals, the newest record (highest gen) of each run winning unless
        a removal line ({"remove": {...}}) follows it. A file or journal line
        that does not parse (damage, or a line being appended) is left out."""
        d = os.path.join(self.state, "runs")
        best = {}

        def take(rec, pos):
            if not isinstance(rec, dict):
                return
            if isinstance(rec.get("remove"), dict):
                k = rec["remove"]
                key = (k.get("job"), k.get("start"), k.get("part"))
                if key in best and best[key][0] < pos:
                    del best[key]
                return
            if "job" not in rec or "start" not in rec:
                return
            key = (rec["job"], rec["start"], rec.get("part"))
            old = best.get(key)
            if old is None or rec.get("gen", 0) >= old[1].get("gen", 0):
                best[key] = (pos, rec)
        names = os.listdir(d) if os.path.isdir(d) else []
        journals = sorted((int(n[8:-6]), n) for n in names
                          if n.startswith("journal-") and n.endswith(".jsonl") and n[8:-6].isdigit())
        for name in sorted(names):
            if name.endswith(".json") and "@" in name:
                try:
                    with open(os.path.join(d, name), errors="replace") as f:
                        take(json.load(f), (0, 0))
                except (OSError, ValueError):
                    pass
        for seq, name in journals:
            try:
                with open(os.path.join(d, name), errors="replace") as f:
                    for i, line in enumerate(f):
                        try:
                            take(json.loads(line), (seq + 1, i))
                        except ValueError:
                            pass
            except OSError:
                pass
        return [v[1] for v in best.values()]

    def control(self, method, path, timeout=10, raw=False):
        """One request to the control socket: (HTTP status, parsed JSON body;
        the body as text with raw, e.g. /metrics)."""
        import http.client
        import socket
        sock_path = os.path.join(self.dir, "control.sock")

        class UnixConnection(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout * SCALE)
                self.sock.connect(sock_path)
        c = UnixConnection("localhost", timeout=timeout * SCALE)
        try:
            c.request(method, path, body=b"" if method == "POST" else None)
            r = c.getresponse()
            data = r.read()
            if raw:
                return r.status, data.decode()
            return r.status, (json.loads(data) if data else None)
        finally:
            c.close()

    def wait_state(self, job, states, timeout=20):
        if isinstance(states, str):
            states = (states,)
        def ok():
            s = self.run_state(job)
            return s if s and s["state"] in states else None
        return wait_until(ok, timeout, "job %s in state %s (now %s)" % (job, states, (self.run_state(job) or {}).get("state")))


def unix_job(at, recipients=("+15550100001",), agent="agent_test", extra=""):
    rc = ", ".join('{ phone_number = "%s"; }' % p for p in recipients)
    return """  agent_id = "%s";
  phone_number_id = "phnum_test";
  scheduled_time_unix = %d;
  recipients = ( %s );
%s""" % (agent, at, rc, extra)


def submits_named(sim, name_prefix):
    return [r for r in sim.requests("submit")
            if r["body"] and json.loads(r["body"]).get("call_name", "").startswith(name_prefix)]


ETCD = os.environ.get("BC_ETCD", "/usr/bin/etcd")


def free_ports(n):
    """n distinct loopback ports free now, for servers a test starts (etcd,
    webhook receivers, metrics). Drawn at random below the kernel's
    ephemeral range (ip_local_port_range starts at 32768), which the
    outgoing connections of every process take their ports from: a port
    the kernel hands out (bind to 0) may be taken by one of those before
    the server binds it (a webhook receiver once failed so in make -j4)."""
    import socket
    ports = []
    rnd = random.Random()
    while len(ports) < n:
        p = rnd.randrange(20000, 32768)
        if p in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        ports.append(p)
    return ports


def free_port():
    return free_ports(1)[0]


def _free_port():
    return free_port()


class EtcdMember:
    """One etcd 3.4 member on loopback, data under WORK/etcd/m1 (cluster
    mode's tests): started in a process group of its own (register, when
    given, is called with the process, for the caller's clean-up), again on
    the same data; up() once it has an etcd leader."""

    def __init__(self, work):
        self.client = _free_port()
        self.peer = _free_port()
        while self.peer == self.client:
            self.peer = _free_port()
        self.dir = os.path.join(work, "etcd", "m1")
        self.logfile = os.path.join(work, "etcd", "m1.log")
        self.proc = None
        os.makedirs(os.path.join(work, "etcd"), exist_ok=True)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.client

    def start(self, register=None):
        c, p = self.endpoint, "http://127.0.0.1:%d" % self.peer
        argv = [ETCD, "--name", "m1", "--data-dir", self.dir, "--listen-client-urls", c,
                "--advertise-client-urls", c, "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                "--initial-cluster", "m1=" + p, "--initial-cluster-state",
                "existing" if os.path.isdir(os.path.join(self.dir, "member")) else "new",
                "--experimental-enable-lease-checkpoint", "--logger", "zap", "--log-outputs", "stderr"]
        with open(self.logfile, "ab") as fh:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        if register:
            register(self.proc)

    def post(self, path, body, timeout=3.0):
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")

    def up(self):
        try:
            return self.post("/v3/maintenance/status", {}, 1.0).get("leader") not in (None, "0")
        except (OSError, ValueError):
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Skip(Exception):
    """Raised by a test that cannot run here, with the reason (a tool that is
    not installed, a privilege it lacks): it is reported, not passed."""


def drop_work(work):
    """A test that passed leaves no folder behind (hundreds of MB, runs
    after runs filled the disk); BC_KEEP_WORK=1 keeps it. A failed test's
    folder is always kept."""
    if os.environ.get("BC_KEEP_WORK") != "1":
        shutil.rmtree(work, ignore_errors=True)


def run(tests):
    """Run every test function; print a plain closing line. Exit 1 when a
    test failed, else 77 (automake's SKIP) when one was skipped, else 0."""
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        work = tempfile.mkdtemp(prefix="bc-it-")
        t0 = time.monotonic()
        try:
            t(work)
            passed += 1
            print("PASS: %s (%.1fs)" % (t.__name__, time.monotonic() - t0), flush=True)
            drop_work(work)
        except Skip as e:
            skipped += 1
            print("SKIP: %s: %s" % (t.__name__, e), flush=True)
            drop_work(work)
        except Exception:
            failed += 1
            print("FAIL: %s (its folder is kept: %s)" % (t.__name__, work), flush=True)
            traceback.print_exc()
            for f in ("daemon.log", "sim.stderr"):
                p = os.path.join(work, f)
                if os.path.exists(p):
                    with open(p, errors="replace") as fh:
                        print("---- %s (tail)\n%s" % (f, fh.read()[-4000:]))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 77 if skipped else 0)


class Env:
    """A simulator and a daemon in one work folder, stopped at the end."""
    def __init__(self, work, sim_kw=None, **daemon_kw):
        self.work = work
        self.sim = Sim(work, **(sim_kw or {}))
        self.d = Daemon(work, self.sim, **daemon_kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if self.d.proc and self.d.proc.poll() is None:
                self.d.proc.kill()
                self.d.proc.wait()
        finally:
            self.sim.stop()
        return False
