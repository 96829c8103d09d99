"""postern-audit export --html (man/postern-audit.1) in a real browser: a bastion session's page,
opened by Debian's headless Chromium with nothing but the file, plays the recording's output,
shows the session's metadata and file events, asks the network for nothing, and a recording that
prints markup shows it as text.

--dump-dom gives the document as loaded, but runs one animation frame only, and the player draws
its terminal in animation frames (printing the page instead caught the text about half the
time): the terminal's text is read from the live page over --remote-debugging-pipe
(headless_chromium.py; a pipe, no port). Requests are watched without DevTools: Chromium is
pointed at a proxy on 127.0.0.1 that records every request it is sent."""

import hashlib
import html
import json
import re
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from bastion_env import BastionEnv, Policy
from conftest import BUILD
from headless_chromium import CHROMIUM, HeadlessChromium

POSTERN_AUDIT = BUILD / "audit" / "postern-audit"

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="needs chromium (scripts/deps test)")

# The player's terminal text, the page's title and the count of <img> elements, live.
TERMINAL_JS = "(document.querySelector('.ap-term-text') || {}).textContent || ''"

# Chromium's own services (time, component updates, sign-in) call out on start whatever the page
# is; a request to one of these is the browser's, and the page is checked not to name them.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")


def audit(*args, timeout=60):
    return subprocess.run([str(POSTERN_AUDIT), *map(str, args)], capture_output=True,
                          timeout=timeout)


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that answers nothing and remembers each request's first line."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(4096)
                except OSError:
                    head = b""
                self.requests.append(head.split(b"\r\n", 1)[0].decode(errors="replace"))

    def close(self):
        self.sock.close()
        self.thread.join(5)

    def page_requests(self):
        """The requests that are not Chromium's own."""
        def host(line):
            target = line.split(" ")[1] if " " in line else line
            return re.sub(r"^[a-z]+://", "", target).split("/")[0].split(":")[0]
        return [r for r in self.requests
                if not any(host(r) == h or host(r).endswith("." + h) for h in BROWSER_HOSTS)]


def chromium(page, *action, budget_ms=8000, proxy=None):
    """Chromium run once on `page` (e.g. --dump-dom); its standard output."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", *action]
        if proxy is not None:
            args += [f"--proxy-server=http://127.0.0.1:{proxy.port}",
                     "--proxy-bypass-list=<-loopback>"]
        r = subprocess.run(args + [str(page)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
    return r.stdout.decode(errors="replace")


def played(page, until):
    """The player's terminal text once it holds `until` (or after 20 s), with the page's title
    and its <img> elements, from the page running in Chromium."""
    with HeadlessChromium() as browser:
        tab = browser.open(page)
        text = browser.wait_for(tab, TERMINAL_JS, lambda t: until in t)
        title = browser.evaluate(tab, "document.title")
        images = browser.evaluate(tab, "document.images.length")
        aside = browser.evaluate(tab, "document.querySelector('aside').innerText")
    return SimpleNamespace(text=text, title=title, images=images, aside=aside)


def terminal_lines(text, cols=80):
    """The terminal's text as its rows (the player pads each row to the width)."""
    return [text[i:i + cols].rstrip() for i in range(0, len(text), cols)]


@pytest.fixture(scope="module")
def w(keydir, user):
    """One bastion; alice runs one command printing a marker and one printing markup."""
    env = BastionEnv(tempfile.mkdtemp(prefix="audit-export-"), keydir)
    try:
        target = env.target("target")
        env.write_known_hosts(target.known_hosts_line("127.0.0.1"))
        tu = env.target_user
        p = Policy(env, record=["shell", "exec", "sftp"])
        p.user("alice", env.pub("alice"))
        p.target("web1", "127.0.0.1", target.port, [tu])
        p.role("ops", ["alice"], ["web1"], [tu], ["exec", "shell", "sftp"])
        bastion = env.make_bastion(p)
        tag = uuid.uuid4().hex[:10]
        # The command names the marker's pieces only: the marker itself is the command's output.
        marker = f"export-{tag}-42"
        r = bastion.ssh(f"{tu}%web1%alice", f"printf 'export-%s-%s\\n' {tag} $((6*7)); exit 3",
                        env.keys["alice"])
        assert r.returncode == 3 and marker in r.stdout, r.stderr
        # Two lines, each narrower than the terminal, so each shows whole on one line.
        hostile_out = ["</script><script>document.title='pwned'</script>",
                       f"<img src=x onerror=\"document.title='pwned'\"> &amp; {tag}"]
        r = bastion.ssh(f"{tu}%web1%alice", "cat", env.keys["alice"],
                        input="".join(line + "\r\n" for line in hostile_out))
        assert r.returncode == 0 and all(line in r.stdout for line in hostile_out), r.stderr
        # An sftp session: file events, no recording (record's sftp is file events only).
        upload = env.dir / f"up-{tag}.txt"
        upload.write_text("uploaded\n")
        r = subprocess.run(["sftp", "-b", "-", "-P", str(bastion.port), "-F", "/dev/null",
                            "-i", str(env.keys["alice"]), "-o", "IdentitiesOnly=yes",
                            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                            f"{tu}%web1%alice@127.0.0.1"],
                           input=f"put {upload} up-{tag}.txt\nmkdir dir-<{tag}>\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        events = env.audit_since(0, lambda evs: sum(e["event"] == "target-close"
                                                    for e in evs) >= 3)
        closed = [e for e in events if e["event"] == "channel-close" and e.get("recording")]
        assert len(closed) == 2, events
        files = [e for e in events if e["event"] == "file"]
        assert files, events
        yield SimpleNamespace(env=env, policy=bastion.policy_path, tu=tu, marker=marker, tag=tag,
                              session=closed[0]["session"], recording=closed[0]["recording"],
                              hostile_session=closed[1]["session"], hostile_out=hostile_out,
                              sftp_session=files[0]["session"], files=files)
    finally:
        env.close()


@pytest.fixture(scope="module")
def exported(w):
    r = audit("export", "--html", "--policy", w.policy, w.session)
    assert r.returncode == 0, r.stderr.decode()
    page = w.env.dir / "session.html"
    page.write_bytes(r.stdout)
    return page


def test_the_page_plays_the_recording(w, exported):
    page = played(exported, w.marker)
    assert terminal_lines(page.text)[0] == w.marker, page.text
    # The player mounted in the page as loaded, one terminal for the one recording.
    dom = chromium(exported, "--dump-dom")
    assert dom.count('class="ap-wrapper"') == 1 and '<pre class="ap-term-text' in dom, dom[-3000:]


def test_the_page_shows_the_sessions_metadata(w, exported):
    dom = chromium(exported, "--dump-dom")

    def field(id_):
        m = re.search(f'<dd id="{id_}">(.*?)</dd>', dom, re.S)
        assert m, id_
        return m.group(1)

    assert field("meta-session") == w.session
    assert field("meta-bastion-user") == "alice"
    assert field("meta-client").startswith("127.0.0.1 port ")
    assert field("meta-target") == f"{w.tu}@web1"
    assert field("meta-exit-status") == "3"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", field("meta-start"))
    assert field("meta-start") <= field("meta-end")
    assert field("path-0") == w.recording
    sha = hashlib.sha256(Path(w.recording).read_bytes()).hexdigest()
    assert field("file-sha256-0") == sha and field("logged-sha256-0") == sha
    assert 'class="check ok"' in dom
    assert "No file events." in dom
    # And a person sees them beside the player.
    aside = played(exported, w.marker).aside
    assert "Bastion user\nalice\n" in aside and w.session in aside and f"{w.tu}@web1" in aside, aside


def test_the_page_loads_nothing(w, exported):
    html = exported.read_text()
    # Nothing in a place that loads: attributes, CSS url() and @import.
    assert not re.search(r"""(src|href|action|poster|srcset|data)\s*=\s*["']?\s*(https?:)?//""",
                         html, re.I)
    assert not re.search(r"url\(\s*[\"']?\s*(https?:)?//", html, re.I)
    assert "@import" not in html
    for host in BROWSER_HOSTS:
        assert host not in html
    # The only http(s) names are the player's: the SVG namespace name (never fetched), the base it
    # resolves relative URLs against when a page has no location, and theme credits in its CSS
    # comments.
    css_comments = [m.span() for m in re.finditer(r"/\*.*?\*/", html, re.S)]
    for m in re.finditer(r"https?://[^\s\"'<>)]*", html):
        in_comment = any(a <= m.start() < b for a, b in css_comments)
        assert in_comment or m.group() in ("http://www.w3.org/2000/svg", "http://localhost/"), \
            m.group()
    assert ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; "
            "img-src data:\">") in html
    # And Chromium, opening it, asks for nothing while the recording plays.
    proxy = RecordingProxy()
    try:
        chromium(exported, "--dump-dom", proxy=proxy)
    finally:
        proxy.close()
    assert proxy.page_requests() == [], proxy.requests


def test_the_request_watch_sees_a_page_that_loads(w, tmp_path):
    """The proxy above does see a page's request: the check of the export can fail."""
    leak = tmp_path / "leak.html"
    leak.write_text('<!DOCTYPE html><img src="http://leak.invalid/pixel.png">')
    proxy = RecordingProxy()
    try:
        chromium(leak, "--dump-dom", budget_ms=3000, proxy=proxy)
    finally:
        proxy.close()
    assert any("leak.invalid" in r for r in proxy.page_requests()), proxy.requests


def test_markup_in_a_recording_stays_text(w, tmp_path):
    r = audit("export", "--html", "--policy", w.policy, w.hostile_session)
    assert r.returncode == 0, r.stderr.decode()
    page = tmp_path / "hostile.html"
    page.write_bytes(r.stdout)
    html = r.stdout.decode()
    assert html.count("</script>") == 2 and "<img" not in html
    dom = chromium(page, "--dump-dom")
    assert "<img" not in dom and dom.count("<script>") == 2
    # The player shows the markup as the terminal showed it, and no script of it ran.
    live = played(page, w.tag)
    assert terminal_lines(live.text)[:2] == w.hostile_out, live.text
    assert live.title == f"postern session {w.hostile_session}" and live.images == 0


def test_a_changed_recording_is_flagged(w, tmp_path):
    """A recording edited after the session still exports (it is what the auditor has), but the
    page says it is not the logged one and the command exits 1."""
    cast = tmp_path / "edited.cast"
    original = Path(w.recording).read_text()
    cast.write_text(original.replace(w.tag, "forged0000"))
    log = tmp_path / "audit.jsonl"
    lines = [json.loads(ln) for ln in Path(w.env.audit_log).read_text().splitlines()]
    mine = [e for e in lines if e.get("session") == w.session]
    for e in mine:
        if e.get("recording"):
            e["recording"] = str(cast)
    log.write_text("".join(json.dumps(e) + "\n" for e in mine))
    policy = w.env.write_policy(Policy(w.env, audit_log=log))
    r = audit("export", "--html", "--policy", policy, w.session)
    assert r.returncode == 1, r.stderr.decode()
    assert "SHA-256 is not the one the audit log recorded" in r.stderr.decode()
    assert 'class="check bad"' in r.stdout.decode() and "does NOT match" in r.stdout.decode()


def test_bad_recordings_are_clear_errors(w, tmp_path):
    lines = [json.loads(ln) for ln in Path(w.env.audit_log).read_text().splitlines()]
    mine = [e for e in lines if e.get("session") == w.session]

    def export_with(cast_path):
        log = tmp_path / f"{cast_path.name}.jsonl"
        for e in mine:
            if e.get("recording"):
                e["recording"] = str(cast_path)
        log.write_text("".join(json.dumps(e) + "\n" for e in mine))
        return audit("export", "--html", "--policy", w.env.write_policy(
            Policy(w.env, audit_log=log)), w.session)

    missing = tmp_path / "gone.cast"
    r = export_with(missing)
    assert r.returncode == 2 and r.stdout == b""
    assert f"recording {missing}: No such file or directory" in r.stderr.decode()
    corrupt = tmp_path / "corrupt.cast"
    cast_lines = Path(w.recording).read_text().splitlines(keepends=True)
    corrupt.write_text("".join(cast_lines[:1] + ['[0.1, "o" "no comma"]\n'] + cast_lines[1:]))
    r = export_with(corrupt)
    assert r.returncode == 2 and r.stdout == b""
    assert f"{corrupt}:2: not JSON" in r.stderr.decode()
    r = audit("export", "--html", "--policy", w.policy, "ffffffffffffffff")
    assert r.returncode == 2 and "no session ffffffffffffffff" in r.stderr.decode()


def test_file_events_beside_the_session(w, tmp_path):
    """An sftp session has file events and no recording: the page lists them, plays nothing."""
    r = audit("export", "--html", "--policy", w.policy, w.sftp_session)
    assert r.returncode == 0, r.stderr.decode()
    page = tmp_path / "sftp.html"
    page.write_bytes(r.stdout)
    dom = chromium(page, "--dump-dom")
    assert "This session has no recording." in dom and "<script>" not in dom
    rows = re.findall(r'<tr><td>([^<]*)</td><td>([^<]*)</td><td class="detail">([^<]*)</td>', dom)
    assert [d for _, _, d in rows] == [html.escape(e["detail"], quote=False) for e in w.files]
    assert all(channel == "sftp" for _, channel, _ in rows)
    details = " ".join(d for _, _, d in rows)
    assert f"up-{w.tag}.txt" in details and "mkdir " in details
    # The directory's name came escaped through the log and the page, never as markup.
    assert f"dir-&lt;{w.tag}&gt;" in details
