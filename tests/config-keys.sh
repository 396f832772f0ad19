#!/bin/sh
# config-keys.sh: docs/config-keys.tsv against the code. Every key of a key
# list of src/shell/cfg.c has exactly one line in the checklist and every
# line names a key of the list of its scope; cfg.c reads the key outside the
# list; and each key is where its line says: hashed in
# jobspec_compute_digest, shown by ctlview's definition_write, sent by
# codec's submit body, spelled in fuzz/cfg.dict, described in README.md's
# "Configuration reference". Prints one line per problem and fails.
set -eu
: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
top=$TOP_SRCDIR
list=$top/docs/config-keys.tsv
cfg=$top/src/shell/cfg.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
problem() {
	echo "FAIL: $*"
	fail=1
}

# The body of the C function whose definition line starts with $2, from
# that line to the first line that is a lone "}".
body_of() { # FILE PREFIX
	awk -v p="$2" 'index($0, p) == 1 { on = 1 } on { print } on && /^}$/ { exit }' "$1"
}

# "SCOPE KEY" for every key of cfg.c's lists (static const char *const
# SCOPE_keys[] = { ... };), and cfg.c without those lists.
awk '
	match($0, /^static const char \*const [a-z_]+_keys\[\] = /) {
		scope = $0
		sub(/^static const char \*const /, "", scope)
		sub(/_keys\[\].*/, "", scope)
		on = 1
	}
	on {
		rest = $0
		sub(/^[^{]*\{/, "", rest)
		while (match(rest, /"[^"]*"/)) {
			print scope, substr(rest, RSTART + 1, RLENGTH - 2)
			rest = substr(rest, RSTART + RLENGTH)
		}
		if ($0 ~ /\};/)
			on = 0
		next
	}
	{ print > "/dev/stderr" }
' "$cfg" 2>"$tmp/cfg-rest.c" | sort >"$tmp/code"
[ -s "$tmp/code" ] || problem "no key lists found in $cfg"

grep -v '^#' "$list" | awk -F '\t' 'NF { print $1, $2 }' | sort >"$tmp/listed"
dups=$(uniq -d "$tmp/listed")
[ -z "$dups" ] || problem "listed twice in docs/config-keys.tsv: $dups"
comm -23 "$tmp/code" "$tmp/listed" | while read -r scope key; do
	echo "FAIL: $scope key '$key' is in cfg.c's ${scope}_keys but not in docs/config-keys.tsv"
done >"$tmp/missing"
comm -13 "$tmp/code" "$tmp/listed" | while read -r scope key; do
	echo "FAIL: docs/config-keys.tsv lists $scope key '$key', which cfg.c's ${scope}_keys does not accept"
done >>"$tmp/missing"
if [ -s "$tmp/missing" ]; then
	cat "$tmp/missing"
	fail=1
fi

body_of "$top/src/core/jobspec.c" "void jobspec_compute_digest(" >"$tmp/digest"
body_of "$top/src/core/ctlview.c" "static void definition_write(" >"$tmp/shown"
awk '/^\/\* --- submit body/ { on = 1; next } on && /^\/\* --- / { exit } on' \
	"$top/src/core/codec.c" >"$tmp/sent"
awk '/^## Configuration reference/ { on = 1; next } on && /^## / { exit } on' \
	"$top/README.md" >"$tmp/readme"
for f in digest shown sent readme; do
	[ -s "$tmp/$f" ] || problem "could not find the $f part of the code (renamed?)"
done

n=0
tab=$(printf '\t')
while IFS=$tab read -r scope key digest shown sent dict readme note; do
	case $scope in '' | '#'*) continue ;; esac
	n=$((n + 1))
	where="$scope key '$key'"
	# read by the loader, not only accepted: named outside the key lists
	grep -qF "\"$key\"" "$tmp/cfg-rest.c" ||
		problem "$where: cfg.c accepts it but never reads it"
	if [ "$digest" != - ]; then
		grep -qF -- "$digest" "$tmp/digest" ||
			problem "$where: jobspec_compute_digest does not hash $digest"
	fi
	if [ "$shown" != - ]; then
		grep -qE "\\\\?\"$shown\\\\?\"" "$tmp/shown" ||
			problem "$where: definition_write (ctlview.c) does not show \"$shown\""
	fi
	if [ "$sent" != - ]; then
		grep -qF "\"$sent\"" "$tmp/sent" ||
			problem "$where: the submit body (codec.c) does not send \"$sent\""
	fi
	case $dict in
	yes) grep -qE "^[A-Za-z0-9_]+=\"$key\"\$" "$top/fuzz/cfg.dict" ||
		problem "$where: fuzz/cfg.dict has no entry \"$key\"" ;;
	-) ;;
	*) problem "$where: dict must be yes or -, not '$dict'" ;;
	esac
	case $scope in
	api | retry) shown_as="$scope.$key" ;;
	*) shown_as=$key ;;
	esac
	case $readme in
	row) awk -F '|' -v k="\`$shown_as\`" '/^\| / && index($2, k) { found = 1 } END { exit !found }' \
		"$tmp/readme" || problem "$where: README.md's configuration reference has no row for \`$shown_as\`" ;;
	text) grep -qE "\`$key(\`| )" "$tmp/readme" ||
		problem "$where: README.md's configuration reference does not mention \`$key\`" ;;
	-) ;;
	*) problem "$where: readme must be row, text or -, not '$readme'" ;;
	esac
	: "$note"
done <"$list"

if [ "$fail" = 0 ]; then
	echo "ok: $n keys of docs/config-keys.tsv match cfg.c's key lists and every place they must appear"
fi
exit "$fail"
