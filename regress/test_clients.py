"""Other real clients: PuTTY's plink, Dropbear's dbclient, paramiko."""

import shutil
import subprocess

import pytest

from conftest import TEST_USER


def host_fingerprint(keydir, name="host_ed25519"):
    out = subprocess.run(["ssh-keygen", "-lf", str(keydir / f"{name}.pub")], capture_output=True,
                         text=True, check=True).stdout
    return out.split()[1]


@pytest.mark.skipif(not shutil.which("plink"), reason="putty-tools not installed")
def test_plink_exec(server, keydir, tmp_path):
    ppk = tmp_path / "id.ppk"
    subprocess.run(["puttygen", str(keydir / "id_ed25519"), "-o", str(ppk), "-O", "private"],
                   check=True, capture_output=True)
    r = subprocess.run(["plink", "-batch", "-ssh", "-P", str(server.port), "-i", str(ppk),
                        "-hostkey", host_fingerprint(keydir), f"{TEST_USER}@127.0.0.1",
                        "echo plink-ok; exit 4"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.stdout == "plink-ok\n", r.stderr
    assert r.returncode == 4


@pytest.mark.skipif(not shutil.which("dbclient"), reason="dropbear-bin not installed")
def test_dropbear_client_exec(server, keydir, tmp_path):
    dbkey = tmp_path / "id_dropbear"
    subprocess.run(["dropbearconvert", "openssh", "dropbear", str(keydir / "id_ed25519"), str(dbkey)],
                   check=True, capture_output=True)
    r = subprocess.run(["dbclient", "-y", "-y", "-p", str(server.port), "-i", str(dbkey),
                        f"{TEST_USER}@127.0.0.1", "echo dropbear-ok"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.stdout == "dropbear-ok\n", r.stderr


def test_paramiko_exec(server, keydir):
    paramiko = pytest.importorskip("paramiko")
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    c.connect("127.0.0.1", port=server.port, username=TEST_USER,
              key_filename=str(keydir / "id_ed25519"), look_for_keys=False, allow_agent=False)
    try:
        _, out, err = c.exec_command("echo paramiko-ok; echo e >&2; exit 2")
        assert out.read() == b"paramiko-ok\n"
        assert err.read() == b"e\n"
        assert out.channel.recv_exit_status() == 2
    finally:
        c.close()
