#!/usr/bin/env bash
# Builds the libFuzzer targets and runs them, bounded: fuzz_engine (modules) for SECONDS on
# the seed corpus, then fuzz_restore (snapshots) for SECONDS/2 (at least 10); or, with
# LIQUID_FUZZ_RUNS=N, N and N/4 inputs from a fixed seed (reproducible; see below).
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
# Two modes. By time (default): new inputs accumulate in build/fuzz/found and
# build/fuzz/restore-corpus across runs, so every session starts where the last one stopped.
# Reproducible (LIQUID_FUZZ_RUNS=N, what CI uses): a fixed number of inputs from a fixed seed
# and the seed corpora only, so the same engine gets the same run every time.
status=0
if [ -n "${LIQUID_FUZZ_RUNS:-}" ]; then
  found="$build/ci-found"
  restore_corpus="$build/ci-restore-corpus"
  rm -rf "$found" "$restore_corpus"
  engine_bound=(-runs="$LIQUID_FUZZ_RUNS" -seed=1)
  restore_bound=(-runs="$(( LIQUID_FUZZ_RUNS / 4 ))" -seed=1)
else
  found="$build/found"
  restore_corpus="$build/restore-corpus"
  engine_bound=(-max_total_time="$seconds")
  # Snapshots get half the time.
  restore_bound=(-max_total_time="$(( seconds / 2 > 10 ? seconds / 2 : 10 ))")
fi
mkdir -p "$found" "$restore_corpus"
"$build/fuzz_engine" "$found" "$build/corpus" "${engine_bound[@]}" \
  -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$@" || status=$?
# Snapshots: the target writes its own seeds into the corpus folder first.
LIQUID_FUZZ_SEED_DIR="$restore_corpus" "$build/fuzz_restore" "$restore_corpus" "${restore_bound[@]}" \
  -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$build/artifacts/restore-" -print_final_stats=1 "$@" || status=$?
exit "$status"
