"""scripts/bench --only bastion: the cost of going through a bastion. The same OpenSSH target
(Debian's sshd, trusting a bastion CA) reached four ways:

  postern -B      direct mode through postern's bastion (USER%t%bench@bastion): the bastion
                  decrypts and re-encrypts every byte, and logs in with a certificate it issues
  openssh -J      ssh -J through OpenSSH's sshd: the jump host forwards ciphertext only
  postern -B -J   ssh -J through postern's bastion (jump mode): the same, through postern
  direct          straight to the target

Figures: upload and download MB/s (`cat >/dev/null`, `head -c N /dev/zero`), the bastion's CPU
s/GiB each way (its cgroup, or its process tree), and the added round trip of a keystroke: one
byte written to a remote `cat` on a raw pty and read back, median ms over a few hundred.
Recording overhead: the bastion's CPU s/GiB for an exec printing 1 GiB of text, once through a
bastion that does not record and once through one that records it whole (asciicast v2,
record_max_bytes above the volume), and the recording's size.
Not a test: the figures are for reading, beside bench.py's.
"""

import os
import statistics
import subprocess
import time
from pathlib import Path

from bench import USER, SshdLike, Target, free_port, wait_port

RTT_ROUNDS = 300
RECORDED_MIB = 1024


class OpenSshTarget(SshdLike):
    def __init__(self, work, keys, ca_pub):
        super().__init__("bastion-target", "/usr/sbin/sshd", work, keys, "/usr/lib/openssh/sftp-server")
        cfg = work / "bastion-target_config"
        cfg.write_text(cfg.read_text() + f"TrustedUserCAKeys {ca_pub}\n")


class PosternBastion(Target):
    def __init__(self, build, work, keys, target_port, name="postern-bastion", record=False):
        super().__init__(name, work, keys)
        self.recordings = work / f"{name}-recordings"
        ca = work / "bastion_ca"
        templates = work / "bastion_templates.json"
        templates.write_text((Path(__file__).resolve().parent.parent / "contrib" / "bastion" /
                              "templates.json").read_text())
        known_hosts = work / "bastion_known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{target_port} " +
                               " ".join((keys / "host_ed25519.pub").read_text().split()[:2]) + "\n")
        pub = (keys / "id_ed25519.pub").read_text().strip()
        policy = work / f"{name}.toml"
        policy.write_text(f"""[bastion]
ca_key = "{ca}"
templates = "{templates}"
known_hosts = "{known_hosts}"
recordings = "{self.recordings}"
audit_log = "{work}/{name}-audit.jsonl"
serial_file = "{work}/ca_serial"
record = {'["exec"]' if record else '[]'}
record_max_bytes = "4G"

[[user]]
name = "bench"
keys = ["{pub}"]

[[target]]
name = "t"
address = "127.0.0.1"
port = {target_port}
users = ["{USER}"]

[[role]]
name = "bench"
members = ["bench"]
targets = ["t"]
target_users = ["{USER}"]
channels = ["shell", "exec", "direct-tcpip"]
credential = "certificate"
template = "default-openssh-sha2"
""")
        cfg = work / f"{name}_config"
        cfg.write_text(f"ListenAddress 127.0.0.1\nHostKey {keys}/host_ed25519\n"
                       f"PidFile {work}/{name}.pid\nMaxStartups 100:30:200\nUsePAM no\n"
                       f"LogLevel ERROR\nBastionPolicy {policy}\n")
        self.cmd = [str(build / "monitor" / "sshd"), "-B", "-D", "-e", "-f", str(cfg), "-p", str(self.port)]

    def start(self):
        self.recordings.mkdir(mode=0o700, exist_ok=True)
        self.spawn(self.cmd)
        wait_port(self.port)


def client_config(work, keys):
    """ssh -J starts the jump's ssh with only the config file: the identity goes there."""
    cfg = work / "bench_ssh_config"
    cfg.write_text(f"Host *\n  IdentityFile {keys}/id_ed25519\n  IdentitiesOnly yes\n  BatchMode yes\n"
                   "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
                   "  Ciphers aes128-gcm@openssh.com\n")
    return cfg


def transfer(cmd, mib, upload):
    """MB/s of `mib` MiB through `cmd` (an ssh command line without the remote command)."""
    s = time.perf_counter()
    if upload:
        feeder = subprocess.Popen(f"head -c {mib << 20} /dev/zero", shell=True, stdout=subprocess.PIPE)
        subprocess.run(cmd + ["cat >/dev/null"], stdin=feeder.stdout, check=True)
        feeder.wait()
    else:
        p = subprocess.Popen(cmd + [f"head -c {mib << 20} /dev/zero"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)
        got = 0
        while chunk := p.stdout.read(1 << 20):
            got += len(chunk)
        if p.wait() != 0 or got != mib << 20:
            raise RuntimeError(f"download through {cmd}: {got} bytes, exit {p.returncode}")
    return mib * 1.048576 / (time.perf_counter() - s)


def keystroke_rtt_ms(cmd):
    """Median ms from writing one byte to a remote cat (raw pty, no echo) to reading it back."""
    p = subprocess.Popen(cmd[:1] + ["-tt"] + cmd[1:] + ["stty raw -echo; echo ready; exec cat"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         bufsize=0)
    try:
        seen = b""
        while not (b"ready" in seen and seen.endswith(b"\n")):
            b = p.stdout.read(1)
            if not b:
                raise RuntimeError(f"no shell through {cmd}")
            seen += b
        times = []
        for i in range(RTT_ROUNDS):
            byte = bytes([97 + i % 26])
            s = time.perf_counter()
            p.stdin.write(byte)
            if p.stdout.read(1) != byte:
                raise RuntimeError("the echo differs")
            times.append((time.perf_counter() - s) * 1000)
        return statistics.median(times)
    finally:
        p.kill()
        p.wait()


def measure(name, cmd, mib, bastion):
    r = {}
    for label, upload in (("upload", True), ("download", False)):
        cpu0 = bastion.cpu() if bastion else 0
        r[label] = transfer(cmd, mib, upload)
        time.sleep(0.3)
        r[f"{label}_cpu"] = (bastion.cpu() - cpu0) * 1024 / mib if bastion else None
    r["rtt"] = keystroke_rtt_ms(cmd)
    return r


def recorded_download(cmd, bastion, mib):
    """Bastion CPU s/GiB for an exec printing `mib` MiB of text (what a terminal shows)."""
    cpu0 = bastion.cpu()
    p = subprocess.Popen(cmd + [f"head -c {mib << 20} /dev/zero | tr '\\0' x"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    got = 0
    while chunk := p.stdout.read(1 << 20):
        got += len(chunk)
    if p.wait() != 0 or got != mib << 20:
        raise RuntimeError(f"download through {cmd}: {got} bytes, exit {p.returncode}")
    time.sleep(0.5)  # the close: the monitor hashes the recording
    return (bastion.cpu() - cpu0) * 1024 / mib


def recording_overhead(build, work, keys, target, cfg):
    recorder = PosternBastion(build, work, keys, target.port, "postern-bastion-rec", record=True)
    plain = PosternBastion(build, work, keys, target.port, "postern-bastion-norec")
    try:
        recorder.start()
        plain.start()
        ssh = ["ssh", "-F", str(cfg)]
        out = {}
        for label, b in (("unrecorded", plain), ("recorded", recorder)):
            out[label] = recorded_download(ssh + ["-p", str(b.port), f"{USER}%t%bench@127.0.0.1"],
                                           b, RECORDED_MIB)
        files = list(recorder.recordings.glob("*.cast"))
        out["size"] = sum(f.stat().st_size for f in files) / (1 << 20)
        for f in files:
            f.unlink()
        return out
    finally:
        recorder.stop()
        plain.stop()


def run(build, work, keys, mib):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(work / "bastion_ca")],
                   check=True)
    target = OpenSshTarget(work, keys, work / "bastion_ca.pub")
    jump = SshdLike("openssh-jump", "/usr/sbin/sshd", work, keys, "/usr/lib/openssh/sftp-server")
    servers = [target, jump]
    try:
        target.start()
        jump.start()
        bastion = PosternBastion(build, work, keys, target.port)
        servers.append(bastion)
        bastion.start()
        cfg = client_config(work, keys)
        ssh = ["ssh", "-F", str(cfg)]
        ways = {
            "postern -B": (ssh + ["-p", str(bastion.port), f"{USER}%t%bench@127.0.0.1"], bastion),
            "openssh -J": (ssh + ["-J", f"{USER}@127.0.0.1:{jump.port}", "-p", str(target.port),
                                  f"{USER}@127.0.0.1"], jump),
            "postern -B -J": (ssh + ["-J", f"bench@127.0.0.1:{bastion.port}", "-p", str(target.port),
                                     f"{USER}@t"], bastion),
            "direct": (ssh + ["-p", str(target.port), f"{USER}@127.0.0.1"], None),
        }
        results = {name: measure(name, cmd, mib, b) for name, (cmd, b) in ways.items()}
        bastion.stop()
        recording = recording_overhead(build, work, keys, target, cfg)
    finally:
        for s in servers:
            s.stop()

    names = list(ways)
    print(f"\nbastion: {mib} MiB each way, aes128-gcm, to Debian's OpenSSH sshd as the target")
    print(f"{'figure':44}" + "".join(f"{n:>15}" for n in names) + "   postern -B / openssh -J")

    def row(label, key, lower_is_better):
        values = [results[n][key] for n in names]
        cells = "".join(f"{v:15.2f}" if v is not None else f"{'-':>15}" for v in values)
        ratio = ""
        if values[0] and values[1]:
            ratio = f"   {values[0] / values[1]:.2f} ({'lower' if lower_is_better else 'higher'} is better)"
        print(f"{label:44}{cells}{ratio}")

    row("upload MB/s", "upload", False)
    row("download MB/s", "download", False)
    row("bastion CPU s/GiB, upload", "upload_cpu", True)
    row("bastion CPU s/GiB, download", "download_cpu", True)
    row("keystroke round trip, median ms", "rtt", True)
    direct = results["direct"]["rtt"]
    for n in names[:-1]:
        print(f"{'  added by ' + n + ', ms':44}{results[n]['rtt'] - direct:15.2f}")
    print(f"\nrecording overhead: an exec printing {RECORDED_MIB} MiB of text through postern -B")
    print(f"{'bastion CPU s/GiB, unrecorded':44}{recording['unrecorded']:15.2f}")
    print(f"{'bastion CPU s/GiB, recorded (asciicast v2)':44}{recording['recorded']:15.2f}"
          f"   {recording['recorded'] / recording['unrecorded']:.2f}x")
    print(f"{'recording size, MiB':44}{recording['size']:15.1f}")
    results["recording"] = recording
    return results


if __name__ == "__main__":
    raise SystemExit("run through scripts/bench --only bastion")
