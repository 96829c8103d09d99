"""Password authentication (RFC 4252 §8) with the real ssh client driven by sshpass, through PAM
(UsePAM yes) and through crypt(3) against /etc/shadow (UsePAM no), with OpenSSH's log lines."""

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

PW_USER = "postern-pw"
PASSWORD = "Corr3ct-horse-pw"

pytestmark = pytest.mark.skipif(not shutil.which("sshpass"), reason="sshpass not installed")


@pytest.fixture(scope="module")
def pw_user(keydir):
    """An account of its own (other tests use postern-test without a password) with a real
    password and the test key in authorized_keys."""
    subprocess.run(["userdel", "-r", PW_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", PW_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{PW_USER}:{PASSWORD}\n", text=True, check=True)
    pw = pwd.getpwnam(PW_USER)
    ssh_dir = Path(pw.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((keydir / "id_ed25519.pub").read_text())
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    for p in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    yield pw
    subprocess.run(["pkill", "-KILL", "-u", PW_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", PW_USER], stderr=subprocess.DEVNULL)


def ssh_password(server, password, user=PW_USER, command="echo pw-ok", methods="password"):
    args = ["sshpass", "-p", password] + server.ssh_args(
        user=user, options=("BatchMode=no", f"PreferredAuthentications={methods}",
                            "NumberOfPasswordPrompts=1", "PubkeyAuthentication=no"
                            if methods == "password" else "PubkeyAuthentication=yes"))
    return subprocess.run(args + [command], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("use_pam", ["yes", "no"])
def test_password_accepted(make_server, pw_user, use_pam):
    s = make_server(f"UsePAM {use_pam}\nPasswordAuthentication yes")
    r = ssh_password(s, PASSWORD)
    assert r.returncode == 0 and r.stdout == "pw-ok\n", r.stderr + s.log_text()
    assert s.wait_log(f"Accepted password for {PW_USER} from 127.0.0.1 port ")


@pytest.mark.parametrize("use_pam", ["yes", "no"])
def test_wrong_password_refused(make_server, pw_user, use_pam):
    s = make_server(f"UsePAM {use_pam}")
    r = ssh_password(s, "not-the-password")
    assert r.returncode != 0 and "pw-ok" not in r.stdout
    assert s.wait_log(f"Failed password for {PW_USER} from 127.0.0.1 port ")
    assert "Accepted" not in s.log_text()


def test_invalid_user_logged(make_server, pw_user):
    s = make_server("UsePAM no")
    r = ssh_password(s, PASSWORD, user="postern-nosuch")
    assert r.returncode != 0
    assert s.wait_log("Failed password for invalid user postern-nosuch from 127.0.0.1 port ")


def test_password_authentication_no(make_server, pw_user):
    s = make_server("PasswordAuthentication no")
    r = ssh_password(s, PASSWORD)
    assert r.returncode != 0
    # The method is not offered at all.
    assert "Permission denied (publickey)" in r.stderr, r.stderr
    assert "Accepted password" not in s.log_text()


def test_locked_account_refused_without_pam(make_server, pw_user):
    subprocess.run(["usermod", "-L", PW_USER], check=True)
    try:
        s = make_server("UsePAM no")
        r = ssh_password(s, PASSWORD)
        assert r.returncode != 0
        assert s.wait_log(f"Failed password for {PW_USER} from 127.0.0.1 port ")
    finally:
        subprocess.run(["usermod", "-U", PW_USER], check=True)


@pytest.mark.parametrize("permit", ["yes", "no"])
def test_permit_empty_passwords(make_server, pw_user, permit):
    subprocess.run(["passwd", "-d", PW_USER], check=True, capture_output=True)
    try:
        s = make_server(f"UsePAM no\nPermitEmptyPasswords {permit}")
        r = ssh_password(s, "")
        if permit == "yes":
            assert r.returncode == 0 and r.stdout == "pw-ok\n", r.stderr + s.log_text()
        else:
            assert r.returncode != 0
            assert s.wait_log(f"Failed password for {PW_USER} from 127.0.0.1 port ")
    finally:
        subprocess.run(["chpasswd"], input=f"{PW_USER}:{PASSWORD}\n", text=True, check=True)


def test_paramiko_password(make_server, pw_user):
    paramiko = pytest.importorskip("paramiko")
    s = make_server("UsePAM yes")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=s.port, username=PW_USER, password=PASSWORD, look_for_keys=False,
              allow_agent=False)
    try:
        _, out, _ = c.exec_command("echo paramiko-pw")
        assert out.read() == b"paramiko-pw\n"
    finally:
        c.close()


def test_paramiko_keyboard_interactive(make_server, pw_user):
    paramiko = pytest.importorskip("paramiko")
    s = make_server("UsePAM yes\nPasswordAuthentication no\nKbdInteractiveAuthentication yes")
    t = paramiko.Transport(("127.0.0.1", s.port))
    try:
        t.start_client(timeout=30)
        prompts = []

        def handler(title, instructions, fields):
            prompts.extend(fields)
            return [PASSWORD for _ in fields]

        t.auth_interactive(PW_USER, handler)
        assert t.is_authenticated()
        assert prompts == [("Password: ", False)]
    finally:
        t.close()
    assert s.wait_log(f"Accepted keyboard-interactive/pam for {PW_USER} from 127.0.0.1 port ")


def test_keyboard_interactive_wrong_answer(make_server, pw_user):
    paramiko = pytest.importorskip("paramiko")
    s = make_server("UsePAM yes")
    t = paramiko.Transport(("127.0.0.1", s.port))
    try:
        t.start_client(timeout=30)
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_interactive(PW_USER, lambda title, inst, fields: ["wrong" for _ in fields])
    finally:
        t.close()
    assert s.wait_log(f"Failed keyboard-interactive/pam for {PW_USER} from 127.0.0.1 port ")


@pytest.mark.skipif(not shutil.which("plink"), reason="putty-tools not installed")
def test_plink_password(make_server, pw_user, keydir):
    s = make_server("UsePAM yes")
    fp = subprocess.run(["ssh-keygen", "-lf", str(keydir / "host_ed25519.pub")], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    r = subprocess.run(["plink", "-batch", "-ssh", "-P", str(s.port), "-pw", PASSWORD, "-hostkey", fp,
                        f"{PW_USER}@127.0.0.1", "echo plink-pw"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.stdout == "plink-pw\n", r.stderr + s.log_text()
    assert s.wait_log(f"for {PW_USER} from 127.0.0.1 port ")


def test_authentication_methods_publickey_and_password(make_server, pw_user):
    s = make_server("UsePAM yes\nAuthenticationMethods publickey,password publickey,keyboard-interactive")
    args = ["sshpass", "-p", PASSWORD] + s.ssh_args(
        user=PW_USER, options=("BatchMode=no", "LogLevel=DEBUG1", "NumberOfPasswordPrompts=1",
                               "PreferredAuthentications=publickey,password"))
    r = subprocess.run(args + ["echo both-ok"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "both-ok\n", r.stderr[-2000:] + s.log_text()
    assert 'Authenticated using "publickey" with partial success' in r.stderr
    assert s.wait_log(f"Partial publickey for {PW_USER} from 127.0.0.1 port ")
    assert s.wait_log(f"Accepted password for {PW_USER} from 127.0.0.1 port ")


def test_authentication_methods_one_is_not_enough(make_server, pw_user):
    s = make_server("UsePAM yes\nAuthenticationMethods publickey,password")
    # The key alone: partial success, then nothing left the client can do in batch mode.
    r = s.ssh("echo no", user=PW_USER)
    assert r.returncode != 0 and "no" not in r.stdout
    # The password alone is not even offered first.
    r = ssh_password(s, PASSWORD)
    assert r.returncode != 0
    assert "Accepted password" not in s.log_text()
    assert "Postponed publickey" in s.log_text()



def test_expose_auth_info(make_server, pw_user, keydir):
    s = make_server("UsePAM yes\nExposeAuthInfo yes\nAuthenticationMethods publickey,password")
    args = ["sshpass", "-p", PASSWORD] + s.ssh_args(
        user=PW_USER, options=("BatchMode=no", "NumberOfPasswordPrompts=1",
                               "PreferredAuthentications=publickey,password"))
    r = subprocess.run(args + ['cat "$SSH_USER_AUTH"; stat -c %U:%a "$SSH_USER_AUTH"'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + s.log_text()
    key = (keydir / "id_ed25519.pub").read_text().split()
    assert r.stdout.splitlines() == [f"publickey {key[0]} {key[1]}", "password", f"{PW_USER}:600"]


def test_no_auth_info_by_default(make_server, pw_user):
    s = make_server()
    r = s.ssh('echo "[$SSH_USER_AUTH]"', user=PW_USER)
    assert r.stdout == "[]\n", r.stderr
