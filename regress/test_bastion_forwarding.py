"""Forwarding through bastion mode: -L, -R and agent forwarding as the role allows, jump mode
(ssh -J) end to end, and targets no role grants never contacted. The world:
regress/bastion_world.py."""

import os
import re
import socket
import subprocess
import time

import pytest

from bastion_env import disconnect_line, fingerprint, wait_until
from bastion_world import client_config, route, stop, via, w  # noqa: F401 (w is the fixture)
from conftest import free_port, wait_for_port


# ---- forwarding ----------------------------------------------------------------------------------

def start_forward(w, who, spec, *options):
    proc = subprocess.Popen(w.bastion.ssh_args(route(w, who), w.env.keys[who],
                                               options=["ExitOnForwardFailure=yes"] + list(options),
                                               extra=["-N"] + spec),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


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
