#!/usr/bin/env python3
"""Do-not-call lists (issue 15): the daemon key `suppression` and
`batchcallctl suppress`, against the simulator. What was called is read
from the simulator's request log (the exact submit bodies); what the
operator sees from the results files, the journal lines and /metrics."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CTL, Env, run, wait_until  # noqa: E402
from test_results import csv_final, files_of, read_rows  # noqa: E402

RESULTS = 'results_dir = "results";'


def ctl(env, *args):
    return subprocess.run([CTL, "-c", env.d.conf] + list(args), capture_output=True, timeout=30, text=True)


def job(at, phones, extra=""):
    rc = ", ".join('{ id = "r%d"; phone_number = "%s"; }' % (i, p) for i, p in enumerate(phones))
    return """  agent_id = "agent_dnc";
  phone_number_id = "phnum_dnc";
  scheduled_time_unix = %d;
  retry = { max_retries = 0; };
  recipients = ( %s );
%s""" % (at, rc, extra)


def submitted_numbers(sim):
    """The phone numbers of every submit body, one list per submit."""
    out = []
    for r in sim.requests("submit"):
        body = json.loads(r["body"])
        out.append([x.get("phone_number") for x in body["recipients"]])
    return out


def rows_of(work, name, at):
    paths = wait_until(lambda: files_of(os.path.join(work, "results"), name, at), 30, "the results files")
    rows = read_rows(sorted(paths)[0])
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def metric(env, name):
    st, _ = 200, None
    import http.client
    import socket

    class C(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(os.path.join(env.d.dir, "control.sock"))
    c = C("localhost")
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, (name, text[-2000:])
    return int(m.group(1))


def test_suppress_one_second_before_submit(work):
    """A number added with `batchcallctl suppress` one second before the
    run is due is absent from its submit body and `suppressed` in its
    results; the journal masks it; the metric counts it."""
    with Env(work, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 4
        env.d.write_job("dnc1", job(at, ("+14155550101", "+14155550102", "+14155550103")))
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("configuration reloaded")
        while time.time() < at - 1:
            time.sleep(0.05)
        p = ctl(env, "suppress", "+1 (415) 555-0102", "--reason", "asked us, by phone")
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert p.stdout == "+14155550102: added to the do-not-call list\n", p.stdout
        assert time.time() < at, "the suppress was answered after the run was due"
        # again: nothing new
        p = ctl(env, "suppress", "+14155550102")
        assert p.returncode == 0 and "already" in p.stdout, p.stdout
        env.d.wait_state("dnc1", ("completed",), 60)
        assert submitted_numbers(env.sim) == [["+14155550101", "+14155550103"]], submitted_numbers(env.sim)
        body = rows_of(work, "dnc1", at)
        assert [(r["recipient_id"], r["status"]) for r in body] == [
            ("r0", "completed"), ("r1", "suppressed"), ("r2", "completed")], body
        assert body[1]["attempts"] == "0" and body[1]["conversation_id"] == "", body[1]
        log = env.d.log()
        assert "recipient=+*******0102" in log, log[-3000:]
        assert "+*******0102 added to the do-not-call list" in log, log[-3000:]
        # no full number in an info (or more important) line about it
        for line in log.splitlines():
            if "do-not-call" in line and line.split(":", 1)[0] in ("info", "notice", "warning", "err"):
                assert "4155550102" not in line, line
        assert metric(env, 'batchcalld_suppressed_recipients_total{at="submit"}') == 1
        assert metric(env, 'batchcalld_suppression_entries{list="own"}') == 1
        with open(os.path.join(env.d.state, "suppressed.csv")) as f:
            lines = f.read().splitlines()
        assert lines[0] == "phone_number,whatsapp_user_id,added_utc,peer_uid,reason", lines
        assert re.match(r'^\+14155550102,,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,%d,"asked us, by phone"$' % os.getuid(),
                        lines[1]), lines
        assert len(lines) == 2, lines
        # bad input: usage (exit 2), nothing sent
        p = ctl(env, "suppress", "4155550104")
        assert p.returncode == 2 and "E.164" in p.stderr, (p.returncode, p.stderr)
        st, b = env.d.control("POST", "/v1/suppressions")
        assert st == 400 and b["error"]["code"] == "bad_request", (st, b)
        st, b = env.d.control("GET", "/v1/suppressions")
        assert st == 405, st
        assert env.d.stop() == 0


def test_list_files(work):
    """The numbers of `suppression` files (a plain list and a CRM export
    CSV) are absent from the submit; `check` warns about them; a run whose
    every recipient is listed submits nothing and ends complete."""
    with open(os.path.join(work, "dnc.txt"), "w") as f:
        f.write("# complaints\n+1 415 555 0102\nwhatsapp:wa-9\n")
    with open(os.path.join(work, "crm.csv"), "w") as f:
        f.write("id,phone_number,note\nc1,+14155550104,\"moved, asked\"\n")
    with Env(work, extra_conf=RESULTS + '\nsuppression = ( "dnc.txt", "crm.csv" );') as env:
        at = int(time.time()) + 3
        env.d.write_job("dnc2", job(at, ("+14155550101", "+14155550102", "+14155550103", "+14155550104")))
        env.d.write_job("dnc3", job(at, ("+14155550102", "+14155550104")), file="dnc3")
        p = ctl(env, "check")
        assert p.returncode == 0, p.stderr
        warns = [x for x in p.stderr.splitlines() if "warning:" in x]
        assert len(warns) == 4, p.stderr
        assert re.search(r"dnc2\.conf:\d+: warning: job 'dnc2': recipient '\+14155550102' is on the do-not-call "
                         r"list .*dnc\.txt:2; it will not be called", p.stderr), p.stderr
        assert "crm.csv:2" in p.stderr, p.stderr
        p = subprocess.run([os.path.join(os.path.dirname(CTL), "batchcalld"), "-c", env.d.conf, "--check"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stderr.count("warning:") == 4, (p.returncode, p.stderr)
        env.d.start()
        env.d.wait_started()
        env.d.wait_state("dnc2", ("completed",), 60)
        st = env.d.wait_state("dnc3", ("completed",), 30)
        assert st["batch_id"] is None, st
        assert submitted_numbers(env.sim) == [["+14155550101", "+14155550103"]], submitted_numbers(env.sim)
        assert [r["status"] for r in rows_of(work, "dnc3", at)] == ["suppressed", "suppressed"]
        assert [r["status"] for r in rows_of(work, "dnc2", at)] == ["completed", "suppressed", "completed",
                                                                    "suppressed"]
        log = env.d.log()
        assert "every one of its 2 recipients is on a do-not-call list: nothing submitted" in log, log[-3000:]
        assert metric(env, 'batchcalld_suppressed_recipients_total{at="submit"}') == 4
        assert metric(env, 'batchcalld_suppression_entries{list="files"}') == 3
        assert env.d.stop() == 0


def test_bad_reload_keeps_old_lists(work):
    """A malformed line on reload is a FILE:LINE error, the reload is
    refused, the old lists stay in force and the daemon keeps running; a
    missing list file is an error at check and at start, never an empty
    list."""
    dnc = os.path.join(work, "dnc.txt")
    with open(dnc, "w") as f:
        f.write("+14155550102\n")
    with Env(work, extra_conf=RESULTS + '\nsuppression = ( "dnc.txt" );') as env:
        at = int(time.time()) + 5
        env.d.write_job("dnc4", job(at, ("+14155550101", "+14155550102", "+14155550103")))
        env.d.start()
        env.d.wait_started()
        with open(dnc, "w") as f:
            f.write("+14155550103\n# ok\n4155550101\n")
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("reload refused")
        log = env.d.log()
        assert "%s:3: '******0101': not a phone number starting with '+'" % dnc in log, log[-3000:]
        assert "4155550101" not in log, log[-3000:]
        assert env.d.proc.poll() is None
        p = ctl(env, "check")
        assert p.returncode == 1 and "dnc.txt:3:" in p.stderr, (p.returncode, p.stderr)
        # the run comes due under the old list: 0102 left out, 0103 called
        env.d.wait_state("dnc4", ("completed",), 60)
        assert submitted_numbers(env.sim) == [["+14155550101", "+14155550103"]], submitted_numbers(env.sim)
        # a list file that is gone: the reload is refused, the old list stays
        os.unlink(dnc)
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: env.d.log().count("reload refused") >= 2, 20, "the refused reload")
        assert "cannot read the do-not-call list" in env.d.log()
        assert env.d.proc.poll() is None
        assert metric(env, 'batchcalld_suppression_entries{list="files"}') == 1
        # a FIFO in its place: refused at once (it held the loop in open())
        os.mkfifo(dnc)
        t0 = time.monotonic()
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: env.d.log().count("reload refused") >= 3, 20, "the refused reload")
        assert "'%s': cannot read the do-not-call list: not a regular file" % dnc in env.d.log(), env.d.log()[-2000:]
        assert ctl(env, "status").returncode == 0 and time.monotonic() - t0 < 15
        os.unlink(dnc)
        assert env.d.stop() == 0
        p = ctl(env, "check")
        assert p.returncode == 1 and "dnc.txt" in p.stderr and "No such file" in p.stderr, p.stderr
        env.d.start()
        assert env.d.proc.wait(20) == 1


def test_empty_list_is_said(work):
    """A list with no numbers (an export that failed half way looks just
    like it) is taken as empty, with a warning at check, at the start and
    at a reload, naming the file."""
    empty = os.path.join(work, "empty.csv")
    with open(empty, "w") as f:
        f.write("phone_number,name\n")
    with open(os.path.join(work, "dnc.txt"), "w") as f:
        f.write("+14155550102\n")
    with Env(work, extra_conf=RESULTS + '\nsuppression = ( "dnc.txt", "empty.csv" );') as env:
        p = ctl(env, "check")
        assert p.returncode == 0, p.stderr
        assert "%s: warning: the do-not-call list has no numbers" % empty in p.stderr, p.stderr
        assert "dnc.txt: warning" not in p.stderr, p.stderr
        env.d.start()
        env.d.wait_started()
        want = "the do-not-call list '%s' has no numbers" % empty
        assert env.d.log().count(want) == 1, env.d.log()[-2000:]
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: env.d.log().count(want) == 2, 20, "the warning at the reload")
        with open(empty, "w") as f:
            f.write("phone_number,name\n+14155550103,x\n")
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: env.d.log().count("configuration reloaded") >= 2, 20, "the second reload")
        assert env.d.log().count(want) == 2
        assert metric(env, 'batchcalld_suppression_entries{list="files"}') == 2
        assert env.d.stop() == 0


def test_kill9_after_suppress(work):
    """kill -9 right after `suppress` answered, then a restart: the number
    is still suppressed (the addition was on stable storage before the
    answer)."""
    with Env(work, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 5
        env.d.write_job("dnc5", job(at, ("+14155550101", "+14155550102")))
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("configuration reloaded")
        p = ctl(env, "suppress", "+14155550101")
        assert p.returncode == 0, p.stderr
        env.d.kill9()
        assert env.sim.requests("submit") == []
        env.d.start()
        env.d.wait_started()
        env.d.wait_state("dnc5", ("completed",), 60)
        assert submitted_numbers(env.sim) == [["+14155550102"]], submitted_numbers(env.sim)
        assert [r["status"] for r in rows_of(work, "dnc5", at)] == ["suppressed", "completed"]
        # a torn last line (an addition never answered) is cut at the start
        env.d.kill9()
        with open(os.path.join(env.d.state, "suppressed.csv"), "a") as f:
            f.write("+1415555")
        env.d.start()
        env.d.wait_started()
        assert "ended in a line cut short" in env.d.log()
        p = ctl(env, "suppress", "+14155550109")
        assert p.returncode == 0, p.stderr
        with open(os.path.join(env.d.state, "suppressed.csv")) as f:
            lines = f.read().splitlines()
        assert [x.split(",")[0] for x in lines[1:]] == ["+14155550101", "+14155550109"], lines
        assert env.d.stop() == 0
        # a hand edit saved without a final newline: its whole last line
        # is kept (it was cut as torn, and the number called)
        own = os.path.join(env.d.state, "suppressed.csv")
        with open(own) as f:
            text = f.read()
        with open(own, "w") as f:
            f.write(text.rstrip("\n"))
        env.d.start()
        env.d.wait_started()
        assert env.d.log().count("ended in a line cut short") == 1, env.d.log()[-2000:]
        with open(own) as f:
            assert f.read() == text
        assert metric(env, 'batchcalld_suppression_entries{list="own"}') == 2
        assert env.d.stop() == 0
        # every entry removed by hand, the header left without its newline,
        # or the file emptied: the list is empty and the next addition has
        # its header
        for left in (text.splitlines()[0], ""):
            with open(own, "w") as f:
                f.write(left)
            env.d.start()
            env.d.wait_started()
            assert metric(env, 'batchcalld_suppression_entries{list="own"}') == 0
            p = ctl(env, "suppress", "+14155550108")
            assert p.returncode == 0, p.stderr
            assert env.d.stop() == 0
            with open(own) as f:
                lines = f.read().splitlines()
            assert lines[0] == text.splitlines()[0] and len(lines) == 2 and lines[1].startswith("+14155550108,"), lines
            env.d.start()
            env.d.wait_started()
            assert env.d.stop() == 0


def test_own_list_edits(work):
    """The own list edited by hand or replaced: a bare number added at its
    end without a newline is kept (it was cut as torn, and called); a
    header written with CRLF or a BOM and no newline stays a header; a
    file replaced while the daemon runs (sed -i, a restore) is read and
    written to from then on (the additions went to the old, deleted file
    and were gone after a restart); a FIFO in its place is an error at
    the start, not a hang; the reason is logged with its digits masked."""
    header = "phone_number,whatsapp_user_id,added_utc,peer_uid,reason"
    with Env(work, extra_conf=RESULTS) as env:
        own = os.path.join(env.d.state, "suppressed.csv")
        os.makedirs(env.d.state, exist_ok=True)
        for first in (header + "\r", "\ufeff" + header, header + " "):
            with open(own, "w") as f:
                f.write(first)
            env.d.start()
            env.d.wait_started()
            assert "cut short" not in env.d.log(), env.d.log()[-2000:]
            assert ctl(env, "suppress", "+14155550108").returncode == 0
            assert env.d.stop() == 0
            with open(own) as f:
                assert f.read().splitlines()[1].startswith("+14155550108,")
            env.d.start()
            env.d.wait_started()
            assert metric(env, 'batchcalld_suppression_entries{list="own"}') == 1
            assert env.d.stop() == 0
            os.unlink(own)
        with open(own, "w") as f:
            f.write(header + "\n+14155550103")
        env.d.start()
        env.d.wait_started()
        assert metric(env, 'batchcalld_suppression_entries{list="own"}') == 1
        with open(own) as f:
            assert f.read() == header + "\n+14155550103\n"
        # replaced while running: the file there now is followed
        p = ctl(env, "suppress", "+14155550104", "--reason", "ticket 991: +1 415-555-0123 asked")
        assert p.returncode == 0, p.stderr
        log = env.d.log()
        assert "ticket ***: +* ***-***-0123 asked" in log and "415-555-0123" not in log, log[-2000:]
        with open(own) as f:
            text = f.read()
        assert "415-555-0123" in text  # the file keeps the reason whole
        tmp = own + ".new"
        with open(tmp, "w") as f:
            f.write(text.replace("+14155550103\n", ""))
        os.rename(tmp, own)
        assert ctl(env, "suppress", "+14155550105").returncode == 0
        assert "was replaced or removed while the daemon ran" in env.d.log(), env.d.log()[-2000:]
        os.unlink(own)
        assert ctl(env, "suppress", "+14155550106").returncode == 0
        assert env.d.log().count("was replaced or removed while the daemon ran") == 2
        # what left the file stays in force until the next start
        assert ctl(env, "suppress", "+14155550103").stdout.count("already") == 1
        env.d.kill9()
        with open(own) as f:
            lines = f.read().splitlines()
        assert lines[0] == header and [x.split(",")[0] for x in lines[1:]] == ["+14155550106"], lines
        # a FIFO in its place: the start fails, naming it
        os.unlink(own)
        os.mkfifo(own)
        env.d.start()
        assert env.d.proc.wait(20) != 0
        assert "not a regular file" in env.d.log(), env.d.log()[-2000:]
        os.unlink(own)


def test_reload_refused_takes_lists(work):
    """A reload refused for a broken job file still takes the do-not-call
    lists when they read without an error (an opt-out is not held back by
    someone else's mistake), and says so; a list with an error keeps the
    old lists."""
    dnc = os.path.join(work, "dnc.txt")
    with open(dnc, "w") as f:
        f.write("+14155550102\n")
    with Env(work, extra_conf=RESULTS + '\nsuppression = ( "dnc.txt" );') as env:
        at = int(time.time()) + 8
        env.d.write_job("dnc7", job(at, ("+14155550101", "+14155550102", "+14155550103")))
        env.d.start()
        env.d.wait_started()
        with open(dnc, "a") as f:
            f.write("+14155550103\n")
        env.d.write_job("broken", "  agent_id = ;\n", file="broken")
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("do-not-call lists re-read")
        assert "but for the do-not-call lists" in env.d.log()
        assert metric(env, 'batchcalld_suppression_entries{list="files"}') == 2
        env.d.wait_state("dnc7", ("completed",), 60)
        assert submitted_numbers(env.sim) == [["+14155550101"]], submitted_numbers(env.sim)
        with open(dnc, "a") as f:
            f.write("4155550101\n")
        env.d.signal(signal.SIGHUP)
        wait_until(lambda: env.d.log().count("reload refused") >= 2, 20, "the second refusal")
        assert "the do-not-call lists too" in env.d.log()
        assert metric(env, 'batchcalld_suppression_entries{list="files"}') == 2
        assert env.d.stop() == 0


def test_suppressed_while_queued(work):
    """The lists are asked again when a submit leaves the HTTP client's
    queue: at 0.5 requests/s, three jobs due together wait their turn; a
    number suppressed (and answered) after the first submit went out is in
    none of the later ones: each is withdrawn unsent and made again
    without it."""
    with Env(work, rate=0.5, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 6
        for i in range(3):
            env.d.write_job("q%d" % i, job(at, ("+1415555%04d" % (100 + i), "+1415555%04d" % (200 + i))),
                            file="q%d" % i)
        env.d.signal(signal.SIGHUP)
        env.d.wait_log("configuration reloaded")
        wait_until(lambda: len(env.sim.requests("submit")) >= 1, 40, "the first submit")
        sent = {n for ns in submitted_numbers(env.sim) for n in ns}
        victims = ["+1415555%04d" % (100 + i) for i in range(3) if "+1415555%04d" % (100 + i) not in sent]
        assert len(victims) == 2, (sent, victims)
        for v in victims:
            p = ctl(env, "suppress", v)
            assert p.returncode == 0, p.stderr
        for i in range(3):
            env.d.wait_state("q%d" % i, ("completed",), 90)
        bodies = submitted_numbers(env.sim)
        assert len(bodies) == 3, bodies
        assert not [n for ns in bodies for n in ns if n in victims], bodies
        everyone = ["+1415555%04d" % (k + i) for k in (100, 200) for i in range(3)]
        assert sorted(n for ns in bodies for n in ns) == sorted(set(everyone) - set(victims)), bodies
        assert env.d.log().count("withdrawn before it was sent") >= 2, env.d.log()[-3000:]
        assert env.d.stop() == 0


def test_retry_becomes_follow_up(work):
    """The retry endpoint re-dials every failed recipient and takes no
    list: once one of them is suppressed, it is not called; the others are
    submitted as a follow-up run instead, and the journal says so."""
    with Env(work, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("dnc6", job(at, ("+14155550101", "+14155550106", "+14155550116"))
                        .replace("retry = { max_retries = 0; };",
                                 "retry = { max_retries = 1; delay = 8; backoff = 1.0; max_delay = 8; };"))
        env.d.signal(signal.SIGHUP)
        env.d.wait_state("dnc6", ("retry_wait",), 60)
        p = ctl(env, "suppress", "+14155550116")
        assert p.returncode == 0, p.stderr
        wait_until(lambda: len(env.sim.requests("submit")) >= 2, 30, "the follow-up's submit")
        assert env.sim.requests("retry") == [], env.sim.requests("retry")
        subs = env.sim.requests("submit")
        assert submitted_numbers(env.sim) == [["+14155550101", "+14155550106", "+14155550116"],
                                              ["+14155550106"]], submitted_numbers(env.sim)
        assert json.loads(subs[1]["body"])["call_name"].endswith("(resume 1)"), subs[1]["body"]
        log = env.d.log()
        assert re.search(r"retry 1 of batch \S+ not sent: 1 of its 2 failed or unanswered recipients are on a "
                         r"do-not-call list now and the retry endpoint takes no list; the others go to a "
                         r"follow-up run instead", log), log[-3000:]
        wait_until(lambda: metric(env, 'batchcalld_suppressed_recipients_total{at="retry"}') == 1, 10,
                   "the retry's count")
        assert env.d.stop() == 0



def test_retry_suppressed_while_queued(work):
    """A retry that waits in the HTTP client's queue (three triggered
    submits ahead of it at 0.3 requests/s) while one of the recipients it
    re-dials is suppressed is withdrawn unsent; at its next attempt it
    becomes the follow-up run of the others, as when the number was listed
    before."""
    with Env(work, rate=0.3, extra_conf=RESULTS) as env:
        env.d.start()
        env.d.wait_started()
        at = int(time.time()) + 2
        env.d.write_job("r", job(at, ("+14155550106", "+14155550116")))
        far = int(time.time()) + 86400
        for i in range(3):
            env.d.write_job("f%d" % i, job(far, ("+1415555%04d" % (200 + i),)), file="f%d" % i)
        env.d.signal(signal.SIGHUP)
        env.d.wait_state("r", ("failed", "completed"), 120)
        for i in range(3):
            assert ctl(env, "trigger", "f%d" % i).returncode == 0
        assert ctl(env, "retry", "r").returncode == 0
        p = ctl(env, "suppress", "+14155550116")
        assert p.returncode == 0, p.stderr
        wait_until(lambda: any(json.loads(x["body"])["call_name"].endswith("(resume 1)")
                               for x in env.sim.requests("submit")), 120, "the follow-up's submit")
        assert env.sim.requests("retry") == [], env.sim.requests("retry")
        follow = [json.loads(x["body"]) for x in env.sim.requests("submit")
                  if json.loads(x["body"])["call_name"].endswith("(resume 1)")]
        assert [r["phone_number"] for r in follow[0]["recipients"]] == ["+14155550106"], follow
        assert "withdrawn before it was sent" in env.d.log(), env.d.log()[-3000:]
        assert env.d.stop() == 0

if __name__ == "__main__":
    run([test_suppress_one_second_before_submit, test_list_files, test_bad_reload_keeps_old_lists,
         test_empty_list_is_said, test_kill9_after_suppress, test_retry_becomes_follow_up,
         test_own_list_edits, test_reload_refused_takes_lists, test_suppressed_while_queued,
         test_retry_suppressed_while_queued])
