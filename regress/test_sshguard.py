"""sshguard (Debian's package): its own log parser, sshg-parser, reads syslog lines on stdin and
prints one line per attack it recognises, "SERVICE ADDRESS FAMILY DANGER". Every failed login
postern logs (regress/failed_logins.py: an invalid user, a wrong password, a refused key, too
many failures, a connection closed before authentication, a source PerSourcePenalties refuses)
must be seen as an attack from the client's address, as sshguard sees OpenSSH's own lines."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from failed_logins import (FAILURE_LINES, PENALISED, PENALTY_LINES, as_syslog,
                           log_every_failed_login)
from failed_logins import fail_user  # noqa: F401  (a fixture)

SSHG_PARSER = Path("/usr/libexec/sshguard/sshg-parser")
SSHD_SERVICE = "100"  # sshguard's number for sshd

pytestmark = pytest.mark.skipif(not (SSHG_PARSER.exists() and shutil.which("sshpass")),
                                reason="sshguard or sshpass not installed")

# Whether sshguard 2.4.2 counts each kind as an attack by itself, as it does for OpenSSH's
# identical lines. It ignores the "Disconnecting ... Too many authentication failures" line (the
# "maximum authentication attempts exceeded" line before it is the attack). A refused key's
# line it reads or not depending on the key's fingerprint text (its lexer; OpenSSH's line is the
# same), so either is right there, and the connection's close that follows is the attack.
EITHER = None
ATTACKS = {
    "invalid user": True,
    "invalid user password": True,
    "wrong password": True,
    "refused key": EITHER,
    "too many failures": True,
    "too many failures, disconnect": False,
    "closed before auth": True,
    "closed, invalid user": True,
    "closed while authenticating": True,
}


def sshguard_attack(syslog_line):
    """The (service, address) sshg-parser reports for one line, or None."""
    r = subprocess.run([str(SSHG_PARSER)], input=syslog_line + "\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    return (words[0], words[1]) if words else None


def test_sshguard_sees_every_failed_login(make_server, fail_user, tmp_path):
    s = log_every_failed_login(make_server)
    assert set(ATTACKS) == set(FAILURE_LINES)
    plain = s.log_text().splitlines()
    framed = as_syslog(s.log_text()).splitlines()
    attackers = set()
    for line, syslog_line in zip(plain, framed):
        attack = sshguard_attack(syslog_line)
        kinds = [k for k, p in FAILURE_LINES.items() if re.match(p, line)]
        expected = ATTACKS[kinds[0]] if kinds else False
        if expected is EITHER and attack is None:
            continue
        if expected is not False:
            address = re.search(r"127\.0\.0\.\d+", line).group(0)
            assert attack == (SSHD_SERVICE, address), (kinds[0], line)
            attackers.add(address)
        else:
            # Nothing else postern logs is an attack: not the logins that worked, the
            # connection lines, nor the kinds sshguard leaves to the line next to them.
            assert attack is None, line
    # Every client that failed is an attacker, the one whose key was refused and the one
    # PerSourcePenalties refused included (sshguard 2.4.2 predates OpenSSH 9.8's penalty lines,
    # which it reads as nothing, as it does OpenSSH's; the failures that earned it count).
    # (127.0.0.1 is the fixture's readiness probe, itself a connection closed before
    # authentication.)
    assert attackers - {"127.0.0.1"} == {f"127.0.0.{n}" for n in (2, 3, 4, 5, 6)} | {PENALISED}
    for pattern in PENALTY_LINES.values():
        assert any(re.match(pattern, line) for line in plain), s.log_text()
