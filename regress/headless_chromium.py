"""Debian's headless Chromium driven over --remote-debugging-pipe: the DevTools protocol as
NUL-terminated JSON on the browser's fds 3 (commands) and 4 (answers), so no port is opened. For
pages that draw in animation frames (the asciinema-player's terminal), which --dump-dom does not
run past the first: here the page runs in real time and a test polls its DOM."""

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium")


class HeadlessChromium:
    def __init__(self, extra_args=()):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        # sh moves the pipe to its stdin to fd 3 and the one from its stdout to fd 4.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 </dev/null >/dev/null 2>/dev/null', "sh",
             CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", *extra_args,
             "about:blank"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buf = b""
        self.last_id = 0

    def call(self, method, params=None, session=None, timeout=30):
        """Sends one command and returns its result; events that arrive meanwhile are dropped."""
        self.last_id += 1
        msg = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.proc.stdin.write(json.dumps(msg).encode() + b"\0")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.last_id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer["result"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium did not answer {method} in {timeout} s")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError(f"chromium exited (status {self.proc.wait()}) during {method}")
                self.buf += chunk

    def open(self, path):
        """Opens the file `path` in a new tab; returns the tab's session for evaluate()."""
        target = self.call("Target.createTarget", {"url": Path(path).resolve().as_uri()})
        return self.call("Target.attachToTarget",
                         {"targetId": target["targetId"], "flatten": True})["sessionId"]

    def evaluate(self, session, expression):
        """The value of a JavaScript expression in the tab (JSON-able values only)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, session, expression, done, timeout=20.0, step=0.2):
        """Evaluates `expression` until done(value) holds or `timeout` passes; the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(session, expression)
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(step)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError, EOFError):
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
