"""scripts/bench --only scale: --scale-sessions (1000) idle sessions held by each server at once,
postern beside OpenSSH's sshd and Dropbear in the same run, the same stock ssh client
(ControlMaster no, one process per session, each from its own 127.0.0.x so no per-source limit
decides the figure). MaxStartups is raised for postern and OpenSSH alike.

Each session runs `while read x; do echo ok; done` with a stdin pipe the bench keeps, and counts
as held once it answered a line. Figures, per server:
  held            sessions that answered, of those asked for, and the seconds opening took
  PSS             the server's processes (smaps_rollup of the listener and its descendants that
                  are the server's, not the users' shells), total MiB and KiB per session above
                  the idle listener
  answer          every held session poked once: median and worst ms to its "ok", and the
                  server's CPU per answer (its cgroup: the users' shells count too)
  accept          connect + SSH banner of a fresh connection while they are held: median, worst ms
  flood           FLOOD_CONNECTIONS `ssh host true` in FLOOD_SECONDS beside them (at most
                  FLOOD_PARALLEL at once): how many succeeded, and the held sessions' worst answer
                  while it ran (they are poked round after round), and any that did not answer
  teardown        seconds until every client exited after its stdin closed (killed after 60 s)
Not a test: it stops by itself, and every process it started is stopped whatever happens."""

import os
import resource
import socket
import statistics
import subprocess
import time

from bench import descendants, pss_kib, ssh_cmd
from bench_held_sessions import await_answers, close_sessions, open_sessions

OPEN_PARALLEL = 8
OPEN_TIMEOUT = 60
ANSWER_TIMEOUT = 30
ACCEPT_SAMPLES = 20
FLOOD_CONNECTIONS = 200
FLOOD_SECONDS = 10
FLOOD_PARALLEL = 40
SERVER_COMMS = ("sshd", "sshd-session", "sshd-net", "sshd-user", "dropbear")
SCALE_MAXSTARTUPS = "MaxStartups 4000:30:8000"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def source_address(i):
    """127.0.0.2 .. 127.0.0.251: connections spread over sources, as from a fleet."""
    return f"127.0.0.{2 + i % 250}"


def server_pss_kib(t):
    """PSS of the server's own processes below its listener (not the users' shells)."""
    pids = []
    for p in descendants(t.proc.pid):
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() in SERVER_COMMS:
                    pids.append(p)
        except OSError:
            pass
    return pss_kib(pids), len(pids)


def accept_latency_ms(port, samples):
    got = []
    for _ in range(samples):
        s = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                if c.recv(256).startswith(b"SSH-"):
                    got.append((time.perf_counter() - s) * 1000)
        except OSError:
            pass
        time.sleep(0.05)
    return got


def flood(t, keys, held):
    """FLOOD_CONNECTIONS logins spread over FLOOD_SECONDS while the held sessions are poked
    round after round: (logins that succeeded, answer latencies, sessions that failed)."""
    running, ok, started = [], 0, 0
    latencies, failed = [], set()
    start = time.perf_counter()
    while started < FLOOD_CONNECTIONS or running:
        due = int((time.perf_counter() - start) / FLOOD_SECONDS * FLOOD_CONNECTIONS) + 1
        while started < min(due, FLOOD_CONNECTIONS) and len(running) < FLOOD_PARALLEL:
            cmd = ssh_cmd(t, keys, options=[f"BindAddress={source_address(started + 100)}",
                                            "ControlMaster=no", "ConnectTimeout=30"]) + ["true"]
            running.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            started += 1
        for s in held:
            s.poke()
        lat, bad = await_answers(held, ANSWER_TIMEOUT)
        latencies += lat
        failed.update(bad)
        for p in [p for p in running if p.poll() is not None]:
            ok += p.returncode == 0
            running.remove(p)
        if time.perf_counter() - start > FLOOD_SECONDS + 120:
            for p in running:
                p.kill()
                p.wait()
            break
    return ok, latencies, failed


def measure(t, keys, sessions):
    r = {"asked": sessions}
    base, _ = server_pss_kib(t)

    def cmd(i):
        return ssh_cmd(t, keys, "-T", options=[f"BindAddress={source_address(i)}",
                                               "ControlMaster=no", "ConnectTimeout=30"])
    s = time.perf_counter()
    held, failed = open_sessions(cmd, sessions, OPEN_PARALLEL, OPEN_TIMEOUT)
    r["open_s"] = time.perf_counter() - s
    try:
        r["held"] = len(held)
        time.sleep(2)
        total, procs = server_pss_kib(t)
        r["pss_mib"] = total / 1024
        r["pss_per_session_kib"] = (total - base) / max(1, len(held))
        r["server_procs"] = procs
        cpu0 = t.cpu()
        for h in held:
            h.poke()
        lat, bad = await_answers(held, ANSWER_TIMEOUT)
        r["answer_cpu_us"] = (t.cpu() - cpu0) * 1e6 / max(1, len(lat))
        r["answer_ms"] = [x * 1000 for x in lat]
        r["unanswered"] = len(bad)
        r["accept_ms"] = accept_latency_ms(t.port, ACCEPT_SAMPLES)
        r["flood_ok"], flood_lat, flood_bad = flood(t, keys, held)
        r["flood_answer_ms"] = [x * 1000 for x in flood_lat]
        r["flood_unanswered"] = len(flood_bad)
    finally:
        s = time.perf_counter()
        r["killed"] = close_sessions(held + failed, 60)
        r["teardown_s"] = time.perf_counter() - s
    return r


def spread(values):
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


def run(work, keys, make_targets, sessions):
    """make_targets() -> bench.py Targets (not started); returns {name: figures}."""
    limit = raise_fd_limit()
    if limit < 4 * sessions + 1000:
        print(f"scale: RLIMIT_NOFILE is {limit}, too few for {sessions} sessions")
        return {}
    results = {}
    for t in make_targets():
        cfg = work / f"{t.name}_config"
        if cfg.exists():
            cfg.write_text(cfg.read_text().replace("MaxStartups 100:30:200", SCALE_MAXSTARTUPS))
        try:
            t.start()
            results[t.name] = measure(t, keys, sessions)
        finally:
            t.stop()
        print(f"scale: {t.name}: {results[t.name]['held']} held", flush=True)
    names = list(results)
    print(f"\n{sessions} idle sessions held{'':18}" + "".join(f"{n:>16}" for n in names))
    rows = [
        ("sessions held", lambda r: f"{r['held']}"),
        ("opening them, s", lambda r: f"{r['open_s']:.0f}"),
        ("server PSS total, MiB", lambda r: f"{r['pss_mib']:.0f}"),
        ("server PSS per session, KiB", lambda r: f"{r['pss_per_session_kib']:.0f}"),
        ("server processes", lambda r: f"{r['server_procs']}"),
        ("answer ms, median / worst", lambda r: spread(r["answer_ms"])),
        ("not answering", lambda r: f"{r['unanswered']}"),
        ("server CPU us per answer", lambda r: f"{r['answer_cpu_us']:.0f}"),
        ("accept + banner ms, median / worst", lambda r: spread(r["accept_ms"])),
        (f"flood: logins ok of {FLOOD_CONNECTIONS}", lambda r: f"{r['flood_ok']}"),
        ("flood: held answer ms, median / worst", lambda r: spread(r["flood_answer_ms"])),
        ("flood: held not answering", lambda r: f"{r['flood_unanswered']}"),
        ("teardown s (killed)", lambda r: f"{r['teardown_s']:.0f} ({r['killed']})"),
    ]
    for label, cell in rows:
        print(f"{label:52}" + "".join(f"{cell(results[n]):>16}" for n in names))
    if "postern" in results and "openssh" in results:
        p, o = results["postern"], results["openssh"]
        print(f"postern/openssh PSS per session {p['pss_per_session_kib'] / o['pss_per_session_kib']:.2f}"
              " (lower is better)")
    return results
