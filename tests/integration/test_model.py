#!/usr/bin/env python3
"""Model-based test of the operator's whole action space (issue 11).

A Hypothesis rule-based state machine drives the real batchcalld and the
real batchcall-sim over loopback through random sequences of what an
operator (and the world) can do, keeps a model of what it did, and checks
after every step, and thoroughly once the system is quiet, that nobody is
rung twice and no run is lost. A failure is shrunk by Hypothesis to a
minimal action sequence, which is printed with the tails of daemon.log and
sim.stderr.

Actions (rules), each small: jobs are due a few seconds ahead, the
simulator runs at --speed 50 or 5, poll_interval is 1 s and request_timeout
1 or 2 s, so that every grace period is short.

  add a job file (one-off or recurring every few seconds, `start` in a zone
  or `scheduled_time_unix`, with or without calling hours, recipients whose
  last digit picks their outcome), edit one field of a job (start, timezone,
  repeat, calling hours, enabled, call_name, on_removal, recipients,
  max_lateness), remove a job file, put a removed job back (as it was, or
  with a new start), rename a job file, reload with nothing changed or with
  a broken file present; every file change is followed by SIGHUP and a wait
  for the reload's log line.  Restart (SIGTERM, a moment of downtime, start), kill -9 at a random
  moment and start, kill -9 40 ms before a run's instant (its intent
  durable, its request held to the instant) and start, freeze the daemon (SIGSTOP, SIGCONT) for a moment.
  Damage a run file of the state folder (truncate, flip a byte so that it
  is no longer JSON) or delete one, or empty the whole folder (a package
  purge and reinstall), around a restart.  Simulator faults on
  every endpoint the daemon uses (drop, apply_then_drop, status
  500/502/503/504 with and without Retry-After, delays shorter and longer
  than request_timeout, malformed, truncated, apply_then_500, close_after),
  clear them (the conversation endpoint of the polls too).  `batchcallctl
  cancel|retry|trigger|pause|resume JOB`.  `batchcallctl suppress NUMBER`
  (issue 15) of a recipient of a job, as it is or spelled with blanks and
  dashes.  Let time pass (a short sleep,
  or until the next one-off run is due).  Campaign results (issue 14): every
  example writes results files (results_dir); half of them receive the
  simulator's signed post-call webhooks (webhook_listen), the others poll
  the conversations.  With the receiver: webhook faults of the sender
  (up to two from the start, more as steps)
  (duplicate, out of order, late, bad signature, stale timestamp, dropped,
  for one or all events of a type) and their clearing, and deliveries the
  test makes itself (forged, unsigned, stale: 401; an exact redelivery of a
  kept event with a stale timestamp: 200 and nothing changes; a signed body
  that is no event: 400).  The API's clock: two examples in five run the
  simulator's clock 600 s behind ours (the batches' created_at before the
  runs' intents: a lookup after an uncertain submit must reach back past
  its fixed 300 s margin, by the lag measured from the answers) or 420 s
  ahead.

Cluster mode (README "Running more than one node"): one example in four
(BC_MODEL_CLUSTER=1: all, 0: none; never without /usr/bin/etcd) runs one
etcd member and two nodes, n1 and n2 (cluster = { lease_ttl = 3;
key_prefix = "/m/"; }), each with its own folder (configuration, state
folder, control socket, results_dir, webhook receiver) and the same job
files (every file change is written to both jobs.d), against the one
simulator. The test plays systemd: a node that exits 75 (it lost its
lease) is started again a second later. The actions become:
  restart: SIGTERM the leader (a standby takes over at once), `down` s,
  start it again (a standby); kill -9: kill the leader at a random moment
  (the standby takes over once its lease is over), start it again a
  second later; freeze: SIGSTOP the leader for 0.5-5 s, then SIGCONT
  (frozen longer than lease_ttl, it must exit 75: restarted a second
  later); damage/wipe of the state folder: none (the runs are in etcd):
  SIGTERM the standby, `down` s, start it; etcd_outage (cluster mode
  only): kill -9 the etcd member for 1-6 s, start it again (a leader may
  exit 75). SIGHUP goes to every running node once it logged its start
  (a standby reloads too); batchcallctl goes to the node whose GET
  /v1/cluster says "leader" (waiting for one while a failover is on), and
  a standby's 409 of a request that raced a failover is asked again of the
  new leader (when the leader asked exited without answering, cancel and
  pause are taken as maybe done). Webhooks go through a balancer (a relay
  of the test's) over both receivers, in turn, skipping a frozen node.
  The state records are read from etcd (PREFIX runs/, a range on the
  gateway), the kept events from PREFIX events/, GET /v1/jobs from the
  leader. The invariants adjusted:
  3. an accepted trigger is held by the leader's process that accepted
     it: gone when that process ends (as after a restart);
  4. the quiet period's bound adds the last disruption's failover bound
     and one grace period (the new leader looks up what it inherited);
  5. no node exits but with status 75 (a lost lease), or 0 on the test's
     SIGTERM, never on a signal it did not send, never prints a sanitizer
     report; a leader frozen longer than lease_ttl exits 75 within 5 s of
     its SIGCONT; some node leads (GET /v1/cluster) within lease_ttl + 5 s
     (+ 2 s) of every disruption (a leader stopped, killed, frozen or gone
     with status 75, a node started, etcd back), and always otherwise;
  6. every event answered 200 is in etcd with the bytes sent;
  7. the results files of an occurrence are on the host of the node that
     led when they were written: of the copies in n1/results and
     n2/results, one must be complete and consistent (an older copy on
     the other node is no violation).
  BC_MODEL_SKIP=cluster leaves cluster mode out, etcd leaves out the
  etcd outages.

Job names are valid but odd ('.x', '..', 'A.b-c_d', a 64-character name);
every job has a call_name base of its own (its name, or "CN NAME k"), so
rendered call_names never collide across jobs.

Invariants (after each step; all of them again once the system is quiet):
  1. at most one batch per run identity: no two simulator batches carry the
     same name (the call_name is unique per job, occurrence and part); and a
     one-off job that was never removed has at most one batch that is not a
     part (edits after a submit submit nothing new); a recurring job's
     batches are at occurrences of its repeat;
  2. no batch adopted across jobs: every batch id a state record names
     exists, carries that record's call_name, a call_name base of that
     record's job, and that job's agent; no batch id is named by two runs;
  3. every one-off run that came due is submitted or accounted for by a
     documented rule visible in the state (missed: its instant was already
     later than max_lateness when it was set, or calling hours; cancelled or
     paused: the operator did it; disabled: enabled = false; error), with a
     log line for it (disabled runs excepted: the daemon logs nothing for a
     job loaded disabled); a run an accepted `trigger` asked for is
     submitted (unless a later edit, restart, cancel or pause changed the
     request);
  4. once quiet (faults cleared, no request held by the simulator), no run
     is submitting or uncertain, no run is due without being acted on, and
     every run that was active when the quiet period began ended; the
     deadline is derived from the mechanism: grace (2 x request_timeout +
     2 s), the backoff after the faults that hit (min(2^(hits-1), 300) s),
     Retry-After, the poll interval and the simulated call durations (a
     due run record the daemon does not track, which nothing will change,
     fails after grace + poll interval + 2 s);
  5. the daemon is alive after every step (unless the step stopped it),
     never exits on a signal, never prints a sanitizer report, and exits 0
     on SIGTERM;
  6. every post-call event the receiver answered 200 is kept in the state
     folder with the bytes sent (a kill -9 after the answer loses nothing;
     an emptied state folder forgets what came before);
  7. once quiet (the sender turned off) and again after the stop, the
     results files are complete and consistent: every occurrence of a job
     in the files whose runs all ended has its CSV and JSON Lines files,
     with the same rows, one row per phone number; every recipient of each
     of its batches has exactly one row, naming a batch of the occurrence
     and that batch's final status of the recipient; a row no batch
     decided has one of batchcalld's own statuses (the one its run's end
     gives, missed/refused/withdrawn, when no part has a batch); a row
     whose conversation has a kept event shows it (transcription: done;
     call_initiation_failure: its reason). Within the mechanism's bound:
     the second a write waits, and the backoff of a batch's detail fetched
     again after a restart found the files older than the state.
  8. no number is called after `batchcallctl suppress` answered for it
     (plus a second for an intent recorded just before the answer), until
     the state folder, where the daemon keeps its own list, is emptied: no
     submit body the simulator receives later holds it, and no retry
     request reaches a batch in which it always fails or reaches
     voicemail (last digit 6 or 7: the retry endpoint would re-dial it);
     a one-off run whose every recipient was suppressed before it came
     due may end completed without a batch (logged).
  9. with contact limits (`contact_limits`, drawn per example: at most 2
     calls per number in an hour, or calls an hour apart: at most one in
     an example), no number is called more often than they allow: the
     calls are the distinct runs (call_names) whose submit body holds it,
     and the retries that took effect (the batch's final retry_count) of
     a batch in which it always fails or reaches voicemail, each in the
     stretch of its retry request; counted anew after the state folder
     (the ledger with it) was emptied.
  10. follow-up touches (`follow_up`, drawn per job: one touch 2 s after,
     or two, 1 s and 2 s after; edited like the other fields): touch K of
     an occurrence calls only people touch K-1 called, none it reached
     (completed) when its selector leaves them out, and no sooner than
     `after` past touch K-1's last submit (check_touches); a touch is
     never sent twice (invariant 1: its call_name is unique), also after
     the state folder was emptied (its runs are then looked up first).
A duplicate of a run whose run file the test deleted is tolerated (the
state was destroyed, not damaged: nothing is left to look up), and so is
one of a run triggered ahead of its instant whose folder was emptied (not
due at the start, it is not looked up: README, run identity). Every
violation is one exception type (Violation, its kind first in the message):
one sequence may break two invariants in either order, which must not look
flaky to the shrinker.

How it runs: while Hypothesis draws an example the machine is dry (the
rules only record their calls and keep the model that preconditions and
bundles need); teardown() replays the recorded calls for real, checking
after each. Examples of no step, and the engine's short warm-up examples
(cheap for a pure function, seconds of processes here), are not run. Each
step lasts a fixed time on the example's timeline (0.5 s, plus the time it
lets pass: downtime, a freeze, a wait) and the timeline starts a quarter
second past a whole second, so jobs (due at whole seconds) never come due
at a step's edge: the replay of an action sequence replays the order of its
events, and a failure shrinks to a sequence that fails again.

Budget and replay (environment):
  BC_MODEL_MINUTES  wall-clock budget, default 3 (make check). New examples
                    start while one more fits; after a failure, shrinking
                    runs while the final replay still fits. Deadlines of
                    single waits come from the mechanism, never from the
                    budget, so a slow (sanitizer) build runs fewer examples,
                    never flakes.
  BC_MODEL_STEPS    steps per example, default 14.
  BC_SEED           seed of the generator (printed at the start). The same
                    seed generates the same action sequences.
  BC_MODEL_REPRODUCE  the blob Hypothesis prints with a failure
                    (@reproduce_failure('VERSION', b'BLOB'): give BLOB):
                    replays exactly that minimal example (with the same
                    BC_MODEL_STEPS and BC_MODEL_SKIP: the failure prints
                    the whole line).
  BC_MODEL_CLUSTER  1: every example in cluster mode, 0: none (default:
                    one in four when /usr/bin/etcd is there; BC_ETCD names
                    another etcd).
  BC_MODEL_VERBOSE=1  print every action of every example (normally only
                    the final, minimal replay of a failure is narrated).
  BC_MODEL_SKIP     leave parts of the action space out (comma-separated:
                    dot, repeat, hours, readd, rename, damage, kill, restart,
                    freeze, fault, ctl, suppress, limits (no contact limits), touch (no follow_up),
                    hook (no webhook receiver: every example polls), cluster
                    (no cluster mode), etcd (no etcd outages), edit-start, edit-tz, edit-FIELD), e.g.
                    to look past a known bug.
Scratch lives in $TOP_BUILDDIR/model-work/run-PID/ (removed when the run
passes; a failing replay's folder is kept, and named, until a later run
starts).

Needs Hypothesis (Debian's python3-hypothesis, for /usr/bin/python3):
tests/integration/test_model.sh runs this file with /usr/bin/python3 and
skips (exit 77) without it.
"""
import atexit
import base64
import collections
import csv
import datetime
import functools
import hashlib
import hmac
import http.server
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

sys.dont_write_bytecode = True   # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, Sim, wait_until  # noqa: E402

try:
    import hypothesis
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import strategies as st
    from hypothesis.control import current_build_context
    from hypothesis.stateful import (Bundle, RuleBasedStateMachine, consumes, initialize, multiple, precondition,
                                     rule, run_state_machine_as_test)
except ImportError:
    print("SKIP: test_model needs Hypothesis (Debian: apt-get install python3-hypothesis; "
          "run it with /usr/bin/python3)")
    sys.exit(77)

MINUTES = float(os.environ.get("BC_MODEL_MINUTES", "3"))
STEPS = int(os.environ.get("BC_MODEL_STEPS", "14"))
SEED = int(os.environ.get("BC_SEED") or random.SystemRandom().randrange(1 << 32))
VERBOSE = os.environ.get("BC_MODEL_VERBOSE") == "1"
REPRODUCE = os.environ.get("BC_MODEL_REPRODUCE")
# Leave parts of the action space out, e.g. to look past a known bug:
# dot (job names starting with '.'), repeat (recurring jobs), readd, rename,
# damage, kill, restart, freeze, fault, ctl, hours, hook, edit-FIELD
# (edit-start, edit-tz, ...).
SKIP = set(filter(None, os.environ.get("BC_MODEL_SKIP", "").split(",")))
WORKROOT = os.path.join(harness.TOP_BUILDDIR, "model-work")   # run-PID/ex-*/ below it
RUNDIR = os.path.join(WORKROOT, "run-%d" % os.getpid())
SCALE = harness.SCALE

POLL = 1                    # poll_interval of the daemon under test
RETRY_DELAY = 1             # harness defaults: max_retries 2, delay 1 s
MAX_RETRIES = 2
QUANTUM = 0.5               # every step takes this long (plus the time it lets pass), see advance()
MIN_STEPS = 1               # examples with fewer steps (after the first) are not run
FAULT_UNITS = 6             # fault hits an example may configure (bounds the backoff)
RETRY_AFTER_MAX = 2
DEFERRED = 600              # a run due later than this is deferred (calling hours), not waiting
SECRET = "wsec_model_secret"  # the webhook secret of the examples with a receiver
FINAL = ("completed", "failed", "cancelled", "missed", "error")
# statuses of result rows no batch decided that a finished occurrence may hold (docs/results.md)
UNBATCHED = ("not_in_run", "not_in_batch", "missed", "refused", "withdrawn", "disabled", "suppressed",
             "contact_limit")
# contact_limits drawn per example: (max_calls, window s, min_gap s); the
# spans are longer than any example, so the cap is a count
# with "defer" (over_limit), those over the limits go to a deferred run an
# hour later: never in an example, so the cap still counts every call
LIMITS = (None, None, None, (2, 3600, 0), (0, 0, 3600), (2, 3600, 0, "defer"), (0, 0, 3600, "defer"))
SUPPRESS_MARGIN = 1.0       # s: an intent recorded just before suppress answered may still go out
KEPT_EVENTS = ("post_call_transcription", "call_initiation_failure")

# follow_up drawn per job (issue 15): touch K -> (after s, whether its
# selector leaves out the recipients touch K-1 completed), and the text
TOUCHES = {
    "one": ((2, True),),
    "two": ((1, True), (2, False)),
}
TOUCH_TEXT = {
    "one": '( { after = "2s"; status = [ "voicemail", "failed", "not_dialled" ]; } )',
    "two": '( { after = "1s"; status = [ "voicemail", "failed" ]; first_message = "Hello again"; '
           'variables = { touch = 1; }; }, { after = "2s"; call_successful = [ "failure", "unknown" ]; '
           'call_name_suffix = "last try"; } )',
}
TOUCH_RX = re.compile(r"(?:^|, )(?:follow-up (\d+)(?:, (?:resume|deferred) \d+)?|(last try))$")


def touch_of(part):
    """The touch a batch's part names: 0 for the occurrence's own runs."""
    m = TOUCH_RX.search(part or "")
    if not m:
        return 0
    return 2 if m.group(2) else int(m.group(1))


NAMES = tuple(n for n in (".x", "a", "job-1", "..", "A.b-c_d", "_u", "x.", "9", ".hidden-job", "Z_9", "b_2-",
                          "n" * 64) if not ("dot" in SKIP and n.startswith(".")))
ZONES = ("UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata")
REPEATS = ("*:*:0/5", "*:*:2/5", "*:*:0/10")
OFFSETS = (2, 4, 1, 3, 8, -20, -1200, 3600)
ACTIVE = ("pending", "in_progress", "retry_wait")
NAME_RX = re.compile(r"^(?P<base>.+) (?P<local>\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?)(?: \((?P<part>[^()]*)\))?$")
SANITIZER_RX = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")

# Cluster mode (README "Running more than one node"): one etcd member, two
# nodes. BC_MODEL_CLUSTER=1 makes every example a cluster, 0 none; else one
# in four (never without etcd, or with BC_MODEL_SKIP=cluster).
ETCD = os.environ.get("BC_ETCD", "/usr/bin/etcd")
CLUSTER_ENV = os.environ.get("BC_MODEL_CLUSTER", "")
TTL = 3                     # cluster.lease_ttl of every node
EXIT_LOST = 75              # a node that lost (or could not keep) its lease
RESTART_SEC = 1.0           # systemd's RestartSec= of systemd/cluster.conf.example
LEADER_WITHIN = TTL + 5     # some node leads this long after a disruption (etcd back, a leader gone)
KEY_PREFIX = "/m/"
MAX_OUTAGES = 2             # etcd outages an example (each costs a failover's seconds)
NODE_NAMES = ("n1", "n2")
if CLUSTER_ENV == "1":
    CLUSTER_DRAW = [True]
elif CLUSTER_ENV == "0" or "cluster" in SKIP or not os.access(ETCD, os.X_OK):
    CLUSTER_DRAW = [False]
else:
    CLUSTER_DRAW = [False, False, False, True]

# Every process the test starts, killed at exit whatever happens (etcd too).
_PROCS = []


def _reap_all():
    for p in _PROCS:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_reap_all)


class Violation(AssertionError):
    """An invariant of batchcalld does not hold."""


def violation(kind, msg):
    """Every violation is raised here, as one exception type: Hypothesis
    tells failures apart by type and place, and the same action sequence
    may break two invariants in either order (a real daemon, real time):
    one origin keeps the shrinker from calling that flaky. The kind leads
    the message."""
    raise Violation("%s: %s" % (kind.upper(), msg))


class TestBug(Exception):
    """The test itself did something it did not mean to (e.g. wrote a job the daemon refuses)."""


# --- the budget ---------------------------------------------------------------------------------

class Budget:
    """Wall-clock budget of the whole run: an example starts only while it
    (and, after a failure, the final replay of the shrunk one) still fits."""
    def __init__(self, minutes):
        self.t0 = time.monotonic()
        self.end = self.t0 + minutes * 60
        self.durations = []
        self.failed_at = None
        self.notes = set()          # oddities that are no violation of the invariants
        self.examples = self.shrink_runs = self.steps = self.batches = self.submits = self.skipped = 0
        self.restarts = self.kills = self.faults_hit = self.ctl_ok = self.reloads = self.overruns = 0
        self.suppressed = 0
        self.limited = 0
        self.damaged = self.wiped = 0
        self.hooked = self.hook_faults = self.hook_posts = self.hook_delivered = 0
        self.skewed = 0  # examples with the API's clock off ours
        self.result_files = self.result_rows = 0
        self.clustered = self.exits75 = self.outages = self.leaderships = self.ctl_retried = 0

    def estimate(self):
        if not self.durations:
            return 30.0
        return max(self.durations[-5:] + [5.0])

    def may_start(self):
        need = self.estimate() * (2 if self.failed_at is not None else 1)
        return time.monotonic() + need <= self.end


BUDGET = Budget(MINUTES)


def let_the_budget_end_shrinking():
    """Hypothesis gives up shrinking after five minutes: a few dozen of these
    examples. Let the wall-clock budget decide instead (examples run dry
    once it is spent, which ends shrinking as well). Internal to Hypothesis:
    without that attribute, its own limit stays."""
    try:
        from hypothesis.internal.conjecture.engine import ConjectureRunner
    except ImportError:
        return
    if not hasattr(ConjectureRunner(lambda data: None), "finish_shrinking_deadline"):
        return

    class Deadline:
        def __get__(self, obj, typ=None):
            return self if obj is None else obj.__dict__.get("_bc_finish_shrinking_deadline")

        def __set__(self, obj, value):
            if value is not None:
                value = max(value, time.perf_counter() + BUDGET.end - time.monotonic())
            obj.__dict__["_bc_finish_shrinking_deadline"] = value
    ConjectureRunner.finish_shrinking_deadline = Deadline()


def real_example():
    """Whether the engine is running a fully random example (or, once a
    failure was found, a shrink candidate). Before the first failure,
    Hypothesis also runs warm-up examples of capped length, zero-extended
    prefixes and mutations: cheap for a pure function, seconds of processes
    each here, and too short to reach anything; they run dry."""
    if BUDGET.failed_at is not None:
        return True
    try:
        from hypothesis.internal.conjecture.engine import BUFFER_SIZE
        data = current_build_context().data
        return data._ConjectureData__random is not None and data.max_length >= BUFFER_SIZE
    except (ImportError, AttributeError):
        return True


# --- small helpers ------------------------------------------------------------------------------

def local_str(t, tz, fmt="%Y-%m-%d %H:%M:%S"):
    return datetime.datetime.fromtimestamp(t, ZoneInfo(tz)).strftime(fmt)


def wall_instant(wall, tz):
    # zoneinfo with fold=0 reads a gap with the offset before it and an
    # overlap as its first occurrence: RFC 5545, as the daemon does.
    dt = datetime.datetime.strptime(wall, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(tz))
    return int(dt.timestamp())


def occurs(t, repeat):
    """Whether instant t is an occurrence of one of the test's repeats
    ("*:*:S/P": every P seconds from second S of each minute; every zone
    used is a whole number of minutes off UTC)."""
    first, step = (int(x) for x in repeat.rsplit(":", 1)[1].split("/"))
    sec = t % 60
    return sec >= first and (sec - first) % step == 0


def results_name(job, start, call_name):
    """RESULTS_DIR-relative name of an occurrence's files without the
    extension (src/core/results.c results_file_name, docs/results.md)."""
    d = "".join(c if c.isascii() and (c.isalnum() or c in "_-" or (c == "." and i > 0)) else "%%%02X" % ord(c)
                for i, c in enumerate(job)) or "%"
    b = d + "/" + time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(start))
    mark = len(b)
    b += "_"
    for ch in (call_name or "").encode():
        c = chr(ch)
        if len(b) - mark - 1 >= 100:
            break
        if c.isascii() and (c.isalnum() or c in ".-"):
            b += c
        elif b[-1] != "_":
            b += "_"
    while len(b) > mark and b[-1] in "_.":
        b = b[:-1]
    return b


def sign(body, t, secret=SECRET):
    return "t=%d,v0=%s" % (t, hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest())


free_port = harness.free_port


def parse_name(name):
    m = NAME_RX.match(name or "")
    return (m.group("base"), m.group("local"), m.group("part")) if m else (None, None, None)


# --- cluster mode: etcd, the nodes, systemd, a webhook balancer ----------------------------------

def post_json(url, body, timeout=2.0):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


class Etcd(harness.EtcdMember):
    """One etcd 3.4 member on loopback (data under WORK/etcd/)."""
    def start(self):
        super().start(_PROCS.append)

    def wait_healthy(self, timeout=30):
        wait_until(self.up, timeout, "etcd to answer")

    def range(self, prefix, timeout=15):
        """{key without the prefix: value bytes} of every key under prefix."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        body = {"key": base64.b64encode(prefix.encode()).decode(),
                "range_end": base64.b64encode(end.encode()).decode()}
        deadline = time.monotonic() + timeout * SCALE
        while True:
            try:
                r = post_json(self.endpoint + "/v3/kv/range", body, 5 * SCALE)
                break
            except (OSError, ValueError) as e:
                if time.monotonic() > deadline:
                    raise TestBug("etcd does not answer a range of %s: %s" % (prefix, e))
                time.sleep(0.2)
        return {base64.b64decode(kv["key"]).decode()[len(prefix):]: base64.b64decode(kv.get("value", ""))
                for kv in r.get("kvs", [])}


class Node(Daemon):
    """A cluster node: its own folder (configuration, jobs.d, state folder,
    control socket, results), the same job files as the other's."""
    def __init__(self, work, name, sim, timeout, conf, env, hook_port=None):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        super().__init__(d, sim, poll_interval=POLL, request_timeout=timeout, extra_conf=conf)
        self.name = name
        self.env = env
        self.hook_port = hook_port
        self.results = os.path.join(d, "results")
        self.want = False          # the supervisor (systemd) restarts it after an exit 75
        self.restart_at = None
        self.frozen = False
        self.seen_exit = True
        self.exits = {}            # life -> exit status
        self.log_pos = 0

    def start(self, env=None, args=(), preexec=None):
        super().start(env=self.env)
        _PROCS.append(self.proc)
        self.seen_exit = False
        self.want = True
        self.restart_at = None
        return self.proc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def life_log(self):
        return self.log().split("---- start %d\n" % self.starts)[-1]

    def started(self):
        return "started as cluster node" in self.life_log()

    def role(self, timeout=2):
        if not self.alive() or self.frozen:
            return None
        try:
            st_, body = self.control("GET", "/v1/cluster", timeout=timeout)
        except (OSError, ValueError):
            return None
        return body.get("role") if st_ == 200 and isinstance(body, dict) else None


class Supervisor(threading.Thread):
    """systemd (Restart=on-failure, RestartSec=1s) for the nodes the test
    does not hold itself (want): a node that exits 75 is started again a
    second later; any other exit is an anomaly (a violation of invariant 5
    at the next check)."""
    def __init__(self, m):
        super().__init__(daemon=True)
        self.m = m
        self.stopping = False
        self.anomalies = []
        self.exits = []            # (time, node, life, status)

    def run(self):
        while not self.stopping:
            with self.m.plock:
                for n in self.m.nodes:
                    if n.proc is None or not n.want:
                        continue
                    if not n.seen_exit and n.proc.poll() is not None:
                        t = time.time()
                        n.seen_exit = True
                        rc = n.proc.returncode
                        n.exits[n.starts] = rc
                        n.log_fh.close()
                        self.exits.append((t, n.name, n.starts, rc))
                        self.m.bump(t)
                        if rc == EXIT_LOST:
                            n.restart_at = t + RESTART_SEC
                            BUDGET.exits75 += 1
                        else:
                            how = ("killed by signal %s" % signal.Signals(-rc).name) if rc < 0 else \
                                "exit status %d" % rc
                            self.anomalies.append("node %s (life %d) exited on its own: %s; its log ends:\n%s" % (
                                n.name, n.starts, how, n.life_log()[-2500:]))
                            n.want = False
                    if n.want and n.restart_at is not None and time.time() >= n.restart_at:
                        try:
                            n.start()
                            self.m.bump(time.time())
                        except OSError as e:
                            self.anomalies.append("node %s could not be started again: %s" % (n.name, e))
                            n.want = False
            time.sleep(0.05)


class HookRelay:
    """The load balancer over the nodes' webhook receivers (README: point
    the webhook at one over all the nodes): a delivery goes to a running
    node (not a frozen one), in turn; no answer, or a 5xx: the next node;
    the last answer goes back to the sender (502 when none answered)."""
    def __init__(self, port, targets):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(h):
                body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
                hdrs = {k: v for k, v in h.headers.items() if k.lower() in ("content-type", "elevenlabs-signature")}
                status, data = 502, b'{"error":"no node answered"}'
                for p in targets():
                    req = urllib.request.Request("http://127.0.0.1:%d%s" % (p, h.path), data=body, method="POST",
                                                 headers=hdrs)
                    try:
                        with urllib.request.urlopen(req, timeout=4 * SCALE) as r:
                            status, data = r.status, r.read()
                    except urllib.error.HTTPError as e:
                        status, data = e.code, e.read()
                    except OSError:
                        continue
                    if status < 500:
                        break
                h.send_response(status)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(data)

            def log_message(h, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


IMPLS = {}


def recorded(f):
    """A rule records its call and does only the model's bookkeeping (the
    machine is dry while Hypothesis draws the steps); teardown replays the
    recorded calls for real, unless the example is not worth running."""
    IMPLS[f.__name__] = f

    @functools.wraps(f)
    def wrapper(self, **kw):
        self.actions.append((f.__name__, kw))
        return f(self, **kw)
    return wrapper


class Job:
    """What the test wrote for one job."""
    def __init__(self, name, p, now, version):
        self.name = name
        self.file = None
        self.kind = p["kind"]
        self.agent = p["agent"]
        self.tz = p["tz"]
        self.repeat = p["repeat"] if self.kind == "repeat" else None
        self.call_base = ("CN %s %d" % (name, version)) if p["call_name"] else None
        self.enabled = p["enabled"]
        self.on_removal = p["on_removal"]
        self.max_lateness = p["lateness"]
        self.recipients = tuple("+15550100%d%s" % (i, d) for i, d in enumerate(p["digits"]))
        self.hours = None
        self.set_hours(p["hours"], p["outside"], p["resume"], now)
        self.form = p["form"]
        self.at = self.wall = None
        self.align = p["align"]
        self.touches = p.get("touches")
        if self.form != "none" or self.kind == "once":
            self.set_start(p["offset"], now)   # a one-off job needs an instant

    def set_start(self, offset, now):
        if self.form == "none":
            self.form = "unix"
        self.at = int(now) + offset
        if self.repeat and self.align:
            # a start that is an occurrence itself
            while not occurs(self.at, self.repeat):
                self.at += 1
        self.wall = local_str(self.at, self.tz)

    def set_hours(self, mode, outside, resume, now):
        if mode is None:
            self.hours = None
            return
        lo, hi = {"open": (now - 3600, now + 3600), "closed": (now + 7200, now + 10800),
                  "closing": (now - 3600, now + 6)}[mode]
        self.hours = (mode, local_str(lo, self.tz, "%H:%M"),
                      local_str(hi, self.tz, "%H:%M:%S" if mode == "closing" else "%H:%M"), outside, resume)

    def base(self):
        return self.call_base or self.name

    def instant(self):
        """The run's instant as the daemon reads the current definition (one-off jobs)."""
        if self.form == "start":
            return wall_instant(self.wall, self.tz)
        return self.at

    def text(self):
        lines = ['name = "%s";' % self.name, 'agent_id = "%s";' % self.agent, 'phone_number_id = "phnum_test";']
        if self.form == "unix":
            lines.append("scheduled_time_unix = %d;" % self.at)
        elif self.form == "start":
            lines.append('start = "%s";' % self.wall)
        lines.append('timezone = "%s";' % self.tz)
        if self.call_base:
            lines.append('call_name = "%s";' % self.call_base)
        if self.repeat:
            lines.append('repeat = "%s";' % self.repeat)
        if self.hours:
            _, lo, hi, outside, resume = self.hours
            lines.append('calling_hours = { from = "%s"; to = "%s"; };' % (lo, hi))
            lines.append('outside_window = "%s";' % outside)
            lines.append("resume = %s;" % ("true" if resume else "false"))
        lines.append("max_lateness = %d;" % self.max_lateness)
        lines.append('on_removal = "%s";' % self.on_removal)
        lines.append("enabled = %s;" % ("true" if self.enabled else "false"))
        lines.append("recipients = ( %s );" % ", ".join('{ phone_number = "%s"; }' % p for p in self.recipients))
        if self.touches:
            lines.append("follow_up = %s;" % TOUCH_TEXT[self.touches])
        return "jobs = ( {\n  " + "\n  ".join(lines) + "\n} );\n"

    def describe(self):
        if self.form == "unix":
            when = "at %d (%+ds)" % (self.at, self.at - int(time.time()))
        elif self.form == "start":
            when = "start '%s'" % self.wall
        else:
            when = "no start"
        return "%s %s %s%s%s, call_name base '%s', on_removal %s, max_lateness %d, %s, recipients %s" % (
            "one-off" if self.kind == "once" else "repeat '%s'" % self.repeat, when, self.tz,
            ", hours %s %s-%s %s%s" % (self.hours[0], self.hours[1], self.hours[2], self.hours[3],
                                       " resume" if self.hours[4] else "") if self.hours else "",
            "" if self.enabled else ", DISABLED", self.base(), self.on_removal, self.max_lateness,
            self.agent, ",".join(self.recipients)) + (", follow_up %s" % self.touches if self.touches else "")


class Hist:
    """What happened to a job name over the example (kept across removals)."""
    def __init__(self, kind, agent):
        self.kind = kind
        self.agent = agent
        self.bases = set()
        self.repeats = set()
        self.removed = False      # removed at least once
        self.tampered = False     # one of its run files was deleted
        self.hours = False        # had calling hours at some point
        self.small_lateness = False
        self.cancel_ok = self.pause_ok = False
        self.instant_set_at = 0.0
        self.instant = None
        self.touch_after = {}     # touch K -> the shortest `after` it ever had
        self.touch_keeps_completed = set()  # touches that ever took completed recipients
        self.tzs = set()
        self.rcpt_sets = []       # every list of recipients it had (the one in force when it came due among them)


JOB = st.fixed_dictionaries({
    "kind": st.sampled_from(["once"] if "repeat" in SKIP else ["once", "once", "repeat"]),
    "name_ix": st.integers(0, len(NAMES) - 1),
    "form": st.sampled_from(["unix", "start", "none"]),
    "offset": st.sampled_from(OFFSETS),
    "tz": st.sampled_from(ZONES),
    "call_name": st.booleans(),
    "repeat": st.sampled_from(REPEATS),
    "hours": st.sampled_from([None] if "hours" in SKIP else [None] * 6 + ["open", "closed", "closing"]),
    "outside": st.sampled_from(["defer", "skip"]),
    "resume": st.booleans(),
    "enabled": st.sampled_from([True, True, True, True, True, False]),
    "on_removal": st.sampled_from(["cancel", "keep"]),
    "digits": st.lists(st.sampled_from("1236789"), min_size=1, max_size=3),
    "agent": st.sampled_from(["agent_a", "agent_b"]),
    "lateness": st.sampled_from([900, 900, 3]),
    "align": st.booleans(),
    "touches": st.sampled_from([None] if "touch" in SKIP else [None, None, None, "one", "two"]),
})
EDITS = tuple(e for e in ("start", "start", "tz", "enabled", "call_name", "on_removal", "hours", "repeat",
                          "recipients", "lateness", "touches") if "edit-" + e not in SKIP)
FAULT_KINDS = ("status", "drop", "apply_then_drop", "delay", "apply_then_500", "malformed", "truncated",
               "close_after", "clear")
ENDPOINTS = ("submit", "*", "list", "get", "cancel", "retry", "conversation")
CTL_OPS = ("trigger", "cancel", "pause", "resume", "retry")
HOOK_KINDS = ("duplicate", "duplicate", "out_of_order", "late", "bad_signature", "stale_timestamp", "drop", "clear",
              "post_forged", "post_unsigned", "post_stale", "post_redelivery", "post_malformed")
HOOK_EVENTS = ("*", "post_call_transcription", "call_initiation_failure")
SENDER_FAULTS = ("duplicate", "out_of_order", "late", "bad_signature", "stale_timestamp", "drop")
DISRUPTIONS = [k for k in ("restart", "kill", "kill-ahead", "freeze", "damage") if k not in SKIP and
               (k != "kill-ahead" or "kill" not in SKIP)]


# --- the machine --------------------------------------------------------------------------------

class Operator(RuleBasedStateMachine):
    jobs = Bundle("jobs")
    removed = Bundle("removed")

    def __init__(self):
        super().__init__()
        self.final = current_build_context().is_final
        # While Hypothesis draws the steps the machine is dry: the rules
        # record their calls and keep the model (names, bundles, the fault
        # budget) that preconditions read. teardown() then runs the
        # recorded example for real, or not at all (see worth_running()):
        # either way Hypothesis sees the same draws.
        self.dry = True
        self.actions = []
        self.t_start = time.monotonic()
        self.loud = self.final or VERBOSE
        self.failed = False
        self.sim = self.d = None
        self.reset_model()

    def reset_model(self):
        self.jobs_now = {}            # name -> Job, as in jobs.d
        self.removed_now = {}         # name -> Job, removed and not re-added
        self.hist = {}                # name -> Hist
        self.tampered_names = set()   # call_names whose run file the test deleted
        self.triggers = {}            # name -> instant an accepted trigger asked to submit now
        self.files = 0
        self.fault_units = 0
        self.nstep = 0
        self.log_pos = 0
        self.work = None
        self.T0 = None                # real instant of virtual time 0
        self.vnow = 0.0               # virtual time: the steps' durations so far
        self.hooks = False            # the daemon receives the simulator's post-call webhooks
        self.port = None              # ... on this port
        self.daemon_env = None
        self.hook_seq = 0             # the simulator's webhook deliveries read so far
        self.answered = {}            # events/NAME -> (body_len, answered at): deliveries the daemon took (200)
        self.wiped_at = 0.0           # when the state folder was last emptied (its events went with it)
        self.forged = 0
        self.suppressed = {}          # phone number -> when `batchcallctl suppress` answered for it
        self.unsuppressed = {}        # phone number -> when the state folder (its own list) was emptied
        self.limits = None            # (max_calls, window, min_gap) of contact_limits, or None
        self.wipes = []               # when the state folder (and its contact ledger) was emptied
        # cluster mode
        self.cluster = False          # one etcd member and two nodes (NODE_NAMES) instead of one daemon
        self.nodes = []
        self.etcd = self.sup = self.relay = None
        self.plock = threading.RLock()  # the nodes' processes, between the test and the supervisor
        self.leader_by = 0.0          # some node leads by then (+ slack): the latest disruption's bound
        self.must_exit = []           # (node, life, SIGCONT at, seconds): frozen longer than the lease
        self.trigger_by = {}          # job -> (node, life) that accepted the trigger
        self.relay_turn = 0
        self.outages = 0              # etcd outages in the example

    def clock(self):
        """Now, on the example's timeline (a real instant)."""
        return self.T0 + self.vnow if self.T0 else time.time()

    def advance(self, seconds):
        """Let time pass on the timeline, then wait for the real clock to
        catch up. Every step lasts a fixed time (QUANTUM, plus what it lets
        pass), and the timeline starts a quarter second past a whole second:
        a job due at a whole second never comes due at a step's edge, so
        replaying an action sequence replays its order of events."""
        self.vnow += seconds
        if self.dry:
            return
        left = self.clock() - time.time()
        if left > 0:
            time.sleep(left)
        elif left < -QUANTUM:
            BUDGET.overruns += 1

    # --- narration and plumbing ---

    def say(self, msg):
        if self.loud:
            late = time.time() - self.clock() if self.T0 else 0
            print("    [t=%6.2fs%s] %s" % (self.vnow, " +%.2f" % late if late > 0.05 else "", msg), flush=True)

    def step(self, msg):
        self.nstep += 1
        BUDGET.steps += 1
        self.say("step %d: %s" % (self.nstep, msg))

    def alive(self):
        if self.cluster:
            return any(n.alive() for n in self.nodes)
        return self.d.proc is not None and self.d.proc.poll() is None

    def check_alive(self, what=""):
        if self.cluster:
            self.check_nodes(what)
            return
        if not self.alive():
            rc = self.d.proc.returncode
            how = ("killed by signal %s" % signal.Signals(-rc).name) if rc < 0 else "exit status %d" % rc
            violation("daemon", "the daemon is not running%s: %s" % (what, how))

    def check_sanitizers(self):
        if self.cluster:
            for n in self.nodes:
                log = n.log()
                m = SANITIZER_RX.search(log, n.log_pos)
                if m:
                    violation("daemon", "sanitizer report in %s/daemon.log: %s" % (n.name, log[m.start():m.start() + 600]))
                n.log_pos = max(0, len(log) - 200)
            with open(os.path.join(self.work, "sim.stderr"), errors="replace") as f:
                m = SANITIZER_RX.search(f.read())
            if m:
                violation("daemon", "sanitizer report in sim.stderr")
            return
        log = self.d.log()
        m = SANITIZER_RX.search(log, self.log_pos)
        if m:
            violation("daemon", "sanitizer report in daemon.log: %s" % log[m.start():m.start() + 600])
        self.log_pos = max(0, len(log) - 200)
        with open(os.path.join(self.work, "sim.stderr"), errors="replace") as f:
            m = SANITIZER_RX.search(f.read())
        if m:
            violation("daemon", "sanitizer report in sim.stderr")

    def start_daemon(self):
        if self.cluster:
            # n1 first (it leads: no previous leader seen, it waits one
            # lease_ttl), then n2, a standby
            n1, n2 = self.nodes
            self.start_node(n1)
            self.leader("the first start", within=LEADER_WITHIN + 10)
            self.start_node(n2)
            return
        self.d.start(env=self.daemon_env)
        try:
            self.d.wait_started(timeout=20)
        except AssertionError:
            self.check_alive(" after a start")
            violation("daemon", "the daemon did not log 'started' within 20 s")

    def stop_daemon(self):
        """SIGTERM: the daemon must exit 0 within its 10 s for requests in flight."""
        if self.cluster:
            # every node, the standbys first: the last leader's records are the last
            self.check_alive(" before SIGTERM")
            order = sorted(self.nodes, key=lambda n: n.role() == "leader")
            for n in order:
                self.stop_node(n)
            return
        self.check_alive(" before SIGTERM")
        self.d.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.d.proc.wait(20 * SCALE)
        except subprocess.TimeoutExpired:
            self.d.proc.kill()
            self.d.proc.wait()
            violation("daemon", "the daemon did not exit within 20 s of SIGTERM")
        finally:
            self.d.log_fh.close()
        if rc != 0:
            violation("daemon", "the daemon exited with status %d on SIGTERM" % rc)
        BUDGET.restarts += 1

    def sighup(self):
        """SIGHUP and wait for the reload's log line: True when it was applied."""
        if self.cluster:
            return self.sighup_nodes()

        def counts():
            log = self.d.log()
            return log.count("configuration reloaded"), log.count("reload refused")
        ok0, bad0 = counts()
        self.d.signal(signal.SIGHUP)
        try:
            wait_until(lambda: counts() != (ok0, bad0) or not self.alive(), 15, "the reload's log line")
        except AssertionError:
            violation("daemon", "no reload logged within 15 s of SIGHUP")
        self.check_alive(" after SIGHUP")
        BUDGET.reloads += 1
        return counts()[1] == bad0

    def jobs_dirs(self):
        """Every node's jobs.d (cluster mode: the same files on each)."""
        return [n.jobs for n in self.nodes] if self.cluster else [self.d.jobs]

    def logs(self):
        return "".join(n.log() for n in self.nodes) if self.cluster else self.d.log()

    def write_job(self, j):
        if j.file is None:
            self.files += 1
            j.file = "f%d.conf" % self.files
        for jobs in self.jobs_dirs():
            path = os.path.join(jobs, j.file)
            with open(path + ".tmp", "w") as f:
                f.write(j.text())
            os.rename(path + ".tmp", path)

    def apply(self, what):
        """Reload after a change of jobs.d; the test only writes valid files."""
        if not self.sighup():
            errors = [line for line in self.logs().splitlines()[-20:] if "error" in line or "refused" in line]
            raise TestBug("the daemon refused the test's job files after %s:\n%s" % (what, "\n".join(errors)))

    # --- cluster plumbing (cluster mode only) ---

    def bump(self, t):
        """A disruption at t: some node must lead again within LEADER_WITHIN s."""
        self.leader_by = max(self.leader_by, t + LEADER_WITHIN * SCALE)

    def check_nodes(self, what=""):
        """Invariant 5 in cluster mode: no node exited but with status 75 (a
        lost lease: the supervisor restarts it a second later) or when the
        test stopped it; a leader frozen longer than its lease exited 75
        within 5 s of its SIGCONT; some node leads, unless a disruption's
        bound (leader_by) still runs."""
        if self.sup.anomalies:
            violation("daemon", "%s%s" % (self.sup.anomalies[0], what and " (noticed%s)" % what))
        for item in list(self.must_exit):
            n, life, t_cont, seconds = item
            if life in n.exits:
                self.must_exit.remove(item)
            elif time.time() > t_cont + 5 * SCALE:
                violation("fencing", "leader %s (life %d) was frozen %.2f s, longer than its lease (lease_ttl %d s), "
                          "and still runs %.1f s after SIGCONT (it must exit 75 at once)" % (
                              n.name, life, seconds, TTL, time.time() - t_cont))
        if time.time() > self.leader_by:
            self.leader("the check%s" % what)

    def leader(self, why, within=None):
        """The node whose GET /v1/cluster says role "leader" (frozen nodes
        are not asked). While a disruption's bound runs, it waits for one;
        past that bound (and 2 s more), no leader is a violation."""
        if within is not None:
            self.bump(time.time() + (within - LEADER_WITHIN) * SCALE)
        while True:
            roles = {}
            for n in self.nodes:
                roles[n.name] = r = n.role()
                if r == "leader":
                    return n
            if time.time() > self.leader_by + 2 * SCALE:
                violation("no leader", "no node leads (%s): roles %s, %.1f s after the bound of the last "
                          "disruption (lease_ttl %d + 5 s); exits so far: %s" % (
                              why, roles, time.time() - self.leader_by + LEADER_WITHIN * SCALE, TTL,
                              self.sup.exits[-6:]))
            time.sleep(0.1)

    def start_node(self, n):
        """Start a node (again) and wait until it logs its start (its SIGHUP
        handler is set then)."""
        with self.plock:
            n.start()
        self.bump(time.time())
        try:
            wait_until(lambda: n.started() or not n.alive(), 20, "node %s's start" % n.name)
        except AssertionError:
            violation("daemon", "node %s did not log 'started as cluster node' within 20 s" % n.name)
        self.check_nodes(" after starting %s" % n.name)

    def hold(self, n):
        """Take a node from the supervisor (the test stops it itself): False
        when it is not running."""
        with self.plock:
            if not n.alive():
                return False
            n.want = False
            n.restart_at = None
            return True

    def release(self, n, rc):
        n.seen_exit = True
        n.exits[n.starts] = rc
        n.log_fh.close()

    def stop_node(self, n):
        """SIGTERM: the node must exit 0 (a leader gives up its lease: a standby
        takes over at once); 75 is taken (it lost its lease meanwhile)."""
        if not self.hold(n):
            with self.plock:
                n.want = False
                n.restart_at = None
            return None
        t = time.time()
        n.proc.send_signal(signal.SIGTERM)
        try:
            rc = n.proc.wait(20 * SCALE)
        except subprocess.TimeoutExpired:
            n.proc.kill()
            n.proc.wait()
            violation("daemon", "node %s did not exit within 20 s of SIGTERM" % n.name)
        finally:
            if not n.seen_exit:
                self.release(n, n.proc.returncode)
        self.bump(t)
        if rc == EXIT_LOST:
            BUDGET.notes.add("a node exited 75 (lost its lease) while it stopped on SIGTERM")
        elif rc != 0:
            violation("daemon", "node %s exited with status %d on SIGTERM; its log ends:\n%s" % (
                n.name, rc, n.life_log()[-2000:]))
        BUDGET.restarts += 1
        return rc

    def kill_node(self, n):
        if not self.hold(n):
            return False
        t = time.time()
        n.proc.kill()
        n.proc.wait()
        self.release(n, n.proc.returncode)
        self.bump(t)
        BUDGET.kills += 1
        return True

    def sighup_nodes(self):
        """SIGHUP to every running node (a standby reloads its job files too),
        once it logged its start; wait for each one's reload line. True when
        every node that answered applied the files; self.last_reload says
        which nodes applied and which refused."""
        def counts(n):
            log = n.log()
            return log.count("configuration reloaded") + log.count("reloaded (standby)"), log.count("reload refused")
        sent = []
        with self.plock:
            for n in self.nodes:
                if not n.alive():
                    continue
                try:
                    wait_until(lambda: n.started() or not n.alive(), 20, "node %s's start" % n.name)
                except AssertionError:
                    violation("daemon", "node %s did not log 'started as cluster node' within 20 s" % n.name)
                if n.alive():
                    sent.append((n, n.starts, counts(n)))
                    n.signal(signal.SIGHUP)
        applied, refused = [], []
        for n, life, c0 in sent:
            try:
                wait_until(lambda: counts(n) != c0 or not n.alive() or n.starts != life, 15,
                           "node %s's reload line" % n.name)
            except AssertionError:
                violation("daemon", "no reload logged by node %s within 15 s of SIGHUP" % n.name)
            c = counts(n)
            if c[1] != c0[1]:
                refused.append(n.name)
            elif c != c0:
                applied.append(n.name)
        BUDGET.reloads += 1
        self.last_reload = (applied, refused)
        return not refused

    def ctl_call(self, args):
        """batchcallctl ARGS at the leader: (process, output, uncertain).
        A standby's 409 (it lost the leadership between the look and the
        request) is asked again of the new leader; so is a leader that
        exited (75) without answering, and then the request may or may not
        have taken effect (uncertain)."""
        uncertain = False
        for _ in range(8):
            n = self.leader("batchcallctl %s" % args[0])
            life = n.starts
            p = subprocess.run([harness.CTL, "-c", n.conf] + args, capture_output=True, text=True, timeout=30 * SCALE)
            out = (p.stdout + p.stderr).strip().replace("\n", " | ")
            if p.returncode == 1 and "is a standby" in out:
                BUDGET.ctl_retried += 1
                continue
            if p.returncode not in (0, 1):
                time.sleep(0.5)
                if not n.alive() or n.starts != life:
                    uncertain = True
                    BUDGET.ctl_retried += 1
                    continue
                if p.returncode == 3:
                    violation("daemon", "batchcallctl could not reach the running leader %s: %s" % (n.name, out))
            return p, out, uncertain, n, life
        raise TestBug("batchcallctl %s found no leader that answers" % args)

    def drop_stale_triggers(self):
        """A trigger lives in the leader that accepted it: gone with it."""
        for job, (n, life) in list(self.trigger_by.items()):
            if n.starts != life or not n.alive():
                self.triggers.pop(job, None)
                del self.trigger_by[job]

    def runs(self):
        """The run records: the state folder's, or in cluster mode etcd's
        (PREFIX runs/NAME, the state file's JSON)."""
        if not self.cluster:
            return self.d.runs()
        best = {}
        for name, v in self.etcd.range(KEY_PREFIX + "runs/").items():
            try:
                rec = json.loads(v)
            except ValueError:
                violation("state", "the run record %s in etcd is no JSON: %r" % (name, v[:200]))
            if not isinstance(rec, dict) or "job" not in rec or "start" not in rec:
                continue
            key = (rec["job"], rec["start"], rec.get("part"))
            if key not in best or rec.get("gen", 0) >= best[key].get("gen", 0):
                best[key] = rec
        return list(best.values())

    def kept_events(self):
        """{NAME: body} of the post-call events kept: the state folder's
        events/NAME, or in cluster mode etcd's PREFIX events/NAME."""
        if self.cluster:
            return self.etcd.range(KEY_PREFIX + "events/")
        events = os.path.join(self.d.state, "events")
        out = {}
        for name in os.listdir(events) if os.path.isdir(events) else []:
            try:
                with open(os.path.join(events, name), "rb") as f:
                    out[name] = f.read()
            except OSError:
                pass
        return out

    def hook_targets(self):
        """The balancer's order: running nodes that are not frozen, in turn."""
        live = [n for n in self.nodes if n.alive() and not n.frozen]
        rest = [n for n in self.nodes if n not in live]
        self.relay_turn += 1
        if self.relay_turn % 2:
            live.reverse()
        return [n.hook_port for n in live + rest]

    def note_instant(self, j):
        h = self.hist[j.name]
        h.bases.add(j.base())
        h.tzs.add(j.tz)
        if tuple(j.recipients) not in h.rcpt_sets:
            h.rcpt_sets.append(tuple(j.recipients))
        for k, (after, drops_completed) in enumerate(TOUCHES.get(j.touches) or (), 1):
            h.touch_after[k] = min(after, h.touch_after.get(k, after))
            if not drops_completed:
                h.touch_keeps_completed.add(k)
        if j.repeat:
            h.repeats.add(j.repeat)
        h.hours |= j.hours is not None
        h.small_lateness |= j.max_lateness < 900
        if j.kind == "once":
            inst = j.instant()
            if inst != h.instant:
                h.instant = inst
                h.instant_set_at = self.clock()

    def new_job(self, p):
        free = [n for n in NAMES if n not in self.jobs_now and n not in self.removed_now]
        name = free[p["name_ix"] % len(free)]
        j = Job(name, p, self.clock(), 1)
        if name not in self.hist:
            self.hist[name] = Hist(j.kind, j.agent)
        self.jobs_now[name] = j
        if not self.dry:
            self.write_job(j)
        self.note_instant(j)
        return j

    # --- rules ---

    @initialize(target=jobs, speed=st.sampled_from([50, 5]), timeout=st.sampled_from([1, 2]),
                first=st.lists(JOB, min_size=1, max_size=4),
                hooks=st.sampled_from([False] if "hook" in SKIP else [True, False]),
                hook_faults=st.lists(st.tuples(st.sampled_from(SENDER_FAULTS), st.sampled_from(HOOK_EVENTS),
                                               st.sampled_from([1, 2, -1])), max_size=2),
                api_clock=st.sampled_from([0, 0, 0, -600, 420]),
                limits=st.sampled_from([None] if "limits" in SKIP else LIMITS),
                cluster=st.sampled_from(CLUSTER_DRAW))
    @recorded
    def begin(self, speed, timeout, first, hooks, hook_faults, api_clock=0, limits=None, cluster=False):
        self.hooks = hooks
        self.limits = limits
        self.cluster = cluster
        if self.dry:
            return multiple(*[self.new_job(p).name for p in first])
        os.makedirs(RUNDIR, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="ex-", dir=RUNDIR)
        self.speed, self.timeout = speed, timeout
        self.grace = 2 * timeout + 2
        extra, conf = (), 'results_dir = "results";'
        if limits:
            conf += "\ncontact_limits = { %s };" % (
                'max_calls = %d; window = "%ds";' % limits[:2] if limits[0] else 'min_gap = "%ds";' % limits[2])
            if len(limits) > 3:
                conf += '\nover_limit = "%s";' % limits[3]
            BUDGET.limited += 1
        if hooks:
            # the receiver on a port of its own; the simulator signs every
            # post-call event with the secret the daemon has
            self.port = free_port()
            extra = ("--webhook-url", "http://127.0.0.1:%d/hook" % self.port, "--webhook-secret", SECRET)
            if not cluster:
                conf += '\nwebhook_listen = "127.0.0.1:%d";' % self.port
            self.daemon_env = {"ELEVENLABS_WEBHOOK_SECRET": SECRET}
        # the API's clock behind ours (created_at of the batches before
        # the runs' intents: the lookup must reach back) or ahead
        extra += ("--clock-offset", str(api_clock))
        if api_clock:
            BUDGET.skewed += 1
        self.sim = Sim(self.work, speed=speed, seed=SEED % 100000 + 1, extra=extra)
        _PROCS.append(self.sim.proc)
        if cluster:
            self.begin_cluster(conf)
        else:
            self.d = Daemon(self.work, self.sim, poll_interval=POLL, request_timeout=timeout, extra_conf=conf)
            self.T0 = int(time.time()) + 2.25   # the daemon starts meanwhile
        self.say("simulator --speed %d (its clock %+d s), daemon request_timeout %d s, poll_interval %d s, %s, "
                 "%s, work %s" % (speed, api_clock, timeout, POLL, "post-call webhooks to 127.0.0.1:%d" % self.port
                                  if hooks else "no webhooks (the conversations are polled)",
                                  "contact limits %s" % (limits,) if limits else "no contact limits", self.work))
        if cluster:
            self.say("cluster: etcd %s, nodes %s (lease_ttl %d s, key_prefix %s)%s" % (
                self.etcd.endpoint, ", ".join(NODE_NAMES), TTL, KEY_PREFIX,
                ", webhooks through a balancer to their receivers on %s" % ", ".join(
                    "127.0.0.1:%d" % n.hook_port for n in self.nodes) if hooks else ""))
        if hooks:
            BUDGET.hooked += 1
            # the sender's faults from the first event on (more come as steps)
            for kind, event, count in hook_faults:
                kw = {"kind": kind, "event": event, "count": count}
                if kind in ("late", "out_of_order"):
                    kw["delay_secs"] = 2
                self.say("webhook fault %s" % json.dumps(kw))
                if self.sim.call("POST", "/_sim/webhook-faults", kw, key=False)[0] != 200:
                    raise TestBug("the simulator refused the webhook fault %s" % kw)
                BUDGET.hook_faults += 1
        names = []
        for p in first:
            if len(self.jobs_now) < len(NAMES):
                j = self.new_job(p)
                names.append(j.name)
                self.say("job '%s' (%s): %s" % (j.name, j.file, j.describe()))
        self.start_daemon()
        self.advance(0)
        return multiple(*names)

    def begin_cluster(self, conf):
        """Cluster mode: one etcd member, nodes n1 and n2 (folders of their
        own: configuration, jobs.d with the same files, state folder,
        control socket, results_dir, webhook receiver), the supervisor, and
        with webhooks a balancer on self.port over the receivers."""
        BUDGET.clustered += 1
        self.etcd = Etcd(self.work)
        self.etcd.start()
        try:
            self.etcd.wait_healthy(30)
        except AssertionError:
            raise TestBug("etcd did not start within 30 s (%s)" % self.etcd.logfile)
        for name in NODE_NAMES:
            port = free_port() if self.hooks else None
            c = conf
            if port:
                c += '\nwebhook_listen = "127.0.0.1:%d";' % port
            c += '\ncluster = { etcd_endpoints = [ "%s" ]; node_name = "%s"; lease_ttl = %d; key_prefix = "%s"; };' % (
                self.etcd.endpoint, name, TTL, KEY_PREFIX)
            self.nodes.append(Node(self.work, name, self.sim, self.timeout, c, self.daemon_env, port))
        if self.hooks:
            self.relay = HookRelay(self.port, self.hook_targets)
        self.sup = Supervisor(self)
        self.sup.start()
        # the first leader waits one lease_ttl (no previous leader seen)
        self.T0 = int(time.time()) + 2.25 + TTL + 3

    @precondition(lambda self: len(self.jobs_now) + len(self.removed_now) < len(NAMES))
    @rule(target=jobs, p=JOB)
    @recorded
    def add_job(self, p):
        j = self.new_job(p)
        if self.dry:
            return j.name
        self.step("add job '%s' in %s: %s" % (j.name, j.file, j.describe()))
        self.apply("adding '%s'" % j.name)
        return j.name

    @rule(job=jobs, what=st.sampled_from(EDITS), p=JOB)
    @recorded
    def edit_job(self, job, what, p):
        if self.dry:
            return
        j = self.jobs_now[job]
        now = self.clock()
        if what == "start":
            j.set_start(p["offset"], now)
            desc = "start -> %s" % ("at %d (%+ds)" % (j.at, p["offset"]) if j.form == "unix" else
                                     "'%s' %s (%+ds)" % (j.wall, j.tz, p["offset"]))
        elif what == "tz":
            j.tz = p["tz"] if p["tz"] != j.tz else ZONES[(ZONES.index(j.tz) + 1) % len(ZONES)]
            desc = "timezone -> %s" % j.tz
        elif what == "enabled":
            j.enabled = not j.enabled
            desc = "enabled -> %s" % j.enabled
        elif what == "call_name":
            j.call_base = None if j.call_base else "CN %s %d" % (job, len(self.hist[job].bases) + 1)
            desc = "call_name -> %s" % (j.call_base and "'%s'" % j.call_base)
        elif what == "on_removal":
            j.on_removal = "keep" if j.on_removal == "cancel" else "cancel"
            desc = "on_removal -> %s" % j.on_removal
        elif what == "hours":
            j.set_hours(p["hours"], p["outside"], p["resume"], now)
            desc = "calling hours -> %s" % (j.hours and "%s %s-%s %s" % j.hours[:4])
        elif what == "repeat" and j.kind == "repeat":
            j.repeat = p["repeat"] if p["repeat"] != j.repeat else REPEATS[(REPEATS.index(j.repeat) + 1) % 3]
            desc = "repeat -> '%s'" % j.repeat
        elif what == "recipients":
            j.recipients = tuple("+15550100%d%s" % (i, d) for i, d in enumerate(p["digits"]))
            desc = "recipients -> %s" % ",".join(j.recipients)
        elif what == "lateness":
            j.max_lateness = 3 if j.max_lateness == 900 else 900
            desc = "max_lateness -> %d" % j.max_lateness
        elif what == "touches":
            j.touches = {None: "one", "one": "two", "two": None}[j.touches]
            desc = "follow_up -> %s" % j.touches
        else:
            desc = "nothing (a one-off job has no repeat)"
        self.step("edit job '%s': %s" % (job, desc))
        self.write_job(j)
        self.note_instant(j)
        self.triggers.pop(job, None)
        self.apply("editing '%s'" % job)

    @rule(target=removed, job=consumes(jobs))
    @recorded
    def remove_job(self, job):
        j = self.jobs_now.pop(job)
        if self.dry:
            self.removed_now[job] = j
            return job
        self.step("remove job '%s' (on_removal %s): delete %s" % (job, j.on_removal, j.file))
        for jobs in self.jobs_dirs():
            os.unlink(os.path.join(jobs, j.file))
        j.file = None
        self.removed_now[job] = j
        self.hist[job].removed = True
        self.triggers.pop(job, None)
        self.apply("removing '%s'" % job)
        return job

    @precondition(lambda self: "readd" not in SKIP)
    @rule(target=jobs, job=consumes(removed), new_start=st.booleans(), offset=st.sampled_from(OFFSETS))
    @recorded
    def readd_job(self, job, new_start, offset):
        j = self.removed_now.pop(job)
        if self.dry:
            self.jobs_now[job] = j
            return job
        if new_start:
            j.set_start(offset, self.clock())
        self.jobs_now[job] = j
        self.write_job(j)
        self.note_instant(j)
        self.step("put job '%s' back in %s%s" % (job, j.file, ", with start %+ds" % offset if new_start else
                                                 ", as it was"))
        self.apply("re-adding '%s'" % job)
        return job

    @rule(job=jobs, how=st.sampled_from(["plain", "rename", "broken"]))
    @recorded
    def reload(self, job, how):
        """SIGHUP: with nothing changed, after renaming a job's file, or with
        a broken file present (refused: the old configuration stays)."""
        if self.dry:
            return
        if how == "rename" and "rename" not in SKIP:
            j = self.jobs_now[job]
            old = j.file
            self.files += 1
            j.file = "f%d.conf" % self.files
            for jobs in self.jobs_dirs():
                os.rename(os.path.join(jobs, old), os.path.join(jobs, j.file))
            self.step("rename the file of job '%s': %s -> %s, reload" % (job, old, j.file))
            self.apply("renaming the file of '%s'" % job)
        elif how == "broken":
            self.step("reload with a broken file present (refused), then remove it")
            paths = [os.path.join(jobs, "zz-broken.conf") for jobs in self.jobs_dirs()]
            # (cluster mode: the supervisor starts no node while the
            # broken file is there, it would refuse to start)
            with self.plock:
                for path in paths:
                    with open(path, "w") as f:
                        f.write('jobs = ( { name = "broken"; agent_id = 1; } );\n')
                try:
                    if self.sighup():
                        violation("reload", "a reload with a broken job file was not refused")
                    if self.cluster and self.last_reload[0]:
                        violation("reload", "a reload with a broken job file was not refused by %s" % (
                            ", ".join(self.last_reload[0])))
                finally:
                    for path in paths:
                        os.unlink(path)
        else:
            self.step("reload (SIGHUP), nothing changed")
            self.apply("a reload")

    @precondition(lambda self: DISRUPTIONS)
    @rule(how=st.sampled_from(DISRUPTIONS or ["restart"]), moment=st.floats(0, 1), down=st.sampled_from([0, 2, 5]),
          damage=st.sampled_from(["truncate", "flip", "delete", "wipe"]), ix=st.integers(0, 20),
          frac=st.floats(0, 1))
    @recorded
    def disrupt(self, how, moment, down, damage, ix, frac):
        """restart (SIGTERM, `down` s, start), kill -9 after `moment` s (then
        `down` s, start), freeze (SIGSTOP for a moment), or damage a run file
        (stop, truncate it or flip a byte so that it is no JSON, or delete
        it, or empty the whole state folder as a package purge does; start).
        Cluster mode: disrupt_cluster."""
        if self.dry:
            return
        if self.cluster:
            self.disrupt_cluster(how, moment, down)
            return
        if how == "restart":
            self.step("restart: SIGTERM, %d s down, start" % down)
            self.stop_daemon()
            self.triggers.clear()
            self.advance(down)
            self.start_daemon()
        elif how in ("kill", "kill-ahead"):
            # kill-ahead: 40 ms before the next one-off run's instant, when
            # its intent is durable and its request held to the instant
            # (the daemon steps a first submit 100 ms ahead)
            now = self.clock()
            due = [j.instant() for j in self.jobs_now.values()
                   if how == "kill-ahead" and j.kind == "once" and now + 0.05 < j.instant() <= now + 10]
            if due:
                self.advance(min(due) - now - 0.04)
                self.step("kill -9 40 ms before a run's instant, %d s down, start" % down)
            else:
                self.advance(moment)
                self.step("kill -9 after %.3f s, %d s down, start" % (moment, down))
            self.check_alive(" before kill -9")
            self.d.kill9()
            BUDGET.kills += 1
            self.triggers.clear()
            self.advance(down)
            self.start_daemon()
        elif how == "freeze":
            seconds = {0: 0.5, 2: 1.5, 5: 3}[down]
            self.step("freeze the daemon (SIGSTOP) for %.1f s, then SIGCONT" % seconds)
            self.d.signal(signal.SIGSTOP)
            self.advance(seconds)
            self.d.signal(signal.SIGCONT)
        else:
            self.stop_daemon()
            self.triggers.clear()
            self.step("stop, damage a run file (%s), start" % self.damage_run_file(damage, ix, frac))
            self.start_daemon()

    def disrupt_cluster(self, how, moment, down):
        """restart: SIGTERM the leader (a standby takes over at once), `down` s,
        start it again; kill: kill -9 the leader after `moment` s (the standby
        takes over once the lease is over), start it again a second later
        (systemd); freeze: SIGSTOP the leader for 0.5 + 4.5 x `moment` s, then
        SIGCONT: frozen longer than its lease it must exit 75 (the
        supervisor restarts it); damage: there is no state folder to damage
        (the runs are in etcd): SIGTERM the standby, `down` s, start it."""
        if how == "restart":
            n = self.leader("a restart")
            self.step("restart the leader %s: SIGTERM (a standby takes over at once), %d s down, start" % (n.name, down))
            self.stop_node(n)
            self.advance(down)
            self.start_node(n)
        elif how == "kill":
            self.advance(moment)
            n = self.leader("kill -9")
            self.step("kill -9 the leader %s after %.3f s, start it again %.0f s later" % (n.name, moment, RESTART_SEC))
            self.kill_node(n)
            self.advance(RESTART_SEC)
            self.start_node(n)
        elif how == "freeze":
            seconds = round(0.5 + 4.5 * moment, 2)
            n = self.leader("a freeze")
            longer = seconds > TTL + 0.2
            self.step("freeze the leader %s (SIGSTOP) for %.2f s, then SIGCONT%s" % (
                n.name, seconds, ": longer than its lease, it must exit 75" if longer else ""))
            life = n.starts
            n.frozen = True
            self.bump(time.time())
            n.signal(signal.SIGSTOP)
            try:
                self.advance(seconds)
            finally:
                n.signal(signal.SIGCONT)
                n.frozen = False
            self.bump(time.time())
            if longer:
                self.must_exit.append((n, life, time.time(), seconds))
        else:
            with self.plock:
                standby = [n for n in self.nodes if n.alive() and n.role() != "leader"]
            if not standby:
                self.step("restart the standby: none runs")
                return
            n = standby[0]
            self.step("restart the standby %s: SIGTERM, %d s down, start (no state folder to damage: the runs "
                      "are in etcd)" % (n.name, down))
            self.stop_node(n)
            self.advance(down)
            self.start_node(n)

    def damage_run_file(self, how, ix, frac):
        if how == "wipe":
            BUDGET.wiped += 1
            return self.wipe_state()
        BUDGET.damaged += 1
        runs = os.path.join(self.d.state, "runs")
        files = sorted(n for n in os.listdir(runs) if n.endswith(".json") and "@" in n) \
            if os.path.isdir(runs) else []
        if not files:
            return "there is none"
        name = files[ix % len(files)]
        path = os.path.join(runs, name)
        with open(path, "rb") as f:
            data = f.read()
        try:
            rec = json.loads(data)
        except ValueError:
            rec = None
        if how == "delete":
            os.unlink(path)
            if rec:
                self.tampered_names.add(rec.get("call_name"))
                if rec.get("job") in self.hist:
                    self.hist[rec["job"]].tampered = True
            return "%s deleted" % name
        if how == "truncate" or not data:
            data, detail = data[:int(frac * len(data))], "truncated to %d bytes" % int(frac * len(data))
        else:
            # a structural byte, flipped so that the document no longer parses
            spots = [i for i, c in enumerate(data) if c in b'{}[]:,"']
            first = int(frac * len(spots))
            detail = None
            for k in range(len(spots)):
                i = spots[(first + k) % len(spots)]
                cand = data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1:]
                try:
                    json.loads(cand)
                except ValueError:
                    data, detail = cand, "byte %d flipped (0x%02x -> 0x%02x)" % (i, cand[i] ^ 0x20, cand[i])
                    break
            if detail is None:
                data, detail = data[:len(data) // 2], "truncated to %d bytes" % (len(data) // 2)
        with open(path, "wb") as f:
            f.write(data)
        return "%s %s" % (name, detail)

    def wipe_state(self):
        """Empty the state folder (a purge and reinstall). Every run that came
        due is looked up at the start and adopted; one triggered ahead of its
        instant is not due yet, so nothing looks it up: it is submitted
        again at its instant (README, run identity), tolerated here. The
        webhook events kept go with it."""
        now = time.time()
        self.check_events()      # what the daemon took before is checked now, then forgotten
        self.answered.clear()
        self.wiped_at = now
        self.wipes.append(now)
        # the daemon's own do-not-call list lives in the state folder: a
        # purge takes it along (README); what it held binds no longer
        for n in self.suppressed:
            self.unsuppressed.setdefault(n, now)
        n = 0
        for root, _dirs, files in os.walk(self.d.state):
            for name in files:
                if not name.endswith(".json"):
                    continue
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        rec = json.loads(f.read())
                except (OSError, ValueError):
                    continue
                if not isinstance(rec, dict):
                    continue
                n += 1
                due = max(rec.get("start") or 0, (rec.get("submit_at_ms") or 0) / 1000)
                if rec.get("batch_id") and due > now:
                    self.tampered_names.add(rec.get("call_name"))
                    if rec.get("job") in self.hist:
                        self.hist[rec["job"]].tampered = True
        for entry in os.listdir(self.d.state):
            path = os.path.join(self.d.state, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        return "the whole state folder emptied (%d run records)" % n

    @precondition(lambda self: self.cluster and "etcd" not in SKIP and self.outages < MAX_OUTAGES)
    @rule(down=st.integers(1, 6))
    @recorded
    def etcd_outage(self, down):
        """Cluster mode: kill -9 the etcd member, `down` s, start it again
        (at most MAX_OUTAGES an example). A leader whose lease runs out
        meanwhile exits 75 and is restarted a second later (a standby); some
        node leads within lease_ttl + 5 s of etcd's return."""
        self.outages += 1
        if self.dry:
            return
        self.step("etcd outage: kill -9 the etcd member, %d s down, start it again" % down)
        self.bump(time.time())
        self.etcd.stop()
        try:
            self.advance(down)
        finally:
            self.etcd.start()
        try:
            self.etcd.wait_healthy(30)
        except AssertionError:
            raise TestBug("etcd did not come back within 30 s (%s)" % self.etcd.logfile)
        self.bump(time.time())
        BUDGET.outages += 1

    @precondition(lambda self: "fault" not in SKIP)
    @rule(endpoint=st.sampled_from(ENDPOINTS), kind=st.sampled_from(FAULT_KINDS),
          status=st.sampled_from([503, 500, 502, 504]), retry_after=st.sampled_from([None, "1", "2"]),
          long=st.booleans(), count=st.integers(1, 2))
    @recorded
    def fault(self, endpoint, kind, status, retry_after, long, count):
        """A simulator fault (count hits, at most FAULT_UNITS an example), or clear them."""
        if kind != "clear":
            count = min(count, FAULT_UNITS - self.fault_units)
            kind = kind if count > 0 else "clear"
            self.fault_units += count
        if self.dry:
            return
        if kind == "clear":
            self.step("clear the faults")
            self.sim.clear_faults()
            return
        kw = {"endpoint": endpoint, "kind": kind, "count": count}
        if kind == "status":
            kw["status"] = status
            if retry_after:
                kw["retry_after"] = retry_after
        if kind == "delay":
            kw["delay_ms"] = (self.timeout + 1) * 1000 if long else self.timeout * 500
        self.step("fault %s" % json.dumps(kw))
        self.sim.fault(**kw)

    @precondition(lambda self: "ctl" not in SKIP)
    @rule(op=st.sampled_from(CTL_OPS), job=jobs)
    @recorded
    def ctl(self, op, job):
        if self.dry:
            return
        if self.cluster:
            # at the leader (asked again of the next one after a failover)
            p, out, uncertain, node, life = self.ctl_call([op, job])
            self.step("batchcallctl %s '%s' at the leader %s -> exit %d: %s%s" % (
                op, job, node.name, p.returncode, out[:200], " (asked again: a leader that was asked before "
                                                                 "exited without answering)" if uncertain else ""))
            if uncertain and op in ("cancel", "pause"):
                # it may have taken effect
                setattr(self.hist[job], op + "_ok", True)
                self.triggers.pop(job, None)
            if p.returncode == 0 and op == "trigger" and self.jobs_now[job].kind == "once":
                self.trigger_by[job] = (node, life)
        else:
            p = subprocess.run([harness.CTL, "-c", self.d.conf, op, job], capture_output=True, text=True,
                               timeout=30 * SCALE)
            out = (p.stdout + p.stderr).strip().replace("\n", " | ")
            self.step("batchcallctl %s '%s' -> exit %d: %s" % (op, job, p.returncode, out[:200]))
        if p.returncode == 3 and self.alive():
            violation("daemon", "batchcallctl could not reach the running daemon: %s" % out)
        if p.returncode not in (0, 1):
            raise TestBug("batchcallctl %s '%s' exited %d: %s" % (op, job, p.returncode, out))
        if p.returncode != 0:
            if "no such endpoint" in out or "HTTP 405" in out:
                BUDGET.notes.add("batchcallctl %s cannot address the valid job name '%s': %s" % (op, job, out))
            return
        BUDGET.ctl_ok += 1
        h = self.hist[job]
        if op == "cancel":
            h.cancel_ok = True
            self.triggers.pop(job, None)
        elif op == "pause":
            h.pause_ok = True
            self.triggers.pop(job, None)
        elif op == "trigger" and self.jobs_now[job].kind == "once":
            self.triggers[job] = self.jobs_now[job].instant()

    @precondition(lambda self: "suppress" not in SKIP)
    @rule(job=jobs, ix=st.integers(0, 2), spelled=st.booleans())
    @recorded
    def suppress(self, job, ix, spelled):
        if self.dry:
            return
        j = self.jobs_now.get(job) or self.removed_now.get(job)
        if j is None:
            return
        number = j.recipients[ix % len(j.recipients)]
        arg = "%s %s-%s" % (number[:2], number[2:7], number[7:]) if spelled else number
        if self.cluster:
            p, out, _, node, _ = self.ctl_call(["suppress", arg, "--reason", "model step %d" % self.nstep])
            answered = time.time()
            self.step("batchcallctl suppress '%s' at the leader %s -> exit %d: %s" % (
                arg, node.name, p.returncode, out[:200]))
        else:
            p = subprocess.run([harness.CTL, "-c", self.d.conf, "suppress", arg, "--reason",
                                "model step %d" % self.nstep], capture_output=True, text=True, timeout=30 * SCALE)
            answered = time.time()
            out = (p.stdout + p.stderr).strip().replace("\n", " | ")
            self.step("batchcallctl suppress '%s' -> exit %d: %s" % (arg, p.returncode, out[:200]))
        if p.returncode == 3 and self.alive():
            violation("daemon", "batchcallctl could not reach the running daemon: %s" % out)
        if p.returncode == 3:
            return
        if p.returncode != 0 or not p.stdout.startswith(number + ":"):
            raise TestBug("batchcallctl suppress '%s' exited %d: %s" % (arg, p.returncode, out))
        BUDGET.suppressed += 1
        if number in self.unsuppressed:
            # listed again after a purge: from now on
            del self.unsuppressed[number]
            self.suppressed[number] = answered
        self.suppressed.setdefault(number, answered)

    def check_suppressed(self):
        """Invariant 8: no submit body received after a number's suppress
        was answered (and the margin) holds it; no retry request reaches a
        batch in which a suppressed number would be re-dialled."""
        if not self.suppressed:
            return
        bodies = {}
        for r in self.sim.requests():
            t = r["time_us"] / 1e6
            if r["endpoint"] == "submit":
                try:
                    rc = [x.get("phone_number") for x in json.loads(r["body"] or "{}").get("recipients", [])]
                except (TypeError, ValueError, AttributeError):
                    continue
                if r["batch_id"]:
                    bodies[r["batch_id"]] = rc
                for n in rc:
                    if n in self.suppressed and t > self.suppressed[n] + SUPPRESS_MARGIN * SCALE and \
                            t < self.unsuppressed.get(n, float("inf")):
                        violation("suppressed", "a submit received %.1f s after `suppress %s` was answered "
                                  "holds it (request seq %d, call_name %s)" % (
                                      t - self.suppressed[n], n, r["seq"],
                                      json.loads(r["body"]).get("call_name")))
            elif r["endpoint"] == "retry":
                m = re.search(r"/batch-calling/([^/]+)/retry", r["path"] or "")
                for n in bodies.get(m.group(1) if m else None, ()):
                    if n in self.suppressed and n[-1] in "67" and t > self.suppressed[n] + SUPPRESS_MARGIN * SCALE \
                            and t < self.unsuppressed.get(n, float("inf")):
                        violation("suppressed", "a retry of batch %s, in which %s always fails or reaches "
                                  "voicemail, was received %.1f s after `suppress %s` was answered (seq %d)" % (
                                      m.group(1), n, t - self.suppressed[n], n, r["seq"]))

    def check_limits(self, final=False):
        """Invariant 9: no number called more often than contact_limits
        allow (a count: the spans outlast the example), per stretch between
        two emptyings of the state folder. A run's calls are its call_name's
        (a duplicate the test's damage allows is one attempt, and so one
        contact); retries, read from the batches' retry_count, only in the
        final check."""
        if not self.limits:
            return
        cap = self.limits[0] or 1
        seen = {}      # (number, stretch) -> call_names
        retried = {}   # (number, stretch) -> retries that took effect
        bodies = {}    # batch id -> (numbers, stretch)
        for r in self.sim.requests("submit"):
            try:
                body = json.loads(r["body"] or "{}")
                rc = [x.get("phone_number") for x in body.get("recipients", [])]
            except (TypeError, ValueError, AttributeError):
                continue
            stretch = sum(1 for w in self.wipes if w < r["time_us"] / 1e6)
            if r["batch_id"]:
                bodies[r["batch_id"]] = (rc, stretch)
            for n in rc:
                seen.setdefault((n, stretch), set()).add(body.get("call_name"))
        if final:
            # a retry is counted in the stretch of its request (a batch
            # submitted before the folder was emptied may be retried
            # after it, by a daemon whose ledger was emptied with it): of
            # the retry requests that may have taken effect (docs/
            # simulator.md: no status fault, no drop; a plain answer 200),
            # the first retry_count ones
            applied = {}
            for r in self.sim.requests("retry"):
                bid = r.get("batch_id")
                if bid in bodies and ((r["fault"] is None and r["status"] == 200) or
                                      r["fault"] in ("delay", "apply_then_drop", "malformed", "truncated",
                                                     "apply_then_500", "close_after")):
                    applied.setdefault(bid, []).append(sum(1 for w in self.wipes if w < r["time_us"] / 1e6))
            for bid, (rc, stretch) in bodies.items():
                again = [n for n in rc if n and n[-1] in "67"]
                if again:
                    count = self.sim.batch(bid).get("retry_count") or 0
                    when = applied.get(bid, [])[:count]
                    when += [stretch] * (count - len(when))
                    for n in again:
                        for w in when:
                            retried[(n, w)] = retried.get((n, w), 0) + 1
        for key in set(seen) | set(retried):
            calls = len(seen.get(key, ())) + retried.get(key, 0)
            if calls > cap:
                violation("over the limit", "%s was called %d times (runs %s, %d retries), contact_limits %s allow "
                          "%d" % (key[0], calls, sorted(seen.get(key, ())), retried.get(key, 0), self.limits, cap))

    @precondition(lambda self: self.hooks)
    @rule(kind=st.sampled_from(HOOK_KINDS), event=st.sampled_from(HOOK_EVENTS), count=st.sampled_from([1, 2, -1]),
          delay=st.sampled_from([1, 3]))
    @recorded
    def webhook(self, kind, event, count, delay):
        """A fault of the simulator's webhook sender (duplicate, out of order,
        late, bad signature, stale timestamp, dropped; `count` events, -1:
        all), or clear them; or a delivery the test makes itself: forged,
        unsigned or stale (401, nothing kept), an exact redelivery of a kept
        event with a stale timestamp (200, nothing changes), a signed body
        that is no event (400)."""
        if self.dry:
            return
        if kind == "clear":
            self.step("clear the webhook faults")
            self.sim.call("DELETE", "/_sim/webhook-faults", key=False)
            return
        if kind.startswith("post_"):
            self.post_webhook(kind[5:])
            return
        kw = {"kind": kind, "event": event, "count": count}
        if kind in ("late", "out_of_order"):
            kw["delay_secs"] = delay
        self.step("webhook fault %s" % json.dumps(kw))
        code, body = self.sim.call("POST", "/_sim/webhook-faults", kw, key=False)
        if code != 200:
            raise TestBug("the simulator refused the webhook fault %s: %s %s" % (kw, code, body))
        BUDGET.hook_faults += 1

    def post_webhook(self, how):
        now = int(time.time())
        self.forged += 1
        cid = "conv_model_forged_%d" % self.forged
        fresh = json.dumps({"type": "call_initiation_failure", "event_timestamp": now, "data": {
            "agent_id": "agent_a", "conversation_id": cid, "failure_reason": "busy",
            "metadata": {"type": "sip", "body": {}}}}).encode()
        if self.cluster:
            # the events are in etcd (the balancer hands the delivery to a node)
            kept_now = self.kept_events()
            kept = sorted(kept_now)
        else:
            events = os.path.join(self.d.state, "events")
            kept = sorted(n for n in os.listdir(events) if n.endswith(".json") and not n.startswith(".")) \
                if os.path.isdir(events) else []
        if how == "redelivery" and not kept:
            how = "forged"
        if how == "redelivery":
            name = kept[self.forged % len(kept)]
            if self.cluster:
                body = kept_now[name]
            else:
                with open(os.path.join(events, name), "rb") as f:
                    body = f.read()
            sig, want, desc = sign(body, now - 7200), 200, "an exact redelivery of %s, signed 2 h ago" % name
        elif how == "forged":
            body, sig, want, desc = fresh, sign(fresh, now, "another secret"), 401, "forged (another secret)"
        elif how == "unsigned":
            body, sig, want, desc = fresh, None, 401, "unsigned"
        elif how == "stale":
            body, sig, want, desc = fresh, sign(fresh, now - 1900), 401, "signed 31 min ago"
        else:
            body, want, desc = b"{}", 400, "signed, but no post-call event"
            sig = sign(body, now)
        req = urllib.request.Request("http://127.0.0.1:%d/hook" % self.port, data=body, method="POST")
        if sig:
            req.add_header("ElevenLabs-Signature", sig)
        try:
            with urllib.request.urlopen(req, timeout=10 * SCALE) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError as e:
            code = "no answer (%s)" % e
        self.step("POST to the webhook receiver, %s -> HTTP %s" % (desc, code))
        if code != want:
            violation("webhook", "the receiver answered %s to a delivery %s, not %d" % (code, desc, want))
        if self.cluster:
            kept_now = self.kept_events()
            if how == "redelivery" and kept_now.get(name) != body:
                violation("webhook", "an exact redelivery of %s changed the kept event" % name)
            if how != "redelivery" and "call_initiation_failure-%s.json" % cid in kept_now:
                violation("webhook", "a delivery answered %d was kept: %s" % (code, cid))
        elif how == "redelivery":
            with open(os.path.join(events, name), "rb") as f:
                if f.read() != body:
                    violation("webhook", "an exact redelivery of %s changed the kept event" % name)
        elif os.path.exists(os.path.join(events, "call_initiation_failure-%s.json" % cid)):
            violation("webhook", "a delivery answered %d was kept: %s" % (code, cid))
        BUDGET.hook_posts += 1

    @rule(how=st.sampled_from(["due", "1", "0.5", "2", "4"]))
    @recorded
    def wait(self, how):
        """Let time pass: until the next one-off run is due (and 1.25 s more), or a few seconds."""
        if self.dry:
            return
        if how == "due":
            now = self.clock()
            due = [j.instant() for j in self.jobs_now.values() if j.kind == "once" and now < j.instant() <= now + 10]
            seconds = (min(due) - now + 1.25) if due else 1
            self.step("let the next one-off run come due: %.2f s" % seconds)
        else:
            seconds = float(how)
            self.step("let %.1f s pass" % seconds)
        self.advance(seconds)

    # --- invariants ---

    def after_each_step(self):
        self.check_alive(" after the step")
        self.check_sanitizers()
        if self.cluster:
            self.drop_stale_triggers()
        recs = self.runs()       # first the state, then the batches it may name
        self.check_batches(recs, self.created())
        self.check_events()
        self.check_suppressed()
        self.check_limits()
        self.check_touches()

    def check_touches(self):
        """Invariant 10: a follow-up touch K of an occurrence calls only
        people touch K-1 of it called (its submit bodies), none whom touch
        K-1 reached (completed) when its selector leaves them out, and is
        submitted no sooner than the shortest `after` it ever had past
        the last submit of touch K-1 (which ended before it was made).
        Batches are grouped by job (their call_name base) and rendered
        local start; a job whose base or zone changed may render one
        occurrence two ways, and its touches are then not matched."""
        base_job = {b: name for name, h in self.hist.items() for b in h.bases}
        groups = collections.defaultdict(lambda: collections.defaultdict(list))
        for r in self.sim.requests("submit"):
            # (a submit whose answer was lost may have made its batch:
            # apply_then_drop answers nothing)
            if not r["batch_id"]:
                continue
            try:
                body = json.loads(r["body"] or "{}")
            except ValueError:
                continue
            m = NAME_RX.match(body.get("call_name") or "")
            if not m or m.group("base") not in base_job:
                continue
            job = base_job[m.group("base")]
            rc = [x.get("phone_number") for x in body.get("recipients", [])]
            groups[(job, m.group("local"))][touch_of(m.group("part"))].append((r["time_us"] / 1e6, r["batch_id"], rc))
        for (job, local), touches in groups.items():
            h = self.hist[job]
            for k in sorted(t for t in touches if t > 0):
                prev = touches.get(k - 1)
                if not prev:
                    if len(h.bases) == 1 and len(h.tzs) == 1:
                        violation("touch", "job '%s' run %s: follow-up %d was submitted (%s) but touch %d never "
                                  "was" % (job, local, k, touches[k][0][1], k - 1))
                    continue
                called = {n for _, _, rc in prev for n in rc}
                last = max(t for t, _, _ in prev)
                completed = set()
                if k not in h.touch_keeps_completed:
                    for _, bid, _ in prev:
                        completed |= {x["phone_number"] for x in self.sim.batch(bid)["recipients"]
                                      if x["status"] == "completed"}
                for t, bid, rc in touches[k]:
                    extra = [n for n in rc if n not in called]
                    if extra:
                        violation("touch", "job '%s' run %s: follow-up %d (batch %s) calls %s, whom touch %d "
                                  "never called" % (job, local, k, bid, extra, k - 1))
                    done = [n for n in rc if n in completed]
                    if done:
                        violation("touch", "job '%s' run %s: follow-up %d (batch %s) calls %s, reached (completed) "
                                  "in touch %d" % (job, local, k, bid, done, k - 1))
                    after = h.touch_after.get(k, 0)
                    if t + 0.05 < last + after:
                        violation("touch", "job '%s' run %s: follow-up %d (batch %s) was submitted %.2f s after "
                                  "the last submit of touch %d; after = %ds" % (job, local, k, bid, t - last,
                                                                                k - 1, after))

    def check_events(self):
        """Invariant 6: every post-call event the receiver answered 200 is kept
        in the state folder (the answer comes only once it is durable: a kill
        -9 after it loses nothing), as many bytes as were sent."""
        if not self.hooks:
            return
        code, body = self.sim.call("GET", "/_sim/webhooks?since=%d" % self.hook_seq, key=False)
        if code != 200:
            raise TestBug("GET /_sim/webhooks answered %s" % code)
        settled = True
        for dlv in sorted(body["deliveries"], key=lambda x: x["seq"]):
            done = dlv["answered_us"] is not None or dlv["error"] is not None
            settled = settled and done
            if settled:
                self.hook_seq = dlv["seq"]     # (one still in flight is read again next time)
            if dlv["status"] == 200 and dlv["event"] in KEPT_EVENTS:
                name = "%s-%s.json" % (dlv["event"], dlv["conversation_id"])
                if name not in self.answered:
                    BUDGET.hook_delivered += 1
                self.answered[name] = (dlv["body_len"], dlv["answered_us"] / 1e6)
        if self.cluster:
            kept = self.kept_events()
            for name, (n, at) in sorted(self.answered.items()):
                if name not in kept:
                    violation("lost event", "the receiver answered 200 to a delivery of %s (%+.1fs), but etcd does "
                              "not keep it" % (name, at - time.time()))
                if len(kept[name]) != n:
                    violation("lost event", "the receiver answered 200 to a delivery of %s (%d bytes), but etcd keeps "
                              "%d bytes" % (name, n, len(kept[name])))
            return
        events = os.path.join(self.d.state, "events")
        for name, (n, at) in sorted(self.answered.items()):
            try:
                size = os.path.getsize(os.path.join(events, name))
            except OSError:
                violation("lost event", "the receiver answered 200 to a delivery of %s (%+.1fs), but the state folder "
                          "does not keep it" % (name, at - time.time()))
            if size != n:
                violation("lost event", "the receiver answered 200 to a delivery of %s (%d bytes), but it keeps %d bytes"
                          % (name, n, size))

    def results_problems(self, recent=0.0):
        """Invariant 7, as a list of what is wrong (empty: nothing): the
        results files of every finished occurrence of a job in the files
        (every part of it in a final state) are there, the CSV and the JSON
        Lines file hold the same rows, no phone number has two rows, every
        recipient of every batch of the occurrence has exactly one row, whose
        batch is one of the occurrence's and whose status is that batch's
        final status of the recipient; a row no batch decided has one of
        batchcalld's own statuses for a recipient never dialled (the one its
        run's end gives, when the occurrence has no batch); and a row whose
        conversation has a kept event shows it (a transcription: done; a
        call_initiation_failure: its reason). While the daemon runs, an
        occurrence that ended less than `recent` seconds ago is left out: its
        files are written a second after its end (recurring jobs keep ending
        while the test waits)."""
        probs = []
        now_ms = time.time() * 1000
        if self.cluster:
            # each node writes the files while it leads, under its own
            # results_dir: an occurrence's files may be on either (an older
            # copy on the other); one copy must be complete and consistent
            dirs = [n.results for n in self.nodes]
            kept = set(self.kept_events()) if self.hooks else set()
        else:
            dirs = [os.path.join(self.work, "results")]
            events = os.path.join(self.d.state, "events")
            kept = set(os.listdir(events)) if self.hooks and os.path.isdir(events) else set()
        occs = collections.defaultdict(list)
        for r in self.runs():
            occs[(r["job"], r["start"])].append(r)
        files = rows = 0
        for (job, start), rs in sorted(occs.items()):
            if job not in self.jobs_now or any(r["state"] not in FINAL for r in rs):
                continue
            if recent and max(r.get("finished_ms") or 0 for r in rs) > now_ms - recent * 1000:
                continue
            main = [r for r in rs if not r.get("part")]
            where = "job '%s' run %d (%s)" % (job, start, ", ".join(
                "%s%s %s%s" % (r["state"], " part " + r["part"] if r.get("part") else "", r.get("batch_id") or "no batch",
                               "" if r.get("finished_ms") else " no finished_ms") for r in rs))
            copies = []
            for results in dirs:
                base = os.path.join(results, results_name(job, start, (main or rs)[0]["call_name"]))
                mine, readable, nrows = self.copy_problems(base, where, rs, main, kept)
                copies.append((results, mine))
                if not mine or not self.cluster:
                    files += readable
                    rows += nrows
                if not mine:
                    break
            else:
                for results, mine in copies:
                    probs += ["%s%s" % ("%s: " % os.path.relpath(results, self.work) if self.cluster else "", m)
                              for m in mine]
        return probs, files, rows

    def copy_problems(self, base, where, rs, main, kept):
        """What is wrong with one copy of an occurrence's results files (base:
        their name without the extension), whether they could be read, and
        their rows."""
        probs = []
        try:
            with open(base + ".csv", "rb") as f:
                raw = f.read()
            with open(base + ".jsonl", encoding="utf-8") as f:
                lines = [json.loads(x) for x in f.read().splitlines()]
        except (OSError, ValueError) as e:
            probs.append("%s: its results files cannot be read: %s" % (where, e))
            return probs, 0, 0
        table = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        body = [dict(zip(table[0], r)) for r in table[1:]] if table else []
        if len(body) != len(lines):
            probs.append("%s: the CSV file has %d rows, the JSON Lines file %d" % (where, len(body), len(lines)))
            return probs, 1, 0
        for c, j in zip(body, lines):
            phone = c["phone_number"][1:] if c["phone_number"].startswith("'") else c["phone_number"]
            if (c["status"], c["batch_id"] or None, phone or None) != (j["status"], j["batch_id"], j["phone_number"]):
                probs.append("%s: the CSV row %r and the JSON Lines row %r disagree" % (
                    where, (c["status"], c["batch_id"], c["phone_number"]),
                    (j["status"], j["batch_id"], j["phone_number"])))
        dup = [p for p, n in collections.Counter(j["phone_number"] for j in lines).items() if n > 1]
        if dup:
            probs.append("%s: more than one row for %s" % (where, ", ".join(sorted(map(str, dup)))))
        batches = {}
        for r in rs:
            if r.get("batch_id"):
                batches[r["batch_id"]] = {x["phone_number"]: x["status"] for x in self.sim.batch(r["batch_id"])["recipients"]}
        by_phone = {j["phone_number"]: j for j in lines}
        for bid, rc in sorted(batches.items()):
            for phone, status in sorted(rc.items()):
                j = by_phone.get(phone)
                if j is None:
                    probs.append("%s: recipient %s of batch %s has no row" % (where, phone, bid))
                elif j["batch_id"] not in batches:
                    probs.append("%s: the row of %s (batch %s in the batch's %s) names batch %s, no batch of "
                                 "the occurrence" % (where, phone, bid, status, j["batch_id"]))
                elif j["status"] != batches[j["batch_id"]].get(phone):
                    probs.append("%s: the row of %s says %s (batch %s), the batch says %s" % (
                        where, phone, j["status"], j["batch_id"], batches[j["batch_id"]].get(phone)))
        whole = main[0]["state"] if main else None
        for j in lines:
            if j["batch_id"] is None:
                want = {"missed": "missed", "error": "refused", "cancelled": "withdrawn"}.get(whole) \
                    if not batches else None
                if j["status"] not in UNBATCHED or (want and j["status"] != want):
                    probs.append("%s: the row of %s (never dialled) says %s%s" % (
                        where, j["phone_number"], j["status"], ", not %s" % want if want else ""))
            cid = j["conversation_id"]
            if cid and "post_call_transcription-%s.json" % cid in kept and j["conversation_status"] != "done":
                probs.append("%s: the row of %s does not show the kept transcription of %s (conversation_status %s)"
                             % (where, j["phone_number"], cid, j["conversation_status"]))
            if cid and "call_initiation_failure-%s.json" % cid in kept and not j["failure_reason"]:
                probs.append("%s: the row of %s does not show the kept call_initiation_failure of %s" % (
                    where, j["phone_number"], cid))
        return probs, 1, len(lines)

    def settle_results(self):
        """Once quiet: no more webhooks (the sender is turned off and its
        delivery in flight answered), then every results file must become
        complete and consistent within the mechanism's bound: a write waits
        a second for more facts; a batch's detail fetched again after a
        start waits for its backoff after the faults that hit it."""
        if self.hooks:
            self.sim.call("POST", "/_sim/webhooks", {"url": None}, key=False)
            wait_until(lambda: not self.sim.call("GET", "/_sim/webhooks?since=%d" % (1 << 62), key=False)[1]["in_flight"],
                       15, "the webhook delivery in flight")
            self.check_events()
        hits = sum(1 for r in self.sim.requests() if r["fault"])
        limit = (min(300, 2 ** hits) + RETRY_AFTER_MAX + self.grace + 5) * SCALE
        # An occurrence that ended in the last seconds is left out while
        # the daemon runs (its files follow a second later), but not by
        # the check after the stop: a run cancelled just before the
        # teardown (its detail still to fetch, so no file at the stop
        # either) must have its time first.
        ended = [r.get("finished_ms") or 0 for r in self.runs() if r["state"] in FINAL]
        if ended and max(ended) / 1000 + 3 > time.time():
            time.sleep(max(ended) / 1000 + 3 - time.time())
        t0 = time.monotonic()
        while True:
            probs, files, rows = self.results_problems(recent=3)
            if not probs:
                break
            if time.monotonic() - t0 > limit:
                violation("results", "the results files are not complete and consistent %.0f s after quiet:\n  %s" % (
                    limit, "\n  ".join(probs[:12])))
            time.sleep(0.3)
        self.say("results consistent after %.1f s: %d occurrences' files, %d rows" % (time.monotonic() - t0, files, rows))

    def created(self):
        """Every batch the simulator created, from its request log (a submit
        that took effect names its batch): the log meets no fault, the list
        endpoint would."""
        out = []
        for r in self.sim.requests("submit"):
            if not r["batch_id"]:
                continue
            try:
                body = json.loads(r["body"])
            except (TypeError, ValueError):
                body = {}
            out.append({"id": r["batch_id"], "name": body.get("call_name"), "agent_id": body.get("agent_id"),
                        "seq": r["seq"], "time": r["time_us"] / 1e6, "fault": r["fault"], "status": r["status"]})
        return out

    def explain_batch(self, name, batches):
        return "\n".join("  batch %s '%s' agent %s: submit request seq %d at %.3f (%+.1fs), answered %s%s" % (
            b["id"], b["name"], b["agent_id"], b["seq"], b["time"], b["time"] - time.time(), b["status"],
            ", fault " + b["fault"] if b["fault"] else "") for b in batches if b["name"] == name)

    def check_batches(self, recs, batches):
        """Invariants 1 and 2, from the state records and the simulator's batches."""
        names = collections.Counter(b["name"] for b in batches)
        for name, n in sorted(names.items()):
            if n > 1 and name not in self.tampered_names:
                violation("duplicate", "%d batches carry the call_name '%s' (one run submitted %d times):\n%s" %
                                     (n, name, n, self.explain_batch(name, batches)))
        # A one-off job that was never removed has one run: at most one batch that is not a part.
        for jname, h in self.hist.items():
            if h.kind != "once" or h.removed or h.tampered:
                continue
            mains = [b for b in batches if parse_name(b["name"])[0] in h.bases and parse_name(b["name"])[2] is None]
            if len(mains) > 1:
                violation("duplicate", "one-off job '%s' (never removed) has %d batches: %s" % (
                    jname, len(mains), ", ".join("%s '%s'" % (b["id"], b["name"]) for b in mains)))
        # A recurring job submits its occurrences, nothing in between.
        for jname, h in self.hist.items():
            if h.kind != "repeat":
                continue
            for b in batches:
                base, local, part = parse_name(b["name"])
                if base not in h.bases or part is not None:
                    continue
                sec = int(local[17:19]) if len(local) > 16 else 0
                if not any(occurs(sec, r) for r in h.repeats):
                    violation("wrong run", "recurring job '%s' (repeat %s) submitted batch %s '%s', whose "
                              "instant is no occurrence of its repeat" % (
                                  jname, " or ".join(sorted(h.repeats)), b["id"], b["name"]))
        by_id = {b["id"]: b for b in batches}
        owner = {}
        for r in recs:
            bid = r.get("batch_id")
            if not bid:
                continue
            where = "run %s@%s%s (state %s)" % (r["job"], r["start"], "@" + r["part"] if r.get("part") else "",
                                                r["state"])
            b = by_id.get(bid)
            if b is None:
                violation("cross-job batch", "%s names batch %s, which the simulator never created" % (where, bid))
            if b["name"] != r.get("call_name"):
                violation("cross-job batch", "%s has call_name '%s' but names batch %s of call_name '%s'" % (
                    where, r.get("call_name"), bid, b["name"]))
            h = self.hist.get(r["job"])
            if h and parse_name(b["name"])[0] not in h.bases:
                violation("cross-job batch", "%s names batch %s '%s', not a call_name of job '%s' (its bases: %s)" % (
                    where, bid, b["name"], r["job"], sorted(h.bases)))
            if h and b["agent_id"] != h.agent:
                violation("cross-job batch", "%s names batch %s of agent %s, the job's agent is %s" % (
                    where, bid, b["agent_id"], h.agent))
            if bid in owner:
                violation("cross-job batch", "batch %s is named by two runs: %s and %s" % (bid, owner[bid], where))
            owner[bid] = where

    # --- the quiet period and the final checks ---

    def view(self):
        if self.cluster:
            # the leader's (a standby leaves out runs with no record yet)
            for _ in range(8):
                n = self.leader("GET /v1/jobs")
                try:
                    st_, body = n.control("GET", "/v1/jobs")
                except (OSError, ValueError):
                    time.sleep(0.2)
                    continue
                if st_ == 200 and (body.get("cluster") or {}).get("role") == "leader":
                    return {v["name"]: v for v in body["jobs"]}
                time.sleep(0.2)
            violation("daemon", "the leader did not answer GET /v1/jobs as the leader, 8 times over")
        st_, body = self.d.control("GET", "/v1/jobs")
        if st_ != 200:
            violation("daemon", "GET /v1/jobs answered %s" % st_)
        return {v["name"]: v for v in body["jobs"]}

    def unsettled(self, t0):
        """Why the system is not quiet yet: [(reason, orphan key or None)],
        empty when quiet. An orphan is a run record that is scheduled and
        past its due time while the daemon tracks another run of its job (or
        none): it will not change, and would be loaded, and submitted, at
        the next start."""
        now = time.time()
        why = []
        held = [r for r in self.sim.requests() if r["fault"] == "delay" and r["status"] is None]
        if held:
            why.append(("%d delayed requests held by the simulator" % len(held), None))
        view = self.view()

        def waiting(start, due):
            # Due (or waiting for a backoff) rather than deferred to a
            # later opening of the calling hours.
            return start <= now and due <= now + DEFERRED
        for r in self.runs():
            where = "run %s@%s%s" % (r["job"], r["start"], "@" + r["part"] if r.get("part") else "")
            due = (r.get("due_ms") or r.get("submit_at_ms") or r["start"] * 1000) / 1000
            if r["state"] == "submitting" or r.get("uncertain"):
                why.append(("%s is %s%s" % (where, r["state"], " (uncertain)" if r.get("uncertain") else ""), None))
            elif r["state"] in ACTIVE and r["start"] < t0 - 1:
                why.append(("%s is still %s" % (where, r["state"]), None))
            elif r["state"] == "scheduled" and waiting(r["start"], due):
                # (a run waiting for its backoff has its due time ahead)
                v = view.get(r["job"])
                orphan = not r.get("part") and due < now - 1 and (v is None or v["start_unix"] != r["start"])
                why.append(("%s is scheduled and due (due %+.1fs)%s" % (
                    where, due - now, "; the daemon tracks %s" % (
                        "run %s@%s (%s)" % (r["job"], v["start_unix"], v["state"]) if v else "no run of that job")
                    if orphan else ""), where if orphan else None))
        for name, v in view.items():
            due = v["next_due_unix"] or v["start_unix"]
            if v["state"] == "submitting" or v["uncertain"]:
                why.append(("job '%s': current run %s%s" % (name, v["state"],
                                                             " (uncertain)" if v["uncertain"] else ""), None))
            elif v["state"] == "scheduled" and waiting(v["start_unix"], due):
                why.append(("job '%s': current run scheduled and due (due %+ds)" % (name, due - now), None))
            fu = v.get("follow_up")
            j = self.jobs_now.get(name)
            if fu and self.hooks and j and j.touches == "two" and fu["touch"] == 2:
                # it judges by the conversations and waits up to 15 min
                # for their analysis: with a receiver, a lost webhook is
                # polled for only 10 min after the batch ended
                fu = None
            if fu and fu.get("due_unix") is not None and fu["due_unix"] <= now + DEFERRED:
                # a touch comes due: it is made then (and looked up first
                # after a lost state), then submitted
                why.append(("job '%s': follow-up %d is due (%+ds)" % (name, fu["touch"], fu["due_unix"] - now), None))
        return why

    def quiet_deadline(self):
        hits = sum(1 for r in self.sim.requests() if r["fault"])
        backoff = min(300, 2 ** max(0, hits - 1)) + RETRY_AFTER_MAX
        call = 18.0 / self.speed + 3.0 / self.speed           # longest call, plus dial and ring
        batch = (MAX_RETRIES + 1) * (3 * call + POLL + RETRY_DELAY + 2)
        # the follow-up touches (at most two, 1 s and 2 s after): each a
        # batch of its own, made when due and maybe looked up first
        touches = 2 * (batch + 2 + self.grace) if any(j.touches for j in self.jobs_now.values()) else 0
        return (self.grace + backoff + batch + touches + 20) * SCALE

    def wait_quiet(self):
        t0 = time.time()
        limit = self.quiet_deadline()
        if self.cluster:
            # a failover not yet over (the last disruption's bound), then
            # the new leader's lookups of what it inherited (grace)
            limit += max(0.0, self.leader_by - t0) + self.grace * SCALE
        deadline = time.monotonic() + limit
        orphan_limit = (self.grace + POLL + 2) * SCALE
        orphans = {}
        while True:
            self.check_alive(" while waiting for quiet")
            why = self.unsettled(t0)
            if not why:
                break
            now = time.monotonic()
            for _, key in why:
                if key:
                    orphans.setdefault(key, now)
            stale = [key for key, since in orphans.items() if now - since > orphan_limit and
                     any(k == key for _, k in why)]
            if stale or now > deadline:
                violation("stuck run", "not quiet %.0f s after the faults were cleared (%s):\n  %s" % (
                    now - deadline + limit, "a run the daemon does not track stays due" if stale else
                    "the mechanism's bound", "\n  ".join(w for w, _ in why)))
            time.sleep(0.2)
        self.say("quiet after %.1f s (bound %.0f s)" % (time.time() - t0, limit))

    def log_has(self, log, job, rx):
        jrx = re.compile(r"job_name=%s(?=\s|$)" % re.escape(job))
        return any(jrx.search(line) and re.search(rx, line) for line in log.splitlines())

    def check_accounting(self, recs, view, log, now):
        """Invariant 3 for one-off jobs, and the runs accepted triggers asked for."""
        reasons = {"missed": r"missed|not submitted", "cancelled": r"cancel", "paused": r"paus",
                   "error": r"refused", "completed": r"do-not-call list(?: \(\d+\) or over the contact limits \(\d+\))?: nothing submitted"}
        for name, j in sorted(self.jobs_now.items()):
            h = self.hist[name]
            if j.kind != "once" or h.tampered:
                continue
            inst = j.instant()
            mine = [r for r in recs if r["job"] == name and not r.get("part")]
            if inst > now - 1 or any(r.get("batch_id") for r in mine):
                continue
            v = view.get(name)
            state = v["state"] if v else (max(mine, key=lambda r: r.get("gen", 0))["state"] if mine else None)
            due = (v["next_due_unix"] or 0) if v else 0
            what = "one-off job '%s' came due at %d (%+.0fs)" % (name, inst, inst - now)
            if state is None:
                violation("lost run", "%s and has no run at all: not submitted, no state" % what)
            if state == "disabled":
                if j.enabled:
                    violation("lost run", "%s, is enabled, but its run is disabled" % what)
                continue
            if state == "scheduled" and due > now + DEFERRED and h.hours:
                continue  # deferred to the next opening of its calling hours
            if state == "scheduled" and mine and self.limits and \
                    self.log_has(log, name, r"go to a deferred follow-up \(over_limit = defer\)"):
                # every recipient over the contact limits: the run ended
                # with nothing submitted, and the job's view shows the
                # deferred run that will call them
                state = max(mine, key=lambda r: r.get("gen", 0))["state"]
            if state not in reasons:
                violation("lost run", "%s and was not submitted: its run is %s (next due %s)" % (
                    what, state, due or None))
            legit = {"missed": h.hours or h.small_lateness or h.instant_set_at - h.instant > j.max_lateness - 5,
                     "cancelled": h.cancel_ok, "paused": h.pause_ok, "error": True,
                     # (an edit after it came due may have changed the recipients)
                     "completed": any(all(n in self.suppressed and n not in self.unsuppressed for n in rs)
                                      for rs in h.rcpt_sets + [tuple(j.recipients)])
                     or self.limits}[state]
            if not legit:
                violation("lost run", "%s and was not submitted: its run is %s, which no rule explains (%s)" % (
                    what, state, {"missed": "its instant was set %.0f s before it came due, max_lateness %d" % (
                        inst - h.instant_set_at, j.max_lateness),
                        "cancelled": "nobody cancelled it", "paused": "nobody paused it",
                        "completed": "without a batch, not every recipient suppressed, no contact "
                                     "limits"}.get(state, "")))
            if not self.log_has(log, name, reasons[state]):
                violation("lost run", "%s, its run is %s, but the log has no line saying so" % (what, state))
        for name, inst in sorted(self.triggers.items()):
            mine = [r for r in recs if r["job"] == name and not r.get("part") and r["start"] == inst]
            if any(r.get("batch_id") or r["state"] == "error" for r in mine):
                continue
            if self.hist[name].hours and any(r["state"] == "scheduled" and (r.get("due_ms") or 0) > (now + DEFERRED) * 1000
                                             for r in mine):
                continue  # outside its calling hours a trigger defers to their opening (README)
            j = self.jobs_now.get(name)
            if j and any(r["state"] == "completed" for r in mine) and (
                    self.limits or all(n in self.suppressed and n not in self.unsuppressed for n in j.recipients)):
                # every recipient listed (or over the limits): the run ends
                # complete with nothing to submit, as an untriggered one would
                if self.log_has(log, name, reasons["completed"]):
                    continue
            violation("lost trigger", "batchcallctl trigger '%s' was accepted (run of %d, %+.0fs), but the run "
                      "was never submitted: %s" % (name, inst, inst - now, ", ".join(
                          "state %s, next due %s" % (r["state"], r.get("due_ms")) for r in mine) or "no state"))

    def final_checks(self):
        self.say("teardown: clear the faults, wait for quiet, stop, check")
        self.sim.clear_faults()
        self.check_alive(" at teardown")
        self.wait_quiet()
        self.settle_results()
        view = self.view()
        now = time.time()
        if self.cluster:
            self.drop_stale_triggers()
        self.stop_daemon()
        self.check_sanitizers()
        self.check_events()
        probs, files, rows = self.results_problems()
        if probs:
            violation("results", "after a clean stop the results files are not complete and consistent:\n  %s" %
                      "\n  ".join(probs[:12]))
        BUDGET.result_files += files
        BUDGET.result_rows += rows
        recs = self.runs()
        batches = self.created()
        self.check_batches(recs, batches)
        listed = {b["id"]: b["name"] for b in self.sim.batches()}   # no fault is left to hit the test
        logged = {b["id"]: b["name"] for b in batches}
        if listed != logged:
            raise TestBug("the simulator's list and its request log disagree: %s" % (
                set(listed.items()) ^ set(logged.items())))
        stuck = [r for r in recs if r["state"] == "submitting" or r.get("uncertain")]
        if stuck:
            violation("stuck run", "after a clean stop with no fault, runs are still uncertain: %s" % ", ".join(
                "%s@%s%s (%s)" % (r["job"], r["start"], "@" + r["part"] if r.get("part") else "", r["state"])
                for r in stuck))
        self.check_suppressed()
        self.check_limits(final=True)
        self.check_touches()
        self.check_accounting(recs, view, self.logs(), now)
        self.say("checked: %d batches, %d run records, %d jobs" % (len(batches), len(recs), len(self.jobs_now)))

    def worth_running(self):
        if self.final:
            return True
        return len(self.actions) > MIN_STEPS and real_example() and BUDGET.may_start()

    def teardown(self):
        if not self.worth_running():
            BUDGET.skipped += 1
            return
        actions, self.actions = self.actions, []
        self.reset_model()
        self.dry = False
        self.t_start = time.monotonic()
        try:
            for name, kw in actions:
                IMPLS[name](self, **kw)
                self.after_each_step()
                if name != "begin":
                    self.advance(QUANTUM)
            self.final_checks()
        except BaseException:
            self.failed = True
            raise
        finally:
            self.cleanup()

    def cleanup(self):
        if self.work is None:
            return
        try:
            reqs = self.sim.requests() if self.sim is not None and self.sim.proc.poll() is None else []
        except OSError:
            reqs = []
        BUDGET.faults_hit += sum(1 for r in reqs if r["fault"])
        BUDGET.submits += sum(1 for r in reqs if r["endpoint"] == "submit")
        BUDGET.batches += sum(1 for r in reqs if r["endpoint"] == "submit" and r["batch_id"])
        if self.d is not None and self.d.proc is not None and self.d.proc.poll() is None:
            self.d.proc.kill()
            self.d.proc.wait()
        if self.sup is not None:
            self.sup.stopping = True
            self.sup.join(5)
        for n in self.nodes:
            n.want = False
            if n.proc is not None and n.proc.poll() is None:
                try:
                    n.proc.send_signal(signal.SIGCONT)
                except OSError:
                    pass
                n.proc.kill()
                n.proc.wait()
            BUDGET.leaderships += n.log().count("' is the leader (lease")
        if self.relay is not None:
            self.relay.close()
        if self.etcd is not None:
            self.etcd.stop()
        if self.sim is not None:
            self.sim.stop()
        if BUDGET.failed_at is None:
            BUDGET.examples += 1
        else:
            BUDGET.shrink_runs += 1
        BUDGET.durations.append(time.monotonic() - self.t_start)
        if self.failed:
            if BUDGET.failed_at is None:
                BUDGET.failed_at = time.monotonic()
            if self.final:
                if self.sup is not None:
                    print("---- node exits (time, node, life, status): %s" % [
                        (round(t - self.T0, 2), nm, life, rc) for t, nm, life, rc in self.sup.exits], flush=True)
                for f in ("daemon.log", "sim.stderr") if not self.cluster else \
                        ["%s/daemon.log" % nm for nm in NODE_NAMES] + ["sim.stderr", "etcd/m1.log"]:
                    p = os.path.join(self.work, f)
                    if os.path.exists(p):
                        with open(p, errors="replace") as fh:
                            print("---- %s (tail)\n%s" % (f, fh.read()[-6000:]), flush=True)
                print("---- the failing example's folder is kept: %s" % self.work, flush=True)
                return
        if not os.environ.get("BC_MODEL_KEEP"):
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    if not os.path.exists(harness.DAEMON):
        print("SKIP: no %s (set TOP_BUILDDIR)" % harness.DAEMON)
        return 77
    if CLUSTER_ENV == "1" and not os.access(ETCD, os.X_OK):
        print("SKIP: BC_MODEL_CLUSTER=1 needs %s (Debian package etcd-server)" % ETCD)
        return 77
    # make check's timeout (SIGTERM): leave through the finally blocks and
    # atexit, which kill every process started (etcd too)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    # The folders of earlier runs whose process is gone (a failing run keeps
    # its failing example's folder until then).
    for old in os.listdir(WORKROOT) if os.path.isdir(WORKROOT) else []:
        m = re.match(r"run-(\d+)$", old)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            shutil.rmtree(os.path.join(WORKROOT, old), ignore_errors=True)
    print("test_model: seed %d (BC_SEED=%d generates the same action sequences), budget %.1f min, %d steps "
          "an example%s, cluster mode %s" % (
              SEED, SEED, MINUTES, STEPS, ", leaving out: " + ",".join(sorted(SKIP)) if SKIP else "",
              "in every example" if CLUSTER_DRAW == [True] else "in none" if CLUSTER_DRAW == [False] else
              "in one example in four"), flush=True)
    phases = [Phase.explicit, Phase.generate, Phase.shrink]
    # Enough valid examples (dry ones count) that the budget, not the count, ends the run.
    conf = settings(max_examples=int(60 + MINUTES * 15), stateful_step_count=STEPS, deadline=None,
                    database=None, print_blob=True, report_multiple_bugs=False, phases=phases,
                    suppress_health_check=list(HealthCheck))
    let_the_budget_end_shrinking()
    machine = hypothesis.seed(SEED)(Operator)
    if REPRODUCE:
        blob = REPRODUCE.strip()
        if blob.startswith("b'") or blob.startswith('b"'):
            blob = blob[2:-1]
        machine = hypothesis.reproduce_failure(hypothesis.__version__, blob.encode())(machine)
    t0 = time.monotonic()
    ok = False
    try:
        run_state_machine_as_test(machine, settings=conf)
        ok = True
    finally:
        b = BUDGET
        print("test_model: %s after %.0f s: %d examples run (%d more while shrinking, %d not run), %d steps, "
              "%d submit requests, %d batches, %d restarts, %d kill -9, %d reloads, %d faulted requests, "
              "%d run files damaged, %d state folders emptied, %d accepted ctl requests, %d numbers suppressed, "
              "%d examples with webhooks, %d with contact limits "
              "(%d events taken, %d webhook faults, %d deliveries of the test's own), %d with the API's clock off, "
              "%d occurrences' results files checked (%d rows), %d steps over their time; seed %d" % (
                  "passed" if ok else "FAILED", time.monotonic() - t0, b.examples, b.shrink_runs, b.skipped,
                  b.steps, b.submits, b.batches, b.restarts, b.kills, b.reloads, b.faults_hit, b.damaged,
                  b.wiped, b.ctl_ok, b.suppressed, b.hooked, b.limited, b.hook_delivered, b.hook_faults, b.hook_posts,
                  b.skewed, b.result_files,
                  b.result_rows, b.overruns, SEED), flush=True)
        if b.clustered:
            print("test_model: cluster mode: %d examples (etcd and two nodes), %d leaderships taken, %d exits 75 "
                  "(a lost lease: restarted), %d etcd outages, %d ctl requests asked again of a new leader" % (
                      b.clustered, b.leaderships, b.exits75, b.outages, b.ctl_retried), flush=True)
        for n in sorted(b.notes):
            print("test_model: note: %s" % n, flush=True)
        if not ok:
            print("test_model: replay: BC_SEED=%d BC_MODEL_STEPS=%d%s generates the same sequences; add "
                  "BC_MODEL_REPRODUCE=BLOB (from @reproduce_failure(..., b'BLOB') below) for exactly the minimal "
                  "one" % (SEED, STEPS, (" BC_MODEL_SKIP=" + ",".join(sorted(SKIP)) if SKIP else "") +
                           (" BC_MODEL_CLUSTER=" + CLUSTER_ENV if CLUSTER_ENV else "")), flush=True)
    shutil.rmtree(RUNDIR, ignore_errors=True)
    # A randomised test asserts that its worlds made progress.
    assert b.examples > 0 and b.batches > 0, "no example submitted anything: the test tested nothing"
    return 0


if __name__ == "__main__":
    sys.exit(main())
