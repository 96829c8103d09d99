"""ChannelTimeout (sshd_config(5), as OpenSSH 10 applies it): a channel of a matching type that
moves no data for the interval is closed; types are session:command, session:shell,
session:subsystem:NAME and the forwarding channels' names, written as patterns (session:*);
"global" covers all open channels taken together (data on any restarts it) and is set only when
written out. The stock ssh client sees a closed session as exit status 255."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import TEST_USER


def test_command_timeout_and_wildcards(make_server, user):
    # Margins are wide (3 s timeout, output every 0.3 s) so a loaded machine's scheduling delays
    # cannot make a busy channel look idle.
    server = make_server("ChannelTimeout session:command=3 direct-tcpip=3")
    # An idle command channel is closed: no exit status, ssh reports 255.
    r = server.ssh("sleep 12; exit 23", timeout=30)
    assert r.returncode == 255
    assert server.wait_log("seconds of inactivity")
    # A busy one lives on, past the timeout.
    r = server.ssh("for i in $(seq 15); do echo $i; sleep 0.3; done; exit 23", timeout=30)
    assert r.returncode == 23
    # A shell is not a command.
    r = server.ssh(None, input="sleep 5; exit 24\n", extra=["-T"], timeout=30)
    assert r.returncode == 24


@pytest.mark.parametrize("setting, closed", [
    ("session:*=2", True),              # a wildcard covers commands
    ("session:shell=2", False),         # another type does not
    ("global=2", True),                 # global: the only channel is idle
    ("glob*=2", False),                 # a pattern is no "global"
])
def test_which_entry_applies_to_a_command(make_server, user, setting, closed):
    server = make_server(f"ChannelTimeout {setting}")
    r = server.ssh("sleep 5; exit 23", timeout=30)
    assert r.returncode == (255 if closed else 23), (setting, r.stderr)


def test_long_timeouts_do_not_fire(make_server, user):
    # Intervals past what poll(2)'s milliseconds hold (30 days) and a minute: a quick command
    # finishes normally, and a command that outlives a short poll still gets its exit status.
    server = make_server("ChannelTimeout session:command=30d session:shell=60 global=4w")
    start = time.time()
    assert server.ssh("exit 23", timeout=30).returncode == 23
    assert server.ssh("sleep 2; exit 23", timeout=30).returncode == 23
    assert time.time() - start < 20


def test_subsystem_timeout_by_name(make_server, user):
    server = make_server('Subsystem slow /bin/sh -c "sleep 5; echo slow-done"\n'
                         'Subsystem quick /bin/sh -c "sleep 3; echo quick-done"\n'
                         "ChannelTimeout session:subsystem:slow=2 session:command=1")
    r = server.ssh("slow", extra=["-s"], timeout=30)
    assert r.returncode == 255 and "slow-done" not in r.stdout
    # Another subsystem's name, and the command type, do not apply.
    r = server.ssh("quick", extra=["-s"], timeout=30)
    assert r.returncode == 0 and r.stdout == "quick-done\n", r.stderr


def test_global_timeout_closes_every_channel_when_all_are_idle(make_server, user, tmp_path):
    # Three commands on one multiplexed connection: data on any of them keeps all open; once the
    # last output is 3 s old, every channel still open is closed, as OpenSSH 10's regress test
    # "global command timeout" expects.
    server = make_server("ChannelTimeout global=3")
    ctl = tmp_path / "ctl"
    master = server.ssh_args(options=[f"ControlPath={ctl}"])
    subprocess.run(master[:1] + ["-M", "-N", "-f"] + master[1:], check=True, timeout=30)
    marks = Path(tempfile.mkdtemp(prefix="postern-ct-"))
    marks.chmod(0o777)  # the commands, run as the test user, leave marks here
    try:
        mux = lambda cmd: subprocess.Popen(  # noqa: E731
            server.ssh_args(options=[f"ControlPath={ctl}", "ControlMaster=no"]) + [cmd],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = {n: marks / f"finished.{n}" for n in (1, 2, 3)}
        start = time.time()
        clients = [mux(f"sleep 1; echo ok; sleep 1; echo ok; sleep 30; touch {done[1]}"),
                   mux(f"sleep 30; touch {done[2]}"),
                   mux(f"sleep 2; touch {done[3]}")]
        codes = [c.wait(timeout=40) for c in clients]
        elapsed = time.time() - start
        assert codes == [255, 255, 0], codes
        assert 4 < elapsed < 20, elapsed
        assert done[3].exists() and not done[1].exists() and not done[2].exists()
        assert server.wait_log("ChannelTimeout global")
    finally:
        subprocess.run(master[:1] + ["-O", "exit"] + master[1:], capture_output=True, timeout=30)
        shutil.rmtree(marks, ignore_errors=True)


def test_session_type_before_any_request(make_server, user, keydir):
    # A session channel that has asked to run nothing yet is of type "session" (OpenSSH 10's
    # sshd_config(5)); once it runs a command it is "session:command", which "session" does not
    # match.
    paramiko = pytest.importorskip("paramiko")
    server = make_server("ChannelTimeout session=2")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=server.port, username=TEST_USER,
              key_filename=str(keydir / "id_ed25519"), look_for_keys=False, allow_agent=False)
    try:
        idle = c.get_transport().open_session()
        idle.settimeout(15)
        start = time.time()
        assert idle.recv(1) == b""  # closed by the server
        assert 1.5 < time.time() - start < 10
        _, out, _ = c.exec_command("sleep 4; echo still-here")
        assert out.read() == b"still-here\n"
    finally:
        c.close()
