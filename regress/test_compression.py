"""zlib@openssh.com compression (OpenSSH PROTOCOL §1.3, RFC 4253 §6.2) with real clients: what
the server offers for each Compression setting, data intact through ssh -C, scp -C, sftp -C,
rekeys in the middle of a compressed transfer, paramiko and plink, and a zip bomb refused."""

import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TEST_USER
from test_clients import host_fingerprint
from test_transfer import stream_sha256

MIB = 1 << 20


def peer_compression_offer(stderr):
    """The server's compression lists from `ssh -vvv` (the "peer server KEXINIT proposal")."""
    peer = stderr.split("peer server KEXINIT proposal", 1)[1]
    return re.findall(r"compression (?:ctos|stoc): (\S*)", peer)[:2]


def negotiated(stderr):
    """{direction: method} from ssh -v's "kex: server->client cipher: ... compression: X"."""
    return dict(re.findall(r"kex: (server->client|client->server) cipher: .* compression: (\S+)",
                           stderr))


def compressible_file(path, size):
    """Text that deflates about 4:1 yet is not trivially repetitive (numbered lines of a
    pseudo-random walk), so corruption anywhere would change the digest."""
    h = hashlib.sha256()
    x = 12345
    with open(path, "wb") as f:
        written = 0
        n = 0
        while written < size:
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            line = f"{n:08d} value={x % 1000:03d} state={'ok' if x & 1 else 'warn'} lorem ipsum\n"
            b = line.encode()[: size - written]
            f.write(b)
            h.update(b)
            written += len(b)
            n += 1
    return h.hexdigest()


def remote_sha256(server, path):
    r = server.ssh(f"sha256sum {path}")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


@pytest.mark.parametrize("setting,offer", [("yes", "none,zlib@openssh.com"),
                                           ("delayed", "none,zlib@openssh.com"),
                                           ("no", "none")])
def test_offer_matches_openssh(make_server, user, setting, offer):
    # OpenSSH 9.2's sshd offers exactly these lists (checked with `ssh -vvv` against it).
    server = make_server(f"Compression {setting}")
    r = server.ssh("echo ok", options=["Compression=yes", "LogLevel=DEBUG3"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"
    assert peer_compression_offer(r.stderr) == [offer, offer]
    want = "none" if setting == "no" else "zlib@openssh.com"
    assert negotiated(r.stderr) == {"server->client": want, "client->server": want}


def test_ssh_C_compresses_both_ways(server):
    # 20 MiB of zeros each way: the byte counts ssh -v prints at the end show what the wire
    # carried, and its per-direction compression summary shows zlib really ran.
    r = server.ssh("head -c 20971520 /dev/zero | wc -c; wc -c", extra=["-C", "-v"],
                   input="\0" * (20 * MIB), timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(20 * MIB), str(20 * MIB)]
    assert negotiated(r.stderr) == {"server->client": "zlib@openssh.com",
                                    "client->server": "zlib@openssh.com"}
    sent, received = map(int, re.search(r"Transferred: sent (\d+), received (\d+) bytes",
                                        r.stderr).groups())
    assert sent < MIB and received < MIB, (sent, received)
    assert re.search(r"compress outgoing: raw data \d+, compressed \d+", r.stderr)
    assert re.search(r"compress incoming: raw data \d+, compressed \d+", r.stderr)


def test_compression_yes_option_and_exit_status(server):
    r = server.ssh("echo out; echo err >&2; exit 3", options=["Compression=yes"])
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_server_compression_no_client_still_connects(make_server, user):
    server = make_server("Compression no")
    r = server.ssh("head -c 1048576 /dev/zero", extra=["-C", "-v"], text=False)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    assert r.stdout == b"\0" * MIB
    assert negotiated(err) == {"server->client": "none", "client->server": "none"}
    received = int(re.search(r"Transferred: sent \d+, received (\d+) bytes", err).group(1))
    assert received > MIB


@pytest.fixture
def sftp_server(make_server, user):
    return make_server("Subsystem sftp internal-sftp")


def test_scp_C_50mib_both_ways(sftp_server, user, tmp_path):
    server = sftp_server
    src = tmp_path / "big.txt"
    digest = compressible_file(src, 50 * MIB)
    remote = f"{user.pw_dir}/big-up.txt"
    scp = ["scp", "-C", "-F", "/dev/null", "-P", str(server.port), "-i",
           str(server.keydir / "id_ed25519"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
           "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={server.dir}/known_hosts"]
    r = subprocess.run(scp + [str(src), f"{TEST_USER}@127.0.0.1:{remote}"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert remote_sha256(server, remote) == digest
    back = tmp_path / "big-down.txt"
    r = subprocess.run(scp + [f"{TEST_USER}@127.0.0.1:{remote}", str(back)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert hashlib.sha256(back.read_bytes()).hexdigest() == digest


def test_sftp_C_put_get(sftp_server, user, tmp_path):
    server = sftp_server
    src = tmp_path / "s.txt"
    digest = compressible_file(src, 5 * MIB)
    back = tmp_path / "s-back.txt"
    batch = tmp_path / "batch"
    batch.write_text(f"put {src} s.txt\nget s.txt {back}\n")
    r = subprocess.run(["sftp", "-C", "-b", str(batch), "-F", "/dev/null", "-P", str(server.port),
                        "-i", str(server.keydir / "id_ed25519"), "-o", "IdentitiesOnly=yes",
                        "-o", "StrictHostKeyChecking=no",
                        "-o", f"UserKnownHostsFile={server.dir}/known_hosts",
                        f"{TEST_USER}@127.0.0.1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert remote_sha256(server, f"{user.pw_dir}/s.txt") == digest
    assert hashlib.sha256(back.read_bytes()).hexdigest() == digest


def test_rekeys_during_compressed_transfer(make_server, user):
    # Both sides rekey every 512 KiB on the wire. Each NEWKEYS restarts that direction's zlib
    # stream on both ends (RFC 4253 §6.2; OpenSSH does it too): one side getting that wrong
    # corrupts the very next packet, so the digest and the exit status prove it.
    server = make_server("RekeyLimit 512K")
    # curve25519 keeps each of the many exchanges cheap on a loaded machine.
    args = server.ssh_args(options=["RekeyLimit=512K", "LogLevel=DEBUG1",
                                    "KexAlgorithms=curve25519-sha256"])
    digest, out, err, rc = stream_sha256(args[:1] + ["-C"] + args[1:] + ["sha256sum"], 16 * MIB)
    assert rc == 0, err.decode(errors="replace")[-2000:]
    assert out.split()[0].decode() == digest
    err = err.decode(errors="replace")
    assert "compression: zlib@openssh.com" in err
    # Random data does not compress, so the wire volume forces dozens of exchanges.
    assert err.count("SSH2_MSG_NEWKEYS received") > 10, err[-2000:]


def test_paramiko_compress(server, keydir):
    paramiko = pytest.importorskip("paramiko")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=server.port, username=TEST_USER, compress=True,
              key_filename=str(keydir / "id_ed25519"), look_for_keys=False, allow_agent=False)
    try:
        t = c.get_transport()
        assert (t.local_compression, t.remote_compression) == ("zlib@openssh.com",) * 2
        stdin, out, _ = c.exec_command("sha256sum; head -c 3000000 /dev/zero | wc -c")
        data = os.urandom(MIB) + b"\0" * MIB
        stdin.write(data)
        stdin.channel.shutdown_write()
        lines = out.read().decode().split("\n")
        assert lines[0].split()[0] == hashlib.sha256(data).hexdigest()
        assert lines[1] == "3000000"
        assert out.channel.recv_exit_status() == 0
    finally:
        c.close()


@pytest.mark.skipif(not shutil.which("plink"), reason="putty-tools not installed")
def test_plink_C(server, keydir, tmp_path):
    ppk = tmp_path / "id.ppk"
    subprocess.run(["puttygen", str(keydir / "id_ed25519"), "-o", str(ppk), "-O", "private"],
                   check=True, capture_output=True)
    data = os.urandom(MIB) + b"\0" * (4 * MIB)
    r = subprocess.run(["plink", "-batch", "-ssh", "-C", "-v", "-P", str(server.port), "-i",
                        str(ppk), "-hostkey", host_fingerprint(keydir), f"{TEST_USER}@127.0.0.1",
                        "sha256sum; head -c 2000000 /dev/zero | wc -c"], input=data,
                       capture_output=True, timeout=120)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    lines = r.stdout.decode().split("\n")
    assert lines[0].split()[0] == hashlib.sha256(data).hexdigest()
    assert lines[1] == "2000000"
    # plink's event log: zlib@openssh.com negotiated and started after authentication.
    assert "Initialised delayed zlib (RFC1950) compression" in err, err
    assert "Initialised delayed zlib (RFC1950) decompression" in err, err


def test_zip_bomb_after_auth_ends_connection(server, keydir):
    # A 4 MiB IGNORE deflates to a few KiB: a valid packet on the wire whose payload inflates far
    # past the 256 KiB packet limit. The server must stop inflating at the limit and disconnect.
    paramiko = pytest.importorskip("paramiko")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=server.port, username=TEST_USER, compress=True,
              key_filename=str(keydir / "id_ed25519"), look_for_keys=False, allow_agent=False)
    try:
        t = c.get_transport()
        assert t.remote_compression == "zlib@openssh.com"
        _, out, _ = c.exec_command("echo before")
        assert out.read() == b"before\n"
        m = paramiko.Message()
        m.add_byte(paramiko.common.cMSG_IGNORE)
        m.add_string(b"\0" * (4 * MIB))
        t._send_message(m)
        assert server.wait_log("decompressed packet larger than 262144 bytes", timeout=10), \
            server.log_text()
        deadline = time.time() + 10
        while t.is_active() and time.time() < deadline:
            time.sleep(0.1)
        assert not t.is_active()
    finally:
        c.close()
