#!/usr/bin/env python3
"""Follow-up touches and deferred runs (issue 15) against lost state,
edits and the contact limits: what the attack on them (helper-33) found,
each a scenario that failed before its fix.

- a touch whose record is lost after it was sent is looked up, not sent
  again;
- a recipient added to the job file after a touch was sent is not called
  by the next touch (it was never in that touch);
- with over_limit = "defer", a retry that goes over the limits is not a
  fresh retry budget: a voicemail box is called max_retries + 1 times;
- a run that handed recipients on (a deferred run) and crashed before the
  new run's record was written hands them on at the next start, once;
- `batchcallctl cancel` of a run ends its campaign: no touch follows."""
import glob
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, wait_until  # noqa: E402
from test_suppress import RESULTS, job  # noqa: E402

A, V, N = "+15550100101", "+15550100107", "+15550100102"   # answers, voicemail, added later
T = "+81312345671"                                             # a Tokyo number


def touch_job(at, phones, follow_up):
    return """  agent_id = "agent_c";
  phone_number_id = "phnum_c";
  scheduled_time_unix = %d;
  retry = { max_retries = 0; };
  recipients = ( %s );
  follow_up = %s;""" % (at, ", ".join('{ phone_number = "%s"; }' % p for p in phones), follow_up)


def names(sim):
    return [json.loads(r["body"])["call_name"] for r in sim.requests("submit")]


def drop_records(state, word):
    """Delete every record of the runs whose part holds `word`, from the
    run files and from the journals (a lost record)."""
    d = os.path.join(state, "runs")
    gone = []
    for p in glob.glob(os.path.join(d, "*")):
        base = os.path.basename(p)
        if base.startswith("journal-"):
            with open(p) as f:
                lines = f.readlines()
            keep = [x for x in lines if '"part":"%s' % word not in x and '"part": "%s' % word not in x]
            with open(p, "w") as f:
                f.writelines(keep)
            if len(keep) < len(lines):
                gone.append("%s: %d lines" % (base, len(lines) - len(keep)))
        elif word.replace(" ", "%20") in base:
            os.unlink(p)
            gone.append(base)
    return gone


def test_touch_record_lost(work):
    """Touch 1 was sent, then the daemon died and its record was lost: at
    the next start it is due in the past, so it is looked up (and adopted),
    never submitted again."""
    with Env(work) as env:
        at = int(time.time()) + 3
        env.d.write_job("camp", touch_job(at, (A, V), '( { after = "1s"; status = [ "voicemail" ]; } )'))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: len(env.sim.requests("submit")) >= 2 or None, 60, "follow-up 1's submit")
        wait_until(lambda: any(r.get("touch") == 1 and r.get("batch_id") for r in env.d.runs()), 30,
                   "follow-up 1's batch recorded")
        env.d.kill9()
        assert drop_records(env.d.state, "follow-up"), os.listdir(os.path.join(env.d.state, "runs"))
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"follow-up 1 .* looking it up before it is submitted", 20)
        wait_until(lambda: any(r.get("touch") == 1 and r.get("batch_id") for r in env.d.runs()), 30,
                   "follow-up 1 adopted")
        time.sleep(3)
        assert names(env.sim) == [names(env.sim)[0], names(env.sim)[0] + " (follow-up 1)"], names(env.sim)
        assert env.d.stop() == 0


def test_added_recipient_not_in_next_touch(work):
    """A recipient added to the file after touch 0 was sent was never in
    touch 0: follow-up 1 ("voicemail" or "not_dialled") leaves it out."""
    with Env(work) as env:
        at = int(time.time()) + 3
        fu = '( { after = "3s"; status = [ "voicemail", "not_dialled" ]; } )'
        env.d.write_job("camp", touch_job(at, (A, V), fu))
        env.d.start()
        env.d.wait_started()
        wait_until(lambda: env.sim.requests("submit") or None, 30, "touch 0's submit")
        env.d.write_job("camp", touch_job(at, (A, V, N), fu))
        env.d.signal(1)
        env.d.wait_log("configuration reloaded", 10)
        subs = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(env.sim.requests("submit")), 60,
                          "follow-up 1's submit")
        assert [r["phone_number"] for r in json.loads(subs[1]["body"])["recipients"]] == [V], subs[1]["body"]
        assert env.d.stop() == 0


def defer_conf(min_gap):
    """Results files, contact limits of min_gap seconds, over_limit = defer."""
    return RESULTS + '\ncontact_limits = { min_gap = "%ds"; };\nover_limit = "defer";' % min_gap


def start_voicemail_job(env):
    """Job 'solo' calls V, a voicemail box, in 2 s with max_retries = 1: its
    retry goes over min_gap and is deferred. The daemon is started."""
    env.d.write_job("solo", job(int(time.time()) + 2, (V,)).replace(
        "retry = { max_retries = 0; };", "retry = { max_retries = 1; delay = 1; backoff = 1.0; max_delay = 1; };"))
    env.d.start()
    env.d.wait_started()


def deferred_ended(env):
    return any("deferred" in (r.get("part") or "") and r["state"] == "completed" for r in env.d.runs())


def calls(env):
    return len(env.sim.requests("submit")) + len(env.sim.requests("retry"))


def damage_deferred(env):
    """Cut the record of the one deferred run in half (the daemon stopped)."""
    runs = os.path.join(env.d.state, "runs")
    files = [n for n in os.listdir(runs) if "deferred" in n and n.endswith(".json")]
    assert len(files) == 1, os.listdir(runs)
    path = os.path.join(runs, files[0])
    with open(path, "rb") as f:
        text = f.read()
    with open(path, "wb") as f:
        f.write(text[: len(text) // 2])


def test_defer_keeps_the_retry_budget(work):
    """over_limit = "defer" with retries: the retry of a voicemail box goes
    over min_gap, rides in a resume run and is deferred; the deferred run
    is that retry, with no budget of its own: 2 calls with max_retries = 1
    (a fresh budget called it every min_gap without end).

    min_gap is long enough that the retry is over it even under valgrind
    on a loaded machine (with 3 s, a retry 3 s after the call was allowed
    and nothing was deferred), and the wait after the deferred run's end
    is longer than min_gap, so a fresh budget's next call would be seen."""
    with Env(work, extra_conf=defer_conf(10)) as env:
        start_voicemail_job(env)
        wait_until(lambda: deferred_ended(env), 90, "the deferred run's end")
        time.sleep(12)
        assert calls(env) == 2, (names(env.sim), len(env.sim.requests("retry")))
        assert env.d.stop() == 0


def test_damaged_deferred_keeps_the_retry_budget(work):
    """As above, and the deferred run's record is damaged while the daemon
    is stopped. Rebuilt from its file name, the run takes its parent's
    retries (the budget spent) and the recipients the parent's record
    still hands on, and is adopted: its voicemail is not retried, and the
    hand-on is not made again as "deferred 2": still 2 calls (before, the
    hand-on was made again and called a third time)."""
    with Env(work, extra_conf=defer_conf(10)) as env:
        start_voicemail_job(env)
        wait_until(lambda: deferred_ended(env), 90, "the deferred run's end")
        assert env.d.stop() == 0
        damage_deferred(env)
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"adopted batch", 30)
        wait_until(lambda: deferred_ended(env), 60, "the adopted run's end")
        time.sleep(12)
        assert calls(env) == 2, (names(env.sim), len(env.sim.requests("retry")))
        assert not any("deferred 2" in (r.get("part") or "") for r in env.d.runs()), env.d.runs()
        env.d.wait_log(r"run 'solo .* \(deferred 1\)' takes its retries \(1\) and its 1 recipients from run "
                       r"'solo .* \(resume 1\)', which handed them on", 1)
        assert env.d.stop() == 0


def test_damaged_deferred_waiting_is_called_once(work):
    """The deferred run's record is damaged while it waits for the limits
    (never submitted). Rebuilt with the recipients its parent hands on and
    able to submit, it is looked up, not found, and still waits for the
    limits: the number is called once more, min_gap after the first call,
    never at once and never twice (2 calls)."""
    with Env(work, extra_conf=defer_conf(25)) as env:
        start_voicemail_job(env)
        env.d.wait_log(r"deferred run '.*\(deferred 1\)' of 1 recipients", 60)
        assert env.d.stop() == 0
        damage_deferred(env)
        n_lists = len(env.sim.requests("list"))
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"run 'solo .* \(deferred 1\)' takes its retries \(1\) and its 1 recipients", 5)
        subs = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(env.sim.requests("submit")), 60,
                          "the deferred call")
        gap = (subs[1]["time_us"] - subs[0]["time_us"]) / 1e6
        assert gap >= 24, gap
        assert len(env.sim.requests("list")) > n_lists, "the rebuilt run was not looked up"
        wait_until(lambda: all(r["state"] == "completed" for r in env.d.runs()), 60, "every run's end")
        time.sleep(3)
        assert calls(env) == 2, (names(env.sim), len(env.sim.requests("retry")))
        assert [r for r in env.d.runs() if (r.get("part") or "").startswith("deferred")] != [], env.d.runs()
        assert env.d.stop() == 0


def test_damaged_zone_deferred_keeps_its_zone(work):
    """Job 'da' (no hours) calls T, a Tokyo number; job 'db' (timezone UTC,
    calling hours open now in Tokyo, closed now in UTC) has T in
    Asia/Tokyo, over min_gap: its Tokyo run hands T on to "Asia/Tokyo,
    deferred 1", due when min_gap allows, inside Tokyo's hours. That run's
    record is damaged while the daemon is stopped. Rebuilt, it takes T and
    the zone from its parent and calls T min_gap after the first call
    (rebuilt without the zone, it was judged by UTC's hours and waited for
    their opening, the middle of the night in Tokyo)."""
    def hhmm(t):
        return time.strftime("%H:%M", time.gmtime(t))
    with Env(work, extra_conf=defer_conf(20)) as env:
        now = int(time.time())
        tokyo, at = now + 9 * 3600, now + 3
        env.d.write_job("da", job(at, (T,)))
        env.d.write_job("db", job(at + 1, ()).replace("recipients = (  );", """timezone = "UTC";
  calling_hours = { from = "%s"; to = "%s"; };
  recipients = ( { phone_number = "%s"; timezone = "Asia/Tokyo"; } );""" % (
            hhmm(tokyo - 3600), hhmm(tokyo + 3600), T)), file="db")
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"deferred run '.*\(Asia/Tokyo, deferred 1\)' of 1 recipients", 30)
        assert env.d.stop() == 0
        assert len(env.sim.requests("submit")) == 1, env.sim.requests("submit")
        damage_deferred(env)
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"\(Asia/Tokyo, deferred 1\)' takes its retries \(0\) and its 1 recipients", 5)
        subs = wait_until(lambda: (lambda s: s if len(s) >= 2 else None)(env.sim.requests("submit")), 40,
                          "the deferred call, inside Tokyo's hours")
        # (the rebuilt run, which no longer knows its due time, is over the
        # limits when it would submit at once, and hands T on again, to
        # "Asia/Tokyo, deferred 2", due when the limits allow)
        body = json.loads(subs[1]["body"])
        assert re.search(r"\(Asia/Tokyo, deferred \d\)$", body["call_name"]), body["call_name"]
        assert [x["phone_number"] for x in body["recipients"]] == [T], body
        gap = (subs[1]["time_us"] - subs[0]["time_us"]) / 1e6
        assert 19 <= gap <= 35, gap
        time.sleep(2)
        assert len(env.sim.requests("submit")) == 2, names(env.sim)
        assert env.d.stop() == 0


def test_hand_on_survives_a_crash(work):
    """A run's record says it handed recipients on (follow = defer,
    unfinished) but the deferred run's record is missing (a crash between
    the two writes): the next start makes the deferred run, once. With the
    deferred run's record there, it makes none."""
    with Env(work, extra_conf=defer_conf(20)) as env:
        at = int(time.time()) + 3
        env.d.write_job("da", job(at, ("+14155550101",)))
        env.d.write_job("db", job(at + 1, ("+14155550103", "+14155550101")), file="db")
        env.d.start()
        env.d.wait_started()
        env.d.wait_log(r"deferred run '.*\(deferred 1\)' of 1 recipients", 30)
        assert env.d.stop() == 0

        def stale_parent():
            # the parent's record as it was written before the hand-on
            rec = [r for r in env.d.runs() if r["job"] == "db" and not r.get("part")][0]
            rec.update(follow="defer", unfinished=["+14155550101"], gen=rec["gen"] + 100)
            path = os.path.join(env.d.state, "runs", "db@%d.json" % rec["start"])
            with open(path, "w") as f:
                json.dump(rec, f)
        stale_parent()
        env.d.start()
        env.d.wait_started()
        assert "handed 1 recipients on before the last stop" not in env.d.log()
        assert env.d.stop() == 0
        deferred = [r for r in env.d.runs() if r.get("part") == "deferred 1"]
        assert len(deferred) == 1 and not [r for r in env.d.runs() if r.get("part") == "deferred 2"]
        parent = [r for r in env.d.runs() if r["job"] == "db" and not r.get("part")][0]
        assert not parent.get("follow") and not parent.get("unfinished"), parent
        # now the deferred run's record is lost too
        stale_parent()
        assert drop_records(env.d.state, "deferred")
        env.d.start()
        env.d.wait_started()
        env.d.wait_log("handed 1 recipients on before the last stop, but their run has no record: made now", 10)
        subs = wait_until(lambda: (lambda s: s if len(s) >= 3 else None)(env.sim.requests("submit")), 60,
                          "the deferred submit")
        assert subs[2]["body"] and json.loads(subs[2]["body"])["call_name"].endswith("(deferred 1)"), subs[2]["body"]
        time.sleep(2)
        assert len(env.sim.requests("submit")) == 3
        assert env.d.stop() == 0


def test_cancel_ends_the_campaign(work):
    """`batchcallctl cancel` of a run stops its campaign: no later touch
    follows it (its recipients, cancelled, would all match)."""
    with Env(work, sim_kw={"speed": 5}) as env:
        at = int(time.time()) + 2
        env.d.write_job("camp", touch_job(at, ("+15550100109", "+15550100119"),
                                          '( { after = "2s"; status = [ "cancelled", "not_dialled", "voicemail" ]; } )'))
        env.d.start()
        env.d.wait_started()
        env.d.wait_state("camp", ("pending", "in_progress"), 30)
        st, _ = env.d.control("POST", "/v1/jobs/camp/cancel")
        assert st in (200, 202), st
        env.d.wait_state("camp", ("cancelled",), 30)
        time.sleep(6)
        assert names(env.sim) == [names(env.sim)[0]], names(env.sim)
        st, doc = env.d.control("GET", "/v1/jobs/camp")
        assert st == 200 and doc["follow_up"] is None, doc
        assert env.d.stop() == 0


if __name__ == "__main__":
    run([test_touch_record_lost, test_added_recipient_not_in_next_touch, test_defer_keeps_the_retry_budget,
         test_damaged_deferred_keeps_the_retry_budget, test_damaged_deferred_waiting_is_called_once,
         test_damaged_zone_deferred_keeps_its_zone,
         test_hand_on_survives_a_crash, test_cancel_ends_the_campaign])
