#!/usr/bin/env bash
# Builds the libFuzzer targets and runs them for a bounded time: fuzz_engine (modules) for
# SECONDS on the seed corpus, then fuzz_restore (snapshots) for SECONDS/2 (at least 10).
# Usage: fuzz/run.sh [SECONDS] [extra libFuzzer flags...]   (default 60 s)
# Exit status is libFuzzer's: nonzero when it found a crash, leak, timeout or sanitizer
# report; the reproducer is written to build/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
build=build/fuzz
CC=clang-14 cmake -S fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null
bash fuzz/make-corpus.sh "$build/corpus" >&2
mkdir -p "$build/artifacts" "$build/found"
# Inputs that once crashed the engine are rerun first, one by one (libFuzzer runs files given
# as arguments without fuzzing).
shopt -s nullglob
regressions=(test/fixtures/fuzz/*.wasm)
if ((${#regressions[@]})); then
  echo "fuzz: rerunning ${#regressions[@]} regression inputs from test/fixtures/fuzz" >&2
  "$build/fuzz_engine" "${regressions[@]}" >&2
fi
# New inputs go to build/fuzz/found so the seed corpus stays reproducible.
status=0
"$build/fuzz_engine" "$build/found" "$build/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$@" || status=$?
# Then snapshots, for half the time: seeds are written by the target itself.
restore_seconds=$(( seconds / 2 > 10 ? seconds / 2 : 10 ))
mkdir -p "$build/restore-corpus"
LIQUID_FUZZ_SEED_DIR="$build/restore-corpus" "$build/fuzz_restore" "$build/restore-corpus" \
  -max_total_time="$restore_seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$build/artifacts/restore-" -print_final_stats=1 "$@" || status=$?
exit "$status"
