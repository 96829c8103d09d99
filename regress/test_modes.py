"""How the connection arrives: inetd mode (-i), debug mode (-d), the command line; UseDNS,
LogVerbose, internal-sftp's log level, a chroot without a home directory."""

import contextlib
import os
import pwd
import subprocess
import time
from pathlib import Path

from conftest import SSHD, TEST_USER


def test_inetd_mode_through_proxycommand(make_server, user, keydir):
    s = make_server(start=False)
    args = s.ssh_args(options=[f"ProxyCommand={SSHD} -i -f {s.config}"])
    r = subprocess.run(args + ["echo via-inetd"], capture_output=True, text=True, timeout=30)
    assert r.stdout == "via-inetd\n", r.stderr


def test_debug_mode_serves_one_connection_with_debug_output(make_server, user):
    s = make_server(start=False)
    s.args = ["-d"]
    s.proc = None
    p = subprocess.Popen([str(SSHD), "-d", "-f", str(s.config)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        from conftest import wait_for_port
        assert wait_for_port(s.port, p)
        r = s.ssh("echo debug-ok")
        assert r.stdout == "debug-ok\n", r.stderr
        out, _ = p.communicate(timeout=20)  # exits after the one connection
    finally:
        if p.poll() is None:
            p.kill()
    assert "debug1:" in out
    assert f"Accepted publickey for {TEST_USER} from 127.0.0.1" in out


def test_config_test_mode_refuses_bad_option(tmp_path):
    cfg = tmp_path / "bad_config"
    cfg.write_text("Port 2222\nNoSuchKeyword yes\n")
    r = subprocess.run([str(SSHD), "-t", "-f", str(cfg)], capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{cfg}: line 2: Bad configuration option: NoSuchKeyword" in r.stderr


# ---- UseDNS (sshd_config(5)) ----------------------------------------------------------------

DNS_NAME = f"postern-dns-{os.getpid()}.test"
DNS_ADDR = "127.0.0.3"


@contextlib.contextmanager
def hosts_entry(address, name):
    """A line in /etc/hosts for the test's duration; removed again whatever happens."""
    line = f"{address} {name}  # postern test {os.getpid()}\n"
    with open("/etc/hosts", "a") as f:
        f.write(line)
    try:
        yield
    finally:
        text = Path("/etc/hosts").read_text()
        Path("/etc/hosts").write_text(text.replace(line, ""))


def named_config(use_dns):
    return (f"UseDNS {use_dns}\n"
            f"Match Host {DNS_NAME}\n"
            "  ForceCommand echo matched-by-name\n")


def test_usedns_yes_match_host_sees_the_verified_name(make_server, user):
    with hosts_entry(DNS_ADDR, DNS_NAME.upper()):  # the name is lower-cased, as sshd does
        srv = make_server(named_config("yes"))
        r = srv.ssh("echo plain", extra=("-b", DNS_ADDR))
        assert r.stdout == "matched-by-name\n", r.stderr + srv.log_text()
        # The log still names the address.
        assert srv.wait_log(f"Accepted publickey for {TEST_USER} from {DNS_ADDR} port")
        # Another address has no such name.
        r = srv.ssh("echo plain", extra=("-b", "127.0.0.2"))
        assert r.stdout == "plain\n", r.stderr


def test_usedns_no_match_host_sees_the_address(make_server, user):
    with hosts_entry(DNS_ADDR, DNS_NAME):
        srv = make_server(named_config("no"))
        r = srv.ssh("echo plain", extra=("-b", DNS_ADDR))
        assert r.stdout == "plain\n", r.stderr


def test_usedns_no_name_falls_back_to_the_address(make_server, user):
    # Without a hosts entry there is no name: Match Host on the address still works.
    srv = make_server(f"UseDNS yes\nMatch Host {DNS_ADDR}\n  ForceCommand echo matched-by-addr\n")
    r = srv.ssh("echo plain", extra=("-b", DNS_ADDR))
    assert r.stdout == "matched-by-addr\n", r.stderr


def test_usedns_from_pattern_in_authorized_keys(make_server, user, keydir):
    pw = pwd.getpwnam(TEST_USER)
    ak = Path(pw.pw_dir) / ".ssh" / "authorized_keys_dns"
    ak.write_text(f'from="{DNS_NAME}" ' + (keydir / "id_other.pub").read_text())
    os.chown(ak, pw.pw_uid, pw.pw_gid)
    os.chmod(ak, 0o600)
    try:
        with hosts_entry(DNS_ADDR, DNS_NAME):
            for use_dns, works in (("yes", True), ("no", False)):
                srv = make_server(f"UseDNS {use_dns}\nAuthorizedKeysFile .ssh/authorized_keys_dns\n")
                r = srv.ssh("echo from-ok", key="id_other", extra=("-b", DNS_ADDR))
                assert (r.stdout == "from-ok\n") == works, (use_dns, r.stderr)
                srv.stop()
            # From an address without the name the pattern refuses even with UseDNS yes.
            srv = make_server("UseDNS yes\nAuthorizedKeysFile .ssh/authorized_keys_dns\n")
            r = srv.ssh("echo from-ok", key="id_other", extra=("-b", "127.0.0.2"))
            assert r.returncode == 255
    finally:
        ak.unlink()


# ---- LogVerbose (common/config/log_verbose.cpp) ------------------------------------------------


def test_log_verbose_patterns_enable_debug_lines_by_source_place(make_server, user):
    # At LogLevel VERBOSE no debug line is logged, except those whose FILE:FUNCTION():LINE tag a
    # LogVerbose pattern matches: a whole file of the monitor, and one function of the net child
    # (whose lines travel to the monitor with " [preauth]").
    srv = make_server("LogVerbose nosuch.cpp:*,session_main.cpp:* *:userauth_request():*\n")
    r = srv.ssh("echo hi")
    assert r.stdout == "hi\n", r.stderr
    assert srv.wait_log("debug1: User child is on pid")
    assert srv.wait_log(f"debug1: userauth-request for user {TEST_USER} service ssh-connection "
                        "method none [preauth]")
    log = srv.log_text()
    # Lines from other places stay out.
    assert "debug1: kex: algorithm" not in log
    assert "debug1: SSH2_MSG_KEXINIT sent" not in log


def test_log_verbose_none_and_nonmatching_patterns_add_nothing(make_server, user):
    srv = make_server("LogVerbose nosuchfile.cpp:*:*\n")
    r = srv.ssh("echo hi")
    assert r.stdout == "hi\n", r.stderr
    assert srv.wait_log("Accepted publickey")
    assert "debug1:" not in srv.log_text()


# ---- internal-sftp's own log level and facility (session/sftp_channel.h) -----------------------


def sftp_batch(srv, commands):
    args = ["sftp", "-b", "-", "-F", "/dev/null", "-P", str(srv.port), "-i", str(srv.keydir / "id_ed25519"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={srv.dir}/known_hosts", f"{TEST_USER}@127.0.0.1"]
    return subprocess.run(args, input=commands, capture_output=True, text=True, timeout=60)


def test_internal_sftp_level_above_sshds_is_logged(make_server, user):
    # sshd logs at VERBOSE; internal-sftp -l DEBUG1 makes the SFTP server's debug lines reach the
    # log through the monitor, and only those: the session's own debug lines stay out.
    srv = make_server("Subsystem sftp internal-sftp -l DEBUG1 -f LOCAL3\n")
    r = sftp_batch(srv, "ls /\n")
    assert r.returncode == 0, r.stderr
    assert srv.wait_log('debug1: readdir "/"')
    assert srv.wait_log(f"session opened for local user {TEST_USER}")
    assert "debug1: User child is on pid" not in srv.log_text()


def test_internal_sftp_default_level_is_error(make_server, user):
    srv = make_server("Subsystem sftp internal-sftp\n")
    r = sftp_batch(srv, "ls /\n")
    assert r.returncode == 0, r.stderr
    assert srv.wait_log("Accepted publickey")
    time.sleep(0.5)
    assert "session opened for local user" not in srv.log_text()


def test_chroot_without_home_is_silent_like_sshd(make_server, user, tmp_path):
    # OpenSSH's sshd (checked with Debian's 9.2) says nothing when the home directory is missing
    # inside ChrootDirectory; the session starts in "/". The jail holds no shell, so the command
    # fails — with the shell's error only.
    jail = Path(f"/srv/postern-jail-{os.getpid()}")
    jail.mkdir(mode=0o755, exist_ok=True)
    os.chmod(jail, 0o755)
    try:
        srv = make_server(f"ChrootDirectory {jail}\n")
        r = srv.ssh("echo hi")
        assert r.returncode != 0
        assert "Could not chdir" not in r.stderr, r.stderr
        assert srv.wait_log("Accepted publickey")
    finally:
        jail.rmdir()
