"""Many stock ssh clients held open at once, each running a remote loop that answers every line
with "ok", for scripts/bench_scale.py: open them a few at a time, poke them all and time the
answers, close them. One thread and an epoll selector, so a thousand pipes cost nothing to
watch."""

import os
import selectors
import subprocess
import time

ANSWER_LOOP = "while read x; do echo ok; done"


class HeldSession:
    def __init__(self, cmd):
        self.proc = subprocess.Popen(cmd + [ANSWER_LOOP], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.pending = b""
        self.poked_at = None
        self.dead = False

    def poke(self):
        """Asks for one "ok"; ssh forwards the line once its session is open."""
        try:
            self.proc.stdin.write(b"x\n")
        except (BrokenPipeError, ValueError):
            self.dead = True
        self.poked_at = time.perf_counter()

    def read_answer(self):
        """True once an "ok" arrived; marks the session dead on end of file."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
        except BlockingIOError:
            return False
        if not chunk:
            self.dead = True
            return False
        self.pending += chunk
        if b"ok\n" not in self.pending:
            return False
        self.pending = self.pending.split(b"ok\n", 1)[1]
        return True

    def close(self):
        try:
            self.proc.stdin.close()  # the remote loop reads end of file and the session ends
        except OSError:
            pass


def await_answers(sessions, timeout):
    """Waits for the answer of each poked session: (latencies in s, sessions without one)."""
    sel = selectors.DefaultSelector()
    waiting = set()
    for s in sessions:
        if not s.dead:
            sel.register(s.proc.stdout, selectors.EVENT_READ, s)
            waiting.add(s)
    latencies = []
    end = time.perf_counter() + timeout
    while waiting and time.perf_counter() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.perf_counter())):
            s = key.data
            answered = s.read_answer()
            if answered:
                latencies.append(time.perf_counter() - s.poked_at)
            if answered or s.dead:
                waiting.discard(s)
                sel.unregister(s.proc.stdout)
    sel.close()
    return latencies, [s for s in sessions if s.dead or s in waiting]


def open_sessions(make_cmd, count, parallel, timeout):
    """Opens `count` sessions, at most `parallel` logging in at once; a session counts once it
    answered. make_cmd(i) is the ssh command line of the i-th. Returns (held, failed)."""
    held, failed, opening = [], [], []
    sel = selectors.DefaultSelector()
    started = 0
    while started < count or opening:
        while started < count and len(opening) < parallel:
            s = HeldSession(make_cmd(started))
            s.poke()
            sel.register(s.proc.stdout, selectors.EVENT_READ, s)
            opening.append(s)
            started += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.data
            if s.read_answer():
                held.append(s)
            elif not s.dead:
                continue
            else:
                failed.append(s)
            opening.remove(s)
            sel.unregister(s.proc.stdout)
        now = time.perf_counter()
        for s in [s for s in opening if now - s.poked_at > timeout]:
            failed.append(s)
            opening.remove(s)
            sel.unregister(s.proc.stdout)
    sel.close()
    return held, failed


def close_sessions(sessions, timeout):
    """Ends every session (end of file to its loop), kills what is left after `timeout` s;
    returns how many had to be killed."""
    for s in sessions:
        s.close()
    end = time.time() + timeout
    killed = 0
    for s in sessions:
        try:
            s.proc.wait(max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()
            killed += 1
        s.proc.stdout.close()
    return killed
