#!/usr/bin/env bash
# Installs the Debian 12 packages solocron needs to build and test, skipping those present.
# Usage: scripts/install-deps.sh [build|test|bench]   (each level includes the ones before)
set -euo pipefail
level=${1:-test}

build_pkgs=(cmake make g++ pkg-config tzdata
  libabsl-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev libpq-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev)
# Tests start their own PostgreSQL, run a node under libfaketime, fuzz with clang, check the
# API against its OpenAPI document and drive the dashboard in Chromium (playwright-core from npm);
# the deploy tests build and run the container image (buildah, podman with runc, tini as its
# init; podman builds its pod infra image with catatonit; the manifests are read with
# python3-yaml) and build, lint, install and purge the Debian package (lintian,
# dpkg-shlibdeps, systemd-analyze; help2man writes its man page, man-db reads it back).
test_pkgs=(postgresql-15 postgresql-client-15 faketime libfaketime clang libclang-rt-14-dev openssl
  procps iproute2 sqlite3 python3 python3-jsonschema prometheus chromium nodejs npm curl
  buildah podman runc tini catatonit containernetworking-plugins python3-yaml binutils
  ca-certificates
  lintian dpkg-dev adduser systemd help2man man-db)
# Peers the schedule benchmark compares against, all from Debian.
bench_pkgs=(golang-go golang-github-robfig-cron-dev python3-croniter nodejs npm)

want=("${build_pkgs[@]}")
[[ $level == test || $level == bench ]] && want+=("${test_pkgs[@]}")
[[ $level == bench ]] && want+=("${bench_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  # A machine whose Node.js comes from elsewhere (NodeSource ships npm inside nodejs) keeps it:
  # Debian's npm package would conflict with it.
  [[ ($p == nodejs || $p == npm) ]] && command -v "${p/nodejs/node}" >/dev/null && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the packaged PostgreSQL service from starting: tests run their own server.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
# One line per package as apt sets it up, so a fresh machine shows progress; the whole apt log
# only when it fails.
log=$(mktemp)
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" 2>&1 | tee "$log" |
    sed -un 's/^Setting up \([^ :]*\).*/  set up \1/p'; then
  echo "apt-get install failed:" >&2
  tail -n 40 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
