"""Bastion mode (`sshd -B`, man/postern-bastion.5), what a user sees: direct mode
(`targetuser%target%bastionuser`) with exec, shells on a pty, env, signals, byte-exact streams,
exit status and signal; the audit events of a session; the post-auth process's jail; a target
that dies mid-session. The target is Debian's OpenSSH sshd trusting the bastion CA
(regress/bastion_env.py, the world in regress/bastion_world.py). The stock clients:
test_bastion_clients.py; -L, -R, agent forwarding and jump mode: test_bastion_forwarding.py;
policy, credentials, host keys and bad input: test_bastion_policy.py."""

import fcntl
import os
import pwd
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from bastion_env import descendants, exe_of, pid_of_command, ppid_of, proc_status, wait_until
from bastion_world import paramiko_as_alice, route, stop, via, w  # noqa: F401 (w is the fixture)


# ---- direct mode: exec and its streams ---------------------------------------------------------

def test_exec_runs_on_the_target_as_the_target_user(w):
    r = via(w, "id -un; echo $SSH_CONNECTION")
    assert r.returncode == 0, r.stderr + w.bastion.log_text()[-3000:]
    name, conn = r.stdout.splitlines()
    assert name == w.tu
    # The target saw a connection to its own port: the bastion logged in there for alice.
    assert conn.split()[3] == str(w.target.port)


def test_address_and_port_a_target_names_work_like_its_name(w):
    r = w.bastion.ssh(f"{w.tu}%127.0.0.1%{w.target.port}%alice", "echo by-address",
                      w.env.keys["alice"])
    assert r.stdout == "by-address\n", r.stderr


def test_stdout_stderr_apart_exit_status(w):
    r = via(w, "echo out; echo err >&2; exit 7")
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    assert r.returncode == 7


def test_binary_round_trip_is_byte_exact_with_flow_control(w):
    # 16 MiB both ways at once through `cat`: neither direction may stall or lose a byte.
    data = os.urandom(16 << 20)
    r = via(w, "cat", input=data, text=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == len(data) and r.stdout == data


def test_stderr_volume_stays_apart(w):
    r = via(w, "head -c 3000000 /dev/zero | tr '\\0' e >&2; echo done")
    assert r.stdout == "done\n"
    assert r.stderr == "e" * 3000000


def test_eof_reaches_the_target(w):
    r = via(w, "cat; echo after-eof", input="abc")
    assert r.stdout == "abcafter-eof\n"


def test_exit_signal_passes_through(w):
    r = via(w, "kill -TERM $$", options=["LogLevel=DEBUG1"])
    assert r.returncode == 255
    assert re.search(r"rtype exit-signal", r.stderr), r.stderr[-2000:]


def test_env_passes_through(w):
    r = via(w, 'echo "$LC_POSTERN"', options=["SetEnv=LC_POSTERN=hello-target"])
    assert r.stdout == "hello-target\n", r.stderr


def test_signal_request_reaches_the_command(w):
    paramiko = pytest.importorskip("paramiko")
    from paramiko.common import cMSG_CHANNEL_REQUEST
    c = paramiko_as_alice(w, paramiko)
    try:
        chan = c.get_transport().open_session()
        chan.exec_command("trap 'echo got-TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done")
        out = b""
        deadline = time.time() + 20
        while b"ready" not in out and time.time() < deadline:
            out += chan.recv(100)
        assert b"ready" in out
        m = paramiko.Message()  # RFC 4254 §6.9; paramiko has no call for it
        m.add_byte(cMSG_CHANNEL_REQUEST)
        m.add_int(chan.remote_chanid)
        m.add_string("signal")
        m.add_boolean(False)
        m.add_string("TERM")
        chan.transport._send_user_message(m)
        while not chan.exit_status_ready() or chan.recv_ready():
            data = chan.recv(100)
            if not data:
                break
            out += data
        assert b"got-TERM" in out
        assert chan.recv_exit_status() == 3
    finally:
        c.close()


# ---- ptys ----------------------------------------------------------------------------------------

def spawn_in_pty(args, rows, cols):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[6][termios.VERASE] = b"\x08"  # a terminal mode the target must receive (RFC 4254 §8)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            env=dict(os.environ, TERM="xterm-256color"))
    os.close(slave)
    return proc, master


def read_until(master, pattern, timeout=20):
    buf = b""
    deadline = time.time() + timeout
    while not re.search(pattern, buf) and time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_pty_terminal_modes_and_window_change(w):
    cmd = ("stty size; stty -a | grep -o 'erase = [^;]*'; echo TERM=$TERM; "
           "trap 'stty size; exit 0' WINCH; echo READY; while :; do sleep 0.1; done")
    proc, master = spawn_in_pty(w.bastion.ssh_args(route(w), w.env.keys["alice"], extra=["-t"]) + [cmd],
                                33, 101)
    try:
        first = read_until(master, rb"READY")
        assert b"33 101" in first, first
        assert b"erase = ^H" in first, first
        assert b"TERM=xterm-256color" in first, first
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 132, 0, 0))
        os.kill(proc.pid, signal.SIGWINCH)
        assert b"40 132" in read_until(master, rb"40 132")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)


def test_interactive_shell_on_a_pty(w):
    proc, master = spawn_in_pty(w.bastion.ssh_args(route(w), w.env.keys["alice"], extra=["-t"]), 24, 80)
    try:
        time.sleep(1)
        os.write(master, b"echo $((6*7))-on-$(tty | cut -c1-9); exit 5\n")
        out = read_until(master, rb"42-on-/dev/pts/")
        assert b"42-on-/dev/pts/" in out, out
        assert proc.wait(timeout=20) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)


def test_template_without_permit_pty_gets_no_pty(w):
    """carol's role uses the template without permit-pty: the certificate's extensions reach the
    target, whose sshd refuses the pty. OpenSSH's ssh treats a refused pty it was told to get
    (-t) as fatal, so the command does not run; without -t it runs as usual."""
    r = via(w, "tty || true", who="carol", extra=["-tt"])
    assert r.returncode == 255, r.stdout + r.stderr
    assert "PTY allocation request failed" in r.stderr
    r = via(w, "tty || true", who="carol")
    assert "not a tty" in r.stdout, r.stdout + r.stderr + w.bastion.log_text()[-3000:]


# ---- policy users have nothing on the bastion host ---------------------------------------------

def test_policy_user_gets_no_shell_and_no_files_on_the_bastion(w, tmp_path):
    marker = tmp_path / "bastion-local-file"
    marker.write_text("local secret\n")
    os.chmod(marker, 0o644)
    r = w.bastion.ssh("alice", f"id; cat {marker}", w.env.keys["alice"])
    assert r.returncode != 0
    assert "uid=" not in r.stdout and "local secret" not in r.stdout
    # It says how to name a target instead.
    assert "%" in r.stderr, r.stderr
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(w.bastion.port), "-i", str(w.env.keys["alice"]),
                        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-b", "-", "alice@127.0.0.1"],
                       input=f"get {marker} {tmp_path}/stolen\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert not (tmp_path / "stolen").exists()


# ---- audit of a session --------------------------------------------------------------------------

AUDIT_FIELDS = {"time", "event", "session", "bastion_user", "client", "target", "target_user", "channel",
                "decision", "reason", "role", "bytes_up", "bytes_down", "exit_status", "detail"}


def test_session_audit_events(w):
    mark = w.env.audit_mark()
    r = via(w, "echo audited; exit 3")
    assert r.returncode == 3
    events = w.env.audit_since(mark, lambda evs: any(e["event"] == "target-close" for e in evs))
    mine = [e for e in events if e["bastion_user"] == "alice"]
    kinds = [e["event"] for e in mine]
    for kind in ("login", "target-open", "target-auth", "channel", "channel-close", "target-close"):
        assert kind in kinds, kinds
    for e in mine:
        assert AUDIT_FIELDS <= set(e), set(e) ^ AUDIT_FIELDS
    assert len({e["session"] for e in mine}) == 1
    assert re.fullmatch(r"[0-9a-f]{16}", mine[0]["session"])
    login = mine[kinds.index("login")]
    assert login["decision"] == "allow" and login["role"] == "ops"
    assert login["target"] == "web1" and login["target_user"] == w.tu
    assert login["client"].startswith("127.0.0.1")
    chan = mine[kinds.index("channel")]
    assert chan["decision"] == "allow" and chan["channel"] == "exec" and chan["role"] == "ops"
    close = mine[kinds.index("channel-close")]
    assert str(close["exit_status"]) == "3"
    assert int(close["bytes_down"]) >= len("audited\n")
    # The same events as syslog lines ("audit: ..."), here on the server's stderr.
    session = mine[0]["session"]
    assert wait_until(lambda: len([ln for ln in w.bastion.log_text().splitlines()
                                   if "audit: " in ln and session in ln]) >= len(mine), 5)


# ---- the post-auth process's jail ----------------------------------------------------------------

def test_bastion_process_is_unprivileged_chrooted_and_sandboxed(w):
    proc = subprocess.Popen(w.bastion.ssh_args(route(w), w.env.keys["alice"]) + ["sleep 6.25"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pids = wait_until(lambda: [p for p in descendants(w.bastion.proc.pid)
                                   if exe_of(p).endswith("/sshd-bastion")], 10)
        assert pids, "no sshd-bastion process under the bastion"
        st = proc_status(pids[0])
        sshd_uid = pwd.getpwnam("sshd").pw_uid
        assert st["Uid"].split() == [str(sshd_uid)] * 4
        assert st["Seccomp"] == "2"
        assert st["NoNewPrivs"] == "1"
        assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
        root = os.readlink(f"/proc/{pids[0]}/root")
        assert root != "/" and os.listdir(root) == []
        # It holds no file it opened: only its sockets (client, target, monitor) and the
        # recording the monitor created and passed in when it allowed the exec (BASTION.md
        # "Processes", docs/privilege-separation.md): write-only, append-only, a .cast of alice's
        # directly in the recordings directory, root's and 0600. Anything else fails. The exec
        # runs on the target only after the recording was passed: then it is always there.
        assert wait_until(lambda: pid_of_command(r"^sleep 6\.25\s*$"), 10)
        recordings = os.path.realpath(w.env.dir / "recordings")
        held = []
        for fd in os.listdir(f"/proc/{pids[0]}/fd"):
            link = os.readlink(f"/proc/{pids[0]}/fd/{fd}")
            if link.startswith(("socket:", "pipe:", "anon_inode:")) or link == "/dev/null":
                continue
            assert os.path.dirname(link) == recordings, link
            name = os.path.basename(link)
            assert name.endswith(".cast") and "_alice_" in name, link
            info = Path(f"/proc/{pids[0]}/fdinfo/{fd}").read_text()
            flags = int(re.search(r"^flags:\s*([0-7]+)$", info, re.M).group(1), 8)
            assert (flags & os.O_ACCMODE) == os.O_WRONLY and flags & os.O_APPEND, (link, oct(flags))
            st = os.stat(link)
            assert st.st_uid == 0 and (st.st_mode & 0o7777) == 0o600, (link, st)
            held.append(link)
        assert len(held) == 1, held  # one exec channel, recorded (record = shell, exec)
    finally:
        stop(proc)


# ---- a target that goes away ------------------------------------------------------------------------

def test_target_closing_mid_session_ends_only_that_session(w):
    other = subprocess.Popen(w.bastion.ssh_args(route(w), w.env.keys["alice"]) + ["sleep 4.2; echo survived"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = subprocess.Popen(w.bastion.ssh_args(route(w), w.env.keys["alice"]) + ["echo started; sleep 31.7"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert victim.stdout.readline() == "started\n"
        sleeps = wait_until(lambda: pid_of_command(r"^sleep 31\.7"), 10)
        assert sleeps
        # Walk up to the target sshd's per-connection process and kill it with everything under
        # it (its unprivileged child holds the socket too): the TCP connection from the bastion
        # drops mid-session.
        chain = [sleeps[0]]
        while ppid_of(chain[-1]) != w.target.proc.pid:
            chain.append(ppid_of(chain[-1]))
        for pid in reversed(chain):
            os.kill(pid, signal.SIGKILL)
        out, err = victim.communicate(timeout=20)
        assert victim.returncode != 0
        out, err = other.communicate(timeout=20)
        assert out == "survived\n", err
        assert w.bastion.proc.poll() is None
        assert via(w, "echo still-serving").stdout == "still-serving\n"
    finally:
        for pr in (other, victim):
            if pr.poll() is None:
                pr.kill()
                pr.wait()
        for orphan in pid_of_command(r"^sleep 31\.7"):
            os.kill(orphan, signal.SIGKILL)
