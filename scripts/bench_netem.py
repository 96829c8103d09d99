"""scripts/bench --only netem: uploads over a long fat link. Two network namespaces joined by a
veth pair, `tc netem delay` on both ends (--netem-delay 50 ms each way: a 100 ms round trip),
postern, OpenSSH's sshd and Dropbear each listening in the server namespace, the same stock ssh
client in the other uploading --netem-size MiB (`cat >/dev/null`). Figures: MB/s of the data
(the wall time of `ssh host true` over the same link taken off), each server beside the others,
and postern ÷ OpenSSH; --netem-runs repetitions give the spread. Beside it, each run, the same
upload from a client in the server's namespace (no delay): what the machine allows at that
moment, so a figure bounded by CPU rather than by the window shows as such.

The kernel's TCP buffers bound any TCP stream at a 100 ms round trip too (tcp_wmem's 4 MiB
default: about 40 MB/s), so both namespaces get tcp_rmem/tcp_wmem of 16 MiB growing to
64 MiB, as one tunes a long fat link; the figures then show what the SSH channel window allows.
Dropbear's receive window is 24 KiB by default, so it uploads --netem-size / 64 MiB (at least 2).
Namespaces, servers and clients are removed whatever happens. Not a test."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import USER

SERVER_NS, CLIENT_NS = "postern-bench-srv", "postern-bench-cli"
SERVER_IP, CLIENT_IP = "10.231.0.1", "10.231.0.2"
SERVER_DEV, CLIENT_DEV = "pbench-s", "pbench-c"
# Up to 64 MiB, and 16 MiB from the start: a receive buffer that starts small limits the first
# round trips, and BBR (this kernel's only congestion control in a namespace beside reno) takes
# that for the link's bandwidth and then probes upwards by a quarter every eight round trips.
TCP_BUFFERS = "4096 16777216 67108864"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def in_ns(ns, cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def make_namespaces():
    for ns in (SERVER_NS, CLIENT_NS):
        sh("ip", "netns", "add", ns)
        sh(*in_ns(ns, ["ip", "link", "set", "lo", "up"]))
        for key in ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"):
            sh(*in_ns(ns, ["sysctl", "-q", "-w", f"{key}={TCP_BUFFERS}"]))


def address_devices():
    for ns, dev, ip in ((SERVER_NS, SERVER_DEV, SERVER_IP), (CLIENT_NS, CLIENT_DEV, CLIENT_IP)):
        sh(*in_ns(ns, ["ip", "addr", "add", f"{ip}/24", "dev", dev]))
        sh(*in_ns(ns, ["ip", "link", "set", dev, "up"]))


def make_netem_link(delay_ms):
    """A veth pair with netem on both ends; False where the kernel has no sch_netem."""
    sh("ip", "link", "add", SERVER_DEV, "netns", SERVER_NS, "type", "veth", "peer", "name",
       CLIENT_DEV, "netns", CLIENT_NS)
    address_devices()
    for ns, dev in ((SERVER_NS, SERVER_DEV), (CLIENT_NS, CLIENT_DEV)):
        # netem's queue holds 1000 packets by default: at 50 ms that caps the link near 30 MB/s.
        r = sh(*in_ns(ns, ["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay",
                           f"{delay_ms}ms", "limit", "1000000"]), check=False)
        if r.returncode != 0:
            sh(*in_ns(SERVER_NS, ["ip", "link", "del", SERVER_DEV]), check=False)
            return False
    return True


def make_delay_line(delay_ms):
    """Two tun devices and scripts/bench_delay_line.py between them: the same link, in user
    space. Returns its process."""
    line = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bench_delay_line.py")),
                             SERVER_NS, SERVER_DEV, CLIENT_NS, CLIENT_DEV, str(delay_ms)],
                            stdout=subprocess.PIPE, text=True)
    if line.stdout.readline().strip() != "ready":
        line.kill()
        line.wait()
        raise RuntimeError("the delay line did not start")
    for ns, dev in ((SERVER_NS, SERVER_DEV), (CLIENT_NS, CLIENT_DEV)):
        sh(*in_ns(ns, ["ip", "link", "set", dev, "mtu", "65000"]))
    address_devices()
    return line


def remove_namespaces():
    for ns in (SERVER_NS, CLIENT_NS):
        sh("ip", "netns", "del", ns, check=False)


class InNamespace:
    """A bench.py target started inside the server namespace and waited for from the client's."""

    def __init__(self, target):
        self.t = target
        # bench.py runs as __main__, so its classes are not bench's: ask for an sshd command.
        self.is_sshd = hasattr(target, "cmd")
        if self.is_sshd:
            cfg = target.work / f"{target.name}_config"
            cfg.write_text(cfg.read_text().replace("ListenAddress 127.0.0.1",
                                                   f"ListenAddress {SERVER_IP}"))

    def start(self):
        if not self.is_sshd:
            key = self.t.work / "dropbear_ed25519"
            if not key.exists():
                sh("dropbearconvert", "openssh", "dropbear", str(self.t.keys / "host_ed25519"),
                   str(key))
            self.t.spawn(in_ns(SERVER_NS, ["dropbear", "-F", "-E", "-s", "-p",
                                           f"{SERVER_IP}:{self.t.port}", "-r", str(key)]))
        else:
            self.t.spawn(in_ns(SERVER_NS, self.t.cmd))
        end = time.time() + 10
        while time.time() < end:
            probe = in_ns(CLIENT_NS, ["bash", "-c", f"exec 3<>/dev/tcp/{SERVER_IP}/{self.t.port}"])
            if subprocess.run(probe, stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.t.name} is not listening in {SERVER_NS}")

    def ssh(self, keys, command, client_ns=CLIENT_NS):
        args = ["ssh", "-F", "/dev/null", "-p", str(self.t.port), "-i", str(keys / "id_ed25519"),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "Ciphers=chacha20-poly1305@openssh.com", f"{USER}@{SERVER_IP}", command]
        return in_ns(client_ns, args)


def upload_mbps(server, keys, mib, client_ns=CLIENT_NS):
    """MB/s of `mib` MiB through `cat >/dev/null`, the handshake's wall time taken off; from the
    server's own namespace the link is the local one, without delay."""
    s = time.perf_counter()
    subprocess.run(server.ssh(keys, "true", client_ns), check=True)
    handshake = time.perf_counter() - s
    feeder = subprocess.Popen(["head", "-c", str(mib << 20), "/dev/zero"], stdout=subprocess.PIPE)
    s = time.perf_counter()
    subprocess.run(server.ssh(keys, "cat >/dev/null", client_ns), stdin=feeder.stdout, check=True)
    wall = time.perf_counter() - s
    feeder.wait()
    return mib * 1.048576 / max(wall - handshake, 1e-3)


def run(work, keys, targets, mib, runs, delay_ms):
    """targets: bench.py Target objects (not started); returns {name: [MB/s per run]}."""
    results = {t.name: [] for t in targets}
    local = {t.name: [] for t in targets}
    servers = [InNamespace(t) for t in targets]
    line = None
    remove_namespaces()
    try:
        make_namespaces()
        how = "tc netem on a veth pair"
        if not make_netem_link(delay_ms):
            how = "no sch_netem in this kernel: a user-space delay line over two tun devices"
            line = make_delay_line(delay_ms)
        print(f"\nnetem: {how}")
        for s in servers:
            s.start()
        for _ in range(runs):
            for s in servers:
                size = mib if s.is_sshd else max(2, mib // 64)
                results[s.t.name].append(upload_mbps(s, keys, size))
                local[s.t.name].append(upload_mbps(s, keys, size, SERVER_NS))
    finally:
        for s in servers:
            s.t.stop()
        if line:
            line.kill()
            line.wait()
        remove_namespaces()
    for title, table in ((f"upload over a {2 * delay_ms} ms round trip (netem)", results),
                         ("the same upload without the delay (client in the server's namespace)",
                          local)):
        print(f"\n{title}, MB/s per run")
        for name, values in table.items():
            if values:
                print(f"{name:12} median {statistics.median(values):8.1f}   runs "
                      + " ".join(f"{v:.1f}" for v in values))
    if results.get("postern") and results.get("openssh"):
        ratios = [p / o for p, o in zip(results["postern"], results["openssh"])]
        print(f"postern/openssh  median {statistics.median(ratios):.2f}  "
              f"(runs {min(ratios):.2f} .. {max(ratios):.2f}; higher is better, goal >= 3)")
    return results
