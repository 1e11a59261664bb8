#!/bin/sh
# Web UI bench (bench/ui_bench.mjs): bytes of the live-view page and time to first frame in chromium.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$TOP/tests/browser/node_modules" ] || (cd "$TOP/tests/browser" && npm install --no-audit --no-fund --loglevel=error)
exec node "$TOP/bench/ui_bench.mjs" "${UI_BENCH_RUNS:-5}"
