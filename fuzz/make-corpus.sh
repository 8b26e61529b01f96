#!/usr/bin/env bash
# Builds the fuzzer's seed corpus: every binary module of the WebAssembly spec test suite
# (valid, invalid and malformed ones alike) plus the benchmark modules when they are built.
# Files are named by content hash, so duplicates collapse. Usage: fuzz/make-corpus.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/fuzz/corpus}"
suite="../shared/wasm-spec-testsuite/json"
mkdir -p "$out"
count=0
# One sha1sum over all candidates (not one process per file): the suite has ~3,000 modules.
add_all() {
  local h f
  while read -r h f; do
    if [ ! -e "$out/$h" ]; then cp "$f" "$out/$h"; count=$((count + 1)); fi
  done < <(find "$@" -name '*.wasm' -print0 | xargs -0 -r sha1sum)
}
if [ -d "$suite" ]; then
  add_all "$suite"
else
  echo "make-corpus: spec test suite not found at $suite; corpus has only local modules" >&2
fi
if [ -d build/bench ]; then add_all build/bench; fi
echo "make-corpus: $count new seeds in $out ($(find "$out" -type f | wc -l) total)"
