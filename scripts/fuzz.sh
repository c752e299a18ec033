#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan + UBSan), each target for N seconds:
#   fuzz_schedule_parse   the schedule parser and the CLI's time reader
#   fuzz_config_read      the configuration reader of check, run and reload
#   fuzz_output_capture   a job's output: capture -> sanitiser -> SQLite record -> history --json
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60 s, every target). Exits non-zero on
# any crash, leak or sanitizer report; libFuzzer prints the failing input (also as Base64)
# before the temp dir goes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(fuzz_schedule_parse fuzz_config_read fuzz_output_capture)
command -v clang++ >/dev/null || scripts/install-deps.sh test

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSOLOCRON_BUILD_FUZZ=ON -DSOLOCRON_BUILD_TESTS=OFF -DSOLOCRON_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]}" -j2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Seeds, one file each, from the arguments.
seed() {
  local dir=$1
  shift
  mkdir -p "$dir"
  local i=0
  for text in "$@"; do
    printf '%b' "$text" >"$dir/seed$i"
    i=$((i + 1))
  done
}

# The schedule fuzzer: the first byte picks the zone, the rest is the expression.
seed "$work/fuzz_schedule_parse" '0* * * * *' '130 2 * * *' '00 9 * * 1-5' '3*/10 30 2 * * *' \
  '00 0 L * *' '00 0 LW * *' '00 0 15W * *' '00 0 * * 5L' '00 12 * * 1#2' '00 0 0 29 2 * 2096' \
  '0@every 1h30m' '1@daily' '0CRON_TZ=Europe/Berlin 0 9 * * MON-FRI' \
  '0TZ=Asia/Kolkata */15 * ? JAN,JUL *' '00 0 30 2 *' '02026-03-08T02:30:00-05:00' '12026-11-01T01:30:00'
# The configuration fuzzer: whole files.
seed "$work/fuzz_config_read" \
  'jobs:\n  - name: tick\n    schedule: "* * * * * *"\n    command: ["true"]\n' \
  'node:\n  id: a\n  store: "postgres://u:p@h:5432/db?sslmode=disable"\n  http: ":9180"\n  heartbeat: 500ms\n  node_ttl: 3s\njobs: []\n' \
  'jobs:\n  - {name: a, schedule: "@hourly", command: &c [x, y], env: {A: "1"}, inherit_env: [PATH]}\n  - {name: b, schedule: "@every 90s", command: *c, timeout: 0s}\n' \
  'jobs:\n  - name: a\n    schedule: "0 9 * * MON"\n    time_zone: Mars/Base\n    shell: true\n    command: "echo \\\\0"\n    timeout: 1s\n    timeout: 2s\n---\njobs: []\n'
# The output fuzzer: two bytes of set-up, then what the job printed.
seed "$work/fuzz_output_capture" '\x07\x25hello\nworld\n' '\x01\xe3a\x00b\xff\xfe\xc3\x28\n\x1b]0;t\x07\r' \
  '\x3f\x01\xf0\x9f\x98\x80\xe2\x82\xac\xed\xa0\x80 password=S3cret'

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for target in "${targets[@]}"; do
  dict=()
  case $target in
    fuzz_schedule_parse) dict=(-dict=fuzz/cron.dict -max_len=200) ;;
    fuzz_config_read) dict=(-dict=fuzz/config.dict -max_len=4096) ;;
    fuzz_output_capture) dict=(-max_len=8192) ;;
  esac
  mkdir -p "$work/$target"
  echo "== $target: ${seconds}s" >&2
  "build-fuzz/bin/$target" -max_total_time="$seconds" -timeout=10 "${dict[@]}" \
    -artifact_prefix="$work/$target-" -print_final_stats=1 "$work/$target"
done
