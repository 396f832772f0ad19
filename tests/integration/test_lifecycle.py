#!/usr/bin/env python3
"""Lifecycle scenarios: the real daemon against the simulator over loopback."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CTL, Env, run, submits_named, unix_job, wait_until  # noqa: E402


def test_on_time_submission(work):
    with Env(work) as env:
        at = int(time.time()) + 3
        env.d.write_job("ontime", unix_job(at, ("+15550100001", "+15550100002"), extra='  call_name = "On time";'))
        env.d.start()
        env.d.wait_started()
        subs = wait_until(lambda: submits_named(env.sim, "On time"), 15, "the submit")
        assert len(subs) == 1
        got = subs[0]["time_us"]
        assert got >= at * 1000000, "submitted %d us early" % (at * 1000000 - got)
        assert got - at * 1000000 < 2000000, "submitted %.3fs late" % ((got - at * 1000000) / 1e6)
        body = json.loads(subs[0]["body"])
        assert body["call_name"] == "On time " + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at)) \
            or body["call_name"] == "On time " + time.strftime("%Y-%m-%d %H:%M", time.gmtime(at)), body["call_name"]
        assert body["agent_id"] == "agent_test"
        assert body["agent_phone_number_id"] == "phnum_test"
        assert "scheduled_time_unix" not in body
        assert [r["phone_number"] for r in body["recipients"]] == ["+15550100001", "+15550100002"]
        st = env.d.wait_state("ontime", ("completed",), 30)
        assert st["batch_id"] == subs[0]["batch_id"]
        assert st["counts"]["completed"] == 2
        assert st["retries"] == 0
        assert len(env.sim.requests("retry")) == 0
        assert "JOB_EVENT" not in env.d.log()  # console target: key=value lines
        env.d.wait_log(r"job 'ontime': submitted as batch btcal_")
        assert env.d.stop() == 0


def test_lifecycle_with_retries(work):
    # Last digits: 0 completes, 6 fails every time, 8 fails once then
    # completes, 7 reaches voicemail every time. max_retries = 2.
    with Env(work) as env:
        at = int(time.time()) + 1
        env.d.write_job("retries", unix_job(at, ("+15550100010", "+15550100016", "+15550100018", "+15550100027")))
        env.d.start()
        st = env.d.wait_state("retries", ("completed", "failed"), 60)
        assert st["state"] == "completed", st
        assert st["retries"] == 2, st
        retries = env.sim.requests("retry")
        assert len(retries) == 2, retries
        assert all(r["status"] == 200 for r in retries)
        b = env.sim.batch(st["batch_id"])
        assert b["retry_count"] == 2
        by = {r["phone_number"]: r["status"] for r in b["recipients"]}
        assert by == {"+15550100010": "completed", "+15550100016": "failed",
                      "+15550100018": "completed", "+15550100027": "voicemail"}, by
        assert st["counts"]["failed"] == 1 and st["counts"]["voicemail"] == 1 and st["counts"]["completed"] == 2
        assert len(env.sim.requests("submit")) == 1
        env.d.wait_log(r"retry 2 of batch %s started" % st["batch_id"])
        env.d.wait_log(r"finished completed")
        env.d.stop()


def test_no_retry_when_all_complete(work):
    with Env(work) as env:
        env.d.write_job("allgood", unix_job(int(time.time()), ("+15550100011", "+15550100012")))
        env.d.start()
        st = env.d.wait_state("allgood", "completed", 30)
        assert st["retries"] == 0
        assert env.sim.requests("retry") == []


def test_late_and_missed(work):
    with Env(work) as env:
        now = int(time.time())
        env.d.write_job("late", unix_job(now - 600, extra="  max_lateness = 900;"))
        env.d.write_job("missed", unix_job(now - 3600, extra="  max_lateness = 900;"))
        env.d.start()
        env.d.wait_state("late", ("pending", "in_progress", "completed", "retry_wait"), 15)
        st = env.d.wait_state("missed", "missed", 15)
        assert st["batch_id"] is None
        env.d.wait_log(r"level=warning|WARNING.*job 'late': run is 60\d?s late|job 'late': run is \d+s late")
        env.d.wait_log(r"job 'missed': run missed: 36\d\ds late")
        assert len(env.sim.requests("submit")) == 1
        # A restart never resubmits either of them.
        env.d.stop()
        env.d.start()
        env.d.wait_started()
        time.sleep(0)  # nothing to wait for: check the log of this start
        assert len(env.sim.requests("submit")) == 1
        env.d.stop()
        assert len(env.sim.requests("submit")) == 1


def test_submit_ahead(work):
    with Env(work) as env:
        at = int(time.time()) + 30
        env.d.write_job("ahead", unix_job(at, extra="  submit_ahead = 28;"))
        env.d.start()
        subs = wait_until(lambda: env.sim.requests("submit"), 15, "the early submit")
        body = json.loads(subs[0]["body"])
        assert body["scheduled_time_unix"] == at
        assert subs[0]["time_us"] >= (at - 28) * 1000000
        st = env.d.wait_state("ahead", "pending", 10)
        assert env.sim.batch(st["batch_id"])["status"] == "pending"
        env.d.stop()


def test_start_in_zone(work):
    # A wall time in New York turns into the right instant and call_name.
    from zoneinfo import ZoneInfo
    import datetime
    with Env(work) as env:
        ny = ZoneInfo("America/New_York")
        when = datetime.datetime.now(tz=ny).replace(microsecond=0) + datetime.timedelta(seconds=3)
        env.d.write_job("zoned", """  agent_id = "agent_z";
  start = "%s";
  timezone = "America/New_York";
  call_name = "Zoned";
  recipients = ( { phone_number = "+15550100001"; } );""" % when.strftime("%Y-%m-%d %H:%M:%S"))
        env.d.start()
        subs = wait_until(lambda: env.sim.requests("submit"), 15, "the submit")
        body = json.loads(subs[0]["body"])
        assert body["timezone"] == "America/New_York"
        # the seconds are left out when they are zero (SPEC: the run's local start)
        assert body["call_name"] == "Zoned " + when.strftime("%Y-%m-%d %H:%M" + (":%S" if when.second else "")), \
            body["call_name"]
        assert subs[0]["time_us"] >= int(when.timestamp()) * 1000000
        env.d.stop()


def test_removal_cancel_and_keep(work):
    with Env(work, sim_kw={"speed": 0.05}) as env:  # calls last minutes: batches stay active
        now = int(time.time())
        env.d.write_job("gone-cancel", unix_job(now, extra='  on_removal = "cancel";'))
        env.d.write_job("gone-keep", unix_job(now, extra='  on_removal = "keep";'))
        env.d.write_job("future", unix_job(now + 3600))
        env.d.start()
        a = env.d.wait_state("gone-cancel", ("pending", "in_progress"), 15)
        b = env.d.wait_state("gone-keep", ("pending", "in_progress"), 15)
        env.d.remove_job("gone-cancel")
        env.d.remove_job("gone-keep")
        env.d.remove_job("future")
        env.d.signal(signal.SIGHUP)
        env.d.wait_log(r"configuration reloaded")
        wait_until(lambda: env.sim.requests("cancel"), 15, "the cancel")
        cancels = env.sim.requests("cancel")
        assert [c["path"] for c in cancels] == ["/v1/convai/batch-calling/%s/cancel" % a["batch_id"]], cancels
        assert env.sim.batch(a["batch_id"])["status"] == "cancelled"
        assert env.sim.batch(b["batch_id"])["status"] in ("pending", "in_progress")
        # The records stay (state_retention): putting a job back never
        # submits its run again.
        env.d.wait_state("gone-cancel", "cancelled", 10)
        kept = env.d.wait_state("gone-keep", "removed", 10)
        assert kept["batch_id"] == b["batch_id"], kept
        env.d.wait_log(r"job 'gone-keep': job removed with on_removal=keep")
        env.d.wait_log(r"job 'future': job removed; its scheduled run is dropped")
        assert env.d.run_state("future") is None
        assert len(env.sim.requests("submit")) == 2
        # batchcallctl status no longer lists them
        out = subprocess.run([CTL, "-c", env.d.conf, "status", "--json"], capture_output=True, text=True)
        assert out.returncode == 0, out
        names = [j["name"] for j in json.loads(out.stdout)["jobs"]]
        assert names == [], names
        env.d.stop()


def test_invalid_reload_kept_out(work):
    with Env(work) as env:
        at = int(time.time()) + 4
        env.d.write_job("kept", unix_job(at))
        env.d.start()
        env.d.wait_started()
        bad = env.d.write_job("broken", '  agent_id = "a";\n  recipients = ( { phone_number = "12345"; } );\n  scheduled_time_unix = 1;')
        env.d.signal(signal.SIGHUP)
        env.d.wait_log(r"reload refused")
        log = env.d.log()
        assert bad + ":" in log, log[-3000:]
        assert "E.164" in log or "phone" in log
        subs = wait_until(lambda: env.sim.requests("submit"), 15, "the old job's submit")
        assert len(subs) == 1
        assert json.loads(subs[0]["body"])["call_name"].startswith("kept ")
        env.d.stop()


def test_changed_after_submit_warns(work):
    with Env(work, sim_kw={"speed": 0.05}) as env:
        env.d.write_job("changing", unix_job(int(time.time()) + 2))
        env.d.start()
        st = env.d.wait_state("changing", ("pending", "in_progress"), 15)
        env.d.write_job("changing", unix_job(int(time.time()) + 100, ("+15550100003",)))
        env.d.signal(signal.SIGHUP)
        env.d.wait_log(r"job 'changing': job changed after its run was submitted; batch %s is not altered" % st["batch_id"])
        assert len(env.sim.requests("submit")) == 1
        env.d.stop()


def test_disabled_never_submitted(work):
    with Env(work) as env:
        env.d.write_job("off", unix_job(int(time.time()) + 2, extra="  enabled = false;"))
        env.d.write_job("on", unix_job(int(time.time()) + 2))
        env.d.start()
        env.d.wait_state("on", ("pending", "in_progress", "completed"), 15)
        subs = env.sim.requests("submit")
        assert len(subs) == 1 and json.loads(subs[0]["body"])["call_name"].startswith("on "), subs
        env.d.stop()


def test_second_daemon_refused(work):
    with Env(work) as env:
        env.d.write_job("x", unix_job(int(time.time()) + 3600))
        env.d.start()
        env.d.wait_started()
        import subprocess
        from harness import DAEMON
        p = subprocess.run([DAEMON, "-c", env.d.conf, "--log-target=console"], capture_output=True, timeout=10)
        assert p.returncode == 1, p
        assert b"another batchcalld is using the state folder" in p.stderr, p.stderr
        env.d.stop()


def test_https_with_ca_file(work):
    # The simulator serves HTTPS with a certificate of its own; the daemon
    # verifies it through api.ca_file, and refuses it without.
    import subprocess
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with Env(work, sim_kw={"extra": ("--tls-cert", cert, "--tls-key", key)},
             api_extra='ca_file = "%s";' % cert) as env:
        assert env.sim.url.startswith("https://")
        # urllib must trust the same certificate for the harness's own calls.
        import ssl
        import urllib.request
        ctx = ssl.create_default_context(cafile=cert)
        urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx)))
        env.d.write_job("tls", unix_job(int(time.time()) + 2))
        env.d.start()
        st = env.d.wait_state("tls", ("pending", "in_progress", "completed"), 20)
        assert st["batch_id"]
        env.d.stop()
        # Without the CA: the certificate is refused and nothing is sent.
        with open(env.d.conf) as f:
            text = f.read().replace('ca_file = "%s";' % cert, "")
        with open(env.d.conf, "w") as f:
            f.write(text)
        env.d.write_job("tls2", unix_job(int(time.time()) + 2))
        env.d.start()
        env.d.wait_log(r"job 'tls2': (submit|lookup of the submitted batch) failed \(.*(certificate|SSL)", 20)
        assert len([r for r in env.sim.requests("submit")]) == 1
        env.d.stop()


def test_post_never_resent_on_closed_keepalive(work):
    # The simulator closes each kept-alive connection right after answering
    # a poll; submits and retries still arrive exactly once each.
    with Env(work) as env:
        env.sim.fault(endpoint="*", kind="close_after", count=-1)
        now = int(time.time())
        for i in range(5):
            env.d.write_job("ka-%d" % i, unix_job(now + i // 2, ("+15550100011", "+15550100018")))
        env.d.start()
        for i in range(5):
            env.d.wait_state("ka-%d" % i, "completed", 40)
        subs = env.sim.requests("submit")
        names = [json.loads(r["body"])["call_name"] for r in subs]
        assert len(names) == 5 and len(set(names)) == 5, names
        retries = env.sim.requests("retry")
        assert len(retries) == 5 and len({r["path"] for r in retries}) == 5, retries
        env.d.stop()


def test_state_format_v1_still_read(work):
    # A state file written by this version must stay readable by every
    # later one: the committed fixture is loaded and its batch adopted as is.
    import shutil
    from harness import TOP_BUILDDIR  # noqa: F401
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "state", "v1-pending.json")
    with Env(work, sim_kw={"speed": 0.05}) as env:
        st, body = env.sim.call("POST", "/v1/convai/batch-calling/submit", {
            "call_name": "legacy 2030-01-01 00:00", "agent_id": "agent_test",
            "recipients": [{"phone_number": "+15550100001"}]})
        assert st == 200, body
        with open(fixture) as f:
            text = f.read().replace("BATCH_ID", body["id"])
        os.makedirs(os.path.join(env.d.state, "runs"))
        with open(os.path.join(env.d.state, "runs", "legacy@1893456000.json"), "w") as f:
            f.write(text)
        env.d.write_job("legacy", unix_job(1893456000))
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"job 'legacy': run of 1893456000 resumed in state pending")
        wait_until(lambda: env.sim.requests("list"), 10, "a poll of the legacy batch")
        assert env.sim.requests("submit")[0]["body"] and len(env.sim.requests("submit")) == 1
        assert "damaged" not in env.d.log()
        env.d.stop()


if __name__ == "__main__":
    run([test_on_time_submission, test_lifecycle_with_retries, test_no_retry_when_all_complete,
         test_late_and_missed, test_submit_ahead, test_start_in_zone, test_removal_cancel_and_keep,
         test_invalid_reload_kept_out, test_changed_after_submit_warns, test_disabled_never_submitted,
         test_second_daemon_refused, test_https_with_ca_file, test_post_never_resent_on_closed_keepalive,
         test_state_format_v1_still_read])
