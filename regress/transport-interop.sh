#!/bin/sh
# The server transport (net/transport_probe_server) against the real OpenSSH client: every kex
# method, cipher, MAC and host key type must be negotiated and then carry the encrypted service
# and userauth exchange, which ends in "Permission denied (publickey)". Also ssh-keyscan, and
# rekeying by volume with the real client (the server rekeys every few hundred bytes).
#
# usage: regress/transport-interop.sh BUILD/net/transport_probe_server
# Exit status 77 (meson's "skipped") when ssh or ssh-keygen is missing.

probe=${1:?usage: transport-interop.sh PROBE_SERVER}
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || exit 77

dir=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

ssh-keygen -q -t ed25519 -N '' -f "$dir/ed25519" || exit 1
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$dir/ecdsa256" || exit 1
ssh-keygen -q -t ecdsa -b 384 -N '' -f "$dir/ecdsa384" || exit 1
ssh-keygen -q -t ecdsa -b 521 -N '' -f "$dir/ecdsa521" || exit 1
ssh-keygen -q -t rsa -b 2048 -N '' -f "$dir/rsa" || exit 1
keys="$dir/ed25519 $dir/ecdsa256 $dir/ecdsa384 $dir/ecdsa521 $dir/rsa"

# Starts a probe server with extra options on a free port; sets $port.
start_probe() {
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(( 20000 + ($$ * 7 + try * 131) % 40000 ))
		"$probe" "$@" "$port" $keys >"$dir/probe.out" 2>"$dir/probe.err" &
		pid=$!
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			grep -q "listening on" "$dir/probe.out" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "listening on" "$dir/probe.out" 2>/dev/null; then
			pids="$pids $pid"
			return 0
		fi
		kill "$pid" 2>/dev/null
	done
	echo "cannot start $probe" >&2
	exit 1
}

failed=0
passed=0
# check NAME EXPECTED-DEBUG-LINE ssh-options...
check() {
	name=$1 want=$2
	shift 2
	out=$(timeout 60 ssh -v -F /dev/null -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
		-o IdentityFile="$dir/none" "$@" -p "$port" 127.0.0.1 true 2>&1)
	if printf '%s\n' "$out" | grep -qF -- "$want" &&
		printf '%s\n' "$out" | grep -q "Permission denied (publickey)"; then
		echo "ok $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		printf '%s\n' "$out" | tail -15 | sed 's/^/    /'
		tail -5 "$dir/probe.err" | sed 's/^/    server: /'
		failed=$((failed + 1))
	fi
}

start_probe

for kex in $(ssh -Q kex); do
	case $kex in
	*sha1*) continue ;;  # not offered by default on either side
	esac
	# Methods the server does not implement are not an error of the transport.
	check "kex $kex" "kex: algorithm: $kex" -o KexAlgorithms="$kex"
done
for cipher in chacha20-poly1305@openssh.com aes128-ctr aes192-ctr aes256-ctr \
	aes128-gcm@openssh.com aes256-gcm@openssh.com; do
	check "cipher $cipher" "kex: server->client cipher: $cipher" -o Ciphers="$cipher"
done
for mac in umac-64-etm@openssh.com umac-128-etm@openssh.com hmac-sha2-256-etm@openssh.com \
	hmac-sha2-512-etm@openssh.com hmac-sha1-etm@openssh.com umac-64@openssh.com \
	umac-128@openssh.com hmac-sha2-256 hmac-sha2-512 hmac-sha1; do
	check "mac $mac" "MAC: $mac compression: none" -o Ciphers=aes128-ctr -o MACs="$mac"
done
for hk in ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 \
	rsa-sha2-512 rsa-sha2-256; do
	check "hostkey $hk" "kex: host key algorithm: $hk" -o HostKeyAlgorithms="$hk"
done

# ssh-keyscan gets every key type in one go.
scan=$(timeout 60 ssh-keyscan -p "$port" -t ed25519,ecdsa,rsa 127.0.0.1 2>/dev/null)
for t in ssh-ed25519 ecdsa-sha2-nistp256 ssh-rsa; do
	if printf '%s\n' "$scan" | grep -q "^\[127.0.0.1\]:$port $t "; then
		echo "ok keyscan $t"
		passed=$((passed + 1))
	else
		echo "FAIL keyscan $t"
		failed=$((failed + 1))
	fi
done

# Protocol mismatch: an SSH-1 client is told so and refused (proto-mismatch.sh's check).
reply=$(timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"SSH-1.5-HALLO\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("latin-1").replace("\r", ""))
' "$port" 2>/dev/null)
case $reply in
*"Protocol major versions differ."*) echo "ok proto-mismatch"; passed=$((passed + 1)) ;;
*) echo "FAIL proto-mismatch: $reply"; failed=$((failed + 1)) ;;
esac

# Rekeying with the real client: a server that rekeys every 256 bytes in both directions (the
# client answers; OpenSSH's client itself never rekeys before authentication, so a client
# RekeyLimit only shows it is accepted).
start_probe -A -d -r 256
check "rekey server-initiated" "SSH2_MSG_KEXINIT received" -o Ciphers=aes128-ctr
count=$(grep -c "SSH2_MSG_KEXINIT sent" "$dir/probe.err")
if [ "$count" -ge 2 ]; then
	echo "ok rekey count $count"
	passed=$((passed + 1))
else
	echo "FAIL rekey count $count"
	failed=$((failed + 1))
fi
start_probe
check "rekey client-initiated" "Permission denied" -o RekeyLimit=1K

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
