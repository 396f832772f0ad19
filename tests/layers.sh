#!/bin/sh
# The layer rule, checked on the sources and on what was built: the pure
# core (src/core, sim/core) reaches no I/O, no clock, no environment.
#
# 1. Includes. A core file includes only core headers (its own folder's;
#    sim/core also src/core's), config.h, and the system headers of
#    core_headers below. The include path alone cannot hold this:
#    <curl/curl.h>, <event2/event.h> or <systemd/sd-journal.h> need no -I
#    flag, and in a build inside the source tree -I. is the tree's root.
# 2. Symbols. The core's objects may only reference the C library's
#    memory, string, formatting and math functions and json-c; any other
#    undefined symbol names the culprit.
set -eu
b=${TOP_BUILDDIR:-.}
s=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
status=0

core_headers='
ctype.h errno.h inttypes.h limits.h math.h stdarg.h stdbool.h stddef.h stdint.h
stdio.h stdlib.h string.h strings.h sys/types.h
json-c/json.h
'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. Includes: FILE:LINE: the directive, for each one not allowed.
check_includes() { # folder, then the folders whose headers it may include
	dir=$1
	for d in "$@"; do
		for h in "$s/$d"/*.h; do
			[ -e "$h" ] && basename "$h"
		done
	done >"$tmp/local"
	n=0
	for f in "$s/$dir"/*.c "$s/$dir"/*.h; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		awk -v std="$core_headers" -v localf="$tmp/local" -v name="$dir/${f##*/}" '
			BEGIN {
				k = split(std, a, /[ \n]+/); for (i = 1; i <= k; i++) if (a[i] != "") sys[a[i]] = 1
				while ((getline h < localf) > 0) own[h] = 1
				own["config.h"] = 1
			}
			/^[ \t]*#[ \t]*include/ {
				line = $0; sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
				if (line ~ /^</) { t = line; sub(/^</, "", t); sub(/>.*/, "", t); ok = (t in sys) }
				else if (line ~ /^"/) { t = line; sub(/^"/, "", t); sub(/".*/, "", t); ok = (t in own) }
				else ok = 0
				if (!ok) printf "    %s:%d: %s\n", name, FNR, $0
			}' "$f"
	done >"$tmp/bad"
	if [ "$n" -eq 0 ]; then
		echo "FAIL: no source files in $s/$dir"
		status=1
	elif [ -s "$tmp/bad" ]; then
		echo "FAIL: $dir includes what the core may not (a shell, program or third-party header):"
		cat "$tmp/bad"
		status=1
	else
		echo "ok: $dir: $n files include only core and allowed system headers"
	fi
}
check_includes src/core src/core
check_includes sim/core sim/core src/core

# 2. Symbols of I/O, time, environment, processes and sockets. Writing into
# memory streams (open_memstream, fprintf and friends on them) is allowed:
# no FILE can reach the core any other way, since fopen, fdopen and the
# standard streams are refused.
forbidden='^(open|openat|open64|creat|read|write|pread|pwrite|close|fopen|fopen64|fdopen|freopen|fread|fgets|printf|puts|putchar|perror|getline|stdin|stdout|stderr|tmpfile|opendir|fdopendir|readdir|readdir64|scandir|stat|stat64|fstat|fstat64|lstat|access|unlink|rename|renameat|mkdir|rmdir|fsync|fdatasync|syncfs|getenv|secure_getenv|setenv|unsetenv|time|clock_gettime|gettimeofday|localtime|localtime_r|gmtime|mktime|timegm|tzset|sleep|usleep|nanosleep|getrandom|random|rand|srand|socket|connect|bind|listen|accept|accept4|send|recv|sendto|recvfrom|select|poll|epoll_wait|fork|execve|execvp|system|popen|kill|signal|sigaction|syslog|abort_at_exit|__xstat|__fxstat|__lxstat|getpid|getuid|dlopen)$'
for lib in "$b/src/core/libcore.a" "$b/sim/core/libsimcore.a"; do
	[ -f "$lib" ] || { echo "layers.sh: $lib not built" >&2; exit 1; }
	bad=$(nm -u "$lib" 2>/dev/null | awk 'NF >= 2 { print $2 } NF == 1 && $1 !~ /:$/ { print $1 }' |
		sed 's/@.*//' | grep -E "$forbidden" | sort -u || true)
	if [ -n "$bad" ]; then
		echo "FAIL: $lib calls I/O, the clock or the environment:"
		for sym in $bad; do
			nm -A -u "$lib" | grep -E "[[:space:]]U[[:space:]]+$sym(@|$)" | sed 's/^/    /'
		done
		status=1
	else
		echo "ok: $lib: no I/O, clock or environment"
	fi
done
exit $status
