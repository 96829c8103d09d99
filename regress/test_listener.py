"""The listener (issue 3): MaxStartups random early drop, PerSourceMaxStartups, PerSourcePenalties,
SIGHUP reload (good and bad configurations), SIGTERM, PidFile, VersionAddendum, sd_notify and
systemd socket activation."""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import SSHD, wait_for_port


def banner_or_drop(port, source="127.0.0.1", timeout=3.0):
    """Connects silently; the server's first bytes (its version line) or b"" if it dropped us.
    The socket is returned open so the connection stays unauthenticated."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    try:
        data = s.recv(256)
    except (socket.timeout, ConnectionResetError):
        data = b""
    return s, data


def test_maxstartups_drops_unauthenticated_connections(make_server):
    srv = make_server("MaxStartups 3:50:6\nLoginGraceTime 30\n")
    socks, served, dropped = [], 0, 0
    try:
        for _ in range(20):
            s, data = banner_or_drop(srv.port)
            socks.append(s)
            if data.startswith(b"SSH-2.0-"):
                served += 1
            else:
                dropped += 1
        # Never more than `full` at once; at least `start` served.
        assert 3 <= served <= 6, (served, dropped)
        assert dropped >= 14
        assert srv.wait_log("past MaxStartups")
    finally:
        for s in socks:
            s.close()
    # Once they are gone, new connections are served again.
    time.sleep(1)
    s, data = banner_or_drop(srv.port)
    s.close()
    assert data.startswith(b"SSH-2.0-")


def test_per_source_max_startups_spares_other_sources(make_server):
    srv = make_server("PerSourceMaxStartups 2\nLoginGraceTime 30\n")
    time.sleep(0.5)  # the start-up probe's connection ends
    socks = []
    try:
        results = []
        for _ in range(4):
            s, data = banner_or_drop(srv.port)
            socks.append(s)
            results.append(data.startswith(b"SSH-2.0-"))
        assert results == [True, True, False, False]
        s, data = banner_or_drop(srv.port, source="127.0.0.2")
        socks.append(s)
        assert data.startswith(b"SSH-2.0-")
        assert srv.wait_log("past PerSourceMaxStartups")
    finally:
        for s in socks:
            s.close()


def test_per_source_penalties_refuse_abusive_source_only(make_server):
    srv = make_server("PerSourcePenalties authfail:5s min:15s max:60s\nLoginGraceTime 30\n")
    # Connections that end without authenticating: 5 s each; past 15 s the source is refused.
    for _ in range(4):
        s, data = banner_or_drop(srv.port)
        s.sendall(b"SSH-2.0-abuser\r\n\x00garbage\r\n")
        s.close()
        time.sleep(0.3)
    time.sleep(0.5)
    s, data = banner_or_drop(srv.port)
    s.close()
    assert data == b""
    assert srv.wait_log("penalty: failed authentication")
    assert "drop connection #" in srv.log_text()
    s, data = banner_or_drop(srv.port, source="127.0.0.2")
    s.close()
    assert data.startswith(b"SSH-2.0-")


def test_penalty_exempt_list(make_server):
    srv = make_server("PerSourcePenalties authfail:10s min:5s\nPerSourcePenaltyExemptList 127.0.0.0/8\n")
    for _ in range(3):
        s, _ = banner_or_drop(srv.port)
        s.close()
    time.sleep(0.5)
    s, data = banner_or_drop(srv.port)
    s.close()
    assert data.startswith(b"SSH-2.0-")


def test_sighup_reload_keeps_sessions_and_applies_new_config(make_server, user):
    srv = make_server()
    live = subprocess.Popen(srv.ssh_args() + ["sleep 4; echo survived"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    srv.config.write_text("VersionAddendum reloaded-now\n" + srv.config.read_text())
    pid = srv.proc.pid
    os.kill(pid, signal.SIGHUP)
    assert srv.wait_log("Received SIGHUP; restarting.")
    assert wait_for_port(srv.port, srv.proc)
    s, data = banner_or_drop(srv.port)
    s.close()
    assert b"reloaded-now" in data
    assert srv.proc.poll() is None and srv.proc.pid == pid
    out, err = live.communicate(timeout=20)
    assert "survived" in out, err
    # ssh -v shows the addendum too.
    r = srv.ssh("true", options=("LogLevel=DEBUG1",))
    assert "reloaded-now" in r.stderr
    assert srv.pidfile.read_text().strip() == str(pid)


def test_sighup_with_bad_config_keeps_old_one(make_server, user):
    srv = make_server()
    good = srv.config.read_text()
    srv.config.write_text("NoSuchKeyword yes\n" + good)
    os.kill(srv.proc.pid, signal.SIGHUP)
    assert srv.wait_log("keeping the running one")
    time.sleep(0.3)
    assert srv.proc.poll() is None
    r = srv.ssh("echo still-here")
    assert "still-here" in r.stdout, r.stderr


def test_sigterm_stops_cleanly_and_removes_pidfile(make_server):
    srv = make_server()
    assert srv.pidfile.read_text().strip() == str(srv.proc.pid)
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=5) == 0
    assert not srv.pidfile.exists()
    assert "terminating" in srv.log_text()


def test_sd_notify_ready(make_server, tmp_path):
    path = str(tmp_path / "notify")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(10)
    os.environ["NOTIFY_SOCKET"] = path
    try:
        srv = make_server()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    msg = ns.recv(4096).decode()
    assert "READY=1" in msg
    assert f"MAINPID={srv.proc.pid}" in msg
    os.kill(srv.proc.pid, signal.SIGTERM)
    assert "STOPPING=1" in ns.recv(4096).decode()
    ns.close()


def test_socket_activation(make_server, user):
    srv = make_server(start=False)
    # The config names a port nobody listens on; the activated socket is the one served.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    fd = ls.fileno()
    logf = open(srv.log, "ab")
    # LISTEN_PID must be sshd's own pid: the shell sets it to its pid, then becomes sshd.
    cmd = f"LISTEN_FDS=1 LISTEN_PID=$$ exec {SSHD} -D -e -f {srv.config}"
    proc = subprocess.Popen(["sh", "-c", cmd], preexec_fn=lambda: os.dup2(fd, 3), close_fds=False,
                            stdout=logf, stderr=subprocess.STDOUT)
    ls.close()
    try:
        time.sleep(1)
        srv.port = port
        r = srv.ssh("echo activated")
        assert "activated" in r.stdout, r.stderr + srv.log_text()
        assert "socket activation" in srv.log_text()
        # A reload keeps the inherited socket (re-exec with LISTEN_FDS for itself).
        os.kill(proc.pid, signal.SIGHUP)
        assert srv.wait_log("Received SIGHUP; restarting.")
        time.sleep(1)
        r = srv.ssh("echo reactivated")
        assert "reactivated" in r.stdout, r.stderr + srv.log_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        logf.close()


def test_test_mode_evaluates_match_without_C(tmp_path):
    cfg = tmp_path / "c"
    cfg.write_text("PasswordAuthentication no\nMatch User nobody-here\n  PasswordAuthentication yes\n")
    r = subprocess.run([str(SSHD), "-T", "-f", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "passwordauthentication no" in r.stdout
    r = subprocess.run([str(SSHD), "-T", "-f", str(cfg), "-C",
                        "user=nobody-here,host=h,addr=1.2.3.4,laddr=5.6.7.8,lport=22,rdomain=x"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "passwordauthentication yes" in r.stdout
