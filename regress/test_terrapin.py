"""Terrapin (CVE-2023-48795): with strict key exchange (OpenSSH PROTOCOL §1.10,
kex-strict-c/s-v00@openssh.com) a man in the middle cannot shift the sequence numbers by
slipping a message into the unencrypted initial key exchange, so cannot make either side drop
one. A hand-rolled client (packets before NEWKEYS are plain, RFC 4253 §6) does what the attacker
would: it sends an SSH_MSG_IGNORE inside the first kex. postern must end the connection when
the client offered strict kex, and carry on when it did not (the same bytes, one name fewer), so
the test sees the difference. Clients without strict kex (Debian 12's paramiko) still log in, and
the real ssh client sees postern restart its sequence numbers at NEWKEYS."""

import os
import socket
import struct
import time

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from conftest import TEST_USER

MSG_IGNORE, MSG_KEXINIT, MSG_NEWKEYS, MSG_KEX_ECDH_INIT, MSG_KEX_ECDH_REPLY = 2, 20, 21, 30, 31
STRICT_C = "kex-strict-c-v00@openssh.com"


def ssh_string(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def packet(payload):
    # RFC 4253 §6: length, padding length, payload, at least 4 bytes of padding, to a multiple of 8.
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + os.urandom(pad)


def kexinit(strict):
    kex = "curve25519-sha256" + ("," + STRICT_C if strict else "")
    lists = [kex, "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256",
             "none", "none", "", ""]
    return (bytes([MSG_KEXINIT]) + os.urandom(16) + b"".join(ssh_string(n) for n in lists)
            + b"\0" + struct.pack(">I", 0))


class PlainClient:
    """The client side of a key exchange, up to its NEWKEYS, by hand."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.sock.sendall(b"SSH-2.0-terrapin_test\r\n")
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        self.version, self.buf = self.buf.split(b"\r\n", 1)

    def send(self, payload):
        self.sock.sendall(packet(payload))

    def read_plain(self):
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            data = self.sock.recv(4096)
            assert data, "connection closed"
            self.buf += data
        n = struct.unpack(">I", self.buf[:4])[0]
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return body[1:len(body) - body[0]]

    def closed_within(self, seconds):
        """True when the server ends the connection within `seconds` (what it sends first, a
        DISCONNECT perhaps encrypted, is read and dropped)."""
        self.sock.settimeout(seconds)
        deadline = time.time() + seconds
        try:
            while time.time() < deadline:
                if not self.sock.recv(4096):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True
        return False


def inject_ignore(port, strict, where):
    """Runs a curve25519 key exchange with an SSH_MSG_IGNORE inserted at `where`; returns the
    client with the exchange sent up to and including its NEWKEYS."""
    c = PlainClient(port)
    ignore = bytes([MSG_IGNORE]) + ssh_string(b"shift the sequence numbers")
    if where == "before KEXINIT":
        c.send(ignore)
    c.send(kexinit(strict))
    assert c.read_plain()[0] == MSG_KEXINIT
    if where == "after KEXINIT":
        c.send(ignore)
    eph = X25519PrivateKey.generate()
    c.send(bytes([MSG_KEX_ECDH_INIT])
           + ssh_string(eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))
    if where in ("after KEXINIT", "before KEXINIT") and strict:
        return c  # the server may already have gone: nothing more to read
    assert c.read_plain()[0] == MSG_KEX_ECDH_REPLY
    assert c.read_plain()[0] == MSG_NEWKEYS
    if where == "before NEWKEYS":
        c.send(ignore)
    c.send(bytes([MSG_NEWKEYS]))
    return c


@pytest.mark.parametrize("where", ["before KEXINIT", "after KEXINIT", "before NEWKEYS"])
def test_strict_kex_ends_the_connection_on_an_injected_message(make_server, where):
    s = make_server()
    c = inject_ignore(s.port, strict=True, where=where)
    assert c.closed_within(5), s.log_text()
    assert s.wait_log("strict KEX violation"), s.log_text()


@pytest.mark.parametrize("where", ["before KEXINIT", "after KEXINIT", "before NEWKEYS"])
def test_without_strict_kex_the_same_bytes_are_taken(make_server, where):
    # The control: RFC 4253 §11.2 lets IGNORE come anywhere, and a client that did not offer
    # strict kex keeps the old rules, so the connection lives on.
    s = make_server()
    c = inject_ignore(s.port, strict=False, where=where)
    assert not c.closed_within(1.5), s.log_text()
    assert "strict KEX violation" not in s.log_text()
    c.sock.close()


def test_paramiko_without_strict_kex_logs_in(make_server, user, keydir):
    assert STRICT_C not in paramiko.Transport._preferred_kex  # Debian 12's 2.12 predates it
    s = make_server()
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=s.port, username=TEST_USER,
                   key_filename=str(keydir / "id_ed25519"), allow_agent=False, look_for_keys=False,
                   timeout=10)
    try:
        _, out, _ = client.exec_command("echo paramiko-ok")
        assert out.read() == b"paramiko-ok\n"
    finally:
        client.close()


def test_openssh_sees_the_sequence_numbers_restart(server):
    # With strict kex both sides restart their sequence numbers at NEWKEYS; had postern not
    # reset its own, the client's MAC check of the next packet would fail.
    r = server.ssh("echo strict-ok", extra=("-vvv",))
    assert r.returncode == 0 and r.stdout == "strict-ok\n", r.stderr
    assert "resetting send seqnr" in r.stderr and "resetting read seqnr" in r.stderr, r.stderr
