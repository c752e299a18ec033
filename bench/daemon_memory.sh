#!/usr/bin/env bash
# A node's memory with N jobs (default 200,000) in its jobs file, once loaded and again after a
# reload (SIGHUP) that changes every job: resident (Rss), proportional (Pss) and private dirty
# memory of the node and of its guardian process (the fork that kills the jobs' process groups
# if the node dies), from /proc/PID/smaps_rollup. The jobs never fire while it is measured.
#
#   cmake --build build --target solocron_cli -j2
#   bench/daemon_memory.sh [N]            # SOLOCRON_BIN=... for another binary
set -euo pipefail
jobs=${1:-200000}
source "$(dirname "$0")/bench_node.sh"
write_jobs() {  # FILE DAY: every job once a year, on January DAY
  python3 - "$jobs" "$2" >"$1" <<'PY'
import sys
n, day = int(sys.argv[1]), sys.argv[2]
print("jobs:")
for i in range(n):
    print(f'  - name: job-{i:06d}\n    schedule: "0 0 {day} 1 *"\n    command: ["true", "{day}"]')
PY
}
write_jobs "$WORK/config.yaml" 1
start_node "$WORK/config.yaml" --max-config-bytes 1000000000
guardian=$(ps -o pid=,comm= --ppid "$NODE_PID" | awk '$2 == "solocron-guard" {print $1}')
memory() {  # PID: Rss, Pss and Private_Dirty in MB
  awk '/^(Rss|Pss|Private_Dirty):/ {printf "%s %.0f MB  ", $1, $2 / 1024}' "/proc/$1/smaps_rollup"
}
report() {
  echo "$1: node $(memory "$NODE_PID")"
  [[ -n $guardian ]] && echo "$(printf '%*s' ${#1} '')  guardian $(memory "$guardian")"
}
sleep 2
report "$jobs jobs loaded"
write_jobs "$WORK/config.yaml" 2
kill -HUP "$NODE_PID"
for _ in $(seq 1 600); do grep -q ' reloaded: ' "$WORK/node.log" && break; sleep 0.5; done
grep -q ' reloaded: ' "$WORK/node.log" || { echo "the reload did not finish: $(tail -3 "$WORK/node.log")" >&2; exit 1; }
sleep 5  # the new job set is published at the next heartbeat
report "after a reload changing all"
