"""`ssh -tt`: a pty, a login shell, terminal modes and window size."""

import subprocess


def test_tty_and_login_shell(server):
    r = server.ssh("tty; echo $0; echo $TERM; stty size", extra=["-tt"],
                   options=["SetEnv=TERM=xterm-256color"])
    out = r.stdout.replace("\r", "").splitlines()
    assert out[0].startswith("/dev/pts/"), r.stdout
    assert out[2] == "xterm-256color" or out[2] == "xterm", out
    assert r.returncode == 0


def test_interactive_login_shell_is_dash_shell(server):
    args = server.ssh_args(options=["RequestTTY=force"])
    r = subprocess.run(args, input="echo shell=$0\nexit 5\n", capture_output=True, text=True,
                       timeout=30)
    assert "shell=-bash" in r.stdout.replace("\r", "")
    assert r.returncode == 5


def test_ssh_tty_variable_names_the_pty(server):
    r = server.ssh('echo "$SSH_TTY"; tty', extra=["-tt"])
    lines = r.stdout.replace("\r", "").splitlines()
    assert lines[0] == lines[1] and lines[0].startswith("/dev/pts/")
