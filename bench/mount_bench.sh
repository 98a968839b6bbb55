#!/bin/bash
# Mount benchmarks (issue 3): the same operations on the native file system
# that holds the store, on a snapvol mount, and on two peers serving the same
# data, all in one run on the same disk; printed as ratios to native.
#   native          the directory itself
#   snapvol         `snapvol mount` of a volume holding the same files
#   rclone          `rclone mount` of the native directory (local backend,
#                   --vfs-cache-mode full)
#   fuse-overlayfs  lowerdir = the native directory (a thin FUSE passthrough:
#                   the floor of FUSE overhead)
# Rows (medians of --runs): sequential read of one big file cold (caches
# dropped, mount restarted; also the first run alone, before snapvol has a
# copy of the file for passthrough reads) and warm; random 4 KiB reads (fio, psync, cold);
# big write until durable (native/overlay: write + fsync; snapvol: write +
# `snapvol commit`, the point where snapvol data is durable; rclone: write +
# fsync + until the backend holds it);
# N × 4 KiB create+write+close (also on bench/fuse_floor, a FUSE server that
# stores nothing: the best any FUSE file system does here); cold/warm lstat walk and cold `find` of the
# file tree; first-byte latency of a file 9 levels deep (cold); snapvol
# attach (mount) time for volumes of each --attach size, and the mount
# server's peak RSS after `find` over the largest.
# Ratios are native_time / system_time (above 1 = faster than native).
#
# Needs root (drop_caches, FUSE) and the bench packages (installed here).
# Usage: bench/mount_bench.sh [BUILD_DIR] [--size-mib 2048] [--files 100000]
#          [--small 10000] [--attach "1000 100000 1000000"] [--runs 3]
#          [--fio-seconds 10] [--peers "rclone overlay"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${1:-build}
shift || true
SIZE_MIB=2048 FILES=100000 SMALL=10000 ATTACH="1000 100000 1000000" RUNS=3 FIO_SECS=10
PEERS="rclone overlay"
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --small) SMALL=$2; shift 2 ;;
    --attach) ATTACH=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --fio-seconds) FIO_SECS=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    *) echo "mount_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then echo "mount_bench: run as root (drop_caches, mounts)" >&2; exit 2; fi
source scripts/deps.sh
snapvol_install_bench_deps >&2

SNAPVOL=$(realpath "$BUILD/driver/cmd/snapvol")
FS_OPS=$(realpath "$BUILD/bench/fs_ops")
MAKE_VOLUME=$(realpath "$BUILD/bench/make_volume")
FUSE_FLOOR=$(realpath "$BUILD/bench/fuse_floor")
for b in "$SNAPVOL" "$FS_OPS" "$MAKE_VOLUME" "$FUSE_FLOOR"; do
  [ -x "$b" ] || { echo "mount_bench: $b is missing; build it first" >&2; exit 2; }
done
WORK=$(mktemp -d /var/tmp/snapvol-mountbench.XXXXXX)
export SNAPVOL_STORE=$WORK/store SNAPVOL_ENV=main
NATIVE=$WORK/native
SYSTEMS=${MOUNT_BENCH_SYSTEMS:-"native snapvol $PEERS"}
declare -A MNT=([native]=$NATIVE [snapvol]=$WORK/mnt-snapvol [rclone]=$WORK/mnt-rclone
  [overlay]=$WORK/mnt-overlay)
declare -A RCLONE_PID=()

log() { printf '# %s\n' "$*" >&2; }
now() { date +%s.%N; }
secs() {
  local t0
  t0=$(now)
  "$@" >/dev/null
  echo "$(now) - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}
first() { awk '{print $1}'; }

mounted() { mountpoint -q "$1"; }
mount_sys() {
  local sys=$1 m=${MNT[$1]}
  case $sys in
    native) ;;
    snapvol)
      mkdir -p "$m"
      "$SNAPVOL" mount "${2:-bench}" "$m" --commit-interval 0 >/dev/null
      ;;
    rclone)
      mkdir -p "$m" "$WORK/rclone-cache"
      rclone mount "$NATIVE" "$m" --vfs-cache-mode full --cache-dir "$WORK/rclone-cache" \
        --log-file "$WORK/rclone.log" &
      RCLONE_PID[$m]=$!
      for _ in $(seq 200); do mounted "$m" && break; sleep 0.05; done
      mounted "$m" || { echo "mount_bench: rclone mount did not come up" >&2; exit 1; }
      ;;
    overlay)
      mkdir -p "$m" "$WORK/ov-upper" "$WORK/ov-work"
      fuse-overlayfs -o "lowerdir=$NATIVE,upperdir=$WORK/ov-upper,workdir=$WORK/ov-work" "$m"
      ;;
  esac
}
umount_sys() {
  local sys=$1 m=${MNT[$1]}
  case $sys in
    native) ;;
    snapvol) if mounted "$m"; then "$SNAPVOL" unmount "$m" >/dev/null; fi ;;
    rclone)
      if mounted "$m"; then fusermount3 -u "$m"; fi
      if [ -n "${RCLONE_PID[$m]:-}" ]; then
        wait "${RCLONE_PID[$m]}" 2>/dev/null || true
        unset "RCLONE_PID[$m]"
      fi
      rm -rf "$WORK/rclone-cache"
      ;;
    overlay) if mounted "$m"; then fusermount3 -u "$m"; fi ;;
  esac
}
# Cold: the mount restarted (and a peer's own cache emptied) and the kernel
# caches dropped.
cold() {
  umount_sys "$1"
  drop_caches
  mount_sys "$1" "${2:-bench}"
}
cleanup() {
  local s m
  for s in snapvol rclone overlay; do umount_sys "$s" 2>/dev/null || true; done
  for m in "$WORK"/mnt-*; do
    if mounted "$m"; then umount -l "$m" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Durable write: each system's own meaning of "it will survive a crash".
durable_write() {
  local sys=$1 dst=$2
  case $sys in
    snapvol)
      # A commit is what makes data durable (and shared) in snapvol; an
      # fsync first would only make the private write layer durable too.
      "$FS_OPS" write "$NATIVE/big" "$dst" nosync >/dev/null
      "$SNAPVOL" commit "${MNT[snapvol]}" >/dev/null
      ;;
    *) "$FS_OPS" write "$NATIVE/big" "$dst" >/dev/null ;;
  esac
  case $sys in
    rclone)
      # Written back to the backend (the native directory) in full; rclone
      # uploads a closed file after --vfs-write-back (5 s by default).
      local backend=$NATIVE/${dst#"${MNT[rclone]}"/}
      for _ in $(seq 12000); do
        [ -f "$backend" ] && [ "$(stat -c %s "$backend")" -eq $((SIZE_MIB * 1048576)) ] && break
        sleep 0.01
      done
      sync -f "$backend"
      ;;
  esac
}

server_pid() {
  "$SNAPVOL" status "$1" --json | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$'
}

# ---- data ----
log "snapvol mount benchmark $(date -u +%FT%TZ): $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), work dir $WORK"
log "sizes: big file ${SIZE_MIB} MiB, tree ${FILES} files, ${SMALL} small creates, attach: ${ATTACH}; medians of ${RUNS}"
mkdir -p "$NATIVE"
head -c $((SIZE_MIB * 1048576)) \
  <(openssl enc -aes-128-ctr -pass pass:snapvol -nosalt -pbkdf2 </dev/zero 2>/dev/null) \
  >"$NATIVE/big"
"$FS_OPS" tree "$NATIVE/tree" "$FILES" >/dev/null
sync
"$SNAPVOL" volume create bench >/dev/null
log "put: $(secs "$SNAPVOL" volume put bench "$NATIVE/big" /big) s for the big file, $(secs "$SNAPVOL" volume put bench "$NATIVE/tree" /tree) s for the tree"
for s in $SYSTEMS; do mount_sys "$s"; done

declare -A R=() # R[row,system] = median seconds (or IOPS for fio)
record() { R[$1,$2]=$(printf '%s\n' "${@:3}" | median); }

# ---- sequential read, cold then warm ----
for s in $SYSTEMS; do
  c=() w=()
  for _ in $(seq "$RUNS"); do
    cold "$s"
    c+=("$("$FS_OPS" read "${MNT[$s]}/big" | first)")
    w+=("$("$FS_OPS" read "${MNT[$s]}/big" | first)")
  done
  record seq_cold "$s" "${c[@]}"
  record seq_warm "$s" "${w[@]}"
  # The first cold read alone: snapvol has no copy of the file yet and
  # reads it through the mount (later runs pass through to the copy the
  # first made, docs/mount.md "Passthrough reads").
  record seq_first "$s" "${c[0]}"
done

# ---- random 4 KiB reads, cold ----
for s in $SYSTEMS; do
  v=()
  for _ in $(seq "$RUNS"); do
    cold "$s"
    v+=("$(fio --name=randread --filename="${MNT[$s]}/big" --readonly --rw=randread --bs=4k \
      --ioengine=psync --size="${SIZE_MIB}M" --runtime="$FIO_SECS" --time_based \
      --output-format=terse | cut -d';' -f8)")
  done
  record fio_iops "$s" "${v[@]}"
done

# ---- big write until durable ----
cat "$NATIVE/big" >/dev/null # the source stays in the page cache
for s in $SYSTEMS; do
  v=()
  for r in $(seq "$RUNS"); do
    dst=${MNT[$s]}/w$r
    v+=("$(secs durable_write "$s" "$dst")")
    rm -f "$dst"
    [ "$s" != snapvol ] || "$SNAPVOL" commit "${MNT[snapvol]}" >/dev/null
  done
  record write_durable "$s" "${v[@]}"
done

# ---- small creates ----
for s in $SYSTEMS; do
  v=()
  for r in $(seq "$RUNS"); do
    d=${MNT[$s]}/small$r
    mkdir -p "$d"
    v+=("$("$FS_OPS" create "$d" "$SMALL" 4096 | first)")
  done
  record create_4k "$s" "${v[@]}"
  if [ "$s" = snapvol ]; then log "commit of ${RUNS}×${SMALL} new files: $(secs "$SNAPVOL" commit "${MNT[snapvol]}") s"; fi
done
# The floor: the same creates on a FUSE server that stores nothing
# (bench/fuse_floor.cc). No FUSE file system can beat it on this machine.
mkdir -p "$WORK/mnt-floor"
"$FUSE_FLOOR" "$WORK/mnt-floor"
v=()
for r in $(seq "$RUNS"); do
  mkdir "$WORK/mnt-floor/small$r"
  v+=("$("$FS_OPS" create "$WORK/mnt-floor/small$r" "$SMALL" 4096 | first)")
done
umount "$WORK/mnt-floor"
record create_4k floor "${v[@]}"

# ---- metadata: cold and warm lstat walk, cold find, deep first byte ----
for s in $SYSTEMS; do
  c=() w=() f=() b=()
  for _ in $(seq "$RUNS"); do
    cold "$s"
    c+=("$("$FS_OPS" walk "${MNT[$s]}/tree" | first)")
    w+=("$("$FS_OPS" walk "${MNT[$s]}/tree" | first)")
    cold "$s"
    f+=("$(secs bash -c "find '${MNT[$s]}/tree' | wc -l")")
    cold "$s"
    b+=("$("$FS_OPS" firstbyte "${MNT[$s]}/tree/deep/a/b/c/d/e/f/g/leaf.txt" | first)")
  done
  record stat_cold "$s" "${c[@]}"
  record stat_warm "$s" "${w[@]}"
  record find_cold "$s" "${f[@]}"
  record first_byte "$s" "${b[@]}"
done
for s in $SYSTEMS; do umount_sys "$s"; done

# ---- attach time by volume size; peak RSS after find over the largest ----
# The volumes hold the same tree as above (bench_tree.h) under /data, made by
# make_volume straight through the engine: `fs_ops tree` + `volume put` of
# 1M files would take ~4 minutes.
attach_rows=()
rss_kib=
for n in $ATTACH; do
  log "make_volume att$n: $("$MAKE_VOLUME" --store "$SNAPVOL_STORE" --env "$SNAPVOL_ENV" \
    "att$n" "$n" /data | first) s"
  v=()
  for _ in $(seq "$RUNS"); do
    drop_caches
    v+=("$(secs bash -c "'$SNAPVOL' mount 'att$n' '${MNT[snapvol]}' --commit-interval 0 && ls '${MNT[snapvol]}'")")
    "$SNAPVOL" unmount "${MNT[snapvol]}" >/dev/null
  done
  attach_rows+=("$n $(printf '%s\n' "${v[@]}" | median)")
  last=$n
done
if [ -n "${last:-}" ]; then
  cold snapvol "att$last"
  log "find over att$last: $(secs find "${MNT[snapvol]}") s"
  pid=$(server_pid "${MNT[snapvol]}")
  rss_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  log "mount server after find: $(grep -E '^Vm(HWM|RSS)' "/proc/$pid/status" | tr -s ' \n' ' ')"
  umount_sys snapvol
fi

# ---- report ----
ratio() { # baseline_time / time (higher is better)
  [ -n "${2:-}" ] && [ -n "${1:-}" ] && echo "$1 / $2" | bc -l || echo nan
}
printf '\n%-34s %12s' "operation (median of $RUNS)" native
for s in ${SYSTEMS#native }; do printf ' %17s' "$s"; done
printf '\n'
row() { # key label kind (mibs|iops|ms|s)
  local key=$1 label=$2 kind=$3 s n val
  n=${R[$key,native]}
  printf '%-34s %12s' "$label" "$(fmt "$kind" "$n")"
  for s in ${SYSTEMS#native }; do
    val=${R[$key,$s]}
    if [ "$kind" = iops ]; then
      printf ' %10s %5.2fx' "$(fmt "$kind" "$val")" "$(ratio "$val" "$n")"
    else
      printf ' %10s %5.2fx' "$(fmt "$kind" "$val")" "$(ratio "$n" "$val")"
    fi
  done
  printf '\n'
}
fmt() {
  case $1 in
    mibs) printf '%.0fMiB/s' "$(echo "$SIZE_MIB / $2" | bc -l)" ;;
    iops) printf '%.0f' "$2" ;;
    ms) printf '%.1fms' "$(echo "$2 * 1000" | bc -l)" ;;
    s) printf '%.2fs' "$2" ;;
  esac
}
row seq_first "read ${SIZE_MIB} MiB cold, 1st on host" mibs
row seq_cold "read ${SIZE_MIB} MiB cold" mibs
row seq_warm "read ${SIZE_MIB} MiB warm" mibs
row fio_iops "random 4K read IOPS (fio, cold)" iops
row write_durable "write ${SIZE_MIB} MiB until durable" mibs
row create_4k "${SMALL} x 4K create+write+close" s
row stat_cold "lstat walk ${FILES} files, cold" s
row stat_warm "lstat walk ${FILES} files, warm" s
row find_cold "find ${FILES} files, cold" s
row first_byte "first byte, 9 levels deep, cold" ms
printf '\nsnapvol attach (mount + ls of the root), caches dropped:\n'
for a in "${attach_rows[@]}"; do
  read -r n t <<<"$a"
  printf '  %9s files: %8.1f ms\n' "$n" "$(echo "$t * 1000" | bc -l)"
done
printf '%s creates on a FUSE server that stores nothing (the floor here): %.2fs, %.2fx native\n' \
  "$SMALL" "${R[create_4k,floor]}" "$(ratio "${R[create_4k,native]}" "${R[create_4k,floor]}")"
if [ -n "$rss_kib" ]; then
  printf 'snapvol mount server peak RSS after find over %s files: %s MiB\n' "$last" "$((rss_kib / 1024))"
fi
