#!/bin/sh
# batchcallctl's online commands find the daemon where the daemon listens:
# control_socket is read by cfg.c's one reader (cfg_control_socket) for
# both, so an @include in batchcalld.conf, a relative path, an empty value
# and a wrong type mean the same to batchcallctl as to batchcalld (and
# `check`). A broken job file must not stop batchcallctl from trying the
# daemon. No daemon runs here: reaching the right socket shows as "cannot
# reach batchcalld on 'PATH'" (exit 3), a refused configuration as its
# FILE:LINE errors (exit 1).
set -u
top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/helpers/cli.sh
. "$top/tests/helpers/cli.sh"

d="$tmp/etc"
mkdir -p "$d/jobs.d"
conf="$d/batchcalld.conf"
write_conf() { # the control_socket line of sock.conf
	cat >"$conf" <<EOF
jobs_dir = "jobs.d";
state_dir = "$tmp/state";
@include "sock.conf"
EOF
	printf '%s\n' "$1" >"$d/sock.conf"
}
unreachable() { # the socket path batchcallctl must have tried (curl's words follow)
	want="batchcallctl: cannot reach batchcalld on '$1': "
	if ! awk -v w="$want" 'index($0, w) == 1 { found = 1 } END { exit !found }' "$tmp/err"; then
		fail "stderr lacks a line starting: $want"
		sed 's/^/  got: /' "$tmp/err" | head -20
	fi
}

# 1. An @include, relative to the daemon file's folder, resolved against it.
write_conf 'control_socket = "run/ctl.sock";'
run 0 -c "$conf" check
run 3 -c "$conf" status
unreachable "$d/run/ctl.sock"
expect_err_lacks "include"
run 3 -c "$conf" show some-job
unreachable "$d/run/ctl.sock"

# 2. A broken job file: check refuses, status still tries the daemon.
printf 'agent_id = "a"; start = "not a date";\n' >"$d/jobs.d/broken.conf"
run 1 -c "$conf" check
run 3 -c "$conf" status
unreachable "$d/run/ctl.sock"
rm "$d/jobs.d/broken.conf"

# 3. Not set: the default (the daemon's).
write_conf '# nothing'
run 3 -c "$conf" status
unreachable "/run/batchcalld/control.sock"

# 4. Empty or of the wrong type: an error for the daemon (check), the same
#    error for batchcallctl, never a quiet default.
write_conf 'control_socket = "";'
# (libconfig names an included file as the @include spells it.)
same_error() { # what: check and status report the same error at sock.conf:1
	run 1 -c "$conf" check
	grep -E '(^|/)sock\.conf:1: ' "$tmp/err" >"$tmp/check-err" || fail "check: no error at sock.conf:1 ($1)"
	run 1 -c "$conf" status
	grep -E '(^|/)sock\.conf:1: ' "$tmp/err" >"$tmp/status-err" || fail "status: no error at sock.conf:1 ($1)"
	cmp -s "$tmp/check-err" "$tmp/status-err" || fail "check and status report $1 differently"
	expect_err_lacks "cannot reach"
}
write_conf 'control_socket = "";'
same_error "an empty control_socket"
grep -qE "sock\.conf:1: 'control_socket' must not be empty\$" "$tmp/status-err" ||
	fail "status: the empty control_socket is not said to be empty"
write_conf 'control_socket = 5;'
same_error "a control_socket of the wrong type"

# 5. The daemon file itself unreadable or broken: said, not defaulted.
run 1 -c "$d/missing.conf" status
expect_err_lacks "cannot reach"
[ -s "$tmp/err" ] || fail "status with a missing file printed nothing"
printf 'control_socket = ;\n' >"$conf"
run 1 -c "$conf" status
grep -qF "$conf:1: " "$tmp/err" || fail "status: a syntax error is not reported at $conf:1"

cli_done
