#!/usr/bin/python3
"""Writes the seed corpora of regress/fuzz/corpus/NAME/: small real inputs for each harness.

Keys, certificates, KRLs and known_hosts lines come from Debian's ssh-keygen; the transport's
seeds are what Debian's ssh client really sends (captured by a listener that answers its version
line and KEXINIT); sshd_config and the bastion files are the repository's examples; protocol
messages are built here from their RFC layouts. Run it again to refresh: python3 make_corpus.py
"""
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')


def u32(n):
    return struct.pack('>I', n)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def frames(*messages):
    """fuzz_input.h split_frames: [u16 length][bytes] each."""
    return b''.join(struct.pack('>H', len(m)) + m for m in messages)


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for data in seeds:
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), 'wb') as f:
            f.write(data)


def keygen(*args, **kw):
    subprocess.run(['ssh-keygen', '-q'] + list(args), check=True, stdout=subprocess.DEVNULL,
                   **kw)


def read(path, mode='r'):
    with open(path, mode) as f:
        return f.read()


def key_files(tmp):
    """Keys of each type in OpenSSH and PEM forms: {name: (private text, public line)}."""
    keys = {}
    for kind, bits, fmt in [('ed25519', None, None), ('ecdsa', 256, None), ('ecdsa', 384, 'PEM'),
                            ('ecdsa', 521, 'PKCS8'), ('rsa', 1024, None), ('rsa', 2048, 'PEM'),
                            ('dsa', 1024, 'PEM')]:
        name = '%s%s%s' % (kind, bits or '', fmt or '')
        path = os.path.join(tmp, name)
        args = ['-t', kind, '-N', '', '-C', 'seed ' + name, '-f', path]
        if bits:
            args += ['-b', str(bits)]
        if fmt:
            args += ['-m', fmt]
        keygen(*args)
        keys[name] = (read(path), read(path + '.pub').strip())
    return keys


def blob_of(line):
    import base64
    return base64.b64decode(line.split()[1])


def key_seeds(tmp):
    keys = key_files(tmp)
    pubs = [pub for _, pub in keys.values()]
    # A security key blob cannot come from ssh-keygen without a device: PROTOCOL.u2f's layout.
    sk = string('sk-ssh-ed25519@openssh.com') + string(bytes(range(32))) + string('ssh:')
    write('public_key', [blob_of(p) for p in pubs] + [sk] + pubs)
    write('private_key', [priv for priv, _ in keys.values()])

    ca = os.path.join(tmp, 'ca')
    keygen('-t', 'ed25519', '-N', '', '-f', ca)
    rsa_ca = os.path.join(tmp, 'rsa_ca')
    keygen('-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa_ca)
    certs = []
    for name, signer, opts in [
            ('ed25519', ca, ['-I', 'alice-id', '-n', 'alice,bob', '-V', '-1d:+52w']),
            ('ecdsa256', ca, ['-I', 'host', '-h', '-n', 'host.example']),
            ('rsa2048PEM', rsa_ca, ['-I', 'opts', '-n', 'alice', '-O', 'force-command=/bin/true',
                                    '-O', 'source-address=10.0.0.0/8', '-O', 'no-pty',
                                    '-O', 'extension:custom@example.com=value', '-z', '42']),
            ('ecdsa521PKCS8', rsa_ca, ['-I', 'sha512', '-t', 'rsa-sha2-512', '-n', 'root'])]:
        keygen('-s', signer, *opts, os.path.join(tmp, name + '.pub'))
        certs.append(read(os.path.join(tmp, name + '-cert.pub')).strip())
    write('certificate', [blob_of(c) for c in certs] + certs[:2])

    spec = os.path.join(tmp, 'krl.spec')
    with open(spec, 'w') as f:
        f.write('serial: 1-10\nserial: 42\nid: alice-id\nkey: %s\nsha1: %s\nsha256: %s\n' % (
            pubs[0], pubs[1], pubs[2]))
    krls = []
    for i, args in enumerate([['-s', ca + '.pub', spec], [os.path.join(tmp, 'rsa1024.pub')],
                              ['-s', rsa_ca + '.pub', spec]]):
        out = os.path.join(tmp, 'krl%d' % i)
        keygen('-k', '-f', out, '-z', str(i + 1), *args)
        krls.append(read(out, 'rb'))
    write('krl', krls + ['# a text list\n' + '\n'.join(pubs[:3]) + '\n'])

    kh = os.path.join(tmp, 'known_hosts')
    with open(kh, 'w') as f:
        f.write('host.example,10.0.0.1 %s\n[bastion]:2222 %s\n' % (pubs[0], pubs[1]))
    plain = read(kh)
    keygen('-H', '-f', kh)
    write('known_hosts', [plain, read(kh),
                          '@cert-authority *.example %s\n' % read(ca + '.pub').strip(),
                          '@revoked * %s\n' % pubs[2], '!bad.example,*.example %s\n' % pubs[0]])

    write('authorized_keys', [
        pubs[0], 'no-pty,command="echo hi" ' + pubs[1],
        'from="10.0.0.0/8,!10.1.*",expiry-time="20301231Z",environment="A=b" ' + pubs[2],
        'cert-authority,principals="alice,bob" ' + read(ca + '.pub').strip(),
        'restrict,port-forwarding,permitopen="host:22",permitlisten="localhost:8080",'
        'tunnel="1",agent-forwarding,verify-required,no-touch-required ' + pubs[3],
        'no-pty', 'command="a\\"b"', '20300101', '203001011200Z'])


def config_seeds():
    d = os.path.join(TOP, 'common', 'config', 'testdata')
    seeds = [read(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith('.conf')]
    seeds.append('Include fuzz.d/*.conf\nPort 2222\n')
    seeds.append('Match User alice Address 192.0.2.0/24\n  PasswordAuthentication no\n'
                 'Match LocalPort 22\n  X11Forwarding yes\n')
    if os.path.exists('/etc/ssh/sshd_config'):
        seeds.append(read('/etc/ssh/sshd_config'))
    write('sshd_config', seeds)
    # The files an Include in the seeds names, relative to the harness's sysconfdir.
    inc = os.path.join(HERE, 'sshd_config_include', 'fuzz.d')
    shutil.rmtree(inc, ignore_errors=True)
    os.makedirs(inc)
    with open(os.path.join(inc, 'a.conf'), 'w') as f:
        f.write('MaxAuthTries 3\nMatch Group admins\n  AllowTcpForwarding yes\n')
    with open(os.path.join(inc, 'b.conf'), 'w') as f:
        f.write('Include fuzz.d/a.conf\nCiphers aes256-gcm@openssh.com\n')


def bastion_seeds():
    d = os.path.join(TOP, 'contrib', 'bastion')
    toml, templates = read(os.path.join(d, 'bastion.toml')), read(os.path.join(d, 'templates.json'))
    write('bastion_policy', [toml + '\n----8<----\n' + templates, toml])
    write('bastion_route', ['root%web1%alice', 'deploy%10.0.0.5:2222%bob', 'alice',
                            'admin%db.internal+dc2%carol', '%web1%alice', 'a%[::1]:22%b'])


def ipc_seeds():
    """Every message type byte of common/ipc_messages.h, ipc_bastion_messages.h and
    ipc_proxy_messages.h, followed by zeroed fields of a few lengths (empty strings and zero
    integers decode as such)."""
    types = set()
    for h in ('ipc_messages.h', 'ipc_bastion_messages.h', 'ipc_proxy_messages.h'):
        for line in read(os.path.join(TOP, 'common', h)).splitlines():
            if 'kType = ' in line:
                types.add(int(line.split('kType = ')[1].split(';')[0]))
    write('ipc', [bytes([t]) + bytes(n) for t in sorted(types) for n in (0, 4, 8, 13, 24)])


def capture_client_kex(kex):
    """What Debian's ssh sends a server offering `kex`: its version line, KEXINIT and the kex's
    first message. The listener answers with a version line and a KEXINIT of its own."""
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = bytearray()

    def serve():
        conn, _ = srv.accept()
        conn.sendall(b'SSH-2.0-fuzzseed\r\n')
        payload = (bytes([20]) + bytes(16) + string(kex) +
                   string('ssh-ed25519,ecdsa-sha2-nistp256') +
                   string('aes128-ctr') * 2 + string('hmac-sha2-256') * 2 + string('none') * 2 +
                   string('') * 2 + b'\0' + u32(0))
        pad = 8 - (len(payload) + 5) % 8
        pad += 8 if pad < 4 else 0
        conn.sendall(u32(len(payload) + pad + 1) + bytes([pad]) + payload + bytes(pad))
        conn.settimeout(3)
        try:
            while len(got) < 200000:
                b = conn.recv(65536)
                if not b:
                    break
                got.extend(b)
                # The version line, KEXINIT and one more packet are all we want.
                if count_packets(bytes(got)) >= 2:
                    break
        except socket.timeout:
            pass
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    subprocess.run(['ssh', '-F', 'none', '-o', 'KexAlgorithms=' + kex, '-o', 'BatchMode=yes',
                    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
                    '-o', 'ConnectTimeout=5', '-p', str(port), 'fuzz@127.0.0.1', 'true'],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
    t.join()
    srv.close()
    return bytes(got)


def count_packets(stream):
    nl = stream.find(b'\n')
    if nl < 0:
        return 0
    pos, n = nl + 1, 0
    while pos + 4 <= len(stream):
        length = struct.unpack('>I', stream[pos:pos + 4])[0]
        if pos + 4 + length > len(stream):
            break
        pos += 4 + length
        n += 1
    return n


def transport_seeds():
    seeds = []
    for kex in ['curve25519-sha256', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp521',
                'diffie-hellman-group14-sha256', 'diffie-hellman-group-exchange-sha256',
                'sntrup761x25519-sha512@openssh.com', 'diffie-hellman-group1-sha1']:
        stream = capture_client_kex(kex)
        if stream:
            # transport_fuzz.cpp: the first byte says where the stream is split in two reads.
            seeds.append(bytes([len(stream.split(b'\n')[0]) + 1]) + stream)
    seeds.append(b'\x05SSH-1.5-old\r\n')
    seeds.append(b'\x00banner line\r\nSSH-2.0-x\r\n')
    write('transport', seeds)


def userauth_seeds():
    sr = bytes([5]) + string('ssh-userauth')

    def req(user, method, tail=b''):
        return bytes([50]) + string(user) + string('ssh-connection') + string(method) + tail

    pub = bytes(range(32))
    blob = string('ssh-ed25519') + string(pub)
    write('userauth', [
        frames(sr, req('alice', 'none')),
        frames(sr, req('alice', 'password', b'\0' + string('secret'))),
        frames(sr, req('alice', 'password', b'\1' + string('old') + string('new'))),
        frames(sr, req('alice', 'publickey', b'\0' + string('ssh-ed25519') + string(blob))),
        frames(sr, req('alice', 'publickey', b'\1' + string('ssh-ed25519') + string(blob) +
                       string(string('ssh-ed25519') + string(bytes(64))))),
        frames(sr, req('alice', 'publickey-hostbound-v00@openssh.com',
                       b'\0' + string('ssh-ed25519') + string(blob) + string(blob))),
        frames(sr, req('alice', 'keyboard-interactive', string('') + string('pam')),
               bytes([61]) + u32(2) + string('secret') + string('123')),
        frames(sr, req('bob:style', 'hostbased', string('ssh-ed25519') + string(blob) +
                       string('client.example.') + string('bob') +
                       string(string('ssh-ed25519') + string(bytes(64))))),
    ])


def connection_messages():
    def open_(kind, sender, extra=b''):
        return bytes([90]) + string(kind) + u32(sender) + u32(2097152) + u32(32768) + extra

    def request(ch, name, want, data=b''):
        return bytes([98]) + u32(ch) + string(name) + bytes([want]) + data

    modes = bytes([1]) + u32(3) + bytes([128]) + u32(38400) + bytes([53]) + u32(1) + b'\0'
    return [
        open_('session', 0),
        bytes([91]) + u32(0) + u32(7) + u32(2097152) + u32(32768),
        request(0, 'pty-req', 1, string('xterm') + u32(80) + u32(24) + u32(0) + u32(0) +
                string(modes)),
        request(0, 'env', 0, string('LANG') + string('C.UTF-8')),
        request(0, 'exec', 1, string('uname -a')),
        request(0, 'subsystem', 1, string('sftp')),
        request(0, 'shell', 1),
        request(0, 'window-change', 0, u32(100) + u32(40) + u32(0) + u32(0)),
        request(0, 'signal', 0, string('TERM')),
        request(0, 'x11-req', 1, b'\0' + string('MIT-MAGIC-COOKIE-1') + string('00' * 16) + u32(0)),
        request(0, 'auth-agent-req@openssh.com', 1),
        request(7, 'exit-status', 0, u32(0)),
        request(7, 'exit-signal', 0, string('KILL') + b'\0' + string('') + string('')),
        request(0, 'break', 0, u32(100)),
        bytes([94]) + u32(0) + string(b'ls\n'),
        bytes([95]) + u32(7) + u32(1) + string(b'err'),
        bytes([93]) + u32(0) + u32(4096),
        bytes([96]) + u32(0), bytes([97]) + u32(0), bytes([97]) + u32(7),
        bytes([99]) + u32(0), bytes([100]) + u32(0),
        open_('direct-tcpip', 1, string('localhost') + u32(22) + string('127.0.0.1') + u32(5555)),
        bytes([92]) + u32(1) + u32(2) + string('refused') + string(''),
        bytes([80]) + string('tcpip-forward') + b'\1' + string('localhost') + u32(8080),
        bytes([80]) + string('keepalive@openssh.com') + b'\1',
        bytes([81]), bytes([82]),
    ]


def connection_seeds():
    msgs = connection_messages()
    write('connection', msgs + [bytes([1]) + u32(3) + bytes([128]) + u32(9600) + b'\0'])
    # relay_fuzz.cpp: frames whose first byte is the side (0 client, 1 target).
    c = lambda m: b'\0' + m
    t = lambda m: b'\1' + m
    session = [c(msgs[0]), t(msgs[1]), c(msgs[2]), t(bytes([99]) + u32(0)), c(msgs[4]),
               t(bytes([99]) + u32(0)), c(msgs[14]), t(msgs[15]), t(msgs[16]), t(msgs[11]),
               t(bytes([96]) + u32(0)), t(bytes([97]) + u32(0)), c(msgs[19])]
    write('relay', [frames(*session),
                    frames(c(msgs[0]), t(msgs[1]), c(msgs[5]), c(msgs[9]), c(msgs[10])),
                    frames(c(msgs[22]), t(msgs[23]), c(msgs[24]), t(bytes([81])), c(msgs[25]),
                           t(msgs[20][:1] + u32(1) + u32(0) + bytes(8)))])


def sftp_seeds():
    def pkt(t, body):
        return u32(len(body) + 1) + bytes([t]) + body

    init = pkt(1, u32(3))
    ext = lambda rid, name, body=b'': pkt(200, u32(rid) + string(name) + body)
    reqs = [
        pkt(16, u32(1) + string('.')),                    # REALPATH
        pkt(11, u32(2) + string('dir')),                  # OPENDIR
        pkt(12, u32(3) + string(u32(0))),                 # READDIR of handle 0
        pkt(3, u32(4) + string('file') + u32(1) + u32(0)),  # OPEN read
        pkt(5, u32(5) + string(u32(1)) + struct.pack('>Q', 0) + u32(4096)),  # READ
        pkt(8, u32(6) + string(u32(1))),                  # FSTAT
        pkt(4, u32(7) + string(u32(1))),                  # CLOSE
        pkt(17, u32(8) + string('file')),                 # STAT
        pkt(7, u32(9) + string('link')),                  # LSTAT
        pkt(19, u32(10) + string('link')),                # READLINK
        pkt(3, u32(11) + string('new') + u32(0x1a) + u32(4) + u32(0o644)),  # OPEN write (refused)
        pkt(13, u32(12) + string('file')),                # REMOVE (refused)
        ext(13, 'statvfs@openssh.com', string('.')),
        ext(14, 'limits@openssh.com'),
        ext(15, 'expand-path@openssh.com', string('~/dir')),
        ext(16, 'home-directory', string('nobody')),
        ext(17, 'users-groups-by-id@openssh.com', string(u32(0)) + string(u32(0))),
    ]
    write('sftp', [b'\x40' + init + b''.join(reqs), b'\x00' + init + b''.join(reqs[:6]),
                   b'\x01' + init + pkt(200, u32(1) + string('check-file'))])


def agent_seeds():
    blob = string('ssh-ed25519') + string(bytes(range(32)))
    ids = bytes([12]) + u32(2) + string(blob) + string('alice@laptop') + string(blob) + string('')
    sig = bytes([14]) + string(string('ssh-ed25519') + string(bytes(64)))
    write('agent', [b'\xff' + string(ids), b'\x03' + string(ids) + string(sig),
                    b'\x00' + string(bytes([5])), b'\xff' + u32(0)])


def packet_cipher_seeds():
    # The first two bytes pick the cipher and MAC (packet_cipher_fuzz.cpp); 0xc0 set: sealed first.
    write('packet_cipher', [bytes([c, m]) + bytes(range(64)) for c in (0, 1, 2, 3, 0xc0, 0xc1,
                                                                       0xc5, 0xc7)
                            for m in (0, 3)])


def proxy_request_seeds():
    # proxy_request_fuzz.cpp: the client's writes as frames. Requests as netcat-openbsd's
    # nc -X connect|4|5 sends them (RFC 9110 §9.3.6, the SOCKS4/4a notes, RFC 1928), whole and
    # cut in two, and two refusals.
    socks5_hello = bytes([5, 1, 0])
    requests = [
        b'CONNECT web1.internal:22 HTTP/1.0\r\n\r\n',
        b'CONNECT [::1]:2222 HTTP/1.1\r\nHost: [::1]:2222\r\n\r\n',
        bytes([4, 1, 0, 22, 10, 1, 0, 5]) + b'user\0',
        bytes([4, 1, 0, 22, 0, 0, 0, 1]) + b'\0web1.internal\0',
        socks5_hello + bytes([5, 1, 0, 3, 4]) + b'web1' + bytes([0, 22]),
        socks5_hello + bytes([5, 1, 0, 4]) + bytes(15) + bytes([1, 0, 22]),
        socks5_hello + bytes([5, 2, 0, 1, 10, 0, 0, 1, 0, 22]),
        b'GET / HTTP/1.1\r\n\r\n',
    ]
    seeds = [frames(r) for r in requests]
    seeds += [frames(r[:len(r) // 2], r[len(r) // 2:] + b'SSH-2.0-x\r\n') for r in requests[:6]]
    write('proxy_request', seeds)


def socks5_reply_seeds():
    # socks5_reply_fuzz.cpp: the host's pick, then the extender's reads as frames. Replies as
    # OpenSSH's dynamic forward sends them (RFC 1928 §3 and §6): success with each address type,
    # a refusal, no acceptable method, and a reply cut across reads.
    selected = bytes([5, 0])
    replies = [
        bytes([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
        bytes([5, 0, 0, 4]) + bytes(16) + bytes([0, 22]),
        bytes([5, 0, 0, 3, 4]) + b'web1' + bytes([0, 22]),
        bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
        bytes([5, 1, 0, 9, 0]),
    ]
    seeds = [bytes([pick]) + frames(selected, r) for pick in range(3) for r in replies[:3]]
    seeds += [bytes([0]) + frames(selected, r) for r in replies[3:]]
    seeds += [bytes([2]) + frames(bytes([5, 0xff])), bytes([1]) + frames(bytes([4, 0]))]
    seeds += [bytes([2]) + frames(selected[:1], selected[1:], r[:4], r[4:]) for r in replies[:3]]
    write('socks5_reply', seeds)


def mldsa44_verify_seeds():
    """Signatures by the harness's fixed key (seed 32 x 0x42), made by build/common/mldsa44_tool,
    as frames (signature, message, context), and one with its hint area's padding spoiled."""
    tool = subprocess.Popen([os.path.join(TOP, 'build', 'common', 'mldsa44_tool')],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(*words):
        tool.stdin.write(' '.join(w or '-' for w in words) + '\n')
        tool.stdin.flush()
        return tool.stdout.readline().split()

    _, sk = ask('keygen', '42' * 32)
    seeds = []
    for message, context in [(b'', b''), (b'session id and userauth request', b''),
                             (b'x' * 300, b'ssh-mldsa44-ed25519@openssh.com')]:
        sig = bytes.fromhex(ask('sign', sk, message.hex(), context.hex())[0])
        seeds.append(frames(sig, message, context))
    spoiled = bytearray(bytes.fromhex(ask('sign', sk, '00', '')[0]))
    spoiled[-5] = 0x7f  # an unused hint position byte that must be zero (FIPS 204 Algorithm 21)
    seeds.append(frames(bytes(spoiled), b'\x00', b''))
    tool.stdin.close()
    tool.wait()
    write('mldsa44_verify', seeds)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        key_seeds(tmp)
    config_seeds()
    bastion_seeds()
    ipc_seeds()
    transport_seeds()
    userauth_seeds()
    connection_seeds()
    sftp_seeds()
    agent_seeds()
    packet_cipher_seeds()
    proxy_request_seeds()
    socks5_reply_seeds()
    mldsa44_verify_seeds()


if __name__ == '__main__':
    sys.exit(main())
