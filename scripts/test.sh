#!/bin/bash
# Installs the dependencies, builds snapvol and runs every test:
#   1. build/ (RelWithDebInfo, -Werror): ctest over all labels
#   2. build-asan/ (AddressSanitizer + UBSan): ctest -L unit
#   3. clang-format --dry-run -Werror over driver/ tests/ e2e/ bench/ hooks/
#   4. build-fuzz/ (clang, libFuzzer): scripts/fuzz.sh, every fuzz target for
#      SNAPVOL_FUZZ_SECONDS (default 15) seconds; about 4 minutes in all on 2
#      cores with a warm ccache (docs/fuzzing.md)
# Exits non-zero if anything failed. The ctest summary lines come last;
# the very last line is the full run's "N% tests passed, ..." line.
# Idempotent; build directories are reused. Usage: bash scripts/test.sh
# (SNAPVOL_BUILD_DIR / SNAPVOL_ASAN_BUILD_DIR / SNAPVOL_FUZZ_BUILD_DIR override
# build/, build-asan/ and build-fuzz/.)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
snapvol_install_deps || { echo "test.sh: installing dependencies failed" >&2; exit 1; }

JOBS=$(nproc)
BUILD=${SNAPVOL_BUILD_DIR:-build}
ASAN_BUILD=${SNAPVOL_ASAN_BUILD_DIR:-build-asan}
FUZZ_SECONDS=${SNAPVOL_FUZZ_SECONDS:-15}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/snapvol-test.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
failed=()

section() { printf '\n===== %s =====\n' "$*"; }

# Runs ctest in $1 with the remaining arguments; keeps its summary line.
run_ctest() {
  local dir=$1 name=$2; shift 2
  (cd "$dir" && ctest --output-on-failure -j2 "$@") 2>&1 | tee "$LOGS/$name.log"
  local rc=${PIPESTATUS[0]}
  grep -E '^[0-9]+% tests passed' "$LOGS/$name.log" | tail -n1 >"$LOGS/$name.summary" || true
  if [ ! -s "$LOGS/$name.summary" ]; then
    echo "$name: ctest printed no summary (exit $rc)" >"$LOGS/$name.summary"
  fi
  [ "$rc" -eq 0 ] || failed+=("$name")
}

section "$BUILD (RelWithDebInfo, -Werror)"
if snapvol_configure "$BUILD" && ninja -C "$BUILD" -j"$JOBS"; then
  section "ctest: all labels"
  run_ctest "$BUILD" tests
else
  failed+=("build")
  echo "build failed" >"$LOGS/tests.summary"
fi

section "$ASAN_BUILD (AddressSanitizer + UBSan)"
if snapvol_configure "$ASAN_BUILD" -DSNAPVOL_SANITIZE=ON -DSNAPVOL_BENCH=OFF &&
  ninja -C "$ASAN_BUILD" -j"$JOBS"; then
  section "ctest under sanitizers: label unit"
  UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest "$ASAN_BUILD" asan -L unit
else
  failed+=("build-asan")
  echo "sanitizer build failed" >"$LOGS/asan.summary"
fi

section "clang-format"
mapfile -t sources < <(find driver tests e2e bench hooks \( -name '*.h' -o -name '*.cc' \) \
  -type f 2>/dev/null | sort)
if clang-format --dry-run -Werror "${sources[@]}"; then
  echo "clang-format: ${#sources[@]} files clean"
else
  failed+=("clang-format")
fi

section "fuzz: scripts/fuzz.sh $FUZZ_SECONDS"
bash scripts/fuzz.sh "$FUZZ_SECONDS" 2>&1 | tee "$LOGS/fuzz.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("fuzz")
grep -E '^fuzz[: ]' "$LOGS/fuzz.log" >"$LOGS/fuzz.summary" || echo "fuzz printed no summary" >"$LOGS/fuzz.summary"

section "summary"
if [ "${#failed[@]}" -eq 0 ]; then
  echo "all passed (build, tests, sanitizer unit tests, clang-format, fuzz)"
else
  echo "FAILED: ${failed[*]}"
fi
echo "fuzz (${FUZZ_SECONDS}s per target):"
cat "$LOGS/fuzz.summary"
echo "sanitizer unit tests:"
cat "$LOGS/asan.summary"
echo "all tests:"
cat "$LOGS/tests.summary"
[ "${#failed[@]}" -eq 0 ]
