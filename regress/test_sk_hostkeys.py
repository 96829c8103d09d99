"""Security-key host keys (issue 17): sk-ssh-ed25519@openssh.com and
sk-ecdsa-sha2-nistp256@openssh.com key files written by Debian's ssh-keygen with OpenSSH's test
authenticator (sk-dummy.so, openssh-tests) serve as HostKey, the monitor signing through
SecurityKeyProvider (PROTOCOL.u2f). Debian's ssh client checks every host signature against a
known_hosts line with StrictHostKeyChecking yes, so a wrong signature fails the login; a host
certificate of an sk key (HostCertificate, @cert-authority) too."""

import os
import subprocess
from pathlib import Path

import pytest

SK_DUMMY = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so"
ED = "sk-ssh-ed25519@openssh.com"
EC = "sk-ecdsa-sha2-nistp256@openssh.com"

pytestmark = pytest.mark.skipif(not os.path.exists(SK_DUMMY),
                                reason="sk-dummy.so (openssh-tests) is not installed")


@pytest.fixture(scope="module")
def skkeys(tmp_path_factory):
    d = tmp_path_factory.mktemp("skhost")
    os.chmod(d, 0o755)
    for name, kind in (("sked", "ed25519-sk"), ("skec", "ecdsa-sk")):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-w", SK_DUMMY, "-N", "", "-C", name,
                        "-f", str(d / name)], check=True, capture_output=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "ca")], check=True)
    # A host certificate for the Ed25519 security key, signed by an ordinary CA key.
    subprocess.run(["ssh-keygen", "-q", "-s", str(d / "ca"), "-I", "skhost", "-h",
                    "-n", "127.0.0.1", str(d / "sked.pub")], check=True, capture_output=True)
    return d


def login(s, known_hosts_line, algorithm):
    known = s.dir / "known_hosts_sk"
    known.write_text(known_hosts_line + "\n")
    return s.ssh("echo signed-by-sk", options=(f"HostKeyAlgorithms={algorithm}",
                                               "StrictHostKeyChecking=yes",
                                               f"UserKnownHostsFile={known}"))


def host_line(s, pub):
    typ, b64 = pub.read_text().split()[:2]
    return f"[127.0.0.1]:{s.port} {typ} {b64}"


@pytest.mark.parametrize("name,algorithm", [("sked", ED), ("skec", EC)])
def test_sk_host_key_signs_through_the_provider(make_server, user, skkeys, name, algorithm):
    s = make_server(f"HostKey {skkeys / name}\nSecurityKeyProvider {SK_DUMMY}\n")
    r = login(s, host_line(s, skkeys / f"{name}.pub"), algorithm)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert r.stdout == "signed-by-sk\n"


def test_a_known_hosts_line_for_another_key_fails(make_server, user, skkeys):
    s = make_server(f"HostKey {skkeys / 'sked'}\nSecurityKeyProvider {SK_DUMMY}\n")
    other = skkeys / "skec.pub"
    typ, b64 = other.read_text().split()[:2]
    r = login(s, f"[127.0.0.1]:{s.port} {ED} {b64}", ED)  # type spoofed, wrong key
    assert r.returncode != 0


def test_without_a_provider_the_sk_key_cannot_sign(make_server, user, skkeys):
    s = make_server(f"HostKey {skkeys / 'sked'}\n")
    r = login(s, host_line(s, skkeys / "sked.pub"), ED)
    assert r.returncode != 0
    assert "SecurityKeyProvider" in s.log_text() or "provider" in s.log_text(), s.log_text()


def test_a_provider_others_may_write_is_refused(make_server, user, skkeys, tmp_path):
    copy = tmp_path / "writable-provider.so"
    copy.write_bytes(Path(SK_DUMMY).read_bytes())
    os.chmod(copy, 0o757)
    s = make_server(f"HostKey {skkeys / 'sked'}\nSecurityKeyProvider {copy}\n")
    r = login(s, host_line(s, skkeys / "sked.pub"), ED)
    assert r.returncode != 0
    assert "writable by group or others" in s.log_text(), s.log_text()


def test_sk_host_certificate(make_server, user, skkeys):
    s = make_server(f"HostKey {skkeys / 'sked'}\nHostCertificate {skkeys / 'sked-cert.pub'}\n"
                    f"SecurityKeyProvider {SK_DUMMY}\n")
    ca = (skkeys / "ca.pub").read_text().split()
    r = login(s, f"@cert-authority [127.0.0.1]:* {ca[0]} {ca[1]}",
              "sk-ssh-ed25519-cert-v01@openssh.com")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert r.stdout == "signed-by-sk\n"
