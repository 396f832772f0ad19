#!/bin/sh
# man.sh: the man pages made by make (mk/man.mk) are whole and clean.
#  - batchcalld.conf(5) names every key that src/shell/cfg.c accepts: each
#    daemon key (daemon_keys, api_keys as api.KEY) and each job key
#    (job_keys, retry_keys as retry.KEY) is the term of an entry (.TP) of the
#    page; the keys of the groups inside a job (recipient_keys, hours_keys,
#    whatsapp_keys) appear in its text. A key added to cfg.c without a line
#    in the README's "Configuration reference" fails here.
#  - every page formats without a warning from groff (what lintian reports).
set -eu
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
cfg=$TOP_SRCDIR/src/shell/cfg.c
man=$TOP_BUILDDIR/man
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in batchcalld.8 batchcallctl.8 batchcalld.conf.5 batchcall-sim.1; do
	[ -s "$man/$page" ] || { echo "FAIL: $man/$page is missing (make builds it)"; fail=1; }
done
[ "$fail" = 0 ] || exit 1

# The strings of one `static const char *const NAME[] = { ... };` of cfg.c.
keys() {
	awk -v start="static const char *const $1[] = {" \
		'index($0, start) == 1 { on = 1 } on { print } on && /};/ { exit }' "$cfg" |
		grep -o '"[^"]*"' | tr -d '"'
}
# The terms of the page's entries, one a line, fonts and escapes removed.
sed -n '/^\.TP/{n;p;}' "$man/batchcalld.conf.5" |
	sed -e 's/\\f\[[A-Z]*\]//g' -e 's/\\f[A-Z]//g' -e 's/\\-/-/g' >"$tmp/terms"
# The page as text.
sed -e 's/\\f\[[A-Z]*\]//g' -e 's/\\f[A-Z]//g' -e 's/\\-/-/g' "$man/batchcalld.conf.5" >"$tmp/text"

# list prefix where: every key of cfg.c's list must be a term (where=term)
# or a word of the text (where=text), written PREFIX.KEY
check() {
	list=$1 prefix=$2 where=$3
	keys "$list" >"$tmp/keys"
	n=$(wc -l <"$tmp/keys")
	if [ "$n" -eq 0 ]; then
		echo "FAIL: no key list '$list' in $cfg (renamed? update tests/man.sh)"
		fail=1
		return
	fi
	missing=
	while read -r k; do
		if [ "$where" = term ]; then
			# a term is the key itself, or its group (retry.delay for retry)
			grep -Eq "(^|[^A-Za-z0-9_.])$prefix$k([.][a-z_]+)?([^A-Za-z0-9_]|$)" "$tmp/terms" ||
				missing="$missing $(printf %s "$prefix" | tr -d "\\\\")$k"
		else
			grep -Eq "(^|[^A-Za-z0-9_.])$prefix$k([^A-Za-z0-9_]|$)" "$tmp/text" ||
				missing="$missing $(printf %s "$prefix" | tr -d "\\\\")$k"
		fi
	done <"$tmp/keys"
	if [ -n "$missing" ]; then
		echo "FAIL: batchcalld.conf(5) has no $where for:$missing (cfg.c $list; add them to the README's Configuration reference)"
		fail=1
	else
		echo "ok: $n keys of $list in batchcalld.conf(5) ($where)"
	fi
}
check daemon_keys '' term
check api_keys 'api\.' term
check job_keys '' term
check retry_keys 'retry\.' term
check recipient_keys '' text
check hours_keys '' text
check whatsapp_keys '' text

# groff's warnings, as lintian asks for them.
for page in batchcalld.8 batchcallctl.8 batchcalld.conf.5 batchcall-sim.1; do
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$man/$page" \
		>"$tmp/out" 2>"$tmp/err" || { echo "FAIL: man $page exited $?"; fail=1; }
	if [ -s "$tmp/err" ]; then
		echo "FAIL: groff warns about $page:"
		cat "$tmp/err"
		fail=1
	else
		echo "ok: $page formats without a warning"
	fi
done
exit "$fail"
