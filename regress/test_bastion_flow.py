"""Bastion mode's flow control, as a user would notice its absence: a slow reader on either side
never makes the bastion buffer without bound. The relay passes the client's and the target's
windows through end to end (bastion/relay.h), so while one side does not read, the bastion's
relay process holds at most about a window of data; when the reader comes back every byte
arrives. The target is Debian's OpenSSH sshd (regress/bastion_env.py)."""

import subprocess
import tempfile
import time

import pytest

from bastion_env import BastionEnv, Policy, descendants, exe_of, proc_status, wait_until

VOLUME = 256 << 20  # far more than any window: without flow control it would sit in the bastion


@pytest.fixture(scope="module")
def f(keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-flow-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        p = Policy(env)
        p.user("alice", env.pub("alice"))
        p.target("web1", "127.0.0.1", target.port, [env.target_user])
        p.role("ops", ["alice"], ["web1"], [env.target_user], ["exec"])
        bastion = env.make_bastion(p)
        yield env, bastion
    finally:
        env.close()


def relay_rss_kb(bastion):
    pids = wait_until(lambda: [p for p in descendants(bastion.proc.pid)
                               if exe_of(p).endswith("/sshd-bastion")], 10)
    assert pids, "no sshd-bastion process"
    return int(proc_status(pids[0])["VmRSS"].split()[0])


def start(env, bastion, command, stdin=subprocess.DEVNULL):
    args = bastion.ssh_args(f"{env.target_user}%web1%alice", env.keys["alice"]) + [command]
    return subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_client_that_does_not_read_holds_the_bastion_to_a_window(f):
    env, bastion = f
    proc = start(env, bastion, f"head -c {VOLUME} /dev/zero")
    try:
        time.sleep(4)  # the target writes as fast as it may; the client reads nothing
        rss = relay_rss_kb(bastion)
        assert rss < 48 * 1024, f"sshd-bastion holds {rss} kB while the client does not read"
        got = 0
        while chunk := proc.stdout.read(1 << 20):
            got += len(chunk)
        assert proc.wait(timeout=120) == 0
        assert got == VOLUME
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_target_that_does_not_read_holds_the_bastion_to_a_window(f):
    env, bastion = f
    # The client sends far more than a window while the target's command sleeps before reading.
    feeder = subprocess.Popen(["head", "-c", str(VOLUME), "/dev/zero"], stdout=subprocess.PIPE)
    proc = start(env, bastion, "sleep 4; wc -c", stdin=feeder.stdout)
    feeder.stdout.close()
    try:
        time.sleep(3)
        rss = relay_rss_kb(bastion)
        assert rss < 48 * 1024, f"sshd-bastion holds {rss} kB while the target does not read"
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == str(VOLUME).encode()
    finally:
        for p in (proc, feeder):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_key_re_exchanges_on_both_sides_mid_transfer(keydir, user):
    """The target re-keys every MiB (its RekeyLimit) and so does the client: the relay keeps
    going, and the target's host key is checked again on each re-exchange (the same key)."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-rekey-"), keydir)
    try:
        target = env.target("target", extra="RekeyLimit 1M\n")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        p = Policy(env)
        p.user("alice", env.pub("alice"))
        p.target("web1", "127.0.0.1", target.port, [env.target_user])
        p.role("ops", ["alice"], ["web1"], [env.target_user], ["exec"])
        bastion = env.make_bastion(p)
        data = bytes(range(256)) * (32 << 12)  # 32 MiB
        r = bastion.ssh(f"{env.target_user}%web1%alice", "cat", env.keys["alice"],
                        options=["RekeyLimit=2M"], input=data, text=False, timeout=120)
        assert r.returncode == 0, r.stderr + bastion.log_text()[-2000:].encode()
        assert r.stdout == data
        assert "changed during a key re-exchange" not in bastion.log_text()
    finally:
        env.close()
