#!/usr/bin/env python3
"""Calling hours in real time: recipients in another zone wait for their own
window (one batch per zone), and a batch still dialling when the window
closes is cancelled there, its never-dialled recipients handed to a
follow-up run for the next opening."""
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def runs_of(env, job):
    """The runs of job (their newest records, run files or journal)."""
    return sorted((r for r in env.d.runs() if r.get("job") == job), key=lambda r: (r["start"], r.get("part") or ""))


def test_zone_groups(work):
    # The window is open now in UTC (one hour either side) and closed in
    # Tokyo, nine hours ahead: the UTC recipients go now, the Tokyo one
    # waits for its own opening.
    now = int(time.time())
    with Env(work) as env:
        env.d.write_job("zones", """  agent_id = "agent_z";
  timezone = "UTC";
  scheduled_time_unix = %d;
  calling_hours = { from = "%s"; to = "%s"; };
  recipients = ( { phone_number = "+15550100001"; },
                 { phone_number = "+15550100002"; },
                 { phone_number = "+81312345671"; timezone = "Asia/Tokyo"; } );""" % (
            now, hhmm(now - 3600), hhmm(now + 3600)))
        env.d.start()
        subs = wait_until(lambda: env.sim.requests("submit"), 15, "the UTC group's submit")
        body = json.loads(subs[0]["body"])
        assert [r["phone_number"] for r in body["recipients"]] == ["+15550100001", "+15550100002"], body
        assert body["call_name"].endswith("(UTC)"), body["call_name"]
        # The Tokyo group waits: its window opens at the same wall time in
        # Tokyo, nine hours ahead of UTC.
        m = env.d.wait_log(r"job 'zones': run 'zones [^']*\(Asia/Tokyo\)' of .* outside the calling hours of "
                           r"Asia/Tokyo, it is submitted at (\S+)Z", 10)
        opens = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        local = opens.astimezone(datetime.timezone(datetime.timedelta(hours=9)))
        assert local.strftime("%H:%M") == hhmm(now - 3600), (local, hhmm(now - 3600))
        assert opens.timestamp() > now
        # The group is written at once (it cannot be made again from the
        # configuration alone, its sibling having run) and survives a restart.
        tokyo = wait_until(lambda: [r for r in runs_of(env, "zones") if r.get("zone") == "Asia/Tokyo"], 10,
                           "the Tokyo group's state file")[0]
        assert tokyo["state"] == "scheduled" and tokyo["recipients"] == ["+81312345671"], tokyo
        assert tokyo["submit_at_ms"] == int(opens.timestamp()) * 1000, tokyo
        env.d.stop()
        env.d.start()
        env.d.wait_started()
        tokyo = [r for r in runs_of(env, "zones") if r.get("zone") == "Asia/Tokyo"]
        assert len(tokyo) == 1 and tokyo[0]["state"] == "scheduled", tokyo
        assert len(env.sim.requests("submit")) == 1
        env.d.stop()


def test_close_cancels_and_resumes(work):
    # The window closes at the next minute boundary (at least 20 s away);
    # calls are slow and one at a time, so some recipients are never
    # dialled by then.
    now = time.time()
    close = (int(now) // 60 + 1) * 60
    if close - now < 20:
        close += 60
    with Env(work, sim_kw={"speed": 0.2}) as env:
        env.d.write_job("closing", """  agent_id = "agent_c";
  timezone = "UTC";
  scheduled_time_unix = %d;
  target_concurrency_limit = 1;
  resume = true;
  calling_hours = { from = "%s"; to = "%s"; };
  recipients = ( { phone_number = "+15550100011"; }, { phone_number = "+15550100012"; },
                 { phone_number = "+15550100013"; }, { phone_number = "+15550100014"; } );""" % (
            int(now), hhmm(int(now) - 3600), hhmm(close)))
        env.d.start()
        sub = wait_until(lambda: env.sim.requests("submit"), 15, "the submit")[0]
        cancel = wait_until(lambda: env.sim.requests("cancel"), close - time.time() + 20, "the cancel at the close")[0]
        assert cancel["time_us"] >= close * 1000000, (cancel["time_us"], close)
        assert cancel["path"].endswith(sub["batch_id"] + "/cancel")
        # (its first record, made at the close, is due at once; its first
        # step defers it to the next opening: wait for that record)
        follow = wait_until(lambda: [r for r in runs_of(env, "closing")
                                     if r.get("part") and r.get("submit_at_ms", 0) > close * 1000 + 1000], 20,
                            "the follow-up run, deferred to the next opening")[0]
        detail = env.sim.batch(sub["batch_id"])
        never = sorted(r["phone_number"] for r in detail["recipients"] if r["conversation_id"] is None)
        assert never and sorted(follow["recipients"]) == never, (follow, detail["recipients"])
        assert follow["state"] == "scheduled" and follow["part"] == "resume 1", follow
        at = follow["submit_at_ms"] / 1000  # the next opening: tomorrow, when the window opens
        assert at > close and at % 60 == 0 and hhmm(at) == hhmm(int(now) - 3600), (at, close)
        assert follow["call_name"].endswith("(resume 1)")
        env.d.wait_log(r"job 'closing': calling hours closed: cancelling batch")
        assert len(env.sim.requests("submit")) == 1
        env.d.stop()


def control(env, method, path):
    """One request to the daemon's control socket: (status, JSON body)."""
    import http.client
    import socket

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(os.path.join(env.d.dir, "control.sock"))

    c = UnixConnection("localhost", timeout=10)
    c.request(method, path, body=b"" if method == "POST" else None)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, (json.loads(body) if body else None)


def test_pause_resume(work):
    with Env(work, sim_kw={"speed": 0.2}) as env:
        env.d.write_job("pausing", """  agent_id = "agent_p";
  scheduled_time_unix = %d;
  target_concurrency_limit = 1;
  recipients = ( { phone_number = "+15550100021"; }, { phone_number = "+15550100022"; },
                 { phone_number = "+15550100023"; }, { phone_number = "+15550100024"; } );""" % int(time.time()))
        env.d.start()
        sub = wait_until(lambda: env.sim.requests("submit"), 15, "the submit")[0]
        env.d.wait_state("pausing", ("pending", "in_progress"), 10)
        st, body = control(env, "POST", "/v1/jobs/pausing/pause")
        assert st == 200, (st, body)
        wait_until(lambda: env.sim.requests("cancel"), 10, "the cancel")
        paused = wait_until(lambda: [r for r in runs_of(env, "pausing") if r.get("state") == "paused"], 15,
                            "the paused run")[0]
        detail = env.sim.batch(sub["batch_id"])
        never = sorted(r["phone_number"] for r in detail["recipients"] if r["conversation_id"] is None)
        assert never and sorted(paused["recipients"]) == never, (paused, detail["recipients"])
        assert paused["part"] == "resume 1"
        st, body = control(env, "POST", "/v1/jobs/pausing/pause")
        assert st == 409, (st, body)
        st, body = control(env, "POST", "/v1/jobs/pausing/resume")
        assert st == 200, (st, body)
        subs = wait_until(lambda: (lambda x: x if len(x) == 2 else None)(env.sim.requests("submit")), 15,
                          "the resumed submit")
        body = json.loads(subs[1]["body"])
        assert body["call_name"].endswith("(resume 1)"), body["call_name"]
        assert sorted(r["phone_number"] for r in body["recipients"]) == never, body["recipients"]
        st, body = control(env, "POST", "/v1/jobs/pausing/resume")
        assert st == 409, (st, body)
        env.d.stop()


if __name__ == "__main__":
    run([test_zone_groups, test_close_cancels_and_resumes, test_pause_resume])
