#!/usr/bin/env bash
# The Debian package, for real on this machine: build it (scripts/package.sh), lint it, check
# its file list, install it, use it, reinstall it over an edited conffile, purge it, and check
# that the purge left nothing behind.
# Usage: tests/deploy/test_package.sh BUILD_DIR VERSION   (VERSION: CMake's PROJECT_VERSION)
# Needs root and dpkg (else it exits 77, a skip), lintian, dpkg-dev, help2man, systemd (for
# systemd-analyze) and man-db. It refuses (77) to run where solocron is installed already or a
# user solocron exists: the purge at its end would remove them.
set -euo pipefail
build_dir=${1:?usage: test_package.sh BUILD_DIR VERSION}
version=${2:?usage: test_package.sh BUILD_DIR VERSION}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/package_checks.sh"

skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "installing a package needs root"
command -v dpkg >/dev/null || skip "dpkg is missing: not a Debian system"
if dpkg-query -W -f='${Status}' solocron 2>/dev/null | grep -qv '^unknown ok not-installed$'; then
  skip "a solocron package is on this machine already ($(dpkg-query -W -f='${Status}' solocron)): not touching it"
fi
getent passwd solocron >/dev/null && skip "a user solocron exists already: the purge would delete it"
getent group solocron >/dev/null && skip "a group solocron exists already: the purge would delete it"

work=$(mktemp -d /tmp/solocron-package-test.XXXXXX)
chmod 755 "$work"  # the node runs as solocron in a directory below it
installed=0
node_pid=""
cleanup() {
  [[ -n $node_pid ]] && kill -KILL "$node_pid" 2>/dev/null || true
  # Only a package this test installed: the check above refused a pre-existing one.
  [[ $installed -eq 1 ]] && dpkg --purge solocron </dev/null >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step "build"
deb=$(bash "$here/../../scripts/package.sh" "$build_dir" 2>"$work/package.log") ||
  { cat "$work/package.log"; fail "scripts/package.sh failed"; }
[[ $(basename "$deb") == "solocron_${version}_$(dpkg --print-architecture).deb" ]] ||
  fail "package.sh made $deb, not solocron_${version}_ARCH.deb"
echo "$deb"

step "lintian"
check_lintian "$deb"
step "contents"
check_file_list "$deb"
check_control "$deb" "$version"
check_man_page "$deb" "$work/extracted"

step "install"
snapshot >"$work/before"
installed=1
dpkg -i "$deb" </dev/null
check_installed "$version"
check_unit
check_node_runs "$work/node"

step "reinstall over an edited conffile"
echo "# edited by test_package.sh" >>/etc/solocron/jobs.yaml
uid=$(id -u solocron)
dpkg -i "$deb" </dev/null
grep -q '^# edited by test_package.sh$' /etc/solocron/jobs.yaml || fail "the reinstall replaced the edited conffile"
[[ $(id -u solocron) == "$uid" ]] || fail "the reinstall changed the user's uid"
echo "conffile kept, user unchanged"

step "purge"
dpkg --purge solocron </dev/null
installed=0
check_purged "$work/before"
echo "PASS"
