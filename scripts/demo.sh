#!/usr/bin/env bash
# The main job: installs what is missing, builds the solocron binary (and nothing else: no
# tests, no benchmarks), then runs a three-node solocron cluster on this machine on the embedded
# SQLite store with examples/jobs.yaml, shows from the store's history that each tick ran exactly
# once and on which node, and stops the nodes cleanly.
#   scripts/demo.sh [SECONDS]     (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
echo "== checking the Debian packages the build needs (apt-get installs the missing ones)"
scripts/install-deps.sh build
echo "== building build/bin/solocron only (the first time about 4 minutes on 2 cores)"
BUILD_TARGETS=solocron_cli scripts/build.sh
bin=$PWD/build/bin/solocron

work=$(mktemp -d /tmp/solocron-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
store="sqlite:$work/state.db"

echo "== the jobs (solocron check examples/jobs.yaml)"
"$bin" check examples/jobs.yaml
echo
echo "== starting three nodes on $store for ${seconds}s; their logs: $work/node-*.log"
for n in 1 2 3; do
  # Each node serves its dashboard and API on a free loopback port (it logs which).
  "$bin" run --config examples/jobs.yaml --store "$store" --node-id "node-$n" \
    --http 127.0.0.1:0 >"$work/node-$n.log" 2>&1 &
  pids+=($!)
done
sleep 3
echo
"$bin" nodes --store "$store"
port=$(sed -n 's/.*http: serving .* on port \([0-9]*\).*/\1/p' "$work/node-1.log" | head -n 1)
[[ -n $port ]] && echo "node-1's dashboard while the demo runs: http://127.0.0.1:$port/"
sleep "$((seconds > 3 ? seconds - 3 : 0))"

echo
echo "== SIGTERM to every node: they finish or stop their runs, release their leases, exit 0"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid"; done
pids=()

echo
echo "== the last 15 occurrences (solocron history --limit 15)"
"$bin" history --store "$store" --limit 15
echo
echo "== every occurrence of the cluster, counted from the store's history"
"$bin" history --store "$store" --limit 100000 --json | python3 -c '
import collections, json, sys
recs = json.load(sys.stdin)
keys = collections.Counter((r["job"], r["scheduled_at"], r["occurrence_node"]) for r in recs)
dups = [k for k, n in keys.items() if n > 1]
for job in sorted({r["job"] for r in recs}):
    mine = [r for r in recs if r["job"] == job]
    states = collections.Counter(r["state"] for r in mine)
    nodes = collections.Counter(r["node"] for r in mine if r["node"])
    print(f"{job:16} {len(mine):4} occurrences  states {dict(states)}  nodes {dict(nodes)}")
print("occurrences run twice:", len(dups))
sys.exit(1 if dups else 0)
'
echo
echo "== node-1's log, a few lines (each job's output is tagged with its occurrence)"
grep -m 12 -E "claimed|started|finished| \| " "$work/node-1.log"
