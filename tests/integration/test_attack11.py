#!/usr/bin/env python3
"""Adversarial scenarios against issue 11 ("Exactly once under every
operator action"), written after its fix (commit 371e1dc) by a reviewer
trying to break it. Each test is one hole, stated as the behaviour the
README and the SPEC promise; on 371e1dc every test here FAILS (that is the
finding), so the file is not in `make check` until the daemon is fixed.

Same conventions as test_identity.py (whose helpers this file uses):
outcomes are read from the simulator's request log and workspace list, the
state folder and the control socket; waits are deadlines on observable
conditions; a "nothing more happens" check holds a condition for one lookup
grace period (2 x request_timeout + 2 s), the longest a request still in
flight may take to land.

Run one: TOP_BUILDDIR=build python3 tests/integration/test_attack11.py TEST
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SCALE, Env, run, wait_until  # noqa: E402
from test_identity import (GRACE, ACTIVE, FINAL, utc_name, hms, body_of, submits, names_of,  # noqa: E402
                           phones, batches_named, records, wait_record, hold, until_wall, describe_rc,
                           stops_cleanly, control, reloads, reload, ctl, job_text)


def grace_of(request_timeout):
    return 2 * request_timeout + 2


def seen(env, job):
    """The records of job, for messages."""
    return sorted({(r.get("start"), r.get("part"), r.get("state"), r.get("batch_id"))
                   for r in records(env, job)}, key=str)


def reload_any(env):
    """SIGHUP and wait until it was taken in, good or refused; True when good."""
    ok0, bad0 = reloads(env, "ok"), reloads(env, "failed")
    env.d.signal(signal.SIGHUP)
    wait_until(lambda: reloads(env, "ok") > ok0 or reloads(env, "failed") > bad0, 10, "the reload")
    return reloads(env, "ok") > ok0


def one_batch_per_call_name(sim):
    """call_names held by more than one batch of the workspace."""
    by = {}
    for b in sim.batches():
        by.setdefault(b["name"], []).append(b["id"])
    return {n: ids for n, ids in by.items() if len(ids) > 1}


def submits_with(sim, phone, prefix=""):
    return [r for r in submits(sim, prefix) if phone in phones(r)]


# ---- 1. a job renamed (name changed, call_name kept) ---------------------

def test_renamed_job_restart_never_adopts_old_jobs_batch(work):
    # Job 'camp' (call_name "Camp") is submitted; while the daemon is
    # stopped the operator fixes the job's name ('camp' -> 'campaign'),
    # nothing else. At the start the new job's run (same call_name, same
    # instant, within max_lateness, no record) is looked up and adopts the
    # batch of job 'camp', which the same start cancels (camp left the
    # files, on_removal = cancel): campaign's recipients are never called and
    # both jobs' records hold one batch id. Acceptable outcomes: the start
    # is refused (the call_name collides with a record of another job), or
    # campaign gets a batch of its own under a call_name no other batch has.
    phs = ("+15550100001", "+15550100002")
    with Env(work, sim_kw={"speed": 0.05}) as env:
        t = int(time.time())
        body = job_text("agent_test", t, phs, '  call_name = "Camp";')
        env.d.write_job("camp", body)
        env.d.start()
        env.d.wait_started()
        bid = wait_until(lambda: submits(env.sim, "Camp "), 10, "camp's submit")[0]["batch_id"]
        wait_record(env, "camp", lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10,
                    "camp's record holding its batch")
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        env.d.remove_job("camp")
        env.d.write_job("campaign", body)
        env.d.start()
        try:
            env.d.wait_started()
        except AssertionError:
            if env.d.proc.poll() == 1:
                return  # refused: acceptable
            raise
        wait_record(env, "campaign", lambda r: r.get("batch_id") or r.get("state") in FINAL, GRACE + 15,
                    "campaign's run to get a batch or end")
        problems = []
        held = [r for r in records(env, "campaign") if r.get("batch_id") == bid]
        if held:
            problems.append("job 'campaign' adopted batch %s of job 'camp' (now %s): records camp %s, campaign %s" % (
                bid, env.sim.batch(bid)["status"], seen(env, "camp"), seen(env, "campaign")))
        dup = one_batch_per_call_name(env.sim)
        if dup:
            problems.append("several batches carry one call_name: %s" % dup)
        assert not problems, "; ".join(problems)
        stops_cleanly(env)


def renamed_job_reload(work, fault):
    phs = ("+15550100001", "+15550100002")
    with Env(work, sim_kw={"speed": 0.05}) as env:
        t = int(time.time())
        body = job_text("agent_test", t, phs, '  call_name = "Camp";')
        env.d.write_job("camp", body)
        env.d.start()
        env.d.wait_started()
        bid = wait_until(lambda: submits(env.sim, "Camp "), 10, "camp's submit")[0]["batch_id"]
        wait_record(env, "camp", lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10,
                    "camp's record holding its batch")
        if fault:
            env.sim.fault(endpoint="submit", kind=fault, count=1)
        env.d.remove_job("camp")
        env.d.write_job("campaign", body)
        if not reload_any(env):
            return  # refused: acceptable
        # campaign's run is due at once (late by seconds): its submit, a
        # lookup if the answer is lost, a conclusion after the grace.
        wait_record(env, "campaign", lambda r: r.get("batch_id") or r.get("state") in FINAL, 2 * GRACE + 10,
                    "campaign's run to get a batch or end")
        hold(lambda: True, GRACE, "a grace period for late submits")
        problems = []
        if [r for r in records(env, "campaign") if r.get("batch_id") == bid]:
            problems.append("job 'campaign' adopted batch %s of job 'camp' (%s)" % (bid, env.sim.batch(bid)["status"]))
        dup = one_batch_per_call_name(env.sim)
        if dup:
            problems.append("several batches carry one call_name: %s; records camp %s, campaign %s" % (
                dup, seen(env, "camp"), seen(env, "campaign")))
        assert not problems, "; ".join(problems)
        stops_cleanly(env)


def test_renamed_job_reload_one_call_name(work):
    # No fault: campaign submits a second batch "Camp <T>"; camp's is
    # cancelled mid-call: the same people are rung by two batches of one
    # call_name.
    renamed_job_reload(work, None)


def test_renamed_job_reload_drop_never_adopts(work):
    # campaign's submit is dropped (not applied): its lookup adopts camp's
    # cancelled batch, so campaign's recipients are never called.
    renamed_job_reload(work, "drop")


def test_renamed_job_reload_apply_then_drop_never_adopts(work):
    # campaign's submit lands but its answer is lost: the lookup sees two
    # batches with the name and adopts "the oldest", camp's (cancelled);
    # campaign's own batch runs on, untracked.
    renamed_job_reload(work, "apply_then_drop")


# ---- 2. a zone group made again at a start from the edited file -----------

def test_zone_recipient_moved_after_submit_rings_once(work):
    # A one-off job with calling hours and recipient zones: the UTC group
    # (+15550100001) is submitted now, the Tokyo group waits for its own
    # opening. While the daemon is stopped the operator gives +15550100001
    # the zone Europe/London (UTC+0 in December: same instant, window open).
    # README: "once one [zone group] was submitted, the others keep their
    # time and recipients"; "after it was submitted an edit submits nothing
    # new". At the start a new "(Europe/London)" group is made from the file
    # and submitted after the lookup grace: +15550100001 is rung twice.
    now = int(time.time())
    hours = '  calling_hours = { from = "%s"; to = "%s"; };' % (hms(now - 3600), hms(now + 3600))
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = "zmove"
        env.d.write_job(job, job_text("agent_test", now, ("+15550100001", ("+81312345671", "Asia/Tokyo")), hours))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the UTC group's submit")[0]
        assert phones(sub) == ["+15550100001"], phones(sub)
        wait_record(env, job, lambda r: r.get("batch_id") == sub["batch_id"], 10, "the UTC group's record")
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        env.d.write_job(job, job_text("agent_test", now, (("+15550100001", "Europe/London"),
                                                         ("+81312345671", "Asia/Tokyo")), hours))
        env.d.start()
        env.d.wait_started()
        try:
            hold(count_is_one(lambda: submits_with(env.sim, "+15550100001")), GRACE + 4,
                 "one batch holding +15550100001")
        except AssertionError:
            subs = submits_with(env.sim, "+15550100001")
            raise AssertionError("+15550100001 is in %d batches: %s" % (len(subs), names_of(subs))) from None
        stops_cleanly(env)


def count_is_one(fn):
    return lambda: len(fn()) == 1


# ---- 3. enabled = false while a submit's outcome is unknown ----------------

def test_disabled_while_submit_uncertain_not_submitted(work):
    # The submit is dropped (not applied: no batch exists); the operator
    # sets enabled = false and reloads while the daemon still looks it up.
    # The daemon logs "nothing new is submitted", then, when the lookup
    # finds nothing after the grace, submits it anyway.
    timeout = 5
    with Env(work, request_timeout=timeout) as env:
        job = "dis"
        t = int(time.time()) + 2
        env.d.write_job(job, job_text("agent_test", t, ("+15550100001",)))
        env.sim.fault(endpoint="submit", kind="drop", count=1)
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: submits(env.sim, job + " ", ok=False), 10, "the dropped submit")
        env.d.write_job(job, job_text("agent_test", t, ("+15550100001",), "  enabled = false;"))
        reload(env)
        # the lookup concludes at intent + grace; a submit would follow at once
        try:
            hold(lambda: not submits(env.sim, job + " "), grace_of(timeout) + 5, "no batch while disabled")
        except AssertionError:
            raise AssertionError("submitted while enabled = false: %s; records %s" % (
                names_of(submits(env.sim, job + " ")), seen(env, job))) from None
        stops_cleanly(env)


# ---- 4. removed and put back while a submit's outcome is unknown -----------

def test_readded_during_uncertain_submit_not_lost(work):
    # on_removal = cancel (the default). The submit is dropped (nothing
    # exists); the file is moved away and back (two reloads) while the run
    # is being looked up. The log says "job is back: its submitting run ...
    # is followed again", then the lookup finds nothing and the run is
    # "cancelled before it was submitted": cancel_wanted, set by the
    # removal, survives the re-add. The run is never submitted.
    timeout = 4
    with Env(work, request_timeout=timeout) as env:
        job = "readd"
        t = int(time.time()) + 2
        path = env.d.write_job(job, job_text("agent_test", t, ("+15550100001",)))
        env.sim.fault(endpoint="submit", kind="drop", count=1)
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: submits(env.sim, job + " ", ok=False), 10, "the dropped submit")
        aside = os.path.join(work, "readd.aside")
        shutil.move(path, aside)
        reload(env)
        shutil.move(aside, path)
        reload(env)
        try:
            wait_until(lambda: submits(env.sim, job + " "), 2 * grace_of(timeout) + 10, "the run's submit")
        except AssertionError:
            raise AssertionError("the re-added job's run was never submitted; records %s" % seen(env, job)) from None
        hold(count_is_one(lambda: submits(env.sim, job + " ")), grace_of(timeout), "one batch")
        stops_cleanly(env)


# ---- 5. a zone group dropped by a removal is not made again ---------------

def zone_group_readded(work, recurring):
    # Its first instant after the start: a run due before the daemon began
    # is looked up first (issue 11), not this test's subject.
    now = int(time.time()) + 2
    hours = '  calling_hours = { from = "%s"; to = "%s"; };' % (hms(now - 3600), hms(now + 3600))
    when = now
    if recurring:
        hours += '\n  repeat = "*-*-* %s";' % hms(now)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    with Env(work, sim_kw={"speed": 0.05}) as env:
        job = "zback"
        path = env.d.write_job(job, job_text("agent_test", when, ("+15550100001", ("+81312345671", "Asia/Tokyo")),
                                             hours))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: submits(env.sim, job + " "), 10, "the UTC group's submit")
        wait_record(env, job, lambda r: r.get("part") == "Asia/Tokyo" and r.get("start") == now, 10,
                    "the Tokyo group's record")
        aside = os.path.join(work, "zback.aside")
        shutil.move(path, aside)
        reload(env)
        shutil.move(aside, path)
        reload(env)
        # README: a removed job's run not yet submitted is "dropped (made
        # again if the job comes back)"; zone groups "are written to the
        # state folder as soon as they exist".
        try:
            wait_record(env, job, lambda r: r.get("part") == "Asia/Tokyo" and r.get("start") == now
                        and r.get("state") == "scheduled", 5, "the Tokyo group of %d made again" % now)
        except AssertionError as e:
            raise AssertionError("the Tokyo group is lost after the job came back: %s" % e) from None
        stops_cleanly(env)


def test_zone_group_readded_oneoff(work):
    zone_group_readded(work, False)


def test_zone_group_readded_recurring(work):
    # Here the group is lost for good: the next occurrence is planned and a
    # restart does not make it again.
    zone_group_readded(work, True)


# ---- 6. a recurring job without start: its first occurrence dropped -------

def unanchored(occ, enabled=True, opens=None, phone="+15550100001"):
    hours = ('\n  calling_hours = { from = "%s"; to = "%s"; };' % (hms(opens), hms(opens + 3600))) if opens else ""
    return """  agent_id = "agent_test";
  timezone = "UTC";
  repeat = "*-*-* %s";
  enabled = %s;%s
  recipients = ( { phone_number = "%s"; } );""" % (hms(occ), "true" if enabled else "false", hours, phone)


def test_unanchored_reenabled_within_lateness_submitted(work):
    # README: "enabled = false ... true again: submitted at its time, or late
    # or missed by max_lateness". A daily job without start, disabled at its
    # occurrence and enabled 1 s later (max_lateness 900 s): the occurrence
    # is dropped and the next one planned for tomorrow, nothing logged.
    with Env(work) as env:
        job = "unanch"
        occ = int(time.time()) + 3
        env.d.write_job(job, unanchored(occ, enabled=False))
        env.d.start()
        env.d.wait_started()
        until_wall(occ + 1)
        env.d.write_job(job, unanchored(occ, enabled=True))
        reload(env)
        try:
            wait_until(lambda: submits(env.sim, utc_name(job, occ)), 10, "the late occurrence's submit")
        except AssertionError:
            raise AssertionError("occurrence %s lost (no submit, no missed record): records %s" % (
                utc_name(job, occ), seen(env, job))) from None
        stops_cleanly(env)


def test_unanchored_deferred_occurrence_survives_edit(work):
    # The occurrence came due outside the calling hours and waits for the
    # opening (10 s later); the operator edits the recipients meanwhile.
    # README: "recurring job changed: the occurrence is planned again from
    # the new definition". It is planned for tomorrow instead.
    with Env(work) as env:
        job = "undef"
        now = int(time.time())
        occ, opens = now + 2, now + 12
        env.d.write_job(job, unanchored(occ, opens=opens))
        env.d.start()
        env.d.wait_started()
        until_wall(occ + 1)
        env.d.write_job(job, unanchored(occ, opens=opens, phone="+15550100002"))
        reload(env)
        try:
            wait_until(lambda: submits(env.sim, utc_name(job, occ)), opens - time.time() + 10,
                       "the deferred occurrence's submit at the opening")
        except AssertionError:
            raise AssertionError("occurrence %s lost by the edit: records %s" % (
                utc_name(job, occ), seen(env, job))) from None
        stops_cleanly(env)


# ---- 7. trigger of a follow-up whose record was damaged --------------------

def test_trigger_damaged_followup_rings_nobody_twice(work):
    # A batch is paused after its first recipient was dialled: the paused
    # "(resume 1)" follow-up holds the three others. Its file is damaged
    # while the daemon is stopped: at the start it is looked up, nothing is
    # found, and it goes to `error` ("its recipients are unknown, so it is
    # not submitted"). `batchcallctl trigger` picks that run and submits it
    # with every recipient of the job: the one already dialled is rung again.
    phs = ("+15550100021", "+15550100022", "+15550100023", "+15550100024")
    with Env(work, sim_kw={"speed": 0.2}) as env:
        job = "fup"
        env.d.write_job(job, job_text("agent_p", int(time.time()), phs, "  target_concurrency_limit = 1;"))
        env.d.start()
        env.d.wait_started()
        sub = wait_until(lambda: submits(env.sim, job + " "), 10, "the submit")[0]
        bid = sub["batch_id"]
        wait_record(env, job, lambda r: r.get("batch_id") == bid and r.get("state") in ACTIVE, 10, "the record")
        wait_until(lambda: [x for x in env.sim.batch(bid)["recipients"] if x["conversation_id"]], 15,
                   "a dialled recipient")
        st, body = control(env, "POST", "/v1/jobs/%s/pause" % job)
        assert st == 200, (st, body)
        wait_record(env, job, lambda r: r.get("state") == "paused", 15, "the paused follow-up")
        rc = env.d.stop()
        assert rc == 0, "SIGTERM: %s" % describe_rc(rc)
        dialled = sorted(x["phone_number"] for x in env.sim.batch(bid)["recipients"] if x["conversation_id"])
        paused = [r for r in records(env, job) if r.get("state") == "paused"]
        assert len(paused) == 1 and paused[0]["_path"].endswith(".json"), paused
        assert not set(dialled) & set(paused[0]["recipients"]), (dialled, paused[0]["recipients"])
        with open(paused[0]["_path"], "wb") as f:
            f.write(b"\x00 not a run")
        env.d.start()
        env.d.wait_started()
        wait_record(env, job, lambda r: r.get("part") and r.get("state") == "error", GRACE + 10,
                    "the damaged follow-up in error")
        ctl(env, "trigger", job)  # refused or accepted: either way nobody dialled is rung again
        try:
            hold(lambda: not [r for r in submits(env.sim, job + " ") if r["batch_id"] != bid
                              and set(phones(r)) & set(dialled)], GRACE, "no second batch for %s" % dialled)
        except AssertionError:
            again = [r for r in submits(env.sim, job + " ") if r["batch_id"] != bid]
            raise AssertionError("dialled %s rung again by %s" % (
                dialled, [(body_of(r)["call_name"], phones(r)) for r in again])) from None
        stops_cleanly(env)


# ---- 8. calling hours bypassed ----------------------------------------------

def test_uncertain_submit_not_resent_after_window_closed(work):
    # The window closes 5 s from now; the submit at its instant is dropped.
    # The lookup finds nothing after the grace (6 s), after the close: the
    # run is submitted then, outside the calling hours (and cancelled at
    # once, as its close is past). It should wait for the next opening.
    now = int(time.time())
    at, close = now + 2, now + 5
    with Env(work) as env:
        job = "hclose"
        env.d.write_job(job, job_text("agent_test", at, ("+15550100001",),
                                      '  calling_hours = { from = "%s"; to = "%s"; };' % (hms(now - 3600), hms(close))))
        env.sim.fault(endpoint="submit", kind="drop", count=1)
        env.d.start()
        env.d.wait_started()
        first = wait_until(lambda: submits(env.sim, job + " ", ok=False), 10, "the dropped submit")[0]
        assert first["time_us"] < close * 1000000, "setup too slow: first submit after the close"
        late = lambda: [r for r in submits(env.sim, job + " ", ok=False) if r["time_us"] >= close * 1000000]
        try:
            hold(lambda: not late(), close - time.time() + GRACE + 3, "no submit after the window closed")
        except AssertionError:
            raise AssertionError("submitted outside the calling hours (closed at %s): %s" % (
                hms(close), [(hms(r["time_us"] // 1000000), r["status"]) for r in late()])) from None
        stops_cleanly(env)


def test_trigger_outside_calling_hours_waits(work):
    # README: trigger "now becomes the run's time: submitted now (inside the
    # calling hours)". A run cancelled before its time, then triggered while
    # the window is closed, is submitted at once (and its calls placed).
    now = int(time.time())
    with Env(work) as env:
        job = "htrig"
        env.d.write_job(job, job_text("agent_test", now + 3600, ("+15550100001",),
                                      '  calling_hours = { from = "%s"; to = "%s"; };' % (hms(now + 1800),
                                                                                          hms(now + 7200))))
        env.d.start()
        env.d.wait_started()
        rc, out = ctl(env, "cancel", job)
        assert rc == 0, out
        wait_record(env, job, lambda r: r.get("state") == "cancelled", 10, "the cancelled run")
        ctl(env, "trigger", job)
        try:
            hold(lambda: not submits(env.sim, job + " ", ok=False), GRACE, "no submit while the window is closed")
        except AssertionError:
            raise AssertionError("submitted at %s, the window opens at %s" % (
                [hms(r["time_us"] // 1000000) for r in submits(env.sim, job + " ", ok=False)], hms(now + 1800))) from None
        stops_cleanly(env)


# ---- 9. resume ignores enabled = false ----------------------------------------

def test_resume_while_disabled_not_submitted(work):
    # `trigger` refuses a disabled job; `resume` of a run paused before its
    # time submits it at once although the job is disabled.
    with Env(work) as env:
        job = "resdis"
        at = int(time.time()) + 3600
        env.d.write_job(job, job_text("agent_test", at, ("+15550100001",)))
        env.d.start()
        env.d.wait_started()
        rc, out = ctl(env, "pause", job)
        assert rc == 0, out
        env.d.write_job(job, job_text("agent_test", at, ("+15550100001",), "  enabled = false;"))
        reload(env)
        ctl(env, "resume", job)
        try:
            hold(lambda: not submits(env.sim, job + " ", ok=False), GRACE, "no submit while disabled")
        except AssertionError:
            raise AssertionError("submitted while enabled = false (an hour before its time): %s" % (
                names_of(submits(env.sim, job + " ", ok=False)),)) from None
        stops_cleanly(env)


# ---- 10. a short API key stalls the event loop ---------------------------------

def test_short_key_error_message_does_not_hang(work):
    # scrub_key (api.c) replaces the key in an error message with
    # "[redacted]" and searches again from the start: a key that occurs in
    # "[redacted]" (here "e") is found again for ever. One 503 to a submit
    # and the loop spins at 100% CPU; the control socket stops answering.
    with Env(work, sim_kw={"api_key": "e"}) as env:
        env.sim.fault(endpoint="submit", kind="status", status=503, count=1)
        env.d.write_job("shortkey", job_text("agent_test", int(time.time()), ("+15550100001",)))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: env.sim.requests("submit"), 10, "the faulted submit")
        try:
            st, _ = control(env, "GET", "/v1/jobs")
        except OSError as e:
            raise AssertionError("the control socket does not answer after an API error: %s" % e) from None
        assert st == 200, st
        stops_cleanly(env)


TESTS = [test_renamed_job_restart_never_adopts_old_jobs_batch, test_renamed_job_reload_one_call_name,
         test_renamed_job_reload_drop_never_adopts, test_renamed_job_reload_apply_then_drop_never_adopts,
         test_zone_recipient_moved_after_submit_rings_once, test_disabled_while_submit_uncertain_not_submitted,
         test_readded_during_uncertain_submit_not_lost, test_zone_group_readded_oneoff,
         test_zone_group_readded_recurring, test_unanchored_reenabled_within_lateness_submitted,
         test_unanchored_deferred_occurrence_survives_edit, test_trigger_damaged_followup_rings_nobody_twice,
         test_uncertain_submit_not_resent_after_window_closed, test_trigger_outside_calling_hours_waits,
         test_resume_while_disabled_not_submitted, test_short_key_error_message_does_not_hang]

if __name__ == "__main__":
    run(TESTS)
