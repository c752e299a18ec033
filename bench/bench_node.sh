# Shared by the benchmark scripts that time one node over HTTP. Sourced; sets BIN and WORK (a
# temporary directory, removed on exit with the node stopped by PID), and start_node CONFIG
# [ARGS...] starts the node on a temporary SQLite store with HTTP on a free loopback port (and
# ARGS), sets PORT and NODE_PID and waits until it is ready. SOLOCRON_BIN picks another binary.
set -euo pipefail
BIN=${SOLOCRON_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin/solocron}
WORK=$(mktemp -d /tmp/solocron-bench.XXXXXX)
NODE_PID=""
trap '[[ -n $NODE_PID ]] && kill "$NODE_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

start_node() {
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BIN" run --config "$1" --store "sqlite:$WORK/s.db" --node-id bench --http "127.0.0.1:$PORT" \
    "${@:2}" >"$WORK/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 240); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/readyz") == 200 ]] && return 0
    sleep 0.5
  done
  echo "the node did not become ready: $(tail -5 "$WORK/node.log")" >&2
  return 1
}
