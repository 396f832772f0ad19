#!/usr/bin/env python3
"""notify-listen.py: a NOTIFY_SOCKET for tests, standing in for systemd.

    notify-listen.py --socket PATH --out FILE [-- CMD [ARG...]]

Binds a unix datagram socket at PATH and writes every notify message it
receives to FILE as one line, flushed at once so a test can wait on it:

    MONOTONIC_USEC<TAB>SENDER_PID<TAB>ASSIGNMENT<TAB>ASSIGNMENT...

MONOTONIC_USEC is when the kernel queued the message (SO_TIMESTAMPNS, moved
to CLOCK_MONOTONIC), not when this script got round to reading it, so a
busy machine cannot make two pings look close together.

(the assignments of one message, e.g. "RELOADING=1<TAB>MONOTONIC_USEC=..."
for one sd_notify call). With CMD, runs it with NOTIFY_SOCKET=PATH, keeps
listening until it exits, reads what is still queued, and exits with its
status; without CMD, listens until SIGTERM or SIGINT. The socket exists
before CMD starts, so nothing is lost to a race. Python 3 stdlib only.
"""
import argparse
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

# Not exported by the socket module; the asm-generic value (x86, arm, arm64).
SO_TIMESTAMPNS = 35


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd

    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(args.socket)
    # A daemon under test may run as another user, as under DynamicUser=.
    os.chmod(args.socket, 0o777)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        pass  # then the time of reading is used

    out = open(args.out, "a", encoding="utf-8", errors="backslashreplace")
    creds_size = socket.CMSG_SPACE(struct.calcsize("3i")) + socket.CMSG_SPACE(struct.calcsize("ll"))

    def mono_minus_real():
        """CLOCK_MONOTONIC - CLOCK_REALTIME now, in ns: the monotonic read
        between two realtime reads, of the closest of a few tries, so that
        a preemption between two reads (a loaded machine) does not move a
        stamp by the time it lasted."""
        best = None
        for _ in range(5):
            r1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
            m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            r2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
            if best is None or r2 - r1 < best[0]:
                best = (r2 - r1, m - (r1 + r2) // 2)
            if best[0] < 20000:
                break
        return best[1]

    def receive():
        data, anc, _flags, _addr = sock.recvmsg(65536, creds_size)
        pid = 0
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:struct.calcsize("3i")])[0]
            elif level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("ll", payload[:struct.calcsize("ll")])
                now = min(now, (sec * 10**9 + nsec + mono_minus_real()) // 1000)
        text = data.decode("utf-8", errors="backslashreplace")
        fields = [f for f in text.split("\n") if f]
        out.write("\t".join([str(now), str(pid)] + fields) + "\n")
        out.flush()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    child = None
    if cmd:
        env = dict(os.environ, NOTIFY_SOCKET=args.socket)
        child = subprocess.Popen(cmd, env=env)
    status = 0
    while not stop:
        if child is not None and child.poll() is not None:
            status = child.returncode
            break
        ready, _, _ = select.select([sock], [], [], 0.05)
        if ready:
            receive()
    # Whatever was sent before the sender exited is queued: read it all.
    sock.setblocking(False)
    while True:
        try:
            receive()
        except BlockingIOError:
            break
    out.close()
    sock.close()
    os.unlink(args.socket)
    if child is not None and child.returncode is None:
        child.terminate()
        child.wait()
    if status < 0:  # killed by a signal: report it like a shell would
        status = 128 - status
    return status


if __name__ == "__main__":
    sys.exit(main())
