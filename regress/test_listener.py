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


def served(port, source="127.0.0.1"):
    s, data = banner_or_drop(port, source)
    s.close()
    return data.startswith(b"SSH-2.0-")


def failed_login(srv):
    """One real client that tries a key the user has not authorized and gives up."""
    r = srv.ssh("true", key="id_other", options=("PasswordAuthentication=no",
                                                 "KbdInteractiveAuthentication=no"))
    return r.returncode


def test_per_source_penalties_refuse_abusive_source_only(make_server, user):
    # sshd-session reports "authfail" (monitor/session_outcome.h): 10 s a connection; from 15 s on
    # the source is refused. Another address is served all along.
    srv = make_server("PerSourcePenalties authfail:10s noauth:0s min:15s max:60s\n")
    assert failed_login(srv) == 255
    assert srv.wait_log("srclimit_penalise: ipv4: new 127.0.0.1/32 deferred penalty of 10 seconds "
                        "for penalty: failed authentication")
    assert failed_login(srv) == 255
    assert srv.wait_log("srclimit_penalise: ipv4: update 127.0.0.1/32 active penalty of ")
    assert not served(srv.port)
    assert srv.wait_log("penalty: failed authentication")
    assert "drop connection #0 from [127.0.0.1]:" in srv.log_text()
    assert served(srv.port, source="127.0.0.2")
    # A good login from the penalised address is refused too (the source is refused, not the key).
    assert srv.ssh("true").returncode == 255
    assert "connections without attempting authentication" not in srv.log_text()


def test_noauth_penalty_for_connections_that_never_try(make_server):
    # Banner grabbers: connect, read the version, leave. noauth, not authfail.
    # (The fixture's start-up probe is such a connection too.)
    srv = make_server("PerSourcePenalties noauth:6s authfail:0s min:15s\n")
    results = []
    for _ in range(5):
        results.append(served(srv.port))
        time.sleep(0.3)
    assert results[0] and not results[-1], results
    assert srv.wait_log("for penalty: connections without attempting authentication")
    assert "past MaxStartups" not in srv.log_text()
    assert "failed authentication" not in srv.log_text()
    assert served(srv.port, source="127.0.0.2")


def test_grace_exceeded_penalty(make_server):
    srv = make_server("LoginGraceTime 2\nPerSourcePenalties grace-exceeded:20s noauth:0s min:15s\n")
    s, data = banner_or_drop(srv.port)
    assert data.startswith(b"SSH-2.0-")
    assert srv.wait_log("Timeout before authentication", timeout=8)
    assert srv.wait_log("penalty of 20 seconds for penalty: exceeded LoginGraceTime")
    s.close()
    assert not served(srv.port)
    assert served(srv.port, source="127.0.0.2")


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_crash_penalty_when_the_preauth_child_dies(make_server):
    # An sshd-net that dies of a signal (what an exploit attempt looks like) costs its source the
    # crash penalty at once (90 s > min).
    srv = make_server("PerSourcePenalties noauth:0s\n")
    time.sleep(0.3)
    s, data = banner_or_drop(srv.port)
    assert data.startswith(b"SSH-2.0-")
    nets = [c for sess in children_of(srv.proc.pid) for c in children_of(sess)]
    assert len(nets) == 1, nets
    os.kill(nets[0], signal.SIGSEGV)
    assert srv.wait_log("for penalty: caused crash")
    s.close()
    assert not served(srv.port)
    assert "penalty: caused crash" in srv.log_text().split("srclimit_penalise")[-1]
    assert served(srv.port, source="127.0.0.2")


def test_penalty_exempt_list(make_server, user):
    srv = make_server("PerSourcePenalties authfail:10s min:5s\n"
                      "PerSourcePenaltyExemptList 10.0.0.0/8,127.0.0.1\n")
    for _ in range(2):
        assert failed_login(srv) == 255
    assert served(srv.port)
    assert "srclimit_penalise" not in srv.log_text()


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
