"""ssh-mldsa44-ed25519@openssh.com host keys, user keys and certificates end to end (issue 17):
keys written by postern-keygen, postern's client transport (net/transport_probe_client, the code
the bastion's outbound connections use) against the built sshd: the host key's signature checked
by the client, publickey login with the user key, user certificates through TrustedUserCAKeys
(this type certified, and this type as the CA of an Ed25519 key), a host certificate through
HostCertificate; the bastion (sshd -B) reaching a target, postern's sshd, whose one host key is
of this type. Independently of postern's code, a login signature it made is checked half by
half: the ML-DSA-44 half by @noble/post-quantum's ml_dsa44 (vendored, run by node), the Ed25519
half by Python's cryptography, both over M' built here from the composite drafts' constants.

Debian 12's OpenSSH 9.2 client knows none of these names; with the type configured beside the
usual host keys and the defaults left alone it still connects as before."""

import base64
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bastion_env import BastionEnv, OpenSshTarget, Policy
from conftest import BUILD, SSHD, wait_for_port

PROBE = BUILD / "net" / "transport_probe_client"
KEYGEN = BUILD / "keygen" / "postern-keygen"
NAME = "ssh-mldsa44-ed25519@openssh.com"
CERT = "ssh-mldsa44-ed25519-cert-v01@openssh.com"
NOBLE = Path(__file__).parent / "third_party" / "noble"


def fingerprint(pub_file):
    blob = base64.b64decode(Path(pub_file).read_text().split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def strings(blob):
    """The SSH strings (RFC 4251 §5) a blob is made of."""
    out = []
    while blob:
        (n,) = struct.unpack(">I", blob[:4])
        out.append(blob[4:4 + n])
        blob = blob[4 + n:]
    return out


@pytest.fixture(scope="module")
def pq(tmp_path_factory, keydir, user):
    """postern-keygen's keys and certificates; the user key in the test user's authorized_keys
    for the module's length."""
    d = tmp_path_factory.mktemp("mldsa")
    os.chmod(d, 0o755)
    for name in ("host", "id", "ca"):
        r = subprocess.run([str(KEYGEN), "-t", "mldsa44-ed25519", "-C", f"pq {name}", "-f",
                            str(d / name)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert f"256 {fingerprint(d / f'{name}.pub')} pq {name} (MLDSA44-ED25519)" in r.stdout
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "ca_ed25519")],
                   check=True)
    shutil.copy(keydir / "id_other", d / "id_other")
    shutil.copy(keydir / "id_other.pub", d / "id_other.pub")
    certify = [("ca", "id", []), ("ca", "id_other", []), ("ca_ed25519", "host", ["-h"])]
    for ca, key, extra in certify:
        r = subprocess.run([str(KEYGEN), "-s", str(d / ca), "-I", f"{key} by {ca}", "-n",
                            user.pw_name if not extra else "127.0.0.1", *extra,
                            str(d / f"{key}.pub")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    auth = Path(user.pw_dir) / ".ssh" / "authorized_keys"
    before = auth.read_text()
    auth.write_text(before + (d / "id.pub").read_text())
    yield d
    auth.write_text(before)


def sig_algs(probe_output):
    """server-sig-algs as the probe printed the server's extensions."""
    for line in probe_output.splitlines():
        if line.startswith("extension: server-sig-algs="):
            return line.split("=", 1)[1].split(",")
    return []


def probe(server, user, key, *args, command="echo pq-$((6*7))"):
    return subprocess.run([str(PROBE), *args, "-i", str(key), "-l", user.pw_name, "-c", command,
                           str(server.port)], capture_output=True, text=True, timeout=60)


def test_host_key_and_user_key(make_server, user, pq):
    s = make_server(f"HostKey {pq / 'host'}\nHostKeyAlgorithms {NAME}\n"
                    f"PubkeyAcceptedAlgorithms {NAME}\n")
    r = probe(s, user, pq / "id", "-o", f"hostkeys={NAME}")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert f"host key: {NAME} {fingerprint(pq / 'host.pub')}\n" in r.stdout, r.stdout
    # Named in PubkeyAcceptedAlgorithms, the type is announced in server-sig-algs (RFC 8308).
    assert NAME in sig_algs(r.stdout), r.stdout
    # After login the client re-exchanges keys: the monitor signs with the host key again.
    assert "authenticated" in r.stdout and "reply after rekey" in r.stdout, r.stdout
    assert "command output: pq-42\n" in r.stdout and "exit status: 0" in r.stdout, r.stdout
    assert s.wait_log(f"Accepted publickey for {user.pw_name} from 127.0.0.1"), s.log_text()
    assert f"ssh2: MLDSA44-ED25519 {fingerprint(pq / 'id.pub')}" in s.log_text()


def test_user_key_only_where_the_name_is_accepted(make_server, user, pq):
    # Debian 12's PubkeyAcceptedAlgorithms (the default) does not hold the name.
    s = make_server(f"HostKey {pq / 'host'}\n")
    r = probe(s, user, pq / "id")
    assert r.returncode != 0 and "authenticated" not in r.stdout, r.stdout + s.log_text()
    assert "Accepted publickey" not in s.log_text()
    assert sig_algs(r.stdout) and NAME not in sig_algs(r.stdout), r.stdout


def test_debian_ssh_still_connects_beside_such_a_host_key(make_server, user, pq):
    s = make_server(f"HostKey {pq / 'host'}\n")
    r = s.ssh("echo ok", extra=("-v",))
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr + s.log_text()
    assert "Server host key: ssh-ed25519" in r.stderr, r.stderr
    # Offered only when named, and then only to a client that knows it.
    s = make_server(f"HostKey {pq / 'host'}\nHostKeyAlgorithms {NAME}\n")
    r = s.ssh("true")
    assert r.returncode == 255
    assert s.wait_log("no matching host key type found"), s.log_text()


def test_user_certificate_of_this_type_from_a_ca_of_this_type(make_server, user, pq):
    s = make_server(f"HostKey {pq / 'host'}\nTrustedUserCAKeys {pq / 'ca.pub'}\n"
                    f"PubkeyAcceptedAlgorithms {CERT}\nCASignatureAlgorithms {NAME}\n")
    r = probe(s, user, pq / "id", "-a", str(pq / "id-cert.pub"))
    assert r.returncode == 0 and "command output: pq-42\n" in r.stdout, r.stderr + s.log_text()
    assert s.wait_log('Accepted certificate ID "id by ca"'), s.log_text()
    assert f"signed by MLDSA44-ED25519 CA {fingerprint(pq / 'ca.pub')}" in s.log_text()


def test_ca_of_this_type_certifies_an_ed25519_key(make_server, user, pq):
    # id_other is in no authorized_keys: only the certificate lets it in.
    s = make_server(f"TrustedUserCAKeys {pq / 'ca.pub'}\nCASignatureAlgorithms +{NAME}\n")
    r = probe(s, user, pq / "id_other", "-a", str(pq / "id_other-cert.pub"))
    assert r.returncode == 0 and "command output: pq-42\n" in r.stdout, r.stderr + s.log_text()
    assert s.wait_log('Accepted certificate ID "id_other by ca"'), s.log_text()
    # CASignatureAlgorithms' default (Debian 12's) does not trust such a CA.
    s = make_server(f"TrustedUserCAKeys {pq / 'ca.pub'}\n")
    r = probe(s, user, pq / "id_other", "-a", str(pq / "id_other-cert.pub"))
    assert r.returncode != 0 and "authenticated" not in r.stdout, r.stdout
    assert s.wait_log(f"certificate signature algorithm {NAME}: signature algorithm not "
                      "supported"), s.log_text()


def test_host_certificate(make_server, user, pq):
    s = make_server(f"HostKey {pq / 'host'}\nHostCertificate {pq / 'host-cert.pub'}\n"
                    f"HostKeyAlgorithms {CERT}\nPubkeyAcceptedAlgorithms +{NAME}\n")
    r = probe(s, user, pq / "id", "-o", f"hostkeys={CERT}")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert (f"host key: {CERT} {fingerprint(pq / 'host.pub')} signed by "
            f"{fingerprint(pq / 'ca_ed25519.pub')}\n") in r.stdout, r.stdout


def representative(data):
    """M' = Prefix || Label || len(ctx) = 0 || SHA512(M), the LAMPS composite draft's
    MLDSA44-Ed25519-SHA512 as draft-miller-sshm-mldsa44-ed25519-composite-sigs uses it."""
    return (b"CompositeAlgorithmSignatures2025" + b"COMPSIG-MLDSA44-Ed25519-SHA512" + b"\0"
            + hashlib.sha512(data).digest())


def test_signature_checked_by_noble_and_cryptography(make_server, user, pq):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node is not installed")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    sys.path.insert(0, str(NOBLE))
    from line_tool import LineTool

    s = make_server(f"PubkeyAcceptedAlgorithms {NAME}\n")
    r = probe(s, user, pq / "id", "-S")
    assert r.returncode == 0, r.stderr + s.log_text()
    lines = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    data = bytes.fromhex(lines["signed data"])
    alg, sig = strings(bytes.fromhex(lines["signature"]))
    assert alg == NAME.encode() and len(sig) == 2420 + 64
    name, pk = strings(base64.b64decode((pq / "id.pub").read_text().split()[1]))
    assert name == NAME.encode() and len(pk) == 1312 + 32
    m = representative(data)
    label = b"COMPSIG-MLDSA44-Ed25519-SHA512"

    noble = LineTool([node, str(NOBLE / "mldsa44.mjs")])
    try:
        assert noble.ask("verify", pk[:1312].hex(), m.hex(), label.hex(), sig[:2420].hex()) == \
            ["true"]
        # The label is the ML-DSA half's context: without it, or over M itself, it fails.
        assert noble.ask("verify", pk[:1312].hex(), m.hex(), "", sig[:2420].hex()) == ["false"]
        assert noble.ask("verify", pk[:1312].hex(), data.hex(), label.hex(),
                         sig[:2420].hex()) == ["false"]
    finally:
        noble.close()
    ed = Ed25519PublicKey.from_public_bytes(pk[1312:])
    ed.verify(sig[2420:], m)
    with pytest.raises(InvalidSignature):
        ed.verify(sig[2420:], data)


class PosternTarget(OpenSshTarget):
    """A bastion target as bastion_env's, but postern's sshd with `host_key` as its one host
    key, offered alone."""

    def __init__(self, env, host_key):
        super().__init__(env.dir, f"{env.ca}.pub", "pqtarget", extra=f"HostKeyAlgorithms {NAME}")
        self.config.write_text(self.config.read_text().replace(f"HostKey {self.host_key}\n",
                                                               f"HostKey {host_key}\n"))
        self.host_key, self.host_pub = Path(host_key), Path(f"{host_key}.pub")
        env.targets.append(self)

    def start(self):
        self.proc = subprocess.Popen([str(SSHD), "-D", "-f", str(self.config), "-E", str(self.log)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, self.proc):
            raise RuntimeError(f"postern target did not start:\n{self.log_text()}")
        return self


def test_bastion_reaches_a_target_with_such_a_host_key(keydir, user, pq, tmp_path):
    env = BastionEnv(tmp_path, keydir)
    try:
        target = PosternTarget(env, pq / "host").start()
        tu = env.target_user
        p = Policy(env)
        p.user("alice", env.pub("alice"))
        p.target("pq", "127.0.0.1", target.port, [tu])
        p.role("ops", ["alice"], ["pq"], [tu], ["exec"])
        # known_hosts vouches for the target's ML-DSA key: the bastion logs in and runs the command.
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        bastion = env.make_bastion(p)
        r = bastion.ssh(f"{tu}%pq%alice", "echo via-$((6*7))", env.keys["alice"])
        assert r.returncode == 0 and r.stdout == "via-42\n", r.stderr + bastion.log_text()[-3000:]
        assert "Accepted certificate" in target.log_text(), target.log_text()
        # Another key of the type for the same name is a changed host key: refused, never used.
        other = (pq / "id.pub").read_text().split()
        env.write_known_hosts(f"[127.0.0.1]:{target.port} {other[0]} {other[1]}\n")
        bastion = env.make_bastion(p)
        r = bastion.ssh(f"{tu}%pq%alice", "echo never", env.keys["alice"])
        assert r.returncode != 0 and "never" not in r.stdout, r.stdout
    finally:
        env.close()
