"""scripts/bench --only kex: postern's server CPU per connection for each post-quantum key
exchange next to classical X25519 (issue 17). The client is postern's own client transport
(net/transport_probe_client), since Debian 12's ssh knows no ML-KEM names: it runs the key
exchange, the ssh-userauth service request and a "none" userauth, then disconnects, so each
connection costs the server one key exchange plus the same fixed work. Every method runs against
its own server offering only that method; CPU is the server's cgroup (or /proc) time per
connection, median wall ms is the client's."""

import statistics
import subprocess
import time

METHODS = ["curve25519-sha256", "sntrup761x25519-sha512", "mlkem768x25519-sha256",
           "mlkem768nistp256-sha256"]


def run(build, work, keys, runs, server_factory):
    """server_factory(name, extra_config) -> a started Target; returns {method: (wall, cpu)}."""
    probe = build / "net" / "transport_probe_client"
    results = {}
    for method in METHODS:
        t = server_factory(f"kex-{method}", f"KexAlgorithms {method}\n")
        try:
            cmd = [str(probe), "-o", f"kex={method}", str(t.port)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            assert f"kex: {method} " in out, out
            walls = []
            cpu0 = t.cpu()
            for _ in range(runs):
                s = time.perf_counter()
                subprocess.run(cmd, capture_output=True, check=True)
                walls.append((time.perf_counter() - s) * 1000)
            time.sleep(0.3)
            results[method] = (statistics.median(walls), (t.cpu() - cpu0) * 1000 / runs)
        finally:
            t.stop()
    header = "key exchange (postern client -> postern sshd)"
    print(f"\n{header:52}{'wall ms':>12}{'server CPU ms':>16}")
    for method, (wall, cpu) in results.items():
        print(f"{method:52}{wall:12.1f}{cpu:16.2f}")
    return results
