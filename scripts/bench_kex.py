"""scripts/bench --only kex: postern's server CPU per connection for each post-quantum key
exchange next to classical X25519 (issue 17). The client is postern's own client transport
(net/transport_probe_client), since Debian 12's ssh knows no ML-KEM names: it runs the key
exchange, the ssh-userauth service request and a "none" userauth, then disconnects, so each
connection costs the server one key exchange plus the same fixed work. Every method runs against
its own server offering only that method; CPU is the server's cgroup (or /proc) time per
connection, median wall ms is the client's.

Then the host key's share: curve25519-sha256 against a server whose one host key algorithm is
ssh-ed25519, then ssh-mldsa44-ed25519@openssh.com (written by postern-keygen), so the difference
is the ML-DSA-44 half: the key's expansion from its seed when each connection's monitor loads
it, one signature, and the client's verification."""

import statistics
import subprocess
import time
from pathlib import Path

METHODS = ["curve25519-sha256", "sntrup761x25519-sha512", "mlkem768x25519-sha256",
           "mlkem768nistp256-sha256"]


HOST_KEYS = ["ssh-ed25519", "ssh-mldsa44-ed25519@openssh.com"]


def measure(t, cmd, runs, expect):
    """(median wall ms, server CPU ms) per connection of `cmd` against Target `t`."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert expect in out, out
    walls = []
    cpu0 = t.cpu()
    for _ in range(runs):
        s = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        walls.append((time.perf_counter() - s) * 1000)
    time.sleep(0.3)
    return statistics.median(walls), (t.cpu() - cpu0) * 1000 / runs


def run_host_keys(build, work, runs, server_factory):
    """{host key algorithm: (wall, cpu)} with curve25519-sha256."""
    probe = build / "net" / "transport_probe_client"
    pq_key = Path(work) / "host_mldsa44_ed25519"
    if not pq_key.exists():
        subprocess.run([str(build / "keygen" / "postern-keygen"), "-t", "mldsa44-ed25519", "-f",
                        str(pq_key)], capture_output=True, check=True)
    results = {}
    for alg in HOST_KEYS:
        # Only the ML-DSA row loads that key: each connection's monitor loads its host keys.
        extra = f"HostKey {pq_key}\n" if "mldsa" in alg else ""
        t = server_factory(f"hostkey-{alg}", f"{extra}HostKeyAlgorithms {alg}\n"
                           "KexAlgorithms curve25519-sha256\n")
        try:
            cmd = [str(probe), "-o", f"hostkeys={alg}", "-o", "kex=curve25519-sha256",
                   str(t.port)]
            results[alg] = measure(t, cmd, runs, f"host key: {alg} ")
        finally:
            t.stop()
    return results


def run(build, work, keys, runs, server_factory):
    """server_factory(name, extra_config) -> a started Target; returns {method: (wall, cpu)}."""
    probe = build / "net" / "transport_probe_client"
    results = {}
    for method in METHODS:
        t = server_factory(f"kex-{method}", f"KexAlgorithms {method}\n")
        try:
            cmd = [str(probe), "-o", f"kex={method}", str(t.port)]
            results[method] = measure(t, cmd, runs, f"kex: {method} ")
        finally:
            t.stop()
    header = "key exchange (postern client -> postern sshd)"
    print(f"\n{header:52}{'wall ms':>12}{'server CPU ms':>16}")
    for method, (wall, cpu) in results.items():
        print(f"{method:52}{wall:12.1f}{cpu:16.2f}")
    host_keys = run_host_keys(build, work, runs, server_factory)
    header = "host key, curve25519-sha256 (postern client -> sshd)"
    print(f"\n{header:52}{'wall ms':>12}{'server CPU ms':>16}")
    for alg, (wall, cpu) in host_keys.items():
        print(f"{alg:52}{wall:12.1f}{cpu:16.2f}")
    results.update({f"host key {alg}": v for alg, v in host_keys.items()})
    return results
