"""Bastion mode, the target picker over keyboard-interactive (man/postern-bastion.5 "Target
picker"): `ssh alice@bastion` with no route in the name, from a client that tries
keyboard-interactive, gets one more keyboard-interactive step after its key that lists exactly
the targets alice's roles grant; a number, user@target or a filter picks one, and the command runs
there. A client that logs in with its key at the first try (BatchMode, ssh -J) is never asked.
Stock ssh answers through a pty (python's pty module types at the prompt)."""

import os
import pty
import re
import select
import subprocess
import tempfile
import time
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy

PROMPT = b"Target (number, user@target or filter): "


@pytest.fixture(scope="module")
def z(keydir, user):
    """Two OpenSSH targets (their ports tell where a command ran): web1 and db1 on t1, web2 on
    t2; alice may use those three; secret1 (on t1) only bob may."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-picker-"), keydir)
    try:
        t1, t2 = env.target("t1"), env.target("t2")
        env.write_known_hosts(t1.known_hosts_line("127.0.0.1") + t2.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        p.user("alice", env.pub("alice"))
        p.user("bob", env.pub("bob"))
        p.target("web1", "127.0.0.1", t1.port, [tu], tags=["prod", "web"])
        p.target("web2", "127.0.0.1", t2.port, [tu], tags=["prod", "web"])
        p.target("db1", "127.0.0.1", t1.port, [tu], tags=["prod", "db"])
        p.target("secret1", "127.0.0.1", t1.port, [tu])
        p.role("operators", ["alice"], ["web1", "web2", "db1"], [tu],
               ["shell", "exec", "direct-tcpip"])
        p.role("vault", ["bob"], ["secret1"], [tu], ["exec"])
        bastion = env.make_bastion(p)
        yield SimpleNamespace(env=env, t1=t1, t2=t2, bastion=bastion, tu=tu, keydir=keydir)
    finally:
        env.close()


def picker_ssh(z, answers, command="echo ran $SSH_CONNECTION", who="alice", timeout=60):
    """Stock ssh that tries keyboard-interactive, on a pty: each time the picker's prompt shows,
    the next answer is typed. Returns (exit status, transcript, answers typed)."""
    args = z.bastion.ssh_args(who, z.env.keys[who], options=[
        "BatchMode=no", "KbdInteractiveAuthentication=yes",
        "PreferredAuthentications=keyboard-interactive,publickey",
        # OpenSSH prints a keyboard-interactive instruction as a log message: the list needs
        # LogLevel INFO (the default; `ssh -q` hides it).
        "LogLevel=INFO"]) + [command]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    out, typed, seen = b"", 0, 0
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            while out.count(PROMPT) > seen:
                seen += 1
                answer = answers[typed] if typed < len(answers) else answers[-1]
                typed += 1
                os.write(fd, answer.encode() + b"\n")
        else:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace"), typed


def ran_on(z, transcript):
    m = re.search(r"ran 127\.0\.0\.1 \d+ 127\.0\.0\.1 (\d+)", transcript)
    return int(m.group(1)) if m else None


def logins(z, mark):
    evs = z.env.audit_since(mark, lambda evs: any(e["event"] == "login" for e in evs))
    return [e for e in evs if e["event"] == "login" and e["bastion_user"] == "alice"]


def test_a_number_picks_and_the_command_runs_there(z):
    mark = z.env.audit_mark()
    code, out, typed = picker_ssh(z, ["2"])
    assert code == 0, out + z.bastion.log_text()[-3000:]
    assert typed == 1
    assert ran_on(z, out) == z.t2.port, out
    # Exactly alice's targets, numbered, with tags and role; never secret1.
    assert f"1) {z.tu}@web1  [prod,web]  role operators" in out
    assert f"2) {z.tu}@web2  [prod,web]  role operators" in out
    assert f"3) {z.tu}@db1  [prod,db]  role operators" in out
    assert "secret1" not in out
    ev = logins(z, mark)[-1]
    assert ev["decision"] == "allow" and ev["target"] == "web2" and ev["role"] == "operators"
    assert ev["reason"].startswith("picked")
    assert f"Accepted keyboard-interactive/picker for alice from 127.0.0.1" in z.bastion.log_text()


def test_user_at_target_picks(z):
    mark = z.env.audit_mark()
    code, out, _ = picker_ssh(z, [f"{z.tu}@db1"])
    assert code == 0 and ran_on(z, out) == z.t1.port, out
    assert logins(z, mark)[-1]["target"] == "db1"


def test_a_unique_filter_picks(z):
    mark = z.env.audit_mark()
    code, out, typed = picker_ssh(z, ["DB"])
    assert code == 0 and typed == 1 and ran_on(z, out) == z.t1.port, out
    assert logins(z, mark)[-1]["target"] == "db1"


def test_a_filter_with_several_matches_narrows_then_a_number_picks(z):
    mark = z.env.audit_mark()
    code, out, typed = picker_ssh(z, ["web", "2"])
    assert code == 0 and typed == 2, out
    narrowed = out.split(PROMPT.decode())[1]  # what the second round showed
    assert '2 match "web":' in narrowed
    assert f"1) {z.tu}@web1" in narrowed and f"2) {z.tu}@web2" in narrowed
    assert "db1" not in narrowed
    assert ran_on(z, out) == z.t2.port
    assert logins(z, mark)[-1]["target"] == "web2"


def test_a_target_alice_may_not_use_is_never_taken(z):
    code, out, typed = picker_ssh(z, [f"{z.tu}@secret1", "secret", "2"])
    assert code == 0 and typed == 3, out
    assert f"{z.tu}@secret1 is not in your list." in out
    assert 'Nothing matches "secret".' in out
    assert ran_on(z, out) == z.t2.port


def test_garbage_rounds_end_in_failure(z):
    code, out, typed = picker_ssh(z, ["zzz"], command="echo should-not-run")
    assert code == 255, out
    assert "should-not-run" not in out
    assert typed >= 5  # five rounds per conversation, then the client may start another
    assert "Permission denied" in out
    assert "Failed keyboard-interactive/picker for alice" in z.bastion.log_text()


def test_batch_mode_logs_in_without_the_picker(z):
    """A client that cannot answer keyboard-interactive is never asked: plain alice logs in
    without a route (the shell path then says how to name one)."""
    r = z.bastion.ssh("alice", "echo hi", z.env.keys["alice"], timeout=30)
    assert "Permission denied" not in r.stderr, r.stderr
    assert "Target (" not in r.stdout + r.stderr


def test_jump_mode_with_batch_mode_still_works(z, tmp_path):
    kh = tmp_path / "known_hosts"
    bastion_key = (z.keydir / "host_ed25519.pub").read_text().split()[:2]
    kh.write_text(f"[127.0.0.1]:{z.bastion.port} {' '.join(bastion_key)}\n"
                  + z.t2.known_hosts_line("web2"))  # the target's own key, as [web2]:port
    cfg = tmp_path / "ssh_config"
    cfg.write_text("\n".join([
        "Host *", "  IdentitiesOnly yes", "  BatchMode yes", "  StrictHostKeyChecking yes",
        f"  UserKnownHostsFile {kh}", "  GlobalKnownHostsFile /dev/null", "  LogLevel ERROR",
        f"  IdentityFile {z.env.keys['alice']}", f"  IdentityFile {z.keydir / 'id_ed25519'}", ""]))
    r = subprocess.run(["ssh", "-F", str(cfg), "-J", f"alice@127.0.0.1:{z.bastion.port}",
                        "-p", str(z.t2.port), f"{z.tu}@web2", "echo jumped"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and r.stdout == "jumped\n", r.stderr + z.bastion.log_text()[-2000:]
