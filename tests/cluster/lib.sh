# Shared helpers of the multi-process cluster scenarios. Sourced by test_*.sh, which get the
# solocron binary as $1. Everything a scenario starts is recorded and stopped by PID on exit;
# the temp dir is removed. Nothing is killed by name.
set -euo pipefail

SOLOCRON=${1:?usage: $0 /path/to/solocron}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/solocron-cluster.XXXXXX)
chmod 755 "$WORK"
declare -A NODE_PID=()
PG_DIR=""
T0=$(date +%s)

log() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  for name in "${!NODE_PID[@]}"; do
    local pid=${NODE_PID[$name]}
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ -n $PG_DIR ]]; then "$ROOT/scripts/pg-server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  if [[ $rc -ne 0 ]]; then
    for f in "$WORK"/*.log; do
      [[ -f $f ]] || continue
      echo "----- tail of $f"; tail -n 40 "$f"
    done
  fi
  if [[ -n ${KEEP_WORK:-} ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT

# start_postgres: a throwaway server for this scenario; sets STORE.
start_postgres() {
  local env
  env=$("$ROOT/scripts/pg-server.sh" start "$WORK/pg" --owner $$ --env)
  eval "$env"
  PG_DIR=$SOLOCRON_PG_DIR
  STORE=$SOLOCRON_PG_URL
  log "postgres at $STORE"
}

# write_config FILE JOBS_YAML: a node section with short timings, then the given jobs.
write_config() {
  local file=$1 jobs=$2
  cat >"$file" <<YAML
node:
  log_format: json
  heartbeat: 500ms
  node_ttl: 3s
  shutdown_grace: 5s
jobs:
$jobs
YAML
}

# start_node NAME [env assignments...]: runs `solocron run` in the background.
start_node() {
  local name=$1
  shift
  env "$@" "$SOLOCRON" run --config "$WORK/config.yaml" --store "$STORE" --node-id "$name" \
    >>"$WORK/$name.log" 2>&1 &
  NODE_PID[$name]=$!
  log "started $name (pid ${NODE_PID[$name]})"
}

kill_node() {  # kill_node NAME SIGNAL
  local name=$1 sig=$2
  kill "-$sig" "${NODE_PID[$name]}"
  log "sent SIG$sig to $name"
  if [[ $sig == KILL ]]; then
    wait "${NODE_PID[$name]}" 2>/dev/null || true
    unset "NODE_PID[$name]"
  fi
}

stop_node() {  # graceful: SIGTERM and wait; fails if the exit status is not 0
  local name=$1 pid=${NODE_PID[$1]}
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  unset "NODE_PID[$name]"
  [[ $rc -eq 0 ]] || fail "$name exited with status $rc after SIGTERM"
  log "stopped $name"
}

# wait_until SECONDS COMMAND...: polls until the command succeeds.
wait_until() {
  local limit=$1
  shift
  local deadline=$(($(date +%s) + limit))
  until "$@"; do
    [[ $(date +%s) -lt $deadline ]] || return 1
    sleep 0.2
  done
}

history_json() { "$SOLOCRON" history --store "$STORE" --limit 100000 --json; }

# check.py does the bookkeeping: duplicates, gaps, states, fencing (see its header).
check() { python3 "$ROOT/tests/cluster/check.py" "$@"; }
