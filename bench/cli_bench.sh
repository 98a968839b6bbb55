#!/bin/bash
# CLI transfer benchmarks for the embedded store (issue 2), each printed as a
# ratio against a baseline measured in the same run on the same disk:
#   put of one big file  vs  cp + sync (put is durable when it returns)
#   get of it back       vs  cp        (neither syncs)
#   put of N small files (1-16 KiB) in files/s, vs cp -r + sync
# Usage: bench/cli_bench.sh [BUILD_DIR] [--size-mib 2048] [--small 100000] [--runs 3]
set -euo pipefail
BUILD=${1:-build}; shift || true
SIZE_MIB=2048; SMALL=100000; RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift 2;;
    --small) SMALL=$2; shift 2;;
    --runs) RUNS=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
SNAPVOL=$(realpath "$BUILD/driver/cmd/snapvol")
WORK=$(mktemp -d /var/tmp/snapvol-clibench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SNAPVOL_STORE=$WORK/store SNAPVOL_ENV=main

now() { date +%s.%N; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local t0=$(now); "$@" >/dev/null; echo "$(now) - $t0" | bc -l; }

echo "# snapvol CLI benchmark: $(date -u +%FT%TZ), $(nproc) cores, disk of $WORK"
head -c $((SIZE_MIB * 1048576)) <(openssl enc -aes-128-ctr -pass pass:snapvol -nosalt -pbkdf2 </dev/zero 2>/dev/null) >"$WORK/big"
"$SNAPVOL" volume create bench >/dev/null

cp_sync=(); put=(); cp_plain=(); get=()
for r in $(seq "$RUNS"); do
  rm -f "$WORK/copy"; drop_caches
  cp_sync+=("$(secs bash -c "cp '$WORK/big' '$WORK/copy' && sync -f '$WORK/copy'")")
  rm -f "$WORK/copy"; drop_caches
  put+=("$(secs "$SNAPVOL" volume put bench "$WORK/big" /big$r)")
  drop_caches
  cp_plain+=("$(secs cp "$WORK/big" "$WORK/copy")")
  rm -f "$WORK/copy" "$WORK/got"; drop_caches
  get+=("$(secs "$SNAPVOL" volume get bench /big$r "$WORK/got")")
  cmp -s "$WORK/big" "$WORK/got" || { echo "get returned different bytes" >&2; exit 1; }
  rm -f "$WORK/got"
done
mib=$SIZE_MIB
m_cps=$(printf '%s\n' "${cp_sync[@]}" | median); m_put=$(printf '%s\n' "${put[@]}" | median)
m_cp=$(printf '%s\n' "${cp_plain[@]}" | median); m_get=$(printf '%s\n' "${get[@]}" | median)
printf '%-34s %10s %10s %8s\n' "operation (${SIZE_MIB} MiB, median of $RUNS)" "MiB/s" "baseline" "ratio"
printf '%-34s %10.0f %10.0f %8.2f\n' "put vs cp+sync" "$(echo "$mib/$m_put" | bc -l)" "$(echo "$mib/$m_cps" | bc -l)" "$(echo "$m_cps/$m_put" | bc -l)"
printf '%-34s %10.0f %10.0f %8.2f\n' "get vs cp" "$(echo "$mib/$m_get" | bc -l)" "$(echo "$mib/$m_cp" | bc -l)" "$(echo "$m_cp/$m_get" | bc -l)"

# Small files: sizes 1-16 KiB, deterministic.
mkdir -p "$WORK/small"
awk -v n="$SMALL" -v dir="$WORK/small" 'BEGIN { srand(42);
  base = "snapvol"; while (length(base) < 16384) base = base base;
  for (i = 0; i < n; i++) {
  d = sprintf("%s/d%03d", dir, i % 100); if (i < 100) system("mkdir -p " d);
  size = 1024 + int(rand() * 15 * 1024); f = sprintf("%s/f%06d", d, i);
  printf "%d%s", i, substr(base, 1, size) > f; close(f) } }'
drop_caches
t_cp=$(secs bash -c "cp -r '$WORK/small' '$WORK/small-copy' && sync -f '$WORK/small-copy'")
drop_caches
t_put=$(secs "$SNAPVOL" volume put bench "$WORK/small" /small)
printf '%-34s %10s %10s %8s\n' "put of $SMALL small files" "files/s" "cp -r+sync" "ratio"
printf '%-34s %10.0f %10.0f %8.2f\n' "" "$(echo "$SMALL/$t_put" | bc -l)" "$(echo "$SMALL/$t_cp" | bc -l)" "$(echo "$t_cp/$t_put" | bc -l)"
