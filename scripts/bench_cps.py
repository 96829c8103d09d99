"""scripts/bench --only cps: connections per second sustained by CLIENTS parallel clients, each
running `ssh host true` back to back (curve25519-sha256, ed25519 keys, ControlMaster no) for
--cps-seconds, against postern, OpenSSH's sshd and Dropbear in the same run. Each client binds
its own 127.0.0.x, so no per-source limit (Dropbear's five unauthenticated connections per
address) decides the figure; MaxStartups is raised for postern and OpenSSH alike.
Figures: logins completed per second, failed logins, the median wall ms of one, the server's
CPU ms per login (its cgroup), and postern ÷ OpenSSH (goal >= 1.5). The clients share the
machine's two cores with the server, so a cheaper server shows as more logins per second.
--cps-runs repetitions give the spread. Not a test."""

import statistics
import subprocess
import time

from bench import ssh_cmd

CLIENTS = 8
CPS_MAXSTARTUPS = "MaxStartups 400:30:800"


def sustain(t, keys, seconds):
    """(logins per second, failures, median wall ms, server CPU ms per login)."""
    def start(i):
        cmd = ssh_cmd(t, keys, options=[f"BindAddress=127.0.0.{2 + i}", "ControlMaster=no",
                                        "KexAlgorithms=curve25519-sha256"]) + ["true"]
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL), time.perf_counter()

    ok, failed, walls = 0, 0, []
    cpu0 = t.cpu()
    begin = time.perf_counter()
    running = [start(i) for i in range(CLIENTS)]
    while any(running):
        time.sleep(0.005)
        for i, slot in enumerate(running):
            if slot is None or slot[0].poll() is None:
                continue
            proc, s = slot
            walls.append((time.perf_counter() - s) * 1000)
            if proc.returncode == 0:
                ok += 1
            else:
                failed += 1
            running[i] = start(i) if time.perf_counter() - begin < seconds else None
    elapsed = time.perf_counter() - begin
    time.sleep(0.3)
    cpu_ms = (t.cpu() - cpu0) * 1000 / max(1, ok + failed)
    return ok / elapsed, failed, statistics.median(walls) if walls else 0.0, cpu_ms


def run(work, keys, make_targets, seconds, runs=3):
    """make_targets() -> bench.py Targets (not started); returns {name: [figures per run]}."""
    results = {}
    targets = make_targets()
    for t in targets:
        cfg = work / f"{t.name}_config"
        if cfg.exists():
            cfg.write_text(cfg.read_text().replace("MaxStartups 100:30:200", CPS_MAXSTARTUPS))
    try:
        for t in targets:
            t.start()
        # Rounds alternate the servers, so a disturbance (another build) hits each alike.
        for _ in range(runs):
            for t in targets:
                results.setdefault(t.name, []).append(sustain(t, keys, seconds))
    finally:
        for t in targets:
            t.stop()
    print(f"\nconnections per second, {CLIENTS} parallel clients, {seconds:.0f} s per run")
    for name, runs_of in results.items():
        cps = [r[0] for r in runs_of]
        print(f"{name:12} logins/s median {statistics.median(cps):6.1f} (runs "
              + " ".join(f"{c:.1f}" for c in cps) + f")  failed {sum(r[1] for r in runs_of)}"
              f"  wall ms {statistics.median(r[2] for r in runs_of):6.0f}"
              f"  server CPU ms/login {statistics.median(r[3] for r in runs_of):6.1f}")
    if "postern" in results and "openssh" in results:
        ratios = [p[0] / o[0] for p, o in zip(results["postern"], results["openssh"])]
        print(f"postern/openssh logins/s median {statistics.median(ratios):.2f} "
              f"(runs {min(ratios):.2f} .. {max(ratios):.2f}; higher is better, goal >= 1.5)")
    return results
