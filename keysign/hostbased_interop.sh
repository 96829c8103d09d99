#!/bin/bash
# Hostbased login with the stock OpenSSH ssh client and sshd, the client's ssh-keysign being
# ours: inside a private mount namespace our binary is bind-mounted over
# /usr/lib/openssh/ssh-keysign and a tmpfs over /root holds .shosts and known_hosts, so
# nothing outside the namespace changes. Needs root and unshare(1).
#   usage: keysign/hostbased_interop.sh <build dir>
# Expects "Accepted hostbased" from sshd with EnableSSHKeysign yes, and a refusal without it.
set -eu
build=$(realpath "${1:?usage: $0 <build dir>}")
bin=$build/keysign/ssh-keysign-for-test
etc=$build/keysign/keysign-test-etc
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x /usr/sbin/sshd ] && [ -e /usr/lib/openssh/ssh-keysign ] || { echo "SKIP: no OpenSSH"; exit 77; }
work=$(mktemp -d /tmp/postern-hostbased.XXXXXX)
trap 'rm -rf "$work" "$etc"' EXIT
ssh-keygen -q -N '' -t ed25519 -f "$work/server_key"
mkdir -p "$etc"
for t in ed25519 ecdsa rsa; do
  [ -e /etc/ssh/ssh_host_${t}_key ] && cp /etc/ssh/ssh_host_${t}_key "$etc/"
done
cat > "$work/sshd_config" <<EOC
HostKey $work/server_key
HostbasedAuthentication yes
HostbasedUsesNameFromPacketOnly yes
IgnoreRhosts no
IgnoreUserKnownHosts no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication no
UsePAM no
EOC
mkdir -p /run/sshd

try() {  # $1: ssh_config contents for our helper; prints sshd's verdict line
  echo "$1" > "$etc/ssh_config"
  unshare -m --propagation private bash -c '
    set -e
    mount --bind "$0" /usr/lib/openssh/ssh-keysign
    mount -t tmpfs -o mode=700 tmpfs /root
    mkdir -m 700 /root/.ssh
    echo "localhost root" > /root/.shosts; chmod 600 /root/.shosts
    echo "localhost $(cat /etc/ssh/ssh_host_ed25519_key.pub)" > /root/.ssh/known_hosts
    port=$((20000 + RANDOM % 20000))
    /usr/sbin/sshd -d -p $port -f "$1/sshd_config" -o ListenAddress=127.0.0.1 > "$1/log" 2>&1 &
    pid=$!; sleep 0.5
    timeout 10 ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o HostbasedAuthentication=yes -o EnableSSHKeysign=yes \
      -o PreferredAuthentications=hostbased -p $port root@127.0.0.1 true >/dev/null 2>&1 || true
    sleep 0.3; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    grep -E "^(Accepted|Failed) hostbased" "$1/log" || echo "no hostbased attempt"
  ' "$bin" "$work"
}

on=$(try "EnableSSHKeysign yes")
off=$(try "EnableSSHKeysign no")
echo "enabled:  $on"
echo "disabled: $off"
case "$on" in "Accepted hostbased"*) ;; *) echo FAIL; exit 1;; esac
case "$off" in "Accepted hostbased"*) echo FAIL; exit 1;; esac
echo PASS
