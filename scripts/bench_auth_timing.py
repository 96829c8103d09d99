"""scripts/bench --auth-timing: how long postern takes to refuse a password, for a real account
with a wrong password and for a user that does not exist, side by side (issue 10: users must
not be told apart by timing). Not a test: the figures are for reading.

Each attempt is one fresh connection (paramiko): key exchange first, untimed, then one
USERAUTH_REQUEST "password" timed from the request to the FAILURE. Both users are tried in
each round, in a random order and after a random pause, so load on the machine falls on both
alike and neither is tied to the phase of libpam's delay (on Debian 12 a function of the second
pam_authenticate starts in, time(NULL), not random). Run with UsePAM yes (the system's
/etc/pam.d/sshd: pam_unix and its failure delay) and UsePAM no (crypt(3) against /etc/shadow).
"""

import random
import socket
import statistics
import subprocess
import time

import paramiko

from bench import free_port, wait_port

PW_USER = "postern-bench-pw"
NO_USER = "postern-bench-nosuch"
PASSWORD = "Bench-pw-0f-a-real-acc0unt"


def make_password_user():
    subprocess.run(["userdel", "-r", PW_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", PW_USER], check=True)
    # chpasswd goes through PAM (pam_unix "yescrypt" on Debian 12): the hash a real account has.
    subprocess.run(["chpasswd"], input=f"{PW_USER}:{PASSWORD}\n", text=True, check=True)


def remove_password_user():
    subprocess.run(["pkill", "-KILL", "-u", PW_USER], stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", PW_USER], stderr=subprocess.DEVNULL)


def shadow_method(user):
    """The "$id$params$" of the user's hash, for the report."""
    with open("/etc/shadow") as f:
        for line in f:
            name, hash_ = line.split(":")[:2]
            if name == user:
                # "$id$[params$]salt$hash": drop the salt and the hash.
                return hash_.rsplit("$", 2)[0] + "$" if hash_.startswith("$") else hash_
    return "?"


def refusal_ms(port, user):
    """One connection, one wrong password: ms from the request to the refusal."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    t = paramiko.Transport(sock)
    try:
        t.start_client(timeout=30)
        start = time.perf_counter()
        try:
            t.auth_password(user, "not-the-password", fallback=False)
        except paramiko.AuthenticationException:
            return (time.perf_counter() - start) * 1000
        raise RuntimeError(f"{user}: a wrong password was accepted")
    finally:
        t.close()


def measure(sshd, work, keys, use_pam, attempts):
    port = free_port()
    cfg = work / f"auth_timing_pam_{use_pam}"
    cfg.write_text(f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {keys}/host_ed25519\n"
                   f"PidFile {work}/auth_timing.pid\nMaxStartups 100:30:200\nUsePAM {use_pam}\n"
                   "PasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
                   "PerSourcePenalties no\nLogLevel ERROR\n")
    proc = subprocess.Popen([str(sshd), "-D", "-e", "-f", str(cfg)], stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        times = {PW_USER: [], NO_USER: []}
        refusal_ms(port, PW_USER)  # warm-up (page cache, first PAM load), not counted
        for _ in range(attempts):
            for user in random.sample((PW_USER, NO_USER), 2):
                time.sleep(random.random())
                times[user].append(refusal_ms(port, user))
        return times
    finally:
        proc.terminate()
        proc.wait()


def summary(ms):
    q = statistics.quantiles(ms, n=10)
    return statistics.median(ms), q[0], q[-1]


def run(build, work, keys, attempts):
    sshd = build / "monitor" / "sshd"
    make_password_user()
    try:
        print(f"\nauth timing: {attempts} refused passwords per case, postern, one connection each"
              f" ({PW_USER}'s hash: {shadow_method(PW_USER)})")
        print(f"{'case':44}{'median ms':>11}{'p10 ms':>9}{'p90 ms':>9}")
        for use_pam in ("yes", "no"):
            times = measure(sshd, work, keys, use_pam, attempts)
            med = {}
            for user, label in ((PW_USER, "real user, wrong password"),
                                (NO_USER, "user that does not exist")):
                med[user], p10, p90 = summary(times[user])
                print(f"{f'UsePAM {use_pam}: {label}':44}{med[user]:11.1f}{p10:9.1f}{p90:9.1f}")
            print(f"{f'UsePAM {use_pam}: ratio of medians (nosuch/real)':44}"
                  f"{med[NO_USER] / med[PW_USER]:11.2f}")
        print("(UsePAM yes: both cases wait out the failure delay pam_unix asks, 2 s, which libpam\n"
              " varies by up to +/-50%: the spread is that, the same for both, and the medians of a\n"
              " few dozen attempts differ by its noise.)")
    finally:
        remove_password_user()
