# shellcheck shell=bash
# What the container tests of tests/deploy/ share (sourced): the podman flags these machines
# need, and the check that podman can run containers here at all (else the test skips: 77).

# crun cannot raise the container's limits on these machines (its default nofile/nproc are above
# what the host grants): runc with limits the host allows.
# shellcheck disable=SC2034 # used by the tests that source this file
PODMAN_RUN_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# Exits 77 with the reason when this machine cannot build or run containers; returns otherwise.
require_podman() {
  local tool out
  for tool in podman buildah runc; do
    command -v "$tool" >/dev/null ||
      { echo "SKIP: $tool is not installed (Debian packages: buildah podman runc)"; exit 77; }
  done
  out=$(podman info 2>&1 >/dev/null) || { echo "SKIP: podman cannot start here: $out"; exit 77; }
  # A container needs mount, PID, network, UTS and IPC namespaces (and a user namespace when
  # not root); without them no podman run can work on this machine.
  local ns=(--mount --pid --fork --net --uts --ipc)
  ((EUID == 0)) || ns+=(--user --map-root-user)
  out=$(unshare "${ns[@]}" true 2>&1) ||
    { echo "SKIP: this machine does not let us create namespaces (unshare: $out)"; exit 77; }
}
