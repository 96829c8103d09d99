"""The stock clients through bastion mode's direct mode (`targetuser%target%bastionuser`): scp
in both protocols, sftp, rsync, git, Ansible, plink and paramiko, each as its users run it. The
world: regress/bastion_world.py."""

import os
import re
import subprocess

import pytest

from bastion_env import fingerprint, which
from bastion_world import client_config, paramiko_as_alice, route, via, w  # noqa: F401 (w is the fixture)


# ---- stock clients -------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", ["-O", "-s"], ids=["scp-protocol", "sftp-protocol"])
def test_scp_both_protocols(w, tmp_path, protocol):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(3 << 20))
    base = ["scp", protocol, "-F", "/dev/null", "-P", str(w.bastion.port), "-i", str(w.env.keys["alice"]),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    remote = f"{route(w)}@127.0.0.1:scp{protocol}.bin"
    r = subprocess.run(base + [str(src), remote], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    back = tmp_path / "down.bin"
    r = subprocess.run(base + [remote, str(back)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert back.read_bytes() == src.read_bytes()


def test_sftp(w, tmp_path):
    src = tmp_path / "put.bin"
    src.write_bytes(os.urandom(2 << 20))
    got = tmp_path / "got.bin"
    batch = f"put {src} sftp-put.bin\nls -l sftp-put.bin\nget sftp-put.bin {got}\nrm sftp-put.bin\n"
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(w.bastion.port), "-i", str(w.env.keys["alice"]),
                        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-b", "-", f"{route(w)}@127.0.0.1"],
                       input=batch, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "sftp-put.bin" in r.stdout
    assert got.read_bytes() == src.read_bytes()


def test_rsync(w, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("rsync through the bastion\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(100000))
    cfg = client_config(w, tmp_path / "ssh_config", w.env.keys["alice"])
    r = subprocess.run(["rsync", "-a", "-e", f"ssh -F {cfg} -p {w.bastion.port}", f"{src}/",
                        f"{route(w)}@127.0.0.1:rsync-tree/"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = via(w, "sha256sum rsync-tree/a.txt rsync-tree/sub/b.bin; rm -rf rsync-tree")
    import hashlib
    assert hashlib.sha256((src / "a.txt").read_bytes()).hexdigest() in r.stdout
    assert hashlib.sha256((src / "sub" / "b.bin").read_bytes()).hexdigest() in r.stdout


def test_git_clone_and_push(w, tmp_path):
    assert via(w, "rm -rf bastion-repo.git; git init -q --bare bastion-repo.git").returncode == 0
    cfg = client_config(w, tmp_path / "ssh_config", w.env.keys["alice"])
    env = dict(os.environ, GIT_SSH_COMMAND=f"ssh -F {cfg} -p {w.bastion.port}")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]
    clone = tmp_path / "clone"
    r = subprocess.run(git + ["clone", "-q", f"{route(w)}@127.0.0.1:bastion-repo.git", str(clone)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (clone / "f").write_text("x\n")
    subprocess.run(git + ["-C", str(clone), "add", "f"], check=True)
    subprocess.run(git + ["-C", str(clone), "commit", "-q", "-m", "through the bastion"], check=True)
    r = subprocess.run(git + ["-C", str(clone), "push", "-q", "origin", "HEAD:main"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = via(w, "git --git-dir=bastion-repo.git log --format=%s main; rm -rf bastion-repo.git")
    assert r.stdout == "through the bastion\n"


@pytest.mark.skipif(not which("ansible"), reason="ansible-core not installed (scripts/deps test installs it)")
def test_ansible_ssh_connection(w, tmp_path):
    inv = tmp_path / "inventory.ini"
    inv.write_text(f"web1 ansible_host=127.0.0.1 ansible_port={w.bastion.port} "
                   f"ansible_user={route(w)} ansible_ssh_private_key_file={w.env.keys['alice']} "
                   "ansible_python_interpreter=/usr/bin/python3\n")
    env = dict(os.environ, HOME=str(tmp_path), LANG="C.UTF-8", LC_ALL="C.UTF-8",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_SSH_ARGS="-F /dev/null -o IdentitiesOnly=yes -o ControlMaster=no "
                                "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no")
    # The command module: Ansible copies a module over sftp/scp, then runs python on the target.
    # stdin from /dev/null: Ansible refuses a non-blocking stdin (as CI's runner may hand down).
    r = subprocess.run(["ansible", "web1", "-i", str(inv), "-m", "command", "-a", "id -un"],
                       env=env, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"web1 \| CHANGED \| rc=0 >>\n{re.escape(w.tu)}\n", r.stdout), r.stdout


@pytest.mark.skipif(not which("plink"), reason="putty-tools not installed")
def test_plink(w, tmp_path):
    ppk = tmp_path / "alice.ppk"
    subprocess.run(["puttygen", str(w.env.keys["alice"]), "-o", str(ppk), "-O", "private"],
                   check=True, capture_output=True)
    r = subprocess.run(["plink", "-batch", "-ssh", "-P", str(w.bastion.port), "-i", str(ppk),
                        "-hostkey", fingerprint(w.keydir / "host_ed25519.pub"),
                        f"{route(w)}@127.0.0.1", "echo plink-ok; id -un; exit 4"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.stdout == f"plink-ok\n{w.tu}\n", r.stderr
    assert r.returncode == 4


def test_paramiko(w):
    paramiko = pytest.importorskip("paramiko")
    c = paramiko_as_alice(w, paramiko)
    try:
        _, out, err = c.exec_command("echo paramiko-ok; echo e >&2; exit 2")
        assert out.read() == b"paramiko-ok\n"
        assert err.read() == b"e\n"
        assert out.channel.recv_exit_status() == 2
    finally:
        c.close()
