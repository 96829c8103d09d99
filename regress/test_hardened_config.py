"""contrib/sshd_config.hardened (issue 16): postern starts with it Included, `sshd -t` and
`sshd -T` take it as written, the real ssh client logs in under it, and Debian's ssh-audit finds
nothing to fail or warn about but the names ssh-audit 2.5.0 does not know yet."""

import json
import re
import shutil
import subprocess

import pytest

from conftest import SSHD, TOP

HARDENED = TOP / "contrib" / "sshd_config.hardened"

# Newer than ssh-audit 2.5.0 (Debian 12): it warns "unknown algorithm" for them, nothing else.
UNKNOWN_TO_SSH_AUDIT = {"kex-strict-s-v00@openssh.com", "sntrup761x25519-sha512",
                        "mlkem768x25519-sha256"}

pytestmark = pytest.mark.skipif(not shutil.which("ssh-audit"), reason="ssh-audit not installed")


def hardened_server(make_server):
    return make_server(f"Include {HARDENED}\n")


def ssh_audit(port):
    """ssh-audit's findings as {(section, algorithm): (level, note)} for every [fail]/[warn]
    line, and its JSON view of what the server offered."""
    text = subprocess.run(["ssh-audit", "-n", "-p", str(port), "127.0.0.1"], capture_output=True,
                          text=True, timeout=30).stdout
    offered = json.loads(subprocess.run(["ssh-audit", "-j", "-p", str(port), "127.0.0.1"],
                                        capture_output=True, text=True, timeout=30).stdout)
    findings = {}
    current = None
    for line in text.splitlines():
        # "(kex) NAME  -- [level] note", further notes on "`- [level] note" lines below it.
        m = re.match(r"^\((\w+)\) (\S+)\s+-- \[(\w+)\] (.*)$", line)
        more = re.match(r"^\s+`- \[(\w+)\] (.*)$", line)
        if m:
            current = (m[1], m[2])
            if m[3] in ("fail", "warn"):
                findings.setdefault(current, []).append((m[3], m[4]))
        elif more and current:
            if more[1] in ("fail", "warn"):
                findings.setdefault(current, []).append((more[1], more[2]))
        else:
            assert "[fail]" not in line and "[warn]" not in line, f"unparsed finding: {line}"
    assert "(gen) banner: SSH-2.0-" in text, text
    return findings, offered


def test_sshd_t_accepts_it_and_T_shows_its_values(make_server, tmp_path):
    s = make_server(f"Include {HARDENED}\n", start=False)
    r = subprocess.run([str(SSHD), "-t", "-f", str(s.config)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    t = subprocess.run([str(SSHD), "-T", "-f", str(s.config)], capture_output=True, text=True,
                       check=True).stdout
    effective = dict(line.split(" ", 1) for line in t.splitlines() if " " in line)
    assert effective["kexalgorithms"] == ("mlkem768x25519-sha256,sntrup761x25519-sha512,"
                                          "curve25519-sha256,curve25519-sha256@libssh.org")
    assert effective["ciphers"] == ("chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
                                    "aes128-gcm@openssh.com")
    assert all("-etm@openssh.com" in m for m in effective["macs"].split(","))
    assert not re.search(r"ecdsa|ssh-rsa|dss", effective["hostkeyalgorithms"])
    assert effective["logingracetime"] == "30" and effective["maxauthtries"] == "3"
    assert effective["maxstartups"] == "10:30:60" and effective["persourcemaxstartups"] == "3"
    assert effective["persourcepenalties"].startswith("crash:90 authfail:5 invaliduser:5 noauth:1")


def test_every_line_is_explained():
    # Blank-line separated blocks: each one that sets something opens with its comment, and
    # nothing is set without one.
    blocks = [b.splitlines() for b in HARDENED.read_text().split("\n\n")]
    settings = [b for b in blocks if any(line and not line.startswith("#") for line in b)]
    assert len(settings) >= 9
    for b in settings:
        assert b[0].startswith("#"), b


def test_real_ssh_logs_in_under_it(make_server, user):
    s = hardened_server(make_server)
    r = s.ssh("echo hardened-ok", options=("HostKeyAlgorithms=ssh-ed25519",))
    assert r.returncode == 0 and r.stdout == "hardened-ok\n", r.stderr + s.log_text()
    # Debian 12's client (9.2) does not know mlkem768x25519-sha256, the server's first choice,
    # and meets it at the sntrup761 hybrid, its own first.
    r = s.ssh("true", extra=("-v",))
    assert r.returncode == 0, r.stderr
    assert "kex: algorithm: sntrup761x25519-sha512\n" in r.stderr, r.stderr
    # And something the drop-in removed is really gone.
    r = s.ssh("true", options=("KexAlgorithms=ecdh-sha2-nistp256",))
    assert r.returncode == 255
    assert s.wait_log("no matching key exchange method found"), s.log_text()


def test_ssh_audit_finds_nothing_but_names_it_does_not_know(make_server):
    s = hardened_server(make_server)
    findings, offered = ssh_audit(s.port)
    assert {e["algorithm"] for e in offered["kex"]} == {
        "mlkem768x25519-sha256", "sntrup761x25519-sha512", "curve25519-sha256",
        "curve25519-sha256@libssh.org", "kex-strict-s-v00@openssh.com"}
    assert {e["algorithm"] for e in offered["key"]} == {"ssh-ed25519", "rsa-sha2-512",
                                                        "rsa-sha2-256"}
    assert set(offered["enc"]) == {"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
                                   "aes128-gcm@openssh.com"}
    for (section, name), notes in findings.items():
        assert name in UNKNOWN_TO_SSH_AUDIT and notes == [("warn", "unknown algorithm")], \
            (section, name, notes)
    assert {name for _, name in findings} == {"kex-strict-s-v00@openssh.com",
                                              "sntrup761x25519-sha512", "mlkem768x25519-sha256"}


def test_ssh_audit_does_flag_the_defaults(make_server):
    # The same parse on postern's defaults: ssh-audit does fail and warn there (NIST curves,
    # SHA-1 MACs, encrypt-and-MAC), so the test above can see a finding when there is one.
    s = make_server()
    findings, _ = ssh_audit(s.port)
    levels = {level for notes in findings.values() for level, _ in notes}
    assert levels == {"fail", "warn"}, findings
    assert ("kex", "ecdh-sha2-nistp256") in findings and ("mac", "hmac-sha1") in findings
