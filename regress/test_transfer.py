"""Bulk data through stdin/stdout, both ways, with checksums; rekeying in the middle."""

import hashlib
import os
import subprocess
import threading

import pytest

GIB = 1 << 30
SIZE = int(os.environ.get("POSTERN_TRANSFER_BYTES", GIB))


def stream_sha256(cmd, size, chunk=1 << 20):
    """Feeds `size` pseudo-random bytes to cmd's stdin from a thread while collecting its output;
    returns (digest of what was sent, stdout, stderr, exit status)."""
    h = hashlib.sha256()
    block = os.urandom(chunk)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        sent = 0
        i = 0
        try:
            while sent < size:
                b = block[i % 251:] + block[:i % 251]
                n = min(len(b), size - sent)
                p.stdin.write(b[:n])
                h.update(b[:n])
                sent += n
                i += 1
        finally:
            p.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    out, err = [], []
    readers = [threading.Thread(target=lambda f=f, acc=acc: acc.append(f.read()))
               for f, acc in ((p.stdout, out), (p.stderr, err))]
    for r in readers:
        r.start()
    writer.join()
    for r in readers:
        r.join()
    rc = p.wait(timeout=600)
    return h.hexdigest(), out[0], err[0], rc


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"])
def test_upload_gib_intact(server, cipher):
    digest, out, err, rc = stream_sha256(
        server.ssh_args(options=[f"Ciphers={cipher}"]) + ["sha256sum"], SIZE)
    assert rc == 0, err
    assert out.split()[0].decode() == digest


def test_download_gib_intact(server):
    # The server generates a deterministic stream; we hash what arrives.
    cmd = f"head -c {SIZE} /dev/zero | openssl enc -aes-128-ctr -K 00 -iv 00 -nosalt 2>/dev/null | tee >(sha256sum >&2)"
    p = subprocess.Popen(server.ssh_args(options=["Ciphers=aes128-ctr", "MACs=hmac-sha2-256-etm@openssh.com"])
                         + [f"bash -c '{cmd}'"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h = hashlib.sha256()
    total = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        h.update(b)
        total += len(b)
    err = p.stderr.read().decode()
    assert p.wait(timeout=600) == 0
    assert total == SIZE
    assert err.split()[0] == h.hexdigest()


def test_rekey_mid_transfer_both_directions(server):
    size = 64 << 20
    digest, out, err, rc = stream_sha256(
        server.ssh_args(options=["RekeyLimit=1M"]) + ["sha256sum; head -c 8000000 /dev/zero | cat"],
        size)
    assert rc == 0, err
    assert out.split(b"\n")[0].split()[0].decode() == digest
    assert len(out) > 8_000_000


def test_server_initiated_rekey(make_server, user):
    s = make_server("RekeyLimit 256K")
    digest, out, err, rc = stream_sha256(s.ssh_args() + ["sha256sum"], 16 << 20)
    assert rc == 0
    assert out.split()[0].decode() == digest
