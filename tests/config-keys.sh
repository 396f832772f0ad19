#!/bin/sh
# config-keys.sh: docs/config-keys.tsv against the code, both ways.
#  - Accepted: the key lists of src/shell/cfg.c (every array that a
#    check_keys() call names, SCOPE_keys) hold exactly the checklist's
#    (scope, key) pairs.
#  - Read: every key the loader reads is a checklist key, and every
#    checklist key is read. A key is read when it is the string argument of
#    a lookup (config_setting_get_member, libconfig's config_*lookup*, or a
#    cfg.c helper taking a `const char *key`: pick, job_int, ...), or a
#    string of a table such a lookup indexes (recipient_strings[i].key);
#    a key named only in a message or a list is not read.
#  - Placed: each key is where its line says: hashed in
#    jobspec_compute_digest (by a hashing call, not merely named there), shown by ctlview's definition_write, sent by
#    codec's submit body, spelled in fuzz/cfg.dict, and documented in
#    README.md's "Configuration reference" (a row, a mention, or for a
#    group the rows of its keys).
# Prints one line per problem and fails.
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

# cfg.c on one line, whitespace squeezed: declarations and calls spread
# over lines read the same however they are wrapped.
tr '\n\t' '  ' <"$cfg" | sed 's/  */ /g' >"$tmp/flat"
# The string literals of the initialiser of array $1 (NAME[] = { ... };).
strings_of() {
	grep -oE "[^a-z_0-9]$1 *\[ *\] *= *\{[^;]*\} *;" "$tmp/flat" | head -n 1 | sed 's/^[^{]*{//' |
		grep -oE '"[^"]*"' | tr -d '"'
}

# Accepted: "SCOPE KEY" of every key list a check_keys() call names.
grep -oE 'check_keys *\([^;]*, *[a-z_0-9]+ *, *ARRAY_SIZE' "$tmp/flat" |
	sed -E 's/.*, *([a-z_0-9]+) *, *ARRAY_SIZE$/\1/' | sort -u >"$tmp/lists"
[ -s "$tmp/lists" ] || problem "no check_keys() call found in $cfg"
: >"$tmp/code"
while read -r name; do
	case $name in
	*_keys) scope=${name%_keys} ;;
	*) problem "cfg.c's check_keys() is given '$name': a key list is named SCOPE_keys"; continue ;;
	esac
	strings_of "$name" >"$tmp/one"
	[ -s "$tmp/one" ] || problem "cfg.c: the key list $name (given to check_keys) has no definition with keys"
	sed "s/^/$scope /" "$tmp/one" >>"$tmp/code"
done <"$tmp/lists"
sort -o "$tmp/code" "$tmp/code"

# Read: the lookups' keys.
helpers=$(grep -oE '[a-z_0-9]+ *\([^(){};]*const char \*key[,)]' "$tmp/flat" | sed 's/ *(.*//' | sort -u | paste -sd '|' -)
readers="config_setting_get_member|config_lookup[a-z_0-9]*|config_setting_lookup[a-z_0-9]*${helpers:+|$helpers}"
grep -oE "(^|[^a-z_0-9])($readers) *\([^()\";]*\"[^\"]*\"" "$tmp/flat" | sed 's/.*"\(.*\)"$/\1/' >"$tmp/read"
grep -oE "(^|[^a-z_0-9])($readers) *\([^()\";]*[^a-z_0-9][a-z_0-9]+ *\[ *[a-z_0-9]+ *\](\.[a-z_]+)? *\)" "$tmp/flat" |
	sed -E 's/.*[^a-z_0-9]([a-z_0-9]+) *\[ *[a-z_0-9]+ *\](\.[a-z_]+)? *\)$/\1/' | sort -u >"$tmp/tables"
while read -r table; do
	strings_of "$table" >"$tmp/one"
	[ -s "$tmp/one" ] || problem "cfg.c: the table $table that a lookup indexes has no keys"
	cat "$tmp/one" >>"$tmp/read"
done <"$tmp/tables"
sort -u -o "$tmp/read" "$tmp/read"
[ -s "$tmp/read" ] || problem "no key lookup found in $cfg"

grep -v '^#' "$list" | awk -F '\t' 'NF { print $1, $2 }' | sort >"$tmp/listed"
dups=$(uniq -d "$tmp/listed")
[ -z "$dups" ] || problem "listed twice in docs/config-keys.tsv: $dups"
comm -23 "$tmp/code" "$tmp/listed" | while read -r scope key; do
	echo "FAIL: $scope key '$key' is in cfg.c's ${scope}_keys but not in docs/config-keys.tsv"
done >"$tmp/missing"
comm -13 "$tmp/code" "$tmp/listed" | while read -r scope key; do
	echo "FAIL: docs/config-keys.tsv lists $scope key '$key', which cfg.c's ${scope}_keys does not accept"
done >>"$tmp/missing"
awk '{ print $2 }' "$tmp/listed" | sort -u >"$tmp/listed-keys"
comm -23 "$tmp/read" "$tmp/listed-keys" | while read -r key; do
	echo "FAIL: cfg.c reads the key '$key', which docs/config-keys.tsv does not list"
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
# A part of the code on one line, comments dropped, blanks squeezed: what
# the digest hashes, the view shows and the body sends is code, not a
# comment that names it.
code_flat() { # FILE
	tr '\n\t' '  ' <"$1" | sed -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/||g' -e 's/  */ /g'
}
for f in shown sent; do
	code_flat "$tmp/$f" >"$tmp/$f.flat"
	mv "$tmp/$f.flat" "$tmp/$f"
done

# Hashed: a field is hashed when a hashing call of jobspec_compute_digest
# (h_str, h_int, ...: h_NAME(&h, 'C', VALUE); h_var(&h, VALUE)) takes it, a part of it
# (j->hours->days for j->hours, r->vars[k] for r->vars), or a local set
# from it (text = calendar_format(j->repeat), r = &j->recipients[i]). A
# mention elsewhere (a condition, a comment) is not hashing it. The body on
# one line, comments dropped: the VALUE of each call (casts and & dropped),
# and the assignments "NAME = EXPR;".
code_flat "$tmp/digest" >"$tmp/digest.flat"
grep -oE "h_[a-z]+ ?\( ?&h ?, ?('[^']' ?, ?)?[^;]*\) ?;" "$tmp/digest.flat" |
	sed -E -e "s/^h_[a-z]+ ?\( ?&h ?, ?('[^']' ?, ?)?//" -e 's/ ?\) ?;$//' -e 's/^(\([a-z_0-9 ]+\) ?)*&?//' >"$tmp/hashed"
grep -oE '[A-Za-z_][A-Za-z_0-9]* ?= ?[^;=]*;' "$tmp/digest.flat" >"$tmp/assigned" || true
[ -s "$tmp/hashed" ] || problem "no hashing call h_*(&h, 'C', ...) found in jobspec_compute_digest"
hashes() { # FIELD
	awk -v f="$1" -v assigned="$tmp/assigned" '
		function idc(c) { return c ~ /[A-Za-z_0-9]/ }
		# a is f, or a part of f: f followed by [, . or ->
		function covers(a, f,   n, c) {
			n = length(f)
			if (substr(a, 1, n) != f) return 0
			c = substr(a, n + 1, 1)
			return c == "" || c == "[" || c == "." || (c == "-" && substr(a, n + 2, 1) == ">")
		}
		# f appears in e as a whole expression name
		function mentions(e, f,   i, rest, off) {
			rest = e; off = 0
			while ((i = index(rest, f)) > 0) {
				if (!idc(substr(e, off + i - 1, 1)) && !idc(substr(rest, i + length(f), 1)))
					return 1
				off += i; rest = substr(rest, i + 1)
			}
			return 0
		}
		BEGIN {
			while ((getline l < assigned) > 0) {
				v = l; sub(/ ?=.*/, "", v); e = l; sub(/^[^=]*= ?/, "", e)
				set[v] = set[v] " " e
			}
		}
		{
			if (covers($0, f)) found = 1
			v = $0; sub(/[^A-Za-z_0-9].*/, "", v)
			if (v != "" && (v in set) && mentions(set[v], f)) found = 1
		}
		END { exit !found }' "$tmp/hashed"
}

n=0
tab=$(printf '\t')
while IFS=$tab read -r scope key digest shown sent dict readme note; do
	case $scope in '' | '#'*) continue ;; esac
	n=$((n + 1))
	where="$scope key '$key'"
	# read by the loader, not only accepted
	grep -qxF -- "$key" "$tmp/read" ||
		problem "$where: no lookup of cfg.c reads it"
	if [ "$digest" != - ]; then
		hashes "$digest" ||
			problem "$where: jobspec_compute_digest has no hashing call (h_*(&h, ...)) of $digest"
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
	limits) shown_as="contact_limits.$key" ;;
	cluster) shown_as="cluster.$key" ;;
	touch) shown_as="follow_up.$key" ;;
	*) shown_as=$key ;;
	esac
	case $readme in
	row) awk -F '|' -v k="\`$shown_as\`" '/^\| / && index($2, k) { found = 1 } END { exit !found }' \
		"$tmp/readme" || problem "$where: README.md's configuration reference has no row for \`$shown_as\`" ;;
	text) grep -qE "\`$key(\`| )" "$tmp/readme" ||
		problem "$where: README.md's configuration reference does not mention \`$key\`" ;;
	group) awk -F '|' -v k="\`$key." '/^\| / && index($2, k) { found = 1 } END { exit !found }' \
		"$tmp/readme" || problem "$where: README.md's configuration reference has no row for a key of \`$key\`" ;;
	*) problem "$where: readme must be row, text or group, not '$readme'" ;;
	esac
	: "$note"
done <"$list"

if [ "$fail" = 0 ]; then
	echo "ok: $n keys of docs/config-keys.tsv: accepted by cfg.c's $(wc -l <"$tmp/lists") key lists, the $(wc -l <"$tmp/read") names its lookups read, and every place they must appear"
fi
exit "$fail"
