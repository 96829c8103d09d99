"""scripts/bench --only index: the session index at 100,000 sessions (issue 14, "Measure").

Writes a synthetic audit log (six events per session, the fields the monitor writes), inserts it
into a fresh SQLite index with `postern-audit reindex` (the same line-by-line insert the monitor's
writer does, in batched transactions) and times it; then times postern-audit's queries from the
index and, for comparison, from the JSON log (--from-log). Each query's time is the median wall
time of a few runs of the whole command (process start and policy load included)."""

import json
import random
import statistics
import subprocess
import time
from pathlib import Path

USERS = 100
TARGETS = 50


def synthetic_log(path, sessions):
    """`sessions` sessions over a year, in time order: login, target-open, channel, channel-close
    (exit status, recording), target-close, session-close."""
    rnd = random.Random(14)
    start = 1765000000000  # Dec 2025, in ms
    step = 365 * 86400 * 1000 // sessions
    with open(path, "w") as f:
        for i in range(sessions):
            t = start + i * step
            user, target = f"user{rnd.randrange(USERS)}", f"host{rnd.randrange(TARGETS)}"
            base = {"session": f"{i:016x}", "bastion_user": user,
                    "client": f"10.0.{i % 250}.{i % 200} port {1024 + i % 60000}",
                    "target": target, "target_user": "deploy", "channel": "", "decision": "allow",
                    "reason": "", "role": "ops", "detail": "", "bytes_up": 0, "bytes_down": 0,
                    "exit_status": None, "recording": "", "recording_sha256": ""}
            events = [("login", {"target": "", "target_user": ""}), ("target-open", {}),
                      ("channel", {"channel": "shell"}),
                      ("channel-close", {"channel": "shell", "bytes_up": 1200, "bytes_down": 90000,
                                         "exit_status": str(i % 3),
                                         "recording": f"/var/lib/postern/recordings/{i:016x}.cast",
                                         "recording_sha256": "ab" * 32}),
                      ("target-close", {"bytes_up": 1500, "bytes_down": 95000}),
                      ("session-close", {})]
            for n, (event, fields) in enumerate(events):
                ms = t + n * 1000
                e = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) +
                     f".{ms % 1000:03d}Z", "event": event, **base, **fields, "prev": f"{i}-{n}"}
                f.write(json.dumps(e, separators=(",", ":")) + "\n")


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append((time.monotonic() - t0) * 1000)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))}: {r.stderr}")
    return statistics.median(times), r.stdout


def run(build, work, sessions=100000, runs=5):
    audit = str(Path(build) / "audit" / "postern-audit")
    d = Path(work) / "index-bench"
    d.mkdir(exist_ok=True)
    log, db = d / "audit.jsonl", d / "audit.db"
    (d / "templates.json").write_text("[]\n")
    policy = d / "bastion.toml"
    policy.write_text(f'[bastion]\naudit_log = "{log}"\ntemplates = "{d}/templates.json"\n')
    synthetic_log(log, sessions)
    lines = sessions * 6

    t0 = time.monotonic()
    r = subprocess.run([audit, "reindex", "--policy", policy], capture_output=True, text=True)
    insert_s = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr)

    sample = f"{sessions // 2:016x}"
    queries = [("sessions --user user7", ["sessions", "--user", "user7"]),
               ("sessions --target host3 --since 2026-06-01", ["sessions", "--target", "host3",
                                                               "--since", "2026-06-01"]),
               (f"show {sample}", ["show", sample])]
    print(f"\nsession index: {sessions} sessions, {lines} events "
          f"({log.stat().st_size / 2**20:.0f} MiB JSON log, {db.stat().st_size / 2**20:.0f} MiB "
          f"SQLite)")
    print(f"  insert (postern-audit reindex, SQLite): {insert_s:.1f} s, "
          f"{sessions / insert_s:.0f} sessions/s, {lines / insert_s:.0f} events/s")
    print(f"  {'query':44}{'index ms':>10}{'JSON log ms':>13}{'rows':>7}")
    for label, args in queries:
        index_ms, out = timed([audit, args[0], "--policy", policy, *args[1:]], runs)
        log_ms, out_log = timed([audit, args[0], "--policy", policy, "--from-log", *args[1:]],
                                max(1, runs // 2))
        if out != out_log:
            raise RuntimeError(f"{label}: the index and the JSON log disagree")
        rows = len(out.splitlines()) - (1 if args[0] == "sessions" else 0)
        print(f"  {label:44}{index_ms:10.1f}{log_ms:13.1f}{rows:7}")
