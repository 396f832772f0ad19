#!/bin/sh
# run-in-root.sh ROOT DEBDIR: boot ROOT, a Debian 12 root with systemd and
# the packages' libraries (scripts/deb makes one with debootstrap), with
# systemd-nspawn and run lifecycle.sh DEBDIR inside; exits with its status.
# ROOT is not changed: the container runs on an overlay of it (a copy where
# overlayfs is missing). The container has its own network namespace with
# loopback only, its own journald, and systemd as its PID 1; systemd never
# runs on this host's root. Needs root, systemd-nspawn, nsenter.
set -eu
root=$(cd "$1" && pwd) debs=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cd /
work=$(mktemp -d /var/tmp/bc-deb-boot.XXXXXX)
merged=$work/root
nspawn=
cleanup() {
	if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
		[ -z "${leader:-}" ] || nsenter --target "$leader" --all -- systemctl poweroff >/dev/null 2>&1 || true
		i=0
		while kill -0 "$nspawn" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
		kill "$nspawn" 2>/dev/null || true
		wait "$nspawn" 2>/dev/null || true
	fi
	mountpoint -q "$merged" && umount -l "$merged"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$work/upper" "$work/work" "$merged"
if ! mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$merged" 2>/dev/null; then
	echo "run-in-root: no overlayfs here; copying $root"
	rmdir "$merged"
	cp -a "$root" "$merged"
fi
mkdir -p "$merged/var/tmp/bc-deb"
cp -r "$debs/old" "$debs/new" "$here/lifecycle.sh" "$merged/var/tmp/bc-deb/"

systemd-nspawn --register=no --keep-unit --private-network --quiet --console=read-only \
	-D "$merged" --boot >"$work.console" 2>&1 </dev/null &
nspawn=$!
leader=
i=0
while [ -z "$leader" ]; do
	kill -0 "$nspawn" 2>/dev/null || { cat "$work.console"; echo "run-in-root: systemd-nspawn exited"; exit 1; }
	[ $i -lt 600 ] || { tail -n 40 "$work.console"; echo "run-in-root: no container init after 60 s"; exit 1; }
	for k in $(pgrep -P "$nspawn" || true); do
		[ "$(cat "/proc/$k/comm" 2>/dev/null)" = systemd ] && leader=$k
	done
	sleep 0.1
	i=$((i + 1))
done
inside() {
	nsenter --target "$leader" --all --wd=/ -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 "$@"
}
i=0
until state=$(inside systemctl is-system-running --wait 2>/dev/null) || [ "$state" = degraded ]; do
	[ $i -lt 120 ] || { tail -n 40 "$work.console"; echo "run-in-root: the container's systemd is '$state'"; exit 1; }
	sleep 0.5
	i=$((i + 1))
done
status=0
inside sh /var/tmp/bc-deb/lifecycle.sh /var/tmp/bc-deb || status=$?
rm -f "$work.console"
exit "$status"
