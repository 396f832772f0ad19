#!/bin/sh
# lifecycle.sh DEBDIR: the Debian packages as an operator lives with them,
# checked with the real systemd: install without a key (nothing starts),
# the key and a job, an upgrade while the job's submit is in flight (one
# batch, no duplicate, no lost run), edited conffile kept, a stopped
# service left stopped by an upgrade, remove (stopped, state kept), purge
# (state gone, the operator's files named and kept), and an install on a
# host provisioned with a key (started).
#
# Runs as root INSIDE a booted Debian 12 container (systemd as PID 1, e.g.
# systemd-nspawn --boot; tests/package/run-in-root.sh boots one), never on a
# host: it installs packages and starts services. Needs dpkg, curl and the
# packages' libraries (no network: dpkg -i, not apt); man-db if present. DEBDIR holds old/ and
# new/, each with batchcalld_*.deb and batchcall-sim_*.deb; new/ is the
# build under test, old/ the previous one, whose conffile differs
# (tests/package/relabel.sh makes one from the same build).
# Prints "ok: ..." per check; the first failure prints "FAIL: ...", the
# daemon's journal, and exits 1. Budget: about 2 minutes.
set -eu
debs=${1:?usage: lifecycle.sh DEBDIR}
KEY=sk_package_test_0123456789
SIM=http://127.0.0.1:18089
UNIT=batchcalld
JOB=pkg-upgrade
export LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive
out=$(mktemp)

fail() {
	echo "FAIL: $*"
	echo "---- journalctl -u $UNIT (last 40)"
	journalctl --no-pager -u "$UNIT" -n 40 2>&1 || true
	exit 1
}
ok() { echo "ok: $*"; }
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
wait_for() {
	t=$1 what=$2
	shift 2
	end=$(($(date +%s) + t))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || fail "timed out after ${t}s waiting for $what"
		sleep 0.2
	done
}
active() { [ "$(systemctl is-active "$UNIT" 2>/dev/null)" = active ]; }
main_pid() { systemctl show -p MainPID --value "$UNIT"; }
# the daemon's process, whatever systemd knows about it (no procps here)
daemon_running() { grep -qx batchcalld /proc/[0-9]*/comm 2>/dev/null; }
catalog_ids() { journalctl --list-catalog 2>/dev/null | grep -c ' batchcalld: ' || true; }
sim() { curl -sS -X "$1" "$SIM$2" ${3:+-d "$3"}; }
submits() { sim GET /_sim/requests | grep -o '"endpoint": *"submit"' | wc -l; }
job_state() { batchcallctl status --json 2>/dev/null | grep -o '"state":"[a-z_]*"' | head -1 | cut -d'"' -f4; }
events() { journalctl --no-pager -u "$UNIT" "JOB_NAME=$JOB" "JOB_EVENT=$1" -o cat 2>/dev/null | wc -l; }

[ "$(id -u)" = 0 ] || fail "needs root"
[ "$(cat /proc/1/comm)" = systemd ] && systemd-detect-virt --quiet --container ||
	fail "not inside a container booted with systemd: refusing to install packages and start services here"
for d in old new; do
	ls "$debs/$d"/batchcalld_*.deb "$debs/$d"/batchcall-sim_*.deb >/dev/null ||
		fail "no batchcalld_*.deb and batchcall-sim_*.deb in $debs/$d"
done
new_version=$(dpkg-deb -f "$debs"/new/batchcalld_*.deb Version)
old_version=$(dpkg-deb -f "$debs"/old/batchcalld_*.deb Version)
dpkg --compare-versions "$new_version" gt "$old_version" || fail "new/ ($new_version) is not newer than old/ ($old_version)"
echo "lifecycle: $old_version -> $new_version"

# 1. First install, no key: nothing starts, nothing is enabled.
dpkg -i "$debs"/old/batchcalld_*.deb "$debs"/old/batchcall-sim_*.deb >"$out" 2>&1 || { cat "$out"; fail "dpkg -i old"; }
grep -q 'neither enabled nor started' "$out" || { cat "$out"; fail "the postinst does not say why the service is not started"; }
! active && ! daemon_running || fail "the service runs after an install without a key"
[ "$(systemctl is-enabled "$UNIT" 2>/dev/null)" = disabled ] || fail "enabled at install without a key: $(systemctl is-enabled $UNIT)"
ok "install without a key: disabled, not started, and the postinst says what to do"
dpkg-query -W -f='${Conffiles}\n' batchcalld | grep -q '^ /etc/batchcalld/batchcalld.conf ' || fail "batchcalld.conf is no conffile"
grep -q '^ *base_url = "https://api.elevenlabs.io"' /etc/batchcalld/batchcalld.conf || fail "the template does not name the real API"
grep -q '/etc/batchcalld/elevenlabs-api-key' /etc/batchcalld/batchcalld.conf || fail "the template does not point at the key"
[ -z "$(ls -A /etc/batchcalld/jobs.d)" ] || fail "jobs.d is not empty after install: $(ls /etc/batchcalld/jobs.d)"
batchcallctl check | grep -q '^0 jobs in 0 files' || fail "batchcallctl check of the template: $(batchcallctl check 2>&1)"
[ -f /usr/share/doc/batchcalld/examples/jobs.d/dec-renewals.conf ] || fail "no example jobs in the docs"
ok "conffile template: the real API, a pointer to the key, no job; examples in /usr/share/doc"
ids=$(grep -c '^-- [0-9a-f]\{32\}$' /usr/lib/systemd/catalog/batchcalld.catalog)
[ "$(catalog_ids)" = "$ids" ] || fail "journalctl --list-catalog lists $(catalog_ids) batchcalld entries, the catalog has $ids"
ok "the catalog is compiled (systemd's trigger): $ids entries"
for page in batchcalld.8 batchcallctl.8 batchcalld.conf.5 batchcall-sim.1; do
	[ -f "/usr/share/man/man${page##*.}/$page.gz" ] || fail "no man page $page"
done
if command -v man >/dev/null 2>&1; then
	for k in state_retention metrics_listen calling_hours outside_window ringing_timeout_secs; do
		MANWIDTH=100 man batchcalld.conf 2>/dev/null | grep -q "$k" || fail "man batchcalld.conf does not show $k"
	done
	ok "man pages batchcalld(8) batchcallctl(8) batchcalld.conf(5) batchcall-sim(1); man batchcalld.conf shows the keys"
else
	ok "man pages batchcalld(8) batchcallctl(8) batchcalld.conf(5) batchcall-sim(1) installed (no man-db here to read them)"
fi

# 2. The simulator, the key, a job due in 20 s, and the service.
systemd-run --quiet --unit=bcsim -p DynamicUser=yes /usr/bin/batchcall-sim --listen 127.0.0.1:18089 \
	--api-key "$KEY" --speed 20 || fail "cannot start the simulator"
wait_for 20 "the simulator" sim GET /_sim/clock
install -m 0600 -o root -g root /dev/null /etc/batchcalld/elevenlabs-api-key
printf '%s\n' "$KEY" >/etc/batchcalld/elevenlabs-api-key
# The operator's edits of the conffile: the simulator, a shorter timeout.
sed -i -e "s|^\( *base_url = \)\"https://api.elevenlabs.io\"|\1\"$SIM\"|" \
	-e 's|^\( *request_timeout = \)30;|\110;|' /etc/batchcalld/batchcalld.conf
cp /etc/batchcalld/batchcalld.conf "$out.conf"
at=$(($(date +%s) + 20))
cat >/etc/batchcalld/jobs.d/$JOB.conf <<JOBS
jobs = ( {
  name = "$JOB";
  agent_id = "agent_pkg";
  phone_number_id = "phnum_pkg";
  scheduled_time_unix = $at;
  recipients = ( { phone_number = "+15550100001"; }, { phone_number = "+15550100002"; },
                 { phone_number = "+15550100003"; } );
} );
JOBS
batchcallctl check | grep -q '^1 job in 1 file' || fail "batchcallctl check: $(batchcallctl check 2>&1)"
systemctl enable --now "$UNIT" >/dev/null 2>&1 || fail "systemctl enable --now $UNIT"
active || fail "not active after enable --now"
ok "with a key and a job: enable --now, active"

# 3. Upgrade while the submit is in flight: the simulator holds it for 15 s
# (and creates the batch only then); the daemon's own timeout is 10 s, so
# the daemon that the upgrade stops never learns the outcome, and the new
# one must find the batch (grace: 2 x 10 + 2 s) and adopt it.
sim POST /_sim/faults '{"endpoint":"submit","kind":"delay","delay_ms":15000}' >/dev/null
wait_for 40 "the submit to reach the simulator" sh -c "[ \$(curl -sS $SIM/_sim/requests | grep -c '\"endpoint\": *\"submit\"') -ge 1 ]"
pid=$(main_pid)
dpkg -i --force-confold "$debs"/new/batchcalld_*.deb "$debs"/new/batchcall-sim_*.deb >"$out" 2>&1 ||
	{ cat "$out"; fail "dpkg -i new (upgrade)"; }
[ "$(dpkg-query -W -f='${Version}' batchcalld)" = "$new_version" ] || fail "not upgraded"
active || fail "not active after the upgrade"
[ "$(main_pid)" != "$pid" ] || fail "the upgrade did not restart the running service (MainPID $pid)"
ok "upgrade to $new_version restarted the running service (MainPID $pid -> $(main_pid))"
cmp -s /etc/batchcalld/batchcalld.conf "$out.conf" || fail "the edited conffile was changed by the upgrade"
[ -f /etc/batchcalld/batchcalld.conf.dpkg-dist ] || fail "no batchcalld.conf.dpkg-dist (the package's new conffile)"
ok "the edited conffile is kept, the package's new one is batchcalld.conf.dpkg-dist"
wait_for 120 "the run to complete" sh -c "batchcallctl status --json | grep -q '\"state\":\"completed\"'"
[ "$(submits)" = 1 ] || fail "$(submits) submits in the simulator's log, expected 1"
batches=$(curl -sS -H "xi-api-key: $KEY" "$SIM/v1/convai/batch-calling/workspace?limit=100" | grep -o "\"name\": *\"$JOB " | wc -l)
[ "$batches" = 1 ] || fail "$batches batches named '$JOB ...' at the simulator, expected 1"
[ "$(events adopted)" -ge 1 ] || fail "the restarted daemon did not adopt the in-flight batch (no JOB_EVENT=adopted)"
[ "$(events submitted)" = 0 ] || fail "a JOB_EVENT=submitted besides the adoption"
ok "the run in flight across the upgrade: 1 submit, 1 batch, adopted, completed"
ls /var/lib/batchcalld/runs/ | grep -q "^$JOB@" || fail "no state of the run in /var/lib/batchcalld/runs"

# 4. An upgrade (here: the same version again) leaves a stopped service stopped.
systemctl stop "$UNIT"
dpkg -i "$debs"/new/batchcalld_*.deb >"$out" 2>&1 || { cat "$out"; fail "dpkg -i new again"; }
! active || fail "a stopped service was started by the upgrade"
[ "$(systemctl is-enabled "$UNIT")" = enabled ] || fail "no longer enabled after the upgrade"
ok "an upgrade leaves a stopped service stopped and enabled"
systemctl start "$UNIT"
active || fail "start"

# 4b. An upgrade while the configuration has an error: the new daemon would
# refuse it and exit, so the running one is left alone and the errors shown;
# a start with it fails the unit once (RestartPreventExitStatus=1), no loop.
pid=$(main_pid)
printf 'jobs = ( { name = "broken"; agent_id = 7; } );\n' >/etc/batchcalld/jobs.d/broken.conf
dpkg -i "$debs"/new/batchcalld_*.deb >"$out" 2>&1 || { cat "$out"; fail "dpkg -i with a broken job file"; }
grep -q 'NOT restarted' "$out" && grep -q 'broken.conf:' "$out" || { cat "$out"; fail "the postinst does not say why it did not restart"; }
active && [ "$(main_pid)" = "$pid" ] || fail "the running daemon was restarted onto a configuration it refuses"
ok "an upgrade over a refused configuration leaves the running daemon alone and shows the errors"
systemctl restart "$UNIT" >/dev/null 2>&1 || true
sleep 7  # past RestartSec=5s: a restart loop would be activating again
[ "$(systemctl show -p ActiveState --value "$UNIT")" = failed ] ||
	fail "a refused configuration at start: $(systemctl show -p ActiveState -p SubState -p NRestarts "$UNIT" | tr '\n' ' ')"
[ "$(systemctl show -p NRestarts --value "$UNIT")" = 0 ] || fail "restarted $(systemctl show -p NRestarts --value "$UNIT") times"
ok "a start with a refused configuration fails the unit, no restart loop"
rm /etc/batchcalld/jobs.d/broken.conf
systemctl reset-failed "$UNIT"
systemctl start "$UNIT"
active || fail "start after the fix"

# 5. Remove: stopped, the state and the configuration stay.
dpkg -r batchcalld >"$out" 2>&1 || { cat "$out"; fail "dpkg -r"; }
! active && ! daemon_running || fail "the daemon runs after remove"
ls /var/lib/private/batchcalld/runs/ | grep -q "^$JOB@" || fail "remove deleted the state"
[ -f /etc/batchcalld/batchcalld.conf ] && [ -f /etc/batchcalld/elevenlabs-api-key ] || fail "remove deleted the configuration"
[ "$(catalog_ids)" = 0 ] || fail "the catalog still lists $(catalog_ids) batchcalld entries after remove"
ok "remove: stopped, state and configuration kept, catalog entries gone"

# 6. Purge: the state goes, the operator's files are named and stay.
dpkg -P batchcalld >"$out" 2>&1 || { cat "$out"; fail "dpkg -P"; }
[ ! -e /var/lib/batchcalld ] && [ ! -e /var/lib/private/batchcalld ] || fail "purge left the state: $(ls -la /var/lib/batchcalld /var/lib/private 2>&1)"
[ ! -e /etc/batchcalld/batchcalld.conf ] && [ ! -e /etc/batchcalld/batchcalld.conf.dpkg-dist ] || fail "purge left batchcalld.conf"
[ ! -e /etc/systemd/system/multi-user.target.wants/batchcalld.service ] || fail "purge left the enablement link"
grep -q 'kept your files:.*elevenlabs-api-key' "$out" || { cat "$out"; fail "purge does not name the files it kept"; }
[ -f /etc/batchcalld/elevenlabs-api-key ] || fail "purge deleted the operator's key"
ok "purge: state, conffile and enablement gone; the operator's key and job file named and kept"

# 7. A host provisioned with the key before the package: enabled and started.
rm -f /etc/batchcalld/jobs.d/$JOB.conf
dpkg -i "$debs"/new/batchcalld_*.deb >"$out" 2>&1 || { cat "$out"; fail "dpkg -i with a key in place"; }
grep -q 'enabled and started' "$out" || { cat "$out"; fail "the postinst does not say it started the service"; }
wait_for 20 "the service to be active" active
[ "$(systemctl is-enabled "$UNIT")" = enabled ] || fail "not enabled at an install with a key"
ok "install with a key in place: enabled and started"
# 8. Purge then install again, as an operator "starting clean" does: the
# purge keeps the key and the job files (step 6), and an install with the
# key in place starts the service at once (step 7). A run that was
# submitted before the purge must not be submitted a second time (that is
# every recipient called twice). policy-rc.d holds the postinst's start
# only so that the fresh conffile can be pointed at the simulator first
# (on a real host it points at the real API and the postinst starts it).
PJ=pkg-purge
sed -i "s|^\( *base_url = \)\"https://api.elevenlabs.io\"|\1\"$SIM\"|" /etc/batchcalld/batchcalld.conf
pat=$(($(date +%s) + 3))
cat >/etc/batchcalld/jobs.d/$PJ.conf <<JOBS
jobs = ( { name = "$PJ"; agent_id = "agent_pkg"; phone_number_id = "phnum_pkg";
  scheduled_time_unix = $pat; recipients = ( { phone_number = "+15550100001"; } ); } );
JOBS
systemctl restart "$UNIT"
wait_for 60 "the submit of $PJ" sh -c "batchcallctl status --json | grep -q '\"batch_id\":\"btcal_'"
pbatches() { curl -sS -H "xi-api-key: $KEY" "$SIM/v1/convai/batch-calling/workspace?limit=100" | grep -o "\"name\": *\"$PJ " | wc -l; }
[ "$(pbatches)" = 1 ] || fail "$(pbatches) batches of $PJ before the purge, expected 1"
dpkg -P batchcalld >"$out" 2>&1 || { cat "$out"; fail "dpkg -P (step 8)"; }
[ -f /etc/batchcalld/jobs.d/$PJ.conf ] && [ -f /etc/batchcalld/elevenlabs-api-key ] || fail "purge deleted the operator's files"
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
dpkg -i "$debs"/new/batchcalld_*.deb >"$out" 2>&1 || { cat "$out"; fail "dpkg -i after purge"; }
rm -f /usr/sbin/policy-rc.d
sed -i "s|^\( *base_url = \)\"https://api.elevenlabs.io\"|\1\"$SIM\"|" /etc/batchcalld/batchcalld.conf
systemctl start "$UNIT"
active || fail "not active after the install that follows the purge"
# The start looks the due run up by its call_name and adopts its batch.
wait_for 60 "the adoption of $PJ's batch" sh -c "journalctl -u $UNIT JOB_NAME=$PJ JOB_EVENT=adopted -o cat | grep -q ."
[ "$(pbatches)" = 1 ] || fail "$(pbatches) batches named '$PJ ...' after purge + install: the run submitted before the purge was submitted again"
ok "purge + install with the key and job files kept: the run submitted before is not submitted again"
rm -f /etc/batchcalld/jobs.d/$PJ.conf
dpkg -P batchcalld batchcall-sim >"$out" 2>&1 || { cat "$out"; fail "dpkg -P (last)"; }
rm -f /etc/batchcalld/elevenlabs-api-key
rmdir /etc/batchcalld/jobs.d /etc/batchcalld 2>/dev/null || true
[ ! -e /etc/batchcalld ] || fail "/etc/batchcalld left: $(find /etc/batchcalld)"
systemctl stop bcsim >/dev/null 2>&1 || true
echo "lifecycle: all checks passed"
