#!/usr/bin/env bash
# How long a cluster takes to notice a SIGKILLed node.
#
# Three `solocron run` nodes (n1..n3) on one temporary SQLite store run one job, `sleep 60`
# every 2 s with overlap: forbid, so exactly one node holds a running occurrence. That node
# (found with `solocron history --json`) is SIGKILLed; then `solocron nodes --json` and
# `solocron history --json` are polled every 100 ms, and the script reports
#   (a) the time from the kill until its lease shows live=false,
#   (b) the time from the kill until its occurrence is recorded `lost`.
# Each repeat uses a fresh cluster and store. A timing is the start of the first query that
# shows the change; one poll round is 100 ms plus two CLI calls (~170 ms in all here), so a
# timing is late by up to one round, and (b) can read a little below (a) when the lease
# expired between the two queries of one round.
#
#   bench/cluster_notice.sh [REPEATS]        default 5; heartbeat 1s/node_ttl 5s, then 500ms/3s
#   SOLOCRON_BIN=path/to/solocron bench/cluster_notice.sh
#
# Everything it starts is stopped by PID (the nodes, and the killed node's orphaned job by its
# process group), and the temporary directory is removed, also on Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SOLOCRON_BIN:-$root/build/bin/solocron}
repeats=${1:-5}
poll_s=0.1
[[ -x $bin ]] || { echo "cluster_notice: $bin not found (build the solocron_cli target)" >&2; exit 2; }
command -v jq >/dev/null || { echo "cluster_notice: jq is required" >&2; exit 2; }

tmp=$(mktemp -d /tmp/solocron-notice.XXXXXX)
node_pids=()   # nodes still running
orphan_pgids=()  # process groups of jobs whose node was SIGKILLed

stop_all() {
  local p
  for p in "${node_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  node_pids=()
  for p in "${orphan_pgids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  orphan_pgids=()
}
cleanup() {
  stop_all
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

write_config() {  # FILE STORE HEARTBEAT NODE_TTL
  cat >"$1" <<EOF
node:
  time_zone: UTC
  store: "$2"
  log_format: json
  heartbeat: $3
  node_ttl: $4
  shutdown_grace: 1s
jobs:
  - name: long
    schedule: "*/2 * * * * *"
    command: ["sleep", "60"]
    overlap: forbid
EOF
}

# Prints "NODE SCHEDULED_AT" of the running occurrence once there is one.
wait_running() {  # STORE
  local deadline=$(( $(now_ms) + 20000 )) out
  while (( $(now_ms) < deadline )); do
    out=$("$bin" history long --json --limit 5 --store "$1" 2>/dev/null |
          jq -r 'map(select(.state == "running")) | .[0] // empty | "\(.node) \(.scheduled_at)"')
    [[ -n $out ]] && { echo "$out"; return 0; }
    sleep "$poll_s"
  done
  echo "cluster_notice: no running occurrence after 20 s" >&2
  return 1
}

# One repeat; writes "LIVE_FALSE_MS LOST_MS VICTIM SCHEDULED_AT" to $tmp/result (not run in a
# subshell, so that the cleanup trap knows every PID it started).
one_run() {  # HEARTBEAT NODE_TTL INDEX
  local dir="$tmp/run-$3-$1" store cfg i victim at pid pgid t0 t live_ms="" lost_ms=""
  mkdir -p "$dir"
  store="sqlite://$dir/state.db"
  cfg="$dir/jobs.yaml"
  write_config "$cfg" "$store" "$1" "$2"
  declare -A pid_of
  for i in 1 2 3; do
    # A random gap, so that the nodes' heartbeats are not in phase (as in a real cluster):
    # how soon a survivor marks the run lost after the lease expired depends on it.
    (( i > 1 )) && sleep "0.$(printf %03d $((RANDOM % 1000)))"
    "$bin" run --config "$cfg" --node-id "n$i" >"$dir/n$i.log" 2>&1 &
    pid_of[n$i]=$!
    node_pids+=("$!")
  done
  read -r victim at < <(wait_running "$store")
  [[ -n ${victim:-} ]] || return 1
  pid=${pid_of[$victim]}
  # The job runs in its own process group (its pid): it outlives the SIGKILLed node.
  pgid=$(ps -o pid= --ppid "$pid" | head -n1 | tr -d ' ')
  [[ -n $pgid ]] && orphan_pgids+=("$pgid")
  t0=$(now_ms)
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  local rest=() p
  for p in "${node_pids[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  node_pids=("${rest[@]}")
  while [[ -z $live_ms || -z $lost_ms ]]; do
    t=$(now_ms)
    (( t - t0 > 60000 )) && { echo "cluster_notice: nothing noticed in 60 s" >&2; return 1; }
    if [[ -z $live_ms ]] && [[ $("$bin" nodes --json --store "$store" |
          jq -r --arg n "$victim" '.[] | select(.node == $n) | .live') == false ]]; then
      live_ms=$(( t - t0 ))
    fi
    t=$(now_ms)
    if [[ -z $lost_ms ]] && [[ $("$bin" history long --json --limit 20 --store "$store" |
          jq -r --arg at "$at" '.[] | select(.scheduled_at == $at) | .state') == lost ]]; then
      lost_ms=$(( t - t0 ))
    fi
    sleep "$poll_s"
  done
  stop_all
  echo "$live_ms $lost_ms $victim $at" >"$tmp/result"
}

stats() {  # numbers... -> "min median max"
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%d / %d / %d", v[1], v[int((NR+1)/2)], v[NR]}'
}

for setting in "1s 5s" "500ms 3s"; do
  read -r hb ttl <<<"$setting"
  echo "== heartbeat $hb, node_ttl $ttl: $repeats runs, 3 nodes, sqlite, poll every ${poll_s}s =="
  lives=() losts=()
  for ((r = 1; r <= repeats; r++)); do
    one_run "$hb" "$ttl" "$r"
    read -r live lost victim at <"$tmp/result"
    echo "  run $r: killed $victim (running $at): lease live=false after ${live} ms, occurrence lost after ${lost} ms"
    lives+=("$live")
    losts+=("$lost")
  done
  echo "  lease live=false, ms (min / median / max): $(stats "${lives[@]}")"
  echo "  occurrence lost,  ms (min / median / max): $(stats "${losts[@]}")"
done
