"""Bastion mode (`sshd -B`, man/postern-bastion.5), what a user sees: direct mode
(`targetuser%target%bastionuser`) with exec, shells on a pty, env, signals, byte-exact streams,
exit status and signal; the stock clients (scp both protocols, sftp, rsync, git, Ansible, plink,
paramiko); -L, -R and agent forwarding as the role allows; jump mode (ssh -J) end to end; the
audit events of a session; the post-auth process's jail; a target that dies mid-session.
The target is Debian's OpenSSH sshd trusting the bastion CA (regress/bastion_env.py). Policy,
credentials, host keys and bad input: test_bastion_policy.py."""

import fcntl
import os
import pwd
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastion_env import (BastionEnv, Policy, disconnect_line, descendants, exe_of, fingerprint,
                         pid_of_command, ppid_of, proc_status, wait_until, which)
from conftest import free_port, wait_for_port

ALL_CHANNELS = ["shell", "exec", "sftp", "scp", "direct-tcpip", "remote-forward", "agent"]


@pytest.fixture(scope="module")
def w(keydir, user):
    """One target, one bastion for the module. alice may do everything on web1 as the test
    account; carol only exec (template without permit-pty); bob nothing. "secret" is a target
    no role grants, a port that counts connections (it must see none)."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-"), keydir)
    try:
        target = env.target("target")
        decoy = env.listener("count")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        for name in ("alice", "bob", "carol"):
            p.user(name, env.pub(name))
        p.target("web1", "127.0.0.1", target.port, [tu, "root"], tags=["prod", "web"])
        p.target("secret", "127.0.0.1", decoy.port, [tu])
        p.role("ops", ["alice"], ["web1"], [tu], ALL_CHANNELS)
        p.role("exec-only", ["carol"], ["tag:web"], [tu], ["exec"], template="no-pty")
        bastion = env.make_bastion(p)
        yield SimpleNamespace(env=env, target=target, bastion=bastion, decoy=decoy, tu=tu,
                              keydir=keydir)
    finally:
        env.close()


def route(w, who="alice", target="web1"):
    return f"{w.tu}%{target}%{who}"


def via(w, command, who="alice", target="web1", **kw):
    return w.bastion.ssh(route(w, who, target), command, w.env.keys[who], **kw)


def client_config(w, path, *identities, known_hosts="/dev/null", strict="no", loglevel="ERROR"):
    """An ssh_config for clients that start ssh themselves (ssh -J, rsync, git)."""
    lines = ["Host *", "  IdentitiesOnly yes", "  BatchMode yes", f"  StrictHostKeyChecking {strict}",
             f"  UserKnownHostsFile {known_hosts}", "  GlobalKnownHostsFile /dev/null",
             f"  LogLevel {loglevel}"]
    lines += [f"  IdentityFile {i}" for i in identities]
    path.write_text("\n".join(lines) + "\n")
    return path


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
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=w.bastion.port, username=route(w),
              key_filename=str(w.env.keys["alice"]), look_for_keys=False, allow_agent=False)
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


# ---- stock clients -------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", ["-O", "-s"], ids=["scp-protocol", "sftp-protocol"])
def test_scp_both_protocols(w, tmp_path, protocol):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(3 << 20))
    base = ["scp", protocol, "-F", "/dev/null", "-P", str(w.bastion.port), "-i", str(w.env.keys["alice"]),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    remote = f"{route(w)}@127.0.0.1:scp{protocol}.bin"
    r = subprocess.run(base + [str(src), remote], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    back = tmp_path / "down.bin"
    r = subprocess.run(base + [remote, str(back)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == src.read_bytes()


def test_sftp(w, tmp_path):
    src = tmp_path / "put.bin"
    src.write_bytes(os.urandom(2 << 20))
    got = tmp_path / "got.bin"
    batch = f"put {src} sftp-put.bin\nls -l sftp-put.bin\nget sftp-put.bin {got}\nrm sftp-put.bin\n"
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(w.bastion.port), "-i", str(w.env.keys["alice"]),
                        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-b", "-", f"{route(w)}@127.0.0.1"],
                       input=batch, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "sftp-put.bin" in r.stdout
    assert got.read_bytes() == src.read_bytes()


def test_rsync(w, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("rsync through the bastion\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(100000))
    cfg = client_config(w, tmp_path / "ssh_config", w.env.keys["alice"])
    r = subprocess.run(["rsync", "-a", "-e", f"ssh -F {cfg} -p {w.bastion.port}", f"{src}/",
                        f"{route(w)}@127.0.0.1:rsync-tree/"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = via(w, "sha256sum rsync-tree/a.txt rsync-tree/sub/b.bin; rm -rf rsync-tree")
    import hashlib
    assert hashlib.sha256((src / "a.txt").read_bytes()).hexdigest() in r.stdout
    assert hashlib.sha256((src / "sub" / "b.bin").read_bytes()).hexdigest() in r.stdout


def test_git_clone_and_push(w, tmp_path):
    assert via(w, "rm -rf bastion-repo.git; git init -q --bare bastion-repo.git").returncode == 0
    cfg = client_config(w, tmp_path / "ssh_config", w.env.keys["alice"])
    env = dict(os.environ, GIT_SSH_COMMAND=f"ssh -F {cfg} -p {w.bastion.port}")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]
    clone = tmp_path / "clone"
    r = subprocess.run(git + ["clone", "-q", f"{route(w)}@127.0.0.1:bastion-repo.git", str(clone)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (clone / "f").write_text("x\n")
    subprocess.run(git + ["-C", str(clone), "add", "f"], check=True)
    subprocess.run(git + ["-C", str(clone), "commit", "-q", "-m", "through the bastion"], check=True)
    r = subprocess.run(git + ["-C", str(clone), "push", "-q", "origin", "HEAD:main"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = via(w, "git --git-dir=bastion-repo.git log --format=%s main; rm -rf bastion-repo.git")
    assert r.stdout == "through the bastion\n"


@pytest.mark.skipif(not which("ansible"), reason="ansible-core not installed (scripts/deps test installs it)")
def test_ansible_ssh_connection(w, tmp_path):
    inv = tmp_path / "inventory.ini"
    inv.write_text(f"web1 ansible_host=127.0.0.1 ansible_port={w.bastion.port} "
                   f"ansible_user={route(w)} ansible_ssh_private_key_file={w.env.keys['alice']} "
                   "ansible_python_interpreter=/usr/bin/python3\n")
    env = dict(os.environ, HOME=str(tmp_path), LANG="C.UTF-8", LC_ALL="C.UTF-8",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_SSH_ARGS="-F /dev/null -o IdentitiesOnly=yes -o ControlMaster=no "
                                "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no")
    # The command module: Ansible copies a module over sftp/scp, then runs python on the target.
    # stdin from /dev/null: Ansible refuses a non-blocking stdin (as CI's runner may hand down).
    r = subprocess.run(["ansible", "web1", "-i", str(inv), "-m", "command", "-a", "id -un"],
                       env=env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"web1 \| CHANGED \| rc=0 >>\n{re.escape(w.tu)}\n", r.stdout), r.stdout


@pytest.mark.skipif(not which("plink"), reason="putty-tools not installed")
def test_plink(w, tmp_path):
    ppk = tmp_path / "alice.ppk"
    subprocess.run(["puttygen", str(w.env.keys["alice"]), "-o", str(ppk), "-O", "private"],
                   check=True, capture_output=True)
    r = subprocess.run(["plink", "-batch", "-ssh", "-P", str(w.bastion.port), "-i", str(ppk),
                        "-hostkey", fingerprint(w.keydir / "host_ed25519.pub"),
                        f"{route(w)}@127.0.0.1", "echo plink-ok; id -un; exit 4"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.stdout == f"plink-ok\n{w.tu}\n", r.stderr
    assert r.returncode == 4


def test_paramiko(w):
    paramiko = pytest.importorskip("paramiko")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=w.bastion.port, username=route(w),
              key_filename=str(w.env.keys["alice"]), look_for_keys=False, allow_agent=False)
    try:
        _, out, err = c.exec_command("echo paramiko-ok; echo e >&2; exit 2")
        assert out.read() == b"paramiko-ok\n"
        assert err.read() == b"e\n"
        assert out.channel.recv_exit_status() == 2
    finally:
        c.close()


# ---- forwarding ----------------------------------------------------------------------------------

def start_forward(w, who, spec, *options):
    proc = subprocess.Popen(w.bastion.ssh_args(route(w, who), w.env.keys[who],
                                               options=["ExitOnForwardFailure=yes"] + list(options),
                                               extra=["-N"] + spec),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def echo_through(port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        got = b""
        while data := c.recv(65536):
            got += data
    return got


def test_local_forward_through_the_relay(w):
    echo = w.env.listener("echo")
    lport = free_port()
    proc = start_forward(w, "alice", ["-L", f"{lport}:127.0.0.1:{echo.port}"])
    try:
        assert wait_for_port(lport, proc), stop(proc)
        payload = os.urandom(1 << 20)
        assert echo_through(lport, payload) == payload
    finally:
        stop(proc)


def test_local_forward_refused_when_the_role_lacks_direct_tcpip(w):
    counter = w.env.listener("count")
    lport = free_port()
    # INFO: ssh reports a refused channel ("open failed: ...") at that level.
    proc = start_forward(w, "carol", ["-L", f"{lport}:127.0.0.1:{counter.port}"], "LogLevel=INFO")
    try:
        assert wait_for_port(lport, proc)
        with socket.create_connection(("127.0.0.1", lport), timeout=10) as c:
            c.settimeout(10)
            assert c.recv(100) == b""  # the channel was refused, the connection closed
    finally:
        _, err = stop(proc)
    assert "open failed" in err, err
    assert counter.accepted == 0  # the target was never asked to connect


def test_remote_forward_through_the_relay(w):
    echo = w.env.listener("echo")
    rport = free_port()
    proc = start_forward(w, "alice", ["-R", f"127.0.0.1:{rport}:127.0.0.1:{echo.port}"])
    try:
        # The target's sshd listens on rport (the target is this machine).
        assert wait_until(lambda: proc.poll() is None and port_open(rport), 20), stop(proc)
        payload = os.urandom(256 << 10)
        assert echo_through(rport, payload) == payload
    finally:
        stop(proc)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_remote_forward_refused_when_the_role_lacks_it(w):
    rport = free_port()
    proc = start_forward(w, "carol", ["-R", f"127.0.0.1:{rport}:127.0.0.1:9"])
    try:
        proc.wait(timeout=30)
    finally:
        _, err = stop(proc)
    assert proc.returncode == 255
    assert "remote port forwarding failed" in err, err
    assert not port_open(rport)


@pytest.fixture
def agent(w, tmp_path):
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    assert wait_until(sock.exists, 10)
    env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
    subprocess.run(["ssh-add", "-q", str(w.env.agent_key)], env=env, check=True, capture_output=True)
    yield env
    proc.terminate()
    proc.wait()


def test_agent_forwarding_through_the_relay(w, agent):
    args = w.bastion.ssh_args(route(w), w.env.keys["alice"], extra=["-A"]) + ["ssh-add -l"]
    r = subprocess.run(args, env=agent, capture_output=True, text=True, timeout=60)
    assert fingerprint(f"{w.env.agent_key}.pub") in r.stdout, r.stdout + r.stderr


def test_agent_forwarding_refused_when_the_role_lacks_it(w, agent):
    args = w.bastion.ssh_args(route(w, "carol"), w.env.keys["carol"], extra=["-A"])
    r = subprocess.run(args + ["ssh-add -l; echo rc=$?"], env=agent, capture_output=True, text=True,
                       timeout=60)
    assert "rc=2" in r.stdout, r.stdout + r.stderr  # 2: no agent to talk to
    assert fingerprint(f"{w.env.agent_key}.pub") not in r.stdout


# ---- jump mode -----------------------------------------------------------------------------------

def jump(w, tmp_path, who, target, port, command):
    kh = tmp_path / "known_hosts"
    bastion_key = (w.keydir / "host_ed25519.pub").read_text().split()[:2]
    kh.write_text(f"[127.0.0.1]:{w.bastion.port} {' '.join(bastion_key)}\n"
                  + w.target.known_hosts_line(target))
    # Both identities: the bastion takes the policy user's, the target the test account's own.
    # INFO: ssh reports a refused channel ("open failed: ...") at that level.
    cfg = client_config(w, tmp_path / "ssh_config", w.env.keys[who], w.keydir / "id_ed25519",
                        known_hosts=kh, strict="yes", loglevel="INFO")
    return subprocess.run(["ssh", "-F", str(cfg), "-J", f"{who}@127.0.0.1:{w.bastion.port}",
                           "-p", str(port), f"{w.tu}@{target}", command],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_jump_mode_is_end_to_end(w, tmp_path):
    mark = w.env.audit_mark()
    r = jump(w, tmp_path, "alice", "web1", w.target.port, "echo jumped; id -un")
    assert r.stdout == f"jumped\n{w.tu}\n", r.stderr + w.bastion.log_text()[-3000:]
    # The client checked the target's own host key (StrictHostKeyChecking yes, [web1]:port) and
    # the target authenticated the client's own key: the bastion only carried bytes.
    fp = fingerprint(w.keydir / "id_ed25519.pub")
    assert re.search(rf"Accepted publickey for {re.escape(w.tu)} from 127\.0\.0\.1 port \d+ ssh2: "
                     rf"ED25519 {re.escape(fp)}", w.target.log_text())
    events = w.env.audit_since(mark, lambda evs: any(e["channel"] == "direct-tcpip" for e in evs))
    opened = [e for e in events if e["channel"] == "direct-tcpip" and e["bastion_user"] == "alice"]
    assert opened and opened[0]["decision"] == "allow" and opened[0]["target"] == "web1"


def test_jump_to_a_target_no_role_grants_is_refused_and_never_contacted(w, tmp_path):
    r = jump(w, tmp_path, "alice", "secret", w.decoy.port, "echo should-not-run")
    assert r.returncode == 255 and "should-not-run" not in r.stdout
    assert "open failed" in r.stderr, r.stderr
    r = jump(w, tmp_path, "carol", "web1", w.target.port, "echo should-not-run")  # no direct-tcpip
    assert r.returncode == 255 and "open failed" in r.stderr, r.stderr
    time.sleep(0.3)
    assert w.decoy.accepted == 0


def test_route_to_a_refused_target_never_contacts_it(w):
    r = via(w, "echo no", target="secret")
    assert r.returncode == 255 and disconnect_line(r.stderr), r.stderr
    r = w.bastion.ssh(f"{w.tu}%127.0.0.1%{w.decoy.port}%alice", "echo no", w.env.keys["alice"])
    assert r.returncode == 255 and disconnect_line(r.stderr), r.stderr
    # The bastion user alone may not forward to it either.
    lport = free_port()
    proc = subprocess.Popen(w.bastion.ssh_args("alice", w.env.keys["alice"],
                                               extra=["-N", "-L", f"{lport}:127.0.0.1:{w.decoy.port}"]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_port(lport, proc)
        with socket.create_connection(("127.0.0.1", lport), timeout=10) as c:
            c.settimeout(10)
            assert c.recv(10) == b""
    finally:
        stop(proc)
    time.sleep(0.3)
    assert w.decoy.accepted == 0


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
