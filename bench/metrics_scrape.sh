#!/usr/bin/env bash
# The cost of one Prometheus scrape of a node with N jobs (default 10,000): a node on a
# temporary SQLite store runs N jobs that never fire during the measurement (once a year),
# and GET /metrics is timed R times (default 20) with curl's time_total; prints the body size
# and min / median / max. Everything is stopped by PID and the temporary directory removed.
#
#   cmake --build build --target solocron_cli -j2
#   bench/metrics_scrape.sh [N] [R]
set -euo pipefail
jobs=${1:-10000} rounds=${2:-20}
source "$(dirname "$0")/bench_node.sh"
python3 - "$jobs" >"$WORK/config.yaml" <<'PY'
import sys
print("node:\n  heartbeat: 1s\njobs:")
for i in range(int(sys.argv[1])):
    print(f'  - name: job-{i:05d}\n    schedule: "0 0 1 1 *"\n    command: ["true"]')
PY
start_node "$WORK/config.yaml"
port=$PORT
size=$(curl -s "127.0.0.1:$port/metrics" | wc -c)
for _ in $(seq 1 "$rounds"); do curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$port/metrics"; done |
  sort -n | awk -v n="$jobs" -v size="$size" '{t[NR] = $1 * 1000} END {
    printf "%d jobs: %d bytes; GET /metrics min %.0f / median %.0f / max %.0f ms (%d scrapes)\n",
      n, size, t[1], t[int((NR + 1) / 2)], t[NR], NR }'
