"""Floods (issue 16): under contrib/sshd_config.hardened, 400 silent connections and a slow-loris
from one source (127.0.0.1) must not keep a real client from another source (127.0.0.2) out, and
the memory a pre-authentication connection costs the server is bounded and measured.

Bounded in count (400 sockets, 40 measured connections) and in time (the flood is held about 15
seconds, then every socket is closed by the test)."""

import os
import socket
import threading
import time

from conftest import TOP
from test_memory_bounds import descendants

HARDENED = TOP / "contrib" / "sshd_config.hardened"
FLOOD = 400


def pss_kib(pids):
    """Proportional set size of the given processes in KiB (shared pages split between them)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def server_tree(srv):
    return [srv.proc.pid] + descendants(srv.proc.pid)


def comm_count(pids, name):
    n = 0
    for p in pids:
        try:
            n += open(f"/proc/{p}/comm").read().strip() == name
        except (FileNotFoundError, ProcessLookupError):
            pass
    return n


def silent_connection(port, source="127.0.0.1"):
    """A connection that never says anything; None when the listener's backlog refused it."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


class SlowLoris(threading.Thread):
    """Sends a version line one byte a second, as long as the server keeps the connection."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = silent_connection(port)
        self.stop = threading.Event()
        self.sent = 0

    def run(self):
        line = b"SSH-2.0-slowloris_" + b"x" * 200 + b"\r\n"
        try:
            for byte in line:
                if self.stop.wait(1.0):
                    return
                self.sock.send(bytes([byte]))
                self.sent += 1
        except OSError:
            pass  # the server dropped it: the answer we want sooner or later


def test_silent_flood_and_slow_loris_do_not_keep_another_source_out(make_server, user):
    srv = make_server(f"Include {HARDENED}\n")
    time.sleep(0.5)  # the fixture's start-up probe connection ends
    loris = SlowLoris(srv.port)
    loris.start()
    socks, peak_sessions = [], 0
    try:
        for _ in range(FLOOD):
            s = silent_connection(srv.port)
            if s:
                socks.append(s)
        # Logins from the other source while the flood is held; the flood keeps its sockets
        # open for the whole loop, and the slow-loris keeps writing.
        deadline = time.time() + 15
        logins = 0
        while time.time() < deadline or logins < 3:
            peak_sessions = max(peak_sessions, comm_count(server_tree(srv), "sshd-session"))
            r = srv.ssh("echo from-127.0.0.2", options=("BindAddress=127.0.0.2",
                                                        "ConnectTimeout=10"), timeout=30)
            assert r.returncode == 0 and r.stdout.strip() == "from-127.0.0.2", r.stderr
            logins += 1
            time.sleep(1)
        assert loris.sent >= 10, "the slow-loris never got to write"
        # The flood was refused per source, not absorbed: at most PerSourceMaxStartups (3)
        # connections of 127.0.0.1 plus our own login hold a session process at any time.
        assert peak_sessions <= 3 + 1 + 1, peak_sessions
        assert srv.wait_log("past PerSourceMaxStartups")
        assert srv.proc.poll() is None
    finally:
        loris.stop.set()
        for s in socks:
            s.close()
        if loris.sock:
            loris.sock.close()
        loris.join(timeout=5)
    # Once the flood is gone, 127.0.0.2 still logs in, and nothing was left running for it.
    r = srv.ssh("echo after", options=("BindAddress=127.0.0.2",))
    assert r.returncode == 0 and r.stdout.strip() == "after", r.stderr


def test_preauth_memory_per_connection_is_bounded(make_server):
    """40 connections that sent their version line and wait: what each one costs the server,
    as PSS of the whole process tree, is reported and bounded."""
    n = 40
    srv = make_server(f"MaxStartups {n + 10}\nLoginGraceTime 60\n")
    time.sleep(0.5)
    base = pss_kib(server_tree(srv))
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            assert s.recv(256).startswith(b"SSH-2.0-")
            s.sendall(b"SSH-2.0-memprobe\r\n")
            socks.append(s)
        # Every connection has its monitor and its jailed pre-auth child before we measure.
        deadline = time.time() + 20
        while comm_count(server_tree(srv), "sshd-net") < n and time.time() < deadline:
            time.sleep(0.2)
        tree = server_tree(srv)
        assert comm_count(tree, "sshd-net") == n
        time.sleep(0.5)
        held = pss_kib(server_tree(srv))
    finally:
        for s in socks:
            s.close()
    per_conn = (held - base) / n
    print(f"\npre-auth PSS per connection: {per_conn:.0f} KiB ({n} connections, "
          f"{base} KiB idle, {held} KiB held)")
    # Two small processes (monitor + sshd-net) per connection; an unbounded buffer or a leak
    # per connection would show as many MiB here.
    assert 0 < per_conn < 4096, per_conn
    with open(os.environ.get("POSTERN_FLOOD_REPORT", os.devnull), "a") as f:
        f.write(f"preauth_pss_kib_per_connection {per_conn:.0f}\n")
