"""Hostbased authentication (RFC 4252 §9) with the stock OpenSSH client and our ssh-keysign.

Everything that would change the system happens inside a private mount namespace that only
these tests' processes enter: a tmpfs over /etc/ssh holds the client host's keys, ssh_config
(EnableSSHKeysign yes), ssh_known_hosts and shosts.equiv, and our ssh-keysign (set-uid copy) is
bind-mounted over /usr/lib/openssh/ssh-keysign, where Debian's ssh looks for it. When the
namespace's last process exits the mounts vanish; the real files are never touched.
The client connects to 127.0.0.1, so it names itself "localhost." in its requests."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD, SSHD, TEST_USER, Server

KEYSIGN = BUILD / "keysign" / "ssh-keysign"
CLIENT_KEYSIGN_PATH = "/usr/lib/openssh/ssh-keysign"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter")
    or not os.path.exists(CLIENT_KEYSIGN_PATH),
    reason="needs root, unshare/nsenter and Debian's ssh client layout")


def build_sysconfdir():
    m = re.search(r'#define POSTERN_SYSCONFDIR "([^"]*)"',
                  (BUILD / "postern_config.h").read_text())
    return m.group(1) if m else None


class Namespace:
    """A private mount namespace held open by a sleeping process; commands enter it with
    nsenter."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                        "sleep", "3600"])
        self.prefix = ["nsenter", f"--mount=/proc/{self.holder.pid}/ns/mnt", "--"]
        # unshare needs a moment to exec sleep inside the new namespace.
        for _ in range(100):
            if os.readlink(f"/proc/{self.holder.pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"):
                break
            subprocess.run(["sleep", "0.02"])
        else:
            raise RuntimeError("unshare did not create a mount namespace")

    def run(self, args, **kw):
        return subprocess.run(self.prefix + list(args), **kw)

    def close(self):
        self.holder.kill()
        self.holder.wait()


@pytest.fixture(scope="module")
def client_host(tmp_path_factory):
    """The client host's keys (ed25519 with a host certificate, rsa), a CA, and our ssh-keysign
    as a set-uid root copy."""
    d = tmp_path_factory.mktemp("hostbased")
    os.chmod(d, 0o755)
    etc = d / "etc"
    etc.mkdir()
    for t, extra in (("ed25519", []), ("rsa", ["-b", "3072"])):
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", t, "-C", f"client {t}",
                        "-f", str(etc / f"ssh_host_{t}_key")] + extra, check=True)
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(d / "ca")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(d / "certified")],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-s", str(d / "ca"), "-I", "client-host-cert", "-h",
                    "-n", "localhost", str(d / "certified.pub")], check=True)
    (etc / "ssh_config").write_text("EnableSSHKeysign yes\n")
    keysign = d / "ssh-keysign"
    shutil.copy(KEYSIGN, keysign)
    os.chown(keysign, 0, 0)
    os.chmod(keysign, 0o4755)
    yield d


@pytest.fixture
def ns(client_host, user):
    n = Namespace()
    try:
        etc = client_host / "etc"
        n.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/etc/ssh"], check=True)
        n.run(["sh", "-c", f"cp -a {etc}/. /etc/ssh/"], check=True)
        n.run(["mount", "--bind", str(client_host / "ssh-keysign"), CLIENT_KEYSIGN_PATH],
              check=True)
        # Our sshd and ssh-keysign read the build's configuration directory (POSTERN_SYSCONFDIR,
        # /usr/local/etc/ssh with meson's default prefix): the same files appear there.
        sysconf = build_sysconfdir()
        if sysconf and sysconf != "/etc/ssh":
            if not os.path.isdir(sysconf):
                n.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs",
                       os.path.dirname(sysconf)], check=True)
                n.run(["mkdir", sysconf], check=True)
            n.run(["mount", "--bind", "/etc/ssh", sysconf], check=True)
        # The test user's home: .shosts and .ssh/known_hosts live in a tmpfs too, so each test
        # starts clean and nothing is left in the real home directory.
        home = user.pw_dir
        n.run(["mount", "-t", "tmpfs", "-o", f"mode=755,uid={user.pw_uid},gid={user.pw_gid}",
               "tmpfs", home], check=True)
        n.run(["install", "-d", "-m", "700", "-o", str(user.pw_uid), "-g", str(user.pw_gid),
               f"{home}/.ssh"], check=True)
        yield n
    finally:
        n.close()


class HostbasedSetup:
    def __init__(self, ns, client_host, user, keydir, tmp_path):
        self.ns = ns
        self.client = client_host
        self.user = user
        self.keydir = keydir
        self.tmp = tmp_path
        self.servers = []

    def write(self, path, text, owner=None, mode=0o644):
        args = ["sh", "-c", 'cat > "$0" && chmod "$1" "$0"', path, oct(mode)[2:]]
        self.ns.run(args, input=text, text=True, check=True)
        if owner is not None:
            self.ns.run(["chown", f"{owner.pw_uid}:{owner.pw_gid}", path], check=True)

    def key_line(self, t="ed25519"):
        return (self.client / "etc" / f"ssh_host_{t}_key.pub").read_text().split(" ")[:2]

    def known(self, names="localhost", types=("ed25519", "rsa"), marker=""):
        return "".join(f"{marker}{names} {' '.join(self.key_line(t))}\n" for t in types)

    def shosts(self, text):
        self.write(f"{self.user.pw_dir}/.shosts", text, owner=self.user, mode=0o600)

    def server(self, extra=""):
        d = self.tmp / f"server{len(self.servers)}"
        d.mkdir()
        s = Server(self.keydir, d,
                   "HostbasedAuthentication yes\nPubkeyAuthentication no\n"
                   "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                   "UsePAM no\n" + extra)
        s.logf = open(s.log, "ab")
        s.proc = subprocess.Popen(self.ns.prefix + [str(SSHD), "-D", "-e", "-f", str(s.config)],
                                  stdout=s.logf, stderr=subprocess.STDOUT)
        from conftest import wait_for_port
        if not wait_for_port(s.port, s.proc):
            s.stop()
            raise RuntimeError("server did not start:\n" + s.log_text())
        self.servers.append(s)
        return s

    def ssh(self, server, command="echo hostbased-ok", as_user=None, options=()):
        args = ["ssh", "-F", "/dev/null", "-p", str(server.port),
                "-o", "HostbasedAuthentication=yes", "-o", "EnableSSHKeysign=yes",
                "-o", "PreferredAuthentications=hostbased", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR"]
        for o in options:
            args += ["-o", o]
        args += [f"{TEST_USER}@127.0.0.1", command]
        if as_user is not None:
            args = ["setpriv", f"--reuid={as_user.pw_uid}", f"--regid={as_user.pw_gid}",
                    "--init-groups", "--"] + args
        return self.ns.run(args, capture_output=True, text=True, timeout=60)

    def stop(self):
        for s in self.servers:
            s.stop()


@pytest.fixture
def hb(ns, client_host, user, keydir, tmp_path):
    h = HostbasedSetup(ns, client_host, user, keydir, tmp_path)
    yield h
    h.stop()


def fingerprint(path):
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def test_user_shosts_and_system_known_hosts(hb, client_host):
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n")
    r = hb.ssh(s)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert r.stdout.strip() == "hostbased-ok"
    fp = fingerprint(client_host / "etc" / "ssh_host_ed25519_key.pub")
    assert s.wait_log(f"Accepted ED25519 public key {fp} from root@localhost")
    assert re.search(rf"Accepted hostbased for {TEST_USER} from 127\.0\.0\.1 port \d+ ssh2: "
                     rf"ED25519 {re.escape(fp)}", s.log_text())


def test_system_shosts_equiv_for_the_same_user(hb, user):
    # IgnoreRhosts yes (the default) still honours shosts.equiv; the client runs as the user.
    hb.write("/etc/ssh/shosts.equiv", "localhost\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("HostbasedUsesNameFromPacketOnly yes\n")
    r = hb.ssh(s, as_user=user)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert r.stdout.strip() == "hostbased-ok"
    assert s.wait_log(f"Accepted hostbased for {TEST_USER}")


def test_ignore_rhosts_refuses_user_shosts(hb):
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("HostbasedUsesNameFromPacketOnly yes\nLogLevel DEBUG2\n")
    r = hb.ssh(s)
    assert r.returncode == 255
    assert "Permission denied (hostbased)" in r.stderr
    assert s.wait_log(f'Failed hostbased for {TEST_USER} from 127.0.0.1')
    assert 'client user "root", client host "localhost"' in s.log_text()
    assert "Accepted hostbased" not in s.log_text()


def test_unknown_host_key_is_refused(hb):
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known(names="otherhost"))
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n")
    r = hb.ssh(s)
    assert r.returncode == 255 and "Permission denied" in r.stderr
    assert s.wait_log("Failed hostbased for")
    assert "Accepted hostbased" not in s.log_text()


def test_client_user_not_in_shosts_is_refused(hb):
    hb.shosts("localhost someoneelse\notherhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n")
    r = hb.ssh(s)
    assert r.returncode == 255 and "Permission denied" in r.stderr
    assert s.wait_log('client user "root", client host "localhost"')
    assert "Accepted hostbased" not in s.log_text()


def test_name_must_resolve_without_packet_name_option(hb):
    # HostbasedUsesNameFromPacketOnly no (the default): the peer's address decides (UseDNS no:
    # the address itself), not the name the client sent.
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("IgnoreRhosts no\n")
    r = hb.ssh(s)
    assert r.returncode == 255
    assert s.wait_log("userauth_hostbased mismatch: client sends localhost, but we resolve "
                      "127.0.0.1 to 127.0.0.1")
    assert "Accepted hostbased" not in s.log_text()
    # Listed by address, it is accepted.
    hb.shosts("127.0.0.1 root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known(names="127.0.0.1"))
    r = hb.ssh(s)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert s.wait_log(f"Accepted hostbased for {TEST_USER}")


def test_user_known_hosts_and_ignore_user_known_hosts(hb):
    hb.shosts("localhost root\n")
    hb.write(f"{hb.user.pw_dir}/.ssh/known_hosts", hb.known(), owner=hb.user, mode=0o600)
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n")
    assert hb.ssh(s).returncode == 0
    s2 = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n"
                   "IgnoreUserKnownHosts yes\n")
    r = hb.ssh(s2)
    assert r.returncode == 255
    assert "Accepted hostbased" not in s2.log_text()


def test_revoked_host_key_is_refused(hb):
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known() + hb.known(names="*", marker="@revoked "))
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n")
    r = hb.ssh(s)
    assert r.returncode == 255
    assert s.wait_log("revoked by ")
    assert re.search(r"Authentication key ED25519 SHA256:\S+ revoked by \S*/ssh_known_hosts:3",
                     s.log_text())
    assert "Accepted hostbased" not in s.log_text()


def test_accepted_algorithms_limit_the_host_key(hb):
    hb.shosts("localhost root\n")
    hb.write("/etc/ssh/ssh_known_hosts", hb.known())
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n"
                  "HostbasedAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256\n")
    r = hb.ssh(s)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert s.wait_log(f"Accepted hostbased for {TEST_USER}")
    assert re.search(r"Accepted hostbased for .* ssh2: RSA SHA256:", s.log_text())
    # Only RSA is known: with RSA refused too, nothing is left.
    hb.write("/etc/ssh/ssh_known_hosts", hb.known(types=("rsa",)))
    s2 = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n"
                   "HostbasedAcceptedAlgorithms ssh-ed25519\n")
    assert hb.ssh(s2).returncode == 255
    assert "Accepted hostbased" not in s2.log_text()


def test_host_certificate_through_cert_authority(hb, client_host):
    # The client host's ed25519 key is replaced by one with a host certificate for "localhost".
    hb.ns.run(["cp", str(client_host / "certified"), "/etc/ssh/ssh_host_ed25519_key"], check=True)
    hb.ns.run(["cp", str(client_host / "certified.pub"), "/etc/ssh/ssh_host_ed25519_key.pub"],
              check=True)
    hb.ns.run(["cp", str(client_host / "certified-cert.pub"),
               "/etc/ssh/ssh_host_ed25519_key-cert.pub"], check=True)
    hb.shosts("localhost root\n")
    ca = " ".join((client_host / "ca.pub").read_text().split(" ")[:2])
    hb.write("/etc/ssh/ssh_known_hosts", f"@cert-authority localhost {ca}\n")
    s = hb.server("IgnoreRhosts no\nHostbasedUsesNameFromPacketOnly yes\n"
                  "HostbasedAcceptedAlgorithms ssh-ed25519-cert-v01@openssh.com\n")
    r = hb.ssh(s)
    assert r.returncode == 0, r.stderr + s.log_text()
    assert s.wait_log('Accepted certificate ID "client-host-cert" signed by ED25519 CA')
    assert s.wait_log(f"Accepted hostbased for {TEST_USER}")
    # A CA trusted only for other names does not vouch for "localhost".
    hb.write("/etc/ssh/ssh_known_hosts", f"@cert-authority *.example.com {ca}\n")
    r = hb.ssh(s)
    assert r.returncode == 255
