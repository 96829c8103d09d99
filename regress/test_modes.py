"""How the connection arrives: inetd mode (-i), debug mode (-d), the command line."""

import subprocess

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
