"""A delay line between two network namespaces, for scripts/bench_netem.py on kernels without
sch_netem: one tun device in each namespace, and every packet read from one is written to the
other DELAY ms later (both ways, so the round trip is twice DELAY). No loss, no reordering, no
bandwidth limit but this loop's own (tens of thousands of packets per second; the devices get a
64 KiB MTU, so that is well over a GB/s).

  python3 bench_delay_line.py NS_A DEV_A NS_B DEV_B DELAY_MS

Prints "ready" once both devices exist (they vanish when it exits); runs until killed."""

import collections
import ctypes
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
MAX_PACKET = 65536


def open_tun_in(ns, name):
    """A tun device named `name` made in network namespace `ns` (our own namespace is left
    where it was)."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
        os.set_blocking(fd, False)
        return fd
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(target)
        os.close(home)


def run(fd_a, fd_b, delay):
    # One queue per direction of (due time, packet); a packet is released once due.
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}
    peer = {fd_a: fd_b, fd_b: fd_a}
    poller = select.poll()
    for fd in (fd_a, fd_b):
        poller.register(fd, select.POLLIN)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) * 1000 if due else None
        for fd, _ in poller.poll(timeout):
            stamp = time.monotonic() + delay
            for _ in range(64):  # a burst per wakeup, so one direction cannot starve the other
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                queues[fd].append((stamp, packet))
        now = time.monotonic()
        for fd, q in queues.items():
            while q and q[0][0] <= now:
                try:
                    os.write(peer[fd], q.popleft()[1])
                except OSError:
                    pass  # a full device queue drops it, as a link would


def main():
    ns_a, dev_a, ns_b, dev_b, delay_ms = sys.argv[1:6]
    fd_a, fd_b = open_tun_in(ns_a, dev_a), open_tun_in(ns_b, dev_b)
    print("ready", flush=True)
    run(fd_a, fd_b, float(delay_ms) / 1000)


if __name__ == "__main__":
    main()
