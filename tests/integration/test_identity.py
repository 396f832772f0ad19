#!/usr/bin/env python3
"""Exactly once under ordinary operator actions (issue 11): one regression
scenario per hole the issue lists, each running the real daemon against the
real simulator.

The assertions are about outcomes, not about how the daemon gets there, so
that they survive a redesign of the state folder and of the log wording:

- batches: submits answered 200 in the simulator's request log and the
  batches of the workspace list, counted per call_name (the documented
  rendering: the job's call_name or name, then the run's local start);
- which recipients each batch holds;
- state: any JSON record of the job found anywhere under state_dir (one
  document a file, or JSON Lines), whatever the files are called; a run
  "reaches" a state when such a record carries that documented state name;
- log: a console line at warning or worse carrying `job_name=JOB`
  (the SPEC's level names and field names, not the message text);
- the daemon is alive at the end and exits 0 on SIGTERM.

Written ahead of the fix: on the daemon as of commit 14a32d6 every
scenario fails but test_same_call_name_foreign_batch_other_agent (kept as
a guard); the commit that added this file lists each symptom.

Waits are deadlines on observable conditions, derived from poll_interval,
request_timeout and the lookup grace (2 x request_timeout + 2 s). A
"nothing more happens" check holds a condition for one grace period, the
longest a request still in flight may take to land.
"""
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SCALE, Env, run, wait_until  # noqa: E402

POLL = 1                          # the harness's poll_interval
REQUEST_TIMEOUT = 2               # the harness's request_timeout
GRACE = 2 * REQUEST_TIMEOUT + 2   # how long a request without an answer may still land
ACTIVE = ("pending", "in_progress")
FINAL = ("completed", "failed", "cancelled", "error", "missed")
RA_9999 = "Fri, 31 Dec 9999 23:59:59 GMT"


# ---- helpers -------------------------------------------------------------

def utc_name(base, t):
    """The call_name the SPEC renders for a run of instant t in zone UTC."""
    c = time.gmtime(t)
    return base + " " + time.strftime("%Y-%m-%d %H:%M:%S" if c.tm_sec else "%Y-%m-%d %H:%M", c)


def hms(t):
    return time.strftime("%H:%M:%S", time.gmtime(t))


def body_of(req):
    try:
        return json.loads(req["body"]) if req["body"] else {}
    except ValueError:
        return {}


def submits(sim, prefix="", ok=True, exclude=()):
    """Submits in the request log whose call_name starts with prefix; ok:
    only those answered 200 (a batch was made). exclude: seq numbers."""
    out = []
    for r in sim.requests("submit"):
        if r["seq"] in exclude:
            continue
        if ok and r["status"] != 200:
            continue
        if body_of(r).get("call_name", "").startswith(prefix):
            out.append(r)
    return out


def names_of(reqs):
    return [body_of(r).get("call_name") for r in reqs]


def phones(req_or_batch):
    rc = req_or_batch["recipients"] if "recipients" in req_or_batch else body_of(req_or_batch)["recipients"]
    return sorted(r.get("phone_number") for r in rc)


def batches_named(sim, prefix, exclude=()):
    return [b for b in sim.batches() if b["name"].startswith(prefix) and b["id"] not in exclude]


def records(env, job):
    """Every JSON record of job found under the state folder, whatever the
    layout: a file holding one document (or a list of them), or JSON Lines.
    Files kept as evidence of damage (*.damaged) are not state."""
    out = []
    for root, _dirs, files in os.walk(env.d.state):
        for name in files:
            if name.endswith(".damaged") or name == "lock":
                continue
            try:
                with open(os.path.join(root, name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:  # renamed or removed under us
                continue
            docs = []
            try:
                docs = [json.loads(text)]
            except ValueError:
                for line in text.splitlines():
                    try:
                        docs.append(json.loads(line))
                    except ValueError:
                        pass
            for d in docs:
                for x in d if isinstance(d, list) else [d]:
                    if isinstance(x, dict) and x.get("job") == job:
                        x["_path"] = os.path.join(root, name)
                        out.append(x)
    return out


def wait_record(env, job, pred, timeout, what):
    def find():
        m = [r for r in records(env, job) if pred(r)]
        return m or None
    try:
        return wait_until(find, timeout, what)
    except AssertionError as e:
        seen = sorted({(r.get("state"), r.get("batch_id"), os.path.basename(r["_path"])) for r in records(env, job)},
                      key=str)
        raise AssertionError("%s; records of job %r now: %s" % (e, job, seen)) from None


def wait_reaches(env, job, state, timeout, batch_id=None):
    """A run of job reaches state (with batch_id, when given)."""
    return wait_record(env, job, lambda r: r.get("state") == state and (batch_id is None or r.get("batch_id") == batch_id),
                       timeout, "a run of %r in state %r%s" % (job, state, " with batch %s" % batch_id if batch_id else ""))


def hold(pred, seconds, what):
    """pred must stay true for `seconds` (a bounded quiet period, not a race:
    it fails at the first moment it is false)."""
    deadline = time.monotonic() + seconds * SCALE
    while True:
        v = pred()
        if not v:
            raise AssertionError("no longer true: %s" % what)
        if time.monotonic() > deadline:
            return v
        time.sleep(0.05 * SCALE)


def until_wall(t):
    """Wait for the wall-clock instant t, one the daemon has a timer for."""
    wait_until(lambda: time.time() >= t, max(0.0, t - time.time()) + 1, "the instant %d" % t, scaled=False)


def count_is(fn, n):
    return lambda: len(fn()) == n


def alive(env):
    rc = env.d.proc.poll()
    assert rc is None, "the daemon died (%s): %s" % (describe_rc(rc), env.d.log()[-3000:])


def describe_rc(rc):
    if rc is not None and rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "signal %d" % -rc
    return "exit status %s" % rc


def stops_cleanly(env):
    alive(env)
    rc = env.d.stop()
    assert rc == 0, "SIGTERM: %s" % describe_rc(rc)


def unix_sock(env):
    return os.path.join(env.d.dir, "control.sock")


def control(env, method, path):
    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10 * SCALE)
            self.sock.connect(unix_sock(env))
    c = Conn("localhost", timeout=10 * SCALE)
    try:
        c.request(method, path, body=b"" if method == "POST" else None)
        r = c.getresponse()
        data = r.read()
        ctype = r.getheader("Content-Type") or ""
        return r.status, (json.loads(data) if ctype.startswith("application/json") else data.decode())
    finally:
        c.close()


def reloads(env, result):
    """batchcalld_reloads_total{result=...} from the control socket (SPEC names)."""
    st, text = control(env, "GET", "/metrics")
    assert st == 200, st
    for line in text.splitlines():
        m = re.match(r'batchcalld_reloads_total\{result="%s"\} (\S+)$' % result, line)
        if m:
            return int(float(m.group(1)))
    return 0


def reload(env, expect="ok"):
    """SIGHUP and wait until the daemon has taken it in (good or refused)."""
    ok0, bad0 = reloads(env, "ok"), reloads(env, "failed")
    env.d.signal(signal.SIGHUP)
    wait_until(lambda: reloads(env, "ok") > ok0 or reloads(env, "failed") > bad0, 10, "the reload")
    got = "ok" if reloads(env, "ok") > ok0 else "failed"
    assert got == expect, "reload %s, expected %s: %s" % (got, expect, env.d.log()[-2000:])


def ctl(env, *args):
    p = subprocess.run([harness.CTL, "-c", env.d.conf] + list(args), capture_output=True, text=True,
                       timeout=30 * SCALE)
    return p.returncode, p.stdout + p.stderr


def log_since(env, offset):
    return env.d.log()[offset:]


def bad_lines(text, job):
    """Console lines at warning or worse that carry job_name=JOB."""
    rx = re.compile(r"^(warning|err|error|crit|alert|emerg): .*\bjob_name=%s(?=\s|$)" % re.escape(job), re.M)
    return [m.group(0) for m in rx.finditer(text)]


def job_text(agent, when, recipients, extra=""):
    """A job body: when is an int (scheduled_time_unix) or a str (start, UTC)."""
    rc = ",\n                 ".join(
        "{ phone_number = \"%s\";%s }" % (p, ' timezone = "%s";' % z if z else "")
        for p, z in ((x, None) if isinstance(x, str) else x for x in recipients))
    at = ("scheduled_time_unix = %d;" % when) if isinstance(when, int) else \
        ('start = "%s";\n  timezone = "UTC";' % when)
    return """  agent_id = "%s";
  phone_number_id = "phnum_test";
  %s
  recipients = ( %s );
%s""" % (agent, at, rc, extra)


def job_file(env, name, body, file):
    """A job in a file of its own name (dot-named jobs need another file name:
    jobs_dir skips dot files)."""
    return env.d.write_job(name, body, file=file)


def mentions_instant(rec, t, call_name):
    """Whether a record is about the run of instant t: it holds that run's
    call_name, or t itself (seconds or milliseconds), whatever the keys."""
    def walk(v):
        if isinstance(v, dict):
            return any(walk(x) for x in v.values())
        if isinstance(v, list):
            return any(walk(x) for x in v)
        if isinstance(v, str):
            return v == call_name
        return isinstance(v, int) and not isinstance(v, bool) and v in (t, t * 1000)
    return walk({k: v for k, v in rec.items() if k != "_path"})


def own_record(recs, batch_id):
    return [r for r in recs if r.get("batch_id") == batch_id]


# ---- 1. a missed one-off fixed ahead, then a restart ----------------------

def missed_fixed_ahead(work, job, fixed):
    """fixed(t) -> the `when` of job_text for the new instant t."""
    phs = ("+15550100001", "+15550100002")
    with Env(work) as env:
        old = int(time.time()) - 3600          # beyond max_lateness (900 s)
        env.d.write_job(job, job_text("agent_test", fixed(old), phs))
        env.d.start()
        env.d.wait_started()
        wait_reaches(env, job, "missed", 10)
        assert submits(env.sim, job + " ") == []
        # The operator fixes the start a few seconds ahead and reloads ...
        new = int(time.time()) + 6
        env.d.write_job(job, job_text("agent_test", fixed(new), phs))
        reload(env)
        # ... and restarts the daemon before the new instant.
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        env.d.start()
        env.d.wait_started()
        assert time.time() < new, "setup too slow: the restart ended after the new instant"
        first = wait_until(lambda: submits(env.sim, job + " "), new - time.time() + GRACE + 10,
                           "the fixed run's submit")[0]
        assert first["time_us"] >= new * 1000000, "submitted before its new instant"
        # Nothing more for one grace period: a second submit would come now.
        try:
            hold(count_is(lambda: submits(env.sim, job + " "), 1), GRACE, "one submit")
        except AssertionError:
            subs = submits(env.sim, job + " ")
            try:  # for the report: does the daemon survive it?
                wait_until(lambda: env.d.proc.poll() is not None, GRACE, "the daemon's end")
            except AssertionError:
                pass
            raise AssertionError("%d batches for job %r: %s (daemon: %s)" % (
                len(subs), job, names_of(subs),
                "alive" if env.d.proc.poll() is None else describe_rc(env.d.proc.poll()))) from None
        assert len(batches_named(env.sim, job + " ")) == 1, batches_named(env.sim, job + " ")
        assert names_of([first]) == [utc_name(job, new)], names_of([first])
        assert phones(first) == sorted(phs)
        wait_reaches(env, job, "completed", 5 * POLL + 10, batch_id=first["batch_id"])
        stops_cleanly(env)


def test_missed_oneoff_fixed_ahead_then_restart(work):
    # `start` fixed ahead (wall time in UTC).
    missed_fixed_ahead(work, "fixstart", lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)))


def test_missed_oneoff_fixed_ahead_then_restart_unix(work):
    # `scheduled_time_unix` fixed ahead.
    missed_fixed_ahead(work, "fixunix", lambda t: t)


# ---- 2. on_removal = "keep": removed and added again --------------------

def test_keep_removed_and_readded(work):
    # speed 0.05: a long call (last digit 9) lasts 6 minutes, so the batch
    # is still in progress while the file comes and goes; the simulator's
    # clock is then advanced to finish it.
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = "keeper"
        path = env.d.write_job(job, job_text("agent_test", int(time.time()), ("+15550100009",),
                                             '  on_removal = "keep";'))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the submit")[0]
        bid = sub["batch_id"]
        wait_record(env, job, lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10,
                    "the run holding its batch")
        aside = os.path.join(work, "keeper.conf.aside")
        shutil.move(path, aside)
        reload(env)
        assert env.sim.batch(bid)["status"] in ACTIVE, "the kept batch was cancelled"
        shutil.move(aside, path)
        reload(env)
        try:
            hold(count_is(lambda: submits(env.sim, job + " "), 1), GRACE, "one submit")
        except AssertionError:
            subs = submits(env.sim, job + " ")
            raise AssertionError("%d batches for call_name %s after the job came back" % (
                len(subs), sorted(set(names_of(subs))))) from None
        assert [b["id"] for b in batches_named(env.sim, job + " ")] == [bid]
        assert env.sim.requests("cancel") == []
        # The daemon follows that batch to its end.
        env.sim.advance(1000)
        wait_reaches(env, job, "completed", 3 * POLL + 10, batch_id=bid)
        assert len(submits(env.sim, job + " ")) == 1
        stops_cleanly(env)


# ---- 3. a job whose name starts with a dot ------------------------------

def test_dot_named_job_restart(work):
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = ".x"
        job_file(env, job, job_text("agent_test", int(time.time()), ("+15550100001",)), "dotx")
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the submit")[0]
        bid = sub["batch_id"]
        wait_record(env, job, lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10,
                    "the run holding its batch")
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        env.d.start()
        env.d.wait_started()
        try:
            hold(count_is(lambda: submits(env.sim, job + " "), 1), GRACE, "one submit")
        except AssertionError:
            subs = submits(env.sim, job + " ")
            raise AssertionError("%d batches for call_name %s after a restart" % (
                len(subs), sorted(set(names_of(subs))))) from None
        env.sim.advance(1000)
        wait_reaches(env, job, "completed", 3 * POLL + 10, batch_id=bid)
        assert [b["id"] for b in batches_named(env.sim, job + " ")] == [bid]
        stops_cleanly(env)


def test_dot_names_addressable(work):
    # Jobs named "." and ".." are valid names: batchcallctl reaches them
    # through the control socket (their path is never folded like a file
    # system path).
    with Env(work) as env:
        for job, f in ((".", "dot"), ("..", "dotdot")):
            job_file(env, job, job_text("agent_test", int(time.time()) + 3600, ("+15550100001",)), f)
        env.d.start()
        env.d.wait_started()
        for job in (".", ".."):
            rc, out = ctl(env, "show", job, "--json")
            assert rc == 0, (job, out)
            assert json.loads(out)["name"] == job, out
            rc, out = ctl(env, "trigger", job)
            assert rc == 0, (job, out)
            wait_until(lambda: submits(env.sim, job + " "), 10, "the triggered submit of %r" % job)
        stops_cleanly(env)


# ---- 4. two jobs, one call_name ------------------------------------------

def test_same_call_name_two_jobs(work):
    # Three independent checks; every failure is reported, not only the first.
    problems = []
    with Env(work) as env:
        at = int(time.time()) + 8
        shared = '  call_name = "Shared";'
        a = env.d.write_job("a", job_text("agent_test", at, ("+15550100001",), shared))
        b_body = job_text("agent_test", at, ("+15550100002", "+15550100003"), shared)
        b = env.d.write_job("b", b_body)

        # check refuses it and names both places.
        rc, out = ctl(env, "check")
        if rc != 1:
            problems.append("check exit status %d with two jobs rendering call_name %r" % (rc, utc_name("Shared", at)))
        for p in (a, b):
            if not re.search(re.escape(p) + r":\d+", out):
                problems.append("check does not name %s" % p)

        # A daemon given it refuses to start (exit status 1).
        env.d.start()
        try:
            env.d.wait_started()  # returns once it is up; fails at once if it exited
        except AssertionError:
            pass
        if env.d.proc.poll() is not None:
            env.d.log_fh.close()
            if env.d.proc.returncode != 1:
                problems.append("daemon given the configuration: %s" % describe_rc(env.d.proc.returncode))
        else:
            problems.append("the daemon started with two jobs sharing call_name 'Shared'")
            rc = env.d.stop()
            assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        assert env.sim.requests("submit") == [], "submitted before the instant"

        # Running with job a alone, adding b is a refused reload: the old
        # configuration stays (only a's recipients are ever submitted).
        env.d.remove_job("b")
        env.d.start()
        env.d.wait_started()
        env.d.write_job("b", b_body)
        try:
            reload(env, expect="failed")
        except AssertionError:
            problems.append("reload with a second job of call_name 'Shared' was not refused")
        assert time.time() < at, "setup too slow: the instant passed"
        wait_until(lambda: submits(env.sim, "Shared "), at - time.time() + 10, "a's submit")
        until_wall(at)
        try:
            hold(count_is(lambda: submits(env.sim, "Shared "), 1), GRACE, "one batch")
        except AssertionError:
            pass
        subs = submits(env.sim, "Shared ")
        if len(subs) != 1:
            problems.append("%d batches for call_name %r (recipients %s)" % (
                len(subs), utc_name("Shared", at), [phones(r) for r in subs]))
        elif phones(subs[0]) != ["+15550100001"]:
            problems.append("the batch holds %s, not job a's recipients" % phones(subs[0]))
        if not problems:
            stops_cleanly(env)
    assert not problems, "; ".join(problems)


def foreign_batch_not_adopted(work, foreign):
    """A batch with the run's call_name made by someone else before the run's
    own submit is lost (dropped): the run must not adopt it."""
    mine = ("+15550100001", "+15550100002")
    with Env(work) as env:
        at = int(time.time()) + 2
        name = utc_name("Lookalike", at)
        st, body = env.sim.call("POST", harness.SUBMIT_PATH, dict(foreign, call_name=name))
        assert st == 200, (st, body)
        fid = body["id"]
        fseq = [r["seq"] for r in env.sim.requests("submit") if r["batch_id"] == fid]
        env.sim.fault(endpoint="submit", kind="drop", count=1)
        env.d.write_job("look", job_text("agent_test", at, mine, '  call_name = "Lookalike";'))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: submits(env.sim, "Lookalike ", ok=False, exclude=fseq), 10, "the dropped submit")
        done = wait_record(env, "look", lambda r: r.get("state") in FINAL and r.get("batch_id"),
                           2 * GRACE + 15, "the run to end with a batch")[0]
        assert done["batch_id"] != fid, "the run adopted the foreign batch %s (%s)" % (fid, done.get("state"))
        own = submits(env.sim, "Lookalike ", exclude=fseq)
        assert [r["batch_id"] for r in own] == [done["batch_id"]], (own, done["batch_id"])
        assert phones(env.sim.batch(done["batch_id"])) == sorted(mine)
        assert done["state"] == "completed", done["state"]
        assert env.sim.batch(fid)["status"] != "cancelled", "the foreign batch was cancelled"
        stops_cleanly(env)


def test_same_call_name_foreign_batch_not_adopted(work):
    # Same agent and name, another recipient count.
    foreign_batch_not_adopted(work, {"agent_id": "agent_test", "agent_phone_number_id": "phnum_test",
                                     "recipients": [{"phone_number": "+15550100003"}]})


def test_same_call_name_foreign_batch_other_agent(work):
    # Same name and recipient count, another agent.
    foreign_batch_not_adopted(work, {"agent_id": "agent_other", "agent_phone_number_id": "phnum_test",
                                     "recipients": [{"phone_number": "+15550100003"},
                                                    {"phone_number": "+15550100004"}]})


# ---- 5. trigger whose submit fails ----------------------------------------

def trigger_failed(work, fault):
    with Env(work) as env:
        job = "trig"
        at = int(time.time()) + 3600
        env.d.write_job(job, job_text("agent_test", at, ("+15550100001", "+15550100002")))
        env.d.start()
        env.d.wait_started()
        env.sim.fault(endpoint="submit", count=1, **fault)
        mark = len(env.d.log())
        rc, out = ctl(env, "trigger", job)
        assert rc == 0, (rc, out)
        wait_until(lambda: submits(env.sim, job + " ", ok=False), 10, "the triggered submit")
        # The failed attempt is followed by another one long before the
        # run's own instant: within the backoff (and the grace of a lost answer).
        try:
            ok = wait_until(lambda: submits(env.sim, job + " "), 2 * GRACE + 10, "a second attempt")
        except AssertionError:
            tries = submits(env.sim, job + " ", ok=False)
            raise AssertionError("no second submit after the failed trigger (%d attempts, statuses %s); run now %s" % (
                len(tries), [r["status"] for r in tries],
                sorted({r.get("state") for r in records(env, job)}, key=str))) from None
        assert ok[0]["time_us"] < (at - 3000) * 1000000
        hold(count_is(lambda: submits(env.sim, job + " "), 1), GRACE, "exactly one batch")
        assert len(batches_named(env.sim, job + " ")) == 1
        assert bad_lines(log_since(env, mark), job), "no warning naming job %r about the failed attempt" % job
        stops_cleanly(env)


def test_trigger_failed_submit_not_lost(work):
    trigger_failed(work, {"kind": "status", "status": 503})


def test_trigger_failed_submit_not_lost_drop(work):
    trigger_failed(work, {"kind": "drop"})


# ---- 6. a damaged zone part file -------------------------------------------

def test_damaged_part_file(work):
    # The window is open now in UTC and closed in Tokyo: the UTC part is
    # submitted now, the Tokyo part waits for its own opening (hours away).
    now = int(time.time())
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = "zparts"
        env.d.write_job(job, job_text("agent_test", now, ("+15550100001", "+15550100002",
                                                           ("+81312345671", "Asia/Tokyo")),
                                      '  calling_hours = { from = "%s"; to = "%s"; };' % (
                                          hms(now - 3600), hms(now + 3600))))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the UTC part's submit")[0]
        part_name = body_of(sub)["call_name"]
        assert part_name.endswith("(UTC)"), part_name
        bid = sub["batch_id"]
        wait_record(env, job, lambda r: r.get("batch_id") == bid, 10, "the UTC part's record")
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        holders = own_record(records(env, job), bid)
        assert len({r["_path"] for r in holders}) == 1, holders
        with open(holders[0]["_path"], "wb") as f:
            f.write(b"\x00garbage, not a run\xff{")
        env.d.start()
        env.d.wait_started()
        try:
            wait_record(env, job, lambda r: r.get("batch_id") == bid, GRACE + 10,
                        "the part run adopting its batch %s" % bid)
        except AssertionError as e:
            raise AssertionError("part run not adopted after the damage: %s" % e) from None
        try:
            hold(count_is(lambda: submits(env.sim, part_name), 1), GRACE, "one batch for the part")
        except AssertionError:
            raise AssertionError("%d batches for call_name %r" % (len(submits(env.sim, part_name)), part_name)) from None
        assert len(submits(env.sim, job + " ")) == 1  # the Tokyo part still waits
        stops_cleanly(env)


# ---- 7. a damaged run file keeps its instant -----------------------------

def test_damaged_file_keeps_its_instant(work):
    # A one-off submitted at T1 whose start is then edited to T2 (the batch
    # is not altered); its run file is damaged while the daemon is down. The
    # run looked up after the restart is the one of T1 (the file's), not the
    # job's new start: no batch is ever made for T2.
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = "moved"
        t1 = int(time.time())
        phs = ("+15550100001", "+15550100002")
        env.d.write_job(job, job_text("agent_test", t1, phs))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the submit")[0]
        bid = sub["batch_id"]
        assert body_of(sub)["call_name"] == utc_name(job, t1)
        wait_record(env, job, lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10, "the record")
        t2 = int(time.time()) + 8
        env.d.write_job(job, job_text("agent_test", t2, phs))
        reload(env)
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        holders = own_record(records(env, job), bid)
        assert len({r["_path"] for r in holders}) == 1, holders
        with open(holders[0]["_path"], "wb") as f:
            f.write(b'{"format": "batchcalld-run", "vers')
        env.d.start()
        env.d.wait_started()
        try:
            until_wall(t2)  # the job's new start: a run rebuilt from it would be submitted now
            hold(count_is(lambda: submits(env.sim, job + " "), 1), GRACE, "one batch")
        except AssertionError:
            subs = submits(env.sim, job + " ")
            raise AssertionError("%d batches for job %r: %s (T1 %s, T2 %s)" % (
                len(subs), job, names_of(subs), utc_name(job, t1), utc_name(job, t2))) from None
        adopted = wait_record(env, job, lambda r: r.get("batch_id") == bid, 5,
                              "a run holding the T1 batch %s" % bid)
        assert any(mentions_instant(r, t1, utc_name(job, t1)) for r in adopted), \
            "the run holding %s is not the run of T1: %s" % (bid, adopted)
        stops_cleanly(env)


# ---- 8. enabled = false reaches zone parts ----------------------------------

def test_edit_disables_zone_parts(work):
    # Three zones with the same offset (UTC, Abidjan, Reykjavik: UTC+0, no
    # DST): the run splits into three parts, all deferred to a window that
    # opens a few seconds from now.
    now = int(time.time())
    opens = now + 8
    rcpts = (("+15550100001", None), ("+15550100002", "Africa/Abidjan"), ("+15550100003", "Atlantic/Reykjavik"))
    hours = '  calling_hours = { from = "%s"; to = "%s"; };' % (hms(opens), hms(opens + 3600))
    with Env(work) as env:
        job = "zoff"
        env.d.write_job(job, job_text("agent_test", now, rcpts, hours))
        env.d.start()
        env.d.wait_started()
        env.d.write_job(job, job_text("agent_test", now, rcpts, hours + "\n  enabled = false;"))
        reload(env)
        assert time.time() < opens, "setup too slow: disabled after the window opened"
        # Nothing is submitted at the opening, nor a grace period later.
        until_wall(opens)
        try:
            hold(count_is(lambda: submits(env.sim, job + " "), 0), GRACE, "no submit while disabled")
        except AssertionError:
            subs = submits(env.sim, job + " ")
            raise AssertionError("%d parts submitted while enabled = false: %s" % (len(subs), names_of(subs))) from None
        env.d.write_job(job, job_text("agent_test", now, rcpts, hours))
        reload(env)
        subs = wait_until(lambda: (lambda x: x if len(x) >= 3 else None)(submits(env.sim, job + " ")), GRACE + 10,
                          "the three parts' submits")
        hold(count_is(lambda: submits(env.sim, job + " "), 3), GRACE, "three submits")
        names = names_of(subs)
        assert len(set(names)) == 3, names
        got = {n.rsplit("(", 1)[1].rstrip(")"): phones(r) for n, r in zip(names, subs)}
        assert got == {"UTC": ["+15550100001"], "Africa/Abidjan": ["+15550100002"],
                       "Atlantic/Reykjavik": ["+15550100003"]}, got
        stops_cleanly(env)


# ---- 9. an edit keeps a recurring job's follow-up ----------------------------

def test_recurring_edit_keeps_followups(work):
    # A daily job whose occurrence is a few seconds from now, in a window
    # that closes C seconds later and opens again G seconds after that (the
    # window straddles midnight: from > to, so the gap is [to, from)). Calls
    # are slow and one at a time: at the close the batch is cancelled and
    # its never-dialled recipients become the "(resume 1)" follow-up for
    # the opening. The job is then edited (its call_name) and reloaded: the
    # follow-up is still submitted at the opening.
    now = int(time.time())
    occ = now + 3
    close = occ + 6
    opens = close + 10
    rcpts = ("+15550100011", "+15550100012", "+15550100013", "+15550100014")

    def body(name):
        return """  agent_id = "agent_test";
  timezone = "UTC";
  repeat = "*-*-* %s";
  call_name = "%s";
  target_concurrency_limit = 1;
  resume = true;
  calling_hours = { from = "%s"; to = "%s"; };
  recipients = ( %s );""" % (hms(occ), name, hms(opens), hms(close),
                             ", ".join('{ phone_number = "%s"; }' % p for p in rcpts))

    with Env(work, sim_kw={"speed": 0.2}) as env:
        job = "rec"
        env.d.write_job(job, body("Rec A"))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, "Rec A "), occ - time.time() + 10, "the occurrence's submit")[0]
        bid = sub["batch_id"]
        cancel = wait_until(lambda: env.sim.requests("cancel"), close - time.time() + 10, "the cancel at the close")[0]
        assert cancel["path"].endswith(bid + "/cancel"), cancel
        wait_record(env, job, lambda r: "(resume 1)" in json.dumps(r), 10, "the follow-up run")
        detail = env.sim.batch(bid)
        never = sorted(r["phone_number"] for r in detail["recipients"] if r["conversation_id"] is None)
        assert never, detail["recipients"]
        env.d.write_job(job, body("Rec B"))
        reload(env)
        assert time.time() < opens, "setup too slow: edited after the opening"
        try:
            fu = wait_until(lambda: [r for r in submits(env.sim) if "(resume 1)" in body_of(r).get("call_name", "")],
                            opens - time.time() + GRACE + 10, "the follow-up's submit at the opening")
        except AssertionError:
            raise AssertionError("the follow-up was dropped by the edit: no '(resume 1)' submit; warnings: %s" % (
                bad_lines(env.d.log(), job),)) from None
        assert fu[0]["time_us"] >= opens * 1000000, "follow-up submitted before the opening"
        assert phones(fu[0]) == never, (phones(fu[0]), never)
        hold(lambda: len([r for r in submits(env.sim) if "(resume 1)" in body_of(r).get("call_name", "")]) == 1,
             GRACE, "one follow-up batch")
        stops_cleanly(env)


# ---- 10. Retry-After in the year 9999 ---------------------------------------

WAIT_RX = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds)\b")


def logged_waits(text, job=None):
    """Every duration in seconds written in the log (lines naming job)."""
    out = []
    for line in text.splitlines():
        if job and ("job_name=%s" % job) not in line and ("'%s'" % job) not in line:
            continue
        out += [(float(m.group(1)), line) for m in WAIT_RX.finditer(line)]
    return out


def next_due(env, job):
    st, j = control(env, "GET", "/v1/jobs/" + job)
    assert st == 200, (st, j)
    return j.get("next_due_unix")


def test_retry_after_in_9999(work):
    # Retry-After is capped (at most an hour): an answer asking to come back
    # in the year 9999 must not park a run, or the shared list scan, for
    # ever. Waiting an hour is not a test; what it checks: the run's next
    # step (control socket, next_due_unix) is within the hour, and no wait
    # over 3600 s is logged. Calls last minutes (speed 0.05) so that
    # batches stay active; the simulator's clock is advanced to end one.
    cap = 3600

    problems = []

    def due_within(job, what):
        try:  # the answer reaches the run on the daemon's loop, just after the simulator logged it
            due = wait_until(lambda: next_due(env, job), 5, "the job's next step")
        except AssertionError:
            due = None
        if due is not None and due > time.time() + cap + 5:
            problems.append("%s parked until %s (in %d s)" % (
                what, datetime.datetime.fromtimestamp(min(due, 253402300799), datetime.timezone.utc),
                due - time.time()))

    with Env(work, sim_kw={"speed": 0.05}) as env:
        # get: the detail fetched when a batch ends
        env.d.write_job("ra-get", job_text("agent_test", int(time.time()), ("+15550100001",)))
        env.d.start()
        env.d.wait_started()
        bid = wait_until(lambda: submits(env.sim, "ra-get "), 10, "the submit")[0]["batch_id"]
        wait_record(env, "ra-get", lambda r: r.get("batch_id") == bid, 10, "the run holding its batch")
        env.sim.fault(endpoint="get", kind="status", status=503, retry_after=RA_9999, count=1)
        env.sim.advance(1000)
        wait_until(lambda: [r for r in env.sim.requests("get") if r["fault"]], 3 * POLL + 10,
                   "the faulted detail fetch")
        due_within("ra-get", "the detail fetch")

        # submit: an answer that leaves the outcome unknown
        env.sim.fault(endpoint="submit", kind="status", status=503, retry_after=RA_9999, count=1)
        env.d.write_job("ra-sub", job_text("agent_test", int(time.time()), ("+15550100002",)))
        reload(env)
        wait_until(lambda: [r for r in env.sim.requests("submit") if r["fault"]], 10, "the faulted submit")
        due_within("ra-sub", "the submit's next attempt")

        # list: the poll of an active batch
        env.d.write_job("ra-list", job_text("agent_test", int(time.time()), ("+15550100003",)))
        reload(env)
        bid = wait_until(lambda: submits(env.sim, "ra-list "), 10, "the submit")[0]["batch_id"]
        wait_record(env, "ra-list", lambda r: r.get("batch_id") == bid, 10, "the run holding its batch")
        env.sim.fault(endpoint="list", kind="status", status=503, retry_after=RA_9999, count=1)
        wait_until(lambda: [r for r in env.sim.requests("list") if r["fault"]], 3 * POLL + 10, "the faulted poll")
        control(env, "GET", "/v1/jobs")  # one turn of the daemon's loop: the answer was read
        too_long = [(s, line) for s, line in logged_waits(env.d.log()) if s > cap]
        if too_long:
            problems.append("waits longer than %d s logged: %s" % (cap, [line for _s, line in too_long[:3]]))
        stops_cleanly(env)
    assert not problems, "; ".join(problems)


def test_emptied_state_folder_adopts(work):
    """A state folder emptied under a due run (a package purged and
    installed again, a folder wiped): the start finds the batch by its
    call_name and adopts it; it is never submitted again."""
    with Env(work) as env:
        at = int(time.time()) + 2
        env.d.write_job("wiped", job_text("agent_test", at, ["+15550100001"]))
        env.d.start()
        st = wait_record(env, "wiped", lambda r: r.get("batch_id"), 20, "the batch of 'wiped'")[0]
        stops_cleanly(env)
        shutil.rmtree(env.d.state)
        os.makedirs(env.d.state)
        env.d.start()
        env.d.wait_log(r"job 'wiped': adopted batch %s" % st["batch_id"], 20)
        assert len(submits(env.sim, "wiped ")) == 1, submits(env.sim, "wiped ")
        assert len(batches_named(env.sim, "wiped ")) == 1
        stops_cleanly(env)


def test_emptied_state_folder_keeps_retries(work):
    """A run whose batch was retried up to its policy (max_retries = 2) and
    the state folder emptied after: the start adopts the batch and takes
    its retry_count as the run's retries, so nothing is retried again (it
    retried twice more, the model test's number called four times under
    contact limits of two)."""
    with Env(work) as env:
        at = int(time.time()) + 2
        env.d.write_job("tried", job_text("agent_test", at, ["+15550100006"]))
        env.d.start()
        st = wait_record(env, "tried", lambda r: r.get("state") in FINAL, 60, "the run of 'tried' final")[0]
        assert len(env.sim.requests("retry")) == 2, env.sim.requests("retry")
        stops_cleanly(env)
        shutil.rmtree(env.d.state)
        os.makedirs(env.d.state)
        env.d.start()
        env.d.wait_log(r"job 'tried': adopted batch %s" % st["batch_id"], 20)
        again = wait_record(env, "tried", lambda r: r.get("state") in FINAL, 30, "the adopted run final")[0]
        assert again.get("retries") == 2, again
        time.sleep(3)  # the policy's delay is 1 s: a third retry would be sent by now
        assert len(env.sim.requests("retry")) == 2, env.sim.requests("retry")
        assert len(submits(env.sim, "tried ")) == 1
        stops_cleanly(env)


def test_emptied_state_folder_job_readded_adopts(work):
    """A job out of the files when the state folder is emptied (removed with
    on_removal = keep, its batch left running), brought back by a reload
    after the start: its run came due before this daemon began, so it is
    looked up first and adopts its batch; it is never submitted again (the
    model test found it submitted twice: only the start looked runs up)."""
    with Env(work, sim_kw={"speed": 0.05}) as env:
        at = int(time.time()) + 2
        body = job_text("agent_test", at, ["+15550100001"], '  on_removal = "keep";\n')
        env.d.write_job("back", body)
        env.d.start()
        st = wait_record(env, "back", lambda r: r.get("batch_id"), 20, "the batch of 'back'")[0]
        env.d.remove_job("back")
        reload(env)
        env.d.wait_log(r"job 'back'.*left running", 10)
        stops_cleanly(env)
        shutil.rmtree(env.d.state)
        os.makedirs(env.d.state)
        env.d.start()
        env.d.wait_started()
        env.d.write_job("back", body)
        reload(env)
        env.d.wait_log(r"job 'back': adopted batch %s" % st["batch_id"], 20)
        hold(lambda: len(submits(env.sim, "back ")) == 1, 3, "no second submit")
        assert len(batches_named(env.sim, "back ")) == 1
        stops_cleanly(env)


def test_recurring_looked_up_at_start_goes_on(work):
    """A recurring job whose occurrences came due before the start: each is
    looked up first, and the series goes on (a run that is looked up never
    leaves "scheduled", the change that used to plan the next one)."""
    with Env(work, sim_kw={"speed": 0.01}) as env:  # batches stay active
        env.d.write_job("goes-on", """  agent_id = "agent_test";
  phone_number_id = "phnum_test";
  timezone = "UTC";
  repeat = "*-*-* *:*:00/2";
  overlap = "cancel_previous";
  scheduled_time_unix = %d;
  recipients = ( { phone_number = "+15550100001"; } );
""" % (int(time.time()) - 5))
        env.d.start()
        env.d.wait_log(r"job 'goes-on': run '[^']*' came due before this start and has no record", 10)
        wait_until(lambda: len(submits(env.sim, "goes-on ")) >= 3, 20 * SCALE, "three occurrences")
        names = names_of(submits(env.sim, "goes-on "))
        assert len(names) == len(set(names)), names
        stops_cleanly(env)


def test_zone_edit_same_wall_time(work):
    """A daily job ran (late, within max_lateness) at today's 'HH:MM:SS'
    UTC; its timezone is then edited to Etc/GMT+1, where today's same wall
    time is an hour later and gives the same call_name. That occurrence is
    the run already made: it is not submitted again, the next run is
    tomorrow's, and the log says why (review: two batches under one
    call_name, the recipient rung twice within an hour)."""
    job, ph = "daily", "+15550100001"
    occ = int(time.time()) - 3600 + 8  # today's occurrence in UTC: 59m52s ago
    wall = hms(occ)
    first = time.strftime("%Y-%m-%d 00:00", time.gmtime(time.time() - 3 * 86400))

    def text(tz):
        return """  agent_id = "agent_test";
  phone_number_id = "phnum_test";
  timezone = "%s";
  start = "%s";
  repeat = "*-*-* %s";
  max_lateness = 3600;
  recipients = ( { phone_number = "%s"; } );
""" % (tz, first, wall, ph)
    with Env(work) as env:
        env.d.write_job(job, text("UTC"))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: submits(env.sim, job + " "), 15, "the late run's submit")
        wait_record(env, job, lambda r: r.get("state") == "completed", 30, "the run completed")
        env.d.write_job(job, text("Etc/GMT+1"))
        reload(env)
        env.d.wait_log(r"job 'daily': 1 occurrence from \S+-01:00 not run: a run of the job already has its call_name", 10)
        st, nxt = control(env, "GET", "/v1/jobs/" + job)
        assert st == 200 and nxt["start_utc"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(occ + 86400 + 3600)), nxt
        until_wall(occ + 3600 + 3)
        subs = submits(env.sim, job + " ", ok=False)
        assert len(subs) == 1, [body_of(r)["call_name"] for r in subs]
        stops_cleanly(env)


if __name__ == "__main__":
    run([test_dot_names_addressable, test_missed_oneoff_fixed_ahead_then_restart, test_missed_oneoff_fixed_ahead_then_restart_unix,
         test_keep_removed_and_readded, test_dot_named_job_restart,
         test_same_call_name_two_jobs, test_same_call_name_foreign_batch_not_adopted,
         test_same_call_name_foreign_batch_other_agent,
         test_trigger_failed_submit_not_lost, test_trigger_failed_submit_not_lost_drop,
         test_damaged_part_file, test_damaged_file_keeps_its_instant, test_edit_disables_zone_parts,
         test_recurring_edit_keeps_followups, test_retry_after_in_9999,
         test_emptied_state_folder_adopts, test_emptied_state_folder_keeps_retries,
         test_emptied_state_folder_job_readded_adopts,
         test_recurring_looked_up_at_start_goes_on, test_zone_edit_same_wall_time])
