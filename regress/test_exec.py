"""Commands run with `ssh host cmd`: stdout, stderr and the exit status arrive as OpenSSH's do."""

import hashlib
import os

import pytest


def test_command_output_and_status(server):
    r = server.ssh("echo out; echo err >&2; exit 7")
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    assert r.returncode == 7


def test_exit_zero_and_environment(server, user):
    r = server.ssh('echo "$USER:$LOGNAME:$HOME:$SHELL"; echo "$SSH_CONNECTION"; pwd; echo "$PATH"')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{user.pw_name}:{user.pw_name}:{user.pw_dir}:/bin/bash"
    addr, cport, laddr, lport = lines[1].split()
    assert addr == "127.0.0.1" and laddr == "127.0.0.1" and int(lport) == server.port
    assert lines[2] == user.pw_dir
    assert "/usr/bin" in lines[3]


def test_runs_as_the_user_with_groups(server, user):
    r = server.ssh("id -u; id -g")
    assert r.stdout.split() == [str(user.pw_uid), str(user.pw_gid)]


def test_killed_by_signal_reports_exit_signal(server):
    r = server.ssh("kill -TERM $$")
    # ssh exits with 255 when the remote command was killed by a signal.
    assert r.returncode == 255


def test_stdin_is_passed_and_eof_delivered(server):
    data = os.urandom(1 << 20)
    r = server.ssh("sha256sum", input=data, text=False)
    assert r.returncode == 0
    assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()


def test_no_command_without_tty_runs_shell_from_stdin(server):
    r = server.ssh(None, input="echo from-shell\nexit 3\n", extra=["-T"])
    assert r.stdout == "from-shell\n"
    assert r.returncode == 3


def test_accept_env_passes_only_listed_variables(make_server, user):
    s = make_server("AcceptEnv LC_* POSTERN_OK")
    env = dict(os.environ, LC_POSTERN="yes", POSTERN_OK="ok", POSTERN_NO="no")
    import subprocess
    args = s.ssh_args(options=["SendEnv=LC_POSTERN POSTERN_OK POSTERN_NO"]) + [
        'echo "$LC_POSTERN:$POSTERN_OK:${POSTERN_NO-unset}"']
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
    assert r.stdout == "yes:ok:unset\n", r.stderr


def test_many_connections_in_a_row(server):
    for i in range(10):
        r = server.ssh(f"echo {i}")
        assert r.stdout == f"{i}\n"
