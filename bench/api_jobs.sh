#!/usr/bin/env bash
# The cost of the HTTP API with N jobs in the cluster (default 10,000): one node on a temporary
# SQLite store runs N jobs every minute (so each has history) and, once every job has run,
# each call is timed R times (default 20) with curl's time_total: a page of the job list (100,
# the dashboard's and the default; and 1000, the largest), a search, one job in full, a page of
# history. Prints min / median / max per call. Stopped by PID; the temporary directory removed.
#
#   cmake --build build --target solocron_cli -j2
#   bench/api_jobs.sh [N] [R]
set -euo pipefail
jobs=${1:-10000} rounds=${2:-20}
source "$(dirname "$0")/bench_node.sh"
python3 - "$jobs" >"$WORK/config.yaml" <<'PY'
import sys
print("node:\n  heartbeat: 1s\n  max_concurrent_runs: 10000\njobs:")
for i in range(int(sys.argv[1])):
    print(f'  - name: job-{i:05d}\n    schedule: "* * * * *"\n    command: ["true"]')
PY
start_node "$WORK/config.yaml"
port=$PORT
api="127.0.0.1:$port/api/v1"
# Every job has run once when the last job's newest record is final.
for _ in $(seq 1 150); do
  last=$(printf 'job-%05d' $((jobs - 1)))
  curl -s "$api/jobs/$last/history?limit=1&state=succeeded" | grep -q '"succeeded"' && break
  sleep 1
done
echo "$jobs jobs, $(curl -s "$api/history?limit=1000" | grep -o '"scheduled_at"' | wc -l) records in the newest history page"
time_call() {
  local what=$1 url=$2
  for _ in $(seq 1 "$rounds"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done |
    sort -n | awk -v what="$what" -v size="$(curl -s "$url" | wc -c)" '{t[NR] = $1 * 1000} END {
      printf "%-36s %8d bytes  min %5.1f / median %5.1f / max %5.1f ms\n", what, size, t[1], t[int((NR + 1) / 2)], t[NR] }'
}
time_call "GET /jobs (page of 100)" "$api/jobs"
time_call "GET /jobs?limit=1000" "$api/jobs?limit=1000"
time_call "GET /jobs?q=job-0999 (search)" "$api/jobs?q=job-0999"
time_call "GET /jobs/job-00042" "$api/jobs/job-00042"
time_call "GET /history (page of 50)" "$api/history"
