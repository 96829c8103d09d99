"""Public key authentication and the log lines administrators and fail2ban rely on."""

import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import TEST_USER, free_port


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


# ---- publickey policy: authorized_keys options, AuthenticationMethods, key checks ----

SK_DUMMY = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so"


@pytest.fixture
def keys_file(user):
    """Writes lines to a file of the user's and returns the AuthorizedKeysFile line naming it."""
    path = os.path.join(user.pw_dir, ".ssh", f"keys_{os.getpid()}_{time.monotonic_ns()}")

    def write(*lines):
        with open(path, "w") as f:
            f.write("".join(l if l.endswith("\n") else l + "\n" for l in lines))
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, 0o600)
        return f"AuthorizedKeysFile {path}"

    write.path = path
    yield write
    if os.path.exists(path):
        os.unlink(path)


def ssh_with(s, extra_args, command, key="id_ed25519", **kw):
    """ssh to the server with client arguments added before the destination."""
    args = s.ssh_args(key)
    return subprocess.run(args[:-1] + list(extra_args) + [args[-1], command], capture_output=True,
                          text=True, timeout=60, **kw)


def pub(keydir, name):
    return (keydir / f"{name}.pub").read_text().strip()


def test_publickey_publickey_needs_two_different_keys(make_server, keydir, keys_file):
    cfg = keys_file(pub(keydir, "id_ed25519"), pub(keydir, "id_rsa"))
    s = make_server(cfg + "\nAuthenticationMethods publickey,publickey")
    r = s.ssh("true")
    assert r.returncode == 255, r.stderr
    assert s.wait_log("Partial publickey for " + TEST_USER)
    assert s.wait_log("refusing previously-used ED25519 key")
    r = ssh_with(s, ["-i", str(keydir / "id_rsa")], "echo in")
    assert r.stdout == "in\n", r.stderr
    assert s.wait_log(f"Accepted publickey for {TEST_USER} from 127.0.0.1")


def test_publickey_publickey_counts_a_certificate_as_its_key(make_server, keydir, keys_file,
                                                               tmp_path):
    ca = tmp_path / "ca"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(ca)], check=True)
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(key)], check=True)
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "t", "-n", TEST_USER, str(key) + ".pub"],
                   check=True)
    os.chmod(tmp_path, 0o755)
    cfg = keys_file((tmp_path / "k.pub").read_text().strip(), pub(keydir, "id_rsa"))
    s = make_server(f"{cfg}\nTrustedUserCAKeys {ca}.pub\nAuthenticationMethods publickey,publickey")
    base = ["ssh", "-F", "/dev/null", "-p", str(s.port), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    # The certificate and its own key: one key, so the second step is refused.
    r = subprocess.run(base + ["-i", str(key), "-o", f"CertificateFile={key}-cert.pub",
                               f"{TEST_USER}@127.0.0.1", "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 255, r.stderr
    assert s.wait_log("refusing previously-used ED25519")
    # The certificate and another key: in.
    r = subprocess.run(base + ["-i", str(key), "-o", f"CertificateFile={key}-cert.pub",
                               "-i", str(keydir / "id_rsa"), f"{TEST_USER}@127.0.0.1", "echo in"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "in\n", r.stderr + s.log_text()


@pytest.mark.parametrize("expiry,ok", [("19990101", False), ("INVALID", False),
                                       ("20380101", True), ("203801010000", True),
                                       ("20000101000000Z", False), ("20991231235959Z", True)])
def test_expiry_time(make_server, keydir, keys_file, expiry, ok):
    s = make_server(keys_file(f'expiry-time="{expiry}" ' + pub(keydir, "id_ed25519")),
                    args=("-o", "LogLevel=DEBUG"))
    r = s.ssh("echo in")
    assert (r.stdout == "in\n") == ok, r.stderr
    if expiry == "19990101":
        assert s.wait_log(":1: entry expired at 1999-01-01T00:00:00")
        assert s.wait_log("Refused by key options")
    if expiry == "INVALID":
        assert s.wait_log(":1: bad key options: invalid expiry-time")


def test_from_refused_with_sshds_log_line(make_server, keydir, keys_file):
    s = make_server(keys_file('from="10.0.0.0/8,!127.0.0.1" ' + pub(keydir, "id_ed25519")))
    r = s.ssh("true")
    assert r.returncode == 255
    assert s.wait_log(f":1: Authentication tried for {TEST_USER} with correct key but not from a "
                      "permitted host (host=127.0.0.1, ip=127.0.0.1, required=10.0.0.0/8,!127.0.0.1).")
    assert s.wait_log("Refused by key options")
    s2 = make_server(keys_file('from="127.0.0.0/8" ' + pub(keydir, "id_ed25519")))
    assert s2.ssh("echo in").stdout == "in\n"


def test_required_rsa_size(make_server, keys_file, tmp_path):
    small = tmp_path / "rsa1024"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "rsa", "-b", "1024", "-f", str(small)],
                   check=True)
    os.chmod(tmp_path, 0o755)
    cfg = keys_file((tmp_path / "rsa1024.pub").read_text().strip())
    args = ["-i", str(small), "-o", "RequiredRSASize=1024"]

    def login(s):
        return subprocess.run(s.ssh_args()[:-1] + args + [s.ssh_args()[-1], "echo in"],
                              capture_output=True, text=True, timeout=60)

    s = make_server(cfg + "\nRequiredRSASize 2048")
    assert login(s).returncode == 255
    assert s.wait_log("refusing RSA key: Invalid key length")
    s2 = make_server(cfg)  # the default, 1024
    assert login(s2).stdout == "in\n"


def test_cert_only_pubkey_algorithms_still_advertise_rsa_in_server_sig_algs(make_server, keydir,
                                                                              keys_file):
    # limit-keytype's "allow cert only": the client picks the RSA signature algorithm of a
    # certificate from server-sig-algs, so the list is OpenSSH's fixed one, not
    # PubkeyAcceptedAlgorithms.
    s = make_server(keys_file(pub(keydir, "id_rsa"))
                    + "\nPubkeyAcceptedAlgorithms *-cert-v01@openssh.com")
    r = s.ssh("true", key="id_rsa", options=("LogLevel=DEBUG",))
    assert r.returncode == 255
    m = re.search(r"server-sig-algs=<([^>]*)>", r.stderr)
    assert m, r.stderr
    algs = m.group(1).split(",")
    for a in ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512",
              "sk-ssh-ed25519@openssh.com"):
        assert a in algs


def test_rsa_certificate_with_cert_only_pubkey_algorithms(make_server, keys_file, tmp_path):
    ca = tmp_path / "ca"
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(ca)], check=True)
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "rsa", "-b", "2048", "-f", str(key)],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", "t", "-n", TEST_USER, str(key) + ".pub"],
                   check=True)
    os.chmod(tmp_path, 0o755)
    s = make_server(keys_file("# none") + f"\nTrustedUserCAKeys {ca}.pub\n"
                    "PubkeyAcceptedAlgorithms *-cert-v01@openssh.com")
    args = s.ssh_args()
    r = subprocess.run(args[:-1] + ["-i", str(key), "-o", f"CertificateFile={key}-cert.pub",
                                    args[-1], "echo in"], capture_output=True, text=True, timeout=60)
    assert r.stdout == "in\n", r.stderr + s.log_text()
    # The plain key is not accepted even when listed.
    s2 = make_server(keys_file((tmp_path / "k.pub").read_text().strip())
                     + "\nPubkeyAcceptedAlgorithms *-cert-v01@openssh.com")
    r = subprocess.run(s2.ssh_args()[:-1] + ["-i", str(key), s2.ssh_args()[-1], "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 255


def test_hostbound_publickey_is_used_and_accepted(make_server, keydir, keys_file):
    s = make_server(keys_file(pub(keydir, "id_ed25519")), args=("-o", "LogLevel=DEBUG"))
    r = s.ssh("echo in", options=("LogLevel=DEBUG3",))
    assert r.stdout == "in\n", r.stderr
    assert "using publickey-hostbound-v00@openssh.com" in r.stderr
    assert s.wait_log("method publickey-hostbound-v00@openssh.com")


def remote_unix_forward(s, path, key="id_ed25519"):
    args = s.ssh_args(key)
    return subprocess.run(args[:-1] + ["-o", "ExitOnForwardFailure=yes", "-R",
                                       f"{path}:127.0.0.1:9", args[-1], "true"],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("option", ["no-port-forwarding", "restrict"])
def test_no_port_forwarding_also_stops_unix_socket_forwarding(make_server, keydir, keys_file,
                                                              user, option):
    sock = os.path.join(user.pw_dir, f"fwd-{os.getpid()}.sock")
    s = make_server(keys_file(f"{option} " + pub(keydir, "id_ed25519")))
    r = remote_unix_forward(s, sock)
    assert r.returncode == 255
    assert "remote port forwarding failed for listen path" in r.stderr
    s2 = make_server(keys_file(pub(keydir, "id_ed25519")))
    r = remote_unix_forward(s2, sock)
    assert r.returncode == 0, r.stderr
    if os.path.exists(sock):
        os.unlink(sock)


def make_sk_key(path, *options):
    args = ["ssh-keygen", "-q", "-N", "", "-t", "ed25519-sk", "-w", SK_DUMMY, "-f", str(path)]
    for o in options:
        args += ["-O", o]
    env = dict(os.environ, SSH_ASKPASS=str(path) + ".pin", SSH_ASKPASS_REQUIRE="force",
               DISPLAY=":0")
    with open(str(path) + ".pin", "w") as f:
        f.write("#!/bin/sh\necho 1234\n")
    os.chmod(str(path) + ".pin", 0o755)
    subprocess.run(args, check=True, env=env, stdin=subprocess.DEVNULL)
    return env


@pytest.mark.skipif(not os.path.exists(SK_DUMMY), reason="OpenSSH's sk-dummy.so (openssh-tests)")
@pytest.mark.parametrize("key_flags,line_opt,server_opt,ok", [
    ((), "", "", True),                                          # touched by default
    (("no-touch-required",), "", "", False),                     # no touch, not allowed
    (("no-touch-required",), "no-touch-required ", "", True),
    (("no-touch-required",), "no-touch-required ", "PubkeyAuthOptions touch-required", False),
    ((), "verify-required ", "", False),                         # touch but no PIN
    ((), "", "PubkeyAuthOptions verify-required", False),
    (("verify-required",), "verify-required ", "PubkeyAuthOptions verify-required", True),
])
def test_security_key_presence_and_verification(make_server, keys_file, tmp_path, key_flags,
                                                line_opt, server_opt, ok):
    key = tmp_path / "sk"
    env = make_sk_key(key, *key_flags)
    os.chmod(tmp_path, 0o755)
    s = make_server(keys_file(line_opt + (tmp_path / "sk.pub").read_text().strip()) + "\n"
                    + server_opt)
    args = s.ssh_args()
    r = subprocess.run(args[:-1] + ["-i", str(key), "-o", f"SecurityKeyProvider={SK_DUMMY}",
                                    args[-1], "echo in"],
                       capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL)
    assert (r.stdout == "in\n") == ok, r.stderr + s.log_text()
    if not ok and "verify" in line_opt + server_opt:
        assert s.wait_log("rejected: user verification requirement not met ")
    elif not ok:
        assert s.wait_log("rejected: user presence (authenticator touch) requirement not met ")


# ---- what the other authorized_keys options do to the session (sshd(8)) ----

def key_line(keydir, options):
    return f"{options} {pub(keydir, 'id_ed25519')}"


def test_command_option_replaces_the_command(make_server, keydir, keys_file):
    s = make_server(keys_file(key_line(keydir, 'command="echo forced:$SSH_ORIGINAL_COMMAND"')))
    r = s.ssh("echo asked")
    assert r.stdout == "forced:echo asked\n", r.stderr
    s2 = make_server(keys_file(key_line(keydir, 'no-pty,command="echo bar"')))
    assert s2.ssh("echo foo").stdout == "bar\n"


@pytest.mark.parametrize("options,pty", [("", True), ("no-pty", False), ("restrict", False),
                                         ("restrict,pty", True)])
def test_pty_options(make_server, keydir, keys_file, options, pty):
    line = key_line(keydir, options) if options else pub(keydir, "id_ed25519")
    s = make_server(keys_file(line))
    r = ssh_with(s, ["-tt"], "tty; exit 0")
    out = r.stdout.strip()
    assert out.startswith("/dev/pts/") == pty, (out, r.stderr)


def test_environment_option_needs_permit_user_environment(make_server, keydir, keys_file):
    line = key_line(keydir, 'environment="FOO=bar",environment="BAZ=qux quux"')
    s = make_server(keys_file(line) + "\nPermitUserEnvironment yes")
    assert s.ssh('echo "$FOO/$BAZ"').stdout == "bar/qux quux\n"
    s2 = make_server(keys_file(line))
    assert s2.ssh('echo "${FOO-unset}"').stdout == "unset\n"


def test_permitopen_option(make_server, keydir, keys_file):
    # A listener that answers "hi" and closes, so an allowed ssh -W ends by itself.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            with c:
                c.sendall(b"hi\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        s = make_server(keys_file(key_line(keydir, f'permitopen="127.0.0.1:{port}"')))
        args = s.ssh_args()
        r = subprocess.run(args[:-1] + ["-W", f"127.0.0.1:{port}", args[-1]], input="",
                           capture_output=True, text=True, timeout=30)
        assert r.stdout == "hi\n", r.stderr
        r = subprocess.run(args[:-1] + ["-W", f"localhost:{port}", args[-1]], input="",
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 255
        assert "stdio forwarding failed" in r.stderr, r.stderr
    finally:
        listener.close()


def test_permitlisten_option(make_server, keydir, keys_file):
    allowed, refused = free_port(), free_port()
    s = make_server(keys_file(key_line(keydir, f'permitlisten="{allowed}"')))
    r = ssh_with(s, ["-o", "ExitOnForwardFailure=yes", "-R", f"{allowed}:127.0.0.1:9"], "true")
    assert r.returncode == 0, r.stderr
    r = ssh_with(s, ["-o", "ExitOnForwardFailure=yes", "-R", f"{refused}:127.0.0.1:9"], "true")
    assert r.returncode == 255
    assert "remote port forwarding failed" in r.stderr


@pytest.mark.parametrize("options", ["no-agent-forwarding", "restrict"])
def test_no_agent_forwarding_option(make_server, keydir, keys_file, tmp_path, options):
    agent = subprocess.run(["ssh-agent", "-s", "-a", str(tmp_path / "agent.sock")],
                           capture_output=True, text=True, check=True).stdout
    pid = int(re.search(r"SSH_AGENT_PID=(\d+)", agent).group(1))
    env = dict(os.environ, SSH_AUTH_SOCK=str(tmp_path / "agent.sock"))
    try:
        s = make_server(keys_file(pub(keydir, "id_ed25519")))
        r = ssh_with(s, ["-A"], 'echo "${SSH_AUTH_SOCK:-none}"', env=env)
        assert r.stdout.strip() != "none", r.stderr
        s2 = make_server(keys_file(key_line(keydir, options)))
        r = ssh_with(s2, ["-A"], 'echo "${SSH_AUTH_SOCK:-none}"', env=env)
        assert r.stdout == "none\n", r.stderr
    finally:
        os.kill(pid, 15)
