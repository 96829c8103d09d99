"""The channel receive window over a long round trip (issue 15, session/receive_window.h): an
upload from the stock ssh client grows it towards the bandwidth-delay product, and a consumer
that stalls mid-upload makes sshd-user buffer no more than the window's cap, whatever is left
to send. The long link is two network namespaces joined by scripts/bench_delay_line.py (tun
devices, a fixed delay each way; this kernel has no sch_netem)."""

import os
import subprocess
import sys
import time

import pytest

from conftest import SSHD, TEST_USER, TOP, Server
from test_memory_bounds import find_child, rss_kib

MiB = 1024 * 1024
MAX_WINDOW = 16 * MiB  # kMaxWindow, session/receive_window.h
SHORT_LINK_MAX_WINDOW = 4 * MiB  # kShortLinkMaxWindow
DELAY_MS = 100  # each way: a 200 ms round trip, so a loaded machine still fills the window
SERVER_IP, CLIENT_IP = "10.231.7.1", "10.231.7.2"


def run(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


@pytest.fixture
def long_link():
    """(server namespace, client namespace) joined by the delay line; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    names = (f"ptest-srv-{os.getpid()}", f"ptest-cli-{os.getpid()}")
    line = None
    try:
        for ns in names:
            run("ip", "netns", "add", ns)
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            # The kernel's default 4 MiB send buffer would bound the stream below the window.
            for key in ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"):
                run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}=4096 131072 67108864")
        line = subprocess.Popen([sys.executable, str(TOP / "scripts" / "bench_delay_line.py"),
                                 names[0], "ptest-s", names[1], "ptest-c", str(DELAY_MS)],
                                stdout=subprocess.PIPE, text=True)
        assert line.stdout.readline().strip() == "ready"
        for ns, dev, ip in ((names[0], "ptest-s", SERVER_IP), (names[1], "ptest-c", CLIENT_IP)):
            run("ip", "netns", "exec", ns, "ip", "link", "set", dev, "mtu", "65000")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ip}/24", "dev", dev)
            run("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
        yield names
    finally:
        if line:
            line.kill()
            line.wait()
        for ns in names:
            run("ip", "netns", "del", ns, check=False)


@pytest.fixture
def far_server(keydir, tmp_path, user, long_link):
    """postern listening in the server namespace, LogLevel DEBUG2 for its window lines."""
    s = Server(keydir, tmp_path)
    s.config.write_text(s.config.read_text().replace(
        "ListenAddress 127.0.0.1", f"ListenAddress {SERVER_IP}").replace("LogLevel VERBOSE",
                                                                         "LogLevel DEBUG2"))
    s.logf = open(s.log, "ab")
    s.proc = subprocess.Popen(["ip", "netns", "exec", long_link[0], str(SSHD), "-D", "-e", "-f",
                               str(s.config)], stdout=s.logf, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    probe = ["ip", "netns", "exec", long_link[1], "bash", "-c",
             f"exec 3<>/dev/tcp/{SERVER_IP}/{s.port}"]
    while subprocess.run(probe, stderr=subprocess.DEVNULL).returncode != 0:
        assert time.time() < deadline and s.proc.poll() is None, s.log_text()
        time.sleep(0.1)
    yield s
    s.stop()


def far_ssh(server, client_ns, command):
    args = server.ssh_args()[:-1] + [f"{TEST_USER}@{SERVER_IP}", command]
    return ["ip", "netns", "exec", client_ns] + args


def test_stalled_consumer_buffers_at_most_the_window_cap(far_server, long_link):
    """96 MiB up a 200 ms round trip into a consumer that takes 32 MiB, stops for 5 s, then
    takes the rest: the window grows while the consumer keeps up (never past its cap), and
    during the stall sshd-user grows by no more than the window although 64 MiB are still to
    come."""
    total, first = 96 * MiB, 32 * MiB
    command = f"head -c {first} >/dev/null; echo stalled >&2; sleep 5; wc -c"
    feeder = subprocess.Popen(["head", "-c", str(total), "/dev/zero"], stdout=subprocess.PIPE)
    client = subprocess.Popen(far_ssh(far_server, long_link[1], command), stdin=feeder.stdout,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    feeder.stdout.close()
    user = find_child(far_server, "sshd-user", timeout=30)
    base = rss_kib(user)
    peak = base
    while client.poll() is None:
        peak = max(peak, rss_kib(user) or 0)
        time.sleep(0.05)
    feeder.wait()
    out, err = client.communicate()
    assert client.returncode == 0, err
    # Every byte arrived, in order: the stall lost nothing.
    assert int(out.strip()) == total - first
    log = far_server.log_text()
    grown = [int(line.rsplit(" ", 1)[1]) for line in log.splitlines()
             if "window grows to" in line]
    # Past the 4 MiB a short link may grow to: only the round trip asks for that. How far
    # depends on the rate this machine reaches (16 MiB needs 40 MB/s at 200 ms).
    assert grown and max(grown) >= 2 * SHORT_LINK_MAX_WINDOW, log[-3000:]
    assert max(grown) <= MAX_WINDOW
    # The window, the transport's buffers and a copy while a buffer grows; not the 64 MiB left.
    assert peak - base < (max(grown) + 12 * MiB) // 1024, f"sshd-user grew from {base} to {peak} KiB"
