#!/usr/bin/env python3
"""The service under a real systemd (issue 13).

Installs the build with `make install DESTDIR=` into a Debian 12 minbase
root (debootstrap, cached), boots it with systemd-nspawn (systemd 252 as
the container's PID 1, its own journald, a private network with loopback
only) and checks with the real manager what the unit and the README
promise:

- the README's install: the daemon and batchcallctl find
  /etc/batchcalld/batchcalld.conf, the state is /var/lib/batchcalld, the
  unit and the catalog are where systemd reads them, /bin/kill is absent
  (no procps) and reload works all the same;
- `systemctl start` returns once READY=1 came (STATUS= is already there,
  the daemon's start entry precedes the manager's), `systemctl status`
  shows the STATUS= line;
- DynamicUser= owns /var/lib/batchcalld and /run/batchcalld; the process
  is not dumpable and has LimitCORE=0;
- LoadCredential= (the unit's plain file) and LoadCredentialEncrypted=
  (systemd-creds, the README's drop-in);
- `systemctl reload` with a good and a bad job file (old configuration
  kept, its run still submitted, the bad file's never);
- `journalctl -u batchcalld JOB_NAME=`, `-o json` fields, `-x` with the
  installed catalog;
- batchcallctl without -c by a user of the control group (Group= drop-in
  and control_group), refused to a user outside it, exit 3 once stopped;
- a results_dir of its own (README "Campaign results": install -d -g ops
  -m 3770, ReadWritePaths=): the daemon's folders 2750 and files 0640 of
  group ops, read by a member of the group (cat, batchcallctl results from
  the daemon and from the files), not by another user;
- the watchdog: SIGSTOP while a submit is in flight; systemd kills and
  restarts the daemon, which adopts the batch: one submit in the
  simulator's request log;
- `systemctl stop` with a submit in flight under TimeoutStopSec=2s: the
  daemon's EXTEND_TIMEOUT_USEC keeps it from being killed, exit 0;
- `systemd-analyze security batchcalld` (online) at most 2.0.

The simulator runs inside the container (systemd-run), on its loopback.

Needs root, systemd-nspawn and debootstrap (Debian packages
systemd-container, debootstrap) and the Debian archive (first run only:
the root is cached in $BC_CONTAINER_CACHE, /var/cache/batchcalld-container
by default, and rebuilt when missing or when the runtime packages change).
Where nspawn cannot run, prints "SKIP: ..." and exits 77.
Never boots systemd anywhere but inside the container root.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.join(TOP_SRCDIR, "build")
CACHE = os.environ.get("BC_CONTAINER_CACHE", "/var/cache/batchcalld-container")
SCRATCH = os.path.join(TOP_BUILDDIR, "container-test")
SUITE = "bookworm"
# What the container needs besides the programs' own libraries (found
# with ldd): the manager, nss for the dynamic user's name, curl for the
# simulator's test endpoints, the tz database.
BASE_PACKAGES = ["systemd", "systemd-sysv", "libnss-systemd", "curl", "tzdata", "ca-certificates"]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEY = "sk_container_test_key_0123456789"
SIM = "http://127.0.0.1:8089"
UNIT = "batchcalld"
# BC_CONTAINER_DEBS=DIR: install the Debian packages of DIR (batchcalld_*.deb,
# batchcall-sim_*.deb) with dpkg -i instead of the build with make install
# (scripts/deb's last step), and check the packaged service the same way.
DEBS = os.environ.get("BC_CONTAINER_DEBS") or None
if DEBS:
    DEBS = os.path.abspath(DEBS)
    SCRATCH = os.path.join(DEBS, "container-test")
    # scripts/deb's lifecycle runs in the same root (--print-root): it reads man pages.
    BASE_PACKAGES = BASE_PACKAGES + ["man-db"]
# Where each install puts things.
LAYOUT = {"sbin": "/usr/sbin", "bin": "/usr/bin", "doc": "/usr/share/doc/batchcalld"} if DEBS else \
    {"sbin": "/usr/local/sbin", "bin": "/usr/local/bin", "doc": "/usr/local/share/doc/batchcalld"}

STEPS = []


def say(msg):
    print(msg, flush=True)


def sh(argv, check=True, **kw):
    return subprocess.run(argv, check=check, **kw)


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


# --- the root ----------------------------------------------------------------

def deb_files():
    import glob
    debs = sorted(glob.glob(os.path.join(DEBS, "batchcalld_*.deb")) + glob.glob(os.path.join(DEBS, "batchcall-sim_*.deb")))
    if len(debs) != 2:
        raise Fail("BC_CONTAINER_DEBS=%s: want one batchcalld_*.deb and one batchcall-sim_*.deb, found %s" % (DEBS, debs))
    return debs


def runtime_packages():
    """The Debian packages of the shared libraries the installed programs
    load, as ldd resolves them here (or the packages' Depends)."""
    if DEBS:
        pkgs = set()
        for f in deb_files():
            dep = sh(["dpkg-deb", "-f", f, "Depends"], capture_output=True, text=True).stdout
            for d in dep.split(","):
                d = re.sub(r"\(.*?\)", "", d.split("|")[0]).strip()
                if d:
                    pkgs.add(d)
        return sorted(pkgs)
    libs = set()
    for prog in ("batchcalld", "batchcallctl", "batchcall-sim"):
        out = sh(["ldd", os.path.join(TOP_BUILDDIR, prog)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"=> (/\S+)", line)
            if m:
                libs.add(m.group(1))
    pkgs = set()
    for lib in sorted(libs):
        for cand in (lib, os.path.realpath(lib), re.sub(r"^/usr", "", lib), "/usr" + lib):
            p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if p.returncode == 0:
                pkgs.add(p.stdout.split(":", 1)[0].split(",")[0].strip())
                break
        else:
            raise Fail("no Debian package owns %s (ldd of the programs)" % lib)
    return sorted(pkgs)


def host_mirror():
    """The Debian archive this host's apt uses for SUITE, or None (then
    debootstrap's own default)."""
    for f in sorted(os.listdir("/etc/apt/sources.list.d")) if os.path.isdir("/etc/apt/sources.list.d") else []:
        if not f.endswith(".sources"):
            continue
        with open(os.path.join("/etc/apt/sources.list.d", f)) as fh:
            for stanza in fh.read().split("\n\n"):
                kv = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
                if SUITE in kv.get("Suites", "").split() and "deb" in kv.get("Types", "").split():
                    return kv["URIs"].split()[0]
    if os.path.exists("/etc/apt/sources.list"):
        with open("/etc/apt/sources.list") as fh:
            for line in fh:
                p = line.split()
                if len(p) >= 3 and p[0] == "deb" and p[2] == SUITE and not p[1].startswith("["):
                    return p[1]
    return None


def base_root():
    """A minbase root with the packages, built once per package list."""
    pkgs = sorted(set(BASE_PACKAGES) | set(runtime_packages()))
    tag = hashlib.sha256(" ".join(pkgs).encode()).hexdigest()[:12]
    root = os.path.join(CACHE, "%s-minbase-%s" % (SUITE, tag))
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(root, ".complete")):
            return root
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        argv = ["debootstrap", "--variant=minbase", "--include=" + ",".join(pkgs), SUITE, tmp]
        mirror = host_mirror()
        if mirror:
            argv.append(mirror)
        say("building the container root (debootstrap --variant=minbase %s, %d packages) in %s"
            % (SUITE, len(pkgs), root))
        t0 = time.monotonic()
        log = os.path.join(CACHE, "debootstrap.log")
        with open(log, "w") as out:
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                with open(log) as fh:
                    tail = fh.read()[-3000:]
                raise Fail("debootstrap failed (%s):\n%s" % (log, tail))
        # No apt timers or getty in a test boot.
        for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
                     "fstrim.timer", "console-getty.service"):
            os.symlink("/dev/null", os.path.join(tmp, "etc/systemd/system", unit)) \
                if not os.path.lexists(os.path.join(tmp, "etc/systemd/system", unit)) else None
        open(os.path.join(tmp, ".complete"), "w").close()
        os.rename(tmp, root)
        say("container root built in %.0fs" % (time.monotonic() - t0))
        return root


# --- one boot ------------------------------------------------------------------

class Container:
    def __init__(self, lower):
        self.lower = lower
        self.dir = SCRATCH
        self.root = os.path.join(self.dir, "root")
        self.proc = None
        self.leader = None
        self.mounted = False

    def prepare(self):
        self.cleanup()
        for d in ("upper", "work", "root"):
            os.makedirs(os.path.join(self.dir, d))
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (self.lower, self.dir, self.dir),
                            self.root], capture_output=True, text=True)
        if r.returncode == 0:
            self.mounted = True
        else:
            say("note: no overlayfs here (%s); copying the root" % r.stderr.strip())
            os.rmdir(self.root)
            sh(["cp", "-a", self.lower, self.root])

    def cleanup(self):
        if os.path.ismount(os.path.join(self.dir, "root")):
            subprocess.run(["umount", "-l", os.path.join(self.dir, "root")])
        shutil.rmtree(self.dir, ignore_errors=True)

    def boot(self):
        self.console = open(os.path.join(self.dir, "console.log"), "wb")
        # --keep-unit: no scope of our own (the host may have no systemd);
        # --private-network: the simulator's port is the container's own.
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--register=no", "--keep-unit", "--private-network", "--quiet",
             "--console=read-only", "-D", self.root, "--boot"],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while self.leader is None:
            if self.proc.poll() is not None:
                raise Fail("systemd-nspawn exited with %d:\n%s" % (self.proc.returncode, self.console_tail()))
            if time.monotonic() > deadline:
                raise Fail("no container init after 60s:\n" + self.console_tail())
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            for k in kids:
                try:
                    with open("/proc/%s/comm" % k) as f:
                        if f.read().strip() == "systemd":
                            self.leader = int(k)
                except OSError:
                    pass
            time.sleep(0.1)
        # Until the manager's socket exists, systemctl says nothing.
        state = wait(lambda: self.run("systemctl", "is-system-running", "--wait", check=False,
                                      timeout=120).stdout.strip(), 60, "the container's manager")
        if state not in ("running", "degraded"):
            raise Fail("the container's systemd is %r:\n%s" % (state, self.run("systemctl", "--failed",
                                                                               check=False).stdout))
        if state == "degraded":
            say("note: container degraded: " + self.run("systemctl", "--failed", "--no-legend",
                                                         check=False).stdout.strip())

    def console_tail(self):
        self.console.flush()
        with open(os.path.join(self.dir, "console.log"), "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def run(self, *argv, check=True, input=None, timeout=60, user=None):
        """A command inside the container (all its namespaces), as root or
        as user (runuser: with the user's groups)."""
        cmd = ["nsenter", "--target", str(self.leader), "--all", "--wd=/", "--",
               "env", "-i", "PATH=" + PATH, "HOME=/root", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"]
        if user:
            cmd += ["runuser", "-u", user, "--"]
        p = subprocess.run(cmd + list(argv), input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise Fail("%s exited %d:\n%s%s" % (" ".join(argv), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        return p

    def write(self, path, text, mode=0o644):
        p = self.root + path
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)

    def shutdown(self):
        if self.proc and self.proc.poll() is None:
            if self.leader:
                subprocess.run(["nsenter", "--target", str(self.leader), "--all", "--", "systemctl", "poweroff"],
                               capture_output=True, timeout=30)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.console.close()


# --- helpers inside ---------------------------------------------------------------

def show(c, *props):
    out = c.run("systemctl", "show", UNIT, "-p", ",".join(props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def sim_json(c, method, path, body=None):
    argv = ["curl", "-sS", "-X", method, SIM + path]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    out = c.run(*argv).stdout
    return json.loads(out) if out.strip() else None


def sim_requests(c, endpoint=None):
    reqs = sim_json(c, "GET", "/_sim/requests")["requests"]
    return [r for r in reqs if endpoint is None or r["endpoint"] == endpoint]


def submits_of(c, prefix):
    return [r for r in sim_requests(c, "submit") if json.loads(r["body"] or "{}").get("call_name", "").startswith(prefix)]


def wait(pred, timeout, what, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(every)


def journal(c, *args):
    c.run("journalctl", "--sync", check=False)
    out = c.run("journalctl", "--no-pager", "-o", "json", *args).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def job(name, at, phones=("+15550100010",), extra=""):
    rc = ", ".join('{ phone_number = "%s"; }' % p for p in phones)
    return ('jobs = ( {\n  name = "%s";\n  agent_id = "agent_ct";\n  phone_number_id = "phnum_ct";\n'
            '  scheduled_time_unix = %d;\n  recipients = ( %s );\n%s} );\n' % (name, at, rc, extra))


def put_job(c, name, text):
    # jobs.d as root writes it; the daemon reads it (0644).
    c.write("/etc/batchcalld/jobs.d/%s.conf" % name, text)


def reload_and_wait(c, kind_id, since_cursor):
    c.run("systemctl", "reload", UNIT)
    return wait(lambda: [e for e in journal(c, "-u", UNIT, "--after-cursor", since_cursor)
                         if e.get("MESSAGE_ID") == kind_id], 30, "the reload's journal entry")


def cursor(c):
    es = journal(c, "-u", UNIT, "-n", "1")
    return es[-1]["__CURSOR"] if es else ""


ID = {
    "scheduled": "06a2fcbd0a3e45039abb88e83f2d5604",
    "submitted": "52db1a0b3ca441058a88453a18d80fb2",
    "adopted": "c9db8e79c7f04878afcb267a6377f17f",
    "daemon-started": "d21f7874ee0e499ba41b96b51b5f8ca7",
    "reloaded": "7c325cf6ee6d4a43bd5470d5cc79f422",
    "reload-failed": "037e7ccf3f064731a88061227c640062",
    "config-error": "664c312f53b94cc0ab48422efddb4c0a",
    "control": "e84c3566cdfc4f8083713ef4b07bae08",
    "control-listening": "c946f8e5e95345a89ab8a1f02f76cd7c",
}
# systemd's own: "Started unit", "Watchdog timeout" has none in 252, so by text.
SD_STARTED = "39f53479d3a045ac8e11786248231fbf"


# --- the scenarios -----------------------------------------------------------------

def step(fn):
    STEPS.append(fn)
    return fn


@step
def install_layout(c):
    """the install put everything where the README says; nothing needs procps."""
    expect(not os.path.lexists(c.root + "/bin/kill") and not os.path.lexists(c.root + "/usr/bin/kill"),
           "this root has a kill binary: the ExecReload check would prove nothing")
    for p in (LAYOUT["sbin"] + "/batchcalld", LAYOUT["bin"] + "/batchcallctl", LAYOUT["bin"] + "/batchcall-sim",
              "/lib/systemd/system/batchcalld.service", LAYOUT["doc"] + "/README.md"):
        expect(os.path.exists(c.root + p), "%s did not put %s" % ("dpkg -i" if DEBS else "make install", p))
    help_text = c.run("batchcallctl", "--help").stdout
    expect("(default /etc/batchcalld/batchcalld.conf)" in help_text, "batchcallctl's default: " + help_text)
    v = c.run("systemd-analyze", "verify", "/lib/systemd/system/batchcalld.service", check=False)
    expect(v.returncode == 0 and not v.stderr.strip(), "systemd-analyze verify: %s" % v.stderr)
    cat = c.run("journalctl", "--update-catalog", check=False)
    expect(cat.returncode == 0 and not cat.stderr.strip(), "journalctl --update-catalog: " + cat.stderr)
    listed = c.run("journalctl", "--list-catalog").stdout
    expect(ID["submitted"] + " batchcalld: " in listed, "the installed catalog is not read by journald")


@step
def start_ready_status(c):
    """start returns after READY=1 with STATUS= set; status shows it."""
    c.run("systemd-run", "--unit=batchcall-sim", "--property=DynamicUser=yes", LAYOUT["bin"] + "/batchcall-sim",
          "--listen", "127.0.0.1:8089", "--api-key", KEY, "--speed", "50")
    wait(lambda: c.run("curl", "-sf", SIM + "/_sim/requests", check=False).returncode == 0, 20, "the simulator")
    # The README: the example configuration, with base_url pointed at the
    # simulator (and shorter timeouts, for the test's pace).
    c.write("/etc/batchcalld/batchcalld.conf", conf_for_test())
    put_job(c, "later", job("later", int(time.time()) + 7200))
    # The README: the key in a file only root reads, loaded by the unit.
    c.write("/etc/batchcalld/elevenlabs-api-key", KEY + "\n", 0o600)
    chk = c.run("batchcallctl", "check")
    expect("1 job in 1 file" in chk.stdout, "batchcallctl check: " + chk.stdout)
    c.run("systemctl", "enable", "--now", UNIT)
    st = show(c, "ActiveState", "SubState", "StatusText", "Type", "MainPID", "NRestarts")
    expect(st["Type"] == "notify", st)
    expect(st["ActiveState"] == "active" and st["SubState"] == "running", st)
    # STATUS= comes before READY=1: already there when start returned.
    expect(st["StatusText"].startswith("1 jobs, 0 active batches, next run 'later' at "), st)
    es = journal(c, "-u", UNIT, "-b")
    started = [e for e in es if e.get("MESSAGE_ID") == ID["daemon-started"]]
    done = [e for e in es if e.get("MESSAGE_ID") == SD_STARTED and e.get("_PID") == "1"]
    expect(started and done, "start entries: %s" % [e.get("MESSAGE") for e in es])
    expect(int(started[0]["__MONOTONIC_TIMESTAMP"]) <= int(done[-1]["__MONOTONIC_TIMESTAMP"]),
           "systemd called the unit started before the daemon's own start entry")
    status = c.run("systemctl", "status", "--no-pager", "-n", "0", UNIT, check=False).stdout
    c.score_shipped = security(c)
    expect(re.search(r"^\s+Status: \"1 jobs, 0 active batches, next run 'later' at ", status, re.M), status)
    c.main_pid = int(st["MainPID"])


@step
def dynamic_user_and_dumps(c):
    """DynamicUser owns the state and runtime folders; no dumps."""
    pid = show(c, "MainPID")["MainPID"]
    # (/proc/PID itself keeps the owner; its files go to root when the
    # process is not dumpable.)
    uid = c.run("stat", "-c", "%u", "/proc/%s/environ" % pid).stdout.strip()
    real_uid = re.search(r"^Uid:\s+(\d+)", c.run("cat", "/proc/%s/status" % pid).stdout, re.M).group(1)
    expect(61184 <= int(real_uid) <= 65519, "the daemon runs as uid %s, not a dynamic one" % real_uid)
    for d in ("/var/lib/batchcalld/", "/run/batchcalld"):
        o = c.run("stat", "-L", "-c", "%u %U %a", d).stdout.split()
        expect(o[0] == real_uid, "%s belongs to %s, not the service's %s" % (d, o, real_uid))
        expect(o[1].startswith("batchcalld") or o[1] == real_uid, "%s: %s" % (d, o))
    expect(os.path.islink(c.root + "/var/lib/batchcalld"), "/var/lib/batchcalld is not DynamicUser's link")
    sock = c.run("stat", "-c", "%a %u", "/run/batchcalld/control.sock").stdout.split()
    expect(sock == ["660", real_uid], "control.sock: %s" % sock)
    # Not dumpable: /proc/PID belongs to root although the process does not.
    expect(uid == "0", "/proc/%s/environ belongs to %s: the daemon is dumpable" % (pid, uid))
    expect(show(c, "LimitCORE")["LimitCORE"] == "0", "LimitCORE")
    # The key: neither in the environment nor on the command line.
    for f in ("environ", "cmdline"):
        expect(KEY not in c.run("cat", "/proc/%s/%s" % (pid, f)).stdout, "the key is in /proc/PID/" + f)


@step
def reload_good_and_bad(c):
    """reload applies a good file, keeps the old configuration on a bad one."""
    at = int(time.time()) + 12
    put_job(c, "soon", job("soon", at))
    cur = cursor(c)
    es = reload_and_wait(c, ID["reloaded"], cur)
    expect(re.match(r"configuration reloaded: 2 jobs in 2 files", es[0]["MESSAGE"]), es[0]["MESSAGE"])
    # STATUS= comes with the reload's READY=1, after the journal entry.
    wait(lambda: show(c, "StatusText")["StatusText"].startswith("2 jobs, 0 active batches, next run 'soon' at "),
         30, "the new STATUS= line")
    # The STATUS= line is refreshed at most once a second after a change:
    # past that, nothing is pending that could replace the next one.
    t_good = int(es[0]["__REALTIME_TIMESTAMP"]) / 1e6
    wait(lambda: time.time() >= t_good + 1.2, 10, "a second after the good reload")
    # A bad file, with a job due at once that must never run.
    c.write("/etc/batchcalld/jobs.d/bad.conf", job("bad", int(time.time()), extra='  ringing_timeout_secs = "x";\n'))
    cur = cursor(c)
    es = reload_and_wait(c, ID["reload-failed"], cur)
    errs = [e for e in journal(c, "-u", UNIT, "--after-cursor", cur) if e.get("MESSAGE_ID") == ID["config-error"]]
    expect(errs and all(e["MESSAGE"].startswith("/etc/batchcalld/jobs.d/bad.conf:") for e in errs),
           [e.get("MESSAGE") for e in errs])
    # ... and says so until the next change ('soon' coming due).
    failed_line = "reload failed: 1 error; previous configuration in force"
    wait(lambda: show(c, "StatusText")["StatusText"] == failed_line or submits_of(c, "soon "), 30,
         "STATUS= of the refused reload")
    expect(not submits_of(c, "soon "), "inconclusive: 'soon' came due before the refused reload's STATUS= was read")
    expect(failed_line in c.run("systemctl", "status", "--no-pager", "-n", "0", UNIT, check=False).stdout,
           "systemctl status does not show the refused reload")
    st = show(c, "ActiveState", "MainPID")
    expect(st["ActiveState"] == "active", st)
    expect(int(st["MainPID"]) == c.main_pid, "the daemon was restarted by a reload")
    # The old configuration runs: 'soon' is submitted, 'bad' never.
    subs = wait(lambda: submits_of(c, "soon "), 30, "the submit of 'soon'")
    expect(subs[0]["status"] == 200 and subs[0]["api_key_ok"], subs)
    expect(subs[0]["time_us"] / 1e6 >= at, "submitted before its instant")
    expect(not submits_of(c, "bad "), "the bad file's job was submitted")
    os.unlink(c.root + "/etc/batchcalld/jobs.d/bad.conf")
    reload_and_wait(c, ID["reloaded"], cursor(c))


@step
def journal_fields_and_catalog(c):
    """journalctl -u batchcalld JOB_NAME=, -o json fields, -x explanations."""
    es = wait(lambda: [e for e in journal(c, "-u", UNIT, "JOB_NAME=soon") if e.get("JOB_EVENT") == "submitted"],
              15, "the submitted entry of 'soon'")
    sub = es[0]
    batch = submits_of(c, "soon ")[0]["batch_id"]
    for k, v in (("SYSLOG_IDENTIFIER", "batchcalld"), ("MESSAGE_ID", ID["submitted"]), ("JOB_NAME", "soon"),
                 ("BATCH_ID", batch), ("JOB_STATE", "pending"), ("ATTEMPT", "1"), ("HTTP_STATUS", "200"),
                 ("PRIORITY", "5"), ("_SYSTEMD_UNIT", "batchcalld.service"), ("_TRANSPORT", "journal")):
        expect(sub.get(k) == v, "%s=%r, want %r" % (k, sub.get(k), v))
    expect(sub.get("RUN_START", "").isdigit(), sub)
    story = [e.get("JOB_EVENT") for e in journal(c, "-u", UNIT, "JOB_NAME=soon")]
    expect(story[:2] == ["scheduled", "submitted"], story)
    by_batch = journal(c, "-u", UNIT, "BATCH_ID=" + batch)
    expect(by_batch and all(e.get("JOB_NAME") == "soon" for e in by_batch), by_batch)
    x = c.run("journalctl", "--no-pager", "-x", "-u", UNIT, "JOB_NAME=soon").stdout
    expect("Subject: Batch %s of job soon submitted" % batch in x, x[-2000:])
    expect("Documentation: file://%s/README.md" % LAYOUT["doc"] in x, x[-2000:])
    # Every entry of this unit carries a MESSAGE_ID the catalog explains.
    ids = {e.get("MESSAGE_ID") for e in journal(c, "-u", UNIT, "SYSLOG_IDENTIFIER=batchcalld")}
    listed = c.run("journalctl", "--list-catalog").stdout
    for mid in ids:
        expect(mid and mid + " batchcalld: " in listed, "an entry without a catalogued MESSAGE_ID: %r" % mid)


@step
def control_group_user(c):
    """batchcallctl by a member of the control group, without -c."""
    c.run("groupadd", "ops")
    c.run("useradd", "-m", "-G", "ops", "alice")
    c.run("useradd", "-m", "bob")
    c.write("/etc/batchcalld/batchcalld.conf",
            conf_for_test().replace('# control_group = "batchcall";', 'control_group = "ops";'))
    # The README's drop-in: the socket is born with the service's group.
    c.write("/etc/systemd/system/batchcalld.service.d/group.conf", "[Service]\nGroup=ops\n")
    c.run("systemctl", "daemon-reload")
    c.run("systemctl", "restart", UNIT)
    st = show(c, "ActiveState", "MainPID")
    expect(st["ActiveState"] == "active", st)
    c.main_pid = int(st["MainPID"])
    o = c.run("stat", "-c", "%a %G", "/run/batchcalld/control.sock").stdout.split()
    expect(o == ["660", "ops"], "control.sock: %s" % o)
    p = c.run("batchcallctl", "status", user="alice", check=False)
    expect(p.returncode == 0 and "soon" in p.stdout and "later" in p.stdout, (p.returncode, p.stdout, p.stderr))
    p = c.run("batchcallctl", "status", "--json", user="alice", check=False)
    expect(p.returncode == 0 and {j["name"] for j in json.loads(p.stdout)["jobs"]} >= {"soon", "later"}, p.stdout)
    p = c.run("batchcallctl", "cancel", "later", user="alice", check=False)
    expect(p.returncode == 0, (p.stdout, p.stderr))
    alice, alice_gid = c.run("id", "-u", "alice").stdout.strip(), c.run("id", "-g", "alice").stdout.strip()
    es = [e for e in journal(c, "-u", UNIT, "JOB_NAME=later") if e.get("MESSAGE_ID") == ID["control"]]
    expect(es and es[-1].get("PEER_UID") == alice and es[-1].get("PEER_GID") == alice_gid and
           es[-1].get("PEER_PID", "").isdigit(), es)
    expect("(uid %s, gid %s, pid %s)" % (alice, alice_gid, es[-1]["PEER_PID"]) in es[-1]["MESSAGE"], es[-1])
    p = c.run("batchcallctl", "status", user="bob", check=False)
    expect(p.returncode == 3 and "permission denied on '/run/batchcalld/control.sock': it is for root and the "
           "group 'ops'" in p.stderr, (p.returncode, p.stderr))


RESULTS = "/var/lib/batchcalld-results"


@step
def results_for_the_group(c):
    """a configured results_dir is readable by control_group, not by others (DynamicUser=)."""
    # The README's setup: a folder of their own (the default lies below
    # /var/lib/private, which only root enters), writable by the group the
    # unit runs in, and opened in the sandbox by ReadWritePaths=.
    c.run("install", "-d", "-o", "root", "-g", "ops", "-m", "3770", RESULTS)
    text = conf_for_test().replace('# control_group = "batchcall";', 'control_group = "ops";')
    old = '# results_dir = "/var/lib/batchcalld/results";'
    assert old in text, old
    c.write("/etc/batchcalld/batchcalld.conf", text.replace(old, 'results_dir = "%s";' % RESULTS))
    c.write("/etc/systemd/system/batchcalld.service.d/results.conf", "[Service]\nReadWritePaths=%s\n" % RESULTS)
    c.run("systemctl", "daemon-reload")
    c.run("systemctl", "restart", UNIT)
    st = show(c, "ActiveState", "MainPID")
    expect(st["ActiveState"] == "active", st)
    c.main_pid = int(st["MainPID"])
    put_job(c, "res", job("res", int(time.time()) + 2, phones=("+15550100010", "+15550100021")))
    c.run("systemctl", "reload", UNIT)

    def written():
        d = c.root + RESULTS + "/res"
        names = sorted(os.listdir(d)) if os.path.isdir(d) else []
        return names if [n.rsplit(".", 1)[-1] for n in names] == ["csv", "jsonl"] else None
    names = wait(written, 60, "the results files of 'res'")
    folder = RESULTS + "/res"
    files = [folder + "/" + n for n in names]
    uid = re.search(r"^Uid:\s+(\d+)", c.run("cat", "/proc/%d/status" % c.main_pid).stdout, re.M).group(1)
    o = c.run("stat", "-c", "%a %G %u", folder, *files).stdout.split("\n")
    expect(o[0] == "2750 ops %s" % uid, "%s: %s (want 2750, group ops, the service's uid %s)" % (folder, o[0], uid))
    for f, line in zip(files, o[1:]):
        expect(line == "640 ops %s" % uid, "%s: %s (want 640, group ops)" % (f, line))
    # once the polls brought both conversations the files stay as they are
    # (text mode: CRLF read as LF)

    def settled():
        t = c.run("cat", files[0]).stdout
        rows = t.splitlines()
        done = len(rows) == 3 and rows[0].startswith("job,run_start,") and all(",done," in r for r in rows[1:])
        return t if done and c.run("batchcallctl", "results", "res").stdout == t else None
    csv_text = wait(settled, 60, "the conversations in the results files")
    # a member of the group reads them, directly and with batchcallctl
    # (from the daemon, and from the files once it is stopped) ...
    for f in files:
        p = c.run("cat", f, user="alice", check=False)
        expect(p.returncode == 0 and p.stdout, "alice (group ops) cannot read %s: %s" % (f, p.stderr))
    p = c.run("batchcallctl", "results", "res", user="alice", check=False)
    expect(p.returncode == 0 and p.stdout == csv_text, (p.returncode, p.stdout, p.stderr))
    c.run("systemctl", "stop", UNIT, timeout=60)
    p = c.run("batchcallctl", "results", "res", user="alice", check=False)
    expect(p.returncode == 0 and p.stdout == csv_text and "cannot be reached" in p.stderr,
           (p.returncode, p.stdout, p.stderr))
    # ... another user does not
    for path in files + [folder]:
        p = c.run("ls" if path == folder else "cat", path, user="bob", check=False)
        expect(p.returncode != 0 and "Permission denied" in p.stderr, "bob reads %s: %s" % (path, p.stdout))
    c.run("systemctl", "start", UNIT)
    st = show(c, "ActiveState", "MainPID")
    expect(st["ActiveState"] == "active", st)
    c.main_pid = int(st["MainPID"])


@step
def credentials_encrypted(c):
    """LoadCredentialEncrypted= as the README's drop-in has it."""
    os.makedirs(c.root + "/etc/credstore.encrypted", exist_ok=True)
    c.run("systemd-creds", "encrypt", "--name=elevenlabs-api-key", "-",
          "/etc/credstore.encrypted/elevenlabs-api-key.cred", input=KEY)
    c.write("/etc/systemd/system/batchcalld.service.d/credential.conf",
            "[Service]\nLoadCredential=\nLoadCredentialEncrypted=elevenlabs-api-key:"
            "/etc/credstore.encrypted/elevenlabs-api-key.cred\n")
    os.unlink(c.root + "/etc/batchcalld/elevenlabs-api-key")
    c.run("systemctl", "daemon-reload")
    n0 = len(sim_requests(c))
    put_job(c, "enc", job("enc", int(time.time()) + 2))
    c.run("systemctl", "restart", UNIT)
    st = show(c, "ActiveState", "MainPID")
    expect(st["ActiveState"] == "active", st)
    c.main_pid = int(st["MainPID"])
    subs = wait(lambda: submits_of(c, "enc "), 30, "the submit of 'enc'")
    expect(subs[0]["api_key_ok"] and subs[0]["status"] == 200, subs)
    expect(all(r["api_key_ok"] for r in sim_requests(c)[n0:]), "a request with another key")
    # The plain file is gone: the key came from the encrypted credential.
    expect(not os.path.exists(c.root + "/etc/batchcalld/elevenlabs-api-key"), "plain key file")


@step
def watchdog_restart_adopts(c):
    """SIGSTOP with a submit in flight: killed, restarted, batch adopted once."""
    st = show(c, "WatchdogUSec", "RestartUSec", "NRestarts", "MainPID")
    wd_s = int(st["WatchdogUSec"]) / 1e6 if st["WatchdogUSec"].isdigit() else parse_span(st["WatchdogUSec"])
    restart_s = int(st["RestartUSec"]) / 1e6 if st["RestartUSec"].isdigit() else parse_span(st["RestartUSec"])
    n0 = int(st["NRestarts"])
    # The submit's answer is held; the batch is created when the delay
    # ends. The daemon pings every wd/2, so systemd's kill comes at least
    # wd/2 after the SIGSTOP and the restart restart_s later: a delay of
    # wd/3 ends before the new daemon looks the run up.
    delay_ms = int(wd_s * 1000 / 3)
    sim_json(c, "POST", "/_sim/faults", {"endpoint": "submit", "kind": "delay", "delay_ms": delay_ms})
    put_job(c, "wd", job("wd", int(time.time()) + 2))
    c.run("systemctl", "reload", UNIT)
    held = wait(lambda: submits_of(c, "wd "), 30, "the held submit of 'wd'")
    expect(held[0]["status"] is None, held)
    c.run("systemctl", "kill", "--kill-who=main", "-s", "SIGSTOP", UNIT)
    t_stop = time.monotonic()
    new = wait(lambda: (lambda s: s if int(s["NRestarts"]) > n0 and s["ActiveState"] == "active" else None)(
        show(c, "NRestarts", "ActiveState", "MainPID")), wd_s + restart_s + 30, "the watchdog's restart", every=1)
    say("  watchdog: restarted %.1fs after SIGSTOP (WatchdogSec=%gs, RestartSec=%gs)"
        % (time.monotonic() - t_stop, wd_s, restart_s))
    expect(int(new["MainPID"]) != c.main_pid, new)
    c.main_pid = int(new["MainPID"])
    msgs = [e.get("MESSAGE", "") for e in journal(c, "-u", UNIT, "_PID=1")]
    expect(any("Watchdog timeout" in m for m in msgs), "no watchdog timeout from systemd: %s" % msgs[-10:])
    adopted = wait(lambda: [e for e in journal(c, "-u", UNIT, "JOB_NAME=wd", "_PID=%d" % c.main_pid)
                            if e.get("MESSAGE_ID") == ID["adopted"]], 60, "the adopted entry of 'wd'")
    subs = submits_of(c, "wd ")
    expect(len(subs) == 1 and subs[0]["status"] == 200, "submits of 'wd': %s" % subs)
    expect(adopted[0].get("BATCH_ID") == subs[0]["batch_id"], (adopted[0], subs))
    # The restart announces no run it already submitted ('soon', submitted
    # before the SIGSTOP) as scheduled again.
    again = [e["MESSAGE"] for e in journal(c, "-u", UNIT, "JOB_NAME=soon", "_PID=%d" % c.main_pid)
             if e.get("MESSAGE_ID") == ID["scheduled"]]
    expect(not again, "the restart logged a submitted run as scheduled: %s" % again)


def parse_span(s):
    total = 0.0
    for n, u in re.findall(r"([\d.]+)(min|ms|us|s|h)", s):
        total += float(n) * {"h": 3600, "min": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[u]
    return total


@step
def stop_in_flight(c):
    """stop with a submit held past TimeoutStopSec: extended, exit 0."""
    # TimeoutStopSec=2s < the held answer (4 s) < request_timeout (5 s, so
    # the answer is read, not timed out) < the daemon's stop bound (10 s):
    # only EXTEND_TIMEOUT_USEC keeps systemd from killing it.
    c.write("/etc/systemd/system/batchcalld.service.d/stop.conf", "[Service]\nTimeoutStopSec=2s\n")
    c.run("systemctl", "daemon-reload")
    sim_json(c, "POST", "/_sim/faults", {"endpoint": "submit", "kind": "delay", "delay_ms": 4000})
    put_job(c, "bye", job("bye", int(time.time()) + 2))
    c.run("systemctl", "reload", UNIT)
    wait(lambda: submits_of(c, "bye "), 30, "the held submit of 'bye'")
    t0 = time.monotonic()
    c.run("systemctl", "stop", UNIT, timeout=60)
    took = time.monotonic() - t0
    st = show(c, "Result", "ExecMainStatus", "ExecMainCode", "ActiveState")
    say("  stop: %.1fs with TimeoutStopSec=2s and the answer held 4s: %s" % (took, st))
    expect(st["Result"] == "success" and st["ExecMainStatus"] == "0" and st["ExecMainCode"] == "1", st)
    subs = submits_of(c, "bye ")
    expect(len(subs) == 1 and subs[0]["status"] == 200, subs)
    expect(took >= 2.5, "stopped in %.1fs: the held request was not waited for" % took)
    # The daemon is gone: batchcallctl says so with exit status 3.
    p = c.run("batchcallctl", "status", user="alice", check=False)
    expect(p.returncode == 3, (p.returncode, p.stderr))
    os.unlink(c.root + "/etc/systemd/system/batchcalld.service.d/stop.conf")
    c.run("systemctl", "daemon-reload")
    c.run("systemctl", "start", UNIT)
    # The answer was recorded before the exit: never submitted again.
    wait(lambda: "active batches" in show(c, "StatusText")["StatusText"], 20, "the restarted daemon")
    js = json.loads(c.run("batchcallctl", "status", "--json").stdout)
    bye = [j for j in js["jobs"] if j["name"] == "bye"][0]
    expect(bye["batch_id"] == subs[0]["batch_id"], bye)
    expect(len(submits_of(c, "bye ")) == 1, "submitted again after the restart")


def security(c):
    out = c.run("systemd-analyze", "security", "--no-pager", UNIT, check=False).stdout
    m = re.search(r"Overall exposure level for batchcalld\.service: ([\d.]+)", out)
    expect(m, out[-1500:])
    expect(float(m.group(1)) <= 2.0, out[-3000:])
    return float(m.group(1))


@step
def security_score(c):
    """systemd-analyze security (online) at most 2.0, shipped and with the drop-ins."""
    c.score = security(c)
    say("  systemd-analyze security batchcalld (online): %.1f as shipped, %.1f with Group= and "
        "LoadCredentialEncrypted=" % (c.score_shipped, c.score))


def conf_for_test():
    """etc/batchcalld.conf as the README installs it, edited for the
    simulator: its base_url, a request_timeout of 5 s (a lookup's grace is
    2 x this + 2 s) and a poll every 2 s."""
    with open(os.path.join(TOP_SRCDIR, "etc", "batchcalld.conf")) as f:
        text = f.read()
    for old, new in (('base_url = "https://api.elevenlabs.io";', 'base_url = "%s";' % SIM),
                     ("request_timeout = 30;", "request_timeout = 5;"), ("poll_interval = 30;", "poll_interval = 2;")):
        assert old in text, old
        text = text.replace(old, new)
    assert '# control_group = "batchcall";' in text
    return text


def skip_reason():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("systemd-nspawn", "debootstrap", "nsenter", "unshare"):
        if not shutil.which(tool):
            return "no %s (Debian packages systemd-container, debootstrap, util-linux)" % tool
    if not DEBS and not os.path.exists(os.path.join(TOP_BUILDDIR, "batchcalld")):
        return None  # a failure, not a skip: the build is missing
    # Namespaces nspawn needs.
    r = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--uts", "--ipc", "--net", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create the namespaces systemd-nspawn needs here (%s)" % r.stderr.strip()
    return None


def main():
    # A timeout's SIGTERM still powers the container off and unmounts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    if sys.argv[1:] == ["--print-root"]:
        # The cached root (built if missing), last line: for scripts/deb.
        print(base_root(), flush=True)
        return
    why = skip_reason()
    if why:
        print("SKIP: the container test cannot run here: " + why, flush=True)
        sys.exit(77)
    t0 = time.monotonic()
    if not DEBS:
        with open(os.path.join(TOP_BUILDDIR, "config.status")) as f:
            if "enable-sanitizers" in f.read() or "enable-fuzzing" in f.read():
                raise SystemExit("the container test installs a normal build; %s is instrumented" % TOP_BUILDDIR)
    lower = base_root()
    c = Container(lower)
    c.prepare()
    passed = failed = 0
    try:
        if DEBS:
            os.makedirs(c.root + "/var/tmp/bc-debs")
            for f in deb_files():
                shutil.copy(f, c.root + "/var/tmp/bc-debs/")
        else:
            # The README's install, literally: make install (DESTDIR for the root).
            r = subprocess.run(["make", "-C", TOP_BUILDDIR, "install", "DESTDIR=" + c.root], capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise Fail("make install failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])
        # Debian's policy-rc.d and the like are not ours to care about; the
        # units are read at boot.
        t_boot = time.monotonic()
        c.boot()
        say("booted in %.1fs (systemd %s)" % (time.monotonic() - t_boot,
                                               c.run("systemctl", "--version").stdout.split()[1]))
        if DEBS:
            # As an operator installs it: no key yet, so nothing starts.
            r = c.run("sh", "-c", "dpkg -i /var/tmp/bc-debs/*.deb", timeout=180)
            expect("neither enabled nor started" in r.stdout, "dpkg -i: " + r.stdout[-2000:])
            say("installed %s" % ", ".join(os.path.basename(f) for f in deb_files()))
        for fn in STEPS:
            t = time.monotonic()
            try:
                fn(c)
                passed += 1
                say("PASS: %s (%.1fs) %s" % (fn.__name__, time.monotonic() - t, fn.__doc__))
            except Exception as e:  # noqa: BLE001
                failed += 1
                say("FAIL: %s: %s" % (fn.__name__, e))
                j = c.run("journalctl", "--no-pager", "-n", "60", check=False)
                say("---- journal (tail)\n" + j.stdout + j.stderr)
                break  # the next steps build on this one
    except Fail as e:
        failed += 1
        say("FAIL: %s" % e)
    finally:
        c.shutdown()
        if failed:
            say("the container's files stay in %s (upper layer: %s/upper)" % (c.dir, c.dir))
            if c.mounted:
                subprocess.run(["umount", "-l", c.root])
        else:
            c.cleanup()
    left = len(STEPS) - passed - failed
    say("container test: %.0fs" % (time.monotonic() - t0))
    print("%d passed, %d failed%s" % (passed, failed, ", %d not run" % left if left else ""), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
