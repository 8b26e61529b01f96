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
add() {
  local f="$1" h
  h=$(sha1sum "$f" | cut -c1-40)
  if [ ! -e "$out/$h" ]; then cp "$f" "$out/$h"; count=$((count + 1)); fi
}
if [ -d "$suite" ]; then
  while IFS= read -r -d '' f; do add "$f"; done < <(find "$suite" -name '*.wasm' -print0)
else
  echo "make-corpus: spec test suite not found at $suite; corpus has only local modules" >&2
fi
if [ -d build/bench ]; then
  while IFS= read -r -d '' f; do add "$f"; done < <(find build/bench -name '*.wasm' -print0)
fi
echo "make-corpus: $count new seeds in $out ($(ls "$out" | wc -l) total)"
