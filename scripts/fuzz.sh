#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz, docs/fuzzing.md) in build-fuzz/
# with clang, ASan and UBSan, then runs each for a bounded time, starting
# from its committed seeds (tests/fuzz/corpus/<target>/) plus what earlier
# runs found (build-fuzz/corpus/<target>/). Prints one line per target
# (runs, coverage, seconds) and exits non-zero if a target crashed, broke an
# invariant or timed out; the input is saved in build-fuzz/crashes/<target>/.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 10)] [TARGET...]
# (SNAPVOL_FUZZ_BUILD_DIR overrides build-fuzz/.)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_TARGET=${1:-10}
shift || true
BUILD=${SNAPVOL_FUZZ_BUILD_DIR:-build-fuzz}

mkdir -p "$BUILD"
if ! cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DSNAPVOL_FUZZ=ON -DSNAPVOL_TESTS=OFF -DSNAPVOL_BENCH=OFF >"$BUILD/configure.log" 2>&1; then
  cat "$BUILD/configure.log" >&2
  echo "fuzz: configuring $BUILD failed" >&2
  exit 1
fi
ninja -C "$BUILD" -j2 fuzz || { echo "fuzz: build failed" >&2; exit 1; }

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cd tests/fuzz/corpus && ls)
fi
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$BUILD/corpus/$t" "$BUILD/crashes/$t"
  log="$BUILD/fuzz_$t.log"
  start=$(date +%s.%N)
  # -timeout: one input running this long is a hang; -rss_limit_mb: a
  # parser allocating this much for a small input is a bug too.
  "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$t/" \
    "$BUILD/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
  status=ok
  if [ "$rc" -ne 0 ]; then
    status="FAILED (exit $rc; log $log; input in $BUILD/crashes/$t/)"
    failed+=("$t")
    grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -n 5
  fi
  printf 'fuzz %-15s runs %10s  cov %5s  %6.1fs  %s\n' "$t" "${runs:-?}" "${cov:-?}" "$secs" "$status"
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s each without a failure"
