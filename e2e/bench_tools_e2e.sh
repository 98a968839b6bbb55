#!/bin/bash
# Smoke test of the bench programs bench/mount_bench.sh relies on (ctest
# label e2e, registered in bench/CMakeLists.txt): fuse_floor mounts, takes fs_ops' creates, answers what it should and
# ends when unmounted. Needs root and /dev/fuse; skips (77) otherwise.
set -euo pipefail
BUILD=$1
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ]; then
  echo "SKIP: needs root and /dev/fuse"
  exit 77
fi
WORK=$(mktemp -d /tmp/bench-tools.XXXXXX)
cleanup() {
  if mountpoint -q "$WORK/m"; then umount -l "$WORK/m"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$WORK/m"
"$BUILD/bench/fuse_floor" "$WORK/m"
mountpoint -q "$WORK/m" || fail "fuse_floor did not mount"
pid=$(pgrep -f "fuse_floor $WORK/m" | head -1) || fail "no fuse_floor server process"
[ -n "$pid" ] || fail "no fuse_floor server process"
mkdir "$WORK/m/d"
out=$("$BUILD/bench/fs_ops" create "$WORK/m/d" 200 4096)
[ "$(echo "$out" | awk '{print $2}')" = 200 ] || fail "fs_ops create printed '$out'"
# It stores nothing: a name not created is not found, and statfs answers.
[ ! -e "$WORK/m/d/never" ] || fail "fuse_floor found a name never created"
stat -f "$WORK/m" >/dev/null || fail "statfs failed"
umount "$WORK/m"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then fail "fuse_floor still runs after the unmount"; fi
# The same creates natively, as mount_bench.sh's baseline.
mkdir "$WORK/native"
out=$("$BUILD/bench/fs_ops" create "$WORK/native" 50 4096)
[ "$(find "$WORK/native" -type f -size 4k | wc -l)" = 50 ] || fail "native creates: $out"
echo "PASS"
