#!/bin/bash
# Installs the dependencies, builds snapvol and runs a demo of its main job
# on the embedded store in a temporary directory: create a volume, put a
# directory, list it, get it back, put a change (a new version), show the
# log. Idempotent; safe to run again. Usage: bash scripts/demo.sh
# (SNAPVOL_BUILD_DIR overrides the build directory, default build/.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
snapvol_install_deps

BUILD=${SNAPVOL_BUILD_DIR:-build}
snapvol_configure "$BUILD" >/dev/null
ninja -C "$BUILD" -j"$(nproc)" snapvol
SNAPVOL_BIN=$(realpath "$BUILD/driver/cmd/snapvol")

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/snapvol-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
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
echo "== demo done: 4 versions of volume 'models'; the store is removed on exit"
