#!/usr/bin/python3
"""sntrup761x25519-sha512@openssh.com against the real OpenSSH, before the server exists.

Runs the key exchange (RFC 4253 §7-8 with RFC 5656 §4 framing, K as a string per RFC 9941) up to
NEWKEYS with postern's KexMethod (through the kex_sntrup761x25519_interop helper) in each role:

  server: `ssh` connects to a socket served here; our K enters H, which is signed with a fresh
          ed25519 host key. ssh only sends NEWKEYS after that signature verifies, so NEWKEYS
          proves both sides derived the same K. A deliberately wrong K must make ssh refuse.
  client: OpenSSH's sshd is started on a free port; its ed25519 signature over H, computed with
          our K, must verify.

Usage: kex_sntrup761x25519_interop.py HELPER. Exits 77 (skipped) without ssh, sshd or the Python
cryptography package.
"""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
except ImportError:
    sys.exit(77)

KEX = b"sntrup761x25519-sha512@openssh.com"
SSH_MSG_KEXINIT, SSH_MSG_NEWKEYS = 20, 21
SSH_MSG_KEX_ECDH_INIT, SSH_MSG_KEX_ECDH_REPLY = 30, 31
TIMEOUT = 30


def string(b):
    return struct.pack(">I", len(b)) + b


def get_string(buf, off):
    n = struct.unpack(">I", buf[off:off + 4])[0]
    if off + 4 + n > len(buf):
        raise ValueError("truncated string")
    return buf[off + 4:off + 4 + n], off + 4 + n


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """Plaintext SSH binary packets (RFC 4253 §6) over a socket."""

    def __init__(self, sock):
        sock.settimeout(TIMEOUT)
        self.sock = sock
        self.buf = b""

    def _fill(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("peer closed the connection")
            self.buf += data

    def version(self, ours):
        self.sock.sendall(ours + b"\r\n")
        while True:
            while b"\r\n" not in self.buf:
                self._fill(len(self.buf) + 1)
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line.startswith(b"SSH-"):
                return line

    def read(self):
        self._fill(4)
        length = struct.unpack(">I", self.buf[:4])[0]
        if length > 65536:
            raise ValueError("oversized packet")
        self._fill(4 + length)
        body, self.buf = self.buf[4:4 + length], self.buf[4 + length:]
        return body[1:length - body[0]]

    def write(self, payload):
        pad = 8 - (5 + len(payload)) % 8
        if pad < 4:
            pad += 8
        self.sock.sendall(struct.pack(">IB", 1 + len(payload) + pad, pad) + payload +
                          os.urandom(pad))


def kexinit():
    lists = [KEX, b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr", b"hmac-sha2-256",
             b"hmac-sha2-256", b"none", b"none", b"", b""]
    return (bytes([SSH_MSG_KEXINIT]) + os.urandom(16) + b"".join(string(x) for x in lists) +
            b"\x00" + b"\x00\x00\x00\x00")


def exchange_hash(v_c, v_s, i_c, i_s, k_s, q_c, q_s, k):
    # K arrives already encoded (string K), so it is appended as is.
    return hashlib.sha512(string(v_c) + string(v_s) + string(i_c) + string(i_s) + string(k_s) +
                          string(q_c) + string(q_s) + k).digest()


def server_role(helper, tamper):
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    k_s = string(b"ssh-ed25519") + string(raw)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        ssh = subprocess.Popen(
            ["ssh", "-F", "/dev/null", "-o", "KexAlgorithms=" + KEX.decode(), "-o",
             "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-p", str(port),
             "nobody@127.0.0.1", "true"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            conn, _ = listener.accept()
            with conn:
                peer = Peer(conn)
                v_s = b"SSH-2.0-postern_sntrup761_interop"
                v_c = peer.version(v_s)
                i_s = kexinit()
                peer.write(i_s)
                i_c = peer.read()
                init = peer.read()
                if i_c[0] != SSH_MSG_KEXINIT or init[0] != SSH_MSG_KEX_ECDH_INIT:
                    raise ValueError("unexpected messages %d, %d" % (i_c[0], init[0]))
                q_c, _ = get_string(init, 1)
                out = subprocess.run([helper, "server"], input=q_c.hex() + "\n",
                                     capture_output=True, text=True, check=True,
                                     timeout=TIMEOUT).stdout.split()
                q_s, k = bytes.fromhex(out[0]), bytes.fromhex(out[1])
                if tamper:
                    k = k[:-1] + bytes([k[-1] ^ 1])
                h = exchange_hash(v_c, v_s, i_c, i_s, k_s, q_c, q_s, k)
                sig = string(b"ssh-ed25519") + string(key.sign(h))
                peer.write(bytes([SSH_MSG_KEX_ECDH_REPLY]) + string(k_s) + string(q_s) +
                           string(sig))
                peer.write(bytes([SSH_MSG_NEWKEYS]))
                try:
                    answer = peer.read()[0]
                except (EOFError, ConnectionError):
                    answer = None
        finally:
            try:
                _, err = ssh.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                ssh.kill()
                _, err = ssh.communicate()
    lines = err.decode(errors="replace").strip().splitlines()
    return answer == SSH_MSG_NEWKEYS, lines[-1] if lines else ""


def client_role(helper, sshd):
    with tempfile.TemporaryDirectory(prefix="postern-sntrup-") as tmp:
        host_key = os.path.join(tmp, "host_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key],
                       check=True)
        port = free_port()
        config = os.path.join(tmp, "sshd_config")
        with open(config, "w") as f:
            f.write("HostKey %s\nListenAddress 127.0.0.1\nPort %d\nKexAlgorithms %s\n"
                    "PidFile %s/sshd.pid\nUsePAM no\n" % (host_key, port, KEX.decode(), tmp))
        server = subprocess.Popen([sshd, "-D", "-e", "-f", config], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while True:
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                    break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        return False, "sshd did not start: " + server.stderr.read().decode()
                    time.sleep(0.05)
            with sock:
                peer = Peer(sock)
                v_c = b"SSH-2.0-postern_sntrup761_interop"
                v_s = peer.version(v_c)
                i_c = kexinit()
                peer.write(i_c)
                i_s = peer.read()
                helper_proc = subprocess.Popen([helper, "client"], stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, text=True)
                q_c = bytes.fromhex(helper_proc.stdout.readline().strip())
                peer.write(bytes([SSH_MSG_KEX_ECDH_INIT]) + string(q_c))
                reply = peer.read()
                if i_s[0] != SSH_MSG_KEXINIT or reply[0] != SSH_MSG_KEX_ECDH_REPLY:
                    raise ValueError("unexpected messages %d, %d" % (i_s[0], reply[0]))
                k_s, off = get_string(reply, 1)
                q_s, off = get_string(reply, off)
                sig, _ = get_string(reply, off)
                out, _ = helper_proc.communicate(q_s.hex() + "\n", timeout=TIMEOUT)
                k = bytes.fromhex(out.strip())
                h = exchange_hash(v_c, v_s, i_c, i_s, k_s, q_c, q_s, k)
                _, off = get_string(k_s, 0)
                raw_key, _ = get_string(k_s, off)
                _, off = get_string(sig, 0)
                raw_sig, _ = get_string(sig, off)
                ed25519.Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_sig, h)
                return True, "Q_S %d bytes" % len(q_s)
        finally:
            server.terminate()
            try:
                server.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()


def main():
    helper = os.path.abspath(sys.argv[1])
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if not shutil.which("ssh") or not shutil.which("ssh-keygen") or not sshd:
        print("ssh, ssh-keygen or sshd not found: skipped")
        return 77
    ok, detail = server_role(helper, tamper=False)
    print("server role, real ssh client:", "NEWKEYS received" if ok else "FAILED: " + detail)
    accepted, detail_bad = server_role(helper, tamper=True)
    refused = not accepted and "incorrect signature" in detail_bad
    print("server role, wrong K:", "refused" if refused else "NOT REFUSED", "(%s)" % detail_bad)
    client_ok, detail_client = client_role(helper, sshd)
    print("client role, real sshd:", "signature verifies" if client_ok else "FAILED",
          detail_client)
    return 0 if ok and refused and client_ok else 1


if __name__ == "__main__":
    sys.exit(main())
