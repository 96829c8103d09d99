"""OpenSSH user certificates (TrustedUserCAKeys, AuthorizedPrincipalsFile, validity, critical
options, extensions), RevokedKeys, and the log lines sshd writes for each refusal."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import TEST_USER


def keygen(*args):
    subprocess.run(["ssh-keygen", "-q"] + list(args), check=True, capture_output=True)


@pytest.fixture
def ca(tmp_path):
    d = tmp_path / "ca"
    d.mkdir()
    keygen("-t", "ed25519", "-N", "", "-C", "user-ca", "-f", str(d / "ca"))
    keygen("-t", "ed25519", "-N", "", "-C", "cert-user", "-f", str(d / "id"))
    return d


def sign(ca, principals=TEST_USER, ident="cert-id", serial=7, extra=(), key="id"):
    args = ["-s", str(ca / "ca"), "-I", ident, "-z", str(serial)]
    if principals is not None:
        args += ["-n", principals]
    keygen(*(args + list(extra) + [str(ca / f"{key}.pub")]))
    return ca / f"{key}-cert.pub"


def cert_ssh(server, ca, command="echo ok", key="id"):
    return server.ssh(command, key=str(ca / key),
                      options=[f"CertificateFile={ca / key}-cert.pub"])


def test_user_certificate_accepted_via_trusted_ca(make_server, user, ca):
    sign(ca)
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    r = cert_ssh(s, ca)
    assert r.stdout == "ok\n", r.stderr + s.log_text()
    assert s.wait_log(f"Accepted publickey for {TEST_USER} from 127.0.0.1 port ")
    assert re.search(r"ssh2: ED25519-CERT SHA256:\S+ ID cert-id \(serial 7\) CA ED25519 SHA256:",
                     s.log_text())
    assert 'Accepted certificate ID "cert-id" (serial 7) signed by ED25519 CA' in s.log_text()


def test_certificate_without_trusted_ca_is_refused(make_server, user, ca):
    sign(ca)
    s = make_server()
    r = cert_ssh(s, ca)
    assert r.returncode == 255


def test_wrong_principal_refused(make_server, user, ca):
    sign(ca, principals="somebody-else")
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    r = cert_ssh(s, ca)
    assert r.returncode == 255
    assert s.wait_log(f'Certificate invalid: name is not a listed principal')


def test_expired_certificate_refused(make_server, user, ca):
    sign(ca, extra=["-V", "20000101:20010101"])
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    r = cert_ssh(s, ca)
    assert r.returncode == 255
    assert s.wait_log("Certificate invalid: expired")


def test_source_address_refused(make_server, user, ca):
    sign(ca, extra=["-O", "source-address=10.9.9.0/24"])
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    r = cert_ssh(s, ca)
    assert r.returncode == 255
    assert s.wait_log("not from a permitted source address (127.0.0.1)")
    assert s.wait_log("Refused by certificate options")


def test_force_command_and_no_pty(make_server, user, ca):
    sign(ca, extra=["-O", "force-command=echo forced"])
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    r = cert_ssh(s, ca, command="echo asked")
    assert r.stdout == "forced\n", r.stderr


def test_revoked_certificate_key_refused(make_server, user, ca, tmp_path):
    sign(ca)
    revoked = tmp_path / "revoked"
    revoked.write_text((ca / "id.pub").read_text())
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\nRevokedKeys {revoked}")
    r = cert_ssh(s, ca)
    assert r.returncode == 255
    assert s.wait_log("Authentication key ED25519-CERT SHA256:")
    assert s.wait_log(f"revoked by file {revoked}")


def test_revoked_ca_names_the_certificate(make_server, user, ca, tmp_path):
    sign(ca)
    revoked = tmp_path / "revoked"
    revoked.write_text((ca / "ca.pub").read_text())
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\nRevokedKeys {revoked}")
    assert cert_ssh(s, ca).returncode == 255
    fp = subprocess.run(["ssh-keygen", "-lf", str(ca / "id.pub")],
                        capture_output=True, text=True).stdout.split()[1]
    # As sshd logs it: the certificate (its key's fingerprint), even though the CA is revoked.
    assert s.wait_log(f"Authentication key ED25519-CERT {fp} revoked by file {revoked}")


def test_krl_revokes_serial(make_server, user, ca, tmp_path):
    sign(ca, serial=42)
    spec = tmp_path / "krl.spec"
    spec.write_text("serial: 42\n")
    krl = tmp_path / "krl"
    keygen("-k", "-f", str(krl), "-s", str(ca / "ca.pub"), str(spec))
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\nRevokedKeys {krl}")
    assert cert_ssh(s, ca).returncode == 255
    assert s.wait_log(f"revoked by file {krl}")


def test_revoked_plain_key_and_unreadable_list(make_server, user, keydir, tmp_path):
    revoked = tmp_path / "revoked"
    revoked.write_text((keydir / "id_ed25519.pub").read_text())
    s = make_server(f"RevokedKeys {revoked}")
    assert s.ssh("true").returncode == 255
    assert s.wait_log("Authentication key ED25519 SHA256:")
    assert s.ssh("echo ok", key="id_rsa").stdout == "ok\n"
    s2 = make_server(f"RevokedKeys {tmp_path / 'missing'}")
    assert s2.ssh("true", key="id_rsa").returncode == 255


def test_authorized_principals_file(make_server, user, ca):
    sign(ca, principals="role-admin")
    # Read as the user, with StrictModes: it lives in the user's own ~/.ssh.
    principals = Path(user.pw_dir) / ".ssh" / "authorized_principals"
    principals.write_text("# comment\nrole-admin\n")
    os.chown(principals, user.pw_uid, user.pw_gid)
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\n"
                    f"AuthorizedPrincipalsFile %h/.ssh/authorized_principals")
    try:
        r = cert_ssh(s, ca)
        assert r.stdout == "ok\n", r.stderr + s.log_text()
        principals.write_text("other-role\n")
        r = cert_ssh(s, ca)
        assert r.returncode == 255
        assert s.wait_log("Certificate does not contain an authorized principal")
    finally:
        principals.unlink()


def test_accepted_key_logged_at_verbose_only(make_server, user):
    # sshd looks the key up for the query and again for the signed request: one VERBOSE
    # "Accepted key ... found at" line per lookup, and the lookup's own line only at DEBUG.
    s = make_server()
    assert s.ssh("true").returncode == 0
    assert s.wait_log("Accepted publickey for")
    assert 1 <= s.log_text().count("Accepted key ED25519") <= 2
    assert "matching key found" not in s.log_text()


def test_authorized_keys_cert_authority_with_principals(make_server, user, ca, tmp_path):
    sign(ca, principals="deploy,other", extra=["-O", "no-pty"])
    keys = Path(user.pw_dir) / ".ssh" / "authorized_keys_ca"
    keys.write_text(f'cert-authority,principals="deploy" {(ca / "ca.pub").read_text()}')
    os.chown(keys, user.pw_uid, user.pw_gid)
    s = make_server("AuthorizedKeysFile .ssh/authorized_keys_ca")
    r = cert_ssh(s, ca)
    assert r.stdout == "ok\n", r.stderr + s.log_text()
    assert s.wait_log('Accepted certificate ID "cert-id" (serial 7) signed by ED25519 CA')
    keys.write_text(f'cert-authority,principals="nobody" {(ca / "ca.pub").read_text()}')
    assert cert_ssh(s, ca).returncode == 255
    assert s.wait_log("Certificate does not contain an authorized principal")


@pytest.fixture
def cmd_dir():
    """A root-owned directory under /run for Authorized*Command programs: sshd refuses a program
    whose file or any directory above it is writable by others (so /tmp is no place for one).
    Its "out" subdirectory is writable by all, for the programs (run as nobody) to record their
    arguments."""
    import shutil
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="postern-cmd-", dir="/run"))
    os.chmod(d, 0o755)
    (d / "out").mkdir()
    os.chmod(d / "out", 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def command_script(path, body):
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def test_authorized_keys_command(make_server, user, keydir, cmd_dir):
    keys = cmd_dir / "keys"
    keys.write_text((keydir / "id_other.pub").read_text())
    os.chmod(keys, 0o644)
    args = cmd_dir / "out" / "args"
    script = command_script(cmd_dir / "akc",
                            f'echo "$@" > {args}\n[ "$1" = {TEST_USER} ] && cat {keys}\n')
    s = make_server(f"AuthorizedKeysCommand {script} %u %t %f %%\n"
                    "AuthorizedKeysCommandUser nobody")
    r = s.ssh("echo ok", key="id_other")
    assert r.stdout == "ok\n", r.stderr + s.log_text()
    fp = subprocess.run(["ssh-keygen", "-lf", str(keydir / "id_other.pub")],
                        capture_output=True, text=True).stdout.split()[1]
    assert args.read_text() == f"{TEST_USER} ssh-ed25519 {fp} %\n"
    assert args.stat().st_uid == 65534


def test_authorized_keys_command_without_arguments_gets_the_user(make_server, user, keydir,
                                                                 cmd_dir):
    # sshd_config(5): with no arguments the program gets the user name; %C is the four
    # connection values as one argument; the environment is sshd's minimal one.
    keys = cmd_dir / "keys"
    keys.write_text((keydir / "id_other.pub").read_text())
    os.chmod(keys, 0o644)
    args = cmd_dir / "out" / "args"
    script = command_script(cmd_dir / "akc",
                            f'{{ echo "$#:$1"; echo "PATH=$PATH"; }} > {args}\n'
                            f'[ "$1" = {TEST_USER} ] && cat {keys}\n')
    s = make_server(f"AuthorizedKeysCommand {script}\nAuthorizedKeysCommandUser nobody")
    r = s.ssh("echo ok", key="id_other")
    assert r.stdout == "ok\n", r.stderr + s.log_text()
    assert args.read_text() == f"1:{TEST_USER}\nPATH=/usr/bin:/bin:/usr/sbin:/sbin\n"

    script2 = command_script(cmd_dir / "akc2",
                             f'echo "$#:$1:$2" > {args}\ncat {keys}\n')
    s2 = make_server(f"AuthorizedKeysCommand {script2} %C %D\nAuthorizedKeysCommandUser nobody")
    assert s2.ssh("echo ok", key="id_other").stdout == "ok\n", s2.log_text()
    assert re.fullmatch(rf"2:127\.0\.0\.1 \d+ 127\.0\.0\.1 {s2.port}:\n", args.read_text())


def test_unsafe_authorized_keys_command_is_not_run(make_server, user, keydir, cmd_dir):
    ran = cmd_dir / "out" / "ran"
    script = command_script(cmd_dir / "out" / "akc",
                            f"touch {ran}\ncat {keydir / 'id_other.pub'}\n")
    s = make_server(f"AuthorizedKeysCommand {script}\nAuthorizedKeysCommandUser nobody")
    assert s.ssh("true", key="id_other").returncode == 255
    assert s.wait_log(f'Unsafe AuthorizedKeysCommand "{script}": bad ownership or modes for '
                      f'directory {cmd_dir / "out"}')
    assert not ran.exists()


def test_authorized_principals_command(make_server, user, ca, cmd_dir):
    # Tokens are expanded per argument: a key ID with spaces stays one argument.
    sign(ca, principals="ops", ident="Joanne User")
    args = cmd_dir / "out" / "args"
    script = command_script(cmd_dir / "apc",
                            f'for a in "$@"; do echo "[$a]"; done > {args}\n'
                            f'[ "$1" = {TEST_USER} ] && [ "$2" = 7 ] && echo ops\n')
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\n"
                    f"AuthorizedPrincipalsCommand {script} %u %s %i %T %t\n"
                    "AuthorizedPrincipalsCommandUser nobody")
    r = cert_ssh(s, ca)
    assert r.stdout == "ok\n", r.stderr + s.log_text()
    assert args.read_text() == (f"[{TEST_USER}]\n[7]\n[Joanne User]\n[ssh-ed25519]\n"
                                "[ssh-ed25519-cert-v01@openssh.com]\n")


def test_principals_command_line_options_apply(make_server, user, ca, cmd_dir):
    sign(ca, principals="ops")
    script = command_script(cmd_dir / "apc", 'echo \'command="echo from-principals" ops\'\n')
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\n"
                    f"AuthorizedPrincipalsCommand {script}\n"
                    "AuthorizedPrincipalsCommandUser nobody")
    r = cert_ssh(s, ca, command="echo asked")
    assert r.stdout == "from-principals\n", r.stderr + s.log_text()


def test_not_yet_valid_certificate_refused(make_server, user, ca):
    sign(ca, extra=["-V", "20300101:20320101"])
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    assert cert_ssh(s, ca).returncode == 255
    assert s.wait_log("Certificate invalid: not yet valid")


def test_dsa_user_certificate_only_when_configured(make_server, user, ca):
    keygen("-t", "dsa", "-N", "", "-f", str(ca / "id_dsa"))
    sign(ca, key="id_dsa")
    client = ["PubkeyAcceptedAlgorithms=+ssh-dss-cert-v01@openssh.com,ssh-dss",
              f"CertificateFile={ca / 'id_dsa'}-cert.pub", "IdentitiesOnly=yes"]
    # OpenSSH's default PubkeyAcceptedAlgorithms leaves DSA out.
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}")
    assert s.ssh("echo ok", key=str(ca / "id_dsa"), options=client).returncode == 255
    s2 = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\n"
                     "PubkeyAcceptedAlgorithms ssh-dss-cert-v01@openssh.com")
    r = s2.ssh("echo ok", key=str(ca / "id_dsa"), options=client)
    assert r.stdout == "ok\n", r.stderr + s2.log_text()
    assert re.search(r"Accepted publickey for \S+ from 127\.0\.0\.1 port \d+ ssh2: DSA-CERT "
                     r"SHA256:\S+ ID cert-id \(serial 7\) CA ED25519", s2.log_text())


def test_host_certificate_trusted_via_cert_authority(make_server, user, keydir, tmp_path):
    d = tmp_path / "hostca"
    d.mkdir()
    keygen("-t", "ed25519", "-N", "", "-f", str(d / "hostca"))
    import shutil
    for suffix in ("", ".pub"):
        shutil.copy(keydir / f"host_ed25519{suffix}", d / f"host_ed25519{suffix}")
    keygen("-s", str(d / "hostca"), "-I", "host-id", "-h", "-n", "127.0.0.1",
           str(d / "host_ed25519.pub"))
    s = make_server(f"HostCertificate {d / 'host_ed25519-cert.pub'}")
    kh = tmp_path / "known_hosts_ca"
    kh.write_text(f"@cert-authority * {(d / 'hostca.pub').read_text()}")
    r = s.ssh("echo ok", options=["StrictHostKeyChecking=yes", f"UserKnownHostsFile={kh}",
                                  "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com"])
    assert r.stdout == "ok\n", r.stderr + s.log_text()


# sshd(8): an AuthorizedPrincipalsFile line takes authorized_keys options; from= and
# expiry-time= bind a certificate accepted through it, and the same for the output of
# AuthorizedPrincipalsCommand. Each case: the line's options, whether the login succeeds.
@pytest.mark.parametrize("options,accepted", [('from="10.0.0.0/8"', False),
                                              ('from="127.0.0.1"', True),
                                              ('expiry-time="20000101"', False),
                                              ('expiry-time="20990101"', True)])
@pytest.mark.parametrize("source", ["file", "command"])
def test_principals_line_from_and_expiry_time(make_server, user, ca, cmd_dir, source, options,
                                              accepted):
    sign(ca, principals="ops")
    if source == "file":
        lines = Path(user.pw_dir) / ".ssh" / "authorized_principals"
        lines.write_text(f"{options} ops\n")
        os.chown(lines, user.pw_uid, user.pw_gid)
        config = "AuthorizedPrincipalsFile %h/.ssh/authorized_principals"
    else:
        lines = cmd_dir / "principals"
        lines.write_text(f"{options} ops\n")
        os.chmod(lines, 0o644)
        script = command_script(cmd_dir / "apc", f"cat {lines}\n")
        config = f"AuthorizedPrincipalsCommand {script}\nAuthorizedPrincipalsCommandUser nobody"
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\n{config}")
    try:
        r = cert_ssh(s, ca)
    finally:
        lines.unlink()
    if accepted:
        assert r.stdout == "ok\n", r.stderr + s.log_text()
        return
    assert r.returncode == 255
    assert s.wait_log("Refused by certificate principals options")
    if options.startswith("from="):
        assert (f"principals: Authentication tried for {TEST_USER} with correct key but not from "
                "a permitted host (host=127.0.0.1, ip=127.0.0.1, required=10.0.0.0/8).") \
            in s.log_text()


def test_principals_line_restrictions_reach_the_session(make_server, user, ca, cmd_dir):
    # The other options of a principals line restrict the session as a key's do.
    sign(ca, principals="ops")
    script = command_script(cmd_dir / "apc", f"cat {cmd_dir / 'principals'}\n")
    lines = cmd_dir / "principals"
    lines.write_text('no-pty,permitopen="127.0.0.1:1" ops\n')
    os.chmod(lines, 0o644)
    s = make_server(f"TrustedUserCAKeys {ca / 'ca.pub'}\nAuthorizedPrincipalsCommand {script}\n"
                    "AuthorizedPrincipalsCommandUser nobody")
    cert = f"CertificateFile={ca / 'id'}-cert.pub"
    r = subprocess.run(s.ssh_args(key=str(ca / "id"), options=[cert]) + ["-tt", "tty"],
                       capture_output=True, text=True, timeout=60)
    assert "PTY allocation request failed" in r.stderr and "/dev/pts/" not in r.stdout, r.stderr
    r = subprocess.run(s.ssh_args(key=str(ca / "id"), options=[cert, "LogLevel=INFO"])[:-1]
                       + ["-W", f"127.0.0.1:{s.port}", f"{TEST_USER}@127.0.0.1"],
                       input="", capture_output=True, text=True, timeout=60)
    assert "administratively prohibited" in r.stderr, r.stderr
    lines.write_text('restrict,command="echo forced" ops\n')
    r = cert_ssh(s, ca, command="echo asked")
    assert r.stdout == "forced\n", r.stderr + s.log_text()
