"""Session recordings in bastion mode (issue 14, man/postern-bastion.5 `record`): a shell with a
pty and an exec through the bastion to Debian's OpenSSH sshd are written as asciicast v2 files
that Debian's `asciinema cat` plays; each file is root's, 0600, named
<UTC time>_<bastion user>_<target user>@<target>_<session>.cast, and the channel-close audit
event names it with its SHA-256. Input only with record_input; bulk output is cut at
record_max_bytes with a marker; an unwritable recordings directory refuses the session (or lets
it run unrecorded with record_failure = "allow")."""

import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from bastion_env import BastionEnv, Policy

NAME = re.compile(r"^(\d{8}T\d{6}Z)_([^_/]+)_([^_/@]+)@([^_/@]+)_([0-9a-f]{16})(-\d+)?\.cast$")


@pytest.fixture(scope="module")
def env(keydir, user):
    e = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-rec-"), keydir)
    try:
        e.web1 = e.target("target")
        e.write_known_hosts(e.web1.known_hosts_line("127.0.0.1"))
        yield e
    finally:
        e.close()


def policy(env, **settings):
    p = Policy(env, **settings)
    p.user("alice", env.pub("alice"))
    p.target("web1", "127.0.0.1", env.web1.port, [env.target_user])
    p.role("ops", ["alice"], ["web1"], [env.target_user], ["shell", "exec"])
    return p


@pytest.fixture(scope="module")
def bastion(env):
    return env.make_bastion(policy(env))


def route(env):
    return f"{env.target_user}%web1%alice"


def closes_with_recording(env, mark):
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "channel-close" and
                                                e.get("recording") for e in evs))
    closes = [e for e in evs if e["event"] == "channel-close" and e.get("recording")]
    assert closes, evs
    return closes[0]


def events_of(path):
    lines = Path(path).read_text().splitlines()
    header = json.loads(lines[0])
    return header, [json.loads(line) for line in lines[1:]]


def asciinema_cat(path):
    # asciinema opens /dev/tty even for cat: script(1) gives it a terminal.
    r = subprocess.run(["script", "-qec", f"asciinema cat {path}", "/dev/null"],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode(errors="replace")


def test_an_exec_is_recorded_named_private_and_hashed_in_the_audit(env, bastion):
    mark = env.audit_mark()
    r = bastion.ssh(route(env), "echo recorded-$((6*7)); echo to-stderr >&2; printf 'caf\\303\\251\\n'",
                    env.keys["alice"])
    assert r.returncode == 0, r.stderr
    assert "recorded-42" in r.stdout
    close = closes_with_recording(env, mark)
    path = Path(close["recording"])
    assert path.parent == env.dir / "recordings"
    m = NAME.match(path.name)
    assert m, path.name
    assert m.group(2) == "alice" and m.group(3) == env.target_user and m.group(4) == "web1"
    assert m.group(5) == close["session"]
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == close["recording_sha256"]
    header, events = events_of(path)
    assert header["version"] == 2 and header["width"] == 80 and header["height"] == 24
    assert header["command"].startswith("echo recorded-")
    assert header["postern"]["session"] == close["session"]
    assert header["postern"]["bastion_user"] == "alice"
    assert header["postern"]["target"] == "web1"
    assert header["postern"]["target_user"] == env.target_user
    assert header["postern"]["channel"] == "exec"
    assert all(e[1] == "o" for e in events)  # no input without record_input
    times = [e[0] for e in events]
    assert times == sorted(times) and all(0 <= t < 60 for t in times)
    played = asciinema_cat(path)
    assert "recorded-42" in played and "to-stderr" in played and "café" in played


def test_a_shell_with_a_pty_is_recorded_with_its_terminal(env, bastion):
    mark = env.audit_mark()
    args = bastion.ssh_args(route(env), env.keys["alice"], extra=["-tt"])
    r = subprocess.run(args, input=b"echo shell-$((7*6))-done\nexit\n", capture_output=True,
                       timeout=60, env={**os.environ, "TERM": "xterm-256color"})
    assert b"shell-42-done" in r.stdout, r.stderr
    close = closes_with_recording(env, mark)
    assert close["channel"] == "shell"
    header, events = events_of(close["recording"])
    assert header["env"]["TERM"] == "xterm-256color"
    assert "command" not in header
    assert header["postern"]["channel"] == "shell"
    assert "shell-42-done" in asciinema_cat(close["recording"])
    assert not any(e[1] == "i" for e in events)


def test_record_input_records_what_the_user_typed(env):
    b = env.make_bastion(policy(env, record_input=True))
    mark = env.audit_mark()
    args = b.ssh_args(route(env), env.keys["alice"], extra=["-tt"])
    r = subprocess.run(args, input=b"echo typed-$((5*5))\nexit\n", capture_output=True, timeout=60)
    assert b"typed-25" in r.stdout, r.stderr
    close = closes_with_recording(env, mark)
    _, events = events_of(close["recording"])
    typed = "".join(e[2] for e in events if e[1] == "i")
    assert "echo typed-$((5*5))" in typed
    b.stop()


def test_bulk_output_is_cut_at_record_max_bytes_with_a_marker(env):
    b = env.make_bastion(policy(env, record_max_bytes="1M"))
    mark = env.audit_mark()
    r = b.ssh(route(env), "head -c 20000000 /dev/zero | base64 -w 76", env.keys["alice"],
              text=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) > 20000000  # the client gets everything; only the recording is cut
    close = closes_with_recording(env, mark)
    path = Path(close["recording"])
    assert path.stat().st_size <= 1 << 20
    _, events = events_of(path)
    assert events[-1][1] == "o" and "[postern: recording cut at 1 MiB]" in events[-1][2]
    assert sum("recording cut" in e[2] for e in events) == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == close["recording_sha256"]
    assert "recording cut at 1 MiB" in asciinema_cat(path)
    b.stop()


def test_an_unwritable_recordings_directory_refuses_the_session(env):
    blocker = env.dir / "not-a-directory"
    blocker.write_text("x")
    witness = env.dir / "ran-unrecorded"
    b = env.make_bastion(policy(env, recordings=blocker / "recordings"))
    mark = env.audit_mark()
    r = b.ssh(route(env), f"touch {witness}", env.keys["alice"])
    assert r.returncode != 0
    assert "must be recorded" in r.stderr and "refused" in r.stderr, r.stderr
    assert not witness.exists()
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "recording" for e in evs))
    rec = [e for e in evs if e["event"] == "recording"]
    assert rec and rec[0]["decision"] == "deny" and "not a directory" in rec[0]["reason"].lower(), evs
    b.stop()


def test_record_failure_allow_lets_it_run_unrecorded_and_says_so(env):
    blocker = env.dir / "not-a-directory-2"
    blocker.write_text("x")
    b = env.make_bastion(policy(env, recordings=blocker / "recordings", record_failure="allow"))
    mark = env.audit_mark()
    r = b.ssh(route(env), "echo unrecorded-ok", env.keys["alice"])
    assert r.returncode == 0, r.stderr
    assert "unrecorded-ok" in r.stdout
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "channel-close" for e in evs))
    rec = [e for e in evs if e["event"] == "recording"]
    assert rec and rec[0]["decision"] == "allow" and "not recorded" in rec[0]["reason"], evs
    assert not any(e.get("recording") for e in evs if e["event"] == "channel-close")
    b.stop()


def test_channels_not_in_record_are_not_recorded(env):
    b = env.make_bastion(policy(env, record=["shell"]))
    mark = env.audit_mark()
    before = set(os.listdir(env.dir / "recordings"))
    r = b.ssh(route(env), "echo not-recorded", env.keys["alice"])
    assert r.returncode == 0, r.stderr
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "channel-close" for e in evs))
    assert not any(e.get("recording") for e in evs)
    assert set(os.listdir(env.dir / "recordings")) == before
    b.stop()
