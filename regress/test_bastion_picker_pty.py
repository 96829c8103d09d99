"""Bastion mode, the full-screen target picker (man/postern-bastion.5 "TARGET PICKER"):
`ssh -tt alice@bastion` with no route in the name and without keyboard-interactive (BatchMode)
gets, on its pty, a list of exactly the targets alice's roles grant; typing filters it, arrows and
pages move, Enter connects as a direct login would (certificate, relay, recording, audit), Esc or
Ctrl-C leaves with exit status 1. Stock ssh runs inside tmux (send-keys, capture-pane). Without a
pty (ssh -T, a command, sftp), one line on stderr shows the direct syntax, and exit status 1."""

import re
import subprocess
import tempfile
import time
import uuid
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy, which

pytestmark = pytest.mark.skipif(not which("tmux"), reason="needs tmux")

TITLE = "postern target picker"


@pytest.fixture(scope="module")
def z(keydir, user):
    """web1 and db1 on target t1, web2 on t2; alice may use those three; secret1 only bob may;
    carol may use nothing. A second bastion grants alice 300 targets (all on t1)."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-picker-pty-"), keydir)
    try:
        t1, t2 = env.target("t1"), env.target("t2")
        env.write_known_hosts(t1.known_hosts_line("127.0.0.1") + t2.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env)
        for who in ("alice", "bob", "carol"):
            p.user(who, env.pub(who))
        p.target("web1", "127.0.0.1", t1.port, [tu], tags=["prod", "web"])
        p.target("web2", "127.0.0.1", t2.port, [tu], tags=["prod", "web"])
        p.target("db1", "127.0.0.1", t1.port, [tu], tags=["prod", "db"])
        p.target("secret1", "127.0.0.1", t1.port, [tu])
        p.role("operators", ["alice"], ["web1", "web2", "db1"], [tu], ["shell", "exec"])
        p.role("vault", ["bob"], ["secret1"], [tu], ["shell"])
        bastion = env.make_bastion(p)
        many = Policy(env)
        many.user("alice", env.pub("alice"))
        names = [f"host{i:03d}" for i in range(300)]
        for n in names:
            many.target(n, "127.0.0.1", t1.port, [tu])
        many.role("fleet", ["alice"], names, [tu], ["shell"])
        big = env.make_bastion(many, name="bastion_many")
        yield SimpleNamespace(env=env, t1=t1, t2=t2, bastion=bastion, big=big, tu=tu)
    finally:
        env.close()


class Tmux:
    """One detached tmux session running `ssh -tt ...; echo EXIT-STATUS=$?` at 80x24."""

    def __init__(self, args, cols=80, rows=24):
        self.sock = f"/tmp/postern-tmux-{uuid.uuid4().hex[:12]}"
        self.name = "picker"
        command = " ".join(_quote(a) for a in args) + "; echo EXIT-STATUS=$?; sleep 600"
        self.run("new-session", "-d", "-s", self.name, "-x", str(cols), "-y", str(rows), command)

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                              timeout=20)

    def keys(self, *keys):
        self.run("send-keys", "-t", self.name, *keys)

    def type(self, text):
        self.run("send-keys", "-t", self.name, "-l", text)

    def screen(self):
        return self.run("capture-pane", "-p", "-J", "-t", self.name).stdout

    def history(self):
        """The screen and every line that scrolled off it."""
        return self.run("capture-pane", "-p", "-J", "-S", "-", "-t", self.name).stdout

    def wait(self, predicate, timeout=20.0, read=None):
        deadline = time.time() + timeout
        s = ""
        while time.time() < deadline:
            s = (read or self.screen)()
            if predicate(s):
                return s
            time.sleep(0.1)
        raise AssertionError("screen never matched:\n" + s)

    def wait_for(self, text, timeout=20.0):
        return self.wait(lambda s: text in s, timeout)

    def exit_status(self, timeout=20.0):
        s = self.wait(lambda s: "EXIT-STATUS=" in s, timeout)
        return int(re.search(r"EXIT-STATUS=(\d+)", s).group(1))

    def close(self):
        self.run("kill-server")


def _quote(a):
    return "'" + a.replace("'", "'\\''") + "'"


def picker_args(z, bastion=None, who="alice", extra=()):
    b = bastion or z.bastion
    return b.ssh_args(who, z.env.keys[who],
                      options=["KbdInteractiveAuthentication=no"], extra=["-tt", *extra])


@pytest.fixture
def tmux_of():
    sessions = []

    def make(args, cols=80, rows=24):
        t = Tmux(args, cols, rows)
        sessions.append(t)
        return t

    yield make
    for t in sessions:
        t.close()


def logins(z, mark):
    evs = z.env.audit_since(mark, lambda evs: any(e["event"] == "login" and
                                                  e["reason"].startswith("picked") for e in evs))
    return [e for e in evs if e["event"] == "login" and e["bastion_user"] == "alice"]


def test_list_filter_and_enter_reach_the_target(z, tmux_of):
    mark = z.env.audit_mark()
    t = tmux_of(picker_args(z))
    s = t.wait_for(TITLE)
    # Exactly alice's targets, with tags and role; the first selected; never secret1.
    assert f"> {z.tu}@web1  [prod,web]  role operators" in s, s
    assert f"{z.tu}@web2  [prod,web]  role operators" in s
    assert f"{z.tu}@db1  [prod,db]  role operators" in s
    assert "secret1" not in s
    assert "Targets 1-3 of 3" in s
    t.type("DB")
    s = t.wait(lambda s: "web1" not in s and f"> {z.tu}@db1" in s)
    assert "Filter: DB" in s and "(3 in all)" in s
    t.keys("Enter")
    t.wait_for(f"postern: connecting to {z.tu}@db1")
    # A shell on db1 (OpenSSH's sshd on t1), on a pty of the size the client has.
    t.type("echo PICKED-$((6*7)) $SSH_CONNECTION; stty size")
    t.keys("Enter")
    s = t.wait(lambda s: re.search(r"PICKED-42 127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n\d+ \d+", s))
    assert re.search(rf"PICKED-42 127\.0\.0\.1 \d+ 127\.0\.0\.1 {z.t1.port}\b", s), s
    assert re.search(r"^24 80\s*$", s, re.M), s
    t.type("exit 0")
    t.keys("Enter")
    assert t.exit_status() == 0
    ev = logins(z, mark)
    picked = [e for e in ev if e["reason"].startswith("picked")]
    assert picked and picked[-1]["decision"] == "allow" and picked[-1]["target"] == "db1", ev
    assert picked[-1]["role"] == "operators" and picked[-1]["target_user"] == z.tu
    # The rest of the session is a direct login's: certificate, shell, its recording.
    evs = z.env.audit_since(mark, lambda evs: any(e["event"] == "target-close" for e in evs))
    kinds = [e["event"] for e in evs if e["session"] == picked[-1]["session"]]
    for kind in ("target-open", "certificate", "target-auth", "channel", "channel-close"):
        assert kind in kinds, kinds
    close = [e for e in evs if e["event"] == "channel-close" and e["session"] == picked[-1]["session"]]
    assert close[-1].get("recording"), close[-1]
    assert "Accepted pty picker choice for alice" in z.bastion.log_text()


def test_arrows_choose_another_target(z, tmux_of):
    t = tmux_of(picker_args(z))
    t.wait_for(TITLE)
    t.keys("Down")
    t.wait_for(f"> {z.tu}@web2")
    t.keys("C-n")
    t.wait_for(f"> {z.tu}@db1")
    t.keys("C-p")
    t.wait_for(f"> {z.tu}@web2")
    t.keys("Enter")
    t.wait_for(f"connecting to {z.tu}@web2")
    t.type("echo PICKED-$((6*7)) $SSH_CONNECTION; exit 3")
    t.keys("Enter")
    s = t.wait(lambda s: "EXIT-STATUS=" in s)
    assert re.search(rf"PICKED-42 127\.0\.0\.1 \d+ 127\.0\.0\.1 {z.t2.port}\b", s), s
    assert t.exit_status() == 3


def test_keys_typed_with_the_enter_reach_the_target(z, tmux_of):
    """Type-ahead: the command follows the Enter at once, before the picker's last screen or the
    target's login; the bastion keeps it (the same packet as the Enter, or later ones) and hands
    it to the target's shell in order, as a direct login would."""
    t = tmux_of(picker_args(z))
    t.wait_for(f"> {z.tu}@web1")
    t.keys("Enter")
    t.type("echo TYPED-$((6*7)); exit")
    t.keys("Enter")
    assert t.exit_status() == 0, t.screen() + z.bastion.log_text()[-3000:]
    s = t.screen()
    assert re.search(r"^TYPED-42\s*$", s, re.M), s


def test_keys_in_the_packet_of_the_enter_reach_the_target(z, tmux_of):
    """One send-keys: ssh reads the Enter and the command together and sends them in one
    CHANNEL_DATA; the bytes after the Enter are the target's."""
    t = tmux_of(picker_args(z))
    t.wait_for(f"> {z.tu}@web1")
    t.run("send-keys", "-t", t.name, "Enter", "echo SAME-$((6*7)); exit 5", "Enter")
    assert t.exit_status() == 5, t.screen() + z.bastion.log_text()[-3000:]
    assert re.search(r"^SAME-42\s*$", t.screen(), re.M), t.screen()


@pytest.mark.parametrize("key", ["Escape", "C-c"])
def test_esc_or_ctrl_c_leaves_with_status_1(z, tmux_of, key):
    t = tmux_of(picker_args(z))
    t.wait_for(TITLE)
    t.type("web")
    t.wait_for("Filter: web")
    t.keys(key)
    assert t.exit_status() == 1
    s = t.screen()
    assert "postern: no target chosen." in s and TITLE not in s, s


def test_three_hundred_targets_scroll(z, tmux_of):
    t = tmux_of(picker_args(z, bastion=z.big))
    s = t.wait_for(TITLE)
    assert "Targets 1-21 of 300, PgUp/PgDn scroll" in s
    assert f"> {z.tu}@host000" in s and f"{z.tu}@host020" in s and "host021" not in s
    t.keys("PageDown")
    s = t.wait_for(f"> {z.tu}@host021")
    assert "host000" not in s
    t.keys("End")
    s = t.wait_for(f"> {z.tu}@host299")
    assert "Targets 280-300 of 300" in s
    t.keys("Home")
    t.wait_for(f"> {z.tu}@host000")
    t.type("host15")
    s = t.wait_for("Targets 1-10 of 10 (300 in all)")
    t.keys("Up", "Down", "Down")
    t.wait_for(f"> {z.tu}@host152")
    t.keys("Enter")
    t.wait_for(f"connecting to {z.tu}@host152")
    t.type("echo PICKED-$((6*7)); exit")
    t.keys("Enter")
    assert t.exit_status() == 0
    assert "PICKED-42" in t.screen()


def test_window_change_redraws(z, tmux_of):
    t = tmux_of(picker_args(z, bastion=z.big))
    t.wait_for("Targets 1-21 of 300")
    t.run("resize-window", "-t", t.name, "-x", "60", "-y", "12")
    s = t.wait_for("Targets 1-9 of 300")
    assert f"> {z.tu}@host000" in s and f"{z.tu}@host008" in s and "host009" not in s
    t.keys("Enter")
    # At 60 columns the target's MOTD wraps and may scroll the line off before a look at the
    # screen: it is in the pane's history.
    t.wait(lambda s: "connecting to" in s, read=t.history)
    # The target's pty has the size the client has now.
    t.type("stty size; exit")
    t.keys("Enter")
    assert t.exit_status() == 0, t.screen() + z.big.log_text()[-3000:]
    assert re.search(r"^12 60\s*$", t.history(), re.M), t.history()


def test_user_whom_no_role_grants_a_target_gets_the_line(z, tmux_of):
    t = tmux_of(picker_args(z, who="carol"))
    assert t.exit_status() == 1
    s = t.screen()
    assert f"ssh -p {z.bastion.port} targetuser%target%carol@127.0.0.1" in s, s
    assert TITLE not in s


# ---- without a pty ------------------------------------------------------------------------------

def line_for(z, who="alice"):
    return (f"postern: this bastion needs a target; name it in the user name: "
            f"ssh -p {z.bastion.port} {z.tu}%web1%{who}@127.0.0.1\n")


def test_no_pty_gets_one_line_with_the_direct_syntax(z):
    args = z.bastion.ssh_args("alice", z.env.keys["alice"],
                              options=["KbdInteractiveAuthentication=no"], extra=["-T"])
    r = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 1, r
    assert r.stderr == line_for(z), r.stderr
    r = z.bastion.ssh("alice", "somecommand", z.env.keys["alice"],
                      options=["KbdInteractiveAuthentication=no"])
    assert r.returncode == 1 and r.stderr == line_for(z), r.stderr
    assert r.stdout == ""


def test_sftp_without_the_keyboard_interactive_picker_ends_at_once(z):
    start = time.time()
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(z.bastion.port),
                        "-i", str(z.env.keys["alice"]), "-o", "IdentitiesOnly=yes",
                        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                        "-o", f"UserKnownHostsFile={z.bastion.dir}/client_known_hosts",
                        "-b", "-", "alice@127.0.0.1"],
                       input="ls\n", capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f"{z.tu}%web1%alice@127.0.0.1" in r.stderr, r.stderr
    assert time.time() - start < 20
