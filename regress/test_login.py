"""The rest of the login (sshd(8) LOGIN PROCESS): ~/.ssh/rc and the system sshrc, utmp/wtmp/lastlog
records and PrintLastLog, PermitUserEnvironment, PermitTTY, SetEnv and PrintMotd, with the real
ssh client. The behaviour asserted here was checked against Debian's sshd 9.2 first."""

import os
import re
import shutil
import struct
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import BUILD, SSHD, Server

# glibc's struct utmp on x86_64 and struct lastlog.
UTMP_FMT = "hi32s4s32s256shhiii16s20x"
UTMP_SIZE = struct.calcsize(UTMP_FMT)
USER_PROCESS, DEAD_PROCESS = 7, 8
LASTLOG_FMT = "i32s256s"
LASTLOG_SIZE = struct.calcsize(LASTLOG_FMT)
UTMP, WTMP, LASTLOG = Path("/run/utmp"), Path("/var/log/wtmp"), Path("/var/log/lastlog")


def utmp_records(path):
    data = path.read_bytes() if path.exists() else b""
    out = []
    for i in range(0, len(data) - UTMP_SIZE + 1, UTMP_SIZE):
        t, pid, line, uid, user, host, _, _, _, sec, _, _ = struct.unpack(
            UTMP_FMT, data[i:i + UTMP_SIZE])
        out.append(dict(type=t, pid=pid, line=line.rstrip(b"\0").decode(),
                        id=uid.rstrip(b"\0").decode(errors="replace"),
                        user=user.rstrip(b"\0").decode(), host=host.rstrip(b"\0").decode(), time=sec))
    return out


def lastlog_entry(uid):
    with open(LASTLOG, "rb") as f:
        f.seek(uid * LASTLOG_SIZE)
        data = f.read(LASTLOG_SIZE)
    if len(data) < LASTLOG_SIZE:
        return None
    t, line, host = struct.unpack(LASTLOG_FMT, data)
    return dict(time=t, line=line.rstrip(b"\0").decode(), host=host.rstrip(b"\0").decode())


def write_user_file(pw, rel, text, mode=0o644):
    p = Path(pw.pw_dir) / rel
    p.write_text(text)
    os.chmod(p, mode)
    os.chown(p, pw.pw_uid, pw.pw_gid)
    return p


@pytest.fixture
def home(user):
    """The test user's home, with the files these tests create removed afterwards."""
    h = Path(user.pw_dir)
    made = [".ssh/rc", ".ssh/environment", ".hushlogin", ".Xauthority", "rc.out"]
    yield h
    for name in made:
        (h / name).unlink(missing_ok=True)


@contextmanager
def key_line(user, keydir, options):
    """authorized_keys gets `options id_other.pub` for the duration; ssh with key="id_other"."""
    ak = Path(user.pw_dir) / ".ssh" / "authorized_keys"
    saved = ak.read_text()
    ak.write_text(saved + options + " " + (keydir / "id_other.pub").read_text())
    try:
        yield
    finally:
        ak.write_text(saved)


def pty_login(server, input_text="exit\n", options=()):
    """An interactive login shell on a pty, as a user at a terminal gets it."""
    args = server.ssh_args(options=["RequestTTY=force"] + list(options))
    r = subprocess.run(args, input=input_text, capture_output=True, text=True, timeout=30)
    return r.stdout.replace("\r", "")


# ---- ~/.ssh/rc and sshrc -------------------------------------------------------------------

RC_SCRIPT = """if read proto cookie; then echo "stdin=$proto $cookie" > ~/rc.out
else echo "stdin=none" > ~/rc.out; fi
echo "display=$DISPLAY user=$USER cwd=$(pwd) zero=$0" >> ~/rc.out
echo "rc on stderr" >&2
"""


def rc_out(home):
    p = home / "rc.out"
    return p.read_text() if p.exists() else None


def test_user_rc_runs_before_the_command(server, user, home):
    write_user_file(user, ".ssh/rc", RC_SCRIPT)
    r = server.ssh("cat ~/rc.out")
    assert r.returncode == 0, r.stderr
    # It ran first (the command sees its file), as the user, in the home directory, with sh
    # reading the file by its full name, and nothing on its standard input without X11.
    lines = r.stdout.splitlines()
    assert lines[0] == "stdin=none"
    assert lines[1] == f"display= user={user.pw_name} cwd={home} zero={home}/.ssh/rc"
    assert "rc on stderr" in r.stderr


def test_user_rc_reads_the_x11_cookie_and_xauth_is_left_to_it(make_server, user, home):
    server = make_server("X11Forwarding yes\nX11DisplayOffset 60")
    write_user_file(user, ".ssh/rc", RC_SCRIPT)
    env = dict(os.environ, DISPLAY="127.0.0.1:99")
    r = subprocess.run(server.ssh_args(options=["ForwardX11=yes", "ForwardX11Trusted=yes"])
                       + ['echo "$DISPLAY"'], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    display = r.stdout.strip()
    assert re.fullmatch(r"localhost:6\d\.0", display), r.stdout
    out = rc_out(home).splitlines()
    assert re.fullmatch(r"stdin=MIT-MAGIC-COOKIE-1 [0-9a-f]{32}", out[0]), out
    assert out[1].startswith(f"display={display} ")
    # sshd(8) SSHRC: with an rc file, sshd does not run xauth itself.
    assert not (home / ".Xauthority").exists()


def test_without_rc_the_server_runs_xauth(make_server, user, home):
    server = make_server("X11Forwarding yes\nX11DisplayOffset 70")
    env = dict(os.environ, DISPLAY="127.0.0.1:99")
    r = subprocess.run(server.ssh_args(options=["ForwardX11=yes", "ForwardX11Trusted=yes"])
                       + ['echo "$DISPLAY"; xauth list'], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    number = r.stdout.splitlines()[0].split(":")[1].split(".")[0]
    assert re.search(rf"unix:{number}\s+MIT-MAGIC-COOKIE-1\s+[0-9a-f]{{32}}", r.stdout), r.stdout


@pytest.mark.parametrize("how", ["PermitUserRC", "no-user-rc", "ForceCommand", "subsystem"])
def test_user_rc_skipped(make_server, user, home, keydir, how):
    config = {"PermitUserRC": "PermitUserRC no",
              "ForceCommand": "ForceCommand cat ~/rc.out 2>/dev/null; echo forced",
              "subsystem": "Subsystem lister /bin/ls"}.get(how, "")
    server = make_server(config)
    write_user_file(user, ".ssh/rc", RC_SCRIPT)
    if how == "no-user-rc":
        with key_line(user, keydir, "no-user-rc"):
            r = server.ssh("true", key="id_other")
    elif how == "subsystem":
        r = server.ssh("lister", extra=["-s"])
    else:
        r = server.ssh("true")
    assert r.returncode == 0, r.stderr
    assert rc_out(home) is None
    assert "rc on stderr" not in r.stderr


def test_user_rc_runs_for_a_key_command(server, user, home, keydir):
    # command= in authorized_keys is the user's own choice: unlike ForceCommand, rc still runs.
    write_user_file(user, ".ssh/rc", RC_SCRIPT)
    with key_line(user, keydir, 'command="cat ~/rc.out"'):
        r = server.ssh("anything", key="id_other")
    assert r.stdout.startswith("stdin=none\n"), r.stdout + r.stderr


@pytest.fixture
def sysrc_server(keydir, tmp_path, user):
    """A server in a private mount namespace whose configuration directory holds an sshrc, so
    the machine's own files are never touched."""
    text = (BUILD / "postern_config.h").read_text()
    sysconf = Path(re.search(r'POSTERN_SYSCONFDIR "([^"]+)"', text).group(1))
    anchor = sysconf
    while not anchor.exists():
        anchor = anchor.parent
    assert anchor != Path("/")
    mirror = tmp_path / "mirror"
    if anchor.is_dir():
        shutil.copytree(anchor, mirror, symlinks=True)
    target = mirror / sysconf.relative_to(anchor)
    target.mkdir(parents=True, exist_ok=True)
    # The user writes its marker in the home directory (pytest's tmp_path is root's alone).
    marker = Path(user.pw_dir) / "sysrc.out"
    write_user_file(user, "sysrc.out", "")
    (target / "sshrc").write_text(
        'read proto cookie; echo "sysrc $USER ${proto:-none} ${SSH_ORIGINAL_COMMAND}" >> ~/sysrc.out\n')

    class NamespacedServer(Server):
        def start(self):
            self.logf = open(self.log, "ab")
            script = f'mount --bind "{mirror}" "{anchor}" && exec "$@"'
            self.proc = subprocess.Popen(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(SSHD),
                 "-D", "-e", "-f", str(self.config)], stdout=self.logf, stderr=subprocess.STDOUT)
            from conftest import wait_for_port
            if not wait_for_port(self.port, self.proc):
                self.stop()
                raise RuntimeError("server did not start:\n" + self.log_text())
            return self

    servers = []

    def make(extra=""):
        s = NamespacedServer(keydir, tmp_path, "Subsystem sftp internal-sftp\n" + extra)
        servers.append(s)
        return s.start()

    yield make, marker
    for s in servers:
        s.stop()
    marker.unlink(missing_ok=True)


def test_system_rc_runs_when_there_is_no_user_rc(sysrc_server, home):
    make, marker = sysrc_server
    server = make("X11Forwarding yes\nX11DisplayOffset 80")
    r = server.ssh("echo hi")
    assert r.stdout == "hi\n", r.stderr
    assert marker.read_text() == f"sysrc {home.owner()} none \n"
    # With X11 it gets the cookie, and sshd leaves xauth to it.
    marker.write_text("")
    env = dict(os.environ, DISPLAY="127.0.0.1:99")
    r = subprocess.run(server.ssh_args(options=["ForwardX11=yes", "ForwardX11Trusted=yes"])
                       + ["true"], env=env, capture_output=True, text=True, timeout=30)
    assert marker.read_text() == f"sysrc {home.owner()} MIT-MAGIC-COOKIE-1 \n", r.stderr
    assert not (home / ".Xauthority").exists()


def test_system_rc_yields_to_user_rc_but_runs_for_subsystems(sysrc_server, user, home):
    make, marker = sysrc_server
    server = make()
    write_user_file(user, ".ssh/rc", RC_SCRIPT)
    server.ssh("true")
    assert marker.read_text() == ""
    assert rc_out(home) is not None
    (home / "rc.out").unlink()
    # A subsystem (here the in-process internal-sftp) never runs ~/.ssh/rc, but sshrc still runs.
    args = server.ssh_args()
    args = ["sftp", "-b", "-", "-P", str(server.port)] + args[1:args.index("-p")] + \
        args[args.index("-p") + 2:]
    r = subprocess.run(args, input="pwd\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "Remote working directory" in r.stdout
    assert marker.read_text() == f"sysrc {home.owner()} none \n"
    assert rc_out(home) is None


# ---- utmp, wtmp, lastlog, PrintLastLog -----------------------------------------------------

@pytest.fixture
def utmp_file():
    # A container may lack /run/utmp (systemd makes it at boot); `who` needs it.
    made = not UTMP.exists()
    if made:
        UTMP.touch()
        shutil.chown(UTMP, "root", "utmp")
        os.chmod(UTMP, 0o664)
    yield UTMP


def test_utmp_and_wtmp_record_a_pty_session(server, user, utmp_file):
    wtmp_before = len(utmp_records(WTMP))
    r = server.ssh("tty; who; sleep 0.3", extra=["-tt"])
    out = r.stdout.replace("\r", "").splitlines()
    tty = out[0]
    assert tty.startswith("/dev/pts/"), r.stdout
    line = tty[5:]
    # who(1) showed the session while it ran.
    assert any(w.split()[:2] == [user.pw_name, line] and w.endswith("(127.0.0.1)")
               for w in out[1:]), out
    # After the logout: utmp holds DEAD_PROCESS for the line, wtmp the login and the logout.
    deadline = time.time() + 5
    while time.time() < deadline:
        new = utmp_records(WTMP)[wtmp_before:]
        mine = [w for w in new if w["line"] == line]
        if len(mine) >= 2:
            break
        time.sleep(0.1)
    login = [w for w in mine if w["type"] == USER_PROCESS]
    logout = [w for w in mine if w["type"] == DEAD_PROCESS]
    assert login and logout, mine
    assert login[0]["user"] == user.pw_name and login[0]["host"] == "127.0.0.1"
    assert login[0]["id"] == line[-4:]
    assert logout[0]["pid"] == login[0]["pid"] and logout[0]["user"] == ""
    entry = [u for u in utmp_records(utmp_file) if u["line"] == line]
    assert entry and entry[-1]["type"] == DEAD_PROCESS and entry[-1]["user"] == ""
    last = subprocess.run(["last", "-w", "-f", str(WTMP), user.pw_name], capture_output=True,
                          text=True).stdout
    assert re.search(rf"^{re.escape(user.pw_name)}\s+{re.escape(line)}\s+127\.0\.0\.1", last, re.M), last


def test_utmp_pid_is_the_connections_monitor(server, user, utmp_file):
    # As sshd's records do, they name the connection's root monitor process.
    proc = subprocess.Popen(server.ssh_args(options=["RequestTTY=force"]) + ["tty; sleep 2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()[5:]
        live = [u for u in utmp_records(utmp_file)
                if u["line"] == line and u["type"] == USER_PROCESS]
        assert live and live[-1]["user"] == user.pw_name, utmp_records(utmp_file)
        pid = live[-1]["pid"]
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "sshd-session"
        assert re.search(r"^Uid:\s+0\s", Path(f"/proc/{pid}/status").read_text(), re.M)
    finally:
        proc.wait(timeout=30)


def test_no_records_without_a_pty(server, user, utmp_file):
    before = len(utmp_records(WTMP))
    r = server.ssh("true")
    assert r.returncode == 0
    assert [w for w in utmp_records(WTMP)[before:] if w["user"] == user.pw_name] == []


def test_print_last_log_on_the_next_login(server, user, home, utmp_file):
    pty_login(server)
    entry = lastlog_entry(user.pw_uid)
    assert entry and entry["host"] == "127.0.0.1" and entry["line"].startswith("pts/")
    assert abs(entry["time"] - time.time()) < 30
    shown = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(entry["time"]))
    out = pty_login(server)
    assert f"Last login: {shown} from 127.0.0.1\n" in out, out
    # Before the message of the day, as login(1) shows them.
    motd = Path("/etc/motd")
    if motd.exists() and motd.read_text().strip():
        first = motd.read_text().strip().splitlines()[0]
        assert out.index("Last login:") < out.index(first)
    # Not for a command, even on a pty; not with ~/.hushlogin.
    r = server.ssh("echo cmd", extra=["-tt"])
    assert "Last login" not in r.stdout
    write_user_file(user, ".hushlogin", "")
    assert "Last login" not in pty_login(server)


def test_print_last_log_no(make_server, user, utmp_file):
    server = make_server("PrintLastLog no")
    pty_login(server)
    assert "Last login" not in pty_login(server)


# ---- environment ----------------------------------------------------------------------------

def env_of(server, names, **kw):
    r = server.ssh("env", **kw)
    assert r.returncode == 0, r.stderr
    got = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    return {n: got.get(n) for n in names}


USER_ENV = "A=file\nB=file\n# comment\n\nF=file\nLD_X=file\n"


@pytest.mark.parametrize("policy,want", [
    ("yes", dict(A="setenv", B="file", C="cli", E="key", F="file", LD_X="file")),
    ("B,F", dict(A="setenv", B="file", C="cli", E=None, F="file", LD_X=None)),
    ("no", dict(A="setenv", B="cli", C="cli", E=None, F=None, LD_X=None)),
])
def test_permit_user_environment(make_server, user, home, keydir, policy, want):
    server = make_server(f"PermitUserEnvironment {policy}\nAcceptEnv A B C\nSetEnv A=setenv")
    write_user_file(user, ".ssh/environment", USER_ENV, 0o600)
    with key_line(user, keydir, 'environment="B=key",environment="E=key",environment="F=key"'):
        os.environ.update(A="cli", B="cli", C="cli")
        try:
            got = env_of(server, want, key="id_other", options=["SendEnv=A B C"])
        finally:
            for n in "ABC":
                del os.environ[n]
    assert got == want


def test_set_env(make_server, user):
    server = make_server('SetEnv FOO=bar "BAZ=two words" FOO=ignored')
    assert env_of(server, ["FOO", "BAZ"]) == {"FOO": "bar", "BAZ": "two words"}


# ---- PermitTTY and PrintMotd ----------------------------------------------------------------

def test_permit_tty_no(make_server, user):
    # The pty-req is refused; ssh -tt then gives up, as it does against sshd.
    server = make_server("PermitTTY no")
    r = server.ssh("tty", extra=["-tt"])
    assert "PTY allocation request failed on channel 0" in r.stderr
    assert r.returncode == 255 and "/dev/pts/" not in r.stdout
    r = server.ssh("tty")
    assert r.stdout == "not a tty\n"


@pytest.mark.parametrize("options,tty", [("no-pty", False), ("restrict,pty", True),
                                         ("restrict", False), ("pty", True)])
def test_key_pty_options(server, user, keydir, options, tty):
    with key_line(user, keydir, options):
        r = server.ssh("tty", key="id_other", extra=["-tt"])
    if tty:
        assert r.stdout.replace("\r", "").startswith("/dev/pts/"), r.stdout + r.stderr
    else:
        assert "PTY allocation request failed" in r.stderr


@pytest.mark.skipif(not Path("/etc/motd").exists() or not Path("/etc/motd").read_text().strip(),
                    reason="no /etc/motd here")
@pytest.mark.parametrize("setting,shown", [("yes", True), ("no", False)])
def test_print_motd(make_server, user, home, setting, shown):
    first = Path("/etc/motd").read_text().strip().splitlines()[0]
    server = make_server(f"PrintMotd {setting}")
    assert (first in pty_login(server)) == shown
    # Never for a command.
    assert first not in server.ssh("true", extra=["-tt"]).stdout
