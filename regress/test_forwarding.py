"""Forwarding through postern with the real OpenSSH client: -L, -R (fixed port and port 0), -D,
-W, -J through one and two postern hops, Unix socket forwarding both ways, agent forwarding, and
the policy refusals (AllowTcpForwarding, PermitOpen, DisableForwarding)."""

import os
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import TEST_USER, Server, free_port


class EchoServer:
    """Echoes every connection's bytes back, on TCP 127.0.0.1 or on a Unix socket."""

    def __init__(self, path=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            os.chmod(path, 0o777)
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn):
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                conn.sendall(data)

    def close(self):
        self.sock.close()


@pytest.fixture
def echo():
    e = EchoServer()
    yield e
    e.close()


def roundtrip(connect, payload):
    """Sends `payload` through a fresh connection, half-closes, and returns what came back."""
    s = connect()
    with s:
        s.settimeout(20)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d


def tcp_connect(port):
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=10)


def wait_tcp(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_path(path, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


class Background:
    """An ssh client kept running (ssh -N) while the test uses its forwardings."""

    def __init__(self, args, **kw):
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")


@pytest.fixture
def background():
    procs = []

    def start(args, **kw):
        b = Background(args, **kw)
        procs.append(b)
        return b

    yield start
    for b in procs:
        b.stop()


def test_local_forward(server, echo, background):
    port = free_port()
    b = background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
                   + ["-N", "-L", f"127.0.0.1:{port}:127.0.0.1:{echo.port}"])
    assert wait_tcp(port)
    payload = os.urandom(3 << 20)
    assert roundtrip(tcp_connect(port), payload) == payload
    # Several at once.
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        roundtrip(tcp_connect(port), b"x" * 100000))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"x" * 100000] * 4
    b.stop()


def test_local_forward_connect_failure(server):
    dead = free_port()
    port = free_port()
    proc = subprocess.Popen(server.ssh_args(options=["LogLevel=INFO"])
                            + ["-N", "-L", f"127.0.0.1:{port}:127.0.0.1:{dead}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_tcp(port)
        try:
            assert roundtrip(tcp_connect(port), b"hello") == b""
        except ConnectionResetError:
            pass  # ssh resets the local connection when the channel cannot be opened
        assert server.wait_log(f"connect_to 127.0.0.1 port {dead}: failed.")
    finally:
        proc.kill()
        err = proc.communicate(timeout=5)[1].decode()
    assert "open failed: connect failed" in err


def test_stdio_forward(server, echo):
    # ssh -W: the channel is the client's stdin and stdout.
    r = subprocess.run(server.ssh_args()[:-1] + ["-W", f"127.0.0.1:{echo.port}",
                                                 f"{TEST_USER}@127.0.0.1"],
                       input=b"through -W\n", capture_output=True, timeout=30)
    assert r.stdout == b"through -W\n", r.stderr


def test_remote_forward_fixed_port(server, echo, background):
    port = free_port()
    b = background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
                   + ["-N", "-R", f"{port}:127.0.0.1:{echo.port}"])
    assert wait_tcp(port)
    payload = os.urandom(1 << 20)
    assert roundtrip(tcp_connect(port), payload) == payload
    b.stop()


def test_remote_forward_port_zero(server, echo):
    # The remote side connects to the port the server allocated (it listens on loopback).
    port_file = f"/tmp/postern-fwd-{os.getpid()}"
    args = server.ssh_args(options=["ExitOnForwardFailure=yes", "LogLevel=INFO"]) + [
        "-R", f"0:127.0.0.1:{echo.port}",
        f"sleep 1; P=$(cat {port_file}); exec 3<>/dev/tcp/127.0.0.1/$P && echo ping >&3 && "
        f"head -c 5 <&3"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Learn the port from ssh's stderr line.
    line = proc.stderr.readline()
    while line and "Allocated port" not in line:
        line = proc.stderr.readline()
    assert "Allocated port" in line, line
    with open(port_file, "w") as f:
        f.write(line.split("Allocated port ")[1].split()[0])
    os.chmod(port_file, 0o644)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        os.unlink(port_file)
    assert out == "ping\n", err


def test_remote_forward_privileged_port_refused(server):
    r = server.ssh("true", options=["ExitOnForwardFailure=yes"], extra=["-R", "80:127.0.0.1:22"])
    assert r.returncode != 0
    assert "remote port forwarding failed" in r.stderr


def test_dynamic_forward_socks5(server, echo, background):
    port = free_port()
    background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
               + ["-N", "-D", f"127.0.0.1:{port}"])
    assert wait_tcp(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\x05\x01\x00")
        assert s.recv(2) == b"\x05\x00"
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", echo.port))
        reply = s.recv(10)
        assert reply[:2] == b"\x05\x00"
        s.sendall(b"socks!")
        assert s.recv(6) == b"socks!"


def ssh_config_for(tmp_path, keydir, hops):
    lines = []
    for name, srv in hops.items():
        lines += [f"Host {name}", "  HostName 127.0.0.1", f"  Port {srv.port}", f"  User {TEST_USER}",
                  f"  IdentityFile {keydir}/id_ed25519", "  IdentitiesOnly yes", "  BatchMode yes",
                  "  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null", "  LogLevel ERROR"]
    path = tmp_path / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return path


def separate_server(keydir, tmp_path, name, extra=""):
    d = tmp_path / name
    d.mkdir()
    return Server(keydir, d, extra).start()


def test_proxy_jump_one_and_two_hops(keydir, tmp_path, user):
    servers = [separate_server(keydir, tmp_path, n) for n in ("hop1", "hop2", "target")]
    try:
        cfg = ssh_config_for(tmp_path, keydir, dict(zip(("hop1", "hop2", "target"), servers)))
        r = subprocess.run(["ssh", "-F", str(cfg), "-J", "hop1", "target", "echo one-hop"],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout == "one-hop\n", r.stderr
        r = subprocess.run(["ssh", "-F", str(cfg), "-J", "hop1,hop2", "target", "echo two-hops"],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout == "two-hops\n", r.stderr
        # The old form: ProxyCommand ssh -W %h:%p.
        r = subprocess.run(["ssh", "-F", str(cfg), "-o", f"ProxyCommand=ssh -F {cfg} -W %h:%p hop1",
                            "target", "echo proxycommand"], capture_output=True, text=True,
                           timeout=60)
        assert r.stdout == "proxycommand\n", r.stderr
    finally:
        for s in servers:
            s.stop()


def test_unix_socket_local_forward(server, tmp_path, background, user):
    # The target must be reachable by the user the session runs as: not under pytest's 0700 dir.
    target = f"/tmp/postern-fwd-target-{os.getpid()}.sock"
    e = EchoServer(target)
    local = str(tmp_path / "local.sock")
    try:
        background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
                   + ["-N", "-L", f"{local}:{target}"])
        assert wait_path(local)
        time.sleep(0.2)

        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(local)
            return s
        assert roundtrip(connect, b"unix both ends") == b"unix both ends"
    finally:
        e.close()
        os.unlink(target)


def test_unix_socket_remote_forward(make_server, echo, background, user):
    server = make_server("StreamLocalBindUnlink yes")
    remote = f"/tmp/postern-fwd-{os.getpid()}.sock"
    b = background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
                   + ["-N", "-R", f"{remote}:127.0.0.1:{echo.port}"])
    try:
        assert wait_path(remote)
        st = os.stat(remote)
        assert st.st_uid == user.pw_uid
        # StreamLocalBindMask 0177 by default: only the user may connect.
        assert st.st_mode & 0o777 == 0o600

        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(remote)
            return s
        assert roundtrip(connect, b"remote unix") == b"remote unix"
        b.stop()
    finally:
        if os.path.exists(remote):
            os.unlink(remote)


def test_agent_forwarding(server, keydir, tmp_path):
    sock = str(tmp_path / "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        assert wait_path(sock)
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        subprocess.run(["ssh-add", "-q", str(keydir / "id_rsa")], env=env, check=True,
                       capture_output=True)
        args = server.ssh_args(options=["ForwardAgent=yes"]) + [
            'echo "$SSH_AUTH_SOCK"; stat -c "%a %U" "$(dirname "$SSH_AUTH_SOCK")"; ssh-add -l']
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
        lines = r.stdout.splitlines()
        assert r.returncode == 0, r.stderr
        assert lines[0].startswith("/tmp/ssh-") and "/agent." in lines[0]
        assert lines[1] == f"700 {TEST_USER}"
        assert "RSA" in lines[2]
        # Without -A there is no agent on the far side.
        r = subprocess.run(server.ssh_args() + ['echo "${SSH_AUTH_SOCK-none}"'], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.stdout == "none\n"
    finally:
        agent.terminate()
        agent.wait()


def test_agent_forwarding_refused_by_policy(make_server, keydir, tmp_path, user):
    server = make_server("AllowAgentForwarding no")
    sock = str(tmp_path / "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        assert wait_path(sock)
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        r = subprocess.run(server.ssh_args(options=["ForwardAgent=yes"])
                           + ['echo "${SSH_AUTH_SOCK-none}"'], env=env, capture_output=True,
                           text=True, timeout=30)
        assert r.stdout == "none\n"
    finally:
        agent.terminate()
        agent.wait()


def test_allow_tcp_forwarding_no(make_server, echo, user):
    server = make_server("AllowTcpForwarding no")
    r = subprocess.run(server.ssh_args(options=["LogLevel=INFO"])[:-1]
                       + ["-W", f"127.0.0.1:{echo.port}", f"{TEST_USER}@127.0.0.1"],
                       input=b"x", capture_output=True, timeout=30)
    assert b"administratively prohibited" in r.stderr
    assert server.wait_log(f"refused local port forward: originator")
    r = server.ssh("true", options=["ExitOnForwardFailure=yes"], extra=["-R", f"{free_port()}:127.0.0.1:1"])
    assert r.returncode != 0 and "remote port forwarding failed" in r.stderr


def test_allow_tcp_forwarding_local_only(make_server, echo, user):
    server = make_server("AllowTcpForwarding local")
    r = subprocess.run(server.ssh_args()[:-1] + ["-W", f"127.0.0.1:{echo.port}",
                                                 f"{TEST_USER}@127.0.0.1"],
                       input=b"local ok", capture_output=True, timeout=30)
    assert r.stdout == b"local ok"
    r = server.ssh("true", options=["ExitOnForwardFailure=yes"], extra=["-R", f"{free_port()}:127.0.0.1:1"])
    assert r.returncode != 0


def test_permit_open(make_server, echo, user):
    server = make_server(f"PermitOpen 127.0.0.1:{echo.port}")
    r = subprocess.run(server.ssh_args()[:-1] + ["-W", f"127.0.0.1:{echo.port}",
                                                 f"{TEST_USER}@127.0.0.1"],
                       input=b"allowed", capture_output=True, timeout=30)
    assert r.stdout == b"allowed"
    r = subprocess.run(server.ssh_args(options=["LogLevel=INFO"])[:-1]
                       + ["-W", f"localhost:{echo.port}", f"{TEST_USER}@127.0.0.1"],
                       input=b"x", capture_output=True, timeout=30)
    assert b"administratively prohibited" in r.stderr
    assert server.wait_log("but the request was denied.")


def test_disable_forwarding(make_server, echo, user):
    server = make_server("DisableForwarding yes")
    r = subprocess.run(server.ssh_args(options=["LogLevel=INFO"])[:-1]
                       + ["-W", f"127.0.0.1:{echo.port}", f"{TEST_USER}@127.0.0.1"],
                       input=b"x", capture_output=True, timeout=30)
    assert b"administratively prohibited" in r.stderr


def test_client_alive_keeps_a_live_client_and_drops_a_dead_one(make_server, user):
    server = make_server("ClientAliveInterval 1\nClientAliveCountMax 2")
    # A live client answers keepalive@openssh.com and stays connected through silence.
    r = server.ssh("sleep 4; echo alive", timeout=30)
    assert r.stdout == "alive\n", r.stderr
    # A stopped client answers nothing: the server gives up after ClientAliveCountMax.
    proc = subprocess.Popen(server.ssh_args() + ["sleep 60"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while server.log_text().count("Starting session: command") < 2 and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(19)  # SIGSTOP
        assert server.wait_log("Timeout, client not responding from user", timeout=15)
    finally:
        proc.kill()
        proc.wait()


def test_unused_connection_timeout(make_server, user, echo):
    server = make_server("UnusedConnectionTimeout 2")
    # No channels (ssh -N): the server closes the connection after the timeout.
    start = time.time()
    r = subprocess.run(server.ssh_args() + ["-N"], capture_output=True, timeout=30)
    assert time.time() - start < 15
    assert server.wait_log("timed out (unused)")
    # A session in use keeps it open.
    r = server.ssh("sleep 4; echo used", timeout=30)
    assert r.stdout == "used\n", r.stderr


X11_CLIENT = r'''
import os, socket, struct, subprocess
display = os.environ["DISPLAY"]
number = display.split(":")[1].split(".")[0]
line = subprocess.run(["xauth", "list", "unix:" + number], capture_output=True, text=True).stdout
proto, cookie = line.split()[1], bytes.fromhex(line.split()[2])
s = socket.create_connection(("127.0.0.1", 6000 + int(number)))
pad = lambda b: b + b"\0" * (-len(b) % 4)
s.sendall(struct.pack("<cxHHHHxx", b"l", 11, 0, len(proto), len(cookie)) + pad(proto.encode()) + pad(cookie))
got = b""
while len(got) < 12:
    d = s.recv(100)
    if not d:
        break
    got += d
print(display, "x11 ok" if got[:1] == b"l" and len(got) >= 12 else "x11 bad %r" % got)
'''


def test_x11_forwarding_to_a_fake_display(make_server, user, tmp_path):
    server = make_server("X11Forwarding yes\nX11DisplayOffset 40")
    # The client's "display" is an echo server on 6000 + N: it returns the connection setup.
    fake = None
    for n in range(150, 250):
        try:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 6000 + n))
            sock.close()
            fake = n
            break
        except OSError:
            sock.close()
    assert fake is not None
    e = EchoServer.__new__(EchoServer)
    e.sock = socket.socket()
    e.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    e.sock.bind(("127.0.0.1", 6000 + fake))
    e.sock.listen(4)
    e.thread = threading.Thread(target=e.run, daemon=True)
    e.thread.start()
    script = f"/tmp/postern-x11-{os.getpid()}.py"
    with open(script, "w") as f:
        f.write(X11_CLIENT)
    os.chmod(script, 0o644)
    try:
        env = dict(os.environ, DISPLAY=f"127.0.0.1:{fake}", XAUTHORITY=str(tmp_path / "xauth"))
        r = subprocess.run(server.ssh_args(options=["ForwardX11=yes", "ForwardX11Trusted=yes"])
                           + [f"python3 {script}"], env=env, capture_output=True, text=True,
                           timeout=30)
        assert r.stdout.endswith("x11 ok\n"), r.stdout + r.stderr
        assert r.stdout.startswith("localhost:4")
    finally:
        e.close()
        os.unlink(script)


def test_x11_forwarding_off_by_default(server):
    env = dict(os.environ, DISPLAY="127.0.0.1:99")
    r = subprocess.run(server.ssh_args(options=["ForwardX11=yes", "ForwardX11Trusted=yes"])
                       + ['echo "${DISPLAY-none}"'], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.stdout == "none\n", r.stderr


def key_with_options(user, keydir, options):
    """The test key in its own AuthorizedKeysFile, with authorized_keys `options`; returns the
    config line that selects that file."""
    path = os.path.join(user.pw_dir, ".ssh", "authorized_keys_fwd")
    with open(path, "w") as f:
        f.write(f"{options} {(keydir / 'id_ed25519.pub').read_text()}")
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, 0o600)
    return "AuthorizedKeysFile .ssh/authorized_keys_fwd"


def local_forward_reaches(server, background, target_port):
    """Whether bytes sent through `ssh -L` to 127.0.0.1:target_port come back (an echo server)."""
    port = free_port()
    b = background(server.ssh_args() + ["-N", "-L", f"127.0.0.1:{port}:127.0.0.1:{target_port}"])
    assert wait_tcp(port)
    try:
        return roundtrip(tcp_connect(port), b"through -L") == b"through -L"
    except ConnectionResetError:
        return False  # ssh resets the local connection when the channel open is refused
    finally:
        b.stop()


@pytest.mark.parametrize("permit_open", ["both", "any"])
def test_key_permitopen_and_permit_open_must_both_allow(make_server, user, keydir, background,
                                                        permit_open):
    # sshd(8) permitopen=: the key narrows what PermitOpen allows, whatever PermitOpen says.
    e1, e2 = EchoServer(), EchoServer()
    try:
        config = key_with_options(user, keydir, f'permitopen="127.0.0.1:{e1.port}"')
        if permit_open == "both":
            config += f"\nPermitOpen 127.0.0.1:{e1.port} 127.0.0.1:{e2.port}"
        server = make_server(config)
        assert local_forward_reaches(server, background, e1.port), server.log_text()
        assert not local_forward_reaches(server, background, e2.port)
        assert server.wait_log(f"to connect to host 127.0.0.1 port {e2.port}, but the request "
                               "was denied.")
    finally:
        e1.close()
        e2.close()


@pytest.mark.parametrize("permit_listen", ["both", "any"])
def test_key_permitlisten_and_permit_listen_must_both_allow(make_server, user, keydir, echo,
                                                            background, permit_listen):
    p1, p2 = free_port(), free_port()
    config = key_with_options(user, keydir, f'permitlisten="{p1}"')
    if permit_listen == "both":
        config += f"\nPermitListen {p1} {p2}"
    server = make_server(config)
    background(server.ssh_args(options=["ExitOnForwardFailure=yes"])
               + ["-N", "-R", f"{p1}:127.0.0.1:{echo.port}"])
    assert wait_tcp(p1), server.log_text()
    assert roundtrip(tcp_connect(p1), b"through -R") == b"through -R"
    r = server.ssh("true", options=["ExitOnForwardFailure=yes"],
                   extra=["-R", f"{p2}:127.0.0.1:{echo.port}"])
    assert r.returncode != 0 and "remote port forwarding failed" in r.stderr, r.stderr
    assert server.wait_log(f"to remote forward to host localhost port {p2}, but the request "
                           "was denied.")
