#!/usr/bin/env bash
# Fuzzes the schedule parser with libFuzzer (clang, ASan + UBSan) for N seconds.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60). Exits non-zero on any crash, leak or
# sanitizer report; libFuzzer prints the failing input (also as Base64) before the temp dir goes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || scripts/install-deps.sh test

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSOLOCRON_BUILD_FUZZ=ON -DSOLOCRON_BUILD_TESTS=OFF -DSOLOCRON_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz_schedule_parse -j2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# Seeds: the first byte picks the zone, the rest is the expression.
i=0
for expr in '0* * * * *' '130 2 * * *' '00 9 * * 1-5' '3*/10 30 2 * * *' '00 0 L * *' '00 0 LW * *' \
  '00 0 15W * *' '00 0 * * 5L' '00 12 * * 1#2' '00 0 0 29 2 * 2096' '0@every 1h30m' '1@daily' \
  '0CRON_TZ=Europe/Berlin 0 9 * * MON-FRI' '0TZ=Asia/Kolkata */15 * ? JAN,JUL *' '00 0 30 2 *' \
  '02026-03-08T02:30:00-05:00' '12026-11-01T01:30:00'; do
  printf '%s' "$expr" >"$work/corpus/seed$i"
  i=$((i + 1))
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
build-fuzz/bin/fuzz_schedule_parse -max_total_time="$seconds" -max_len=200 -timeout=10 \
  -dict=fuzz/cron.dict -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus"
