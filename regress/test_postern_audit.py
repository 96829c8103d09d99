"""postern-audit (man/postern-audit.1) over what a real bastion session wrote: the audit log's
hash chain verifies, and a changed, removed or reordered line is named; sessions lists the
session with its fields and filters; show prints its events; play writes a recording's output
(the session's own recording, and hand-written asciicast v2 files for the corner cases)."""

import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy, wait_until
from conftest import BUILD

POSTERN_AUDIT = BUILD / "audit" / "postern-audit"


def audit(*args, timeout=30, text=True):
    r = subprocess.run([str(POSTERN_AUDIT), *map(str, args)], capture_output=True, timeout=timeout)
    if text:  # decoded without newline translation: a recording's "\r\n" stays as it is
        r.stdout, r.stderr = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    return r


@pytest.fixture(scope="module")
def w(keydir, user):
    """One bastion, one finished session of alice's (exec, exit 3), and bob refused."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-audit-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        for name in ("alice", "bob"):
            p.user(name, env.pub(name))
        p.target("web1", "127.0.0.1", target.port, [tu])
        p.role("ops", ["alice"], ["web1"], [tu], ["exec", "shell"])
        bastion = env.make_bastion(p)
        policy = bastion.policy_path
        r = bastion.ssh(f"{tu}%web1%alice", "echo audited; exit 3", env.keys["alice"])
        assert r.returncode == 3, r.stderr + bastion.log_text()[-2000:]
        events = env.audit_since(0, lambda evs: any(e["event"] == "target-close" for e in evs))
        session = next(e["session"] for e in events if e["bastion_user"] == "alice")
        r = bastion.ssh(f"{tu}%web1%bob", "true", env.keys["bob"])
        assert r.returncode != 0
        env.audit_since(0, lambda evs: any(e["bastion_user"] == "bob" for e in evs))
        yield SimpleNamespace(env=env, bastion=bastion, policy=policy, session=session, tu=tu)
    finally:
        env.close()


def closed_sessions(log, n):
    """Waits until `log` holds `n` target-close events."""
    def count():
        p = Path(log)
        if not p.exists():
            return False
        return sum(json.loads(ln)["event"] == "target-close"
                   for ln in p.read_text().splitlines()) >= n
    assert wait_until(count, 10), f"{log}: fewer than {n} sessions closed"


def lines_of(path):
    return Path(path).read_text().splitlines(keepends=True)


def tampered(w, name, lines):
    path = w.env.dir / name
    path.write_text("".join(lines))
    return path


# ---- verify ------------------------------------------------------------------------------------

def test_verify_passes_the_bastions_log(w):
    r = audit("verify", w.env.audit_log)
    assert r.returncode == 0, r.stderr
    n = len(lines_of(w.env.audit_log))
    assert f"{w.env.audit_log}: {n} lines, chain intact (starts a new log)" in r.stdout
    first = json.loads(lines_of(w.env.audit_log)[0])
    assert first["prev"] == "0" * 64
    # prev is the last field: every field the log had before the chain keeps its place.
    assert list(first)[-1] == "prev" and list(first)[0] == "time"


def test_verify_names_a_changed_line(w):
    lines = lines_of(w.env.audit_log)
    assert len(lines) >= 6
    edited = list(lines)
    e = json.loads(edited[2])
    e["decision"] = "allow" if e["decision"] != "allow" else "deny"  # still valid JSON
    edited[2] = json.dumps(e, separators=(",", ":")) + "\n"
    r = audit("verify", tampered(w, "edited.jsonl", edited))
    assert r.returncode == 1
    assert "edited.jsonl:4: hash mismatch" in r.stderr, r.stderr
    edited[2] = "garbage\n"
    r = audit("verify", tampered(w, "garbage.jsonl", edited))
    assert r.returncode == 1 and "garbage.jsonl:3: not JSON" in r.stderr, r.stderr


def test_verify_names_a_removed_or_reordered_line(w):
    lines = lines_of(w.env.audit_log)
    removed = lines[:3] + lines[4:]
    r = audit("verify", tampered(w, "removed.jsonl", removed))
    assert r.returncode == 1 and "removed.jsonl:4: hash mismatch" in r.stderr, r.stderr
    swapped = list(lines)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    r = audit("verify", tampered(w, "swapped.jsonl", swapped))
    assert r.returncode == 1 and "swapped.jsonl:2: hash mismatch" in r.stderr, r.stderr
    # The line's prev removed: said as such.
    e = json.loads(lines[1])
    del e["prev"]
    r = audit("verify", tampered(w, "noprev.jsonl", [lines[0], json.dumps(e) + "\n"] + lines[2:]))
    assert r.returncode == 1 and "noprev.jsonl:2: missing prev" in r.stderr, r.stderr


def test_verify_follows_a_rotation(w):
    """The log renamed away (logrotate): the bastion's next line names the old file's last
    hash, and the two files verify as one chain, in order only."""
    d = Path(tempfile.mkdtemp(prefix="rotation-", dir=w.env.dir))
    log = d / "audit.jsonl"
    policy = w.env.write_policy(open(w.policy).read().replace(str(w.env.audit_log), str(log)))
    b = w.env.make_bastion(open(policy).read())
    r = b.ssh(f"{w.tu}%web1%alice", "true", w.env.keys["alice"])
    assert r.returncode == 0, r.stderr
    closed_sessions(log, 1)
    log.rename(d / "audit.jsonl.1")
    r = b.ssh(f"{w.tu}%web1%alice", "true", w.env.keys["alice"])
    assert r.returncode == 0, r.stderr
    closed_sessions(log, 1)
    old_last = lines_of(d / "audit.jsonl.1")[-1].rstrip("\n")
    assert json.loads(lines_of(log)[0])["prev"] == hashlib.sha256(old_last.encode()).hexdigest()
    r = audit("verify", d / "audit.jsonl.1", log)
    assert r.returncode == 0, r.stderr
    r = audit("verify", log, d / "audit.jsonl.1")
    assert r.returncode == 1 and "audit.jsonl.1:1: hash mismatch" in r.stderr, r.stderr
    # sessions reads both files of the rotated log.
    r = audit("sessions", "--policy", policy, "--json")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2


def test_concurrent_sessions_keep_one_chain(w):
    results = []

    def run():
        results.append(w.bastion.ssh(f"{w.tu}%web1%alice", "echo x", w.env.keys["alice"]))

    mark = w.env.audit_mark()
    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    w.env.audit_since(mark, lambda evs: sum(e["event"] == "target-close" for e in evs) >= 4)
    r = audit("verify", w.env.audit_log)
    assert r.returncode == 0, r.stderr


# ---- sessions, show ----------------------------------------------------------------------------

def sessions(w, *args):
    r = audit("sessions", "--policy", w.policy, *args)
    assert r.returncode == 0, r.stderr
    rows = [ln.split("\t") for ln in r.stdout.splitlines()]
    assert rows[0][0] == "SESSION"
    return {row[0]: row for row in rows[1:]}


def test_sessions_lists_the_session_with_its_fields(w):
    rows = sessions(w)
    row = rows[w.session]
    sid, start, end, user, client, target, channels, exit_status, recording = row
    assert user == "alice"
    assert client.startswith("127.0.0.1 port ")
    assert target == f"{w.tu}@web1"
    assert channels == "exec"
    assert exit_status == "3"
    assert recording.endswith(f"_alice_{w.tu}@web1_{w.session}.cast"), recording
    assert start.endswith("Z") and start <= end
    assert any(r[3] == "bob" for r in rows.values())


def row_recording(w):
    return sessions(w)[w.session][8]


def test_sessions_filters(w):
    assert set(sessions(w, "--user", "alice")) >= {w.session}
    assert all(r[3] == "alice" for r in sessions(w, "--user", "alice").values())
    assert w.session not in sessions(w, "--user", "bob")
    assert w.session in sessions(w, "--target", "web1")
    assert w.session in sessions(w, "--target", f"{w.tu}@web1")
    assert sessions(w, "--target", "nowhere") == {}
    assert w.session in sessions(w, "--since", "1h")
    assert sessions(w, "--since", "2099-01-01") == {}
    r = audit("sessions", "--policy", w.policy, "--json", "--user", "alice")
    assert r.returncode == 0, r.stderr
    mine = [json.loads(ln) for ln in r.stdout.splitlines()]
    s = next(s for s in mine if s["session"] == w.session)
    assert s["bastion_user"] == "alice" and s["targets"] == [f"{w.tu}@web1"]
    assert s["channels"] == ["exec"] and s["exit_status"] == "3"
    assert [Path(r).name for r in s["recordings"]] == [f"{Path(row_recording(w)).name}"]
    r = audit("sessions", "--policy", w.policy, "--since", "last tuesday")
    assert r.returncode == 2 and "--since" in r.stderr


def test_show_prints_the_sessions_events(w):
    r = audit("show", "--policy", w.policy, w.session)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    kinds = [ln.split(" ")[1] for ln in lines]
    for kind in ("login", "target-open", "channel", "channel-close", "target-close"):
        assert kind in kinds, r.stdout
    close = lines[kinds.index("channel-close")]
    assert "exit_status=3" in close and "channel=exec" in close and "bastion_user=alice" in close
    assert "prev=" not in r.stdout
    r = audit("show", "--policy", w.policy, "ffffffffffffffff")
    assert r.returncode == 2 and "no session ffffffffffffffff" in r.stderr


def test_bad_input_is_a_clear_error(w):
    r = audit("sessions", "--policy", w.env.dir / "missing.toml")
    assert r.returncode == 2 and "missing.toml" in r.stderr
    r = audit("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr and "usage:" in r.stderr
    r = audit("verify", w.env.dir)
    assert r.returncode == 2 and "not a regular file" in r.stderr


# ---- play --------------------------------------------------------------------------------------

CAST = (
    '{"version": 2, "width": 80, "height": 24, "timestamp": 1893456000, "command": "bash"}\n'
    '[0.2, "o", "$ echo played\\r\\n"]\n'
    '[0.3, "i", "secret input"]\n'
    '[0.5, "o", "played\\r\\n"]\n'
    '[0.6, "r", "100x30"]\n'
    '[9.5, "o", "\\u001b[1mdone\\u001b[0m\\r\\n"]\n'
)


def recorded_session(w, name, cast_text, with_sha=True):
    """A log (its own policy) whose one session's channel closed with `cast_text` recorded."""
    d = w.env.dir / name
    d.mkdir()
    cast = d / "rec.cast"
    cast.write_text(cast_text)
    log = d / "audit.jsonl"
    close = {"time": "2030-01-01T00:00:00.000Z", "event": "channel-close",
             "session": "00000000000000aa", "bastion_user": "alice", "target": "web1",
             "target_user": w.tu, "channel": "shell", "exit_status": "0",
             "recording": str(cast),
             "recording_sha256": hashlib.sha256(cast_text.encode()).hexdigest() if with_sha else "",
             "prev": "0" * 64}
    log.write_text(json.dumps(close) + "\n")
    policy = w.env.write_policy(Policy(w.env, audit_log=log))
    return policy, cast


def test_play_writes_the_recordings_output(w):
    policy, cast = recorded_session(w, "play", CAST)
    r = audit("play", "--policy", policy, "--no-wait", "00000000000000aa")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "$ echo played\r\nplayed\r\n\x1b[1mdone\x1b[0m\r\n"
    assert "secret input" not in r.stdout
    # With waiting, at speed 20 the 9.5 s recording takes about half a second.
    r = audit("play", "--policy", policy, "--speed", "20", "00000000000000aa")
    assert r.returncode == 0 and r.stdout.endswith("done\x1b[0m\r\n"), r.stderr
    # A recording changed after the log named its hash is refused.
    cast.write_text(CAST.replace("played", "forged"))
    r = audit("play", "--policy", policy, "--no-wait", "00000000000000aa")
    assert r.returncode == 2 and "SHA-256" in r.stderr and "forged" not in r.stdout


def test_play_names_the_corrupt_line(w):
    policy, cast = recorded_session(w, "corrupt", CAST.replace('[0.5, "o"', '[0.5 "o"'), False)
    r = audit("play", "--policy", policy, "--no-wait", "00000000000000aa")
    assert r.returncode == 2
    assert f"{cast}:4: not JSON" in r.stderr, r.stderr
    assert r.stdout.startswith("$ echo played")  # what came before was played
    # bob was refused before any channel: his session has nothing to play.
    bob = next(r[0] for r in sessions(w).values() if r[3] == "bob")
    r = audit("play", "--policy", w.policy, "--no-wait", bob)
    assert r.returncode == 2 and "has no recording" in r.stderr


def test_play_the_sessions_own_recording(w):
    """The bastion recorded alice's exec (record = shell, exec): play writes what she saw."""
    r = audit("play", "--policy", w.policy, "--no-wait", w.session)
    assert r.returncode == 0, r.stderr
    assert "audited" in r.stdout
