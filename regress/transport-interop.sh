#!/bin/sh
# The server transport (net/transport_probe_server) against the real OpenSSH client: every kex
# method, cipher, MAC and host key type must be negotiated and then carry the encrypted service
# and userauth exchange, which ends in "Permission denied (publickey)". Also ssh-keyscan, and
# rekeying by volume with the real client (the server rekeys every few hundred bytes).
#
# With a second argument, the client transport (net/transport_probe_client) against OpenSSH's
# sshd: every algorithm, publickey authentication, and a rekey we start after it (sshd refuses
# rekeying before authentication). That part needs root and /usr/sbin/sshd, else it is skipped.
#
# usage: regress/transport-interop.sh BUILD/net/transport_probe_server [BUILD/net/transport_probe_client]
# Exit status 77 (meson's "skipped") when ssh or ssh-keygen is missing.

probe=${1:?usage: transport-interop.sh PROBE_SERVER [PROBE_CLIENT]}
probe_client=$2
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
		# Up to 10 s: on a loaded machine a probe killed for being slow to start, and its
		# replacement writing the same log files, made later checks read the wrong log.
		for i in $(seq 100); do
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

# ---- the client role against OpenSSH's sshd
real_sshd=/usr/sbin/sshd
if [ -n "$probe_client" ] && [ -x "$real_sshd" ] && [ "$(id -u)" = 0 ]; then
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$dir/client" || exit 1
	cp "$dir/client.pub" "$dir/authorized_keys"
	{
		for k in $keys; do echo "HostKey $k"; done
		echo "PidFile none"
		echo "UsePAM no"
		echo "StrictModes no"
		echo "AuthorizedKeysFile $dir/authorized_keys"
		echo "KexAlgorithms +diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1"
	} >"$dir/sshd_config"
	sport=""
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$(( 20000 + ($$ * 11 + try * 173) % 40000 ))
		"$real_sshd" -D -e -f "$dir/sshd_config" -o ListenAddress=127.0.0.1 -p "$p" \
			2>"$dir/sshd.err" &
		spid=$!
		# Up to 10 s: on a loaded machine a probe killed for being slow to start, and its
		# replacement writing the same log files, made later checks read the wrong log.
		for i in $(seq 100); do
			grep -q "Server listening" "$dir/sshd.err" 2>/dev/null && break
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "Server listening" "$dir/sshd.err" 2>/dev/null; then
			pids="$pids $spid"
			sport=$p
			break
		fi
		kill "$spid" 2>/dev/null
	done
	# client_check NAME EXPECTED-LINE probe-options...
	client_check() {
		name=$1 want=$2
		shift 2
		out=$(timeout 60 "$probe_client" -d "$@" -i "$dir/client" -l root "$sport" 2>"$dir/client.err")
		rc=$?
		newkeys=$(grep -c "SSH2_MSG_NEWKEYS received" "$dir/client.err")
		if [ $rc -eq 0 ] && [ "$newkeys" -ge 2 ] && printf '%s\n' "$out" | grep -qF -- "$want"; then
			echo "ok client $name"
			passed=$((passed + 1))
		else
			echo "FAIL client $name (rc $rc, $newkeys NEWKEYS)"
			printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
			tail -5 "$dir/client.err" | sed 's/^/    /'
			failed=$((failed + 1))
		fi
	}
	if [ -n "$sport" ]; then
		for kex in $(ssh -Q kex); do
			client_check "kex $kex" "kex: $kex " -o kex="$kex"
		done
		for c in chacha20-poly1305@openssh.com aes128-ctr aes192-ctr aes256-ctr \
			aes128-gcm@openssh.com aes256-gcm@openssh.com; do
			client_check "cipher $c" "s2c: $c " -o ciphers="$c"
		done
		for m in umac-64-etm@openssh.com umac-128-etm@openssh.com hmac-sha2-256-etm@openssh.com \
			hmac-sha2-512-etm@openssh.com hmac-sha1-etm@openssh.com umac-64@openssh.com \
			umac-128@openssh.com hmac-sha2-256 hmac-sha2-512 hmac-sha1; do
			client_check "mac $m" "aes128-ctr $m none" -o ciphers=aes128-ctr -o macs="$m"
		done
		# zlib@openssh.com from the packet after USERAUTH_SUCCESS, restarted by our rekey's
		# NEWKEYS in each direction: the reply after the rekey only decodes if both ends agree.
		client_check "compression zlib@openssh.com" "zlib@openssh.com s2c:" \
			-o compression=zlib@openssh.com,none
		if [ "$(grep -c "Enabling compression" "$dir/client.err")" -lt 2 ]; then
			echo "FAIL client compression: not restarted after the rekey"
			failed=$((failed + 1))
		fi
		for hk in ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 \
			rsa-sha2-512 rsa-sha2-256; do
			client_check "hostkey $hk" "host key: $hk " -o hostkeys="$hk"
		done
	else
		echo "FAIL cannot start $real_sshd"
		failed=$((failed + 1))
	fi
else
	echo "skip client role (needs the probe client, root and $real_sshd)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
