#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests and benchmarks: initdb + pg_ctl in a fresh
# temporary directory, on a free, unusual port of 127.0.0.1, its unix socket inside that
# directory. Never touches the system's cluster or port 5432.
#
#   scripts/pg-server.sh start [DIR] [--owner PID] [--env]
#       Starts a server in DIR (created; default: a new /tmp/solocron-pg.XXXXXX) and prints its
#       URL (postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable). With --env it prints
#       KEY=VALUE lines instead: SOLOCRON_PG_URL, SOLOCRON_PG_DIR, SOLOCRON_PG_PORT,
#       SOLOCRON_PG_PID (always written to DIR/env). With --owner, a watcher stops the server
#       and removes DIR when process PID ends, even if it crashed.
#   scripts/pg-server.sh stop DIR     stops the server by its PID and removes DIR
#   scripts/pg-server.sh halt DIR     stops the server, keeping its data (outage tests)
#   scripts/pg-server.sh resume DIR   starts a halted server again on the same port
#
# Extra server settings: SOLOCRON_PG_OPTS="-c fsync=off ..." (tests use it; benchmarks do not).
# As root the server runs as the postgres user (PostgreSQL refuses root).
set -euo pipefail

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_installed() {
  find_bin >/dev/null && return 0
  echo "pg-server: PostgreSQL not found, installing postgresql-15" >&2
  "$(dirname "$0")/install-deps.sh" test >&2
  find_bin >/dev/null || { echo "pg-server: initdb/pg_ctl still missing" >&2; exit 1; }
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {  # DIR PORT
  local dir=$1 port=$2 bin
  bin=$(find_bin)
  # shellcheck disable=SC2086
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
        -c max_connections=200 ${SOLOCRON_PG_OPTS:-}" start >&2
}

# Detached from the caller's terminal and pipes, so that the caller's `$(...)` returns.
start_watcher() {
  local owner=$1 dir=$2
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [[ -d $2 ]]; do sleep 1; done
                  [[ -d $2 ]] && exec "$0" stop "$2"' "$0" "$owner" "$dir" \
    </dev/null >/dev/null 2>&1 &
}

cmd_start() {
  local owner="" print_env="" dir=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --owner) owner=$2; shift 2 ;;
      --env) print_env=1; shift ;;
      *) dir=$1; shift ;;
    esac
  done
  ensure_installed
  local bin port pid
  bin=$(find_bin)
  if [[ -n $dir ]]; then
    [[ ! -e $dir || -z $(ls -A "$dir") ]] || { echo "pg-server: $dir is not empty" >&2; exit 2; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
  else
    dir=$(mktemp -d /tmp/solocron-pg.XXXXXX)
  fi
  chmod 700 "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    port_free "$port" || continue
    if pg_start "$dir" "$port"; then
      pid=$(head -1 "$dir/data/postmaster.pid")
      {
        echo "SOLOCRON_PG_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
        echo "SOLOCRON_PG_DIR=$dir"
        echo "SOLOCRON_PG_PORT=$port"
        echo "SOLOCRON_PG_PID=$pid"
      } >"$dir/env"
      if [[ -n $print_env ]]; then cat "$dir/env"; else sed -n 's/^SOLOCRON_PG_URL=//p' "$dir/env"; fi
      [[ -n $owner ]] && start_watcher "$owner" "$dir"
      return 0
    fi
  done
  echo "pg-server: could not start" >&2
  cat "$dir/server.log" >&2 || true
  rm -rf "$dir"
  exit 1
}

# Stops the postmaster by its PID (fast shutdown: SIGINT) and waits for it to exit.
pg_halt() {
  local dir=$1 pid
  [[ -f $dir/data/postmaster.pid ]] || return 0
  pid=$(head -1 "$dir/data/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Only a directory this script made (its env names it) is ever stopped or removed.
check_dir() {
  [[ -n ${1:-} && -f $1/env ]] && grep -qx "SOLOCRON_PG_DIR=$(cd "$1" && pwd)" "$1/env" ||
    { echo "pg-server: not a pg-server directory: ${1:-}" >&2; exit 2; }
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) check_dir "${2:-}"; pg_halt "$2"; rm -rf "$2" ;;
  halt) check_dir "${2:-}"; pg_halt "$2" ;;
  resume)
    check_dir "${2:-}"
    port=$(sed -n 's/^SOLOCRON_PG_PORT=//p' "$2/env")
    pg_start "$2" "$port"
    ;;
  *) echo "usage: $0 start | stop DIR | halt DIR | resume DIR" >&2; exit 2 ;;
esac
