"""SFTP, chroot and scp through postern with the real clients: sftp batch transfers with checksums
through `Subsystem sftp` with our sftp-server binary and with internal-sftp; the OpenSSH cookbook's
`Match Group sftponly` accounts (ChrootDirectory %h or /srv/.../%u, ForceCommand internal-sftp -d,
-u umask, AllowTcpForwarding no) that try to escape and to get a shell; sshd's chroot ownership
checks; scp in both modes (SFTP and legacy -O), recursive, with spaces in names."""

import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD, TEST_USER

SFTP_SERVER = BUILD / "sftp-server" / "sftp-server"
JAIL_USER = "postern-jail"
JAIL_GROUP = "postern-sftponly"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))


def client_opts(server, key="id_ed25519"):
    return ["-F", "/dev/null", "-i", str(server.keydir / key), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={server.dir}/known_hosts", "-o", "LogLevel=ERROR"]


def sftp(server, batch, cwd, user=TEST_USER, check=True):
    p = subprocess.run(["sftp", "-b", "-", "-P", str(server.port), *client_opts(server),
                        f"{user}@127.0.0.1"], input=batch, cwd=cwd, capture_output=True,
                       text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"sftp failed:\n{p.stdout}\n{p.stderr}"
    return p


def scp(server, *args, legacy=False, check=True):
    p = subprocess.run(["scp", "-q", *(["-O"] if legacy else []), "-P", str(server.port),
                        *client_opts(server), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert p.returncode == 0, f"scp failed:\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture
def work(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o777)
    return d


@pytest.fixture
def remote_dir(user):
    """A fresh directory in the test user's home, owned by them."""
    d = Path(tempfile.mkdtemp(prefix="sftp-", dir=user.pw_dir))
    os.chown(d, user.pw_uid, user.pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- the two ways to serve sftp ---------------------------------------------------------

SUBSYSTEMS = {
    "binary": f"Subsystem sftp {SFTP_SERVER} -l INFO",
    "internal": "Subsystem sftp internal-sftp -l INFO",
}


@pytest.mark.parametrize("how", SUBSYSTEMS)
def test_put_get_with_checksums(make_server, user, work, remote_dir, how):
    server = make_server(SUBSYSTEMS[how])
    sizes = {"empty": 0, "small": 1000, "odd": 261121, "big": 24 * 1024 * 1024 + 7}
    for name, size in sizes.items():
        random_file(work / name, size)
    batch = "".join(f"put {n} {remote_dir}/{n}\nget {remote_dir}/{n} {n}.back\n" for n in sizes)
    sftp(server, batch, work)
    for n in sizes:
        assert sha256(work / n) == sha256(remote_dir / n) == sha256(work / f"{n}.back")
        assert (remote_dir / n).stat().st_uid == user.pw_uid
    if how == "binary":
        return  # the binary logs to syslog (sftp-server(8)), not through sshd
    log = server.log_text()
    # The transfer lines OpenSSH's sftp-server writes at INFO, from inside the session too.
    assert f'open "{remote_dir}/big" flags WRITE,CREATE,TRUNCATE' in log
    assert f'close "{remote_dir}/big" bytes read 0 written {sizes["big"]}' in log
    assert f'close "{remote_dir}/big" bytes read {sizes["big"]} written 0' in log
    assert f"session opened for local user {TEST_USER} from [127.0.0.1]" in log


@pytest.mark.parametrize("how", SUBSYSTEMS)
def test_recursive_globs_and_renames(make_server, user, work, remote_dir, how):
    server = make_server(SUBSYSTEMS[how])
    tree = work / "a tree"
    (tree / "sub dir").mkdir(parents=True)
    random_file(tree / "one file", 70000)
    random_file(tree / "sub dir" / "two", 3000)
    sftp(server, f'put -r "{tree}" "{remote_dir}/up copy"\n'
                 f'rename "{remote_dir}/up copy/one file" "{remote_dir}/up copy/renamed"\n'
                 f'get -r "{remote_dir}/up copy" "back copy"\n'
                 f'mkdir {remote_dir}/g\nput "{tree}/sub dir/two" {remote_dir}/g/x1\n'
                 f'put "{tree}/sub dir/two" {remote_dir}/g/x2\nrm {remote_dir}/g/x*\n'
                 f'rmdir {remote_dir}/g\n', work)
    assert sha256(tree / "one file") == sha256(work / "back copy" / "renamed")
    assert sha256(tree / "sub dir" / "two") == sha256(work / "back copy" / "sub dir" / "two")
    assert not (remote_dir / "g").exists()
    if how == "binary":
        return
    log = server.log_text()
    assert f'rename old "{remote_dir}/up copy/one file" new "{remote_dir}/up copy/renamed"' in log
    assert f'remove name "{remote_dir}/g/x1"' in log


def test_internal_sftp_flags(make_server, user, work, remote_dir):
    """-d start directory with %u, -R read-only, -P denied requests, -u umask."""
    (remote_dir / "f").write_text("hello\n")
    os.chown(remote_dir / "f", user.pw_uid, user.pw_gid)
    rel = remote_dir.relative_to(user.pw_dir)
    server = make_server(f"Subsystem sftp internal-sftp -d %d/{rel} -R -P remove")
    p = sftp(server, "pwd\nget f f.copy\n-put /etc/hostname x\n-rm f\n", work)
    assert f"Remote working directory: {remote_dir}" in p.stdout
    assert (work / "f.copy").read_text() == "hello\n"
    assert not (remote_dir / "x").exists() and (remote_dir / "f").exists()
    server.stop()
    server = make_server("Subsystem sftp internal-sftp -u 027")
    random_file(work / "m", 10)
    os.chmod(work / "m", 0o666)
    sftp(server, f"put m {remote_dir}/m\nmkdir {remote_dir}/d\n", work)
    assert stat.S_IMODE((remote_dir / "m").stat().st_mode) == 0o640
    assert stat.S_IMODE((remote_dir / "d").stat().st_mode) == 0o750


def test_exec_internal_sftp_is_only_a_command(make_server, user):
    """internal-sftp is special as a Subsystem or ForceCommand value only: a client's own
    `exec internal-sftp` goes to the shell like any command (sshd does the same)."""
    server = make_server("Subsystem sftp internal-sftp")
    p = server.ssh("internal-sftp -d /", input="")
    assert p.returncode == 127, (p.returncode, p.stdout, p.stderr)


def test_bad_internal_sftp_flags_refuse_the_subsystem(make_server, user, work):
    server = make_server("Subsystem sftp internal-sftp -x")
    p = sftp(server, "pwd\n", work, check=False)
    assert p.returncode != 0
    assert server.wait_log("internal-sftp -x")


# ---- sftp-only accounts in a chroot ------------------------------------------------------

@pytest.fixture
def jail(keydir):
    """The cookbook layout: a root-owned tree outside /tmp (every component of a chroot must be
    root-owned and not writable by others), a `sftponly` group, and a user whose home holds a
    root-owned chroot with an `upload` directory the user owns. Keys live outside the chroot."""
    subprocess.run(["userdel", "-r", JAIL_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["groupdel", JAIL_GROUP], stderr=subprocess.DEVNULL)
    base = Path(tempfile.mkdtemp(prefix="postern-jail-", dir="/srv"))
    os.chmod(base, 0o755)
    home = base / "home" / JAIL_USER
    home.mkdir(parents=True)
    for d in (base / "home", home):
        os.chmod(d, 0o755)
    subprocess.run(["groupadd", JAIL_GROUP], check=True)
    subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/bash", "-p", "*",
                    "-G", JAIL_GROUP, JAIL_USER], check=True)
    pw = pwd.getpwnam(JAIL_USER)
    (home / "upload").mkdir(mode=0o755)
    os.chown(home / "upload", pw.pw_uid, pw.pw_gid)
    keys = base / "keys"
    keys.mkdir(mode=0o755)
    for u in (JAIL_USER, TEST_USER):
        (keys / u).write_text((keydir / "id_ed25519.pub").read_text())
        os.chmod(keys / u, 0o644)
    # Something outside the chroot the user must never see.
    (base / "outside-secret").write_text("secret\n")
    os.chmod(base / "outside-secret", 0o644)
    yield {"base": base, "home": home, "pw": pw}
    subprocess.run(["pkill", "-KILL", "-u", JAIL_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", JAIL_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["groupdel", JAIL_GROUP], stderr=subprocess.DEVNULL)
    shutil.rmtree(base, ignore_errors=True)


def jail_config(jail, chroot="%h", force="internal-sftp -d /upload -u 027 -l INFO"):
    return (f"AuthorizedKeysFile .ssh/authorized_keys {jail['base']}/keys/%u\n"
            f"Subsystem sftp internal-sftp\n"
            f"Match Group {JAIL_GROUP}\n"
            f"  ChrootDirectory {chroot}\n"
            f"  ForceCommand {force}\n"
            f"  AllowTcpForwarding no\n"
            f"  X11Forwarding no\n")


def test_chroot_home_sftponly_cannot_escape(make_server, jail, work):
    server = make_server(jail_config(jail))
    random_file(work / "payload", 300000)
    os.chmod(work / "payload", 0o666)
    batch = "\n".join([
        "pwd",
        "put payload",
        "get payload payload.back",
        "cd ..",
        "pwd",
        "ls -a",
        "cd ../../../..",
        "ls -a /",
        "-get /etc/passwd passwd.leak",
        "-get ../../outside-secret secret.leak",
        "-get ../../../../../../etc/passwd passwd.leak2",
        "symlink /etc/passwd /upload/pw-link",
        "symlink ../../outside-secret /upload/secret-link",
        "-get /upload/pw-link passwd.leak3",
        "-get /upload/secret-link secret.leak2",
        "-put payload /escape",
        "-put payload /../../escape",
        "-ls /etc",
        "-cd /proc",
        "",
    ])
    p = sftp(server, batch, work, user=JAIL_USER)
    out = p.stdout
    # -d /upload inside the chroot; ".." stops at the chroot's root.
    assert "Remote working directory: /upload" in out
    assert out.count("Remote working directory: /\n") == 1, out
    assert sha256(work / "payload") == sha256(jail["home"] / "upload" / "payload")
    assert sha256(work / "payload") == sha256(work / "payload.back")
    # -u 027 applied to the upload.
    assert stat.S_IMODE((jail["home"] / "upload" / "payload").stat().st_mode) == 0o640
    # The listing of "/" is the user's home: only the upload directory.
    listing = out.split("sftp> ls -a /")[1].split("sftp>")[0].split()
    assert sorted(listing) == ["/.", "/..", "/upload"], listing
    for leak in ("passwd.leak", "secret.leak", "passwd.leak2", "passwd.leak3", "secret.leak2"):
        assert not (work / leak).exists(), leak
    assert not (jail["home"] / "escape").exists()
    assert not (jail["base"] / "escape").exists() and not Path("/escape").exists()
    # The symlinks were made, inside the chroot, and point nowhere there.
    assert os.readlink(jail["home"] / "upload" / "pw-link") == "/etc/passwd"
    log = server.log_text()
    assert f'Changed root directory to "{jail["home"]}"' in log
    assert "open \"/upload/payload\" flags WRITE,CREATE,TRUNCATE" in log


def test_chroot_srv_per_user_without_home_inside(make_server, jail, work):
    """ChrootDirectory /srv/.../%u where the passwd home does not exist inside the chroot: the
    session starts in "/" without complaint, and -d is not needed."""
    root = jail["base"] / "sftp"
    (root / JAIL_USER / "files").mkdir(parents=True)
    for d in (root, root / JAIL_USER):
        os.chmod(d, 0o755)
    pw = jail["pw"]
    os.chown(root / JAIL_USER / "files", pw.pw_uid, pw.pw_gid)
    server = make_server(jail_config(jail, chroot=f"{root}/%u", force="internal-sftp"))
    random_file(work / "x", 5000)
    p = sftp(server, "pwd\nls /\nput x /files/x\n-put x /x\n", work, user=JAIL_USER)
    assert "Remote working directory: /\n" in p.stdout
    assert sha256(work / "x") == sha256(root / JAIL_USER / "files" / "x")
    assert not (root / JAIL_USER / "x").exists()  # the chroot itself is root's
    assert "Could not chdir" not in server.log_text()


def test_chroot_with_nested_home_and_split_ownership(make_server, jail, work):
    """ChrootDirectory /srv/.../root, a passwd home /home/<user> that exists inside it: root owns
    the chroot and its home/, the user owns only their own directory, where the session starts."""
    root = jail["base"] / "root"
    inner = root / "home" / JAIL_USER
    inner.mkdir(parents=True)
    for d in (root, root / "home"):
        os.chmod(d, 0o755)
    pw = jail["pw"]
    os.chown(inner, pw.pw_uid, pw.pw_gid)
    subprocess.run(["usermod", "-d", f"/home/{JAIL_USER}", JAIL_USER], check=True)
    server = make_server(jail_config(jail, chroot=str(root), force="internal-sftp -u 077"))
    random_file(work / "n", 4000)
    p = sftp(server, "pwd\nput n\nmkdir sub\n-mkdir /home/other\n", work, user=JAIL_USER)
    assert f"Remote working directory: /home/{JAIL_USER}\n" in p.stdout
    assert sha256(work / "n") == sha256(inner / "n")
    assert stat.S_IMODE((inner / "sub").stat().st_mode) == 0o700
    assert not (root / "home" / "other").exists()


def test_forced_sftp_gives_no_shell_and_no_forwarding(make_server, jail, work):
    server = make_server(jail_config(jail))
    for cmd in (None, "id", "/bin/sh -c id"):
        p = server.ssh(cmd, user=JAIL_USER, input="id\necho escaped\n", options=["RequestTTY=no"])
        assert "uid=" not in p.stdout and "escaped" not in p.stdout, p.stdout
        # sshd's answer to a shell or command under ForceCommand internal-sftp.
        assert p.stdout == "This service allows sftp connections only.\n", p.stdout
        assert p.returncode == 1
    assert server.wait_log("Connection from 127.0.0.1 port ")
    assert ": refusing non-sftp session" in server.log_text()
    # AllowTcpForwarding no: a -W tunnel is refused.
    p = subprocess.run(["ssh", "-p", str(server.port), *client_opts(server), "-W",
                        f"127.0.0.1:{server.port}", f"{JAIL_USER}@127.0.0.1"],
                       input="", capture_output=True, text=True, timeout=30)
    assert "SSH-2.0" not in p.stdout


@pytest.mark.parametrize("bad", ["component", "itself"])
def test_bad_chroot_ownership_is_refused(make_server, jail, work, bad):
    if bad == "component":
        os.chmod(jail["base"] / "home", 0o775)
        expect = f'bad ownership or modes for chroot directory component "{jail["base"]}/home/"'
    else:
        os.chown(jail["home"], jail["pw"].pw_uid, jail["pw"].pw_gid)
        expect = f'bad ownership or modes for chroot directory "{jail["home"]}"'
    server = make_server(jail_config(jail))
    p = sftp(server, "pwd\n", work, user=JAIL_USER, check=False)
    assert p.returncode != 0
    assert "Remote working directory" not in p.stdout
    assert server.wait_log(expect), server.log_text()


# ---- scp, both modes ---------------------------------------------------------------------

@pytest.mark.parametrize("legacy", [False, True], ids=["sftp-mode", "legacy-O"])
def test_scp_recursive_with_spaces(make_server, user, work, remote_dir, legacy):
    server = make_server("Subsystem sftp internal-sftp")
    tree = work / "my tree"
    (tree / "in ner").mkdir(parents=True)
    random_file(tree / "one file", 500000)
    random_file(tree / "in ner" / "two", 3000)
    random_file(work / "single file", 12345)
    target = f"{TEST_USER}@127.0.0.1"
    # Legacy scp hands remote paths to the remote shell (scp(1)): spaces need quoting there.
    # Names inside the recursive copy travel in the protocol and need none.
    # A backslash also satisfies the client's check of the names it gets back (fnmatch(3)).
    q = (lambda path: str(path).replace(" ", "\\ ")) if legacy else (lambda path: str(path))
    scp(server, "-r", str(tree), f"{target}:{q(remote_dir / 'up copy')}", legacy=legacy)
    scp(server, str(work / "single file"), f"{target}:{remote_dir}/", legacy=legacy)
    scp(server, "-r", f"{target}:{q(remote_dir / 'up copy')}", str(work / "down copy"),
        legacy=legacy)
    scp(server, f"{target}:{q(remote_dir / 'single file')}", str(work / "single back"),
        legacy=legacy)
    for rel in ("one file", "in ner/two"):
        assert sha256(tree / rel) == sha256(remote_dir / "up copy" / rel)
        assert sha256(tree / rel) == sha256(work / "down copy" / rel)
    assert sha256(work / "single file") == sha256(remote_dir / "single file")
    assert sha256(work / "single file") == sha256(work / "single back")
    assert (remote_dir / "up copy" / "one file").stat().st_uid == user.pw_uid
    # Copying a directory onto a file is an error in both modes.
    p = scp(server, "-r", str(tree), f"{target}:{q(remote_dir / 'single file')}", legacy=legacy,
            check=False)
    assert p.returncode != 0


def test_scp_into_a_chroot(make_server, jail, work):
    server = make_server(jail_config(jail))
    random_file(work / "f", 77777)
    scp(server, str(work / "f"), f"{JAIL_USER}@127.0.0.1:/upload/f one")
    scp(server, f"{JAIL_USER}@127.0.0.1:f one", str(work / "f back"))
    assert sha256(work / "f") == sha256(jail["home"] / "upload" / "f one")
    assert sha256(work / "f") == sha256(work / "f back")
    # Legacy scp needs a shell to run `scp -t`; the forced internal-sftp is no shell, so the
    # client waits for an answer that never comes (as with OpenSSH's sshd) or fails.
    try:
        p = subprocess.run(["scp", "-q", "-O", "-P", str(server.port), *client_opts(server),
                            str(work / "f"), f"{JAIL_USER}@127.0.0.1:/upload/g"],
                           capture_output=True, text=True, timeout=5)
        assert p.returncode != 0
    except subprocess.TimeoutExpired:
        pass
    assert not (jail["home"] / "upload" / "g").exists()
