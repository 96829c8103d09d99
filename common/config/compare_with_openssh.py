#!/usr/bin/python3
"""Compares postern's reading of sshd_config with OpenSSH's: runs `sshd -T` (Debian's OpenSSH 9.2)
and postern's config_dump on the same configs, connection specs and -o options, and diffs the
output; for bad configs it diffs the error text. Differences we keep on purpose are listed in
DELIBERATE (and in man/sshd_config.5 DIFFERENCES FROM OPENSSH). Exit 77 (skip) without root or /usr/sbin/sshd.

usage: compare_with_openssh.py CONFIG_DUMP [SSHD]
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")

# (name, config file or text, [-C specs], [-o options])
CASES = [
    ("defaults", "empty.conf", [None], []),
    ("debian", "debian.conf", [None], []),
    ("every keyword", "every_keyword.conf", [None], []),
    ("algorithm lists", "algorithms.conf", [None], []),
    ("key type wildcards", "key_type_wildcards.conf", [None], []),
    ("match", "match.conf", [
        None,
        "user=bob,host=a.example.com,addr=10.1.2.3",
        "user=root,host=a.example.com,addr=10.1.2.3",
        "user=alice,host=h,addr=192.168.1.5,laddr=127.0.0.1,lport=22",
        "user=alice,host=h,addr=192.168.1.7,laddr=127.0.0.2,lport=22",
        "user=bob,host=X.Example.COM,addr=192.168.1.9,laddr=10.0.0.1,lport=2222",
        "user=root,host=b,addr=1.1.1.1",
        "user=nosuchuser,host=b,addr=::1",
    ], []),
    ("match lport", "match_lport.conf", [None, "user=bob,host=a.example.com,addr=10.1.2.3",
                                         "user=b,host=a.example.com,addr=1.1.1.1,lport=2222"],
     []),
    ("syntax corners", "tricky.conf", [None, "user=bob", "user=alice", "user=carol"], []),
    ("relative paths", "relative.conf", [None], []),
    ("rekey in match", "rekey_match.conf", [None, "user=bob", "user=al", "user=x"], []),
    ("listen addresses", "listen.conf", [None], []),
    ("include", "include.conf", [None, "user=carol,host=h,addr=1.2.3.4"], []),
    ("-o options", "debian.conf", [None], ["Port=2222", "PasswordAuthentication no",
                                           "Ciphers=-chacha20*", "AcceptEnv=FOO"]),
]

# Configs OpenSSH refuses (and a few odd ones it accepts): same verdict, same error text.
BAD = [
    "Foo bar\n",
    "Port\n",
    "Port 0\n",
    "StrictModes maybe\n",
    "PermitRootLogin perhaps\n",
    "LoginGraceTime 1x\n",
    "Ciphers foo\n",
    "MACs +foo\n",
    "KexAlgorithms nope\n",
    "HostKeyAlgorithms nope\n",
    "MaxAuthTries -1\n",
    "MaxAuthTries x\n",
    "X11DisplayOffset 99999999999\n",
    "Match User bob\nPort 22\n",
    "Match Foo bob\n",
    "Match User\n",
    "Match All User x\n",
    "Banner a b\n",
    "RekeyLimit 1X\n",
    "LogLevel FOO\n",
    "SyslogFacility FOO\n",
    "MaxStartups 1:2\n",
    "PermitRootLogin yes yes\n",
    "AcceptEnv a=b\n",
    "PermitOpen any none\n",
    "PermitListen localhost\n",
    "Include\n",
    "Foo 1\nBar 2\nPort\n",
    "AuthorizedKeysCommand /bin/true\n",
    "ListenAddress nosuch.invalid\n",
    "AuthenticationMethods publickey,foo\n",
    "AuthenticationMethods any publickey\n",
    "PasswordAuthentication no\nAuthenticationMethods password\n",
    "Port 22\n\"unterminated\n",
    "MaxSessions 1 # fine\nBanner \"/a b\n",
    "Match Address 10.0.0.0/33\n",
    "Match LocalPort 99999\n",
    "PubkeyAuthOptions bogus\n",
    "IPQoS bogus\n",
    "PerSourceNetBlockSize 33\n",
    "StreamLocalBindMask 999\n",
    "UnusedConnectionTimeout 5q\n",
    "Compression maybe\n",
    "AddressFamily inet7\n",
    "FingerprintHash sha1\n",
    "SetEnv NOEQUALS\n",
    "Include @SELF@\n",
    "Match User a\nProtocol 2\n",
    "Match User a\nUsePrivilegeSeparation yes\n",
    "Match All\nProtocol 2\nPort 2022\n",
    "LogLevel SILENT\n",
    "AuthorizedKeysCommand  =  = /bin/x\nAuthorizedKeysCommandUser nobody\n",
    "AuthorizedPrincipalsCommand bin/x\nAuthorizedPrincipalsCommandUser nobody\n",
    "Port 22\nInclude /nonexistent/*.conf\nInclude relative-nonexistent.conf\n",
    "ListenAddress [::1\n",
]

# Random configs for the differential part: keyword -> values (good and bad). Values whose
# meaning differs on purpose (man/sshd_config.5 DIFFERENCES FROM OPENSSH) are left out.
KW = {
 "Port": ["22","2222","0","65536","x"], "AddressFamily": ["any","inet","inet6","bad"],
 "ListenAddress": ["127.0.0.1","[::1]:22","0.0.0.0:2200","::1","1.2.3.4:0"],
 "UsePAM": ["yes","no","maybe"], "LoginGraceTime": ["0","1m","1h30m","10","1x","-1"],
 "MaxAuthTries": ["3","0","-1","x","2147483647","2147483648"], "MaxSessions": ["1","0"],
 "ClientAliveInterval": ["0","5m","1w"], "ClientAliveCountMax": ["0","5"],
 "StreamLocalBindMask": ["0","022","0777","1000","8"],
 "UnusedConnectionTimeout": ["none","0","1h","x"],
 "PermitRootLogin": ["yes","no","prohibit-password","without-password","forced-commands-only","x"],
 "IgnoreRhosts": ["yes","no","shosts-only"], "Compression": ["yes","no","delayed"],
 "GatewayPorts": ["yes","no","clientspecified"], "AllowTcpForwarding": ["yes","no","all","local","remote"],
 "AllowStreamLocalForwarding": ["yes","no","all","local","remote"],
 "FingerprintHash": ["md5","sha256","SHA512","x"], "PidFile": ["/run/x.pid","none"],
 "Ciphers": ["aes128-ctr","+aes128-cbc","-aes*","^aes256-gcm@openssh.com","aes128-ctr,,aes256-ctr","-chacha20-poly1305@openssh.com,aes128-ctr","bad"],
 "MACs": ["hmac-sha2-256","+hmac-md5","-*etm*","^umac-64@openssh.com"],
 "KexAlgorithms": ["curve25519-sha256","+diffie-hellman-group1-sha1","-sntrup*","^ecdh-sha2-nistp256"],
 "HostKeyAlgorithms": ["ssh-ed25519","+ssh-rsa","-*cert*","^rsa-sha2-256"],
 "PubkeyAcceptedAlgorithms": ["+ssh-dss","-ssh-ed25519*"], "CASignatureAlgorithms": ["^ssh-rsa","ssh-ed25519"],
 "Banner": ["none","/etc/issue"], "ForceCommand": ["none","/bin/true a b","internal-sftp"],
 "ChrootDirectory": ["none","/srv/%u"], "VersionAddendum": ["none","hi there"],
 "LogLevel": ["QUIET","FATAL","ERROR","INFO","VERBOSE","DEBUG","DEBUG1","DEBUG2","DEBUG3","x"],
 "SyslogFacility": ["DAEMON","USER","AUTH","AUTHPRIV","LOCAL0","LOCAL7","x"],
 "AuthorizedKeysFile": ["none",".ssh/a",".ssh/a .ssh/b","%h/k %u"],
 "AcceptEnv": ["LANG","LC_* X","A=B"], "SetEnv": ["A=1","A=1 B=2","X"],
 "AllowUsers": ["a","a b@1.2.3.4"], "DenyUsers": ["root"], "AllowGroups": ["wheel"], "DenyGroups": ["x y"],
 "AuthenticationMethods": ["any","publickey","publickey,password publickey","any publickey","foo"],
 "LogVerbose": ["kex.c:*:1000","none"], "ChannelTimeout": ["session=5m","none","global=1h session:x11=1m"],
 "Subsystem": ["sftp /usr/lib/openssh/sftp-server","sftp internal-sftp -l INFO","x"],
 "MaxStartups": ["10","10:30:100","5:50:3","1:101:5","x"], "PerSourceMaxStartups": ["none","3","0"],
 "PerSourceNetBlockSize": ["24:64","33","0:0"], "PermitTunnel": ["yes","no","point-to-point","ethernet"],
 "IPQoS": ["af21","lowdelay throughput","0x10 8","cs7 ef","bogus","256"],
 "RekeyLimit": ["1G","default none","500M 1h","10","none 30s","16"],
 "PermitOpen": ["any","none","h:22","h:22 h2:*","x"], "PermitListen": ["any","none","22","*:22","h:*"],
 "PermitUserEnvironment": ["yes","no","LANG,LC_*"], "PubkeyAuthOptions": ["none","touch-required","verify-required touch-required"],
 "X11DisplayOffset": ["10","0"], "X11Forwarding": ["yes","no"], "PrintMotd": ["no"], "UseDNS": ["yes"],
 "StrictModes": ["no"], "TCPKeepAlive": ["no"], "PermitTTY": ["no"], "HostbasedAuthentication": ["yes"],
 "PasswordAuthentication": ["no"], "KbdInteractiveAuthentication": ["no"], "PubkeyAuthentication": ["no"],
 "DisableForwarding": ["yes"], "ExposeAuthInfo": ["yes"], "RequiredRSASize": ["2048","512"],
 "Protocol": ["2"], "UsePrivilegeSeparation": ["yes"], "ChallengeResponseAuthentication": ["no"],
 "Foo": ["bar"], "Match": ["User bob","Address 10.0.0.0/8","All","Host *.x,!a.x","User a Address 1.2.3.4","User !bob,*","Address !10.1.2.3,10.0.0.0/8","Group root","Host a.x LocalAddress 127.0.0.1","User b*","Address 1.2.3.4/32,::1"],
}
RANDOM_CASES = 200


# -T lines OpenSSH 9.2 does not print: postern's own keywords (BastionPolicy for sshd -B,
# ProxyProtocolFrom) and those of OpenSSH 9.8-10.x (man/sshd_config.5 DIFFERENCES FROM OPENSSH).
OURS_ONLY = ("bastionpolicy ", "proxyprotocolfrom ", "sshdsessionpath ", "sshdauthpath ",
             "refuseconnection ", "opensshdefaults ")


def ours_only_removed(text):
    """-T output without the lines of keywords Debian's OpenSSH 9.2 lacks (OURS_ONLY)."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith(OURS_ONLY))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    dump = sys.argv[1]
    sshd = sys.argv[2] if len(sys.argv) > 2 else "/usr/sbin/sshd"
    if os.geteuid() != 0 or not os.access(sshd, os.X_OK):
        print("skipping: needs root and", sshd)
        return 77
    os.makedirs("/run/sshd", exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="postern-cfgcmp-")
    failures = 0
    try:
        hk = os.path.join(tmp, "hostkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk], check=True)
        # Configs are copied with @DIR@ replaced so Include can name absolute paths.
        shutil.copytree(DATA, os.path.join(tmp, "data"))
        data = os.path.join(tmp, "data")
        for root, _, files in os.walk(data):
            for f in files:
                path = os.path.join(root, f)
                with open(path) as fh:
                    text = fh.read()
                with open(path, "w") as fh:
                    fh.write(text.replace("@DIR@", data))
        for name, conf, specs, opts in CASES:
            path = os.path.join(data, conf)
            for spec in specs:
                args = ["-f", path, "-h", hk]
                for o in opts:
                    args += ["-o", o]
                if spec:
                    args += ["-C", spec]
                want = run([sshd, "-T"] + args)
                got = run([dump] + args)
                label = f"{name}" + (f" -C {spec}" if spec else "")
                if want[0] != 0:
                    # OpenSSH refuses this one: we must refuse it with the same words.
                    if got[0] == 0 or want[2].strip() != got[2].strip():
                        failures += 1
                        print(f"FAIL {label}:\n    openssh: {want[2].strip()!r}"
                              f"\n    postern: {got[2].strip()!r} (exit {got[0]})")
                    else:
                        print(f"ok   {label} (refused alike)")
                    continue
                wl = want[1].splitlines()
                # BastionPolicy and ProxyProtocolFrom are postern's own: OpenSSH has no such lines.
                gl = ours_only_removed(got[1]).splitlines()
                if got[0] != 0 or wl != gl:
                    failures += 1
                    print(f"FAIL {label}: (exit {got[0]}) {got[2].strip()}")
                    import difflib
                    for line in difflib.unified_diff(wl, gl, "openssh", "postern", lineterm="",
                                                     n=0):
                        print("   ", line)
                    continue
                # Our -T output must read back to itself (regress/cfgparse.sh relies on it),
                # and the serialised form handed to children must give back an equal config.
                again = os.path.join(tmp, "again.conf")
                # OpenSSH reads our -T back without our own keyword's line (same path, so the
                # error texts compare), then we read it back whole.
                with open(again, "w") as fh:
                    fh.write("\n".join(gl) + "\n")
                ossh_again = run([sshd, "-T", "-f", again])
                with open(again, "w") as fh:
                    fh.write(got[1])
                re_run = run([dump, "-R", "-f", again])
                rt = run([dump, "-R"] + args)
                if re_run[0] != 0 and ossh_again[0] != 0 and \
                        re_run[2].strip() == ossh_again[2].strip():
                    print(f"ok   {label} ({len(gl)} lines; neither reads its -T back: "
                          f"{re_run[2].strip()})")
                elif re_run[0] != 0 or re_run[1] != got[1]:
                    failures += 1
                    print(f"FAIL {label}: -T output does not read back to itself: "
                          f"{re_run[2].strip()}")
                elif rt[0] != 0:
                    failures += 1
                    print(f"FAIL {label}: {rt[2].strip()}")
                else:
                    print(f"ok   {label} ({len(gl)} lines)")
        for opt in ["Match=User bob", "Include=/tmp/x", "Foo=bar", "Port", "Ciphers=nope"]:
            want = run([sshd, "-T", "-f", os.path.join(data, "empty.conf"), "-h", hk, "-o", opt])
            got = run([dump, "-f", os.path.join(data, "empty.conf"), "-h", hk, "-o", opt])
            if (want[0] == 0) != (got[0] == 0) or want[2].strip() != got[2].strip():
                failures += 1
                print(f"FAIL -o {opt}:\n    openssh: {want[2].strip()!r}\n"
                      f"    postern: {got[2].strip()!r}")
            else:
                print(f"ok   bad -o {opt}")
        for i, text in enumerate(BAD):
            path = os.path.join(tmp, "bad.conf")
            with open(path, "w") as fh:
                fh.write(text.replace("@SELF@", path))
            want = run([sshd, "-T", "-f", path, "-h", hk])
            got = run([dump, "-f", path, "-h", hk])
            label = "bad config " + repr(text)
            if (want[0] == 0) != (got[0] == 0) or want[2].strip() != got[2].strip():
                failures += 1
                print(f"FAIL {label}:\n    openssh: {want[2].strip()!r} (exit {want[0]})"
                      f"\n    postern: {got[2].strip()!r} (exit {got[0]})")
            else:
                print(f"ok   {label}")
        # Differential part: random lines from the table above, same verdict and output.
        import difflib
        import random
        rng = random.Random(20261121)
        for i in range(RANDOM_CASES):
            lines = []
            in_match = subsystem = False
            for _ in range(rng.randint(1, 6)):
                k = "Match" if rng.random() < 0.25 else rng.choice(list(KW))
                # OpenSSH 9.4+ (and postern) take Subsystem in Match and keep the first of a
                # repeated name, where 9.2 refuses both: a deliberate difference, not compared.
                if k == "Subsystem" and (in_match or subsystem):
                    continue
                in_match = in_match or k == "Match"
                subsystem = subsystem or k == "Subsystem"
                lines.append(k + rng.choice([" ", "=", " = ", "\t"]) + rng.choice(KW[k]))
            path = os.path.join(tmp, "random.conf")
            with open(path, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            spec = rng.choice([[], ["-C", "user=bob,host=a.x,addr=10.1.2.3"],
                               ["-C", "user=a,host=b,addr=1.2.3.4"],
                               ["-C", "user=root,host=a.x,addr=::1,laddr=127.0.0.1"],
                               ["-C", "user=bill,host=A.X,addr=10.9.9.9,laddr=127.0.0.1"]])
            want = run([sshd, "-T", "-f", path, "-h", hk] + spec)
            got = run([dump, "-f", path, "-h", hk] + spec)
            got = (got[0], ours_only_removed(got[1]), got[2])
            if (want[0] == 0) != (got[0] == 0) or want[1] != got[1] or \
                    (want[0] != 0 and want[2].strip() != got[2].strip()):
                failures += 1
                print(f"FAIL random config {i} {spec}:\n    " + "\n    ".join(lines))
                for line in difflib.unified_diff(want[1].splitlines(), got[1].splitlines(),
                                                 "openssh", "postern", lineterm="", n=0):
                    print("   ", line)
                if want[2].strip() != got[2].strip():
                    print(f"    openssh: {want[2].strip()!r}\n    postern: {got[2].strip()!r}")
        print(f"ok   {RANDOM_CASES} random configs compared")
    finally:
        shutil.rmtree(tmp)
    print("%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
