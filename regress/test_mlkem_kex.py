"""mlkem768x25519-sha256 and mlkem768nistp256-sha256 end to end (issue 17): postern's client
transport (net/transport_probe_client, the code the bastion's outbound connections use) against
postern's sshd offering only that method: key exchange, publickey login, a re-exchange with the
same method, and a command run on a session channel.

Debian 12's OpenSSH 9.2 client does not know the names: it refuses them in its own configuration
("Bad SSH2 KexAlgorithms"), and against a server that offers nothing else finds no common method.
That is the client's limit, not postern's, and is checked here so the note stays true."""

import subprocess

import pytest

from conftest import BUILD

PROBE = BUILD / "net" / "transport_probe_client"
METHODS = ["mlkem768x25519-sha256", "mlkem768nistp256-sha256"]


def probe(server, keydir, user, kex, command):
    return subprocess.run([str(PROBE), "-o", f"kex={kex}", "-i", str(keydir / "id_ed25519"), "-l",
                           user.pw_name, "-c", command, str(server.port)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kex", METHODS)
def test_client_transport_negotiates_it_and_runs_a_command(make_server, keydir, user, kex):
    s = make_server(f"KexAlgorithms {kex}\n")
    r = probe(s, keydir, user, kex, "echo pq-$((6*7))")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert f"kex: {kex}" in r.stdout, r.stdout
    assert "authenticated" in r.stdout and "reply after rekey" in r.stdout, r.stdout
    assert "command output: pq-42\n" in r.stdout and "exit status: 0" in r.stdout, r.stdout


def test_default_offer_does_not_reach_an_mlkem_only_server(make_server, keydir, user):
    # Not in the default list (Debian 12's): a client offering the defaults finds nothing in
    # common, so the test above really negotiated the configured method.
    s = make_server("KexAlgorithms mlkem768x25519-sha256\n")
    r = subprocess.run([str(PROBE), str(s.port)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "no matching key exchange method found" in r.stderr, r.stderr


def test_caret_puts_it_first_and_debian_ssh_still_connects(make_server, user):
    s = make_server("KexAlgorithms ^mlkem768x25519-sha256\n")
    r = s.ssh("true", extra=("-v",))
    assert r.returncode == 0, r.stderr
    assert "kex: algorithm: sntrup761x25519-sha512" in r.stderr, r.stderr


def test_debian_ssh_does_not_know_the_names(make_server, user):
    s = make_server("KexAlgorithms mlkem768x25519-sha256\n")
    r = s.ssh("true", options=("KexAlgorithms=mlkem768x25519-sha256",))
    assert r.returncode == 255 and "Bad SSH2 KexAlgorithms" in r.stderr, r.stderr
    r = s.ssh("true")
    assert r.returncode == 255
    assert s.wait_log("no matching key exchange method found"), s.log_text()
