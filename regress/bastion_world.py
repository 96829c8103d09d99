"""The direct-mode world test_bastion.py, test_bastion_clients.py and test_bastion_forwarding.py
share: one OpenSSH target, a decoy and a bastion whose policy gives alice everything, carol exec
only and bob nothing (the `w` fixture, module-scoped: each file sets up its own), and the
helpers that reach the target through it."""

import subprocess
import tempfile
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy

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


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def paramiko_as_alice(w, paramiko):
    """A paramiko client logged in through the bastion as alice to web1 (the caller closes it)."""
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=w.bastion.port, username=route(w),
              key_filename=str(w.env.keys["alice"]), look_for_keys=False, allow_agent=False)
    return c
