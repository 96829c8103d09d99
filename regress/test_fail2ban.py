"""fail2ban (issue 16): Debian's fail2ban-regex with the stock sshd filter, in normal and
aggressive mode, over a log postern wrote while this test failed to log in every way a client
can: an invalid user, a wrong password, a refused key, too many authentication failures, a
connection closed before authentication, and a source PerSourcePenalties then refuses.

postern writes its -E log as OpenSSH does, without a syslog header; the filter wants
`HOST sshd[PID]: message`, which syslog would add. The test adds that header the way syslog
would, one pid per connection (each connection's monitor is a process of its own)."""

import ast
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

F2B_USER = "postern-f2b"
PASSWORD = "Tr0ub4dor-f2b"

pytestmark = pytest.mark.skipif(not (shutil.which("fail2ban-regex") and shutil.which("sshpass")),
                                reason="fail2ban or sshpass not installed")


@pytest.fixture(scope="module")
def f2b_user(keydir):
    subprocess.run(["userdel", "-r", F2B_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", F2B_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{F2B_USER}:{PASSWORD}\n", text=True, check=True)
    pw = pwd.getpwnam(F2B_USER)
    ssh_dir = Path(pw.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((keydir / "id_ed25519.pub").read_text())
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    yield pw
    subprocess.run(["pkill", "-KILL", "-u", F2B_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", F2B_USER], stderr=subprocess.DEVNULL)


def password_login(server, user, password, source):
    args = ["sshpass", "-p", password] + server.ssh_args(
        user=user, options=("BatchMode=no", "PreferredAuthentications=password",
                            "NumberOfPasswordPrompts=1", "PubkeyAuthentication=no",
                            f"BindAddress={source}"))
    return subprocess.run(args + ["true"], capture_output=True, text=True, timeout=30)


def as_syslog(log_text):
    """postern's -E lines with the header syslog gives them: date, host, sshd[PID]. A new pid
    at each "Connection from" line, as each connection is a process of its own."""
    pid, out = 1000, []
    for line in log_text.splitlines():
        if line.startswith("Connection from "):
            pid += 1
        out.append(f"Dec  7 13:40:00 bastion sshd[{pid}]: {line}")
    return "\n".join(out) + "\n"


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


# Each kind of failure: the line postern logs for it (OpenSSH's wording) and the filter modes
# that must count it as a failure. Connections closed before authentication are failures only
# in aggressive mode, by the filter's design (normal mode reads them as helper lines).
ADDR = r"127\.0\.0\.\d+"
KINDS = {
    "invalid user": (rf"^Invalid user postern-nosuch from {ADDR} port \d+$", ("normal", "aggressive")),
    "invalid user password": (rf"^Failed password for invalid user postern-nosuch from {ADDR} port \d+ ssh2$",
                              ("normal", "aggressive")),
    "wrong password": (rf"^Failed password for {F2B_USER} from {ADDR} port \d+ ssh2$",
                       ("normal", "aggressive")),
    # The stock filter's publickey=nofail: a refused key of a real account is no failure by
    # itself (clients try several keys); the connection's close is, in aggressive mode.
    "refused key": (rf"^Failed publickey for {F2B_USER} from {ADDR} port \d+ ssh2: ED25519 SHA256:\S+$",
                    ()),
    "too many failures": (rf"^(error: )?maximum authentication attempts exceeded for {F2B_USER} from "
                          rf"{ADDR} port \d+ ssh2 \[preauth\]$", ("normal", "aggressive")),
    "too many failures, disconnect": (rf"^Disconnecting authenticating user {F2B_USER} {ADDR} "
                                      r"port \d+: Too many authentication failures \[preauth\]$",
                                      ()),  # the filter counts the line before it
    "closed before auth": (rf"^Connection closed by {ADDR} port \d+ \[preauth\]$", ("aggressive",)),
    "closed, invalid user": (rf"^Connection closed by invalid user postern-nosuch {ADDR} port \d+ "
                             r"\[preauth\]$", ("aggressive",)),
    "closed while authenticating": (rf"^Connection closed by authenticating user {F2B_USER} {ADDR} "
                                    r"port \d+ \[preauth\]$", ("aggressive",)),
}


def test_stock_sshd_filter_matches_every_failed_login(make_server, f2b_user, tmp_path):
    # Each kind from its own address, so PerSourcePenalties refuses none of them; then
    # 127.0.0.9 fails until its penalty is active and it is refused.
    s = make_server("UsePAM no\nPasswordAuthentication yes\nMaxAuthTries 2\n"
                    "PerSourcePenalties authfail:5s noauth:0s min:8s max:60s\n")
    bind = lambda n: (f"BindAddress=127.0.0.{n}",)  # noqa: E731
    # Closed before authentication: the version line, then nothing.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5, source_address=("127.0.0.2", 0)) as c:
        c.recv(256)
        c.sendall(b"SSH-2.0-closer\r\n")
        time.sleep(0.2)
    # Invalid user, with a password.
    assert password_login(s, "postern-nosuch", PASSWORD, "127.0.0.3").returncode == 255
    # A wrong password for a real account.
    assert password_login(s, F2B_USER, "wrong-password", "127.0.0.4").returncode == 255
    # A refused key: offered, not in authorized_keys; the client then gives up.
    assert s.ssh("true", key="id_other", user=F2B_USER, options=bind(5)).returncode == 255
    # Too many failures: three keys the account does not list, MaxAuthTries 2.
    too_many = s.ssh("true", key="id_other", user=F2B_USER,
                     options=bind(6) + ("IdentityFile=" + str(s.keydir / "id_rsa"),
                                        "IdentityFile=" + str(s.keydir / "id_ecdsa")))
    assert too_many.returncode == 255
    # PerSourcePenalties: two failed passwords make 127.0.0.9's penalty active; then it is refused.
    for _ in range(2):
        assert password_login(s, F2B_USER, "wrong-password", "127.0.0.9").returncode == 255
    assert s.wait_log("srclimit_penalise: ipv4: update 127.0.0.9/32 active penalty"), s.log_text()
    assert password_login(s, F2B_USER, PASSWORD, "127.0.0.9").returncode == 255
    assert s.wait_log("drop connection #0 from [127.0.0.9]:")
    log = tmp_path / "auth.log"
    log.write_text(as_syslog(s.log_text()))

    lines = s.log_text().splitlines()
    for kind, (pattern, _) in KINDS.items():
        assert any(re.match(pattern, line) for line in lines), f"{kind}: no line\n" + s.log_text()
    # PerSourcePenalties in OpenSSH 9.8's words (fail2ban 1.0.2's filter predates them; the
    # failures that earned the penalty are matched above).
    assert any(re.match(r"^srclimit_penalise: ipv4: update 127\.0\.0\.9/32 active "
                        r"penalty of \d+ seconds for penalty: failed authentication$", line)
               for line in lines), s.log_text()

    for mode in ("normal", "aggressive"):
        failures = fail2ban_failures(log, mode)
        # Every failure is one of the kinds below (nothing else in the log is a failure).
        assert all(any(re.match(p, f) for p, _ in KINDS.values()) for f in failures), failures
        for kind, (pattern, modes) in KINDS.items():
            matched = sum(1 for f in failures if re.match(pattern, f))
            in_log = sum(1 for line in lines if re.match(pattern, line))
            assert matched == (in_log if mode in modes else 0), (mode, kind, failures)
