#!/usr/bin/env python3
"""Every entry the daemon logs has a MESSAGE_ID the catalog explains
(issue 13: `journalctl -x` must be able to say what happened).

Lists every log call site in src/: log_event, log_event_at, log_eventv_at,
log_msg, and every wrapper (a function of src/ with an `enum log_event`
parameter, like the engine's log_run), and fails on a site whose kind is
EV_NONE, is not a constant the test can read, or is a kind without a
MESSAGE_ID in src/shell/log.c or without an entry in
systemd/batchcalld.catalog.in. log_msg always fails: it sends no
MESSAGE_ID. A kind computed by log_event_of() (the engine's mapping from
the run machine's job events) passes when that function maps every
JE_ value of src/core/run.h to such a kind, with no EV_NONE fallback.
"""
import os
import re
import sys

TOP = os.environ.get("TOP_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def read(p):
    with open(os.path.join(TOP, p)) as f:
        return f.read()


def strip_comments(text):
    # Keep line numbers: comments become blanks of the same shape.
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"//[^\n]*", blank, text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)


def args_at(text, i):
    """The top-level arguments of the call whose '(' is at text[i]."""
    depth, start, out = 0, i + 1, []
    for j in range(i, len(text)):
        ch = text[j]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                out.append(text[start:j].strip())
                return out
        elif ch == "," and depth == 1:
            out.append(text[start:j].strip())
            start = j + 1
    raise ValueError("unbalanced call at %d" % i)


def main():
    log_c = read("src/shell/log.c")
    ids = dict(re.findall(r'\[(EV_\w+)\] = \{ "[\w-]+", (?:"[\w-]+"|NULL), "([0-9a-f]{32})" \}', log_c))
    catalog = set(re.findall(r"^-- ([0-9a-f]{32})$", read("systemd/batchcalld.catalog.in"), re.M))
    kinds = re.search(r"enum log_event \{(.*?)\};", strip_comments(read("src/shell/log.h")), re.S).group(1)
    kinds = [k for k in re.findall(r"\b(EV_\w+)\b", kinds) if k not in ("EV_NONE", "EV__MAX")]
    bad = []

    def kind_ok(k):
        return k != "EV_NONE" and k in ids and ids[k] in catalog

    for k in kinds:
        if not kind_ok(k):
            bad.append("src/shell/log.h: kind %s has %s" % (
                k, "no MESSAGE_ID in log.c" if k not in ids else "no catalog entry for " + ids[k]))

    sources = []
    for d, _, files in os.walk(os.path.join(TOP, "src")):
        for f in sorted(files):
            if f.endswith(".c"):
                sources.append(os.path.relpath(os.path.join(d, f), TOP))
    sources.sort()
    texts = {p: strip_comments(read(p)) for p in sources}

    # The log functions and the position of their kind argument.
    funcs = {"log_event": 1, "log_event_at": 4, "log_eventv_at": 4, "log_msg": None}
    for p, t in texts.items():
        for m in re.finditer(r"^(?:static\s+)?(?:inline\s+)?\w[\w\s\*]*?\b(\w+)\s*\(([^;{)]*enum log_event\s+\w+[^;{)]*)\)",
                             t, re.M):
            name, params = m.group(1), [a.strip() for a in m.group(2).split(",")]
            if name in funcs or name.startswith("log_capture"):
                continue
            funcs[name] = next(i for i, a in enumerate(params) if a.startswith("enum log_event"))

    sites = 0
    for p, t in texts.items():
        if p == "src/shell/log.c":
            continue
        for m in re.finditer(r"\b(%s)\s*\(" % "|".join(map(re.escape, funcs)), t):
            name = m.group(1)
            line = t.count("\n", 0, m.start()) + 1
            args = args_at(t, m.end() - 1)
            if any("enum log_event" in a for a in args):
                continue  # a declaration or definition, not a call
            # A wrapper forwarding its own parameter is checked at its callers.
            pos = funcs[name]
            sites += 1
            where = "%s:%d: %s()" % (p, line, name)
            if pos is None:
                bad.append("%s: log_msg sends no MESSAGE_ID; use log_event with a kind" % where)
                continue
            ev = args[pos] if pos < len(args) else ""
            if re.fullmatch(r"EV_\w+", ev):
                if not kind_ok(ev):
                    bad.append("%s: kind %s has no catalogued MESSAGE_ID" % (where, ev))
            elif re.fullmatch(r"(?:\w+_)?log_event_of\(.*\)", ev, re.S):
                pass  # checked below, once
            elif re.fullmatch(r"\(enum log_event\)\w+|ev", ev) and name in ("log_eventv_at", "log_event_at"):
                # inside a wrapper: its own parameter
                sites -= 1
            else:
                bad.append("%s: kind '%s' is not a constant this test can check" % (where, ev))

    # The engine's mapping of the run machine's job events.
    run_h = strip_comments(read("src/core/run.h"))
    jes = [j for j in re.findall(r"\b(JE_\w+)\b", re.search(r"enum job_event \{(.*?)\};", run_h, re.S).group(1))
           if j != "JE__MAX"]
    for p, t in texts.items():
        m = re.search(r"\benum log_event (?:\w+_)?log_event_of\(enum job_event \w+\)\s*\{(.*?)\n\}", t, re.S)
        if not m:
            continue
        body = m.group(1)
        mapping = dict(re.findall(r"case (JE_\w+):\s*return (EV_\w+);", body))
        line = t.count("\n", 0, m.start()) + 1
        for j in jes:
            if j not in mapping:
                bad.append("%s:%d: log_event_of() has no case for %s" % (p, line, j))
            elif not kind_ok(mapping[j]):
                bad.append("%s:%d: log_event_of() maps %s to %s, which has no catalogued MESSAGE_ID"
                           % (p, line, j, mapping[j]))
        d = re.search(r"default:\s*return (EV_\w+);", body)
        if d and not kind_ok(d.group(1)):
            bad.append("%s:%d: log_event_of() falls back to %s" % (p, line, d.group(1)))

    print("%d log call sites in src/, %d kinds with a MESSAGE_ID, %d catalog entries" % (sites, len(ids),
                                                                                         len(catalog)))
    for b in bad:
        print("FAIL: " + b)
    if sites < 40:
        print("FAIL: only %d call sites found: the scan is broken" % sites)
        bad.append("scan")
    print("%d passed, %d failed" % (0 if bad else 1, 1 if bad else 0))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
