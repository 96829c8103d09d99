"""postern's sftp-server driven by the real OpenSSH sftp client over pipes (`sftp -D`, no ssh and
no sshd involved), plus raw protocol abuse through the same pipes. Checks transfers with
checksums, listings and globbing, the file operations, the flags sftp-server(8) documents and
the INFO log lines OpenSSH's sftp-server writes."""

import hashlib
import os
import pwd
import shutil
import stat
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD

SFTP_SERVER = BUILD / "sftp-server" / "sftp-server"
OPENSSH_SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")

pytestmark = pytest.mark.skipif(not SFTP_SERVER.exists(), reason=f"{SFTP_SERVER} not built")


@pytest.fixture
def work(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o777)
    return d


def sftp(batch, cwd, server_args=(), server=SFTP_SERVER, extra=(), check=True, env=None,
         prefix=()):
    """Runs `sftp -b -` with the given batch, the server started directly by the client."""
    cmd = " ".join(list(prefix) + [str(server)] + list(server_args))
    p = subprocess.run(["sftp", "-b", "-", *extra, "-D", cmd], input=batch, cwd=cwd,
                       capture_output=True, text=True, timeout=300, env=env)
    if check:
        assert p.returncode == 0, f"sftp failed:\n{p.stdout}\n{p.stderr}"
    return p


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


# ---- transfers -------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 32768, 261120, 261121, 16 * 1024 * 1024 + 17])
def test_put_get_checksums(work, size):
    random_file(work / "src", size)
    sftp(f"put src up\nget up down\n", work)
    assert sha256(work / "src") == sha256(work / "up") == sha256(work / "down")


@pytest.mark.parametrize("buffer,requests", [("5", "1"), ("32000", "2"), ("200000", "64")])
def test_buffer_sizes_and_pipelining(work, buffer, requests):
    random_file(work / "src", 3 * 1024 * 1024 + 5)
    sftp("put src up\nget up down\n", work, extra=["-B", buffer, "-R", requests])
    assert sha256(work / "src") == sha256(work / "up") == sha256(work / "down")


def test_resume_get_and_put(work):
    random_file(work / "src", 5 * 1024 * 1024)
    data = (work / "src").read_bytes()
    (work / "partial-down").write_bytes(data[:1234567])
    (work / "partial-up").write_bytes(data[:777777])
    sftp("reget src partial-down\nreput src partial-up\n", work)
    assert (work / "partial-down").read_bytes() == data
    assert (work / "partial-up").read_bytes() == data


def test_recursive_put_get_with_spaces(work):
    tree = work / "tree one"
    (tree / "sub dir").mkdir(parents=True)
    random_file(tree / "a file", 100000)
    random_file(tree / "sub dir" / "b", 5000)
    sftp('put -r "tree one" "copy"\nget -r copy "back again"\n', work)
    for rel in ("a file", "sub dir/b"):
        assert sha256(tree / rel) == sha256(work / "copy" / rel)
        assert sha256(tree / rel) == sha256(work / "back again" / rel)


def test_preserve_mode_and_times(work):
    random_file(work / "src", 1000)
    os.chmod(work / "src", 0o640)
    os.utime(work / "src", (1000000000, 1100000000))
    sftp("put -p src up\nget -p up down\n", work)
    for name in ("up", "down"):
        st = os.stat(work / name)
        assert stat.S_IMODE(st.st_mode) == 0o640
        assert int(st.st_mtime) == 1100000000


def test_scp_sftp_mode_recursive_with_spaces(work):
    """scp's default (SFTP) mode, the server run directly with scp -D."""
    tree = work / "a tree"
    (tree / "in ner").mkdir(parents=True)
    random_file(tree / "one file", 200000)
    random_file(tree / "in ner" / "two", 3000)
    for args in (["-r", str(tree), f"somehost:{work}/up copy"],
                 ["-r", f"somehost:{work}/up copy", str(work / "down copy")]):
        p = subprocess.run(["scp", "-q", "-s", "-D", str(SFTP_SERVER), *args],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    for rel in ("one file", "in ner/two"):
        assert sha256(tree / rel) == sha256(work / "up copy" / rel) == \
            sha256(work / "down copy" / rel)


# ---- listings and file operations -----------------------------------------------------

def test_ls_and_glob(work):
    for name in ("alpha.txt", "beta.txt", "gamma.bin", "with space.txt"):
        (work / name).write_text(name)
    (work / "dir").mkdir()
    out = sftp("ls -1 *.txt\nls -l g*\nls -la\n", work).stdout
    lines = out.splitlines()
    assert "alpha.txt" in lines and "beta.txt" in lines and "with space.txt" in lines
    assert "gamma.bin" not in lines
    assert any(l.startswith("-rw") and l.endswith("gamma.bin") for l in lines)
    assert any(l.startswith("d") and l.endswith("dir") for l in lines)
    assert any(l.endswith(" .") for l in lines) and any(l.endswith(" ..") for l in lines)


def test_listing_matches_openssh(work):
    for i in range(150):
        (work / f"f{i:03}").write_text("x" * i)
    os.symlink("f001", work / "link")
    ours = sftp("ls -la\nls -ln\nls -lS\n", work).stdout
    theirs = sftp("ls -la\nls -ln\nls -lS\n", work, server=OPENSSH_SFTP_SERVER).stdout
    assert ours == theirs


def test_mkdir_rmdir_rm(work):
    sftp("mkdir d\nmkdir d/e\n", work)
    assert (work / "d" / "e").is_dir()
    p = sftp("rmdir d\n", work, check=False)
    assert p.returncode != 0 and (work / "d").is_dir()
    (work / "d" / "e" / "f").write_text("x")
    sftp("rm d/e/f\nrmdir d/e\nrmdir d\n", work)
    assert not (work / "d").exists()


def test_rename_posix_and_legacy(work):
    (work / "a").write_text("A")
    (work / "b").write_text("B")
    sftp("rename a c\n", work)
    assert (work / "c").read_text() == "A" and not (work / "a").exists()
    # The legacy SSH_FXP_RENAME refuses to replace; posix-rename@openssh.com replaces.
    p = sftp("rename -l c b\n", work, check=False)
    assert p.returncode != 0 and (work / "b").read_text() == "B"
    sftp("rename c b\n", work)
    assert (work / "b").read_text() == "A"


def test_symlink_hardlink(work):
    (work / "t").write_text("T")
    sftp("ln -s t sym\nln t hard\n", work)
    assert os.readlink(work / "sym") == "t"
    assert os.stat(work / "hard").st_ino == os.stat(work / "t").st_ino
    out = sftp("ls -l sym\n", work).stdout
    assert "sym" in out


def test_chmod_chown(work):
    (work / "f").write_text("x")
    sftp("chmod 600 f\nchown 0 f\nchgrp 0 f\n", work)
    assert stat.S_IMODE(os.stat(work / "f").st_mode) == 0o600


def test_df_statvfs(work):
    out = sftp("df\ndf -h\ndf -i\n", work).stdout
    assert "Size" in out and "Inodes" in out and "%Capacity" in out


def test_cd_pwd_and_missing_paths(work):
    (work / "sub").mkdir()
    out = sftp(f"cd sub\npwd\n-cd /nonexistent-dir\n-get nonexistent-file\n", work).stdout
    assert f"Remote working directory: {work}/sub" in out
    p = sftp("get nonexistent-file\n", work, check=False)
    assert p.returncode != 0 and "not found" in p.stderr


# ---- flags --------------------------------------------------------------------------------

def test_read_only_refuses_changes(work):
    (work / "f").write_text("content")
    (work / "d").mkdir()
    for cmd in ("put f g", "mkdir x", "rmdir d", "rm f", "rename f g", "rename -l f g",
                "ln -s f s", "ln f h", "chmod 600 f"):
        p = sftp(cmd + "\n", work, server_args=["-R"], check=False)
        assert p.returncode != 0, cmd
    assert sorted(os.listdir(work)) == ["d", "f"]
    assert stat.S_IMODE(os.stat(work / "f").st_mode) != 0o600
    sftp("get f copy\nls\ndf\n", work, server_args=["-R"])
    assert (work / "copy").read_text() == "content"


def test_denied_and_allowed_requests(work):
    p = sftp("mkdir x\n", work, server_args=["-P", "mkdir"], check=False)
    assert p.returncode != 0 and not (work / "x").exists()
    sftp("mkdir y\n", work, server_args=["-p", "realpath,stat,lstat,mkdir"])
    assert (work / "y").is_dir()
    p = sftp("rmdir y\n", work, server_args=["-p", "realpath,stat,lstat,mkdir"], check=False)
    assert p.returncode != 0 and (work / "y").is_dir()
    # The denied list is applied before the allowed list.
    p = sftp("mkdir z\n", work, server_args=["-p", "realpath,stat,lstat,mkdir", "-P", "mkdir"],
             check=False)
    assert p.returncode != 0 and not (work / "z").exists()


def test_start_directory_tokens(work):
    user = pwd.getpwuid(os.getuid())
    target = work / f"start-{user.pw_name}"
    target.mkdir()
    out = sftp("pwd\n", "/", server_args=["-d", f"{work}/start-%u"]).stdout
    assert f"Remote working directory: {target}" in out
    out = sftp("pwd\n", "/", server_args=["-d", "%d"]).stdout
    assert f"Remote working directory: {os.path.realpath(user.pw_dir)}" in out


def test_umask(work):
    (work / "src").write_text("x")
    os.chmod(work / "src", 0o666)
    sftp("put src up\nmkdir d\n", work, server_args=["-u", "077"])
    assert stat.S_IMODE(os.stat(work / "up").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(work / "d").st_mode) == 0o700


def test_query_requests_matches_openssh():
    ours = subprocess.run([SFTP_SERVER, "-Q", "requests"], capture_output=True, text=True)
    theirs = subprocess.run([OPENSSH_SFTP_SERVER, "-Q", "requests"], capture_output=True,
                            text=True)
    assert ours.returncode == 0
    assert ours.stdout.split() == theirs.stdout.split()
    bad = subprocess.run([SFTP_SERVER, "-Q", "nonsense"], capture_output=True, text=True)
    assert bad.returncode == 1


@pytest.mark.parametrize("args", [["-x"], ["-l", "LOUD"], ["-f", "NOWHERE"], ["-u", "999"]])
def test_bad_flags_exit_with_usage(args):
    p = subprocess.run([SFTP_SERVER, *args], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert p.returncode != 0


def test_info_log_lines_like_openssh(work):
    random_file(work / "src", 100000)
    batch = "put src up\nget up down\nmkdir d\nrename up moved\nln -s moved sym\nrm sym\nrmdir d\n"
    env = dict(os.environ, SSH_CONNECTION="192.0.2.7 4242 127.0.0.1 22")
    log = sftp(batch, work, server_args=["-e", "-l", "INFO"], env=env).stderr
    user = pwd.getpwuid(os.getuid()).pw_name
    expected = [
        f"session opened for local user {user} from [192.0.2.7]",
        f'open "{work}/up" flags WRITE,CREATE,TRUNCATE mode 0644',
        f'close "{work}/up" bytes read 0 written 100000',
        f'open "{work}/up" flags READ mode 0666',
        f'close "{work}/up" bytes read 100000 written 0',
        f'mkdir name "{work}/d" mode 0777',
        f'posix-rename old "{work}/up" new "{work}/moved"',
        f'symlink old "moved" new "{work}/sym"',
        f'remove name "{work}/sym"',
        f'rmdir name "{work}/d"',
        f"session closed for local user {user} from [192.0.2.7]",
    ]
    lines = log.splitlines()
    for e in expected:
        assert e in lines, f"{e!r} not in:\n{log}"
    # The same batch through OpenSSH's sftp-server logs the same lines.
    for f in ("moved", "down"):
        (work / f).unlink()
    theirs = sftp(batch, work, server_args=["-e", "-l", "INFO"], env=env,
                  server=OPENSSH_SFTP_SERVER).stderr.splitlines()
    for e in expected:
        assert e in theirs, e


@pytest.fixture
def public_work():
    """A scratch directory another user can reach (pytest's tmp_path is root-only)."""
    d = Path(tempfile.mkdtemp(prefix="postern-sftp-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_unprivileged_user_cannot_write_elsewhere(public_work):
    """The server runs as the user: the kernel's permissions hold, and refusals are statuses."""
    work = public_work
    nobody = pwd.getpwnam("nobody")
    locked = work / "locked"
    locked.mkdir(mode=0o755)
    (locked / "f").write_text("mine")
    open_dir = work / "open"
    open_dir.mkdir()
    os.chown(open_dir, nobody.pw_uid, nobody.pw_gid)
    prefix = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    (work / "src").write_text("data")
    os.chmod(work / "src", 0o644)
    for cmd in (f"put src {locked}/new", f"rm {locked}/f", f"mkdir {locked}/d",
                f"rename {locked}/f {locked}/g", f"chmod 777 {locked}/f"):
        p = sftp(cmd + "\n", work, prefix=prefix, check=False)
        assert p.returncode != 0, cmd
        assert "Permission denied" in p.stderr, p.stderr
    assert sorted(os.listdir(locked)) == ["f"] and (locked / "f").read_text() == "mine"
    sftp(f"put src {open_dir}/new\n", work, prefix=prefix)
    assert (open_dir / "new").read_text() == "data"
    assert os.stat(open_dir / "new").st_uid == nobody.pw_uid


# ---- raw protocol abuse -------------------------------------------------------------------

class Raw:
    """The server on pipes, spoken to packet by packet."""

    def __init__(self, *args):
        self.p = subprocess.Popen([SFTP_SERVER, *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def send(self, payload):
        self.p.stdin.write(struct.pack(">I", len(payload)) + payload)
        self.p.stdin.flush()

    def recv(self):
        head = self.p.stdout.read(4)
        if len(head) < 4:
            return None
        (n,) = struct.unpack(">I", head)
        return self.p.stdout.read(n)

    def init(self):
        self.send(b"\x01" + struct.pack(">I", 3))
        reply = self.recv()
        assert reply[0] == 2 and struct.unpack(">I", reply[1:5])[0] == 3
        return reply

    def status(self, id_):
        r = self.recv()
        assert r[0] == 101, r
        got_id, code = struct.unpack(">II", r[1:9])
        assert got_id == id_
        return code

    def finish(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        rc = self.p.wait(timeout=10)
        err = self.p.stderr.read().decode(errors="replace")
        self.p.stdout.close()
        self.p.stderr.close()
        return rc, err


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def test_raw_bad_requests_get_statuses():
    r = Raw()
    r.init()
    r.send(b"\x04" + struct.pack(">I", 1) + s(b"nohandle"))  # CLOSE unknown handle
    assert r.status(1) == 4
    r.send(b"\x05" + struct.pack(">I", 2) + s(b"12345678") + struct.pack(">QI", 0, 10))
    assert r.status(2) == 4
    r.send(b"\x03" + struct.pack(">I", 3) + struct.pack(">I", 1000) + b"abc")  # short OPEN
    assert r.status(3) == 5
    r.send(b"\x63" + struct.pack(">I", 4))  # unknown type 99
    assert r.status(4) == 8
    r.send(b"\xc8" + struct.pack(">I", 5) + s("bogus@example.com"))
    assert r.status(5) == 8
    r.send(b"\x11" + struct.pack(">I", 6) + s("/nonexistent/x"))  # STAT
    assert r.status(6) == 2
    rc, err = r.finish()
    assert rc == 0, err


@pytest.mark.parametrize("garbage", [
    struct.pack(">I", 0),                       # empty packet
    struct.pack(">I", 0x7fffffff) + b"\x03",    # absurd length
    struct.pack(">I", 2) + b"\x11\x00",         # no room for the id
])
def test_raw_framing_violations_end_cleanly(garbage):
    r = Raw("-e")
    r.init()
    r.p.stdin.write(garbage)
    r.p.stdin.flush()
    rc, err = r.finish()
    assert rc == 1, err  # an orderly exit, not a signal


def test_raw_request_before_init_ends_cleanly():
    r = Raw("-e")
    r.send(b"\x11" + struct.pack(">I", 1) + s("."))
    rc, err = r.finish()
    assert rc == 1 and "before" in err


def test_raw_eof_mid_packet_is_clean():
    r = Raw()
    r.init()
    r.p.stdin.write(struct.pack(">I", 100) + b"\x11")
    rc, _ = r.finish()
    assert rc == 0


def test_handle_limit():
    r = Raw()
    r.init()
    r.send(b"\xc8" + struct.pack(">I", 1) + s("limits@openssh.com"))
    reply = r.recv()
    assert reply[0] == 201
    max_packet, max_read, max_write, max_handles = struct.unpack(">QQQQ", reply[5:37])
    assert max_packet >= 34000 and max_read >= 32768 and max_write >= 32768
    assert 0 < max_handles <= 16384
    opened = 0
    for i in range(max_handles + 5):
        r.send(b"\x0b" + struct.pack(">I", 100 + i) + s("/"))  # OPENDIR
        reply = r.recv()
        if reply[0] == 102:
            opened += 1
        else:
            assert reply[0] == 101 and struct.unpack(">I", reply[5:9])[0] == 4
    assert opened == max_handles
    rc, err = r.finish()
    assert rc == 0, err


# ---- another client -------------------------------------------------------------------------

class _PipeChannel:
    """Enough of a paramiko Channel to run SFTPClient over the server's stdin/stdout."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def send(self, b):
        return self.p.stdin.write(b)

    def recv(self, n):
        return os.read(self.p.stdout.fileno(), n)

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)
        self.p.stdout.close()

    def settimeout(self, t):
        pass

    def get_name(self):
        return "pipe"


def test_paramiko_client(work):
    """paramiko speaks plain version 3 (legacy rename, no limits@openssh.com)."""
    paramiko = pytest.importorskip("paramiko")
    chan = _PipeChannel([str(SFTP_SERVER)])
    c = paramiko.SFTPClient(chan)
    try:
        data = os.urandom(3_000_000)
        with c.open(f"{work}/f", "wb") as f:
            f.write(data)
        with c.open(f"{work}/f", "rb") as f:
            assert f.read() == data
        c.rename(f"{work}/f", f"{work}/g")
        with pytest.raises(IOError):
            (work / "other").write_text("x")
            c.rename(f"{work}/g", f"{work}/other")  # SSH_FXP_RENAME never replaces
        c.mkdir(f"{work}/sub")
        assert sorted(c.listdir(str(work))) == ["g", "other", "sub"]
        c.symlink("g", f"{work}/l")
        assert c.readlink(f"{work}/l") == "g"
        c.chmod(f"{work}/g", 0o600)
        assert stat.S_IMODE(c.stat(f"{work}/g").st_mode) == 0o600
        c.posix_rename(f"{work}/g", f"{work}/h")
        assert c.normalize(f"{work}/sub/..") == str(work)
        for name in ("h", "l", "other"):
            c.remove(f"{work}/{name}")
        c.rmdir(f"{work}/sub")
        assert os.listdir(work) == []
    finally:
        c.close()
