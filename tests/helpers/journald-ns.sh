#!/bin/sh
# journald-ns.sh CMD [ARG...]: run CMD beside a private systemd-journald.
#
# A new mount namespace gets its own tmpfs on /run (and on /var/log/journal
# and the catalog database folder when they exist), so the private journald
# binds the usual sockets there and the host's journal is neither read nor
# written. CMD runs once the sockets exist and may query with journalctl
# (call `journalctl --sync` first); everything vanishes with the namespace.
#
# Exit status: CMD's; 77 (automake's "skipped") when not root or when a
# namespace cannot be made here.
set -eu

journald=${JOURNALD:-/lib/systemd/systemd-journald}

if [ "${BC_JOURNALD_NS_INNER:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "journald-ns: needs root for a mount namespace, skipping" >&2
		exit 77
	fi
	if [ ! -x "$journald" ] || ! command -v unshare >/dev/null 2>&1; then
		echo "journald-ns: no $journald or unshare, skipping" >&2
		exit 77
	fi
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "journald-ns: cannot create a mount namespace here, skipping" >&2
		exit 77
	fi
	BC_JOURNALD_NS_INNER=1 exec unshare --mount --propagation private "$0" "$@"
fi

mount -t tmpfs -o mode=0755 tmpfs /run
for d in /var/log/journal /var/lib/systemd/catalog; do
	if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
mkdir -p /run/systemd/journald.conf.d /run/batchcalld-test
# Volatile storage in the private /run; no rate limit, since tests log in
# bursts; no forwarding to the host's console or kernel log.
cat >/run/systemd/journald.conf.d/zz-batchcalld-test.conf <<'CONF'
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
CONF

# Not ours: a NOTIFY_SOCKET or watchdog meant for the command under test.
env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID -u LISTEN_FDS -u LISTEN_PID \
	"$journald" >/run/batchcalld-test/journald.log 2>&1 &
jpid=$!
stop_journald() {
	kill "$jpid" 2>/dev/null || true
	wait "$jpid" 2>/dev/null || true
}
trap stop_journald EXIT

# journald binds its sockets in its start-up; wait for the ones a test uses
# (native, stdout for systemd-cat, varlink for journalctl --sync).
deadline=$(($(date +%s) + 20))
for s in socket stdout io.systemd.journal; do
	while [ ! -S "/run/systemd/journal/$s" ]; do
		if ! kill -0 "$jpid" 2>/dev/null; then
			echo "journald-ns: systemd-journald exited:" >&2
			cat /run/batchcalld-test/journald.log >&2
			exit 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "journald-ns: no /run/systemd/journal/$s after 20 s" >&2
			exit 1
		fi
		sleep 0.02
	done
done

export BC_JOURNALD_NS=1
status=0
"$@" || status=$?
exit "$status"
