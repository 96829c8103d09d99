"""Fixtures for postern's integration tests: a built server started on a free 127.0.0.1 port with
its own host keys and config, a throwaway Unix user with a key, and helpers that drive the real
OpenSSH client (and other real clients) against it."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("POSTERN_BUILD", TOP / "build"))
SSHD = BUILD / "monitor" / "sshd"
# One account per test run, named after the run's pid, so parallel runs never delete each
# other's user; accounts left by runs that died are removed when the next run starts.
TEST_USER_PREFIX = "postern-t"
TEST_USER = f"{TEST_USER_PREFIX}{os.getpid()}"


def remove_stale_test_users():
    for pw in pwd.getpwall():
        rest = pw.pw_name[len(TEST_USER_PREFIX):]
        if pw.pw_name.startswith(TEST_USER_PREFIX) and rest.isdigit() and int(rest) != os.getpid():
            if not os.path.exists(f"/proc/{rest}"):
                subprocess.run(["pkill", "-KILL", "-u", pw.pw_name], stderr=subprocess.DEVNULL)
                subprocess.run(["userdel", "-r", pw.pw_name], stderr=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def keydir():
    d = Path(tempfile.mkdtemp(prefix="postern-keys-"))
    os.chmod(d, 0o755)
    host_keys = {"ed25519": ["-t", "ed25519"], "ecdsa": ["-t", "ecdsa", "-b", "256"],
                 "ecdsa384": ["-t", "ecdsa", "-b", "384"], "ecdsa521": ["-t", "ecdsa", "-b", "521"],
                 "rsa": ["-t", "rsa", "-b", "3072"]}
    for name, args in host_keys.items():
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", f"host {name}", "-f", str(d / f"host_{name}")]
                       + args, check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "id_ed25519")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", str(d / "id_rsa")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(d / "id_ecdsa")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "id_other")], check=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def user(keydir):
    """A real account whose authorized_keys holds the test keys (not id_other)."""
    remove_stale_test_users()
    subprocess.run(["userdel", "-r", TEST_USER], stderr=subprocess.DEVNULL)
    # "*": no password, but not a locked account ("!"), which sshd refuses without PAM.
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-p", "*", TEST_USER], check=True)
    pw = pwd.getpwnam(TEST_USER)
    ssh_dir = Path(pw.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    keys = "".join((keydir / f"id_{k}.pub").read_text() for k in ("ed25519", "rsa", "ecdsa"))
    (ssh_dir / "authorized_keys").write_text(keys)
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    yield pw
    subprocess.run(["pkill", "-KILL", "-u", TEST_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", TEST_USER], stderr=subprocess.DEVNULL)


class Server:
    def __init__(self, keydir, workdir, extra_config="", args=()):
        self.keydir = keydir
        self.dir = workdir
        self.port = free_port()
        self.config = workdir / "sshd_config"
        self.log = workdir / "sshd.log"
        self.pidfile = workdir / "sshd.pid"
        host_keys = "\n".join(f"HostKey {keydir}/host_{t}" for t in ("ed25519", "ecdsa", "rsa"))
        self.config.write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\n{host_keys}\nPidFile {self.pidfile}\n"
            f"LogLevel VERBOSE\n{extra_config}\n")
        self.args = list(args)
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)] + self.args,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        if not wait_for_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("server did not start:\n" + self.log_text())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "logf", None):
            self.logf.close()

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, needle, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False

    def ssh_args(self, key="id_ed25519", user=TEST_USER, options=()):
        # ssh takes the first value of an option: the test's own options go first.
        args = ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", str(self.keydir / key)]
        for o in options:
            args += ["-o", o]
        args += ["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", f"UserKnownHostsFile={self.dir}/known_hosts", "-o", "LogLevel=ERROR"]
        return args + [f"{user}@127.0.0.1"]

    def ssh(self, command, key="id_ed25519", user=TEST_USER, options=(), input=None, timeout=60,
            extra=(), text=True):
        args = self.ssh_args(key, user, options) + list(extra)
        if command is not None:
            args.append(command)
        return subprocess.run(args, input=input, capture_output=True, timeout=timeout, text=text)


@pytest.fixture
def make_server(keydir, tmp_path):
    servers = []

    def make(extra_config="", args=(), start=True):
        s = Server(keydir, tmp_path, extra_config, args)
        servers.append(s)
        return s.start() if start else s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server, user):
    return make_server()
