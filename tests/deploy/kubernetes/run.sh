#!/usr/bin/env bash
# ctest's entry to the offline check of deploy/kubernetes: `kubectl kustomize` renders the base
# and every overlay, validate.mjs checks each object against the Kubernetes and
# prometheus-operator schemas (npm packages from the lock file, as tests/dashboard/run.sh
# installs its own), and `solocron check` reads each rendered jobs file as a node would.
#   tests/deploy/kubernetes/run.sh /path/to/solocron OUTDIR
set -euo pipefail
bin=$(realpath "$1") out=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kube=$repo/deploy/kubernetes

if ! command -v kubectl >/dev/null; then
  # Debian 12's kubernetes-client is kubectl 1.20, whose kustomize (2.0.3) knows no components.
  echo "SKIP: kubectl is not installed (kubectl kustomize renders the manifests)"
  exit 77
fi
cd "$here"
if [[ ! -d node_modules/kubernetes-models ]]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

rm -rf "$out" && mkdir -p "$out/jobs"
for dir in "$kube/base" "$kube"/overlays/*; do
  name=$(basename "$dir")
  kubectl kustomize "$dir" >"$out/$name.yaml"
  echo "rendered ${dir#"$repo"/}: $(grep -c '^kind:' "$out/$name.yaml") objects"
done
node validate.mjs "$repo/deploy/prometheus/solocron-alerts.yaml" "$out/jobs" "$out"/*.yaml

# The sidecar's jobs name ${APP_TOKEN}, which its pods get from a Secret.
for jobs in "$out"/jobs/*.yaml; do
  APP_TOKEN=placeholder "$bin" check "$jobs" >/dev/null
  echo "solocron check ${jobs#"$out"/}: ok"
done
