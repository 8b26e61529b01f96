#!/usr/bin/env bash
# The test command: makes sure dependencies are installed, compiles the TypeScript, then runs
# every vitest suite (the global setup builds the C firmware/engine with CMake first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
npx tsc -p tsconfig.json
npx vitest run "$@"
