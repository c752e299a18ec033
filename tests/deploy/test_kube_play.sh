#!/usr/bin/env bash
# The Kubernetes manifests end to end, with podman instead of a cluster: builds the image
# (scripts/image.sh), plays deploy/kubernetes/overlays/podman-sqlite (the base: three replicas,
# one SQLite file on a shared volume, a job every second), deletes one replica gracefully and
# plays it again meanwhile, then stops them all (SIGTERM: they drain) and checks the store's
# history: every second once, nothing lost or interrupted.
#   tests/deploy/test_kube_play.sh /path/to/solocron
# Exits 77 when podman cannot run here (says why). Removes everything it made: pods, volumes,
# the image tag, podman's pause image if it built it, its temporary directory.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# shellcheck source=tests/deploy/podman_lib.sh
source "$here/podman_lib.sh"
require_podman
# podman builds its pod infra image from catatonit; kubectl renders the manifests.
for tool in catatonit kubectl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (Debian: catatonit python3-yaml; kubectl: see docs/kubernetes.md)"; exit 77; }
done

tmp=$(mktemp -d /tmp/solocron-kube-play.XXXXXX)
name=solocron-kube-test-$$
version=$("$bin" --version | awk '{print $2}')
tag=localhost/$name:$version
pause_image=localhost/podman-pause:$(podman version --format '{{.Client.Version}}')-0
pause_existed=$(podman image exists "$pause_image" && echo yes || echo no)

# PODMAN_RUN_FLAGS' runc and limits (podman_lib.sh): podman kube play takes no --runtime or
# --ulimit, so they come from a containers.conf of the test's own.
cat >"$tmp/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$tmp/containers.conf

volumes=()
cleanup() {
  local pods
  pods=$(podman pod ls --format '{{.Name}}' --filter "name=^$name-" 2>/dev/null || true)
  [[ -n $pods ]] && podman pod rm -f $pods >/dev/null 2>&1
  [[ ${#volumes[@]} -gt 0 ]] && podman volume rm -f "${volumes[@]}" >/dev/null 2>&1
  podman image exists "$tag" && podman rmi "$tag" >/dev/null 2>&1
  # Only if this test made it, and not while another user's pod runs it (no -f).
  [[ $pause_existed == no ]] && podman rmi "$pause_image" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

[[ $(podman info --format '{{.Host.OCIRuntime.Name}}') == runc ]] ||
  { echo "FAIL: podman does not take runc from CONTAINERS_CONF"; exit 1; }

echo "== image"
"$repo/scripts/image.sh" --binary "$bin" --tag "$tag" | tail -1 | grep -qx "$tag"
podman image exists "$tag"

echo "== render deploy/kubernetes/overlays/podman-sqlite as $name-*"
mkdir -p "$tmp/kustomize"
cat >"$tmp/kustomize/kustomization.yaml" <<EOF
resources: [$(realpath --relative-to="$tmp/kustomize" "$repo/deploy/kubernetes/overlays/podman-sqlite")]
namePrefix: $name-
images: [{name: localhost/solocron, newName: localhost/$name, newTag: "$version"}]
EOF
kubectl kustomize "$tmp/kustomize" >"$tmp/rendered.yaml"
read -r deployment replicas grace pod_volumes < <(python3 "$here/kube_play_pods.py" "$tmp/rendered.yaml" "$tmp" "$name-")
read -ra volumes <<<"$pod_volumes"
[[ $replicas -eq 3 ]] || { echo "FAIL: $replicas replicas, expected 3"; exit 1; }
pod() { echo "$deployment-pod-$1"; }
state_volume=$name-solocron-state

# Waits (bounded, not timed) until the pod's node logged that it started, N times in all.
wait_started() {
  local pod=$1 times=$2
  for _ in $(seq 1 600); do
    [[ $(podman logs "$pod-solocron" 2>&1 | grep -c '"event":"node_started"') -ge $times ]] && return 0
    sleep 0.1
  done
  echo "FAIL: $pod did not start"; podman logs "$pod-solocron" 2>&1 | tail -20; exit 1
}

# podman 4.3 gives each container a 10 s stop timeout whatever terminationGracePeriodSeconds
# says; a kubelet waits that long. So stop as the kubelet would: SIGTERM, SIGKILL after it.
stop_pods() { podman pod stop -t "$grace" "$@" >/dev/null; }

echo "== podman kube play: $replicas replicas of $tag, one SQLite volume"
podman kube play --network none "$tmp/play.yaml" >/dev/null
for i in 0 1 2; do wait_started "$(pod "$i")" 1; done
stop_timeout=$(podman inspect --format '{{.Config.StopTimeout}}' "$(pod 0)-solocron")
echo "terminationGracePeriodSeconds $grace; podman's stop timeout $stop_timeout s: pods are stopped with -t $grace"
sleep 6

echo "== delete $(pod 1) (SIGTERM, as kubectl delete pod) and play it again"
since=$(date -u +%FT%TZ)
stop_pods "$(pod 1)"
podman logs "$(pod 1)-solocron" >"$tmp/$(pod 1).first.log" 2>&1
# (podman also tries to remove the emptyDir's volume, which the others still use, and says so)
err=$(podman pod rm "$(pod 1)" 2>&1 >/dev/null) || { echo "FAIL: podman pod rm: $err"; exit 1; }
sleep 3
podman kube play --network none "$tmp/pod-1.yaml" >/dev/null
wait_started "$(pod 1)" 1
until=$(date -u +%FT%TZ)
sleep 8

echo "== stop all (SIGTERM: drain), podman kube down"
stop_pods "$(pod 0)" "$(pod 1)" "$(pod 2)"
for i in 0 1 2; do podman logs "$(pod "$i")-solocron" >"$tmp/$(pod "$i").log" 2>&1; done
podman kube down "$tmp/play.yaml" >/dev/null 2>&1

failed=0
for log in "$tmp"/*.log; do
  if ! grep -q '"event":"lease_released"' "$log" || ! grep -q '"event":"node_stopped"' "$log"; then
    echo "FAIL: $(basename "$log" .log) did not drain and release its lease:"; tail -5 "$log"; failed=1
  else
    echo "$(basename "$log" .log): drained, lease released"
  fi
done

echo "== the store's history ($state_volume)"
db=$(podman volume inspect --format '{{.Mountpoint}}' "$state_volume")/state.db
"$bin" history tick --json --limit 1000000 --store "sqlite://$db" >"$tmp/history.json"
python3 "$here/count_ticks.py" "$since" "$until" <"$tmp/history.json" || failed=1
[[ $failed -eq 0 ]] && echo "PASS: each tick once across $replicas replicas, one deleted and recreated, all drained"
exit "$failed"
