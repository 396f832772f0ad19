#!/usr/bin/env python3
"""A damaged state file is reported and contained, never a crash or a reset.

The daemon submits a run and stops; the run's state file is then truncated,
corrupted or emptied (what a power cut, a full disk or a bad hand edit leaves)
and the daemon started again. It must name the file and the damage in its
log, keep the file as *.damaged, adopt the run's batch through the list
endpoint instead of submitting a second one, and keep running.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, unix_job, wait_until  # noqa: E402

ACTIVE = ("pending", "in_progress", "retry_wait", "completed", "failed")


def run_file(d, job):
    runs = os.path.join(d.state, "runs")
    names = [n for n in os.listdir(runs) if n.startswith(job + "@") and n.endswith(".json")]
    assert len(names) == 1, names
    return os.path.join(runs, names[0])


def damaged_restart(work, job, damage, cause):
    """Submit job, stop, damage its file with damage(bytes) -> bytes, restart."""
    with Env(work, sim_kw={"speed": 0.05}) as env:  # calls last minutes: the batch stays active
        env.d.write_job(job, unix_job(int(time.time()), ("+15550100001", "+15550100002")))
        env.d.start()
        before = env.d.wait_state(job, ACTIVE, 20)
        assert before["batch_id"], before
        assert env.d.stop() == 0
        path = run_file(env.d, job)
        with open(path, "rb") as f:
            text = f.read()
        with open(path, "wb") as f:
            f.write(damage(text))
        n_lists = len(env.sim.requests("list"))

        env.d.start()
        env.d.wait_started()
        # the log names the file, the damage and what is done about it
        env.d.wait_log(r"state file '%s' is damaged \(%s" % (path.replace(".", r"\."), cause))
        # the evidence is kept
        assert os.path.exists(path + ".damaged"), os.listdir(os.path.dirname(path))
        with open(path + ".damaged", "rb") as f:
            assert f.read() == damage(text)
        # the run is uncertain and looked up: its batch is adopted, not submitted again
        env.d.wait_log(r"job '%s'.*adopted batch %s" % (job, before["batch_id"]), 20)
        after = env.d.wait_state(job, ACTIVE, 20)
        assert after["batch_id"] == before["batch_id"], (before, after)
        assert len(env.sim.requests("list")) > n_lists, "no lookup through the list endpoint"
        subs = env.sim.requests("submit")
        assert len(subs) == 1, "a second submit after the damage: %s" % subs
        assert len(env.sim.batches()) == 1
        # the daemon keeps running, and a later restart reads the new file
        assert env.d.proc.poll() is None, env.d.log()[-2000:]
        assert env.d.stop() == 0
        env.d.start()
        env.d.wait_started()
        assert env.d.log().count("is damaged") == 1
        assert env.d.proc.poll() is None
        assert env.d.stop() == 0
        assert len(env.sim.requests("submit")) == 1


def test_truncated(work):
    damaged_restart(work, "trunc", lambda t: t[: len(t) // 2], r"not a complete JSON document")


def test_corrupted(work):
    # one byte changed in the middle: still text, no longer JSON
    def flip(t):
        i = t.index(b'"state"') + len(b'"state"')
        assert t[i:i + 1] == b":"
        return t[:i] + b"=" + t[i + 1:]
    damaged_restart(work, "flip", flip, r"not a complete JSON document")


def test_wrong_field(work):
    # valid JSON that the reader cannot trust: damage too, never a guess
    def bad_state(t):
        o = json.loads(t)
        o["state"] = "exploded"
        return json.dumps(o).encode()
    damaged_restart(work, "badfield", bad_state, r"unknown state 'exploded'")


def test_empty(work):
    damaged_restart(work, "empty", lambda t: b"", r"the file is empty")


def test_zone_edited(work):
    """Submitted while the job's zone was Asia/Tokyo; the daemon stops, the
    run's file is damaged and the job's timezone edited to America/New_York.
    The run's call_name, made again from the file's name and today's zone,
    is not the one sent: the lookup finds the batch under the name of the
    zone it echoes, adopts it and takes that name; nothing is submitted
    again (test_model seed 737661395 rang the recipients twice)."""
    job = "zoned"
    with Env(work, sim_kw={"speed": 0.05}) as env:
        at = int(time.time())
        env.d.write_job(job, unix_job(at, ("+15550100001", "+15550100002"), extra='  timezone = "Asia/Tokyo";\n'))
        env.d.start()
        before = env.d.wait_state(job, ACTIVE, 20)
        sent = json.loads(env.sim.requests("submit")[0]["body"])
        assert sent["timezone"] == "Asia/Tokyo" and sent["call_name"] == before["call_name"], (sent, before)
        assert env.d.stop() == 0
        path = run_file(env.d, job)
        with open(path, "wb") as f:
            f.write(b"{ \"format\": \"batchcalld-run\", ")
        env.d.write_job(job, unix_job(at, ("+15550100001", "+15550100002"),
                                      extra='  timezone = "America/New_York";\n'))
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"job '%s'.*adopted batch %s found by its call_name '%s'" % (
            job, before["batch_id"], before["call_name"].replace("(", r"\(").replace(")", r"\)")), 20)
        after = env.d.wait_state(job, ACTIVE, 20)
        assert after["batch_id"] == before["batch_id"], (before, after)
        assert after["call_name"] == before["call_name"], (before, after)
        # past the grace period: still the one submit
        time.sleep(3)
        assert len(env.sim.requests("submit")) == 1, env.sim.requests("submit")
        assert len(env.sim.batches()) == 1
        assert env.d.proc.poll() is None
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_truncated, test_corrupted, test_wrong_field, test_empty, test_zone_edited])
