"""Bastion mode, machine to machine (man/postern-bastion.5 "MACHINE TO MACHINE"): a role with
issue_certificates lets its member run `ssh ci-robot@bastion certificate deploy@web1 < id.pub`
and get an OpenSSH certificate for its own key from the role's template; the certificate then
logs in to the target (Debian's OpenSSH sshd trusting the bastion CA) without the bastion.
Refused, with the reason on stderr and exit status 1, for a role without issue_certificates,
an account or target not granted, weak keys, certificates and garbage; every answer is audited."""

import re
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy, fingerprint, keygen

NOTICE = "this bastion needs a target"


@pytest.fixture(scope="module")
def m(keydir, user):
    """ci-robot's role "automation" grants the test account on web1 and issues certificates;
    alice's role "ops" grants the same without issue_certificates."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-m2m-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        p.user("ci-robot", env.pub("dave"))
        p.user("alice", env.pub("alice"))
        p.target("web1", "127.0.0.1", target.port, [tu, "root"], tags=["web"])
        p.role("automation", ["ci-robot"], ["tag:web"], [tu], ["exec"], issue_certificates=True)
        p.role("ops", ["alice"], ["web1"], [tu, "root"], ["exec"])
        bastion = env.make_bastion(p)
        yield SimpleNamespace(env=env, target=target, bastion=bastion, tu=tu)
    finally:
        env.close()


def ask(m, command, key_text, who="ci-robot", key="dave"):
    return m.bastion.ssh(who, command, m.env.keys[key], input=key_text)


def fresh_key(m, name, kind="ed25519", bits=None):
    path = m.env.dir / name
    if bits:
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", kind, "-b", str(bits), "-C", name,
                        "-f", str(path)], check=True, capture_output=True)
    else:
        keygen(path, kind, comment=name)
    return path


def direct_login(m, key, cert, command="echo direct-ok"):
    """ssh to the target itself, no bastion in between."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-p", str(m.target.port), "-i", str(key),
         "-o", f"CertificateFile={cert}", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", f"{m.tu}@127.0.0.1", command],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_issued_certificate_logs_in_to_the_target_without_the_bastion(m):
    key = fresh_key(m, "id_robot")
    pub = Path(f"{key}.pub").read_text()
    mark = m.env.audit_mark()
    r = ask(m, f"certificate {m.tu}@web1", pub)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssh-ed25519-cert-v01@openssh.com "), r.stdout
    assert lines[0].endswith(" id_robot")  # the key's comment, as ssh-keygen -s keeps it
    cert = Path(f"{key}-cert.pub")
    cert.write_text(r.stdout)

    info = subprocess.run(["ssh-keygen", "-L", "-f", str(cert)], capture_output=True, text=True,
                          check=True).stdout
    assert "Type: ssh-ed25519-cert-v01@openssh.com user certificate" in info, info
    principals = info.split("Principals:")[1].split("Critical Options:")[0].split()
    assert principals == [m.tu], info
    key_id = re.search(r'Key ID: "(.*)"', info).group(1)
    assert "ci-robot" in key_id and "session " in key_id, info
    # Validity: from 60 s back to certificate_validity (2m) ahead.
    valid = re.search(r"Valid: from (\S+) to (\S+)", info)
    import datetime
    start, end = (datetime.datetime.fromisoformat(t) for t in valid.groups())
    assert (end - start).total_seconds() == 120 + 60, info
    assert fingerprint(f"{m.env.ca}.pub") in info, info  # signed by the bastion CA

    out = direct_login(m, key, cert)
    assert out.returncode == 0 and out.stdout == "direct-ok\n", out.stderr
    assert key_id in m.target.log_text()  # the target's log names the certificate

    evs = m.env.audit_since(mark, lambda e: any(x["event"] == "certificate-issued" for x in e))
    issued = [e for e in evs if e["event"] == "certificate-issued"]
    assert len(issued) == 1, evs
    e = issued[0]
    assert e["decision"] == "allow" and e["role"] == "automation", e
    assert e["bastion_user"] == "ci-robot" and e["target"] == "web1" and e["target_user"] == m.tu
    serial = re.search(r"Serial: (\d+)", info).group(1)
    assert f"serial {serial} " in e["detail"], e
    assert key_id in e["detail"] and fingerprint(f"{key}.pub") in e["detail"], e


def test_port_syntax_and_a_second_certificate_on_a_new_connection(m):
    key = fresh_key(m, "id_robot_ecdsa", "ecdsa")
    r = ask(m, f"certificate {m.tu}@web1:{m.target.port}", Path(f"{key}.pub").read_text())
    assert r.returncode == 0, r.stderr
    cert = Path(f"{key}-cert.pub")
    cert.write_text(r.stdout)
    assert direct_login(m, key, cert).returncode == 0


@pytest.mark.parametrize("who,key,account,message", [
    ("alice", "alice", None, "role ops may not issue certificates for {tu}@web1"),
    ("ci-robot", "dave", "root", "no role lets ci-robot have certificates for root@web1"),
])
def test_refused_for_a_role_or_account_that_does_not_allow_it(m, who, key, account, message):
    pub = Path(f"{fresh_key(m, f'id_{who}_{account}')}.pub").read_text()
    mark = m.env.audit_mark()
    r = ask(m, f"certificate {account or m.tu}@web1", pub, who=who, key=key)
    assert r.returncode == 1 and r.stdout == "", r
    assert r.stderr == "postern: " + message.format(tu=m.tu) + "\n", r.stderr
    evs = m.env.audit_since(mark, lambda e: any(x["event"] == "certificate-issued" for x in e))
    assert [e["decision"] for e in evs if e["event"] == "certificate-issued"] == ["deny"], evs


def test_refused_for_a_target_no_role_grants(m):
    pub = Path(f"{fresh_key(m, 'id_elsewhere')}.pub").read_text()
    r = ask(m, f"certificate {m.tu}@db9.example", pub)
    assert r.returncode == 1 and r.stdout == ""
    assert "no role lets ci-robot have certificates for" in r.stderr, r.stderr


def test_weak_keys_certificates_and_garbage_are_refused(m):
    rsa1024 = Path(f"{fresh_key(m, 'id_rsa1024', 'rsa', 1024)}.pub").read_text()
    rsa2048 = Path(f"{fresh_key(m, 'id_rsa2048', 'rsa', 2048)}.pub").read_text()
    # A certificate of a real key, signed by some CA, given where the key belongs.
    ca = keygen(m.env.dir / "other_ca")
    signed = fresh_key(m, "id_signed")
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "x", "-n", m.tu, f"{signed}.pub"],
                   check=True, capture_output=True)
    cert_text = Path(f"{signed}-cert.pub").read_text()
    cases = [
        (rsa1024, "postern: RSA key of 1024 bits is too weak (at least 2048)"),
        (cert_text, "postern: a certificate is no public key: send the plain key (id.pub)"),
        ("hello, world\n", "postern: standard input is not an OpenSSH public key line (id.pub)"),
        ("", "postern: no public key on standard input (send id.pub)"),
        (Path(str(signed)).read_text(), "postern: expected one public key line (id.pub), got more"),
        ("A" * 20000, "postern: the key is longer than 16384 bytes"),
    ]
    for text, message in cases:
        r = ask(m, f"certificate {m.tu}@web1", text)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n"), (message, r)
    ok = ask(m, f"certificate {m.tu}@web1", rsa2048)
    assert ok.returncode == 0 and ok.stdout.startswith("ssh-rsa-cert-v01@openssh.com "), ok.stderr


def test_malformed_commands_and_other_commands(m):
    r = ask(m, "certificate web1", "")
    assert r.returncode == 1
    assert r.stderr == "postern: usage: certificate TARGETUSER@TARGET[:PORT] < key.pub\n"
    other = ask(m, "uptime", "")
    assert other.returncode == 1 and NOTICE in other.stderr, other.stderr
