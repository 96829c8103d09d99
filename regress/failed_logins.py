"""A log of every way a login to postern can fail, for the tests that read it with the log
parsers of fail2ban (test_fail2ban.py) and sshguard (test_sshguard.py): an invalid user, a wrong
password, a refused key, too many authentication failures, a connection closed before
authentication, and a source PerSourcePenalties then refuses. Each kind comes from its own
loopback address, so PerSourcePenalties refuses none of them; 127.0.0.9 fails until its
penalty is active and it is refused.

postern writes its -E log as OpenSSH does, without a syslog header; the parsers want
`HOST sshd[PID]: message`, which syslog would add. as_syslog() adds that header the way syslog
would, one pid per connection (each connection's monitor is a process of its own)."""

import os
import pwd
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

FAIL_USER = "postern-f2b"
PASSWORD = "Tr0ub4dor-f2b"
INVALID_USER = "postern-nosuch"
PENALISED = "127.0.0.9"

# Each kind of failure and the line postern logs for it (OpenSSH's wording).
ADDR = r"127\.0\.0\.\d+"
FAILURE_LINES = {
    "invalid user": rf"^Invalid user {INVALID_USER} from {ADDR} port \d+$",
    "invalid user password": rf"^Failed password for invalid user {INVALID_USER} from {ADDR} "
                             r"port \d+ ssh2$",
    "wrong password": rf"^Failed password for {FAIL_USER} from {ADDR} port \d+ ssh2$",
    "refused key": rf"^Failed publickey for {FAIL_USER} from {ADDR} port \d+ ssh2: \S+ "
                   r"SHA256:\S+$",
    "too many failures": rf"^(error: )?maximum authentication attempts exceeded for {FAIL_USER} "
                         rf"from {ADDR} port \d+ ssh2 \[preauth\]$",
    "too many failures, disconnect": rf"^Disconnecting authenticating user {FAIL_USER} {ADDR} "
                                     r"port \d+: Too many authentication failures \[preauth\]$",
    "closed before auth": rf"^Connection closed by {ADDR} port \d+ \[preauth\]$",
    "closed, invalid user": rf"^Connection closed by invalid user {INVALID_USER} {ADDR} port \d+ "
                            r"\[preauth\]$",
    "closed while authenticating": rf"^Connection closed by authenticating user {FAIL_USER} "
                                   rf"{ADDR} port \d+ \[preauth\]$",
}
# PerSourcePenalties in OpenSSH 9.8's words: the penalty becoming active, and a refused source.
PENALTY_LINES = {
    "penalty active": r"^srclimit_penalise: ipv4: update 127\.0\.0\.9/32 active penalty of \d+ "
                      r"seconds for penalty: failed authentication$",
    "penalty refusal": r"^drop connection #\d+ from \[127\.0\.0\.9\]:\d+ on \[127\.0\.0\.1\]:\d+ "
                       r"penalty: failed authentication$",
}


@pytest.fixture(scope="module")
def fail_user(keydir):
    subprocess.run(["userdel", "-r", FAIL_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", FAIL_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{FAIL_USER}:{PASSWORD}\n", text=True, check=True)
    pw = pwd.getpwnam(FAIL_USER)
    ssh_dir = Path(pw.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((keydir / "id_ed25519.pub").read_text())
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    yield pw
    subprocess.run(["pkill", "-KILL", "-u", FAIL_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", FAIL_USER], stderr=subprocess.DEVNULL)


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


def log_every_failed_login(make_server):
    """A server that has logged each kind of FAILURE_LINES and PENALTY_LINES at least once."""
    s = make_server("UsePAM no\nPasswordAuthentication yes\nMaxAuthTries 2\n"
                    "PerSourcePenalties authfail:7s invaliduser:5s noauth:0s min:8s max:60s\n")
    bind = lambda n: (f"BindAddress=127.0.0.{n}",)  # noqa: E731
    # Closed before authentication: the version line, then nothing.
    with socket.create_connection(("127.0.0.1", s.port), timeout=5,
                                  source_address=("127.0.0.2", 0)) as c:
        c.recv(256)
        c.sendall(b"SSH-2.0-closer\r\n")
        time.sleep(0.2)
    # Invalid user, with a password.
    assert password_login(s, INVALID_USER, PASSWORD, "127.0.0.3").returncode == 255
    # A wrong password for a real account.
    assert password_login(s, FAIL_USER, "wrong-password", "127.0.0.4").returncode == 255
    # A refused key: offered, not in authorized_keys; the client then gives up.
    assert s.ssh("true", key="id_other", user=FAIL_USER, options=bind(5)).returncode == 255
    # Too many failures: three keys the account does not list, MaxAuthTries 2.
    too_many = s.ssh("true", key="id_other", user=FAIL_USER,
                     options=bind(6) + ("IdentityFile=" + str(s.keydir / "id_rsa"),
                                        "IdentityFile=" + str(s.keydir / "id_ecdsa")))
    assert too_many.returncode == 255
    # PerSourcePenalties: two failed passwords make 127.0.0.9's penalty active (7 s each against a
    # min of 8, with room for a slow machine between them); then it is refused.
    for _ in range(2):
        assert password_login(s, FAIL_USER, "wrong-password", PENALISED).returncode == 255
    assert s.wait_log("srclimit_penalise: ipv4: update 127.0.0.9/32 active penalty"), s.log_text()
    assert password_login(s, FAIL_USER, PASSWORD, PENALISED).returncode == 255
    assert s.wait_log("drop connection #0 from [127.0.0.9]:")
    lines = s.log_text().splitlines()
    for kind, pattern in {**FAILURE_LINES, **PENALTY_LINES}.items():
        assert any(re.match(pattern, line) for line in lines), f"{kind}: no line\n" + s.log_text()
    return s
