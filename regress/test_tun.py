"""tun@openssh.com forwarding (ssh -w, OpenSSH PROTOCOL §2.3) end to end: the client runs in one
network namespace, the server (sshd -i as its ProxyCommand) in another, and packets cross the
SSH connection between a tun (or tap) device on each side. The test user is not root, so the
server side uses a persistent device owned by the user, as sshd_config(5) PermitTunnel
requires; the monitor opens it with the user's credentials."""

import os
import subprocess
import time
import uuid

import pytest

from conftest import SSHD, TEST_USER


def tun_usable():
    if os.geteuid() != 0:
        return False
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError:
        return False
    name = f"pt-probe{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


pytestmark = pytest.mark.skipif(not tun_usable(),
                                reason="needs root, /dev/net/tun and network namespaces")


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def run_ns(ns, *cmd):
    r = subprocess.run(in_ns(ns, *cmd), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout


@pytest.fixture
def namespaces():
    tag = uuid.uuid4().hex[:6]
    names = (f"pt-c{tag}", f"pt-s{tag}")
    for n in names:
        subprocess.run(["ip", "netns", "add", n], check=True)
        run_ns(n, "ip", "link", "set", "lo", "up")
    yield names
    for n in names:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)


def link_exists(ns, dev):
    return subprocess.run(in_ns(ns, "ip", "link", "show", dev), capture_output=True).returncode == 0


def wait_for(cond, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


PING_SCRIPT = r"""
import os, socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
dst = sys.argv[1]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.settimeout(1.0)
ident = os.getpid() & 0xffff
got = 0
for seq in range(1, 4):
    body = b"postern-tun-ping" * 4
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body
    sock.sendto(pkt, (dst, 0))
    end = time.time() + 1.0
    while time.time() < end:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            break
        ihl = (data[0] & 0x0f) * 4
        t, _, _, i, s = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and i == ident and s == seq and data[ihl + 8:] == body:
            got += 1
            break
print(got)
"""

ECHO_SERVER = r"""
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.create_server((sys.argv[1], 7777), family=family); print("ready", flush=True)
c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
"""

ECHO_CLIENT = r"""
import hashlib, os, socket, sys
payload = os.urandom(256 * 1024)
c = socket.create_connection((sys.argv[1], 7777), timeout=20)
c.sendall(payload); c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(65536)
    if not d: break
    got += d
print("ok" if got == payload else "mismatch %d" % len(got))
"""


class Tunnel:
    def __init__(self, server, nsc, nss, tmp_path, mode, devices, key="id_ed25519"):
        self.log = tmp_path / "tun-sshd.log"
        opts = [f"ProxyCommand=ip netns exec {nss} {SSHD} -i -f {server.config} -E {self.log} "
                "-o LogLevel=DEBUG",
                f"Tunnel={mode}", f"TunnelDevice={devices}", "ExitOnForwardFailure=yes",
                "ServerAliveInterval=0"]
        args = in_ns(nsc, *server.ssh_args(key=key, options=opts)) + ["sleep 60"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def diagnose(self, *namespaces):
        """The server log, the client's stderr if it ended, the namespaces' links and routes."""
        out = "--- server log\n" + self.log_text()
        if self.proc.poll() is not None:
            out += f"--- client exited {self.proc.returncode}\n" + self.proc.stderr.read()
        return out + state(*namespaces)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def configure(ns, dev, local, peer=None, prefix=None):
    if peer:
        run_ns(ns, "ip", "addr", "add", local, "peer", peer, "dev", dev)
    else:
        run_ns(ns, "ip", "addr", "add", f"{local}/{prefix}", "dev", dev)
    run_ns(ns, "ip", "link", "set", dev, "up")


def state(*namespaces):
    """The namespaces' links and routes, for a failure message."""
    out = ""
    for ns in namespaces:
        for what in (["ip", "addr"], ["ip", "route"]):
            out += f"--- {ns}: {' '.join(what)}\n"
            out += subprocess.run(in_ns(ns, *what), capture_output=True, text=True).stdout
    return out


def ping(ns, dst):
    r = subprocess.run(in_ns(ns, "/usr/bin/python3", "-c", PING_SCRIPT, dst), capture_output=True,
                       text=True, timeout=30)
    return int(r.stdout.strip()) if r.returncode == 0 else r.stderr


def echo_roundtrip(nsc, nss, addr):
    srv = subprocess.Popen(in_ns(nss, "/usr/bin/python3", "-c", ECHO_SERVER, addr),
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        return run_ns(nsc, "/usr/bin/python3", "-c", ECHO_CLIENT, addr).strip()
    finally:
        srv.kill()
        srv.wait()


def test_point_to_point_tunnel_carries_ping_and_tcp(make_server, user, namespaces, tmp_path):
    nsc, nss = namespaces
    server = make_server("PermitTunnel yes", start=False)
    # The user's own persistent device on the server side; the client (root) makes its own.
    run_ns(nss, "ip", "tuntap", "add", "dev", "tun7", "mode", "tun", "user", TEST_USER)
    t = Tunnel(server, nsc, nss, tmp_path, "point-to-point", "5:7")
    try:
        assert wait_for(lambda: "Tunnel forwarding using interface tun7" in t.log_text()), (
            t.log_text() + (t.proc.stderr.read() if t.proc.poll() is not None else ""))
        assert wait_for(lambda: link_exists(nsc, "tun5"))
        configure(nsc, "tun5", "10.201.0.1", peer="10.201.0.2")
        configure(nss, "tun7", "10.201.0.2", peer="10.201.0.1")
        assert ping(nsc, "10.201.0.2") == 3, t.diagnose(nsc, nss)
        assert echo_roundtrip(nsc, nss, "10.201.0.2") == "ok"
        # IPv6 crosses too (address family 24 in the channel framing).
        run_ns(nsc, "ip", "-6", "addr", "add", "fd00:201::1/64", "dev", "tun5", "nodad")
        run_ns(nss, "ip", "-6", "addr", "add", "fd00:201::2/64", "dev", "tun7", "nodad")
        assert echo_roundtrip(nsc, nss, "fd00:201::2") == "ok"
    finally:
        t.stop()


def test_ethernet_tunnel_carries_ping(make_server, user, namespaces, tmp_path):
    nsc, nss = namespaces
    server = make_server("PermitTunnel ethernet", start=False)
    run_ns(nss, "ip", "tuntap", "add", "dev", "tap7", "mode", "tap", "user", TEST_USER)
    t = Tunnel(server, nsc, nss, tmp_path, "ethernet", "5:7")
    try:
        assert wait_for(lambda: "Tunnel forwarding using interface tap7" in t.log_text()), t.log_text()
        assert wait_for(lambda: link_exists(nsc, "tap5"))
        configure(nsc, "tap5", "10.202.0.1", prefix=24)
        configure(nss, "tap7", "10.202.0.2", prefix=24)
        assert ping(nsc, "10.202.0.2") == 3, t.diagnose(nsc, nss)
    finally:
        t.stop()


def refused(server, namespaces, tmp_path, mode, devices, key="id_ed25519"):
    nsc, nss = namespaces
    t = Tunnel(server, nsc, nss, tmp_path, mode, devices, key=key)
    try:
        assert wait_for(lambda: "refused tun device forwarding" in t.log_text()
                        or "tun device forwarding for" in t.log_text()), t.log_text()
        # ExitOnForwardFailure: the client gives up.
        t.proc.wait(timeout=20)
        assert t.proc.returncode != 0
        return t.log_text()
    finally:
        t.stop()


def test_permit_tunnel_no_refuses(make_server, user, namespaces, tmp_path):
    server = make_server(start=False)  # PermitTunnel no is the default
    log = refused(server, namespaces, tmp_path, "point-to-point", "5:any")
    assert "PermitTunnel does not allow point-to-point tunnels" in log


def test_permit_tunnel_point_to_point_refuses_ethernet(make_server, user, namespaces, tmp_path):
    server = make_server("PermitTunnel point-to-point", start=False)
    log = refused(server, namespaces, tmp_path, "ethernet", "5:any")
    assert "PermitTunnel does not allow ethernet tunnels" in log


def test_user_may_not_create_devices(make_server, user, namespaces, tmp_path):
    # No device of theirs: creating one needs CAP_NET_ADMIN, which the user lacks, so the
    # kernel refuses although the monitor could have done it.
    nsc, nss = namespaces
    server = make_server("PermitTunnel yes", start=False)
    log = refused(server, namespaces, tmp_path, "point-to-point", "5:any")
    assert "Operation not permitted" in log
    assert not link_exists(nss, "tun0")


def test_key_tunnel_option_forces_the_device(make_server, user, namespaces, tmp_path, keydir):
    nsc, nss = namespaces
    server = make_server("PermitTunnel yes", start=False)
    ak = os.path.join(user.pw_dir, ".ssh", "authorized_keys")
    saved = open(ak).read()
    ecdsa = (keydir / "id_ecdsa.pub").read_text().strip()
    try:
        with open(ak, "w") as f:
            f.write(saved.replace(ecdsa, f'tunnel="8" {ecdsa}'))
        run_ns(nss, "ip", "tuntap", "add", "dev", "tun8", "mode", "tun", "user", TEST_USER)
        # Another unit than the forced one is refused ...
        log = refused(server, namespaces, tmp_path, "point-to-point", "5:9", key="id_ecdsa")
        assert "key forces 8" in log
        # ... and "any" gets the forced one.
        t = Tunnel(server, nsc, nss, tmp_path, "point-to-point", "6:any", key="id_ecdsa")
        try:
            assert wait_for(lambda: "Tunnel forwarding using interface tun8" in t.log_text()), \
                t.log_text()
        finally:
            t.stop()
    finally:
        with open(ak, "w") as f:
            f.write(saved)
