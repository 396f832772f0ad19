#!/bin/sh
# The layer rule, checked on what was built: the pure core (src/core,
# sim/core) calls no I/O, no clock and no environment. Its objects may
# only reference the C library's memory, string, formatting and math
# functions and json-c; any other undefined symbol names the culprit.
# (Including a shell header from the core already fails to compile: each
# layer builds with its own include path.)
set -eu
b=${TOP_BUILDDIR:-.}
status=0
# Symbols of I/O, time, environment, processes and sockets. Writing into
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
