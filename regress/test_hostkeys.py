"""Host key rotation (OpenSSH PROTOCOL §2.5): after authentication the server lists all its host
keys (hostkeys-00@openssh.com) and proves the ones the client asks about
(hostkeys-prove-00@openssh.com), so ssh's UpdateHostKeys learns new keys and forgets retired ones.
The connections go through `sshd -i` as a ProxyCommand, so each one reads the config as it is
then and the host keys can change between connections."""

import base64
import struct
import subprocess

import pytest

from conftest import SSHD, TEST_USER


def keygen(path, kind, bits=None):
    args = ["ssh-keygen", "-q", "-N", "", "-t", kind, "-f", str(path)]
    if bits:
        args += ["-b", str(bits)]
    subprocess.run(args, check=True)
    return path


def pub_blob(path):
    return (path.parent / (path.name + ".pub")).read_text().split()[1]


class Rotation:
    """An inetd-mode server whose HostKey lines the test rewrites, and a known_hosts file."""

    def __init__(self, make_server, tmp_path):
        self.server = make_server(start=False)
        self.base = self.server.config.read_text()
        self.base = "".join(l + "\n" for l in self.base.splitlines() if not l.startswith("HostKey "))
        self.log = tmp_path / "inetd.log"
        self.known_hosts = tmp_path / "known_hosts"
        self.known_hosts.write_text("")

    def host_keys(self, *paths):
        self.server.config.write_text(self.base + "".join(f"HostKey {p}\n" for p in paths))

    def ssh(self, algorithms, strict=True, update=True):
        s = self.server
        opts = [f"ProxyCommand={SSHD} -i -f {s.config} -E {self.log} -o LogLevel=DEBUG",
                f"HostKeyAlgorithms={algorithms}",
                f"StrictHostKeyChecking={'yes' if strict else 'no'}",
                f"UpdateHostKeys={'yes' if update else 'no'}"]
        args = s.ssh_args(options=opts) + ["true"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr + self.log.read_text(errors="replace")
        return r

    def known(self):
        return sorted(l.split()[2] for l in self.known_hosts.read_text().splitlines() if l.strip())


def test_update_host_keys_learns_every_key_type(make_server, user, keydir, tmp_path):
    rot = Rotation(make_server, tmp_path)
    keys = [keydir / "host_ed25519", keydir / "host_ecdsa", keydir / "host_rsa"]
    rot.host_keys(*keys)
    # The first connection learns the key of the exchange only (ssh(1) updates a host it knew).
    rot.ssh("ssh-ed25519", strict=False)
    assert rot.known() == [pub_blob(keys[0])]
    # The next one learns the others: the RSA key proves itself with rsa-sha2-512, as the key
    # exchange was not an RSA one.
    rot.ssh("ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256")
    assert rot.known() == sorted(pub_blob(k) for k in keys)
    assert "hostkeys-prove-00@openssh.com: proved 2 keys" in rot.log.read_text(errors="replace")


def test_rotation_adds_the_new_key_and_forgets_the_retired_one(make_server, user, tmp_path):
    rot = Rotation(make_server, tmp_path)
    old = keygen(tmp_path / "old_ed25519", "ed25519")
    new = keygen(tmp_path / "new_ed25519", "ed25519")
    rot.host_keys(old)
    rot.ssh("ssh-ed25519", strict=False)
    assert rot.known() == [pub_blob(old)]
    # Both keys served: the exchange uses the first, the second is learned (two of one type).
    rot.host_keys(old, new)
    rot.ssh("ssh-ed25519")
    assert rot.known() == sorted([pub_blob(old), pub_blob(new)])
    # The old key retired: the client drops it once the server no longer lists it.
    rot.host_keys(new)
    rot.ssh("ssh-ed25519")
    assert rot.known() == [pub_blob(new)]


def test_rsa_keys_prove_with_the_exchange_rsa_algorithm(make_server, user, tmp_path):
    # With an rsa-sha2-256 key exchange, ssh(1) accepts RSA proofs made with rsa-sha2-256 only.
    rot = Rotation(make_server, tmp_path)
    rsa1 = keygen(tmp_path / "rsa1", "rsa", 2048)
    rsa2 = keygen(tmp_path / "rsa2", "rsa", 2048)
    rot.host_keys(rsa1)
    rot.ssh("rsa-sha2-256", strict=False)
    assert rot.known() == [pub_blob(rsa1)]
    rot.host_keys(rsa1, rsa2)
    rot.ssh("rsa-sha2-256")
    assert rot.known() == sorted([pub_blob(rsa1), pub_blob(rsa2)])
    assert "proved 1 keys" in rot.log.read_text(errors="replace")


def ssh_string(b):
    return struct.pack(">I", len(b)) + b


def test_prove_signs_the_protocol_data_and_refuses_foreign_keys(server, keydir):
    paramiko = pytest.importorskip("paramiko")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=server.port, username=TEST_USER,
              key_filename=str(keydir / "id_ed25519"), look_for_keys=False, allow_agent=False,
              disabled_algorithms={"keys": ["rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"]})
    try:
        t = c.get_transport()
        ours = base64.b64decode((keydir / "host_ed25519.pub").read_text().split()[1])
        reply = t.global_request("hostkeys-prove-00@openssh.com", data=(ours,), wait=True)
        assert reply is not None, "the server refused to prove its own key"
        sig = reply.get_binary()
        data = (ssh_string(b"hostkeys-prove-00@openssh.com") + ssh_string(t.session_id)
                + ssh_string(ours))
        key = paramiko.Ed25519Key(data=ours)
        assert key.verify_ssh_sig(data, paramiko.Message(sig))
        assert not key.verify_ssh_sig(data + b"x", paramiko.Message(sig))
        # A key the server does not have, or one of its user keys, is refused, and the
        # connection goes on.
        foreign = base64.b64decode((keydir / "id_other.pub").read_text().split()[1])
        assert t.global_request("hostkeys-prove-00@openssh.com", data=(foreign,), wait=True) is None
        assert t.global_request("hostkeys-prove-00@openssh.com", data=(ours, ours),
                                wait=True) is None
        _, out, _ = c.exec_command("echo still-here")
        assert out.read() == b"still-here\n"
    finally:
        c.close()
