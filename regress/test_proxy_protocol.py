"""ProxyProtocolFrom (issue 13): sshd behind a real HAProxy (Debian's `haproxy`) sending PROXY
protocol v1 (`send-proxy`) and v2 (`send-proxy-v2`), and hand-written headers for the edge cases.

Addresses: postern listens on 127.0.0.1; HAProxy connects to it from 127.0.0.2, the one address
in ProxyProtocolFrom; clients reach HAProxy from 127.0.0.3 and 127.0.0.4, so the header's source
differs from every real peer of postern. A backend without `source` connects from 127.0.0.1,
which is not listed: its header is refused."""

import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from bastion_env import BastionEnv, Policy
from conftest import TEST_USER, free_port, wait_for_port

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="needs haproxy (scripts/deps test)")

LB = "127.0.0.2"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


class HAProxy:
    """haproxy in the foreground (-db) with a generated `mode tcp` config; stopped by its pid."""

    def __init__(self, tmp_path, sshd_port):
        self.ports = {name: free_port() for name in ("v1", "v2", "unlisted")}
        servers = {"v1": f"send-proxy source {LB}", "v2": f"send-proxy-v2 source {LB}",
                   "unlisted": "send-proxy"}
        conf = ["global", "    maxconn 100", "defaults", "    mode tcp", "    timeout connect 5s",
                "    timeout client 60s", "    timeout server 60s"]
        for name, port in self.ports.items():
            conf += [f"listen {name}", f"    bind 127.0.0.1:{port}",
                     f"    server sshd 127.0.0.1:{sshd_port} {servers[name]}"]
        self.config = tmp_path / "haproxy.cfg"
        self.config.write_text("\n".join(conf) + "\n")
        self.log = open(tmp_path / "haproxy.log", "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for port in self.ports.values():
            if not wait_for_port(port, self.proc):
                self.stop()
                raise RuntimeError("haproxy did not start: " +
                                   (tmp_path / "haproxy.log").read_text(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def proxied(make_server, user, tmp_path):
    """postern with ProxyProtocolFrom 127.0.0.2 and a Match block for the client 127.0.0.3, and
    HAProxy in front of it."""
    servers = []

    def make(extra=""):
        srv = make_server(f"ProxyProtocolFrom {LB}\nLoginGraceTime 6\n{extra}"
                          "Match Address 127.0.0.3\n"
                          "    ForceCommand echo matched-by-client-address $SSH_CLIENT\n")
        ha = HAProxy(tmp_path, srv.port)
        servers.append(ha)
        return srv, ha

    yield make
    for ha in servers:
        ha.stop()


def ssh_via(srv, port, source, command="echo plain-session", key="id_ed25519"):
    args = srv.ssh_args(key=key)
    args[args.index("-p") + 1] = str(port)
    return subprocess.run(args[:-1] + ["-b", source, args[-1], command], capture_output=True,
                          text=True, timeout=60)


def connect_from(source, port):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def server_answer(s):
    """What the server sends back until it closes, or is quiet for a second once it has spoken
    (the first bytes may take a while on a loaded machine)."""
    data = b""
    s.settimeout(15)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
            s.settimeout(1)
    except (socket.timeout, ConnectionResetError):
        pass
    return data


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_login_through_haproxy_sees_the_client_address(proxied, version):
    srv, ha = proxied()
    r = ssh_via(srv, ha.ports[version], "127.0.0.3")
    assert r.returncode == 0, r.stderr + srv.log_text()
    # The Match Address block keyed to the header's client applied, and the session's
    # SSH_CLIENT names that client too.
    assert r.stdout.startswith("matched-by-client-address 127.0.0.3 "), r.stdout
    log = srv.log_text()
    assert f"PROXY protocol {version} header from {LB} port " in log
    assert "Connection from 127.0.0.3 port " in log
    assert f"Accepted publickey for {TEST_USER} from 127.0.0.3 port " in log
    assert f"Connection from {LB} " not in log
    # Another client through the same balancer is not matched.
    r = ssh_via(srv, ha.ports[version], "127.0.0.4")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "plain-session"
    assert "Connection from 127.0.0.4 port " in srv.log_text()


def test_header_from_a_source_not_listed_is_refused(proxied):
    srv, ha = proxied()
    r = ssh_via(srv, ha.ports["unlisted"], "127.0.0.3")
    assert r.returncode == 255
    assert srv.wait_log("PROXY protocol header from an address not in ProxyProtocolFrom")
    assert "Accepted publickey" not in srv.log_text()
    # By hand, both versions.
    for header in (b"PROXY TCP4 10.1.1.1 127.0.0.1 1111 22\r\n",
                   V2_SIG + b"\x21\x11\x00\x0c" + bytes([10, 2, 2, 2, 127, 0, 0, 1, 0, 1, 0, 22])):
        s = connect_from("127.0.0.1", srv.port)
        s.sendall(header + b"SSH-2.0-test\r\n")
        assert b"Invalid SSH identification string." in server_answer(s)
        s.close()
    assert "10.1.1.1" not in srv.log_text() and "10.2.2.2" not in srv.log_text()


def test_listed_source_must_send_a_header(proxied):
    srv, ha = proxied()
    s = connect_from(LB, srv.port)
    s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert server_answer(s) == b""  # not even a version line: the header comes first
    s.close()
    assert srv.wait_log(f"PROXY protocol header from {LB} port ")
    assert "refused: not a PROXY protocol header" in srv.log_text()


def hand_header(srv, header, then=b"SSH-2.0-test\r\n"):
    s = connect_from(LB, srv.port)
    s.sendall(header + then)
    answer = server_answer(s)
    s.close()
    return answer


def test_hand_written_headers(proxied):
    srv, _ = proxied()
    # v1 UNKNOWN and v2 LOCAL (health checks): the real address, and SSH goes on behind them.
    assert hand_header(srv, b"PROXY UNKNOWN\r\n").startswith(b"SSH-2.0-")
    assert hand_header(srv, V2_SIG + b"\x20\x00\x00\x00").startswith(b"SSH-2.0-")
    assert srv.wait_log(f"PROXY protocol v2 header from {LB} port ")
    assert srv.log_text().count("names no client: keeping the address") == 2
    assert f"Connection from {LB} port " in srv.log_text()
    # v2 over IPv6 with TLVs: skipped, the client is the header's.
    body = (socket.inet_pton(socket.AF_INET6, "2001:db8::5") +
            socket.inet_pton(socket.AF_INET6, "2001:db8::1") + struct.pack(">HH", 50000, 22) +
            b"\x04\x00\x03abc" + b"\x02\x00\x05hello")
    assert hand_header(srv, V2_SIG + b"\x21\x21" + struct.pack(">H", len(body)) + body) \
        .startswith(b"SSH-2.0-")
    assert srv.wait_log("Connection from 2001:db8::5 port 50000 ")
    # Refused, each with its reason; the server never gets to its version line.
    cases = [
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 22\r\n", "malformed v1 header"),
        (b"PROXY " + b"A" * 120 + b"\r\n", "v1 header longer than 107 bytes"),
        (V2_SIG + b"\x21\x11\xff\xff", "v2 header longer than allowed"),
        (V2_SIG[:11] + b"X\x21\x11\x00\x0c", "not a PROXY protocol header"),
        (V2_SIG + b"\x31\x11\x00\x0c", "v2 header of an unknown version"),
        (V2_SIG + b"\x21\x12\x00\x0c" + bytes(12), "v2 header for an unsupported address family or transport"),
    ]
    for header, reason in cases:
        assert hand_header(srv, header) == b"", reason
        assert srv.wait_log(f"refused: {reason}"), reason
    # Truncated: the peer closes inside the header; or says nothing until the deadline
    # (LoginGraceTime 6 here, shorter than the 10 s bound).
    s = connect_from(LB, srv.port)
    s.sendall(b"PROXY TCP4 1.2.3.4 ")
    s.shutdown(socket.SHUT_WR)
    assert server_answer(s) == b""
    s.close()
    assert srv.wait_log("refused: connection closed inside the header")
    s = connect_from(LB, srv.port)
    s.sendall(V2_SIG[:8])
    start = time.time()
    s.settimeout(15)
    assert s.recv(100) == b""
    assert 5.5 < time.time() - start < 9.5
    s.close()
    assert srv.wait_log("refused: no complete header in time")
    # Nothing from any refused header became a client.
    assert "1.2.3.4" not in srv.log_text()


def test_penalties_follow_the_client_not_the_balancer(proxied):
    srv, ha = proxied("PerSourcePenalties authfail:20s noauth:0s min:15s max:60s\n")
    # One failed login through the balancer: its client's address is penalised (20 s >= min).
    assert ssh_via(srv, ha.ports["v2"], "127.0.0.4", key="id_other").returncode == 255
    assert srv.wait_log("srclimit_penalise: ipv4: new 127.0.0.4/32 active penalty of 20 seconds")
    # Then even its good key is refused: the listener drops the connection once the header
    # names the penalised client.
    assert ssh_via(srv, ha.ports["v2"], "127.0.0.4").returncode == 255
    assert srv.wait_log(f"drop connection from [127.0.0.4] via [{LB}] (PROXY protocol) "
                        "penalty: failed authentication")
    # The balancer and its other clients are not penalised.
    assert f"{LB}/32" not in srv.log_text()
    r = ssh_via(srv, ha.ports["v1"], "127.0.0.3")
    assert r.returncode == 0, r.stderr + srv.log_text()


def test_allow_users_user_at_host_sees_the_client(make_server, user, tmp_path):
    srv = make_server(f"ProxyProtocolFrom {LB}\nAllowUsers {TEST_USER}@127.0.0.3\n")
    ha = HAProxy(tmp_path, srv.port)
    try:
        assert ssh_via(srv, ha.ports["v1"], "127.0.0.3").returncode == 0
        r = ssh_via(srv, ha.ports["v1"], "127.0.0.4")
        assert r.returncode == 255
        assert srv.wait_log(f"User {TEST_USER} from 127.0.0.4 not allowed because not listed in "
                            "AllowUsers")
    finally:
        ha.stop()


def test_bastion_role_source_and_audit_see_the_client(keydir, user, tmp_path):
    """sshd -B behind HAProxy: a role limited to source 127.0.0.3 applies to that client only,
    and the audit names the client, not the balancer."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-proxy-"), keydir)
    ha = None
    try:
        t = env.target("target")
        env.write_known_hosts(t.known_hosts_line("127.0.0.1"))
        pol = Policy(env).user("alice", env.pub("alice"))
        pol.target("web1", "127.0.0.1", t.port, [TEST_USER])
        pol.role("near", ["alice"], ["web1"], [TEST_USER], ["exec"], source=["127.0.0.3/32"])
        b = env.make_bastion(pol, extra_config=f"ProxyProtocolFrom {LB}")
        ha = HAProxy(tmp_path, b.port)
        mark = env.audit_mark()

        def via(source):
            args = b.ssh_args(f"{TEST_USER}%web1%alice", env.keys["alice"])
            args[args.index("-p") + 1] = str(ha.ports["v2"])
            return subprocess.run(args[:-1] + ["-b", source, args[-1], "echo through-bastion"],
                                  capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL)

        r = via("127.0.0.3")
        assert r.stdout == "through-bastion\n", r.stderr + b.log_text()
        events = env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
        logins = [e for e in events if e["event"] == "login"]
        assert logins[0]["decision"] == "allow" and logins[0]["client"].startswith("127.0.0.3")
        mark = env.audit_mark()
        r = via("127.0.0.4")
        assert "through-bastion" not in r.stdout and r.returncode != 0
        events = env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
        logins = [e for e in events if e["event"] == "login"]
        assert logins and logins[0]["decision"] == "deny", events
        assert logins[0]["client"].startswith("127.0.0.4")
        assert not any(e.get("client", "").startswith(LB) for e in env.audit())
    finally:
        if ha:
            ha.stop()
        env.close()


def test_per_source_max_startups_counts_the_client(proxied):
    srv, _ = proxied("PerSourceMaxStartups 1\n")

    def unauthenticated(client):
        s = connect_from(LB, srv.port)
        s.sendall(f"PROXY TCP4 {client} 127.0.0.1 4000 22\r\n".encode())
        s.settimeout(15)
        try:
            data = s.recv(100)
        except (socket.timeout, ConnectionResetError):
            data = b""
        return s, data

    first, data = unauthenticated("10.7.7.7")
    assert data.startswith(b"SSH-2.0-")
    # A second connection of the same client is one too many; another client behind the same
    # balancer (whose own address is never counted) is served.
    second, _ = unauthenticated("10.7.7.7")
    # Dropped once the header is read: closed (its version line may have gone out first).
    assert server_answer(second).count(b"SSH-2.0-") <= 1
    second.settimeout(1)
    assert second.recv(100) == b""
    assert srv.wait_log(f"drop connection from [10.7.7.7] via [{LB}] (PROXY protocol) "
                        "past PerSourceMaxStartups")
    third, data = unauthenticated("10.7.7.8")
    assert data.startswith(b"SSH-2.0-")
    for s in (first, second, third):
        s.close()


def test_use_dns_looks_up_the_client(proxied):
    # 127.0.0.1 is "localhost" in /etc/hosts, the balancer's 127.0.0.2 is nothing: a Match Host
    # block for localhost applies only if the header's client was looked up.
    srv, ha = proxied("UseDNS yes\nMatch Host localhost\n    ForceCommand echo matched-by-name\n")
    r = ssh_via(srv, ha.ports["v2"], "127.0.0.1")
    assert r.returncode == 0, r.stderr + srv.log_text()
    assert r.stdout.strip() == "matched-by-name"
    r = ssh_via(srv, ha.ports["v2"], "127.0.0.4")
    assert r.stdout.strip() == "plain-session"
