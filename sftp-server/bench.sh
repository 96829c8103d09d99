#!/usr/bin/env bash
# A 1 GiB put and get with the stock sftp client against postern's sftp-server and OpenSSH's,
# over pipes (sftp -D: no ssh, no crypto, so the servers are what differs), alternating runs.
# Prints the best wall time and the server's CPU time (user+sys) of each, and postern's ratio
# (OpenSSH's time / ours: above 1 means postern is faster).
#   sftp-server/bench.sh [build-dir] [MiB] [runs]
set -eu
build=${1:-${POSTERN_BUILD:-$(dirname "$0")/../build}}
mib=${2:-1024}
runs=${3:-3}
ours=$(realpath "$build/sftp-server/sftp-server")
theirs=/usr/lib/openssh/sftp-server
work=$(mktemp -d /tmp/sftp-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
head -c "${mib}M" /dev/urandom > src
sum=$(sha256sum < src)
printf 'put src up\n' > put.batch
printf 'get up down\n' > get.batch

# run <server> <batch>: prints "wall cpu"
run() {
  rm -f time.log
  local t0 t1
  t0=$(date +%s.%N)
  sftp -q -b "$2" -D "/usr/bin/time -o $work/time.log -f %U+%S $1" >/dev/null
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$(cat time.log)" | bc)"
}

declare -A best_wall best_cpu
for i in $(seq "$runs"); do
  for s in ours theirs; do
    bin=${!s}
    rm -f up down
    for op in put get; do
      read -r wall cpu < <(run "$bin" $op.batch)
      key=$s-$op
      if [ -z "${best_wall[$key]:-}" ] || [ "$(echo "$wall < ${best_wall[$key]}" | bc)" = 1 ]; then
        best_wall[$key]=$wall
      fi
      if [ -z "${best_cpu[$key]:-}" ] || [ "$(echo "$cpu < ${best_cpu[$key]}" | bc)" = 1 ]; then
        best_cpu[$key]=$cpu
      fi
    done
    [ "$(sha256sum < up)" = "$sum" ] && [ "$(sha256sum < down)" = "$sum" ] || {
      echo "checksum mismatch with $s" >&2; exit 1; }
  done
done
printf '%-6s %10s %10s %10s %10s %8s %8s\n' op "postern s" "openssh s" "postern cpu" "openssh cpu" "ratio" "cpu ratio"
for op in put get; do
  printf '%-6s %10.2f %10.2f %10.2f %10.2f %8.2f %8.2f\n' $op "${best_wall[ours-$op]}" \
    "${best_wall[theirs-$op]}" "${best_cpu[ours-$op]}" "${best_cpu[theirs-$op]}" \
    "$(echo "${best_wall[theirs-$op]} / ${best_wall[ours-$op]}" | bc -l)" \
    "$(echo "${best_cpu[theirs-$op]} / ${best_cpu[ours-$op]}" | bc -l)"
done
