"""Every key exchange, host key, cipher and MAC of issue 2, negotiated and used by the real
OpenSSH client (the client is offered exactly one, so success means it was used)."""

import subprocess

import pytest

KEX = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org",
       "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
       "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512",
       "diffie-hellman-group18-sha512", "diffie-hellman-group-exchange-sha256"]
HOSTKEYS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
            "rsa-sha2-512", "rsa-sha2-256"]
CIPHERS = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
           "aes128-ctr", "aes192-ctr", "aes256-ctr"]
MACS = ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha1", "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com",
        "umac-128@openssh.com", "umac-64-etm@openssh.com", "umac-128-etm@openssh.com"]


@pytest.fixture(scope="module")
def algo_server(keydir, user, tmp_path_factory):
    from conftest import Server
    keys = "\n".join(f"HostKey {keydir}/host_{t}" for t in ("ecdsa384", "ecdsa521"))
    s = Server(keydir, tmp_path_factory.mktemp("algos"), keys).start()
    yield s
    s.stop()


def run(server, options):
    r = server.ssh("echo ok", options=options + ["LogLevel=DEBUG1"])
    assert r.stdout == "ok\n", r.stderr[-2000:]
    return r.stderr


@pytest.mark.parametrize("kex", KEX)
def test_kex(algo_server, kex):
    err = run(algo_server, [f"KexAlgorithms={kex}"])
    assert f"kex: algorithm: {kex}" in err


@pytest.mark.parametrize("hostkey", HOSTKEYS)
def test_host_key(algo_server, hostkey):
    err = run(algo_server, [f"HostKeyAlgorithms={hostkey}"])
    assert f"kex: host key algorithm: {hostkey}" in err


@pytest.mark.parametrize("cipher", CIPHERS)
def test_cipher(algo_server, cipher):
    err = run(algo_server, [f"Ciphers={cipher}"])
    assert f"kex: server->client cipher: {cipher}" in err


@pytest.mark.parametrize("mac", MACS)
def test_mac(algo_server, mac):
    err = run(algo_server, ["Ciphers=aes128-ctr", f"MACs={mac}"])
    assert f"MAC: {mac}" in err


def test_ssh_rsa_only_when_configured(make_server, user):
    s = make_server()
    r = s.ssh("true", options=["HostKeyAlgorithms=ssh-rsa"])
    assert r.returncode == 255
    s2 = make_server("HostKeyAlgorithms +ssh-rsa")
    r = s2.ssh("echo ok", options=["HostKeyAlgorithms=ssh-rsa"])
    assert r.stdout == "ok\n", r.stderr


def test_strict_kex_and_ext_info_offered(server):
    err = run(server, ["LogLevel=DEBUG3"])
    assert "kex-strict-s-v00@openssh.com" in err
    assert "server-sig-algs" in err


def test_keyscan_sees_every_host_key(algo_server, keydir):
    r = subprocess.run(["ssh-keyscan", "-p", str(algo_server.port), "-t", "ed25519,ecdsa,rsa",
                        "127.0.0.1"], capture_output=True, text=True, timeout=30)
    found = {line.split()[1] for line in r.stdout.splitlines() if not line.startswith("#")}
    assert {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"} <= found
