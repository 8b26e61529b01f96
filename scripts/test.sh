#!/usr/bin/env bash
# The test command: makes sure dependencies are installed, compiles the TypeScript, then runs
# every vitest suite (the global setup builds the C firmware/engine with CMake first). Ends
# with one plain line `tests: N passed, N failed, N skipped` for tools that read the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
npx tsc -p tsconfig.json
mkdir -p build
report=build/vitest-report.json
rm -f "$report"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
if [ -f "$report" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report"
fi
exit "$status"
