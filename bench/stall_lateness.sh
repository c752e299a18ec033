#!/usr/bin/env bash
# Does a stalled store delay local jobs? (results in docs/benchmarks.md, "Store stall")
#
# One `solocron run` node on a throwaway PostgreSQL (scripts/pg-server.sh: temp dir, random
# unusual port on 127.0.0.1, default durable settings) runs two per-second jobs:
#   local: run_on: local, appends "$SOLOCRON_SCHEDULED_AT $(date +%s.%N)" to local.txt
#   once:  run_on: once (claimed through the store), appends the same to once.txt
# STALL_AT seconds (default 5) after the node started, a separate psql session holds
#   BEGIN; LOCK TABLE solocron_runs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(STALL_S); COMMIT;
# (STALL_S default 4), so every claim and run write waits for the lock while the lease table
# (solocron_nodes) is untouched. After TOTAL_S seconds (default 15) the node gets SIGTERM.
#
# Reported, for each job: runs, distinct scheduled seconds, seconds missing between the first
# and the last one, and start lateness p50 / p99 / max (the `date` in the job's shell minus the
# scheduled instant: includes forking sh and date, a few ms), over the whole run and over the
# instants scheduled while the lock was held; the node's log lines about the lease or the store.
#
#   bench/stall_lateness.sh                      # uses build/bin/solocron
#   SOLOCRON_BIN=/path/to/solocron bench/stall_lateness.sh
#   KEEP=1 bench/stall_lateness.sh               # keep the temp dir (printed) for inspection
#
# Everything it starts (the node, psql, the PostgreSQL server) is stopped by PID and the temp
# dir removed at exit, also on Ctrl-C; the server also stops if this script dies (--owner).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SOLOCRON_BIN:-$root/build/bin/solocron}
stall_at=${STALL_AT:-5}
stall_s=${STALL_S:-4}
total_s=${TOTAL_S:-15}
[[ -x $bin ]] || { echo "stall_lateness: $bin not found (build the solocron_cli target)" >&2; exit 2; }
command -v psql >/dev/null || { echo "stall_lateness: psql is required" >&2; exit 2; }

tmp=$(mktemp -d /tmp/solocron-stall.XXXXXX)
node_pid="" lock_pid="" pg_dir=""
cleanup() {
  [[ -n $lock_pid ]] && { kill -TERM "$lock_pid" 2>/dev/null || true; wait "$lock_pid" 2>/dev/null || true; }
  [[ -n $node_pid ]] && { kill -TERM "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; }
  [[ -n $pg_dir ]] && "$root/scripts/pg-server.sh" stop "$pg_dir" || true
  if [[ -n ${KEEP:-} ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# The server makes its own temp dir (as root it runs as postgres, which cannot enter $tmp).
env_out=$("$root/scripts/pg-server.sh" start --owner $$ --env)
url=$(sed -n 's/^SOLOCRON_PG_URL=//p' <<<"$env_out")
pg_dir=$(sed -n 's/^SOLOCRON_PG_DIR=//p' <<<"$env_out")

cat >"$tmp/jobs.yaml" <<EOF
node:
  time_zone: UTC
  store: "$url"
  log_format: json
jobs:
  - name: local
    schedule: "* * * * * *"
    run_on: local
    shell: true
    command: 'echo \$SOLOCRON_SCHEDULED_AT \$(date +%s.%N) >> $tmp/local.txt'
  - name: once
    schedule: "* * * * * *"
    run_on: once
    shell: true
    command: 'echo \$SOLOCRON_SCHEDULED_AT \$(date +%s.%N) >> $tmp/once.txt'
EOF

echo "== stall_lateness: $bin"
echo "   store $url; lock solocron_runs at +${stall_at}s for ${stall_s}s; ${total_s}s in all; load: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
"$bin" run --config "$tmp/jobs.yaml" --node-id stall-1 >"$tmp/node.log" 2>&1 &
node_pid=$!

sleep "$(awk -v t0="$t0" -v at="$stall_at" -v n="$(now)" 'BEGIN { d = t0 + at - n; print (d > 0 ? d : 0) }')"
[[ -s $tmp/once.txt ]] || echo "   (warning: no once run before the lock)"
# The lock's own timestamps (server clock = this machine's clock): acquired, released.
psql -X -q -A -t -v ON_ERROR_STOP=1 "$url" >"$tmp/lock.txt" 2>&1 <<EOF &
BEGIN;
LOCK TABLE solocron_runs IN ACCESS EXCLUSIVE MODE;
SELECT 'acquired ' || extract(epoch from clock_timestamp());
SELECT pg_sleep($stall_s);
SELECT 'released ' || extract(epoch from clock_timestamp());
COMMIT;
EOF
lock_pid=$!

sleep "$(awk -v t0="$t0" -v t="$total_s" -v n="$(now)" 'BEGIN { d = t0 + t - n; print (d > 0 ? d : 0) }')"
wait "$lock_pid" || echo "   (warning: the lock session failed: $(cat "$tmp/lock.txt"))"
lock_pid=""
kill -TERM "$node_pid"
wait "$node_pid" || true
node_pid=""

lock_from=$(sed -n 's/^acquired //p' "$tmp/lock.txt")
lock_to=$(sed -n 's/^released //p' "$tmp/lock.txt")
printf '   lock held from +%.2f s to +%.2f s\n' "$(awk -v a="$lock_from" -v t0="$t0" 'BEGIN{print a - t0}')" \
  "$(awk -v a="$lock_to" -v t0="$t0" 'BEGIN{print a - t0}')"

# FILE -> lines "SCHEDULED_EPOCH STARTED_EPOCH"
epochs() {
  [[ -f $1 ]] || return 0
  local at started
  while read -r at started; do
    echo "$(date -u -d "$at" +%s) $started"
  done <"$1"
}

stats() {  # NAME LABEL < lateness values in ms, one a line
  sort -n | awk -v name="$1" -v label="$2" '
    { a[++n] = $1 }
    END {
      if (n == 0) { printf "   %-6s %-23s no runs\n", name, label; exit }
      i50 = int(0.5 * n + 0.999999); i99 = int(0.99 * n + 0.999999)
      printf "   %-6s %-23s %3d runs  lateness p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n",
             name, label, n, a[i50], a[i99], a[n]
    }'
}

report() {  # NAME FILE
  local rows
  rows=$(epochs "$2" | sort -n)
  awk 'NF { printf "%.3f\n", ($2 - $1) * 1000 }' <<<"$rows" | stats "$1" "whole run:"
  awk -v lf="$lock_from" -v lt="$lock_to" 'NF && $1 >= int(lf) && $1 <= lt { printf "%.3f\n", ($2 - $1) * 1000 }' \
    <<<"$rows" | stats "$1" "scheduled during lock:"
  awk -v name="$1" '
    NF { n++; if (!($1 in seen)) d++; seen[$1] = 1; if (first == "" || $1 < first) first = $1; if ($1 > last) last = $1 }
    END { printf "   %-6s %d distinct seconds, %d missing between the first and the last, %d ran twice\n",
                 name, d, (n ? last - first + 1 - d : 0), n - d }' <<<"$rows"
}
report local "$tmp/local.txt"
report once "$tmp/once.txt"
trouble=$(grep -E '"level":"(warn|error)"|"event":"lease_lost"' "$tmp/node.log" || true)
echo "   node log: $(grep -c . <<<"$trouble" || true) warn/error/lease_lost lines (first 6):"
[[ -n $trouble ]] && head -n 6 <<<"$trouble" | cut -c1-230 | sed 's/^/     /'
true
