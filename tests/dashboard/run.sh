#!/usr/bin/env bash
# ctest's entry to the browser test: installs playwright-core from the lock file (npm's
# registry; the browser is Debian's chromium, from scripts/install-deps.sh), then runs it.
#   tests/dashboard/run.sh /path/to/solocron OUTDIR
set -euo pipefail
bin=$(realpath "$1") out=$(realpath -m "$2")
cd "$(dirname "$0")"
if [[ ! -d node_modules/playwright-core ]]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
exec node dashboard_test.js "$bin" "$out"
