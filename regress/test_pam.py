"""PAM in full (issue 4) with real PAM stacks: a multi-prompt keyboard-interactive conversation
driven from the monitor, password change on expiry (keyboard-interactive and password), the account
stage for every method (publickey included), the session stage and the PAM environment.

Each test writes its own PAM service file /etc/pam.d/postern-pam-<pid>-<n> (removed afterwards)
and starts sshd through a link of that name: like OpenSSH's sshd, postern's PAM service is the name
it was run as. The stacks use stock modules (pam_unix, pam_env, pam_exec, pam_listfile),
pam_wrapper's test modules (pam_matrix: a password file of the test's own; pam_chatty: info and
error messages) and monitor/pam_postern_test.so, which asks several questions in one conversation
call (no stock module does)."""

import itertools
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from conftest import BUILD, SSHD, TEST_USER, Server

PAM_WRAPPER_DIR = Path("/usr/lib/x86_64-linux-gnu/pam_wrapper")
PAM_MATRIX = PAM_WRAPPER_DIR / "pam_matrix.so"
PAM_CHATTY = PAM_WRAPPER_DIR / "pam_chatty.so"
TEST_MODULE = BUILD / "monitor" / "pam_postern_test.so"
SECRET = "matrix-Secr3t"

pytestmark = [
    pytest.mark.skipif(not PAM_MATRIX.exists(), reason="libpam-wrapper not installed"),
    pytest.mark.skipif(not TEST_MODULE.exists(), reason="pam_postern_test.so not built"),
]

_counter = itertools.count()


class PamServer(Server):
    """A server started through a link named after its PAM service."""

    def __init__(self, keydir, workdir, exe, extra_config=""):
        super().__init__(keydir, workdir, extra_config + "UsePAM yes\n"
                         "KbdInteractiveAuthentication yes\nPasswordAuthentication yes\n")
        self.exe = exe

    def start(self):
        self.logf = open(self.log, "ab")
        # -o wins over the file's "LogLevel VERBOSE": the PAM debug lines are asserted.
        self.proc = subprocess.Popen([str(self.exe), "-D", "-e", "-f", str(self.config), "-o",
                                      "LogLevel=DEBUG1"],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        from conftest import wait_for_port
        if not wait_for_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("server did not start:\n" + self.log_text())
        return self


@pytest.fixture
def pam_server(keydir, tmp_path, user):
    """make(stack) writes the PAM service file and starts a server using it. `stack` is the file's
    text with {service} and {dir} standing for the service name and the test's directory; a
    pam_matrix password file {dir}/passdb holds the test user's password for the service."""
    made = []

    def make(stack, extra_config=""):
        service = f"postern-pam-{os.getpid()}-{next(_counter)}"
        (tmp_path / "passdb").write_text(f"{TEST_USER}:{SECRET}:{service}\n")
        pam_file = Path("/etc/pam.d") / service
        pam_file.write_text(stack.format(service=service, dir=tmp_path, matrix=PAM_MATRIX,
                                         chatty=PAM_CHATTY, test_module=TEST_MODULE))
        made.append(pam_file)
        exe = tmp_path / service
        exe.symlink_to(SSHD)
        srv = PamServer(keydir, tmp_path, exe, extra_config)
        srv.service = service
        made.append(srv)
        return srv.start()

    yield make
    for m in made:
        if isinstance(m, Path):
            m.unlink(missing_ok=True)
        else:
            m.stop()


MATRIX_AUTH = "auth required {matrix} passdb={dir}/passdb\n"
MATRIX_ACCOUNT = "account required {matrix} passdb={dir}/passdb\n"
MULTI = ("auth required {test_module} info=Two_questions_follow echo=Code:_ prompt=PIN:_ "
         "answer=123 answer=4567\n")


def kbdint(port, answers_for, user=TEST_USER, command="echo kbd-ok"):
    """Logs in with keyboard-interactive; `answers_for(instruction, prompts)` answers each
    INFO_REQUEST. Returns (rounds seen, command output or None, exception or None)."""
    rounds = []
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=30)

        def handler(title, instruction, prompts):
            rounds.append((instruction, list(prompts)))
            return answers_for(instruction, prompts)
        t.auth_interactive(user, handler)
        ch = t.open_session()
        ch.exec_command(command)
        out = ch.makefile().read().decode()
        ch.recv_exit_status()
        return rounds, out, None
    except (paramiko.SSHException, EOFError, OSError) as e:
        return rounds, None, e
    finally:
        t.close()


def answer_by_prompt(table):
    def answer(instruction, prompts):
        return [table[p] for p, _ in prompts]
    return answer


ANSWERS = {"Code: ": "123", "PIN: ": "4567", "Password: ": SECRET}


def test_kbdint_several_prompts_in_one_request(pam_server):
    """One PAM conversation call with two prompts (echo on and off) and an info line becomes one
    INFO_REQUEST; pam_chatty's info and error lines become the next one's instruction."""
    s = pam_server(MULTI + "auth required {chatty} num_lines=2 info error\n" + MATRIX_AUTH +
                   MATRIX_ACCOUNT)
    rounds, out, err = kbdint(s.port, answer_by_prompt(ANSWERS))
    assert err is None and out == "kbd-ok\n", (err, rounds, s.log_text())
    assert rounds[0] == ("Two questions follow\n", [("Code: ", True), ("PIN: ", False)])
    # pam_chatty's info and error lines, then pam_matrix's question (echo off).
    assert "Authentication succeeded\n" in rounds[1][0], rounds
    assert "Authentication generated an error\n" in rounds[1][0], rounds
    assert rounds[1][1] == [("Password: ", False)], rounds
    assert len(rounds) == 2, rounds
    assert s.wait_log(f"Accepted keyboard-interactive/pam for {TEST_USER} from 127.0.0.1 port ")
    assert f"Postponed keyboard-interactive for {TEST_USER} from 127.0.0.1" in s.log_text()


def test_kbdint_wrong_answer_fails(pam_server):
    s = pam_server(MULTI + MATRIX_AUTH + MATRIX_ACCOUNT)
    rounds, out, err = kbdint(s.port, answer_by_prompt(dict(ANSWERS, **{"PIN: ": "0000"})))
    assert out is None and isinstance(err, paramiko.AuthenticationException), (err, rounds)
    assert s.wait_log(f"Failed keyboard-interactive/pam for {TEST_USER} from 127.0.0.1 port ")
    assert "Accepted keyboard-interactive" not in s.log_text()


def test_kbdint_invalid_user_fails_after_conversation(pam_server):
    """An unknown user is asked the same questions and refused at the end (no enumeration)."""
    s = pam_server(MULTI + MATRIX_AUTH + MATRIX_ACCOUNT)
    rounds, out, err = kbdint(s.port, answer_by_prompt(ANSWERS), user="postern-nosuchuser")
    assert out is None and err is not None
    assert rounds and rounds[0][1] == [("Code: ", True), ("PIN: ", False)]
    assert s.wait_log("Failed keyboard-interactive/pam for invalid user postern-nosuchuser from ")


def test_kbdint_wrong_response_count_kills_connection(pam_server):
    """RFC 4256 §3.4: the number of responses must match the prompts; three answers to two
    questions end the connection (the monitor's PAM conversation is abandoned)."""
    s = pam_server(MULTI + MATRIX_AUTH + MATRIX_ACCOUNT)
    rounds, out, err = kbdint(s.port, lambda i, p: ["123", "4567", "extra"])
    assert out is None and err is not None
    assert s.wait_log("keyboard-interactive: 3 responses to 2 prompts"), s.log_text()
    assert "Accepted" not in s.log_text()


def test_kbdint_response_out_of_phase_kills_connection(pam_server):
    """An INFO_RESPONSE nobody asked for is a protocol violation."""
    s = pam_server(MATRIX_AUTH + MATRIX_ACCOUNT)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=30)
        with pytest.raises(paramiko.BadAuthenticationType):
            t.auth_none(TEST_USER)
        m = paramiko.Message()
        m.add_byte(bytes([61]))  # SSH_MSG_USERAUTH_INFO_RESPONSE
        m.add_int(1)
        m.add_string(SECRET)
        t._send_message(m)
        assert s.wait_log("unexpected message 61 during userauth"), s.log_text()
    finally:
        t.close()
    assert "Accepted" not in s.log_text()


def test_plink_keyboard_interactive_single_prompt(pam_server, keydir):
    """plink answers a one-question conversation with -pw (its keyboard-interactive client)."""
    if not shutil.which("plink"):
        pytest.skip("plink not installed")
    s = pam_server(MATRIX_AUTH + MATRIX_ACCOUNT, "PasswordAuthentication no\n")
    fp = subprocess.run(["ssh-keygen", "-lf", str(keydir / "host_ed25519.pub")], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    r = subprocess.run(["plink", "-ssh", "-batch", "-P", str(s.port), "-l", TEST_USER, "-pw", SECRET,
                        "-hostkey", fp, "127.0.0.1", "echo plink-ok"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and "plink-ok" in r.stdout, r.stderr + s.log_text()
    assert s.wait_log(f"Accepted keyboard-interactive/pam for {TEST_USER}")


# ---- the account stage -------------------------------------------------------------------------

DENY = "account required pam_listfile.so item=user sense=deny file={dir}/deny onerr=succeed\n"


def test_account_refused_for_publickey(pam_server, tmp_path):
    """A user whose account PAM refuses cannot log in with a key either: sshd's two lines."""
    (tmp_path / "deny").write_text(TEST_USER + "\n")
    s = pam_server(MATRIX_AUTH + DENY)
    r = s.ssh("echo key-ok")
    assert r.returncode == 255 and "key-ok" not in r.stdout
    assert s.wait_log(f"Access denied for user {TEST_USER} by PAM account configuration [preauth]")
    assert f"Failed publickey for {TEST_USER} from 127.0.0.1 port " in s.log_text()
    assert "ssh2: ED25519 SHA256:" in s.log_text()
    assert "Accepted publickey" not in s.log_text()


def test_account_allowed_for_publickey(pam_server, tmp_path):
    (tmp_path / "deny").write_text("somebody-else\n")
    s = pam_server(MATRIX_AUTH + DENY)
    r = s.ssh("echo key-ok")
    assert r.returncode == 0 and r.stdout == "key-ok\n", r.stderr + s.log_text()
    assert "PAM: pam_acct_mgmt = 0" in s.log_text()


def test_account_refused_for_password(pam_server, tmp_path):
    if not shutil.which("sshpass"):
        pytest.skip("sshpass not installed")
    (tmp_path / "deny").write_text(TEST_USER + "\n")
    s = pam_server(MATRIX_AUTH + DENY)
    r = ssh_password(s, SECRET)
    assert r.returncode == 255 and "pw-ok" not in r.stdout
    assert s.wait_log(f"Access denied for user {TEST_USER} by PAM account configuration [preauth]")
    assert f"Failed password for {TEST_USER} from 127.0.0.1 port " in s.log_text()


def ssh_password(server, password, command="echo pw-ok", tty=False):
    args = ["sshpass", "-p", password] + server.ssh_args(options=(
        "BatchMode=no", "PreferredAuthentications=password", "NumberOfPasswordPrompts=1",
        "PubkeyAuthentication=no"))
    if tty:
        args.insert(4, "-tt")
    return subprocess.run(args + [command], capture_output=True, text=True, timeout=60)


# ---- users that may not log in go through PAM too (issue 10: enumeration by timing) ---------------

# pam_exec runs before pam_matrix and records, per call, the user PAM was started for and the
# password it was given (expose_authtok: on stdin, after asking for it through the conversation).
RECORD_AUTHTOK = "auth required pam_exec.so expose_authtok quiet {dir}/authtok.sh\n"


def record_authtok(tmp_path):
    script = tmp_path / "authtok.sh"
    script.write_text("#!/bin/sh\nn=$(ls {0} | wc -l)\ncat > {0}/$PAM_USER.$n\n".format(
        tmp_path / "calls"))
    script.chmod(0o755)
    (tmp_path / "calls").mkdir()

    def calls():
        """[(user, password)] in call order."""
        out = []
        for f in sorted((tmp_path / "calls").iterdir(), key=lambda f: int(f.suffix[1:])):
            out.append((f.stem, f.read_bytes().rstrip(b"\0").decode(errors="replace")))
        return out
    return calls


def test_invalid_user_password_goes_through_pam(pam_server, tmp_path):
    """As OpenSSH's sshd does: a user who does not exist is not refused on the side, which answers
    faster than PAM (pam_unix's failure delay); pam_authenticate runs for the name the client gave,
    with a password no module can accept in place of the one the client sent."""
    if not shutil.which("sshpass"):
        pytest.skip("sshpass not installed")
    calls = record_authtok(tmp_path)
    s = pam_server(RECORD_AUTHTOK + MATRIX_AUTH + MATRIX_ACCOUNT)
    args = ["sshpass", "-p", SECRET] + s.ssh_args(user="postern-nosuchuser", options=(
        "BatchMode=no", "PreferredAuthentications=password", "NumberOfPasswordPrompts=1",
        "PubkeyAuthentication=no"))
    r = subprocess.run(args + ["echo pw-ok"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 255 and "pw-ok" not in r.stdout
    assert s.wait_log("Failed password for invalid user postern-nosuchuser from 127.0.0.1 port ")
    got = calls()
    assert [u for u, _ in got] == ["postern-nosuchuser"], (got, s.log_text())
    assert got[0][1] not in ("", SECRET), got
    # The same stack for the real user sees the client's password.
    r = ssh_password(s, SECRET)
    assert r.returncode == 0 and r.stdout == "pw-ok\n", r.stderr + s.log_text()
    assert calls()[1] == (TEST_USER, SECRET)


def test_denied_user_kbdint_never_gives_pam_the_answers(pam_server, tmp_path):
    """A real account that DenyUsers refuses: PAM runs the conversation, but never with the
    client's answers, so a right password is not told apart from a wrong one by PAM's failure
    delay (or by anything else a module does on success)."""
    calls = record_authtok(tmp_path)
    s = pam_server(RECORD_AUTHTOK + MATRIX_AUTH + MATRIX_ACCOUNT, f"DenyUsers {TEST_USER}\n")
    rounds, out, err = kbdint(s.port, answer_by_prompt(ANSWERS))
    assert out is None and isinstance(err, paramiko.AuthenticationException), (err, rounds)
    assert rounds and rounds[0][1] == [("Password: ", False)], rounds
    assert s.wait_log(f"Failed keyboard-interactive/pam for invalid user {TEST_USER} from ")
    got = calls()
    assert [u for u, _ in got] == [TEST_USER], (got, s.log_text())
    assert got[0][1] not in ("", SECRET), got
    assert "pam_authenticate = 0" not in s.log_text()


# ---- password change on expiry -------------------------------------------------------------------

EXPIRED = ("account required {test_module} expired changed={dir}/changed\n"
           "password required {test_module} changed={dir}/changed\n")


def test_expired_password_changed_in_kbdint(pam_server, tmp_path):
    """PAM_NEW_AUTHTOK_REQD from the account stage: pam_chauthtok runs in the same conversation
    (its two questions in one INFO_REQUEST), then the login goes on."""
    s = pam_server(MATRIX_AUTH + EXPIRED)
    answers = dict(ANSWERS, **{"New password: ": "n3w-Pass", "Retype new password: ": "n3w-Pass"})
    rounds, out, err = kbdint(s.port, answer_by_prompt(answers))
    assert err is None and out == "kbd-ok\n", (err, rounds, s.log_text())
    assert rounds[-1][1] == [("New password: ", False), ("Retype new password: ", False)], rounds
    assert (tmp_path / "changed").read_text() == "n3w-Pass"
    assert "pam_acct_mgmt = 12" in s.log_text() and "pam_chauthtok = 0" in s.log_text()
    assert s.wait_log(f"Accepted keyboard-interactive/pam for {TEST_USER}")


def test_expired_password_change_mismatch_fails(pam_server, tmp_path):
    s = pam_server(MATRIX_AUTH + EXPIRED)
    answers = dict(ANSWERS, **{"New password: ": "n3w-Pass", "Retype new password: ": "other"})
    rounds, out, err = kbdint(s.port, answer_by_prompt(answers))
    assert out is None and err is not None
    assert not (tmp_path / "changed").exists()
    assert s.wait_log(f"Failed keyboard-interactive/pam for {TEST_USER}")


def test_expired_password_method_forces_change(pam_server, tmp_path):
    """The password method cannot ask for a new password. As OpenSSH's sshd does (it never sends
    PASSWD_CHANGEREQ), the login is accepted but the session only tells the user to change it:
    without a terminal it refuses, exit status 1, and forwarding is off."""
    if not shutil.which("sshpass"):
        pytest.skip("sshpass not installed")
    s = pam_server(MATRIX_AUTH + EXPIRED)
    r = ssh_password(s, SECRET)
    assert r.returncode == 1 and "pw-ok" not in r.stdout, r.stderr + s.log_text()
    assert "WARNING: Your password has expired." in r.stderr
    assert "Password change required but no TTY available." in r.stderr
    assert s.wait_log(f"Accepted password for {TEST_USER} from 127.0.0.1 port ")


def test_expired_password_method_runs_passwd_on_a_tty(pam_server, tmp_path):
    if not shutil.which("sshpass"):
        pytest.skip("sshpass not installed")
    s = pam_server(MATRIX_AUTH + EXPIRED)
    args = ["sshpass", "-p", SECRET, "ssh", "-tt"] + s.ssh_args(options=(
        "BatchMode=no", "PreferredAuthentications=password", "NumberOfPasswordPrompts=1",
        "PubkeyAuthentication=no"))[1:] + ["echo pw-ok"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # passwd(1) may still wait for an answer
        p.kill()
        out, _ = p.communicate()
    # On a terminal the session runs passwd(1) instead of the command.
    assert "You must change your password now and login again!" in out, out + s.log_text()
    assert "pw-ok" not in out


# ---- the session stage ---------------------------------------------------------------------------

SESSION = ("account required {test_module}\n"
           "session required pam_exec.so quiet {dir}/record.sh\n"
           "session required pam_env.so readenv=1 envfile={dir}/environment user_readenv=0\n"
           "session required {test_module} setenv=POSTERN_PAM_MODULE=from-open-session\n")


def test_session_stage_and_environment(pam_server, tmp_path):
    """pam_open_session and pam_close_session run in the monitor around the session, with
    PAM_TTY "ssh", PAM_RHOST the client's address and PAM_RUSER unset, as sshd sets them; the PAM
    environment (pam_env, a module's pam_putenv) reaches the user's session."""
    record = tmp_path / "record.sh"
    log = tmp_path / "record.log"
    record.write_text("#!/bin/sh\necho \"$PAM_TYPE uid=$(id -u) tty=$PAM_TTY rhost=$PAM_RHOST "
                      f"ruser=$PAM_RUSER service=$PAM_SERVICE user=$PAM_USER\" >> {log}\n")
    record.chmod(0o755)
    (tmp_path / "environment").write_text("POSTERN_PAM_ENVFILE=from-pam-env\n")
    s = pam_server(MATRIX_AUTH + SESSION)
    r = s.ssh("echo \"$POSTERN_PAM_ENVFILE $POSTERN_PAM_MODULE\"")
    assert r.returncode == 0 and r.stdout == "from-pam-env from-open-session\n", (
        r.stderr + s.log_text())
    assert s.wait_log("PAM: closing session")
    deadline = time.time() + 5  # the line is logged before pam_close_session runs the script
    while len(log.read_text().splitlines()) < 2 and time.time() < deadline:
        time.sleep(0.05)
    lines = log.read_text().splitlines()
    want = (f"uid=0 tty=ssh rhost=127.0.0.1 ruser= service={s.service} user={TEST_USER}")
    assert lines == [f"open_session {want}", f"close_session {want}"], lines


def test_session_refused_by_pam(pam_server, tmp_path):
    s = pam_server(MATRIX_AUTH + "account required {test_module}\nsession requisite pam_deny.so\n")
    r = s.ssh("echo session-ok")
    assert r.returncode != 0 and "session-ok" not in r.stdout
    assert s.wait_log("PAM: pam_open_session(): ")
