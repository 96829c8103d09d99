"""The proxy front door (sshd -B with proxy_listen; ../shared/BASTION.md, man/postern-bastion.5
PROXY FRONT DOOR): stock clients reach a target with ProxyCommand through netcat-openbsd's
`nc -X connect|5|4` and a SOCKS4a client written here. The proxy request names the target, the
SSH user name is the target account, the key says who the bastion user is, and SSH runs on the
same stream with the bastion's own host key (HostKeyAlias). The target is Debian's OpenSSH sshd
(regress/bastion_env.py)."""

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import re

from bastion_env import BastionEnv, Policy, keygen, wait_until
from conftest import free_port, wait_for_port

ALIAS = "bastion.test:2222"  # what the client's known_hosts calls the bastion

# A SOCKS4a client (the SOCKS4a notes: VN 4, CD 1, port, 0.0.0.1, user id, NUL, host, NUL) as a
# ProxyCommand: it asks for %h %p by name and then relays stdin and stdout.
SOCKS4A_CLIENT = r'''
import os, select, socket, struct, sys
proxy_host, proxy_port, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((proxy_host, proxy_port))
s.sendall(struct.pack(">BBH", 4, 1, port) + bytes([0, 0, 0, 1]) + b"me\0" + host.encode() + b"\0")
reply = b""
while len(reply) < 8:
    chunk = s.recv(8 - len(reply))
    if not chunk:
        sys.exit("socks4a: closed")
    reply += chunk
if reply[1] != 90:
    sys.exit("socks4a: refused %d" % reply[1])
stdin_open = True
while True:
    r, _, _ = select.select([s] + ([0] if stdin_open else []), [], [])
    if s in r:
        data = s.recv(65536)
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            s.sendall(data)
        else:
            stdin_open = False
            s.shutdown(socket.SHUT_WR)
'''


def refusal_line(stderr):
    """The one line a refused route shows: the session's stderr (the proxy door answers the
    session, since a DISCONNECT can be lost in the ProxyCommand)."""
    m = re.search(r"^(postern: [^\r\n]+)", stderr, re.M)
    return m.group(1) if m else None


class World:
    pass


@pytest.fixture(scope="module")
def w(keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-proxy-"), keydir)
    try:
        w = World()
        w.env = env
        w.tu = env.target_user
        w.target = env.target("target")
        w.decoy = env.listener("count")  # a host no role grants: must never see a connection
        env.write_known_hosts(w.target.known_hosts_line("127.0.0.1"))
        w.proxy_port = free_port()
        p = Policy(env, proxy_listen=[f"127.0.0.1:{w.proxy_port}"])
        p.user("alice", env.pub("alice"))
        # bob and carol share one key: on the proxy door that key names no one.
        p.user("bob", env.pub("bob"))
        p.user("carol", env.pub("bob"))
        p.target("web1", "127.0.0.1", w.target.port, [w.tu, "deploy"])
        p.role("ops", ["alice", "bob", "carol"], ["web1"], [w.tu],
               ["shell", "exec", "sftp", "scp"])
        w.bastion = env.make_bastion(p)
        assert wait_for_port(w.proxy_port, w.bastion.proc)
        # The client knows the bastion's own host key under the alias, and nothing else.
        host_pub = Path(f"{keydir}/host_ed25519.pub").read_text().split()
        w.known_hosts = env.dir / "proxy_client_known_hosts"
        w.known_hosts.write_text(f"{ALIAS} {host_pub[0]} {host_pub[1]}\n")
        w.socks4a = env.dir / "socks4a_client.py"
        w.socks4a.write_text(SOCKS4A_CLIENT)
        yield w
    finally:
        env.close()


def proxy_command(w, kind):
    if kind == "socks4a":
        return f"/usr/bin/python3 {w.socks4a} 127.0.0.1 {w.proxy_port} %h %p"
    return f"nc -X {kind} -x 127.0.0.1:{w.proxy_port} %h %p"


def ssh_options(w, kind, key="alice", known_hosts=None):
    """The ssh_config lines of the README's snippet, as -o options, plus the test's key."""
    return ["-F", "/dev/null", "-i", str(w.env.keys[key]), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", f"ProxyCommand={proxy_command(w, kind)}",
            "-o", f"HostKeyAlias={ALIAS}", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts or w.known_hosts}", "-o", "LogLevel=ERROR"]


def ssh(w, kind, host, port, command, user=None, key="alice", input=None):
    args = ["ssh"] + ssh_options(w, kind, key) + ["-p", str(port), f"{user or w.tu}@{host}",
                                                   command]
    return subprocess.run(args, input=input, capture_output=True, text=True, timeout=60,
                          stdin=None if input is not None else subprocess.DEVNULL)


# ---- stock clients through each proxy protocol ----------------------------------------------

@pytest.mark.parametrize("kind,host", [("connect", "web1"), ("connect", "127.0.0.1"),
                                       ("5", "web1"), ("5", "127.0.0.1"), ("4", "127.0.0.1"),
                                       ("socks4a", "web1")])
def test_ssh_exec_through_each_proxy_protocol(w, kind, host):
    mark = w.env.audit_mark()
    r = ssh(w, kind, host, w.target.port, "echo via-proxy; id -un")
    assert r.returncode == 0, r.stderr + w.bastion.log_text()[-3000:]
    assert r.stdout.split() == ["via-proxy", w.tu]
    door = {"connect": "http-connect", "5": "socks5", "4": "socks4", "socks4a": "socks4a"}[kind]
    events = w.env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
    login = [e for e in events if e["event"] == "login"]
    assert login and login[0]["decision"] == "allow", events
    # The bastion user is the key's, the target account the SSH user name's, the door named.
    assert login[0]["bastion_user"] == "alice"
    assert login[0]["target"] == "web1" and login[0]["target_user"] == w.tu
    assert login[0]["detail"] == f"proxy front door ({door})"


def test_scp_sftp_and_rsync_through_the_proxy(w, tmp_path):
    data = bytes(range(256)) * 4096
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    remote = f"/tmp/postern-proxy-{w.tu}.bin"
    opts = ssh_options(w, "connect")
    r = subprocess.run(["scp"] + opts + ["-P", str(w.target.port), str(src),
                                         f"{w.tu}@web1:{remote}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    back = tmp_path / "back.bin"
    r = subprocess.run(["sftp"] + opts + ["-P", str(w.target.port), "-b", "-", f"{w.tu}@web1"],
                       input=f"get {remote} {back}\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == data
    dest = tmp_path / "rsynced.bin"
    shell = " ".join(["ssh"] + [f"'{o}'" if " " in o else o for o in opts] +
                     ["-p", str(w.target.port)])
    r = subprocess.run(["rsync", "-e", shell, f"{w.tu}@web1:{remote}", str(dest)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert dest.read_bytes() == data


def test_the_client_sees_the_bastions_own_host_key(w, tmp_path):
    # Under another alias the bastion's key is unknown: strict checking refuses it.
    kh = tmp_path / "empty_known_hosts"
    kh.write_text("")
    args = ["ssh"] + ssh_options(w, "connect", known_hosts=kh) + ["-p", str(w.target.port),
                                                                  f"{w.tu}@web1", "true"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 255
    assert "Host key verification failed" in r.stderr


def test_a_certificate_logs_in_the_policy_user_its_principal_names(w, tmp_path):
    mark = w.env.audit_mark()
    key = keygen(tmp_path / "cert_key")
    subprocess.run(["ssh-keygen", "-q", "-s", str(w.env.user_ca), "-I", "alice-cert", "-n",
                    "alice", f"{key}.pub"], check=True, capture_output=True)
    args = ["ssh", "-o", f"CertificateFile={key}-cert.pub"] + ssh_options(w, "5") + \
        ["-i", str(key), "-p", str(w.target.port), f"{w.tu}@web1", "echo by-certificate"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and r.stdout.split() == ["by-certificate"], r.stderr
    events = w.env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
    login = [e for e in events if e["event"] == "login"]
    assert login[0]["bastion_user"] == "alice" and login[0]["decision"] == "allow"


def test_ssh_bytes_sent_behind_the_request_reach_the_ssh_side(w):
    # A client may write its version line without waiting for the proxy's reply: those bytes
    # belong to SSH. An SSH-1 version line there is answered as the SSH side answers it.
    got = exchange(w, b"CONNECT web1:22 HTTP/1.1\r\n\r\nSSH-1.5-old\r\n")
    assert got.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-"), got[:200]
    assert b"Protocol major versions differ" in got, got[:300]


# ---- refusals after authentication: the target is never contacted ---------------------------

def test_a_target_no_role_grants_is_refused_and_never_contacted(w):
    mark = w.env.audit_mark()
    for kind in ("connect", "5"):
        r = ssh(w, kind, "127.0.0.1", w.decoy.port, "echo no")
        assert r.returncode == 1, r.stderr
        assert refusal_line(r.stderr) == \
            f"postern: no role lets alice reach {w.tu}@127.0.0.1", r.stderr
        assert r.stdout == ""
    events = w.env.audit_since(mark, lambda evs: sum(e["event"] == "login" for e in evs) >= 2)
    denies = [e for e in events if e["event"] == "login"]
    assert len(denies) == 2 and all(e["decision"] == "deny" for e in denies), events
    assert all(e["bastion_user"] == "alice" for e in denies)
    assert [e["detail"] for e in denies] == ["proxy front door (http-connect)",
                                             "proxy front door (socks5)"]
    time.sleep(0.3)
    assert w.decoy.accepted == 0


def test_a_refused_client_that_opens_no_session_is_disconnected(w):
    # ssh -N asks for nothing the refusal could answer: it hears it as a DISCONNECT instead.
    start = time.monotonic()
    args = ["ssh"] + ssh_options(w, "connect") + ["-N", "-o", "LogLevel=INFO", "-p",
                                                   str(w.decoy.port), f"{w.tu}@127.0.0.1"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert r.returncode == 255
    assert f"postern: no role lets alice reach {w.tu}@127.0.0.1" in r.stderr, r.stderr
    assert 25 < time.monotonic() - start < 60
    assert w.decoy.accepted == 0


def test_a_target_account_not_granted_is_refused(w):
    mark = w.env.audit_mark()
    r = ssh(w, "connect", "web1", w.target.port, "echo no", user="deploy")
    assert r.returncode == 1 and r.stdout == "", r.stderr
    assert refusal_line(r.stderr) == "postern: no role lets alice reach deploy@web1", r.stderr
    events = w.env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
    login = [e for e in events if e["event"] == "login"]
    assert login[0]["decision"] == "deny" and login[0]["target_user"] == "deploy"


def test_a_key_two_policy_users_share_is_ambiguous(w):
    r = ssh(w, "connect", "web1", w.target.port, "echo no", key="bob")
    assert r.returncode == 255
    assert "Permission denied" in r.stderr
    assert wait_until(lambda: "share it (ambiguous)" in w.bastion.log_text(), 5)
    # The same key logs bob in where the user name says who it is.
    r = w.bastion.ssh(f"{w.tu}%web1%bob", "echo direct", w.env.keys["bob"])
    assert r.returncode == 0 and r.stdout.split() == ["direct"], r.stderr


def test_a_route_in_the_user_name_is_refused_on_the_proxy_door(w):
    r = ssh(w, "connect", "web1", w.target.port, "echo no", user=f"{w.tu}%web1%alice")
    assert r.returncode == 255
    assert "no" not in r.stdout.split()


# ---- bad proxy requests: an error reply and a closed connection, never a hang ---------------

def exchange(w, data, timeout=15):
    with socket.create_connection(("127.0.0.1", w.proxy_port), timeout=timeout) as c:
        if data:
            c.sendall(data)
        got = b""
        while chunk := c.recv(65536):
            got += chunk
        return got


@pytest.mark.parametrize("request_bytes,reply_start", ids=[
    "garbage", "get", "no-port", "oversized", "socks4-bind", "socks5-no-noauth", "socks5-udp"], argvalues=[
    (b"\x00\x01garbage\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 405 Method Not Allowed\r\n"),
    (b"CONNECT web1 HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    (b"CONNECT web1:22 HTTP/1.1\r\nX: " + b"a" * 8000 + b"\r\n\r\n",
     b"HTTP/1.1 400 Bad Request\r\n"),
    (bytes([4, 2, 0, 22, 127, 0, 0, 1, 0]), bytes([0, 91])),             # SOCKS4 BIND
    (bytes([5, 1, 2]), bytes([5, 0xff])),                                # SOCKS5, no no-auth
    (bytes([5, 1, 0, 5, 3, 0, 1, 127, 0, 0, 1, 0, 22]), bytes([5, 0, 5, 7])),  # UDP ASSOCIATE
])
def test_bad_requests_get_an_error_reply_and_a_close(w, request_bytes, reply_start):
    start = time.monotonic()
    got = exchange(w, request_bytes)
    assert got.startswith(reply_start), got[:200]
    assert time.monotonic() - start < 5
    assert b"SSH-2.0" not in got


def test_a_slow_request_is_answered_at_the_deadline(w):
    start = time.monotonic()
    got = exchange(w, b"CONNECT web1:22 HTTP/1.1\r\n", timeout=30)
    took = time.monotonic() - start
    assert got.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), got[:200]
    assert 8 < took < 20, took
    assert w.bastion.wait_log("no whole request in time")


def test_the_ssh_port_is_not_a_proxy_door(w):
    # A proxy request on the SSH port is no SSH version line: refused, nothing reached.
    with socket.create_connection(("127.0.0.1", w.bastion.port), timeout=10) as c:
        c.sendall(f"CONNECT 127.0.0.1:{w.decoy.port} HTTP/1.1\r\n\r\n".encode())
        got = b""
        while chunk := c.recv(65536):
            got += chunk
    assert not got.startswith(b"HTTP/1.1 200")
    assert w.decoy.accepted == 0
