"""The session index (man/postern-bastion.5 AUDIT INDEX): a real bastion session lands in the
SQLite index beside the audit log, and `postern-audit sessions|show` read from it what they read
from the JSON log; reindex rebuilds it, idempotently; a corrupt index file neither blocks a
session nor hides it from postern-audit; and with audit_database = "postgresql://..." the
session lands in a real PostgreSQL server (Debian's postgresql, started here as a dedicated
unprivileged user on a private socket directory), where postern-audit reads it."""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy, wait_until
from conftest import BUILD, free_port

POSTERN_AUDIT = BUILD / "audit" / "postern-audit"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postern-pgtest"


def audit(*args, timeout=60):
    return subprocess.run([str(POSTERN_AUDIT), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def same_from_index_and_log(policy, *args):
    """postern-audit's output from the index and from the JSON log (--from-log), both exit 0."""
    indexed = audit(*args[:1], "--policy", policy, *args[1:])
    logged = audit(*args[:1], "--policy", policy, "--from-log", *args[1:])
    assert indexed.returncode == 0, indexed.stderr
    assert logged.returncode == 0, logged.stderr
    assert indexed.stderr == "", indexed.stderr  # the index was read, no fallback
    return indexed.stdout, logged.stdout


def indexed_session(db_path, session):
    """The session's row in the SQLite index, once its last event (exit status) is there."""
    row = None

    def ready():
        nonlocal row
        if not Path(db_path).exists():
            return False
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT bastion_user, target, exit_status FROM sessions WHERE id = ?",
                              (session,)).fetchone()
        except sqlite3.OperationalError:
            return False  # not migrated yet
        finally:
            con.close()
        return row is not None and row[2] is not None

    wait_until(ready, 10)
    return row


def one_session(env, bastion, user="alice", command="echo indexed; exit 3"):
    """Runs one exec session through `bastion`; its id, once the JSON log closed it."""
    mark = env.audit_mark()
    r = bastion.ssh(f"{env.target_user}%web1%{user}", command, env.keys[user])
    assert r.returncode == 3, r.stderr + bastion.log_text()[-2000:]
    events = env.audit_since(mark, lambda evs: any(e["event"] == "session-close" for e in evs))
    return next(e["session"] for e in events if e["bastion_user"] == user)


def policy_for(env, target, **settings):
    p = Policy(env, **settings)
    for name in ("alice", "bob"):
        p.user(name, env.pub(name))
    p.target("web1", "127.0.0.1", target.port, [env.target_user])
    p.role("ops", ["alice"], ["web1"], [env.target_user], ["exec", "shell"])
    return p


@pytest.fixture(scope="module")
def w(keydir, user):
    """A bastion with the default index (audit.db beside audit.jsonl), alice's session (exit 3)
    and bob refused."""
    env = BastionEnv(tempfile.mkdtemp(prefix="audit-index-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        bastion = env.make_bastion(policy_for(env, target))
        session = one_session(env, bastion)
        r = bastion.ssh(f"{env.target_user}%web1%bob", "true", env.keys["bob"])
        assert r.returncode != 0
        env.audit_since(0, lambda evs: any(e["bastion_user"] == "bob" for e in evs))
        db = env.dir / "audit.db"
        yield SimpleNamespace(env=env, target=target, bastion=bastion, policy=bastion.policy_path,
                              session=session, db=db)
    finally:
        env.close()


def test_the_session_lands_in_the_index_beside_the_log(w):
    assert indexed_session(w.db, w.session) == ("alice", "web1", "3")
    assert (os.stat(w.db).st_mode & 0o777) == 0o600
    con = sqlite3.connect(f"file:{w.db}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT version FROM schema_version").fetchone()[0] == 2
        n_events = con.execute("SELECT count(*) FROM events WHERE session = ?",
                               (w.session,)).fetchone()[0]
        logged = [e for e in w.env.audit() if e["session"] == w.session]
        assert n_events == len(logged)
        kinds = {r[0] for r in con.execute("SELECT channel FROM channels WHERE session = ?",
                                           (w.session,))}
        assert "exec" in kinds
    finally:
        con.close()


def test_sessions_and_show_from_the_index_equal_those_from_the_log(w):
    indexed_session(w.db, w.session)
    wait_until(lambda: audit("sessions", "--policy", w.policy).stdout
               == audit("sessions", "--policy", w.policy, "--from-log").stdout, 10)
    for args in (("sessions",), ("sessions", "--json"), ("sessions", "--user", "alice"),
                 ("sessions", "--target", "web1", "--since", "1h"),
                 ("sessions", "--user", "nobody"), ("show", w.session)):
        indexed, logged = same_from_index_and_log(w.policy, *args)
        assert indexed == logged, args
    rows = audit("sessions", "--policy", w.policy).stdout.splitlines()
    row = next(r.split("\t") for r in rows if r.startswith(w.session))
    assert row[3] == "alice" and row[7] == "3"


def test_reindex_rebuilds_the_index_idempotently(w):
    indexed_session(w.db, w.session)
    d = Path(tempfile.mkdtemp(prefix="reindex-", dir=w.env.dir))
    log = d / "audit.jsonl"
    shutil.copy(w.env.audit_log, log)
    policy = w.env.write_policy(open(w.policy).read().replace(str(w.env.audit_log), str(log)))
    # No index yet: sessions reads the JSON log, quietly.
    before = audit("sessions", "--policy", policy)
    assert before.returncode == 0 and before.stderr == "", before.stderr
    assert w.session in before.stdout
    n = len(log.read_text().splitlines())
    r = audit("reindex", "--policy", policy)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"reindex: {n} lines read, {n} added, 0 skipped\n"
    r = audit("reindex", "--policy", policy)
    assert r.returncode == 0 and r.stdout == f"reindex: {n} lines read, 0 added, 0 skipped\n"
    indexed, logged = same_from_index_and_log(policy, "sessions")
    assert indexed == logged == before.stdout
    indexed, logged = same_from_index_and_log(policy, "show", w.session)
    assert indexed == logged and "exit_status=3" in indexed


def test_a_corrupt_index_blocks_no_session_and_hides_none(w):
    bad = w.env.dir / "corrupt.db"
    bad.write_bytes(b"this is not a database\n" * 400)
    policy = w.env.write_policy(policy_for(w.env, w.target, audit_database=f"sqlite:{bad}"))
    bastion = w.env.make_bastion(open(policy).read())
    session = one_session(w.env, bastion)
    assert wait_until(lambda: "not a database" in bastion.log_text(), 10), \
        bastion.log_text()[-2000:]
    assert bad.read_bytes() == b"this is not a database\n" * 400  # left as it was
    r = audit("sessions", "--policy", policy)
    assert r.returncode == 0
    assert "not a database" in r.stderr and "reading the JSON log" in r.stderr
    assert session in r.stdout


def test_a_newer_index_is_refused_clearly(w):
    d = Path(tempfile.mkdtemp(prefix="newer-", dir=w.env.dir))
    db = d / "audit.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (99)")
    con.commit()
    con.close()
    policy = w.env.write_policy(policy_for(w.env, w.target, audit_database=f"sqlite:{db}"))
    bastion = w.env.make_bastion(open(policy).read())
    session = one_session(w.env, bastion)
    assert wait_until(lambda: "schema version 99 is newer" in bastion.log_text(), 10), \
        bastion.log_text()[-2000:]
    r = audit("sessions", "--policy", policy)
    assert r.returncode == 0 and "schema version 99 is newer" in r.stderr, r.stderr
    assert session in r.stdout
    r = audit("reindex", "--policy", policy)
    assert r.returncode == 2 and "schema version 99 is newer" in r.stderr


# ---- PostgreSQL --------------------------------------------------------------------------------

def run_as_pg(*cmd, check=True):
    return subprocess.run(["runuser", "-u", PG_USER, "--", *map(str, cmd)], capture_output=True,
                          text=True, timeout=120, check=check)


@pytest.fixture(scope="module")
def pg():
    """A private PostgreSQL cluster: its own unprivileged user, data directory and unix socket
    directory, listening on no TCP address; stopped and removed at the end."""
    if os.getuid() != 0:
        pytest.skip("needs root to create the PostgreSQL test user")
    if not (PG_BIN / "initdb").exists():
        pytest.skip("postgresql not installed (scripts/deps test installs it)")
    created = subprocess.run(["id", PG_USER], capture_output=True).returncode != 0
    if created:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True)
    top = Path(tempfile.mkdtemp(prefix="postern-pg-"))
    os.chmod(top, 0o755)
    data, sock = top / "data", top / "sock"
    sock.mkdir(mode=0o700)
    shutil.chown(sock, PG_USER)
    port = free_port()
    started = False
    try:
        os.chmod(top, 0o711)
        data.mkdir(mode=0o700)
        shutil.chown(data, PG_USER)
        run_as_pg(PG_BIN / "initdb", "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8")
        run_as_pg(PG_BIN / "pg_ctl", "-D", data, "-l", top / "sock" / "server.log", "-w", "start",
                  "-o", f"-k {sock} -p {port} -c listen_addresses=''")
        started = True
        run_as_pg(PG_BIN / "createdb", "-h", sock, "-p", port, "audit")
        uri = f"postgresql://{PG_USER}@/audit?host={sock}&port={port}"
        yield SimpleNamespace(uri=uri, sock=sock, port=port)
    finally:
        if started:
            run_as_pg(PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(top, ignore_errors=True)
        if created:
            subprocess.run(["userdel", PG_USER], capture_output=True)


def psql(pg, sql):
    r = run_as_pg("psql", "-h", pg.sock, "-p", pg.port, "-d", "audit", "-At", "-c", sql,
                  check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def test_postgresql_index(pg, keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="audit-index-pg-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        bastion = env.make_bastion(policy_for(env, target, audit_database=pg.uri))
        session = one_session(env, bastion)
        assert wait_until(lambda: psql(pg, f"SELECT bastion_user || ' ' || exit_status FROM "
                                           f"sessions WHERE id = '{session}'") == "alice 3", 15), \
            bastion.log_text()[-2000:]
        assert psql(pg, "SELECT version FROM schema_version") == "2"
        logged = [e for e in env.audit() if e["session"] == session]
        assert psql(pg, f"SELECT count(*) FROM events WHERE session = '{session}'") == \
            str(len(logged))
        assert not (env.dir / "audit.db").exists()  # postgresql instead of the SQLite file
        indexed, from_log = same_from_index_and_log(bastion.policy_path, "sessions")
        assert indexed == from_log and session in indexed
        indexed, from_log = same_from_index_and_log(bastion.policy_path, "show", session)
        assert indexed == from_log
        # reindex into postgresql adds nothing the monitor already wrote.
        r = audit("reindex", "--policy", bastion.policy_path)
        assert r.returncode == 0, r.stderr
        assert ", 0 added, 0 skipped" in r.stdout, r.stdout
    finally:
        env.close()


def test_an_unreachable_postgresql_blocks_no_session(keydir, user):
    env = BastionEnv(tempfile.mkdtemp(prefix="audit-index-nopg-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        nowhere = f"postgresql://nobody@/audit?host={env.dir}/no-socket&port={free_port()}"
        bastion = env.make_bastion(policy_for(env, target, audit_database=nowhere))
        session = one_session(env, bastion)
        assert wait_until(lambda: "cannot connect" in bastion.log_text(), 10), \
            bastion.log_text()[-2000:]
        r = audit("sessions", "--policy", bastion.policy_path)
        assert r.returncode == 0 and "cannot connect" in r.stderr, r.stderr
        assert session in r.stdout
    finally:
        env.close()
