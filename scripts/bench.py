"""scripts/bench: postern against OpenSSH's sshd and Dropbear, one run, same machine, same client.

Figures (as in shared/BASELINE.md):
  handshake  median wall ms of `ssh host true` (curve25519-sha256, ed25519) and server CPU ms per
             connection (listener's own plus reaped children's CPU time, from /proc)
  upload     MB/s and server CPU s/GiB of `ssh host 'cat >/dev/null'` for each cipher, and with
             -C (zlib@openssh.com) for text
  forward    MB/s and server CPU s/GiB of a stream through `ssh -L` to a local sink (chacha20-poly1305,
             the cipher all three servers have)
  sftp       MB/s of a put and a get with the stock sftp client (postern's sftp-server against
             OpenSSH's, each behind its own sshd)
  memory     PSS KiB of the server's processes per idle session
  kex        postern's server CPU ms per connection (and client wall ms) with mlkem768x25519,
             mlkem768nistp256, sntrup761x25519 and curve25519, postern's client transport as the
             client (Debian 12's ssh knows no ML-KEM): scripts/bench_kex.py
  bastion    upload/download MB/s and bastion CPU s/GiB through postern's bastion (direct mode
             and -J) against ssh -J through OpenSSH's sshd and straight to the target, and the
             round trip a keystroke adds (scripts/bench_bastion.py)
  index      the session index at --index-sessions (100,000) synthetic sessions: SQLite insert
             time, and ms per postern-audit query from the index and from the JSON log
             (scripts/bench_index.py)
  netem      (only when asked: --only netem) upload MB/s over a 100 ms round trip between two network
             namespaces (veth, tc netem), the same ssh client (scripts/bench_netem.py)
  scale      (only when asked: --only scale) --scale-sessions (1000) idle sessions held: each still
             answering, server PSS, accept latency, a connection flood beside them
             (scripts/bench_scale.py)
  cps        (only when asked: --only cps) connections per second sustained by 8 parallel clients
             (scripts/bench_cps.py)
  auth-timing (only when asked: --auth-timing or --only auth-timing) postern's refusal of a wrong
             password, real user against one that does not exist, UsePAM yes and no: median, p10,
             p90 ms and the ratio (scripts/bench_auth_timing.py)
"""

import argparse
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("POSTERN_BUILD", TOP / "build"))
# Another name lets two benches run side by side on one machine.
USER = os.environ.get("POSTERN_BENCH_USER", "postern-bench")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def cgroup_for(name):
    """A cpuacct cgroup for one server, so its CPU time counts every process it forks, however
    they are reaped; None where cgroups v1 cpuacct is not writable."""
    d = CPUACCT / f"postern-bench-{name}-{os.getpid()}"
    try:
        d.mkdir()
        return d
    except OSError:
        return None


def cpu_seconds(pid, cgroup=None):
    """CPU seconds of a server: its cgroup's usage, or else pid plus its reaped descendants."""
    if cgroup:
        return int((cgroup / "cpuacct.usage").read_text()) / 1e9
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def descendants(pid):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    kids = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        kids.setdefault(pp, []).append(p)
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        todo += kids.get(p, [])
    return result


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Target:
    def __init__(self, name, work, keys):
        self.name, self.work, self.keys = name, work, keys
        self.port = free_port()
        self.proc = None
        self.cgroup = cgroup_for(name)

    def spawn(self, cmd):
        if self.cgroup:
            cmd = ["sh", "-c", f'echo $$ > {self.cgroup}/cgroup.procs && exec "$@"', "sh"] + cmd
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)

    def cpu(self):
        return cpu_seconds(self.proc.pid, self.cgroup)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.cgroup:
            # The server's children may take a moment to exit after it (a thousand sessions do);
            # a cgroup with a process in it cannot be removed yet.
            for _ in range(50):
                time.sleep(0.1)
                try:
                    self.cgroup.rmdir()
                    break
                except OSError:
                    pass


class SshdLike(Target):
    def __init__(self, name, binary, work, keys, sftp_server, extra_config=""):
        super().__init__(name, work, keys)
        cfg = work / f"{name}_config"
        cfg.write_text(f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {keys}/host_ed25519\n"
                       f"PidFile {work}/{name}.pid\nMaxStartups 100:30:200\nUsePAM no\n"
                       f"LogLevel ERROR\nSubsystem sftp {sftp_server}\n{extra_config}")
        self.cmd = [str(binary), "-D", "-e", "-f", str(cfg)]

    def start(self):
        self.spawn(self.cmd)
        wait_port(self.port)


class Dropbear(Target):
    def start(self):
        key = self.work / "dropbear_ed25519"
        if not key.exists():
            subprocess.run(["dropbearconvert", "openssh", "dropbear", str(self.keys / "host_ed25519"),
                            str(key)], check=True, capture_output=True)
        self.spawn(["dropbear", "-F", "-E", "-s", "-p", f"127.0.0.1:{self.port}", "-r", str(key)])
        wait_port(self.port)


def ssh_cmd(t, keys, *extra, options=()):
    args = ["ssh", "-F", "/dev/null", "-p", str(t.port), "-i", str(keys / "id_ed25519"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    for o in options:
        args += ["-o", o]
    return args + list(extra) + [f"{USER}@127.0.0.1"]


def bench_handshake(t, keys, runs):
    cmd = ssh_cmd(t, keys, options=["KexAlgorithms=curve25519-sha256"]) + ["true"]
    subprocess.run(cmd, check=True)
    walls = []
    cpu0 = t.cpu()
    for _ in range(runs):
        s = time.perf_counter()
        subprocess.run(cmd, check=True)
        walls.append((time.perf_counter() - s) * 1000)
    time.sleep(0.3)
    cpu = (t.cpu() - cpu0) * 1000 / runs
    return statistics.median(walls), cpu


def bench_upload(t, keys, cipher, mib, compress=False):
    options = [f"Ciphers={cipher}"] + (["Compression=yes"] if compress else [])
    cmd = ssh_cmd(t, keys, options=options) + ["cat >/dev/null"]
    probe = subprocess.run(cmd, input=b"x", capture_output=True)
    if probe.returncode != 0:
        return None
    cpu0 = t.cpu()
    s = time.perf_counter()
    # head feeds the client faster than Python could; the bytes' values do not matter to a cipher.
    # Compressed: text that deflates about 4:1 (numbers, as in logs or CSV), not zeros.
    source = "seq 1 1000000000" if compress else "cat /dev/zero"
    feeder = subprocess.Popen(f"{source} | head -c {mib << 20}", shell=True, stdout=subprocess.PIPE)
    subprocess.run(cmd, stdin=feeder.stdout, check=True)
    feeder.wait()
    wall = time.perf_counter() - s
    time.sleep(0.3)
    cpu = t.cpu() - cpu0
    return mib * 1.048576 / wall, cpu * 1024 / mib


def bench_sftp(t, keys, mib):
    """1 GiB (or --size) put then get with the stock sftp client: MB/s each way."""
    if isinstance(t, Dropbear):
        return None
    src = t.work / "sftp-src"
    if not src.exists() or src.stat().st_size != mib << 20:
        subprocess.run(["head", "-c", str(mib << 20), "/dev/urandom"], stdout=open(src, "wb"), check=True)
    home = Path(pwd.getpwnam(USER).pw_dir)
    got = t.work / "sftp-got"
    args = ["sftp", "-F", "/dev/null", "-P", str(t.port), "-i", str(keys / "id_ed25519"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-b", "-",
            f"{USER}@127.0.0.1"]
    results = []
    for batch in (f"put {src} bench.bin\n", f"get bench.bin {got}\n"):
        s = time.perf_counter()
        subprocess.run(args, input=batch.encode(), check=True, stdout=subprocess.DEVNULL)
        results.append(mib * 1.048576 / (time.perf_counter() - s))
    same = subprocess.run(["cmp", "-s", str(src), str(got)]).returncode == 0
    (home / "bench.bin").unlink(missing_ok=True)
    got.unlink(missing_ok=True)
    if not same:
        raise RuntimeError(f"{t.name}: sftp get returned different bytes")
    return tuple(results)


# A sink for the forwarded port: counts what one connection sends (empty ones, like wait_port's
# probes, are ignored) and prints the count.
SINK = """import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); print(s.getsockname()[1], flush=True)
buf, n = bytearray(1 << 20), 0
while n == 0:
    c, _ = s.accept()
    while (k := c.recv_into(buf)):
        n += k
    c.close()
print(n, flush=True)
"""


def bench_forward(t, keys, mib):
    """`mib` MiB from a local client through `ssh -L` and the server to a sink: MB/s, s/GiB."""
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    lport = free_port()
    fwd = subprocess.Popen(ssh_cmd(t, keys, "-N", "-L", f"{lport}:127.0.0.1:{sink.stdout.readline().strip()}",
                                   options=["Ciphers=chacha20-poly1305@openssh.com", "ExitOnForwardFailure=yes"]))
    try:
        wait_port(lport)
        chunk = bytes(1 << 20)
        cpu0, s = t.cpu(), time.perf_counter()
        with socket.create_connection(("127.0.0.1", lport)) as c:
            for _ in range(mib):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
            got = int(sink.stdout.readline())  # the sink has read it all
        wall = time.perf_counter() - s
        time.sleep(0.3)
        if got != mib << 20:
            raise RuntimeError(f"{t.name}: the sink got {got} bytes of {mib << 20}")
        return mib * 1.048576 / wall, (t.cpu() - cpu0) * 1024 / mib
    finally:
        fwd.terminate()
        fwd.wait()
        sink.kill()
        sink.wait()


def bench_memory(t, keys, sessions):
    base = pss_kib(descendants(t.proc.pid))
    clients = [subprocess.Popen(ssh_cmd(t, keys, "-N"), stdin=subprocess.DEVNULL)
               for _ in range(sessions)]
    time.sleep(2 + sessions * 0.3)
    used = pss_kib(descendants(t.proc.pid)) - base
    for c in clients:
        c.terminate()
        c.wait()
    return used / sessions


def make_user(keys):
    subprocess.run(["userdel", "-r", USER], stderr=subprocess.DEVNULL)
    # "*": no password, but not a locked account ("!"), which sshd refuses without PAM.
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-p", "*", USER], check=True)
    pw = pwd.getpwnam(USER)
    d = Path(pw.pw_dir) / ".ssh"
    d.mkdir(mode=0o700)
    (d / "authorized_keys").write_text((keys / "id_ed25519.pub").read_text())
    for p in (d, d / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="upload size in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=30, help="handshakes per server")
    ap.add_argument("--sessions", type=int, default=10, help="idle sessions for the memory figure")
    ap.add_argument("--only", default="handshake,upload,forward,sftp,memory,kex,bastion,index")
    ap.add_argument("--index-sessions", type=int, default=100000,
                    help="index: synthetic sessions in the audit log (default 100000)")
    ap.add_argument("--auth-timing", action="store_true",
                    help="only the auth-timing figures (same as --only auth-timing)")
    ap.add_argument("--attempts", type=int, default=20,
                    help="auth-timing: refused passwords per user and UsePAM setting")
    ap.add_argument("--baseline", type=Path,
                    help="another postern build dir, measured in the same run as 'before' (last column)")
    ap.add_argument("--netem-size", type=int, default=256, help="netem: upload MiB (default 256)")
    ap.add_argument("--netem-runs", type=int, default=3, help="netem: uploads per server")
    ap.add_argument("--netem-delay", type=int, default=50, help="netem: ms each way (default 50)")
    ap.add_argument("--scale-sessions", type=int, default=1000,
                    help="scale: idle sessions held per server (default 1000)")
    ap.add_argument("--cps-seconds", type=float, default=20, help="cps: seconds per server")
    a = ap.parse_args()
    only = ["auth-timing"] if a.auth_timing else a.only.split(",")
    own_servers = ("auth-timing", "bastion", "kex", "index", "netem", "scale", "cps")
    server_figures = [f for f in only if f not in own_servers]

    work = Path(tempfile.mkdtemp(prefix="postern-bench-"))
    os.chmod(work, 0o755)
    keys = work
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host_ed25519")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "id_ed25519")], check=True)
    make_user(keys)
    os.makedirs("/run/sshd", exist_ok=True)
    targets = [SshdLike("postern", BUILD / "monitor" / "sshd", work, keys,
                        BUILD / "sftp-server" / "sftp-server"),
               SshdLike("openssh", "/usr/sbin/sshd", work, keys, "/usr/lib/openssh/sftp-server")]
    if shutil.which("dropbear"):
        targets.append(Dropbear("dropbear", work, keys))
    if a.baseline:
        targets.append(SshdLike("before", a.baseline / "monitor" / "sshd", work, keys,
                                a.baseline / "sftp-server" / "sftp-server"))

    def fresh_targets(extra_config=""):
        """Servers for a mode that starts them itself, each with its own port and cgroup."""
        made = [SshdLike("postern", BUILD / "monitor" / "sshd", work, keys,
                         BUILD / "sftp-server" / "sftp-server", extra_config),
                SshdLike("openssh", "/usr/sbin/sshd", work, keys, "/usr/lib/openssh/sftp-server",
                         extra_config)]
        if shutil.which("dropbear"):
            made.append(Dropbear("dropbear", work, keys))
        return made

    if not server_figures:
        for t in targets:
            t.stop()  # only their cgroups exist
        targets = []
    results = {}
    try:
        if "auth-timing" in only:
            import bench_auth_timing  # scripts/: paramiko is needed for this figure only
            bench_auth_timing.run(BUILD, work, keys, a.attempts)
        if "kex" in only:
            import bench_kex  # scripts/: postern only, its own table

            def postern_with(name, extra_config):
                t = SshdLike(name, BUILD / "monitor" / "sshd", work, keys,
                             BUILD / "sftp-server" / "sftp-server", extra_config)
                t.start()
                return t
            bench_kex.run(BUILD, work, keys, a.runs, postern_with)
        if "bastion" in only:
            import bench_bastion  # scripts/: its own servers, its own table
            bench_bastion.run(BUILD, work, keys, a.size)
        if "index" in only:
            import bench_index  # scripts/: the session index, no server at all
            bench_index.run(BUILD, work, a.index_sessions)
        if "netem" in only:
            import bench_netem  # scripts/: its own namespaces, its own table
            bench_netem.run(work, keys, fresh_targets(), a.netem_size, a.netem_runs, a.netem_delay)
        if "scale" in only:
            import bench_scale  # scripts/: its own table
            bench_scale.run(work, keys, fresh_targets, a.scale_sessions)
        if "cps" in only:
            import bench_cps  # scripts/: its own table
            bench_cps.run(work, keys, fresh_targets, a.cps_seconds)
        for t in targets:
            t.start()
            r = results.setdefault(t.name, {})
            if "handshake" in only:
                r["handshake_ms"], r["handshake_cpu_ms"] = bench_handshake(t, keys, a.runs)
            if "upload" in only:
                for c in ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"):
                    r[c] = bench_upload(t, keys, c, a.size)
                r["compressed"] = bench_upload(t, keys, "aes128-gcm@openssh.com", a.size, True)
            if "forward" in only:
                r["forward"] = bench_forward(t, keys, a.size)
            if "sftp" in only:
                r["sftp"] = bench_sftp(t, keys, a.size)
            if "memory" in only:
                r["pss_kib"] = bench_memory(t, keys, a.sessions)
            t.stop()
    finally:
        for t in targets:
            t.stop()
        subprocess.run(["pkill", "-KILL", "-u", USER], stderr=subprocess.DEVNULL)
        subprocess.run(["userdel", "-r", USER], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

    if not server_figures:
        return 0
    names = [t.name for t in targets]
    print(f"\n{'figure':52}" + "".join(f"{n:>12}" for n in names) + "   postern/openssh")

    def row(label, values, lower_is_better):
        cells = "".join(f"{v:12.1f}" if v is not None else f"{'-':>12}" for v in values)
        ratio = ""
        if values[0] and len(values) > 1 and values[1]:
            ratio = f"   {values[0] / values[1]:.2f} ({'lower' if lower_is_better else 'higher'} is better)"
        print(f"{label:52}{cells}{ratio}")

    if "handshake" in only:
        row("ssh true, median wall ms", [results[n]["handshake_ms"] for n in names], True)
        row("server CPU ms per connection", [results[n]["handshake_cpu_ms"] for n in names], True)
    if "upload" in only:
        for c in ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"):
            row(f"upload {c} MB/s", [(results[n][c] or (None, None))[0] for n in names], False)
            row(f"upload {c} server CPU s/GiB", [(results[n][c] or (None, None))[1] for n in names], True)
        row("upload -C (zlib, text) MB/s", [(results[n]["compressed"] or (None, None))[0] for n in names], False)
        row("upload -C server CPU s/GiB", [(results[n]["compressed"] or (None, None))[1] for n in names], True)
    if "forward" in only:
        row("ssh -L to a local sink MB/s", [results[n]["forward"][0] for n in names], False)
        row("ssh -L server CPU s/GiB", [results[n]["forward"][1] for n in names], True)
    if "sftp" in only:
        row("sftp put MB/s", [(results[n]["sftp"] or (None, None))[0] for n in names], False)
        row("sftp get MB/s", [(results[n]["sftp"] or (None, None))[1] for n in names], False)
    if "memory" in only:
        row("PSS KiB per idle session", [results[n]["pss_kib"] for n in names], True)


if __name__ == "__main__":
    sys.exit(main())
