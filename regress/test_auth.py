"""Public key authentication and the log lines administrators and fail2ban rely on."""

import os
import re
import socket
import subprocess
import time

from conftest import TEST_USER


def test_accepted_publickey_log_line(server, keydir):
    r = server.ssh("true")
    assert r.returncode == 0, r.stderr
    fp = subprocess.run(["ssh-keygen", "-lf", str(keydir / "id_ed25519.pub")], capture_output=True,
                        text=True).stdout.split()[1]
    assert server.wait_log(f"Accepted publickey for {TEST_USER} from 127.0.0.1 port ")
    assert re.search(rf"Accepted publickey for {TEST_USER} from 127\.0\.0\.1 port \d+ ssh2: "
                     rf"ED25519 {re.escape(fp)}", server.log_text())


def test_each_user_key_type_is_accepted(server):
    for key in ("id_rsa", "id_ecdsa"):
        r = server.ssh("echo ok", key=key)
        assert r.stdout == "ok\n", r.stderr
    assert server.wait_log("ssh2: RSA SHA256:") and server.wait_log("ssh2: ECDSA SHA256:")


def test_unknown_key_is_refused_and_logged(server):
    r = server.ssh("true", key="id_other")
    assert r.returncode == 255
    assert "Permission denied (publickey" in r.stderr
    assert server.wait_log(f"Connection closed by authenticating user {TEST_USER} 127.0.0.1 port ")


def test_invalid_user_is_logged_for_fail2ban(server):
    r = server.ssh("true", user="no-such-user-xyz")
    assert r.returncode == 255
    assert server.wait_log("Invalid user no-such-user-xyz from 127.0.0.1 port ")


def test_root_with_key_allowed_by_default_and_denied_when_no(make_server, keydir):
    # PermitRootLogin prohibit-password (the default) lets root in with a key. The keys live in a
    # root-owned directory: StrictModes rightly refuses anything under the world-writable /tmp.
    import tempfile
    d = tempfile.mkdtemp(prefix="postern-root-keys-", dir="/root")
    ak = os.path.join(d, "authorized_keys")
    with open(ak, "w") as f:
        f.write((keydir / "id_ed25519.pub").read_text())
    s = make_server(f"AuthorizedKeysFile {ak}")
    r = s.ssh("id -u", user="root")
    assert r.stdout == "0\n", r.stderr
    s2 = make_server(f"AuthorizedKeysFile {ak}\nPermitRootLogin no")
    r = s2.ssh("id -u", user="root")
    assert r.returncode == 255
    assert s2.wait_log("ROOT LOGIN REFUSED FROM 127.0.0.1") or s2.wait_log("Failed publickey for root")
    import shutil
    shutil.rmtree(d)


def test_strict_modes_refuse_writable_authorized_keys(make_server, user):
    ak = os.path.join(user.pw_dir, ".ssh", "authorized_keys")
    os.chmod(ak, 0o666)
    try:
        s = make_server()
        r = s.ssh("true")
        assert r.returncode == 255
        assert s.wait_log("Authentication refused: bad ownership or modes for file " + ak)
    finally:
        os.chmod(ak, 0o600)


def test_max_auth_tries(make_server, user, keydir):
    s = make_server("MaxAuthTries 2")
    # Offer three wrong keys: the server disconnects after the second failure.
    args = ["ssh", "-F", "/dev/null", "-p", str(s.port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes"]
    for k in ("id_other", "host_ed25519", "host_ecdsa"):
        args += ["-i", str(keydir / k)]
    r = subprocess.run(args + [f"{TEST_USER}@127.0.0.1", "true"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 255
    assert "Too many authentication failures" in r.stderr
    assert s.wait_log("maximum authentication attempts exceeded for " + TEST_USER)


def test_login_grace_time_drops_silent_client(make_server, user):
    s = make_server("LoginGraceTime 2")
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"SSH-2.0-Silent_1.0\r\n")
    c.settimeout(10)
    start = time.time()
    data = b""
    while True:
        try:
            b = c.recv(4096)
        except OSError:
            break
        if not b:
            break
        data += b
    assert time.time() - start < 8
    assert data.startswith(b"SSH-2.0-")
    assert s.wait_log("Timeout before authentication for 127.0.0.1 port ")
