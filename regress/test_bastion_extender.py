"""Extenders (man/postern-bastion.5 EXTENDERS): routes into networks the bastion does not reach
itself. The extender is a stock OpenSSH client keeping `ssh -N -R 0 dc2@bastion` running (a
dynamic reverse forward: the client is a SOCKS server for the forwarded-tcpip channels the
bastion opens toward it); the target is Debian's OpenSSH sshd on 127.0.0.1. The proof that a
login went through the extender is the extender's own log (-v): each forwarded connection shows
there, and with the extender stopped the same login is refused, naming it."""

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bastion_env import BastionEnv, Policy, disconnect_line, keygen, wait_until
from conftest import free_port

FORWARDED = "client_request_forwarded_tcpip"


class Extender:
    """`ssh -v -N -R 0 NAME@bastion` with the extender's key, its log in a file."""

    def __init__(self, env, bastion, key, name="dc2", tag="ext"):
        self.log = env.dir / f"{tag}-{time.monotonic_ns()}.log"
        args = bastion.ssh_args(name, key, options=["ExitOnForwardFailure=yes",
                                                    "ServerAliveInterval=0"],
                                extra=["-v", "-N", "-R", "0"])
        # ssh_args asks for LogLevel=ERROR; the -v after it wins only as a later -o would not,
        # so the level is set again here.
        args = [a if a != "LogLevel=ERROR" else "LogLevel=DEBUG1" for a in args]
        self.stderr = open(self.log, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)

    def text(self):
        return self.log.read_text(errors="replace")

    def wait_forwarding(self):
        assert wait_until(lambda: "Allocated port" in self.text() or self.proc.poll() is not None,
                          15), self.text()
        assert self.proc.poll() is None, self.text()
        return self

    def forwarded(self):
        return self.text().count(FORWARDED)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


@pytest.fixture(scope="module")
def f(keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-ext-"), keydir)
    extenders = []
    try:
        target = env.target("dc2target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        env.ext_key = keygen(env.dir / "id_dc2", comment="dc2 extender")
        ext_pub = Path(f"{env.ext_key}.pub").read_text().strip()
        p = Policy(env, extender_sockets=env.dir / "extenders")
        p.user("alice", env.pub("alice"))
        p.extender("dc2", ext_pub)
        p.extender("dc3", env.pub("bob"))
        p.target("db1", "127.0.0.1", target.port, [env.target_user], via="dc2")
        env.closed_port = free_port()  # nothing listens there
        p.target("gone", "127.0.0.1", env.closed_port, [env.target_user], via="dc2")
        p.role("ops", ["alice"], ["db1", "gone"], [env.target_user], ["shell", "exec", "sftp", "scp", "direct-tcpip"])
        bastion = env.make_bastion(p)

        def start_extender(tag="ext"):
            e = Extender(env, bastion, env.ext_key, tag=tag)
            extenders.append(e)
            return e.wait_forwarding()

        env.start_extender = start_extender
        yield env, bastion, target
    finally:
        for e in extenders:
            e.stop()
        env.close()


def login(env, bastion, command, route="db1", **kw):
    return bastion.ssh(f"{env.target_user}%{route}%alice", command, env.keys["alice"], **kw)


def extender_events(env, mark, name):
    return [e for e in env.audit()[mark:] if e.get("event") == name]


def test_a_login_goes_through_the_extender(f):
    env, bastion, target = f
    mark = env.audit_mark()
    ext = env.start_extender()
    try:
        connects = env.audit_since(mark, lambda evs: any(
            e["event"] == "extender_connect" for e in evs))
        ev = [e for e in connects if e["event"] == "extender_connect"][0]
        assert ev["decision"] == "allow" and ev["bastion_user"] == "dc2", ev
        sock = env.dir / "extenders" / "dc2.sock"
        assert sock.is_socket() and (sock.stat().st_mode & 0o777) == 0o600
        assert (os.stat(env.dir / "extenders").st_mode & 0o777) == 0o700

        r = login(env, bastion, "echo through-dc2; hostname >/dev/null")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "through-dc2\n"
        # The extender carried it: its client logged the forwarded channel the bastion opened.
        assert wait_until(lambda: ext.forwarded() >= 1, 5), ext.text()
        opened = [e for e in env.audit()[mark:] if e["event"] == "target-open"]
        assert opened and opened[-1]["decision"] == "allow"
        assert "via extender dc2" in opened[-1]["detail"], opened[-1]

        # scp (sftp protocol) both ways through it.
        src = env.dir / "payload.bin"
        src.write_bytes(os.urandom(300_000))
        dest = f"/tmp/postern-ext-{os.getpid()}.bin"
        before = ext.forwarded()
        scp = ["scp", "-F", "/dev/null", "-P", str(bastion.port), "-i", str(env.keys["alice"]),
               "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", f"UserKnownHostsFile={env.dir}/client_known_hosts"]
        r = subprocess.run(scp + [str(src), f"{env.target_user}%db1%alice@127.0.0.1:{dest}"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        back = env.dir / "payload.back"
        r = subprocess.run(scp + [f"{env.target_user}%db1%alice@127.0.0.1:{dest}", str(back)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert back.read_bytes() == src.read_bytes()
        assert wait_until(lambda: ext.forwarded() >= before + 2, 5), ext.text()
        os.unlink(dest)

        # Jump mode (ssh -W, as -J does): the direct-tcpip channel goes through the extender too.
        before = ext.forwarded()
        hop = " ".join(bastion.ssh_args("alice", env.keys["alice"],
                                        extra=["-W", f"db1:{target.port}"]))
        r = subprocess.run(["ssh", "-F", "/dev/null", "-o", f"ProxyCommand={hop}",
                            "-i", str(env.stored_key), "-o", "IdentitiesOnly=yes",
                            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                            "-p", str(target.port), f"{env.target_user}@db1", "echo jumped"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "jumped\n"
        assert wait_until(lambda: ext.forwarded() >= before + 1, 5), ext.text()

        # targetuser%target%extender%bastionuser: the extender named is the target's via.
        r = login(env, bastion, "echo named", route="db1%dc2")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "named\n"
        r = login(env, bastion, "echo never", route="db1%dc3")
        assert r.returncode != 0
        assert disconnect_line(r.stderr) == \
            "postern: db1 is not reached through extender dc3", r.stderr
    finally:
        ext.stop()
    # Its connection ended: the socket is gone, the audit says so.
    assert wait_until(lambda: not (env.dir / "extenders" / "dc2.sock").exists(), 10)
    assert wait_until(lambda: extender_events(env, mark, "extender_disconnect"), 10)


def test_without_the_extender_the_login_is_refused_naming_it(f):
    env, bastion, target = f
    mark = env.audit_mark()
    before = target.log_text().count("Accepted")
    r = login(env, bastion, "echo never")
    assert r.returncode != 0
    assert disconnect_line(r.stderr) == \
        "postern: cannot reach db1: extender dc2 is not connected", r.stderr
    events = env.audit_since(mark, lambda evs: any(e["event"] == "target-open" for e in evs))
    opened = [e for e in events if e["event"] == "target-open"]
    assert opened[0]["decision"] == "deny"
    assert "extender dc2 is not connected" in opened[0]["reason"], opened[0]
    assert target.log_text().count("Accepted") == before


def test_a_target_the_extender_cannot_reach_is_a_clear_refusal(f):
    env, bastion, _ = f
    mark = env.audit_mark()
    ext = env.start_extender("unreachable")
    try:
        r = login(env, bastion, "echo never", route="gone")
        assert r.returncode != 0
        line = disconnect_line(r.stderr)
        assert line == (f"postern: cannot reach gone: extender dc2 could not connect to 127.0.0.1 "
                        f"port {env.closed_port} (it closed the stream without a SOCKS reply)"), \
            r.stderr
        # The extender was asked (its client tried the port and failed), the bastion was not.
        assert wait_until(lambda: ext.forwarded() >= 1, 5), ext.text()
        opened = [e for e in env.audit()[mark:] if e["event"] == "target-open"]
        assert opened and opened[-1]["decision"] == "deny", opened
        assert "via extender dc2" in opened[-1]["reason"], opened[-1]
    finally:
        ext.stop()


def test_a_newer_connection_of_the_extender_replaces_the_older(f):
    env, bastion, _ = f
    mark = env.audit_mark()
    older = env.start_extender("older")
    newer = env.start_extender("newer")
    # The older one is closed with the reason, and its monitor audits why.
    assert wait_until(lambda: older.proc.poll() is not None, 10), older.text()
    assert "replaced by a newer connection of extender dc2" in older.text()
    assert newer.proc.poll() is None, newer.text()
    gone = env.audit_since(mark, lambda evs: any(
        e["event"] == "extender_disconnect" for e in evs))
    assert any("replaced" in e["reason"] for e in gone if e["event"] == "extender_disconnect")
    connects = [e for e in env.audit()[mark:] if e["event"] == "extender_connect"]
    assert len(connects) == 2 and "replaces the older connection" in connects[1]["reason"]
    # Logins go through the newer one at once.
    r = login(env, bastion, "echo via-newer")
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: newer.forwarded() >= 1, 5), newer.text()
    assert older.forwarded() == 0
    # The older connection's end left the newer's socket in place.
    assert (env.dir / "extenders" / "dc2.sock").is_socket()
    newer.stop()


def test_an_extender_opens_no_session(f):
    env, bastion, _ = f
    r = bastion.ssh("dc2", "id", env.ext_key, options=["LogLevel=INFO"])
    assert r.returncode != 0
    assert "administratively prohibited" in r.stderr, r.stderr
    assert "an extender's connection opens no channels" in r.stderr, r.stderr


def test_an_extender_logs_in_with_its_own_keys_only(f):
    env, bastion, _ = f
    r = bastion.ssh("dc2", None, env.keys["alice"], extra=["-N", "-R", "0"],
                    options=["ExitOnForwardFailure=yes"], timeout=30)
    assert r.returncode == 255
    assert "Permission denied" in r.stderr, r.stderr
    assert not (env.dir / "extenders" / "dc2.sock").exists()


def test_a_user_who_is_no_extender_cannot_forward(f):
    env, bastion, _ = f
    r = bastion.ssh("alice", None, env.keys["alice"], extra=["-N", "-R", "0"],
                    options=["ExitOnForwardFailure=yes", "LogLevel=INFO"], timeout=30)
    assert r.returncode == 255
    assert "remote port forwarding failed" in r.stderr.lower(), r.stderr
    assert not (env.dir / "extenders" / "dc2.sock").exists()
