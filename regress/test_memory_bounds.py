"""A peer must not make the server buffer without bound (issue #10, CVE-2025-26466's class):
PINGs streamed before the key exchange, or after login while a rekey the client started never
finishes, are ignored as OpenSSH ignores them, and the processes' memory stays flat."""

import os
import socket
import struct
import time

import pytest

from conftest import TEST_USER

PING = 192
MiB = 1024 * 1024


def descendants(pid):
    """Pids below `pid`, from /proc (children files list each thread's children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except FileNotFoundError:
            continue
        for t in tasks:
            try:
                kids = open(f"/proc/{p}/task/{t}/children").read().split()
            except FileNotFoundError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


def find_child(server, comm, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in descendants(server.proc.pid):
            try:
                if open(f"/proc/{p}/comm").read().strip() == comm:
                    return p
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"no {comm} process under the server")


def rss_kib(pid):
    """VmRSS of a live process in KiB, or None once it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def plain_packet(payload):
    """An unencrypted binary packet (RFC 4253 §6): block size 8, at least 4 bytes of padding."""
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)


def ping_payload(size):
    return bytes([PING]) + struct.pack(">I", size) + b"p" * size


def test_ping_flood_before_key_exchange_is_ignored(server):
    """The reproduction from the review: version line, then plaintext PINGs and no KEXINIT.
    Before the fix every PONG waited for the first NEWKEYS and sshd-net grew by what was sent."""
    s = socket.create_connection(("127.0.0.1", server.port))
    s.settimeout(10)
    assert s.recv(256).startswith(b"SSH-2.0-")
    s.sendall(b"SSH-2.0-pingflood\r\n")
    net = find_child(server, "sshd-net")
    base = rss_kib(net)
    assert base is not None
    chunk = plain_packet(ping_payload(32 * 1024)) * 32  # about 1 MiB of PINGs
    peak, sent = base, 0
    try:
        while sent < 256 * MiB:
            s.sendall(chunk)
            sent += len(chunk)
            if sent % (16 * MiB) < len(chunk):
                peak = max(peak, rss_kib(net) or 0)
    except (BrokenPipeError, ConnectionResetError):
        pass  # dropping the connection is an acceptable answer too
    time.sleep(0.2)
    peak = max(peak, rss_kib(net) or 0)
    s.close()
    # 256 MiB went in; what the child holds must not follow it.
    assert peak - base < 32 * 1024, f"sshd-net grew from {base} to {peak} KiB"
    assert "killed by signal" not in server.log_text()
    # Other clients are served as before.
    r = server.ssh("echo still-here")
    assert r.returncode == 0 and r.stdout.strip() == "still-here", r.stderr


def test_oversized_ping_after_login_is_not_a_crash(server, keydir):
    """A PING near the packet limit used to throw inside the transport and kill the child; now it
    is dropped (no PONG) and the session goes on."""
    paramiko = pytest.importorskip("paramiko")
    t = paramiko.Transport(("127.0.0.1", server.port))
    try:
        t.connect(username=TEST_USER, pkey=paramiko.Ed25519Key.from_private_key_file(
            str(keydir / "id_ed25519")))
        m = paramiko.Message()
        m.add_byte(bytes([PING]))
        m.add_string(b"x" * (250 * 1024))
        t._send_message(m)
        chan = t.open_session(timeout=10)
        chan.exec_command("echo alive")
        assert chan.makefile().read().strip() == b"alive"
        assert chan.recv_exit_status() == 0
    finally:
        t.close()
    assert "killed by signal" not in server.log_text()
    assert "internal error" not in server.log_text()


def test_ping_flood_during_stalled_rekey_is_ignored(server, keydir):
    """After login: the client sends KEXINIT, never finishes the exchange, and streams PINGs.
    Before the fix each PONG was held back until NEWKEYS, in sshd-user, without bound."""
    paramiko = pytest.importorskip("paramiko")
    from paramiko.common import MSG_KEXINIT
    t = paramiko.Transport(("127.0.0.1", server.port))
    try:
        t.connect(username=TEST_USER, pkey=paramiko.Ed25519Key.from_private_key_file(
            str(keydir / "id_ed25519")))
        user = find_child(server, "sshd-user")
        base = rss_kib(user)
        # Answer nothing to the server's KEXINIT: the exchange we start stays open.
        t._handler_table = dict(type(t)._handler_table)
        t._handler_table[MSG_KEXINIT] = lambda self, m: None
        t._send_kex_init()
        peak, sent = base, 0
        m = paramiko.Message()
        m.add_byte(bytes([PING]))
        m.add_string(b"q" * (32 * 1024))
        ping = m.asbytes()
        try:
            while sent < 128 * MiB and t.is_active():
                t.packetizer.send_message(paramiko.Message(ping))
                sent += len(ping)
                if sent % (8 * MiB) < len(ping):
                    peak = max(peak, rss_kib(user) or 0)
        except (EOFError, OSError, paramiko.SSHException):
            pass  # dropping the connection is an acceptable answer too
        time.sleep(0.2)
        peak = max(peak, rss_kib(user) or 0)
    finally:
        t.close()
    assert peak - base < 32 * 1024, f"sshd-user grew from {base} to {peak} KiB"
    assert "killed by signal" not in server.log_text()
