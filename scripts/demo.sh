#!/usr/bin/env bash
# The main job: installs what is missing, builds, and shows solocron at work.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh
bin=build/bin/solocron
for expr in "*/15 * * * *" "0 9 * * MON-FRI" "CRON_TZ=America/New_York 30 2 * * *"; do
  "$bin" explain "$expr"
  echo
done
