#!/bin/sh
# The layer rule, checked on the sources and on what was built: the pure
# core (src/core, sim/core) reaches no I/O, no clock, no environment.
#
# 1. Includes. A core file includes only core headers (its own folder's;
#    sim/core also src/core's), config.h, and the system headers of
#    core_headers below. The include path alone cannot hold this:
#    <curl/curl.h>, <event2/event.h> or <systemd/sd-journal.h> need no -I
#    flag, and in a build inside the source tree -I. is the tree's root.
#    What counts is what the preprocessor opens (cc -H), not how a line
#    reads: a directive after a comment, a digraph (%:include) or a
#    relative path ("../shell/store.h") is seen for what it is.
# 0. Membership. Every .c file of src/core is built into libcore.a and
#    nothing else is built from it (likewise sim/core and libsimcore.a):
#    a core file compiled into the shell's library would escape step 2.
#    The headers too: each compiled alone with its inline functions kept
#    (an inline function no core file calls leaves no symbol in the
#    library, yet the shell may call it).
# 4. Run state. Only src/core/run.c changes a run: no shell file assigns
#    to a field of a struct run (through s->run->... or a struct run
#    pointer it declares).
# 2. Symbols. Every symbol the core's objects leave undefined is either
#    defined by the core itself or named in core_symbols below: memory,
#    strings, numbers and the json-c calls the core makes today (json-c's
#    own file and fd functions are not among them). A name not on the list
#    fails, whatever it is; adding one is a decision about the core, made
#    here. "The core itself" is per library: libcore's own definitions for
#    libcore, libsimcore's and libcore's for libsimcore (src/core never
#    calls sim/core).
# 3. Exports. What the core defines for others is code (nm's T) or
#    read-only data (R), nothing else. A weak definition (W, V) can be
#    replaced by a strong one in the shell at link time, and writable
#    exported data (D, B, C, and the small-data G, S) can be set by the
#    shell to a function pointer or a flag: either way the core would hand
#    calls or decisions to the shell without naming them. No exception is
#    needed today (civil's name tables are arrays of characters, so R).
set -eu
b=${TOP_BUILDDIR:-.}
s=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
status=0

core_headers='
ctype.h errno.h inttypes.h limits.h math.h stdarg.h stdbool.h stddef.h stdint.h
stdio.h stdlib.h string.h strings.h sys/types.h
json-c/json.h
'

# As the code names them. A fortified build (-D_FORTIFY_SOURCE, as in dpkg's
# hardening=+all) calls __snprintf_chk for snprintf and so on: such names
# are read as their plain name before the check (so __fprintf_chk is
# fprintf, which is not allowed).
core_symbols='
abort calloc free malloc realloc qsort
memchr memcmp memcpy memmem memmove memset strcat
strcasecmp strchr strcmp strcspn strlen strncasecmp strncmp strpbrk strrchr strspn strstr strtok_r
snprintf vsnprintf vasprintf
strtod strtol strtoll strtoul strtoull ceil floor fmax llround pow
__ctype_b_loc __ctype_tolower_loc __errno_location
json_object_array_add json_object_array_get_idx json_object_array_length json_object_get
json_object_get_boolean json_object_get_double json_object_get_int json_object_get_int64
json_object_get_object json_object_get_string json_object_get_string_len json_object_get_type
json_object_get_uint64 json_object_is_type json_object_new_array json_object_new_array_ext
json_object_new_boolean json_object_new_double_s json_object_new_int json_object_new_int64 json_object_new_string_len json_object_new_uint64
json_object_new_object json_object_new_string json_object_object_add json_object_object_add_ex
json_object_deep_copy json_object_object_get json_object_object_get_ex json_object_object_length json_object_put json_object_to_json_string_ext
json_object_to_json_string_length json_tokener_error_desc json_tokener_free json_tokener_get_error
json_tokener_get_parse_end json_tokener_new_ex json_tokener_parse json_tokener_parse_ex
json_tokener_set_flags
'
# What the compiler itself adds: the stack protector (-fstack-protector,
# dpkg's hardening) and the sanitizers' and libFuzzer's instrumentation.
compiler_symbols='^(__stack_chk_fail|__(asan|ubsan|sanitizer|sancov)_.*|__odr_asan[._].*|__(start|stop)___sancov_.*)$'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Includes: for each core file, what the preprocessor opens (cc -H,
# one line per header, dots for the depth). A header opened by the core
# file itself or by a core header must be allowed; what a system header
# opens in turn is the system's business.
CC=${CC:-cc}
# -I flags for the folders given (a layer and those it may use).
include_flags() {
	for d in "$@"; do
		printf ' -I%s/%s' "$s" "$d"
	done
}
check_includes() { # folder, then the folders whose headers it may include
	dir=$1
	incs=$(include_flags "$@")
	n=0
	: >"$tmp/bad"
	for f in "$s/$dir"/*.c "$s/$dir"/*.h; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		# shellcheck disable=SC2086 # one flag per word
		if ! $CC -std=gnu11 -x c -fsyntax-only -H -I"$b" $incs "$f" 2>"$tmp/h" >/dev/null; then
			echo "    $dir/${f##*/}: does not compile alone with the core's include path:" >>"$tmp/bad"
			grep -v '^\.' "$tmp/h" | head -5 | sed 's/^/        /' >>"$tmp/bad"
			continue
		fi
		grep '^\.\+ ' "$tmp/h" | awk -v std="$core_headers" -v top="$s" -v build="$b" -v name="$dir/${f##*/}" \
			-v dirs="$*" '
			function real(p,   cmd, r) { cmd = "realpath -m \"" p "\""; cmd | getline r; close(cmd); return r }
			function core_path(p,   i) {
				for (i = 1; i <= nd; i++) if (index(p, top "/" d[i] "/") == 1 && p !~ /\.c$/) return 1
				return 0
			}
			function allowed(p,   i) {
				if (core_path(p)) return 1
				if (p == real(build "/config.h")) return 1
				for (h in sys) if (length(p) > length(h) && substr(p, length(p) - length(h)) == "/" h &&
				    p ~ /^\/usr\/(include|lib\/gcc|lib\/llvm)/) return 1
				return 0
			}
			BEGIN {
				k = split(std, a, /[ \n]+/); for (i = 1; i <= k; i++) if (a[i] != "") sys[a[i]] = 1
				nd = split(dirs, d, / /); top = real(top); build = real(build)
				stack[0] = 1   # the file itself is core
			}
			{
				depth = length($1); p = real($2)
				mine = stack[depth - 1]
				stack[depth] = core_path(p)
				if (mine && !allowed(p)) printf "    %s: opens %s\n", name, p
			}' >>"$tmp/bad"
	done
	if [ "$n" -eq 0 ]; then
		echo "FAIL: no source files in $s/$dir"
		status=1
	elif [ -s "$tmp/bad" ]; then
		echo "FAIL: $dir includes what the core may not (a shell, program or third-party header):"
		cat "$tmp/bad"
		status=1
	else
		echo "ok: $dir: $n files open only core and allowed system headers (cc -H)"
	fi
}

# 0. Membership: the folder's .c files are exactly the library's members,
# and the build folder holds no object of them made for another target.
check_members() { # folder, library, automake's object prefix
	dir=$1 lib=$2 prefix=$3
	for f in "$s/$dir"/*.c; do
		[ -e "$f" ] && f=${f##*/} && echo "${prefix}-${f%.c}.o"
	done | sort >"$tmp/want"
	ar t "$lib" | sort >"$tmp/have" || { echo "FAIL: ar t $lib failed"; status=1; return; }
	others=$(find "$b/$dir" -maxdepth 1 -name '*.o' ! -name "${prefix}-*.o" 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')
	if ! cmp -s "$tmp/want" "$tmp/have" || [ -n "$others" ]; then
		echo "FAIL: $dir and $lib differ (every core .c file in the core library, none built elsewhere):"
		comm -23 "$tmp/want" "$tmp/have" | sed 's/^/    not in the library: /'
		comm -13 "$tmp/want" "$tmp/have" | sed 's/^/    in the library, not in the folder: /'
		[ -z "$others" ] || echo "    built from $dir for another target: $others"
		status=1
	else
		echo "ok: $dir: $(wc -l <"$tmp/want") files, all in $(basename "$lib") and nowhere else"
	fi
}

check_includes src/core src/core
check_includes sim/core sim/core src/core

# 2. Symbols, 3. exports.
corelib=$b/src/core/libcore.a
simlib=$b/sim/core/libsimcore.a
for lib in "$corelib" "$simlib"; do
	[ -f "$lib" ] || { echo "FAIL: $lib not built" >&2; exit 1; }
done
# shellcheck disable=SC2086 # one name per word
printf '%s\n' $core_symbols | sort -u >"$tmp/allowed"
# The names a library defines for others, one per line.
defined_in() { # library...
	for l in "$@"; do
		nm -g --defined-only "$l" || { echo "FAIL: nm --defined-only $l failed" >&2; exit 1; }
	done >"$tmp/def.nm"
	awk 'NF == 3 { print $3 }' "$tmp/def.nm" | sed 's/@.*//' | sort -u
}
check_symbols() { # library, then the libraries whose definitions it may use
	lib=$1
	defined_in "$@" >"$tmp/defined"
	[ -s "$tmp/defined" ] || { echo "FAIL: nm found no symbol defined in $*" >&2; exit 1; }
	nm -A -u "$lib" >"$tmp/undef.nm" || { echo "FAIL: nm -u $lib failed" >&2; exit 1; }
	# object, then the name as the code spells it
	awk '$(NF-1) ~ /^[Uw]$/ { obj = $1; sub(/:$/, "", obj); sub(/.*\//, "", obj); print obj, $NF }' "$tmp/undef.nm" |
		sed -e 's/@.*//' -e 's/ __\(.*\)_chk$/ \1/' | sort -u >"$tmp/undef"
	[ -s "$tmp/undef" ] || [ -n "${headers_only:-}" ] || { echo "FAIL: nm found no undefined symbol in $lib" >&2; exit 1; }
	awk '{ print $2 }' "$tmp/undef" | sort -u | comm -23 - "$tmp/defined" | comm -23 - "$tmp/allowed" |
		grep -Ev "$compiler_symbols" >"$tmp/extra" || true
	if [ -s "$tmp/extra" ]; then
		echo "FAIL: $lib references what the core may not (I/O, the clock, the environment, code of a layer it may not use, or a call not yet allowed in tests/layers.sh):"
		while read -r sym; do
			awk -v s="$sym" '$2 == s { print "    " $1 ": " s }' "$tmp/undef"
		done <"$tmp/extra"
		status=1
	else
		echo "ok: $lib: $(awk '{ print $2 }' "$tmp/undef" | sort -u | comm -23 - "$tmp/defined" | wc -l) outside symbols, all allowed"
	fi
}
check_exports() { # library
	lib=$1
	nm -A -g --defined-only "$lib" >"$tmp/exp.nm" || { echo "FAIL: nm --defined-only $lib failed" >&2; exit 1; }
	# object: type name, for each definition that is not code or read-only data
	awk 'NF >= 3 && $(NF-1) !~ /^[TR]$/ { obj = $1; sub(/:[0-9a-fA-F]*$/, "", obj); sub(/:$/, "", obj);
		sub(/.*\//, "", obj); print obj ": " $(NF-1) " " $NF }' "$tmp/exp.nm" |
		awk -v re="$compiler_symbols" '{ n = $3; sub(/@.*/, "", n) } n !~ re' >"$tmp/exports"
	if [ -s "$tmp/exports" ]; then
		echo "FAIL: $lib defines for others what is not code or read-only data (W/V: weak, replaceable by a shell definition; D/B/C/G/S: writable data a shell can set):"
		sed 's/^/    /' "$tmp/exports"
		status=1
	else
		echo "ok: $lib: $(awk 'NF >= 3' "$tmp/exp.nm" | wc -l) exported definitions, all code or read-only data"
	fi
}
check_members src/core "$corelib" libcore_a
check_members sim/core "$simlib" libsimcore_a
check_symbols "$corelib"
check_symbols "$simlib" "$corelib"
# The core's headers: an inline function leaves no symbol in the library
# unless a core file uses it; each header compiled on its own with every
# inline function kept is checked like the library.
headers_archive() { # folder, then the folders whose headers it may include
	dir=$1 out=$tmp/hdr-$(echo "$1" | tr / -).a
	incs=$(include_flags "$@")
	mkdir -p "$tmp/hdr"
	for h in "$s/$dir"/*.h; do
		o=$tmp/hdr/$(echo "$dir" | tr / -)-$(basename "$h" .h).o
		# shellcheck disable=SC2086 # one flag per word
		$CC -std=gnu11 -x c -c -O0 -fkeep-inline-functions -I"$b" $incs "$h" -o "$o" ||
			{ echo "FAIL: $h does not compile alone" >&2; exit 1; }
	done
	rm -f "$out"
	ar rc "$out" "$tmp/hdr/$(echo "$dir" | tr / -)"-*.o
	hdr_out=$out
}
headers_only=1
headers_archive src/core src/core
check_symbols "$hdr_out" "$corelib"
headers_archive sim/core sim/core src/core
check_symbols "$hdr_out" "$simlib" "$corelib"
headers_only=
check_exports "$corelib"
check_exports "$simlib"

# 4. Run state: an assignment, compound assignment or ++/-- to a field of a
# struct run anywhere in the shell (src/shell, src/bin).
for f in "$s"/src/shell/*.c "$s"/src/bin/*.c; do
	awk -v name="${f#"$s"/}" '
		/^}/ { split("", ptr) }   # a function ends: its pointers go
		{ line = $0; sub(/\/\/.*/, "", line) }
		{
			t = line
			while (match(t, /struct run \*+[A-Za-z_][A-Za-z_0-9]*/)) {
				v = substr(t, RSTART, RLENGTH); sub(/struct run \*+/, "", v); ptr[v] = 1
				t = substr(t, RSTART + RLENGTH)
			}
		}
		{
			t = line
			while (match(t, /[A-Za-z_][A-Za-z_0-9]*(->run)?->[a-z_]+[ \t]*([-+*\/|&]?=[^=]|\+\+|--)/)) {
				m = substr(t, RSTART, RLENGTH); base = m; sub(/->.*/, "", base)
				if (m ~ /->run->/ || (base in ptr))
					printf "    %s:%d: %s\n", name, FNR, m
				t = substr(t, RSTART + RLENGTH)
			}
			t = line
			while (match(t, /(\+\+|--)[A-Za-z_][A-Za-z_0-9]*(->run)?->[a-z_]+/)) {
				m = substr(t, RSTART, RLENGTH); base = m; sub(/^(\+\+|--)/, "", base); sub(/->.*/, "", base)
				if (m ~ /->run->/ || (base in ptr))
					printf "    %s:%d: %s\n", name, FNR, m
				t = substr(t, RSTART + RLENGTH)
			}
		}' "$f"
done >"$tmp/runwrites"
if [ -s "$tmp/runwrites" ]; then
	echo "FAIL: the shell changes a run's fields itself (only src/core/run.c may: add a run_* function there):"
	cat "$tmp/runwrites"
	status=1
else
	echo "ok: no shell file assigns to a field of a struct run"
fi
exit $status
