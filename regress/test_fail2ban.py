"""fail2ban (issue 16): Debian's fail2ban-regex with the stock sshd filter, in normal and
aggressive mode, over a log postern wrote while this test failed to log in every way a client
can (regress/failed_logins.py: an invalid user, a wrong password, a refused key, too many
authentication failures, a connection closed before authentication, and a source
PerSourcePenalties then refuses)."""

import ast
import re
import shutil
import subprocess

import pytest

from failed_logins import FAILURE_LINES, PENALTY_LINES, as_syslog, log_every_failed_login
from failed_logins import fail_user  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not (shutil.which("fail2ban-regex") and shutil.which("sshpass")),
                                reason="fail2ban or sshpass not installed")


def fail2ban_failures(log_file, mode):
    """The log lines the sshd filter counts as failures: one per failure it reports. With
    `-o matches` it prints each failure as the list of its connection's lines it matched so far
    (helper lines first); the last one is the failure."""
    r = subprocess.run(["fail2ban-regex", "-o", "matches", str(log_file), f"sshd[mode={mode}]"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    failures = []
    for line in r.stdout.splitlines():
        matches = ast.literal_eval(line)
        failures.append(matches[-1][2].split("]: ", 1)[1])
    return failures


# The filter modes that must count each kind as a failure. Connections closed before
# authentication are failures only in aggressive mode, by the filter's design (normal mode reads
# them as helper lines).
MODES = {
    "invalid user": ("normal", "aggressive"),
    "invalid user password": ("normal", "aggressive"),
    "wrong password": ("normal", "aggressive"),
    # The stock filter's publickey=nofail: a refused key of a real account is no failure by
    # itself (clients try several keys); the connection's close is, in aggressive mode.
    "refused key": (),
    "too many failures": ("normal", "aggressive"),
    "too many failures, disconnect": (),  # the filter counts the line before it
    "closed before auth": ("aggressive",),
    "closed, invalid user": ("aggressive",),
    "closed while authenticating": ("aggressive",),
}


def test_stock_sshd_filter_matches_every_failed_login(make_server, fail_user, tmp_path):
    s = log_every_failed_login(make_server)
    log = tmp_path / "auth.log"
    log.write_text(as_syslog(s.log_text()))
    lines = s.log_text().splitlines()
    assert set(MODES) == set(FAILURE_LINES)
    # PerSourcePenalties' lines are in the log (fail2ban 1.0.2's filter predates them; the
    # failures that earned the penalty are matched below).
    for pattern in PENALTY_LINES.values():
        assert any(re.match(pattern, line) for line in lines), s.log_text()

    for mode in ("normal", "aggressive"):
        failures = fail2ban_failures(log, mode)
        # Every failure is one of the kinds (nothing else in the log is a failure).
        assert all(any(re.match(p, f) for p in FAILURE_LINES.values()) for f in failures), failures
        for kind, pattern in FAILURE_LINES.items():
            matched = sum(1 for f in failures if re.match(pattern, f))
            in_log = sum(1 for line in lines if re.match(pattern, line))
            assert matched == (in_log if mode in MODES[kind] else 0), (mode, kind, failures)
