"""Bastion mode, TOTP for policy users (man/postern-bastion.5 [[user]] totp): after the key, a
keyboard-interactive "Verification code: " step checked by the monitor (RFC 6238, 30 s steps,
6 digits, one step either side), no code accepted twice. oathtool makes the codes; stock ssh
(through sshpass) and paramiko answer. Each test has its own user, so one test's accepted code
does not make another's a replay."""

import base64
import os
import socket
import subprocess
import tempfile
import time
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy

USERS = ("mfa-ssh", "mfa-replay", "mfa-wrong", "mfa-keyonly")


@pytest.fixture(scope="module")
def z(keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-totp-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        secrets = {u: base64.b32encode(os.urandom(20)).decode() for u in USERS}
        keys = dict(zip(USERS, ("alice", "bob", "carol", "dave")))
        for u in USERS:
            p.user(u, env.pub(keys[u]), totp=secrets[u])
        p.user("plain", env.pub("erin"))
        p.target("web1", "127.0.0.1", target.port, [tu])
        p.role("ops", list(USERS) + ["plain"], ["web1"], [tu], ["exec"])
        bastion = env.make_bastion(p)
        yield SimpleNamespace(env=env, bastion=bastion, tu=tu, secrets=secrets, keys=keys)
    finally:
        env.close()


def code(z, who, at=None):
    args = ["oathtool", "--totp", "-b", z.secrets[who]]
    if at is not None:
        args += ["-N", f"@{int(at)}"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def ssh_with_code(z, who, answer, command="echo ok"):
    """Stock ssh, key then keyboard-interactive; sshpass types the code at our prompt."""
    args = z.bastion.ssh_args(f"{z.tu}%web1%{who}", z.env.keys[z.keys[who]],
                              options=["BatchMode=no", "KbdInteractiveAuthentication=yes",
                                       "PreferredAuthentications=publickey,keyboard-interactive",
                                       "NumberOfPasswordPrompts=1"])
    return subprocess.run(["sshpass", "-P", "Verification code", "-p", answer] + args + [command],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def paramiko_login(z, who, answer):
    """The key, then the code through paramiko; returns (methods after the key, prompts seen,
    whether the code logged in, exec output)."""
    paramiko = pytest.importorskip("paramiko")
    sock = socket.create_connection(("127.0.0.1", z.bastion.port), timeout=10)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=10)
        key = paramiko.Ed25519Key.from_private_key_file(str(z.env.keys[z.keys[who]]))
        user = f"{z.tu}%web1%{who}"
        after_key = t.auth_publickey(user, key)
        prompts = []

        def handler(title, instructions, prompt_list):
            prompts.extend(prompt_list)
            return [answer for _ in prompt_list]

        try:
            t.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return after_key, prompts, False, None
        ch = t.open_session()
        ch.exec_command("echo in")
        out = ch.makefile().read().decode()
        ch.recv_exit_status()
        return after_key, prompts, True, out
    finally:
        t.close()


def test_right_code_logs_in_with_stock_ssh(z):
    r = ssh_with_code(z, "mfa-ssh", code(z, "mfa-ssh"))
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr
    assert "Accepted keyboard-interactive/totp for mfa-ssh" in z.bastion.log_text()


def test_a_code_is_accepted_once_across_connections(z):
    now = time.time()
    c = code(z, "mfa-replay", now)
    after_key, prompts, ok, out = paramiko_login(z, "mfa-replay", c)
    assert after_key == ["keyboard-interactive"]  # the key alone is a partial success
    assert [p for p, echo in prompts] == ["Verification code: "]
    assert [echo for p, echo in prompts] == [False]
    assert ok and out == "in\n"
    # The same code on a new connection, and the previous step's code after it: refused.
    assert paramiko_login(z, "mfa-replay", c)[2] is False
    assert paramiko_login(z, "mfa-replay", code(z, "mfa-replay", now - 30))[2] is False
    log = z.bastion.log_text()
    assert "Failed keyboard-interactive/totp for mfa-replay" in log and "code used already" in log
    # The next step's code (within the window) is still good once.
    nxt = code(z, "mfa-replay", now + 30)
    assert paramiko_login(z, "mfa-replay", nxt)[2] is True
    assert ssh_with_code(z, "mfa-replay", nxt).returncode != 0


def test_wrong_code_is_refused(z):
    now = time.time()
    valid = {code(z, "mfa-wrong", now + d) for d in (-60, -30, 0, 30, 60)}
    wrong = next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in valid)
    r = ssh_with_code(z, "mfa-wrong", wrong)
    assert r.returncode == 255 and "ok" not in r.stdout, r
    assert "Permission denied" in r.stderr, r.stderr
    for bad in ("", "12345", "abcdef", code(z, "mfa-wrong", now + 120)):
        assert paramiko_login(z, "mfa-wrong", bad)[2] is False, bad
    assert "Failed keyboard-interactive/totp for mfa-wrong" in z.bastion.log_text()
    # The right one still works afterwards.
    assert paramiko_login(z, "mfa-wrong", code(z, "mfa-wrong"))[2] is True


def test_the_key_alone_is_not_enough(z):
    r = z.bastion.ssh(f"{z.tu}%web1%mfa-keyonly", "echo ok", z.env.keys[z.keys["mfa-keyonly"]])
    assert r.returncode == 255 and r.stdout == "", r
    assert "Permission denied" in r.stderr


def test_a_user_without_totp_logs_in_with_the_key(z):
    r = z.bastion.ssh(f"{z.tu}%web1%plain", "echo ok", z.env.keys["erin"])
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr
