"""The pre-auth child is what docs/architecture.md says: unprivileged, chrooted, sandboxed."""

import os
import socket
import subprocess
import time

import pytest


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def find_net_child(server, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for session in children(server.proc.pid):
            for child in children(session):
                try:
                    exe = os.readlink(f"/proc/{child}/exe")
                except OSError:
                    continue
                if exe.endswith("sshd-net"):
                    return session, child
        time.sleep(0.05)
    raise AssertionError("no sshd-net child found")


@pytest.fixture
def preauth_connection(server):
    """A connection that has exchanged versions and sits before authentication."""
    c = socket.create_connection(("127.0.0.1", server.port))
    c.sendall(b"SSH-2.0-PosternTest_1.0\r\n")
    assert c.recv(256).startswith(b"SSH-2.0-")
    yield c
    c.close()


def test_preauth_child_is_unprivileged_chrooted_and_sandboxed(server, preauth_connection):
    import pwd
    sshd_uid = pwd.getpwnam("sshd").pw_uid
    # The server fixture's port probe may have left a connection whose sshd-net is still
    # starting (root until it jails itself, then gone): look until the jailed child of our own
    # connection (it sent its version line, so it has jailed) is the one found.
    deadline = time.time() + 5
    while True:
        session, net = find_net_child(server)
        try:
            st = proc_status(net)
        except OSError:  # it exited between the two looks
            if time.time() > deadline:
                raise
            continue
        if st["Uid"].split()[0] == str(sshd_uid) or time.time() > deadline:
            break
        time.sleep(0.05)
    assert st["Uid"].split() == [str(sshd_uid)] * 4
    assert st["Seccomp"] == "2"
    assert st["NoNewPrivs"] == "1"
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0 and int(st["CapBnd"], 16) == 0
    assert os.readlink(f"/proc/{net}/root") == "/run/sshd"
    # RLIMIT_DATA, soft and hard (common/data_limit.h): no bug can make it take the machine.
    assert data_limits(open(f"/proc/{net}/limits").read()) == ("134217728", "134217728")
    # The monitor stays root and is a different process.
    assert proc_status(session)["Uid"].split()[0] == "0"


def data_limits(limits_text):
    """(soft, hard) of "Max data size" in a /proc/PID/limits text."""
    for line in limits_text.splitlines():
        if line.startswith("Max data size"):
            return tuple(line[len("Max data size"):].split()[:2])
    raise AssertionError("no Max data size line")


def test_session_process_runs_as_user_without_capabilities(server, user):
    r = server.ssh("grep -E '^(Uid|Gid|CapEff|CapPrm|NoNewPrivs)' /proc/$PPID/status")
    st = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert st["Uid"].split() == [str(user.pw_uid)] * 4
    assert int(st["CapEff"].strip(), 16) == 0 and int(st["CapPrm"].strip(), 16) == 0


def test_session_process_data_limit_is_not_the_users(server, user):
    """sshd-user runs under a 1 GiB RLIMIT_DATA; the user's commands get the limit back."""
    r = server.ssh("cat /proc/$PPID/limits; echo ==; cat /proc/self/limits")
    assert r.returncode == 0, r.stderr
    session, command = r.stdout.split("==\n")
    assert data_limits(session)[0] == "1073741824"
    mine = open("/proc/self/limits").read()
    assert data_limits(command) == data_limits(mine)


def test_garbage_after_version_is_a_disconnect_not_a_crash(server):
    for payload in (b"\x00\x00\x00\x0c\x0a\x14" + b"\x00" * 10,      # KEXINIT truncated
                    b"\xff\xff\xff\xff" + os.urandom(64),             # absurd length
                    os.urandom(2000)):
        c = socket.create_connection(("127.0.0.1", server.port))
        c.sendall(b"SSH-2.0-Garbage_1.0\r\n" + payload)
        c.settimeout(10)
        data = b""
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
        except OSError:
            pass
        c.close()
        assert data.startswith(b"SSH-2.0-")
    # The listener survives and still serves.
    r = server.ssh("echo alive")
    assert r.stdout == "alive\n"
    assert "Segmentation" not in server.log_text()


# A stand-in for a compromised sshd-net: it gets through the key exchange and the user name,
# then floods the monitor with publickey queries and never reads an answer. The monitor's
# replies fill the socket (net.unix.max_dgram_qlen datagrams); a blocking send would hold the
# root monitor there for ever, past LoginGraceTime.
NEVER_READING_NET_CHILD = r'''#!/usr/bin/python3
import socket, struct, time
ch = socket.socket(fileno=3)
ch.recv(1 << 20)  # NetSetup
s = lambda b: struct.pack(">I", len(b)) + b
ch.send(bytes([10]) + s(b"ssh-ed25519") + s(b"\x5a" * 32))  # SignRequest: the session id
ch.recv(1 << 20)
ch.send(bytes([14]) + s(b"nosuchuser") + s(b"ssh-connection"))  # PwnamRequest
ch.recv(1 << 20)
ch.setblocking(False)
for _ in range(10000):  # KeyAllowedRequest queries, answers never read
    try:
        ch.send(bytes([16]) + s(b"ssh-ed25519") + s(b"junk") + b"\0")
    except BlockingIOError:
        time.sleep(0.01)
time.sleep(3600)
'''


def test_child_that_stops_reading_cannot_hold_the_monitor_past_grace_time(keydir, tmp_path):
    from conftest import BUILD, Server, wait_for_port
    import shutil
    import signal
    import tempfile
    # Only binaries inside the build tree run helpers from beside themselves
    # (monitor/spawn.cpp): the listener and monitor are linked into a directory there, next to
    # the stand-in child.
    bindir = tempfile.mkdtemp(prefix="privsep-pin-", dir=BUILD.resolve())
    try:
        for name, sub in (("sshd", "monitor"), ("sshd-session", "monitor")):
            os.link(BUILD / sub / name, f"{bindir}/{name}")
        with open(f"{bindir}/sshd-net", "w") as f:
            f.write(NEVER_READING_NET_CHILD)
        os.chmod(f"{bindir}/sshd-net", 0o755)

        # MaxAuthTries high enough that the queries fill the socket before the monitor stops
        # answering them.
        srv = Server(keydir, tmp_path, "LoginGraceTime 3\nMaxAuthTries 1000\n")
        srv.logf = open(srv.log, "ab")
        srv.proc = subprocess.Popen([f"{bindir}/sshd", "-D", "-e", "-f", str(srv.config)],
                                    stdout=srv.logf, stderr=subprocess.STDOUT)
        assert wait_for_port(srv.port, srv.proc)
        c = socket.create_connection(("127.0.0.1", srv.port))
        try:
            # sshd(8) LoginGraceTime: the monitor ends the connection at the grace time even
            # while its child refuses to read.
            assert srv.wait_log("Timeout before authentication", timeout=15), srv.log_text()
            deadline = time.time() + 5
            while children(srv.proc.pid) and time.time() < deadline:
                time.sleep(0.05)
            assert children(srv.proc.pid) == [], "the monitor is still there"
        finally:
            c.close()
            for session in children(srv.proc.pid):  # before the fix: a monitor stuck in sendmsg
                for child in children(session):
                    os.kill(child, signal.SIGKILL)
                os.kill(session, signal.SIGKILL)
            srv.stop()
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def fd_targets(pid):
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return fds


def test_internal_sftp_runs_in_a_child_without_the_monitor_channel(make_server, user, tmp_path):
    # The session process holds the monitor channel, through which the monitor signs re-key
    # exchange hashes with the host key. The SFTP server, which parses everything a (possibly
    # chrooted, sftp-only) user sends, runs in a child of it that holds only its own pipes.
    server = make_server("Subsystem sftp internal-sftp -l INFO")
    src = tmp_path / "src"
    src.write_bytes(os.urandom(4 << 20))
    os.chmod(tmp_path, 0o755)
    os.chmod(src, 0o644)
    remote = f"{user.pw_dir}/privsep-sftp-{os.getpid()}"
    opts = ["-F", "/dev/null", "-i", str(server.keydir / "id_ed25519"), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={server.dir}/known_hosts", "-o", "LogLevel=ERROR"]
    p = subprocess.Popen(["sftp", "-b", "-", "-P", str(server.port), *opts,
                          f"{user.pw_name}@127.0.0.1"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        # A transfer runs, then the session stays open while we look.
        p.stdin.write(f"put {src} {remote}\npwd\n".encode())
        p.stdin.flush()
        assert server.wait_log("session opened for local user", timeout=20), server.log_text()
        assert server.wait_log(f'close "{remote}"', timeout=30), server.log_text()
        session_user = sftp_child = None
        for monitor in children(server.proc.pid):
            for c in children(monitor):
                if os.readlink(f"/proc/{c}/exe").endswith("sshd-user"):
                    session_user = c
                    for g in children(c):
                        with open(f"/proc/{g}/comm") as f:
                            if f.read().strip() == "internal-sftp":
                                sftp_child = g
        assert session_user is not None, "no sshd-user process"
        assert sftp_child is not None and sftp_child != session_user, \
            "internal-sftp runs inside the session process"
        parent_fds = fd_targets(session_user)
        child_fds = fd_targets(sftp_child)
        # sshd-user: fd 3 is the monitor channel, fd 4 the client connection (session/user_main).
        assert parent_fds[3].startswith("socket:") and parent_fds[4].startswith("socket:")
        assert sorted(child_fds) == [0, 1, 2], child_fds
        assert parent_fds[3] not in child_fds.values()
        assert parent_fds[4] not in child_fds.values()
        assert child_fds[0].startswith("pipe:") and child_fds[1].startswith("pipe:")
        assert proc_status(sftp_child)["Uid"].split() == [str(user.pw_uid)] * 4
    finally:
        out, err = p.communicate(timeout=60)
        if os.path.exists(remote):
            os.unlink(remote)
    assert p.returncode == 0, err
    # Its log lines still reach sshd's log, as the in-process server's did.
    assert server.wait_log("session closed for local user", timeout=10), server.log_text()


def test_rekeying_after_login_still_signs(make_server, user, tmp_path):
    # After login the monitor signs only re-key exchange hashes with the session's host key, a
    # bounded number of times (monitor/rekey_sign_budget.h); real re-keying, by the client and
    # by the server, in the middle of an internal-sftp transfer, is well inside that.
    server = make_server("Subsystem sftp internal-sftp\nRekeyLimit 2M")
    src = tmp_path / "src"
    data = os.urandom(12 << 20)
    src.write_bytes(data)
    os.chmod(tmp_path, 0o777)
    os.chmod(src, 0o644)
    remote = f"{user.pw_dir}/privsep-rekey-{os.getpid()}"
    opts = ["-F", "/dev/null", "-i", str(server.keydir / "id_ed25519"), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "RekeyLimit=1M",
            "-o", f"UserKnownHostsFile={server.dir}/known_hosts", "-o", "LogLevel=DEBUG1"]
    try:
        p = subprocess.run(["sftp", "-b", "-", "-P", str(server.port), *opts,
                            f"{user.pw_name}@127.0.0.1"],
                           input=f"put {src} {remote}\nget {remote} {tmp_path}/back\n",
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        assert (tmp_path / "back").read_bytes() == data
        # The first key exchange and at least one re-key per MiB each way.
        assert p.stderr.count("SSH2_MSG_NEWKEYS sent") >= 10, p.stderr[-3000:]
        assert "re-key" not in server.log_text()
    finally:
        if os.path.exists(remote):
            os.unlink(remote)


def mapped_objects(pid):
    """File names of the shared objects mapped by a process."""
    return {line.split()[-1].rsplit("/", 1)[-1] for line in open(f"/proc/{pid}/maps")
            if ".so" in line}


def test_session_processes_map_only_what_a_plain_sshd_uses(server, user):
    """An idle session's monitor and sshd-user load no bastion-only library (the session index's
    SQLite and libpq with its 20 dependencies, toml++) and no second C++ runtime, and sshd-user
    no NSS module (its groups come from the monitor): each would be mapped and relocated per
    connection (docs/performance.md)."""
    import grp
    # A supplementary group, so the group list carries more than the primary group.
    users_gid = grp.getgrnam("users").gr_gid
    subprocess.run(["usermod", "-aG", "users", user.pw_name], check=True)
    proc = subprocess.Popen(server.ssh_args() + [
        "echo $PPID; awk '/^PPid/ {print $2}' /proc/$PPID/status; id -G; sleep 30"],
        stdout=subprocess.PIPE, text=True)
    try:
        session_pid = int(proc.stdout.readline())
        monitor_pid = int(proc.stdout.readline())
        groups = proc.stdout.readline().split()
        monitor, session = mapped_objects(monitor_pid), mapped_objects(session_pid)
        for objects in (monitor, session):
            assert "libcrypto.so.3" in objects
            assert not {o for o in objects if o.startswith(
                ("libpq.so", "libsqlite3.so", "libtomlplusplus.so", "libstdc++.so", "libgnutls.so",
                 "libkrb5.so", "libldap"))}, objects
        assert not {o for o in session if o.startswith("libnss_")}, session
        # setgroups with the monitor's list is what initgroups set: the user's groups, as id -G.
        expected = subprocess.run(["id", "-G", user.pw_name], capture_output=True,
                                  text=True).stdout.split()
        assert str(users_gid) in groups
        assert sorted(groups) == sorted(expected)
    finally:
        proc.kill()
        proc.wait()
