"""File events in bastion mode (issue 14, man/postern-bastion.5 `record`): with "sftp" in
`record`, the relay follows the sftp subsystem's stream and the legacy scp protocol (`scp -O`)
between the client and Debian's OpenSSH sshd, and the audit log gets one "file" event per file
operation: open, the bytes read or written with the SHA-256 of a file moved in whole, mkdir,
rename, remove, rmdir, with the server's result. Never the file's contents."""

import os
import subprocess
import tempfile

import pytest

from bastion_env import BastionEnv, Policy


@pytest.fixture(scope="module")
def env(keydir, user):
    e = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-fe-"), keydir)
    try:
        e.web1 = e.target("target")
        e.write_known_hosts(e.web1.known_hosts_line("127.0.0.1"))
        yield e
    finally:
        e.close()


def policy(env, record):
    p = Policy(env, record=record)
    p.user("alice", env.pub("alice"))
    p.target("web1", "127.0.0.1", env.web1.port, [env.target_user])
    p.role("ops", ["alice"], ["web1"], [env.target_user], ["shell", "exec", "sftp", "scp"])
    return p


@pytest.fixture(scope="module")
def bastion(env):
    b = env.make_bastion(policy(env, ["shell", "exec", "sftp"]))
    yield b
    b.stop()


def route(env):
    return f"{env.target_user}%web1%alice"


def client_options(env, b):
    return ["-F", "/dev/null", "-i", str(env.keys["alice"]), "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


def sftp_batch(env, b, batch):
    r = subprocess.run(["sftp", "-P", str(b.port)] + client_options(env, b) +
                       ["-b", "-", f"{route(env)}@127.0.0.1"],
                       input=batch, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def scp(env, b, protocol, src, dst):
    r = subprocess.run(["scp", protocol, "-P", str(b.port)] + client_options(env, b) + [src, dst],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def sha256sum(path):
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def file_details(env, mark, until):
    """The details of the "file" events after `mark`, once one contains `until`."""
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "file" and until in e["detail"]
                                                for e in evs))
    files = [e for e in evs if e["event"] == "file"]
    for e in files:
        assert e["bastion_user"] == "alice" and e["target"] == "web1"
        assert e["target_user"] == env.target_user
    return files


def one(files, prefix, name):
    """The one event whose detail starts with `prefix` and names the file `name`."""
    hits = [e for e in files if e["detail"].startswith(prefix + " ") and
            (f"/{name} " in e["detail"] or e["detail"].startswith(f"{prefix} {name} "))]
    assert len(hits) == 1, (prefix, name, [e["detail"] for e in files])
    return hits[0]


def test_sftp_operations_are_audited_with_sizes_and_hashes(env, bastion, tmp_path):
    src = tmp_path / "put.bin"
    src.write_bytes(os.urandom((1 << 20) + 12345))
    got = tmp_path / "got.bin"
    mark = env.audit_mark()
    sftp_batch(env, bastion, f"mkdir fe-dir\nput {src} fe-dir/a.bin\nget fe-dir/a.bin {got}\n"
                             f"rename fe-dir/a.bin fe-dir/b.bin\n-rm fe-dir/missing.bin\n"
                             f"rm fe-dir/b.bin\nrmdir fe-dir\n")
    assert got.read_bytes() == src.read_bytes()
    files = file_details(env, mark, "rmdir ")
    sha = sha256sum(src)
    size = src.stat().st_size
    assert all(e["channel"] == "sftp" for e in files)
    details = [e["detail"] for e in files]
    assert one(files, "mkdir", "fe-dir")["detail"].endswith(" ok")
    opens = [d for d in details if d.startswith("open ")]
    assert len(opens) == 2, details
    assert "/fe-dir/a.bin flags=write,creat,trunc ok" in opens[0], opens
    assert "/fe-dir/a.bin flags=read ok" in opens[1], opens
    write = one(files, "write", "a.bin")
    assert write["detail"].endswith(f" {size} bytes sha256={sha} ok"), write
    assert write["bytes_up"] == size and write["bytes_down"] == 0
    read = one(files, "read", "a.bin")
    assert read["detail"].endswith(f" {size} bytes sha256={sha} ok"), read
    assert read["bytes_down"] == size
    rename = one(files, "rename", "a.bin")
    assert rename["detail"].endswith("/fe-dir/b.bin ok"), rename
    assert one(files, "remove", "missing.bin")["detail"].endswith(" error: no such file")
    assert one(files, "remove", "b.bin")["detail"].endswith(" ok")
    assert one(files, "rmdir", "fe-dir")["detail"].endswith(" ok")
    # Order: as the operations happened.
    ops = [d.split()[0] for d in details]
    assert ops == ["mkdir", "open", "write", "open", "read", "rename", "remove", "remove",
                   "rmdir"], details
    # No contents: the audit log is far smaller than the file and holds no chunk of it.
    assert os.path.getsize(env.audit_log) < size


@pytest.mark.parametrize("protocol", ["-O", "-s"], ids=["scp-protocol", "sftp-protocol"])
def test_scp_uploads_and_downloads_are_audited(env, bastion, tmp_path, protocol):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(300000))
    name = f"fe-scp{protocol}.bin"
    remote = f"{route(env)}@127.0.0.1:{name}"
    mark = env.audit_mark()
    scp(env, bastion, protocol, str(src), remote)
    back = tmp_path / "down.bin"
    scp(env, bastion, protocol, remote, str(back))
    assert back.read_bytes() == src.read_bytes()
    files = file_details(env, mark, "read ")
    channel = "scp" if protocol == "-O" else "sftp"
    assert all(e["channel"] == channel for e in files), files
    sha = sha256sum(src)
    write = one(files, "write", name)
    assert write["detail"].endswith(f" 300000 bytes sha256={sha} ok"), [e["detail"] for e in files]
    read = one(files, "read", name)
    assert read["detail"].endswith(f" 300000 bytes sha256={sha} ok"), read
    opens = [e["detail"] for e in files if e["detail"].startswith("open ")]
    assert len(opens) == 2 and "write" in opens[0] and "flags=read" in opens[1], opens
    subprocess.run(["rm", "-f", os.path.expanduser(f"~{env.target_user}/{name}")])


def test_a_refused_scp_upload_is_audited_with_the_error(env, bastion, tmp_path):
    src = tmp_path / "up.bin"
    src.write_bytes(b"x" * 1000)
    mark = env.audit_mark()
    r = subprocess.run(["scp", "-O", "-P", str(bastion.port)] + client_options(env, bastion) +
                       [str(src), f"{route(env)}@127.0.0.1:/nonexistent-dir/x.bin"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    files = file_details(env, mark, "open ")
    assert files[0]["detail"].startswith(
        "open /nonexistent-dir/x.bin flags=write name=up.bin error: "), files
    assert "No such file or directory" in files[0]["detail"]


def test_without_sftp_in_record_there_are_no_file_events(env, tmp_path):
    b = env.make_bastion(policy(env, ["shell", "exec"]), name="bastion-norec")
    src = tmp_path / "put.bin"
    src.write_bytes(b"y" * 5000)
    mark = env.audit_mark()
    sftp_batch(env, b, f"put {src} fe-norec.bin\nrm fe-norec.bin\n")
    evs = env.audit_since(mark, lambda evs: any(e["event"] == "channel-close" for e in evs))
    assert any(e["event"] == "channel-close" for e in evs)
    assert not any(e["event"] == "file" for e in evs), evs
    b.stop()
