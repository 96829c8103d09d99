"""The world regress/test_bastion*.py run in: a bastion CA, Debian's OpenSSH sshd as the target
(trusting that CA), the target's host key in the bastion's known_hosts, templates.json, a
bastion.toml written per test, postern started with `sshd -B`, and stand-in targets that never
answer, speak garbage or just count who connects. Nothing here knows how the bastion is built
inside; it drives it the way a user and an administrator do (man/postern-bastion.5)."""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from conftest import SSHD, TEST_USER, Server, free_port, wait_for_port

TOP = Path(__file__).resolve().parent.parent
OPENSSH_SSHD = "/usr/sbin/sshd"
OPENSSH_SFTP_SERVER = "/usr/lib/openssh/sftp-server"
# The examples postern must accept as they stand (copies of ../shared/bastion/).
EXAMPLE_TEMPLATES = TOP / "contrib" / "bastion" / "templates.json"

# Extra templates the tests use beside the example ones: one without permit-pty (extensions
# reach the target), one whose principal is the bastion user (principals are expanded).
TEST_TEMPLATES = [
    {"name": "no-pty", "description": "exec only", "service": "SSH", "type": "openssh",
     "key_id": "%P to %H serial %S", "principals": [], "extensions": ["permit-port-forwarding"]},
]


def keygen(path, kind="ed25519", comment=""):
    args = ["ssh-keygen", "-q", "-N", "", "-C", comment or Path(path).name, "-f", str(path)]
    args += ["-t", "ecdsa", "-b", "256"] if kind == "ecdsa" else ["-t", kind]
    subprocess.run(args, check=True, capture_output=True)
    return Path(path)


def fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-lf", str(pub_path)], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def toml_str(s):
    return json.dumps(str(s))  # a TOML basic string is a JSON string for what we write


def toml_list(items):
    return "[" + ", ".join(toml_str(i) for i in items) + "]"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return toml_list(v) if isinstance(v, list) else toml_str(v)


def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(step)


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections it accepts and then, per `behaviour`:
    "silent" holds them open and says nothing (a target that does not answer), "garbage" sends
    bytes that are no SSH version line, "echo" echoes (a forwarding endpoint), "count" closes."""

    def __init__(self, behaviour="count"):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.held = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_event.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.behaviour == "silent":
                self.held.append(c)
            elif self.behaviour == "garbage":
                threading.Thread(target=self.garbage, args=(c,), daemon=True).start()
            elif self.behaviour == "echo":
                threading.Thread(target=self.echo, args=(c,), daemon=True).start()
            else:
                c.close()

    @staticmethod
    def garbage(c):
        try:
            c.sendall(b"\x00\xff garbage, not SSH\r\n" + os.urandom(4096) + b"\r\n" * 4)
            c.settimeout(5)
            c.recv(4096)
        except OSError:
            pass
        c.close()

    @staticmethod
    def echo(c):
        try:
            while data := c.recv(65536):
                c.sendall(data)
        except OSError:
            pass
        c.close()

    def close(self):
        self.stop_event.set()
        self.thread.join(timeout=2)
        self.sock.close()
        for c in self.held:
            c.close()


class OpenSshTarget:
    """Debian's OpenSSH sshd on a free port of 127.0.0.1 (and the other addresses given, so one
    daemon can stand for several targets), trusting the bastion CA, logging VERBOSE to a file so
    the tests can read the certificate key_id it accepted."""

    def __init__(self, workdir, ca_pub, name="target", addresses=("127.0.0.1",), extra=""):
        self.dir = Path(workdir)
        self.name = name
        self.port = free_port()
        self.addresses = addresses
        self.host_key = keygen(self.dir / f"{name}_host_ed25519", comment=f"{name} host key")
        self.host_pub = Path(f"{self.host_key}.pub")
        self.keys_dir = self.dir / f"{name}_authorized_keys"
        self.keys_dir.mkdir(mode=0o755, exist_ok=True)
        self.log = self.dir / f"{name}.log"
        self.config = self.dir / f"{name}_sshd_config"
        listen = "".join(f"ListenAddress {a}:{self.port}\n" for a in addresses)
        # StrictModes no: the extra authorized_keys files live under /tmp, which sshd's path
        # check refuses; ExposeAuthInfo lets a test read back the certificate the target saw.
        self.config.write_text(
            f"{listen}HostKey {self.host_key}\nPidFile {self.dir}/{name}.pid\nLogLevel VERBOSE\n"
            f"UsePAM no\nTrustedUserCAKeys {ca_pub}\nStrictModes no\n"
            f"AuthorizedKeysFile .ssh/authorized_keys {self.keys_dir}/%u\n"
            f"AcceptEnv LC_*\nExposeAuthInfo yes\nSubsystem sftp {OPENSSH_SFTP_SERVER}\n"
            f"AllowAgentForwarding yes\nAllowTcpForwarding yes\nMaxStartups 50:30:100\n{extra}\n")
        self.proc = None

    def authorize(self, user, *pubs):
        f = self.keys_dir / user
        f.write_text((f.read_text() if f.exists() else "") +
                     "".join(Path(p).read_text() for p in pubs))
        os.chmod(f, 0o644)

    def start(self):
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen([OPENSSH_SSHD, "-D", "-f", str(self.config), "-E", str(self.log)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, self.proc):
            raise RuntimeError(f"OpenSSH target did not start:\n{self.log_text()}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def known_hosts_line(self, host, port=None):
        port = self.port if port is None else port
        name = host if port == 22 else f"[{host}]:{port}"
        return f"{name} {self.host_pub.read_text().split(' ')[0]} {self.host_pub.read_text().split(' ')[1]}\n"

    def fingerprint(self):
        return fingerprint(self.host_pub)


class Policy:
    """A bastion.toml in the making: [bastion] settings, users, targets and roles as dicts."""

    def __init__(self, env, **settings):
        d = env.dir
        self.settings = {
            "ca_key": d / "ca", "templates": env.templates, "known_hosts": d / "known_hosts",
            "host_key_policy": "strict", "recordings": d / "recordings",
            "audit_log": env.audit_log, "certificate_validity": "2m",
            "record": ["shell", "exec"], "serial_file": d / "ca_serial", "connect_timeout": "3s",
        }
        self.settings.update(settings)
        self.users, self.targets, self.roles, self.extenders = [], [], [], []

    def user(self, name, *keys, totp=None):
        self.users.append({"name": name, "keys": list(keys), "totp": totp})
        return self

    def target(self, name, address, port, users, tags=(), via=None):
        self.targets.append({"name": name, "address": address, "port": port, "users": list(users),
                             "tags": list(tags), "via": via})
        return self

    def extender(self, name, *keys):
        self.extenders.append({"name": name, "keys": list(keys)})
        return self

    def role(self, name, members, targets, target_users, channels, credential="certificate",
             template="default-openssh-sha2", source=None, issue_certificates=False):
        r = {"name": name, "members": list(members), "targets": list(targets),
             "target_users": list(target_users), "channels": list(channels),
             "credential": credential, "template": template}
        if source is not None:
            r["source"] = list(source)
        if issue_certificates:
            r["issue_certificates"] = True
        self.roles.append(r)
        return self

    def text(self):
        out = ["[bastion]"]
        for k, v in self.settings.items():
            out.append(f"{k} = {toml_value(v)}")
        for u in self.users:
            out += ["", "[[user]]", f"name = {toml_str(u['name'])}", f"keys = {toml_list(u['keys'])}"]
            if u["totp"]:
                out.append(f"totp = {toml_str(u['totp'])}")
        for t in self.targets:
            out += ["", "[[target]]", f"name = {toml_str(t['name'])}",
                    f"address = {toml_str(t['address'])}", f"port = {t['port']}",
                    f"users = {toml_list(t['users'])}", f"tags = {toml_list(t['tags'])}"]
            if t.get("via"):
                out.append(f"via = {toml_str(t['via'])}")
        for e in self.extenders:
            out += ["", "[[extender]]", f"name = {toml_str(e['name'])}",
                    f"keys = {toml_list(e['keys'])}"]
        for r in self.roles:
            out += ["", "[[role]]"]
            for k, v in r.items():
                value = ("true" if v else "false") if isinstance(v, bool) else \
                    toml_list(v) if isinstance(v, list) else toml_str(v)
                out.append(f"{k} = {value}")
        return "\n".join(out) + "\n"


class Bastion(Server):
    """postern in bastion mode: `sshd -D -e -f CFG -B -p PORT`, log on stderr into a file;
    started, stopped and read like conftest's Server."""

    def __init__(self, env, policy_path, extra_config="", name="bastion"):
        self.env = env
        self.port = free_port()
        self.dir = env.dir
        self.config = env.dir / f"{name}_sshd_config"
        self.log = env.dir / f"{name}.log"
        self.pidfile = env.dir / f"{name}.pid"
        self.policy_path = policy_path
        # extra_config first: in sshd_config the first value of a keyword wins.
        self.config.write_text(
            f"{extra_config}\n"
            f"ListenAddress 127.0.0.1\nHostKey {env.keydir}/host_ed25519\nPidFile {self.pidfile}\n"
            f"LogLevel VERBOSE\nBastionPolicy {policy_path}\nTrustedUserCAKeys {env.user_ca}.pub\n"
            f"UsePAM no\nPasswordAuthentication no\n")
        self.args = ["-B", "-p", str(self.port)]
        self.proc = None

    def ssh_args(self, user, key, options=(), extra=()):
        args = ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", str(key)]
        for o in options:
            args += ["-o", o]
        args += ["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", f"UserKnownHostsFile={self.dir}/client_known_hosts", "-o", "LogLevel=ERROR"]
        return args + list(extra) + [f"{user}@127.0.0.1"]

    def ssh(self, user, command, key, options=(), extra=(), input=None, timeout=60, text=True):
        args = self.ssh_args(user, key, options, extra)
        if command is not None:
            args.append(command)
        return subprocess.run(args, input=input, capture_output=True, timeout=timeout, text=text,
                              stdin=None if input is not None else subprocess.DEVNULL)


class BastionEnv:
    """One temp directory with everything a bastion test needs; `make_bastion(policy)` starts a
    postern bastion on it. The target account is the test run's account (conftest's `user`)."""

    def __init__(self, workdir, keydir):
        self.dir = Path(workdir)
        os.chmod(self.dir, 0o755)
        self.keydir = Path(keydir)
        self.target_user = TEST_USER
        self.ca = keygen(self.dir / "ca", comment="postern bastion CA")
        self.user_ca = keygen(self.dir / "user_ca", comment="bastion users' CA")
        # Clients: the policy users' keys, a stored credential key and an agent-held key.
        self.keys = {n: keygen(self.dir / f"id_{n}") for n in
                     ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry", "ivan")}
        self.stored_key = keygen(self.dir / "stored_key", comment="bastion stored credential")
        self.agent_key = keygen(self.dir / "agent_key", comment="forwarded agent credential")
        self.templates = self.dir / "templates.json"
        templates = json.loads(EXAMPLE_TEMPLATES.read_text()) + TEST_TEMPLATES
        self.templates.write_text(json.dumps(templates, indent=2))
        self.audit_log = self.dir / "audit.jsonl"
        (self.dir / "recordings").mkdir(mode=0o700, exist_ok=True)
        self.targets = []
        self.bastions = []
        self.listeners = []
        self.n_policy = 0

    # ---- pieces --------------------------------------------------------------------------------

    def pub(self, name):
        return Path(f"{self.keys[name]}.pub").read_text().strip()

    def target(self, name="target", addresses=("127.0.0.1",), extra=""):
        t = OpenSshTarget(self.dir, f"{self.ca}.pub", name, addresses, extra)
        t.authorize(self.target_user, f"{self.stored_key}.pub", f"{self.agent_key}.pub")
        self.targets.append(t)
        return t.start()

    def listener(self, behaviour):
        li = Listener(behaviour)
        self.listeners.append(li)
        return li

    def write_known_hosts(self, text, path=None):
        path = Path(path or self.dir / "known_hosts")
        path.write_text(text)
        os.chmod(path, 0o644)
        return path

    def write_policy(self, policy, path=None):
        self.n_policy += 1
        path = Path(path or self.dir / f"bastion{self.n_policy}.toml")
        path.write_text(policy.text() if isinstance(policy, Policy) else policy)
        return path

    def make_bastion(self, policy, extra_config="", name=None):
        path = self.write_policy(policy)
        b = Bastion(self, path, extra_config, name or f"bastion{self.n_policy}")
        self.bastions.append(b)
        return b.start()

    def close(self):
        for b in self.bastions:
            b.stop()
        for t in self.targets:
            t.stop()
        for li in self.listeners:
            li.close()

    # ---- audit ---------------------------------------------------------------------------------

    def audit(self, path=None):
        path = Path(path or self.audit_log)
        if not path.exists():
            return []
        events = []
        for line in path.read_text(errors="replace").splitlines():
            if line.strip():
                events.append(json.loads(line))  # every line is one JSON object, or the test fails
        return events

    def audit_mark(self):
        return len(self.audit())

    def audit_since(self, mark, predicate=lambda evs: bool(evs), timeout=10.0):
        """The events written after `mark`, once `predicate(events)` holds (or at the timeout)."""
        events = []

        def ready():
            nonlocal events
            events = self.audit()[mark:]
            return predicate(events)

        wait_until(ready, timeout)
        return events


def home_of(user):
    return Path(pwd.getpwnam(user).pw_dir)


def put_in_home(user, name, data, mode=0o644):
    pw = pwd.getpwnam(user)
    p = Path(pw.pw_dir) / name
    p.write_bytes(data)
    os.chown(p, pw.pw_uid, pw.pw_gid)
    os.chmod(p, mode)
    return p


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def descendants(pid):
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            result.append(c)
            todo.append(c)
    return result


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def pid_of_command(pattern):
    """Pids whose full command line matches `pattern` (a regular expression)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if re.search(pattern, cmd):
            pids.append(int(d.name))
    return pids


def ppid_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


DISCONNECT = re.compile(r"Received disconnect from 127\.0\.0\.1 port \d+:11: (postern: [^\n]+)")


def disconnect_line(stderr):
    """The one line a refused route shows the user, or None."""
    m = DISCONNECT.search(stderr)
    return m.group(1) if m else None


def which(name):
    return shutil.which(name)
