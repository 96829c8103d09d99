"""HostKeyAgent (sshd_config(5)): the host keys' private halves live in an ssh-agent; the server
has only the public key files and asks the agent for each signature. The stock ssh client checks
the host key against known_hosts (plain keys, RSA with both SHA-2 algorithms, and a host
certificate through @cert-authority)."""

import os
import subprocess
import time

import pytest

from conftest import SSHD


@pytest.fixture
def agent(tmp_path):
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert sock.exists(), "ssh-agent did not start"
    yield sock
    proc.terminate()
    proc.wait(timeout=10)


def ssh_add(agent, *args):
    env = dict(os.environ, SSH_AUTH_SOCK=str(agent))
    subprocess.run(["ssh-add", "-q", *args], env=env, check=True, capture_output=True)


def agent_host_key(agent, tmp_path, kind):
    """A new host key loaded into the agent; only its .pub stays on disk."""
    path = tmp_path / f"agent_host_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", kind, "-f", str(path)], check=True)
    ssh_add(agent, str(path))
    path.unlink()
    return path


def agent_server(make_server, agent, host_keys, extra=""):
    """A server whose only host keys are `host_keys` (paths), HostKeyAgent `agent`."""
    s = make_server(start=False)
    base = "".join(l + "\n" for l in s.config.read_text().splitlines() if not l.startswith("HostKey "))
    s.config.write_text(base + f"HostKeyAgent {agent}\n" +
                        "".join(f"HostKey {p}\n" for p in host_keys) + extra)
    return s.start()


def strict_ssh(s, known_hosts, algorithms):
    opts = ["StrictHostKeyChecking=yes", f"UserKnownHostsFile={known_hosts}",
            f"HostKeyAlgorithms={algorithms}"]
    return s.ssh("echo served-by-agent-key", options=opts)


def test_plain_host_keys_sign_through_the_agent(make_server, user, agent, tmp_path):
    ed = agent_host_key(agent, tmp_path, "ed25519")
    rsa = agent_host_key(agent, tmp_path, "rsa")
    s = agent_server(make_server, agent, [ed, rsa])
    known = tmp_path / "known_hosts_plain"
    known.write_text("".join(f"[127.0.0.1]:{s.port} {(p.parent / (p.name + '.pub')).read_text()}"
                             for p in (ed, rsa)))
    for alg in ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"):
        r = strict_ssh(s, known, alg)
        assert r.returncode == 0, (alg, r.stderr, s.log_text())
        assert r.stdout == "served-by-agent-key\n"
    # A key the client does not know is still refused: the agent's key is the one served.
    other = tmp_path / "other_host"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(other)], check=True)
    known.write_text(f"[127.0.0.1]:{s.port} " + (tmp_path / "other_host.pub").read_text())
    r = strict_ssh(s, known, "ssh-ed25519")
    assert r.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in r.stderr


def test_host_certificate_of_an_agent_key(make_server, user, agent, tmp_path):
    ca = tmp_path / "host_ca"
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", str(ca)], check=True)
    key = agent_host_key(agent, tmp_path, "ecdsa")
    pub = tmp_path / (key.name + ".pub")
    subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-h", "-I", "agent-host", "-n", "127.0.0.1",
                    str(pub)], check=True)
    # HostKey names the .pub itself, as OpenSSH's own hostkey-agent test writes it.
    s = agent_server(make_server, agent, [pub],
                     f"HostCertificate {tmp_path / (key.name + '-cert.pub')}\n")
    known = tmp_path / "known_hosts_ca"
    known.write_text("@cert-authority [127.0.0.1]:* " + (tmp_path / "host_ca.pub").read_text())
    r = strict_ssh(s, known, "ecdsa-sha2-nistp256-cert-v01@openssh.com")
    assert r.returncode == 0, r.stderr + s.log_text()
    assert r.stdout == "served-by-agent-key\n"


def test_a_key_the_agent_does_not_hold_is_not_loaded(make_server, agent, tmp_path):
    key = agent_host_key(agent, tmp_path, "ed25519")
    ssh_add(agent, "-D")  # the agent forgets it; the .pub alone is no host key
    s = make_server(start=False)
    base = "".join(l + "\n" for l in s.config.read_text().splitlines() if not l.startswith("HostKey "))
    s.config.write_text(base + f"HostKeyAgent {agent}\nHostKey {key}\n")
    r = subprocess.run([str(SSHD), "-t", "-f", str(s.config)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "no hostkeys available" in r.stderr, r.stderr
