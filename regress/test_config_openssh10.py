"""sshd_config as OpenSSH 9.4-10.x writes it (issue 17), applied to real connections: quoted
subsystem commands, a repeated Subsystem keeping the first, Subsystem in Match, Match criteria
written key=value and Match invalid-user, RefuseConnection and its penalty, SshdSessionPath /
SshdAuthPath naming the programs that serve each connection, and the OpenSSHDefaults switch."""

import os
import shutil
import subprocess
import uuid

import pytest

from conftest import BUILD, SSHD, TEST_USER


def subsystem_exit(server, name):
    return server.ssh(name, extra=["-s"]).returncode


def test_quoted_subsystem_command_keeps_its_argument(make_server, user):
    s = make_server('Subsystem xxx /bin/sh -c "exit 23"')
    assert subsystem_exit(s, "xxx") == 23, s.log_text()


def test_repeated_subsystem_keeps_the_first(make_server, user):
    s = make_server('Subsystem xxx /bin/sh -c "exit 23"\nSubsystem xxx /bin/sh -c "exit 24"')
    assert subsystem_exit(s, "xxx") == 23


def test_subsystem_in_match_overrides_the_global_one(make_server, user):
    s = make_server('Subsystem xxx /bin/sh -c "exit 23"\n'
                    f'Match user={TEST_USER}\n'
                    '  Subsystem xxx /bin/sh -c "exit 18"\n'
                    '  Subsystem xxx /bin/sh -c "exit 24"\n'
                    'Match user=nobody-else\n'
                    '  Subsystem yyy /bin/sh -c "exit 17"\n')
    assert subsystem_exit(s, "xxx") == 18
    # A block for another user adds nothing: the subsystem does not exist for this one.
    assert subsystem_exit(s, "yyy") != 17


def test_match_key_equals_value_applies(make_server, user):
    s = make_server(f"Match user=nobody-else\n  ForceCommand echo other\n"
                    f"Match user={TEST_USER} address=127.0.0.0/8\n  ForceCommand echo matched\n")
    r = s.ssh("echo unforced")
    assert r.stdout == "matched\n", r.stderr


def test_refuse_connection_for_a_user(make_server, user):
    s = make_server(f"Match user={TEST_USER}\n  RefuseConnection yes\n")
    r = s.ssh("true")
    assert r.returncode == 255
    assert s.wait_log(f"for user {TEST_USER}: RefuseConnection"), s.log_text()


def test_refuse_connection_by_address_before_key_exchange(make_server, user):
    s = make_server("Match Address 127.0.0.1\n  RefuseConnection yes\n")
    r = s.ssh("true")
    assert r.returncode == 255
    assert s.wait_log("Refusing connection from 127.0.0.1 port"), s.log_text()
    # Another address is served.
    other = make_server("Match Address 10.0.0.0/8\n  RefuseConnection yes\n")
    assert other.ssh("echo ok").stdout == "ok\n"


@pytest.fixture
def helper_dir():
    # Inside the build tree: a copied helper finds its siblings there (monitor/spawn.cpp).
    d = BUILD / f"helper-copy-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def test_sshd_session_path_runs_the_configured_copy(make_server, user, helper_dir):
    copy = helper_dir / "postern-sess"
    shutil.copy2(BUILD / "monitor" / "sshd-session", copy)
    os.chmod(copy, 0o755)
    s = make_server(f"SshdSessionPath {copy}")
    # The shell's ancestors: the monitor among them is the copy (its comm is the file's name).
    r = s.ssh('p=$$; while [ "$p" -gt 1 ]; do cat /proc/$p/comm; '
              "p=$(awk '{print $4}' /proc/$p/stat); done")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert "postern-sess" in r.stdout.split(), r.stdout
    out = subprocess.run([str(SSHD), "-T", "-f", str(s.config)], capture_output=True, text=True)
    assert f"sshdsessionpath {copy}\n" in out.stdout


def test_sshd_auth_path_runs_the_configured_program(make_server, user, helper_dir):
    marker = helper_dir / "ran"
    wrapper = helper_dir / "postern-net"
    wrapper.write_text(f"#!/bin/sh\necho yes > {marker}\nexec {BUILD / 'net' / 'sshd-net'} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    s = make_server(f"SshdAuthPath {wrapper}")
    assert s.ssh("echo ok").stdout == "ok\n", s.log_text()
    assert marker.read_text() == "yes\n"


@pytest.mark.parametrize("problem", ["missing", "group-writable", "relative"])
def test_unsafe_helper_path_stops_sshd(make_server, helper_dir, problem):
    copy = helper_dir / "sshd-session"
    shutil.copy2(BUILD / "monitor" / "sshd-session", copy)
    os.chmod(copy, 0o775 if problem == "group-writable" else 0o755)
    path = {"missing": helper_dir / "nothing", "group-writable": copy,
            "relative": "sshd-session"}[problem]
    s = make_server(f"SshdSessionPath {path}", start=False)
    r = subprocess.run([str(SSHD), "-t", "-f", str(s.config)], capture_output=True, text=True)
    assert r.returncode != 0
    want = {"missing": "No such file or directory", "group-writable": "writable by group or others",
            "relative": "must be an absolute path"}[problem]
    assert "SshdSessionPath" in r.stderr and want in r.stderr, r.stderr


def test_refuse_connection_penalty(make_server, user):
    # PerSourcePenalties refuseconnection (OpenSSH 10.0): one refused connection costs 30 s, past
    # min, so the listener drops the source's next connection before it reaches a monitor.
    s = make_server("PerSourcePenalties refuseconnection:30s noauth:0s min:15s\n"
                    "Match Address 127.0.0.1\n  RefuseConnection yes\n")
    assert s.ssh("true").returncode == 255
    assert s.wait_log("penalty of 30 seconds for penalty: connection prohibited by "
                      "RefuseConnection"), s.log_text()
    assert s.ssh("true").returncode == 255
    assert s.wait_log("drop connection"), s.log_text()


def test_openssh10_defaults_switch_drops_finite_field_dh(make_server, user):
    # OpenSSHDefaults 10 (postern's switch): OpenSSH 10's server KexAlgorithms, without
    # finite-field Diffie-Hellman; the default (9.2, Debian 12's) still offers it.
    dh_only = ["KexAlgorithms=diffie-hellman-group14-sha256"]
    old = make_server("")
    assert old.ssh("echo ok", options=dh_only).stdout == "ok\n"
    new = make_server("OpenSSHDefaults 10")
    r = new.ssh("echo ok", options=dh_only)
    assert r.returncode == 255
    assert new.wait_log("no matching key exchange method"), new.log_text()
    assert new.ssh("echo ok").stdout == "ok\n"


def test_match_invalid_user_applies_to_unknown_accounts_only(make_server, user, tmp_path):
    banner = tmp_path / "banner"
    banner.write_text("no such account here\n")
    s = make_server(f"Match invalid-user\n  Banner {banner}\n")
    # ssh shows a banner from LogLevel INFO on (the fixture's ERROR comes after ours).
    r = s.ssh("true", user="nosuchuser-pt17", options=["LogLevel=INFO"])
    assert r.returncode == 255
    assert "no such account here" in r.stderr, r.stderr
    ok = s.ssh("echo ok", options=["LogLevel=INFO"])
    assert ok.stdout == "ok\n"
    assert "no such account here" not in ok.stderr


def test_openssh10_defaults_penalise_invalid_users_and_refused_connections(make_server, user,
                                                                           tmp_path):
    # OpenSSHDefaults 10: PerSourcePenalties on with OpenSSH 10's values, which -T prints as
    # OpenSSH 10's sshd does.
    cfg = tmp_path / "defaults10_config"
    cfg.write_text("HostKey /dev/null\nOpenSSHDefaults 10\n")
    t = subprocess.run([str(SSHD), "-T", "-f", str(cfg)], capture_output=True, text=True,
                       check=True).stdout.splitlines()
    assert ("persourcepenalties crash:90 authfail:5 invaliduser:5 noauth:1 grace-exceeded:10 "
            "refuseconnection:10 max:600 min:15 max-sources4:65536 max-sources6:65536 "
            "overflow:permissive overflow6:permissive") in t
    assert "refuseconnection no" in t
    # A source that tries a name that is no account pays invaliduser (here past min at once, so
    # the test does not race the penalties' running down on a loaded machine) and is refused; a
    # source a Match block refuses pays refuseconnection (10 s); other sources are served.
    s = make_server("OpenSSHDefaults 10\nPerSourcePenalties invaliduser:30s\n"
                    "Match Address 127.0.0.3\n  RefuseConnection yes\n")
    guess = lambda: s.ssh("true", user="nosuchuser-pt17", options=["BindAddress=127.0.0.2"])  # noqa: E731
    assert guess().returncode == 255
    assert s.wait_log("srclimit_penalise: ipv4: new 127.0.0.2/32 active penalty of 30 seconds "
                      "for penalty: attempted authentication by invalid user"), s.log_text()
    assert guess().returncode == 255
    assert s.wait_log("drop connection #0 from [127.0.0.2]:"), s.log_text()
    assert s.ssh("true", options=["BindAddress=127.0.0.3"]).returncode == 255
    assert s.wait_log("srclimit_penalise: ipv4: new 127.0.0.3/32 deferred penalty of 10 seconds "
                      "for penalty: connection prohibited by RefuseConnection"), s.log_text()
    assert s.ssh("echo ok").stdout == "ok\n"


def test_openssh92_defaults_keep_penalties_off(make_server, user):
    s = make_server("Match Address 127.0.0.3\n  RefuseConnection yes\n")
    t = subprocess.run([str(SSHD), "-T", "-f", str(s.config)], capture_output=True, text=True,
                       check=True).stdout
    assert not any(l.startswith("persourcepenalties") for l in t.splitlines())
    for _ in range(4):
        assert s.ssh("true", user="nosuchuser-pt17").returncode == 255
    assert s.ssh("true", options=["BindAddress=127.0.0.3"]).returncode == 255
    assert s.wait_log("RefuseConnection"), s.log_text()
    assert "srclimit_penalise" not in s.log_text()
    assert s.ssh("echo ok").stdout == "ok\n"
