# Shared helpers of the multi-process cluster scenarios. Sourced by test_*.sh, which get the
# solocron binary as $1. Everything a scenario starts is recorded and stopped by PID on exit;
# the temp dir is removed. Nothing is killed by name.
set -euo pipefail

SOLOCRON=${1:?usage: $0 /path/to/solocron}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/solocron-cluster.XXXXXX)
chmod 755 "$WORK"
declare -A NODE_PID=()
# Per-node overrides read by start_node: another store URL (e.g. with its own
# application_name), another config file, extra flags (e.g. --http 127.0.0.1:0).
declare -A NODE_STORE=() NODE_CONFIG=() NODE_ARGS=()
HELPER_PIDS=()      # background pollers started by the scenario
CLEANUP_EARLY=()    # commands run before the nodes are killed (e.g. thaw a frozen file system)
CLEANUP_LATE=()     # commands run after the nodes are gone (unmount, detach a loop device)
PG_DIR=""
T0=$(date +%s)

log() { printf '[%3ds] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  local cmd pid
  for cmd in "${CLEANUP_EARLY[@]}"; do eval "$cmd" || true; done
  for pid in "${HELPER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for name in "${!NODE_PID[@]}"; do
    local pid=${NODE_PID[$name]}
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  for ((i = ${#CLEANUP_LATE[@]} - 1; i >= 0; i--)); do eval "${CLEANUP_LATE[$i]}" || true; done
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

# write_config FILE JOBS_YAML [NODE_YAML]: a node section with short timings, then the given
# jobs. NODE_YAML lines ("key: value") replace or add node settings.
write_config() {
  local file=$1 jobs=$2 extra=${3:-} line key
  local -A node=([log_format]=json [heartbeat]=500ms [node_ttl]=3s [shutdown_grace]=5s)
  local order=(log_format heartbeat node_ttl shutdown_grace)
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*([a-z_]+):[[:space:]]*(.*)$ ]] || continue
    key=${BASH_REMATCH[1]}
    [[ -v "node[$key]" ]] || order+=("$key")
    node[$key]=${BASH_REMATCH[2]}
  done <<<"$extra"
  {
    echo "node:"
    for key in "${order[@]}"; do echo "  $key: ${node[$key]}"; done
    echo "jobs:"
    echo "$jobs"
  } >"$file"
}

# start_node NAME [env assignments...]: runs `solocron run` in the background.
start_node() {
  local name=$1
  shift
  # shellcheck disable=SC2086  # NODE_ARGS are flags, split on purpose
  env "$@" "$SOLOCRON" run --config "${NODE_CONFIG[$name]:-$WORK/config.yaml}" \
    --store "${NODE_STORE[$name]:-$STORE}" --node-id "$name" ${NODE_ARGS[$name]:-} \
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

# stop_node NAME [SECONDS]: graceful: SIGTERM, then wait (at most SECONDS, default 60) for the
# exit; fails if the node does not exit in time or exits with a status other than 0.
stop_node() {
  local name=$1 limit=${2:-60} pid=${NODE_PID[$1]}
  kill -TERM "$pid" 2>/dev/null || true  # stop_nodes may have sent it, and it may be gone
  wait_until "$limit" proc_gone "$pid" || fail "$name did not exit within ${limit}s of SIGTERM"
  local rc=0
  wait "$pid" || rc=$?
  unset "NODE_PID[$name]"
  [[ $rc -eq 0 ]] || fail "$name exited with status $rc after SIGTERM"
  log "stopped $name"
}

# stop_nodes NAME... : SIGTERM to all of them at once, then stop_node's checks for each (their
# drains overlap instead of adding up).
stop_nodes() {
  local name
  for name in "$@"; do kill -TERM "${NODE_PID[$name]}"; done
  for name in "$@"; do stop_node "$name"; done
}

# proc_state PID: the state letter of /proc/PID/stat (R, S, D, Z, ...), empty if there is none.
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }  # the command name may hold spaces and parentheses
  echo "${stat%% *}"
}

# proc_gone PID: no such process, or only its zombie (PID 1 of a container may never reap
# what is re-parented to it: a zombie runs nothing).
proc_gone() {
  local s
  s=$(proc_state "$1")
  [[ -z $s || $s == Z || $s == X ]]
}

# group_members PGID: the live (non-zombie) processes of a process group, one PID a line.
group_members() {
  local f stat pid
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    pid=${stat%% *}
    stat=${stat##*) }
    # after the name: state ppid pgrp ...
    read -r state _ pgrp _ <<<"$stat"
    [[ $pgrp == "$1" && $state != Z && $state != X ]] && echo "$pid"
  done
  return 0
}

# children_named PID NAME: the PIDs of the children of PID whose command name is NAME.
children_named() {
  local f stat pid comm
  for f in /proc/[0-9]*/stat; do
    stat=$(cat "$f" 2>/dev/null) || continue
    pid=${stat%% *}
    comm=${stat#*(}
    comm=${comm%)*}
    stat=${stat##*) }
    read -r _ ppid _ <<<"$stat"
    [[ $ppid == "$1" && $comm == "$2" ]] && echo "$pid"
  done
  return 0
}

# http_port NAME: the port a node started with --http 127.0.0.1:0 listens on (from its log).
http_port() {
  local port=""
  wait_until 20 grep -q '"event":"http"' "$WORK/$1.log" || fail "$1 never logged its HTTP port"
  port=$(grep -o '"event":"http".*on port [0-9]*' "$WORK/$1.log" | tail -n1 | grep -o '[0-9]*$')
  [[ -n $port ]] || fail "no port in $1's http event"
  echo "$port"
}

# readyz PORT: the status code of GET /readyz (000 when nothing answers).
readyz() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/readyz" || true
}

# poll_ready NAME PORT: in the background, appends "EPOCH CODE" of /readyz to $WORK/NAME.ready
# every 200 ms until the scenario ends (one process, so that nothing of it outlives a kill).
poll_ready() {
  local name=$1 port=$2
  python3 -u - "$port" >>"$WORK/$name.ready" 2>/dev/null <<'PY' &
import sys, time, urllib.request, urllib.error
url = f"http://127.0.0.1:{sys.argv[1]}/readyz"
while True:
    try:
        code = urllib.request.urlopen(url, timeout=2).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception:
        code = 0
    print(f"{time.time():.3f} {code}")
    time.sleep(0.2)
PY
  HELPER_PIDS+=($!)
}

# events LOG: the node's JSON log events, one name a line (for grep -c and friends).
log_events() { grep -o '"event":"[a-z_]*"' "$1" | cut -d'"' -f4; }

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

# schedule_in SECONDS: a six-field cron expression (UTC) that fires once a day, SECONDS from now.
schedule_in() { date -u -d "@$(($(date +%s) + $1))" '+%-S %-M %-H * * *'; }

history_json() { "$SOLOCRON" history --store "$STORE" --limit 100000 --json; }

# check.py does the bookkeeping: duplicates, gaps, states, fencing (see its header).
check() { python3 "$ROOT/tests/cluster/check.py" "$@"; }
