#!/bin/bash
# Installs the dependencies, builds snapvol and runs a demo of its main job
# on the embedded store in a temporary directory: create a volume, put a
# directory, list it, get it back, put a change (a new version), show the
# log; then mount the volume twice and act out the seed scenario (a write in
# one mount, committed, is invisible in the other until it reloads) and
# unmount both. The mounts need /dev/fuse and root. Idempotent; safe to run again: every run uses a fresh
# temporary directory, and its mounts are unmounted on exit, even on
# failure or Ctrl-C. Usage: bash scripts/demo.sh
# (SNAPVOL_BUILD_DIR overrides the build directory, default build/.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
snapvol_install_deps

BUILD=${SNAPVOL_BUILD_DIR:-build}
snapvol_configure "$BUILD" >/dev/null
ninja -C "$BUILD" -j"$(nproc)" snapvol snapvol-mount
SNAPVOL_BIN=$(realpath "$BUILD/driver/cmd/snapvol")

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/snapvol-demo.XXXXXX")
MOUNTS=("$DEMO/mnt/a" "$DEMO/mnt/b")
# Unmount before removing anything: rm -rf must never walk into a live
# mount. `snapvol unmount` commits first; a lazy unmount is the fallback for
# a mount whose server is stuck or gone.
cleanup() {
  local mp busy=0
  for mp in "${MOUNTS[@]}"; do
    if mountpoint -q "$mp" 2>/dev/null; then
      "$SNAPVOL_BIN" unmount "$mp" >/dev/null 2>&1 || umount -l "$mp" 2>/dev/null ||
        fusermount3 -u -z "$mp" 2>/dev/null || true
    fi
    if mountpoint -q "$mp" 2>/dev/null; then busy=1; fi
  done
  if [ "$busy" -eq 0 ]; then
    rm -rf "$DEMO"
  else
    echo "demo: could not unmount everything under $DEMO; left in place" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export SNAPVOL_STORE=$DEMO/store
unset SNAPVOL_ENV
cd "$DEMO"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
run() {
  printf '\n%s$ %s%s\n' "$BOLD" "$*" "$PLAIN"
  "$@"
}
snapvol() { "$SNAPVOL_BIN" "$@"; }

echo "== snapvol demo: embedded store in $SNAPVOL_STORE"
mkdir -p weights/layers
printf '{"hidden": 4096, "layers": 2}\n' >weights/config.json
head -c $((12 * 1048576)) /dev/urandom >weights/layers/0.bin
head -c $((12 * 1048576)) /dev/urandom >weights/layers/1.bin
ln -s layers/0.bin weights/latest.bin

run snapvol volume create models
run snapvol volume put models weights /weights
run snapvol volume ls models /weights
run snapvol volume get models /weights restored
run diff -r weights restored
echo "(identical)"

printf '{"hidden": 4096, "layers": 3}\n' >weights/config.json
head -c $((12 * 1048576)) /dev/urandom >weights/layers/2.bin
run snapvol volume put models weights/config.json /weights/ --force
run snapvol volume put models weights/layers/2.bin /weights/layers/
run snapvol volume get models /weights/config.json -
run snapvol volume cp models /weights /weights-backup
run snapvol volume log models
run snapvol volume list

echo
echo "== the main job: two mounts of one volume (snapshot at attach, private writes, commit, reload)"
if [ ! -c /dev/fuse ] || [ "$(id -u)" -ne 0 ]; then
  echo "demo: the mount part needs root and /dev/fuse (sudo bash scripts/demo.sh)" >&2
  exit 1
fi
mkdir -p mnt/a mnt/b
run snapvol mount models mnt/a --commit-interval 0
run snapvol mount models mnt/b --commit-interval 0
run ls mnt/b
# The checks that make the demo fail if the story does not hold.
absent() {
  if [ -e "$1" ]; then
    echo "demo: $1 should not exist" >&2
    exit 1
  fi
}
holds() {
  local got
  got=$(cat "$1")
  if [ "$got" != "$2" ]; then
    echo "demo: $1 holds '$got', expected '$2'" >&2
    exit 1
  fi
}
show() {
  printf '\n%s$ cat %s%s\n' "$BOLD" "$1" "$PLAIN"
  cat "$1" 2>&1 || true
}
write() {
  printf '\n%s$ echo %s >%s%s\n' "$BOLD" "$2" "$1" "$PLAIN"
  echo "$2" >"$1"
}
show mnt/b/bar.txt
absent mnt/b/bar.txt
write mnt/a/bar.txt hello
show mnt/a/bar.txt
run snapvol status mnt/a
run snapvol commit mnt/a
show mnt/b/bar.txt
absent mnt/b/bar.txt
echo "(mount b still shows the version it was attached to)"
run snapvol reload mnt/b
show mnt/b/bar.txt
holds mnt/b/bar.txt hello
write mnt/b/note.txt from-b
run snapvol unmount mnt/b
run snapvol unmount mnt/a
run snapvol volume get models /note.txt -
[ "$(snapvol volume get models /note.txt -)" = from-b ]
run snapvol volume log models -n 2
echo
echo "== demo done: 6 versions of volume 'models'; the store is removed on exit"
