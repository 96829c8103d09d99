"""Bastion mode (`sshd -B`): who may reach what (man/postern-bastion.5). Policy users and their
key options, user certificates, system accounts with PAM and AuthenticationMethods; deny by
default, roles by member, group, tag, CIDR and host glob, target users, source; the credential
the bastion logs in to the target with (certificate from a template, stored key, forwarded
agent); the target's host key against known_hosts; bad user names and bad targets; the policy
file checked by -t, printed by -T, reloaded on SIGHUP. Sessions themselves: test_bastion.py."""

import datetime
import os
import re
import signal
import subprocess
import tempfile
import time
from types import SimpleNamespace

import pytest

from bastion_env import (BastionEnv, Policy, disconnect_line, fingerprint, keygen, wait_until, which)
from conftest import SSHD, TEST_USER

TU = TEST_USER
OTHER_TARGETS = ("web1", "stranger", "moved", "hashed", "mute", "babbler", "secret")


@pytest.fixture(scope="module")
def p(keydir, user):
    """One OpenSSH target listening on 127.0.0.1..5 (one daemon, several targets), stand-ins that
    never answer, babble or count, and one bastion with the module's policy."""
    env = BastionEnv(tempfile.mkdtemp(prefix="postern-bastion-policy-"), keydir)
    try:
        t = env.target("target", addresses=tuple(f"127.0.0.{i}" for i in range(1, 6)))
        mute, babbler, decoy = env.listener("silent"), env.listener("garbage"), env.listener("count")
        other_key = keygen(env.dir / "some_other_host_key")
        hashed = env.dir / "hashed_known_hosts"
        hashed.write_text(t.known_hosts_line("127.0.0.4"))
        subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
        other = open(f"{other_key}.pub").read().split()
        env.write_known_hosts(
            t.known_hosts_line("127.0.0.1") + t.known_hosts_line("127.0.0.5") +
            t.known_hosts_line("localhost") + f"[127.0.0.3]:{t.port} {other[0]} {other[1]}\n" +
            hashed.read_text())
        pol = Policy(env)
        for name in ("alice", "bob", "frank", "gina", "henry", "ivan"):
            pol.user(name, env.pub(name))
        pol.user("dave", f'from="10.9.0.0/16" {env.pub("dave")}')
        pol.user("erin")  # certificates only (TrustedUserCAKeys)
        pol.user("carol", env.pub("carol"))
        pol.target("web1", "127.0.0.1", t.port, [TU, "root"], tags=["web"])
        pol.target("stranger", "127.0.0.2", t.port, [TU])
        pol.target("moved", "127.0.0.3", t.port, [TU])
        pol.target("hashed", "127.0.0.4", t.port, [TU])
        pol.target("mute", "127.0.0.1", mute.port, [TU])
        pol.target("babbler", "127.0.0.1", babbler.port, [TU])
        pol.target("secret", "127.0.0.1", decoy.port, [TU])
        pol.role("ops", ["alice"], ["web1", "stranger", "moved", "hashed", "mute", "babbler"], [TU],
                 ["shell", "exec", "sftp", "scp"])
        pol.role("sys", [f"group:{TU}"], ["tag:web"], [TU], ["exec"])
        pol.role("certs", ["erin"], ["web1"], [TU], ["exec"])
        pol.role("stored", ["frank"], ["web1"], [TU], ["exec"], credential=f"key:{env.stored_key}")
        pol.role("agent", ["gina"], ["web1"], [TU], ["exec"], credential="agent")
        pol.role("far", ["henry"], ["web1"], [TU], ["exec"], source=["10.0.0.0/8"])
        pol.role("patterns", ["ivan"], ["127.0.0.5/32", "local*"], [TU], ["exec"])
        pol.role("wrong-principal", ["carol"], ["web1"], [TU], ["exec"], template="restricted")
        b = env.make_bastion(pol)
        yield SimpleNamespace(env=env, target=t, bastion=b, mute=mute, babbler=babbler, decoy=decoy,
                              policy=pol, keydir=keydir)
    finally:
        env.close()


def go(p, who, target="web1", command="echo ok", tu=TU, key=None, **kw):
    return p.bastion.ssh(f"{tu}%{target}%{who}", command, key or p.env.keys[who], **kw)


def refused(r, *must_name):
    """The route refused at login: one disconnect line naming what was typed, no other target."""
    line = disconnect_line(r.stderr)
    assert r.returncode == 255 and line, r.stderr
    for word in must_name:
        assert word in line, line
    return line


def assert_names_no_other_target(line, allowed=()):
    for name in OTHER_TARGETS:
        if name not in allowed:
            assert name not in line, line


# ---- bastion users ---------------------------------------------------------------------------------

def test_policy_user_key(p):
    assert go(p, "alice").stdout == "ok\n"


def test_policy_user_key_options_are_honoured(p):
    r = go(p, "dave")  # from="10.9.0.0/16": not from 127.0.0.1
    assert r.returncode == 255 and "Permission denied" in r.stderr, r.stderr
    assert p.bastion.wait_log("dave")


def user_cert(p, tmp_path, principal):
    key = keygen(tmp_path / f"cert_{principal}")
    subprocess.run(["ssh-keygen", "-q", "-s", str(p.env.user_ca), "-I", f"{principal}-id", "-n", principal,
                    str(key) + ".pub"], check=True, capture_output=True)
    return key


def test_user_certificate_whose_principal_names_the_policy_user(p, tmp_path):
    key = user_cert(p, tmp_path, "erin")
    r = go(p, "erin", command="id -un", key=key, options=[f"CertificateFile={key}-cert.pub"])
    assert r.stdout == f"{TU}\n", r.stderr
    key = user_cert(p, tmp_path, "mallory")
    r = go(p, "erin", key=key, options=[f"CertificateFile={key}-cert.pub"])
    assert r.returncode == 255 and "Permission denied" in r.stderr


def test_system_account_by_group_and_tag(p):
    # The test account is a system account (authorized_keys) in its own group; role "sys" grants
    # group:<it> the targets tagged web.
    r = go(p, TU, command="id -un", key=p.keydir / "id_ed25519")
    assert r.stdout == f"{TU}\n", r.stderr
    r = go(p, TU, target="stranger", key=p.keydir / "id_ed25519")
    refused(r)


def test_no_one_gets_a_shell_on_the_bastion_host(p):
    r = p.bastion.ssh(TU, "id; echo ran-on-bastion", p.keydir / "id_ed25519")
    assert r.returncode != 0 and "ran-on-bastion" not in r.stdout and "uid=" not in r.stdout


def test_policy_user_wins_over_a_system_account_of_the_same_name(p):
    pol = Policy(p.env, audit_log=p.env.dir / "audit-same-name.jsonl")
    pol.user(TU, open(p.keydir / "id_other.pub").read().strip())
    pol.target("web1", "127.0.0.1", p.target.port, [TU])
    pol.role("same-name", [TU], ["web1"], [TU], ["exec"])
    b = p.env.make_bastion(pol)
    r = b.ssh(f"{TU}%web1%{TU}", "echo as-policy-user", p.keydir / "id_other")
    assert r.stdout == "as-policy-user\n", r.stderr
    # The account's own authorized_keys no longer lets anyone in under that name.
    r = b.ssh(f"{TU}%web1%{TU}", "echo as-account", p.keydir / "id_ed25519")
    assert r.returncode == 255 and "as-account" not in r.stdout
    b.stop()


@pytest.mark.skipif(not which("sshpass"), reason="sshpass not installed")
def test_system_account_with_pam_and_authentication_methods(p):
    password = "Bastion-pw-7"
    subprocess.run(["chpasswd"], input=f"{TU}:{password}\n", text=True, check=True)
    try:
        b = p.env.make_bastion(p.policy, extra_config="UsePAM yes\nPasswordAuthentication yes\n"
                                                      "AuthenticationMethods publickey,password\n")
        r = b.ssh(f"{TU}%web1%{TU}", "echo one-factor", p.keydir / "id_ed25519")
        assert r.returncode == 255 and "one-factor" not in r.stdout
        args = ["sshpass", "-p", password] + b.ssh_args(
            f"{TU}%web1%{TU}", p.keydir / "id_ed25519",
            options=["BatchMode=no", "NumberOfPasswordPrompts=1",
                     "PreferredAuthentications=publickey,password"]) + ["echo two-factors"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert r.stdout == "two-factors\n", r.stderr + b.log_text()[-2000:]
        assert b.wait_log(f"Accepted password for {TU} from 127.0.0.1 port ")
        b.stop()
    finally:
        subprocess.run(["usermod", "-p", "*", TU], check=True)


# ---- decisions -----------------------------------------------------------------------------------

def test_deny_by_default_one_line_and_one_audit_event(p):
    mark = p.env.audit_mark()
    line = refused(go(p, "bob"), "postern:")
    assert "\n" not in line
    assert_names_no_other_target(line, allowed=("web1",))
    events = p.env.audit_since(mark, lambda evs: any(e["bastion_user"] == "bob" for e in evs))
    bob = [e for e in events if e["bastion_user"] == "bob"]
    assert len(bob) == 1, bob
    e = bob[0]
    assert (e["event"], e["decision"], e["role"], e["target"], e["target_user"]) == \
        ("login", "deny", "", "web1", TU)
    assert e["reason"]
    assert wait_until(lambda: any("audit: " in ln and "bob" in ln and "deny" in ln
                                  for ln in p.bastion.log_text().splitlines()), 5)


def test_target_user_no_role_grants(p):
    line = refused(go(p, "alice", tu="root"), "root")
    assert_names_no_other_target(line, allowed=("web1",))


def test_unknown_target_names_no_other_target(p):
    line = refused(go(p, "alice", target="nosuchhost"))
    assert_names_no_other_target(line)


def test_target_no_role_grants_is_never_contacted(p):
    line = refused(go(p, "alice", target="secret"))
    assert_names_no_other_target(line, allowed=("secret",))
    refused(p.bastion.ssh(f"{TU}%127.0.0.1%{p.decoy.port}%alice", "echo no", p.env.keys["alice"]))
    time.sleep(0.3)
    assert p.decoy.accepted == 0


def test_role_source_addresses(p):
    refused(go(p, "henry"))  # the role applies from 10.0.0.0/8 only


def test_channels_the_role_does_not_grant(p, tmp_path):
    # "sys" grants exec only: no shell, no sftp.
    key = p.keydir / "id_ed25519"
    r = p.bastion.ssh(f"{TU}%web1%{TU}", None, key, extra=["-tt"], input="echo shell-ran; exit\n")
    assert "shell-ran" not in r.stdout and r.returncode != 0
    assert "shell" in r.stderr, r.stderr
    r = subprocess.run(["sftp", "-F", "/dev/null", "-P", str(p.bastion.port), "-i", str(key),
                        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "-b", "-", f"{TU}%web1%{TU}@127.0.0.1"],
                       input="ls\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "sftp" in r.stderr, r.stderr


def test_address_patterns_cidr_and_host_glob(p):
    # Neither 127.0.0.5 nor "localhost" is a [[target]]: only ivan's role patterns allow them.
    r = p.bastion.ssh(f"{TU}%127.0.0.5%{p.target.port}%ivan", "echo cidr", p.env.keys["ivan"])
    assert r.stdout == "cidr\n", r.stderr
    r = p.bastion.ssh(f"{TU}%localhost%{p.target.port}%ivan", "echo glob", p.env.keys["ivan"])
    assert r.stdout == "glob\n", r.stderr
    refused(p.bastion.ssh(f"{TU}%127.0.0.5%{p.target.port}%alice", "echo no", p.env.keys["alice"]))


# ---- credentials ---------------------------------------------------------------------------------

def cert_seen_by_target(p, tmp_path, who="alice"):
    """Runs a command on the target that prints the certificate it accepted (ExposeAuthInfo),
    returns ssh-keygen -L's fields and the time of the login."""
    now = time.time()
    r = go(p, who, command='cat "$SSH_USER_AUTH"')
    assert r.returncode == 0, r.stderr
    method, blob = r.stdout.split(" ", 1)
    assert method == "publickey" and "-cert-v01@openssh.com" in blob
    f = tmp_path / "cert.pub"
    f.write_text(blob)
    text = subprocess.run(["ssh-keygen", "-L", "-f", str(f)], capture_output=True, text=True,
                          check=True).stdout
    return text, now


def test_certificate_from_the_template(p, tmp_path):
    mark = p.env.audit_mark()
    text, now = cert_seen_by_target(p, tmp_path)
    m = re.search(r'Key ID: "alice@postern from 127\.0\.0\.1 serial (\d+) session ([0-9a-f]{16})"', text)
    assert m, text
    serial, session = m.groups()
    assert re.search(rf"Serial: {serial}\n", text)
    assert re.search(rf"Principals: \n\s+{re.escape(TU)}\n\s+Critical", text)  # empty = target user
    exts = re.search(r"Extensions: \n((?:\s+\S+\n)+)", text).group(1).split()
    assert sorted(exts) == sorted(["permit-pty", "permit-port-forwarding", "permit-agent-forwarding",
                                   "permit-X11-forwarding", "permit-user-rc"])
    assert fingerprint(f"{p.env.ca}.pub") in text
    # Validity: certificate_validity = "2m" in this policy.
    fr, to = re.search(r"Valid: from (\S+) to (\S+)", text).groups()
    fr, to = (time.mktime(datetime.datetime.fromisoformat(x).timetuple()) for x in (fr, to))
    assert fr <= now + 2 and 90 <= to - now <= 150, (fr, to, now)
    # The target's own log leads back to the bastion session, and the audit names the same one.
    assert re.search(rf'Accepted certificate ID "[^"]*session {session}" \(serial {serial}\)',
                     p.target.log_text())
    events = p.env.audit_since(mark, lambda evs: any(e["session"] == session for e in evs))
    assert any(e["bastion_user"] == "alice" for e in events if e["session"] == session)


def target_serials(p):
    return [int(s) for s in re.findall(r'Accepted certificate ID "[^"]*" \(serial (\d+)\)',
                                       p.target.log_text())]


def test_serials_unique_and_increasing_across_restarts(p):
    go(p, "alice")
    go(p, "alice")
    first = target_serials(p)
    b = p.env.make_bastion(p.policy)  # a new process, the same serial_file
    assert b.ssh(f"{TU}%web1%alice", "echo ok", p.env.keys["alice"]).stdout == "ok\n"
    b.stop()
    serials = target_serials(p)
    assert len(serials) >= 3 and len(set(serials)) == len(serials)
    assert serials[-1] > max(first) and first[-1] > first[-2]


def test_template_principals_are_expanded(p):
    # "restricted" names %P (the bastion user) as its principal: the target refuses it.
    r = go(p, "carol")
    assert r.returncode == 255 and "ok" not in r.stdout
    assert wait_until(lambda: "name is not a listed principal" in p.target.log_text(), 5)


def test_stored_key_credential(p):
    r = go(p, "frank", command="echo stored")
    assert r.stdout == "stored\n", r.stderr
    fp = fingerprint(f"{p.env.stored_key}.pub")
    assert re.search(rf"Accepted publickey for {re.escape(TU)} from 127\.0\.0\.1 port \d+ ssh2: "
                     rf"ED25519 {re.escape(fp)}", p.target.log_text())


def test_agent_credential(p, tmp_path):
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        assert wait_until(sock.exists, 10)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        # A key the target does not know comes first: the bastion goes on to the next one.
        stranger = keygen(tmp_path / "stranger_key")
        for key in (stranger, p.env.agent_key):
            subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
        args = p.bastion.ssh_args(f"{TU}%web1%gina", p.env.keys["gina"], extra=["-A"]) + ["echo via-agent"]
        mark = p.env.audit_mark()
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert r.stdout == "via-agent\n", r.stderr
        fp = fingerprint(f"{p.env.agent_key}.pub")
        assert re.search(rf"Accepted publickey for {re.escape(TU)} from 127\.0\.0\.1 port \d+ ssh2: "
                         rf"ED25519 {re.escape(fp)}", p.target.log_text())
        events = p.env.audit_since(mark, lambda evs: any(e["event"] == "target-auth" for e in evs))
        auth = [e for e in events if e["event"] == "target-auth" and e["bastion_user"] == "gina"]
        assert len(auth) == 1 and auth[0]["decision"] == "allow", auth
        assert auth[0]["detail"].startswith("accepted agent ") and fp in auth[0]["detail"], auth
        # Without a forwarded agent there is nothing to log in with: a clear failure.
        r = go(p, "gina")
        refused(r, "web1", "needs your agent", "ssh -A")
        assert r.stdout == "", r.stdout
        # An agent whose keys the target does not take: the same kind of line.
        subprocess.run(["ssh-add", "-q", "-D"], env=env, check=True, capture_output=True)
        subprocess.run(["ssh-add", "-q", str(stranger)], env=env, check=True, capture_output=True)
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        refused(r, f"target web1 refused every key of your agent for {TU}")
        assert r.stdout == "", r.stdout
    finally:
        agent.terminate()
        agent.wait()


# ---- target host keys --------------------------------------------------------------------------------

def host_key_refusal(r, target, fp):
    line = refused(r, "host key", target)
    assert fp in line, line


def test_unknown_host_key_refused(p):
    host_key_refusal(go(p, "alice", target="stranger"), "stranger", p.target.fingerprint())


def test_changed_host_key_refused(p):
    host_key_refusal(go(p, "alice", target="moved"), "moved", p.target.fingerprint())


def test_hashed_known_hosts_entry(p):
    assert go(p, "alice", target="hashed").stdout == "ok\n"


def test_revoked_host_key_refused(p):
    kh = p.env.write_known_hosts(p.target.known_hosts_line("127.0.0.1") +
                                 "@revoked * " + open(p.target.host_pub).read(),
                                 p.env.dir / "known_hosts_revoked")
    pol = Policy(p.env, known_hosts=kh)
    pol.user("alice", p.env.pub("alice")).target("web1", "127.0.0.1", p.target.port, [TU])
    pol.role("ops", ["alice"], ["web1"], [TU], ["exec"])
    b = p.env.make_bastion(pol)
    host_key_refusal(b.ssh(f"{TU}%web1%alice", "echo no", p.env.keys["alice"]), "web1",
                     p.target.fingerprint())
    b.stop()


def test_cert_authority_host_certificate(p):
    host_ca = keygen(p.env.dir / "host_ca")
    t2 = p.env.target("target2")
    subprocess.run(["ssh-keygen", "-q", "-s", str(host_ca), "-h", "-I", "web2", "-n", "web2,127.0.0.1",
                    str(t2.host_pub)], check=True, capture_output=True)
    t2.stop()
    with open(t2.config, "a") as f:
        f.write(f"HostCertificate {t2.host_key}-cert.pub\n")
    t2.start()
    kh = p.env.write_known_hosts(f"@cert-authority [127.0.0.1]:{t2.port} " + open(f"{host_ca}.pub").read(),
                                 p.env.dir / "known_hosts_ca")
    pol = Policy(p.env, known_hosts=kh)
    pol.user("alice", p.env.pub("alice")).target("web2", "127.0.0.1", t2.port, [TU])
    pol.role("ops", ["alice"], ["web2"], [TU], ["exec"])
    b = p.env.make_bastion(pol)
    r = b.ssh(f"{TU}%web2%alice", "echo certified-host", p.env.keys["alice"])
    assert r.stdout == "certified-host\n", r.stderr + b.log_text()[-2000:]
    b.stop()


def test_accept_new_learns_then_is_strict(p):
    kh = p.env.write_known_hosts("", p.env.dir / "known_hosts_new")
    pol = Policy(p.env, known_hosts=kh, host_key_policy="accept-new")
    pol.user("alice", p.env.pub("alice")).target("web1", "127.0.0.1", p.target.port, [TU])
    pol.role("ops", ["alice"], ["web1"], [TU], ["exec"])
    b = p.env.make_bastion(pol)
    assert b.ssh(f"{TU}%web1%alice", "echo first", p.env.keys["alice"]).stdout == "first\n"
    blob = open(p.target.host_pub).read().split()[1]
    assert blob in kh.read_text()
    assert b.ssh(f"{TU}%web1%alice", "echo again", p.env.keys["alice"]).stdout == "again\n"
    other = open(keygen(p.env.dir / "impostor_key").with_suffix(".pub")).read().split()[1]
    kh.write_text(kh.read_text().replace(blob, other))
    host_key_refusal(b.ssh(f"{TU}%web1%alice", "echo no", p.env.keys["alice"]), "web1",
                     p.target.fingerprint())
    b.stop()


# ---- bad input -----------------------------------------------------------------------------------

def test_malformed_user_names_are_refused_and_harm_no_one(p):
    survivor = subprocess.Popen(p.bastion.ssh_args(f"{TU}%web1%alice", p.env.keys["alice"])
                                + ["sleep 4; echo survived"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name in ("%%", f"{TU}%%alice", f"%web1%alice", f"{TU}%web1%", f"{TU}%web1%%alice", "%" * 300,
                 f"{TU}%web1%99999%alice", f"{TU}%web1%{'x' * 300}%alice"):
        r = p.bastion.ssh(name, "echo should-not-run", p.env.keys["alice"])
        assert r.returncode == 255 and r.stdout == "", (name, r.stderr)
        assert (disconnect_line(r.stderr) or "Permission denied" in r.stderr
                or "user name longer than 256 bytes" in r.stderr), (name, r.stderr)
    paramiko = pytest.importorskip("paramiko")
    for name in (f"{TU}%web1\x01%alice", f"{TU}%we\nb1%alice", f"{TU}%web1%ali\x7fce"):
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        with pytest.raises(paramiko.SSHException):
            c.connect("127.0.0.1", port=p.bastion.port, username=name, key_filename=str(p.env.keys["alice"]),
                      look_for_keys=False, allow_agent=False, timeout=20)
            c.exec_command("echo should-not-run")[1].read()
            raise paramiko.SSHException("the name was accepted")
        c.close()
    out, err = survivor.communicate(timeout=30)
    assert out == "survived\n", err
    p.env.audit()  # still one JSON object per line
    assert p.bastion.proc.poll() is None and go(p, "alice").stdout == "ok\n"


def test_target_that_does_not_answer_times_out_clearly(p):
    start = time.time()
    line = refused(go(p, "alice", target="mute"), "mute")
    assert re.search(r"time[ds]? ?out|did not answer|no answer", line, re.I), line
    assert time.time() - start < 3 + 12  # connect_timeout = "3s"
    assert go(p, "alice").stdout == "ok\n"


def test_target_that_speaks_garbage(p):
    refused(go(p, "alice", target="babbler"), "babbler")
    assert p.bastion.proc.poll() is None and go(p, "alice").stdout == "ok\n"


# ---- the policy file: -t, -T, SIGHUP ----------------------------------------------------------------

def check(p, policy_path):
    cfg = p.env.dir / "check_sshd_config"
    cfg.write_text(f"HostKey {p.keydir}/host_ed25519\nBastionPolicy {policy_path}\n")
    return subprocess.run([str(SSHD), "-B", "-t", "-f", str(cfg)], capture_output=True, text=True, timeout=30)


def test_t_accepts_a_good_policy(p):
    r = check(p, p.bastion.policy_path)
    assert r.returncode == 0, r.stderr


def test_t_refuses_a_file_that_is_not_toml(p):
    bad = p.env.dir / "not_toml.toml"
    bad.write_text("[bastion]\nca_key = \"/x\"\nthis is not toml\n")
    r = check(p, bad)
    assert r.returncode != 0
    assert f"{bad}:3" in r.stderr, r.stderr


def test_t_refuses_an_unknown_key_naming_file_line_and_key(p):
    bad = p.env.dir / "unknown_key.toml"
    bad.write_text(p.policy.text().replace('name = "far"', 'name = "far"\nchanels = ["exec"]'))
    line = bad.read_text().splitlines().index('chanels = ["exec"]') + 1
    r = check(p, bad)
    assert r.returncode != 0
    assert f"{bad}:{line}" in r.stderr and "chanels" in r.stderr, r.stderr


def test_t_refuses_a_template_with_an_unknown_field(p):
    import json
    templates = json.loads(p.env.templates.read_text())
    templates[0]["valid_for"] = "1h"
    tf = p.env.dir / "bad_templates.json"
    tf.write_text(json.dumps(templates, indent=2))
    bad = p.env.dir / "bad_templates.toml"
    bad.write_text(p.policy.text().replace(str(p.env.templates), str(tf)))
    r = check(p, bad)
    assert r.returncode != 0
    assert str(tf) in r.stderr and "valid_for" in r.stderr, r.stderr


def test_T_prints_bastionpolicy_and_the_bastion_port(p):
    cfg = p.env.dir / "dump_sshd_config"
    cfg.write_text(f"HostKey {p.keydir}/host_ed25519\nBastionPolicy {p.bastion.policy_path}\n")
    r = subprocess.run([str(SSHD), "-B", "-T", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"bastionpolicy {p.bastion.policy_path}\n" in r.stdout
    assert "\nport 2222\n" in "\n" + r.stdout
    cfg.write_text(f"HostKey {p.keydir}/host_ed25519\n")
    r = subprocess.run([str(SSHD), "-T", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert "bastionpolicy /etc/postern/bastion.toml\n" in r.stdout
    assert "\nport 22\n" in "\n" + r.stdout


def test_sighup_reloads_the_policy_and_keeps_it_on_error(p):
    pol = Policy(p.env, audit_log=p.env.dir / "audit-reload.jsonl")
    pol.user("alice", p.env.pub("alice")).user("bob", p.env.pub("bob"))
    pol.target("web1", "127.0.0.1", p.target.port, [TU])
    pol.role("ops", ["alice"], ["web1"], [TU], ["exec"])
    b = p.env.make_bastion(pol)
    live = subprocess.Popen(b.ssh_args(f"{TU}%web1%alice", p.env.keys["alice"]) + ["sleep 5; echo survived"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert refused(b.ssh(f"{TU}%web1%bob", "echo", p.env.keys["bob"]))
    pol.roles[0]["members"] = ["bob"]
    b.policy_path.write_text(pol.text())
    os.kill(b.proc.pid, signal.SIGHUP)
    assert wait_until(lambda: b.ssh(f"{TU}%web1%bob", "echo bob-now", p.env.keys["bob"]).stdout == "bob-now\n", 10)
    assert refused(b.ssh(f"{TU}%web1%alice", "echo", p.env.keys["alice"]))
    # A broken file: the running policy stays, the log names the file.
    b.policy_path.write_text(pol.text() + "[[role\n")
    os.kill(b.proc.pid, signal.SIGHUP)
    assert b.wait_log(str(b.policy_path), 10), b.log_text()[-2000:]
    assert b.proc.poll() is None
    assert b.ssh(f"{TU}%web1%bob", "echo still-bob", p.env.keys["bob"]).stdout == "still-bob\n"
    out, err = live.communicate(timeout=30)
    assert out == "survived\n", err
    b.stop()
