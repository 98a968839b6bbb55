#!/bin/bash
# Regenerates the generated seeds under tests/fuzz/corpus/ (docs/fuzzing.md):
#   tree_page/, commit/, file_index/  objects of a real store, written by the
#       snapvol CLI: inline, packed, chunked and indexed files, symlinks,
#       xattrs, a name that is not UTF-8, two versions;
#   journal/, control_json/  encoded by the real encoders (make_seeds.cc).
# The other targets' seeds are written by hand and committed as they are.
# Usage: tests/fuzz/make_corpus.sh [BUILD_DIR]   (an ordinary build; default build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${1:-build}
SNAPVOL=$BUILD/driver/cmd/snapvol
CORPUS=tests/fuzz/corpus
# Objects larger than this stay out (the corpus is kept well under 1 MB).
MAX_SEED=16384

work=$(mktemp -d "${TMPDIR:-/tmp}/snapvol-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/src
mkdir -p "$src/dir/sub" "$src/empty"
printf 'hello\n' >"$src/small.txt"
printf 'packed %.0s' $(seq 40) >"$src/dir/packed.txt" # > 128 bytes: goes to a pack
head -c $((5 << 20)) /dev/zero >"$src/dir/chunked.bin"   # 2 chunks
# 66 chunks of 4 MiB (one object; holes would be stored as no chunks): a file index
head -c $((264 << 20)) <(yes) >"$src/indexed.bin"
printf 'x' >"$src/caf"$'\xe9'                           # not UTF-8
printf 'sub\n' >"$src/dir/sub/f"
ln -s small.txt "$src/link"
ln -s ../../nowhere "$src/dir/dangling"
setfattr -n user.color -v blue "$src/small.txt" 2>/dev/null || echo "make_corpus: no user xattrs here"
find "$src" -exec touch -h -d '2024-01-02 03:04:05' {} +

sv() { "$SNAPVOL" --store "$work/store" "$@" >/dev/null; }
sv volume create a
sv volume put a "$src/" /
sv volume rm -r a /dir/sub
sv volume cp a /small.txt /copy.txt
sv volume create b
sv volume put b "$src/small.txt" /

for kind in tree_page commit file_index journal control_json; do
  rm -f "$CORPUS/$kind"/gen-*
  mkdir -p "$CORPUS/$kind"
done
for f in "$work"/store/objects/*/*; do
  [ "$(stat -c %s "$f")" -le "$MAX_SEED" ] || continue
  case "$(head -c 4 "$f")" in
    svT1 | svT2) kind=tree_page ;;
    svC1) kind=commit ;;
    svI1) kind=file_index ;;
    *) continue ;;
  esac
  install -m 644 "$f" "$CORPUS/$kind/gen-$(basename "$(dirname "$f")")$(basename "$f" | head -c 14)"
done
mkdir -p "$work/seeds/journal" "$work/seeds/control_json"
"$BUILD/tests/fuzz/fuzz_make_seeds" "$work/seeds"
for kind in journal control_json; do
  for f in "$work/seeds/$kind"/*; do cp "$f" "$CORPUS/$kind/gen-$(basename "$f")"; done
done
du -sh "$CORPUS"
