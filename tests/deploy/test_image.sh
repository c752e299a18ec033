#!/usr/bin/env bash
# The container image, built by scripts/image.sh from the binary under test and run with podman.
#
# Usage: tests/deploy/test_image.sh /path/to/solocron
# Checks: the image's size; --version; `next` in America/New_York across both DST changes with the
# image's own zoneinfo (and that without it the zone is unknown); the default configuration as
# shipped; the container runs as the non-root user with a read-only root; `run` on a named volume
# with a command job and an HTTP job to the node itself, drained by SIGTERM (`podman stop`): exit
# 0, the drain logged, and the history on the volume shows every tick run once; an HTTPS job
# verifies its server against the image's CA bundle; a node on a PostgreSQL store. The image,
# the containers, the volumes and the servers it makes carry the test's PID and are removed
# however it ends.
# Exits 77 (skip) only when this machine cannot run podman at all.
set -euo pipefail
binary=${1:?usage: $0 /path/to/solocron}
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/deploy/podman_lib.sh"
require_podman

# 30 MB, the issue's target, in bytes as podman reports them (uncompressed layers).
max_size=30000000
name=solocron-test-$$
version=$("$binary" --version | awk '{print $NF}')
image=localhost/$name:$version
work=$(mktemp -d "/tmp/$name.XXXXXX")
containers=()
volumes=()
pids=()
pg_dir=""

cleanup() {
  local c v p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for c in "${containers[@]}"; do podman rm -f -v "$c" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  podman rmi -f "$image" >/dev/null 2>&1 || true
  [[ -z $pg_dir ]] || "$root/scripts/pg-server.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
# --network none: no network plugin needed, only the container's own loopback.
run() { podman run --rm "${PODMAN_RUN_FLAGS[@]}" --network none --read-only "$@"; }

# Waits up to $1 seconds for the command; the bound only turns a hang into a failure.
wait_until() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.5
  done
}

built=$("$root/scripts/image.sh" --binary "$binary" --tag "$image" | tail -n 1)
[[ $built == "$image" ]] || fail "scripts/image.sh printed '$built' as its last line, expected '$image'"
ok "built $image"

size=$(podman image inspect --format '{{.Size}}' "$image")
((size <= max_size)) || fail "the image is $size bytes, more than the target $max_size"
ok "size $size bytes (target <= $max_size)"

out=$(run "$image" --version)
[[ $out == "solocron $version" ]] || fail "--version in the image printed '$out', expected 'solocron $version'"
ok "--version: $out"

# 2:30 does not exist on 8 March 2026 in New York (the job runs at 3:00 EDT); 1:30 happens twice
# on 1 November (the job runs once, at the first one, EDT).
out=$(run "$image" next --tz America/New_York --from 2026-03-07T00:00:00 --count 3 "30 2 * * *")
want=$'2026-03-07T02:30:00-05:00\n2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00'
[[ $out == "$want" ]] || fail "next across the spring DST change printed:"$'\n'"$out"$'\n'"expected:"$'\n'"$want"
out=$(run "$image" next --tz America/New_York --from 2026-10-31T00:00:00 --count 3 "30 1 * * *")
want=$'2026-10-31T01:30:00-04:00\n2026-11-01T01:30:00-04:00\n2026-11-02T01:30:00-05:00'
[[ $out == "$want" ]] || fail "next across the autumn DST change printed:"$'\n'"$out"$'\n'"expected:"$'\n'"$want"
# The same command with an empty directory over the image's zoneinfo: the zone comes from there.
if out=$(run --tmpfs /usr/share/zoneinfo:notmpcopyup "$image" next --tz America/New_York "30 2 * * *" 2>&1); then
  fail "next found America/New_York without /usr/share/zoneinfo: '$out'"
fi
[[ $out == *'unknown time zone "America/New_York"'* ]] || fail "next without zoneinfo said: $out"
ok "next --tz America/New_York: -05:00/-04:00 across both DST changes, from the image's zoneinfo"

out=$(run "$image" check /etc/solocron/jobs.yaml)
[[ $out == "/etc/solocron/jobs.yaml: 0 valid jobs" ]] || fail "check of the image's default configuration: $out"
ok "the default /etc/solocron/jobs.yaml passes check"

# Whether container $1 logged a line matching the extended regex $2. (Not `podman logs | grep -q`:
# grep's early exit fails podman with SIGPIPE, and pipefail would make that a "no".)
logged() { grep -Eq "$2" <<<"$(podman logs "$1" 2>&1)"; }
# Stops container $1 with SIGTERM (40 s before SIGKILL, above shutdown_grace) and checks it
# exited 0 after draining.
stop_drained() {
  podman stop --time 40 "$1" >/dev/null
  local rc
  rc=$(podman inspect --format '{{.State.ExitCode}}' "$1")
  [[ $rc == 0 ]] || fail "$1 exited $rc after SIGTERM; its log:"$'\n'"$(podman logs "$1" 2>&1 | tail -20)"
  local event
  for event in 'shutdown: SIGTERM' 'lease_released: released the lease' 'node_stopped: drained'; do
    logged "$1" "$event" || fail "$1 did not log '$event' on SIGTERM; its log:"$'\n'"$(podman logs "$1" 2>&1 | tail -20)"
  done
}

# The image as is: its default command and configuration, the state directory as a volume.
asis=$name-asis
volumes+=("$name-asis-state")
podman volume create "$name-asis-state" >/dev/null
containers+=("$asis")
podman run -d --name "$asis" "${PODMAN_RUN_FLAGS[@]}" --network none --read-only -v "$name-asis-state:/var/lib/solocron" "$image" >/dev/null
wait_until 60 logged "$asis" 'node_started' || fail "the image as is did not start: $(podman logs "$asis" 2>&1 | tail -20)"
[[ $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$asis") == true ]] || fail "$asis has a writable root"
users=$(podman top "$asis" user huser | tail -n +2 | sort -u)
[[ $users =~ ^solocron[[:space:]]+[0-9]+$ && $users != *' 0' ]] ||
  fail "the processes of $asis run as: $users (expected only solocron, uid 10001)"
ok "runs as is with --read-only, every process as $(echo "$users" | tr -s ' ')"
stop_drained "$asis"
ok "the image as is drains on SIGTERM and exits 0"

# A node with two per-second jobs on a named volume: a command that exists in the image (there
# is no shell) and an HTTP call to the node's own /healthz over the container's loopback.
cat >"$work/jobs.yaml" <<'EOF'
node:
  http: ":9180"
jobs:
  - name: tick
    schedule: "* * * * * *"
    command: ["/usr/bin/solocron", "--version"]
  - name: probe
    schedule: "* * * * * *"
    http: {url: "http://127.0.0.1:9180/healthz", method: GET}
EOF
chmod 644 "$work/jobs.yaml"
node=$name-node
volumes+=("$name-state")
podman volume create "$name-state" >/dev/null
containers+=("$node")
podman run -d --name "$node" "${PODMAN_RUN_FLAGS[@]}" --network none --read-only \
  -v "$name-state:/var/lib/solocron" -v "$work/jobs.yaml:/etc/solocron/jobs.yaml:ro" "$image" >/dev/null
# Whether container $1 logged at least $3 finished runs of job $2.
finished() { (($(podman logs "$1" 2>&1 | grep -c " finished $2@") >= $3)); }
wait_until 90 finished "$node" tick 8 || fail "tick did not finish 8 runs; log:"$'\n'"$(podman logs "$node" 2>&1 | tail -20)"
wait_until 30 finished "$node" probe 8 || fail "probe did not finish 8 runs; log:"$'\n'"$(podman logs "$node" 2>&1 | tail -20)"
stop_drained "$node"
ok "run on a volume: tick and probe ran, SIGTERM drained, exit 0"

podman logs "$node" >"$work/node.log" 2>&1
containers+=("$name-history")
podman run --rm --name "$name-history" "${PODMAN_RUN_FLAGS[@]}" --network none --read-only \
  -v "$name-state:/var/lib/solocron" "$image" history --json --limit 1000 >"$work/history.json"
python3 "$root/tests/deploy/check_history.py" "$work/history.json" "$work/node.log" "solocron $version" tick probe
ok "history on the volume: every tick once"

# HTTPS actions verify servers against /etc/ssl/certs/ca-certificates.crt, OpenSSL's default in
# the image: a server signed by a throwaway CA is trusted when that CA is the file mounted there,
# and refused with the image's own (Debian's) bundle. --network host: the server is on the host.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=solocron test CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 1 -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
python3 "$root/tests/deploy/tls_server.py" "$work/server.crt" "$work/server.key" "$work/tls.port" &
pids+=($!)
wait_until 30 test -s "$work/tls.port" || fail "the test's HTTPS server did not start"
cat >"$work/tls.yaml" <<EOF
jobs:
  - name: tls
    schedule: "* * * * * *"
    http: {url: "https://127.0.0.1:$(cat "$work/tls.port")/", method: GET}
EOF
chmod 644 "$work/tls.yaml" "$work/ca.crt"
volumes+=("$name-tls-state")
podman volume create "$name-tls-state" >/dev/null
# Runs the tls job, with the CA file $1 over the image's bundle ("-": the image's own), until it
# logged a run matching $2; then drains it.
tls_run() {
  local c=$name-tls-$3 bundle=()
  [[ $1 == - ]] || bundle=(-v "$1:/etc/ssl/certs/ca-certificates.crt:ro")
  containers+=("$c")
  podman run -d --name "$c" "${PODMAN_RUN_FLAGS[@]}" --network host --read-only "${bundle[@]}" \
    -v "$name-tls-state:/var/lib/solocron" -v "$work/tls.yaml:/etc/solocron/jobs.yaml:ro" "$image" >/dev/null
  wait_until 60 logged "$c" "finished tls@.*$2" ||
    fail "$c did not log a tls run with '$2'; its log:"$'\n'"$(podman logs "$c" 2>&1 | tail -10)"
  stop_drained "$c"
}
tls_run "$work/ca.crt" 'state=succeeded exit=200' trusted
tls_run - 'state=failed.*SSLServerVerification' refused
ok "HTTPS actions verify servers against the image's /etc/ssl/certs/ca-certificates.crt"

# A PostgreSQL store (a throwaway server on the host, named "localhost": the image's libpq, and
# its name lookup through /etc/hosts): a node runs tick, drains, and the history shows each once.
# (Its own directory: the server runs as the postgres user, who cannot enter $work.)
pg_env=$("$root/scripts/pg-server.sh" start --owner $$ --env)
pg_dir=$(sed -n 's/^SOLOCRON_PG_DIR=//p' <<<"$pg_env")
pg_url=$(sed -n 's/^SOLOCRON_PG_URL=//p' <<<"$pg_env")
pg_url=${pg_url/@127.0.0.1:/@localhost:}
cat >"$work/pg.yaml" <<'EOF'
jobs:
  - name: tick
    schedule: "* * * * * *"
    command: ["/usr/bin/solocron", "--version"]
EOF
chmod 644 "$work/pg.yaml"
pg_node=$name-pg
containers+=("$pg_node")
podman run -d --name "$pg_node" "${PODMAN_RUN_FLAGS[@]}" --network host --read-only -e "SOLOCRON_STORE=$pg_url" \
  -v "$work/pg.yaml:/etc/solocron/jobs.yaml:ro" "$image" >/dev/null
wait_until 60 finished "$pg_node" tick 4 || fail "tick did not finish 4 runs on PostgreSQL; log:"$'\n'"$(podman logs "$pg_node" 2>&1 | tail -20)"
stop_drained "$pg_node"
podman logs "$pg_node" >"$work/pg-node.log" 2>&1
podman run --rm "${PODMAN_RUN_FLAGS[@]}" --network host --read-only -e "SOLOCRON_STORE=$pg_url" "$image" \
  history --json --limit 1000 >"$work/pg-history.json"
python3 "$root/tests/deploy/check_history.py" "$work/pg-history.json" "$work/pg-node.log" "solocron $version" tick
ok "a PostgreSQL store at localhost: every tick once, drained on SIGTERM"
echo "PASS: the container image"
