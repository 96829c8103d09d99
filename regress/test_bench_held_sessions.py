"""scripts/bench_held_sessions.py, the part of `scripts/bench --only scale` that holds sessions,
against the test server: sessions count as held only once they answered, a session that died
is reported as not answering, and closing them ends every client."""

import sys

from conftest import TOP

sys.path.insert(0, str(TOP / "scripts"))
from bench_held_sessions import await_answers, close_sessions, open_sessions  # noqa: E402


def no_tty(args):
    return args[:-1] + ["-T", args[-1]]


def test_sessions_are_held_poked_and_closed(server):
    held, failed = open_sessions(lambda i: no_tty(server.ssh_args()), 4, 2, 30)
    try:
        assert (len(held), len(failed)) == (4, 0), server.log_text()
        for s in held:
            s.poke()
        latencies, bad = await_answers(held, 30)
        assert len(latencies) == 4 and not bad
        # A client that is gone no longer answers, and the others still do.
        held[0].proc.kill()
        held[0].proc.wait()
        for s in held:
            s.poke()
        latencies, bad = await_answers(held, 30)
        assert len(latencies) == 3 and bad == [held[0]]
    finally:
        assert close_sessions(held + failed, 30) == 0
    assert all(s.proc.returncode is not None for s in held)


def test_a_refused_login_is_not_held(server):
    held, failed = open_sessions(lambda i: no_tty(server.ssh_args(user="nobody-here")), 2, 2, 30)
    close_sessions(held + failed, 30)
    assert (len(held), len(failed)) == (0, 2)
