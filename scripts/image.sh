#!/usr/bin/env bash
# Builds the solocron container image with buildah, offline (FROM scratch: no registry, no network).
#
# Usage: scripts/image.sh [--binary PATH] [--tag REF]
#   --binary PATH  the solocron binary to ship (default build/bin/solocron; built if missing,
#                  only the solocron_cli target)
#   --tag REF      the image reference (default localhost/solocron:VERSION, VERSION from
#                  `BINARY --version`, the CMake project version)
# Stages a root file system in a temporary directory (the stripped binary, the shared libraries
# ldd names, tini, zoneinfo, CA certificates, passwd/group with the solocron user, the copyright
# files of every Debian package whose bytes are copied), builds deploy/container/Containerfile
# on it and prints the image reference as the last line of stdout. What each file is for:
# docs/container.md. Needs the Debian packages buildah, tini, tzdata, ca-certificates, binutils.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$root/build/bin/solocron
tag=

while (($#)); do
  case $1 in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --tag) tag=${2:?--tag needs an image reference}; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image.sh: unknown argument '$1' (usage: scripts/image.sh [--binary PATH] [--tag REF])" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null || { echo "image.sh: $1 not found: install the Debian package $2" >&2; exit 1; }; }
need buildah buildah
need strip binutils
[[ -x /usr/bin/tini-static ]] || { echo "image.sh: /usr/bin/tini-static not found: install the Debian package tini" >&2; exit 1; }
[[ -d /usr/share/zoneinfo/America ]] || { echo "image.sh: /usr/share/zoneinfo missing: install the Debian package tzdata" >&2; exit 1; }
cacerts=/etc/ssl/certs/ca-certificates.crt
[[ -s $cacerts ]] || { echo "image.sh: $cacerts missing: install the Debian package ca-certificates" >&2; exit 1; }

if [[ ! -x $binary && $binary == "$root/build/bin/solocron" ]]; then
  echo "image.sh: $binary missing: building the solocron_cli target" >&2
  BUILD_TARGETS=solocron_cli "$root/scripts/build.sh" >&2
fi
[[ -x $binary ]] || { echo "image.sh: $binary is not an executable" >&2; exit 1; }
version=$("$binary" --version | awk '{print $NF}')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "image.sh: '$binary --version' printed no version" >&2; exit 1; }
tag=${tag:-localhost/solocron:$version}

stage=$(mktemp -d "${TMPDIR:-/tmp}/solocron-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
fs=$stage/rootfs
mkdir -p "$stage/state" "$fs/var/lib" "$fs/usr/bin" "$fs/usr/lib" "$fs/usr/lib64" "$fs/usr/share/doc" "$fs/tmp"
chmod 1777 "$fs/tmp"  # jobs may write there; a tmpfs or emptyDir under --read-only
cp -R "$root/deploy/container/rootfs/." "$fs/"
# Debian 12 is merged-/usr: the loader and ldd name /lib and /lib64, which point into /usr.
ln -s usr/lib "$fs/lib"
ln -s usr/lib64 "$fs/lib64"

packages=(tini tzdata ca-certificates)
# The package owning a file, by the path ldd printed or the file it resolves to.
package_of() {
  local owner
  owner=$(dpkg -S "$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null) ||
    { echo "image.sh: no Debian package owns $1" >&2; return 1; }
  echo "${owner%%:*}"
}

libs=$(ldd "$binary")
if grep -q 'not found' <<<"$libs"; then
  echo "image.sh: $binary needs libraries this machine lacks:"$'\n'"$(grep 'not found' <<<"$libs")" >&2
  exit 1
fi
# The binary's libraries, the dynamic loader among them, each at the path ldd resolved it to.
# glibc 2.36 has nss_files and nss_dns built in: getpwuid and getaddrinfo load no libnss_*.so.
while read -r lib; do
  dest=$fs/${lib/#\/lib/\/usr\/lib}
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
  packages+=("$(package_of "$lib")")
done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$libs")

strip --strip-all -o "$fs/usr/bin/solocron" "$binary"
cp /usr/bin/tini-static "$fs/usr/bin/tini"
# right/ is the leap-second timescale (clocks 27 s off civil time), no schedule's zone; posix/
# is symlinks into the same files. Dropping right/ saves 0.8 MB.
mkdir -p "$fs/usr/share/zoneinfo"
cp -a /usr/share/zoneinfo/. "$fs/usr/share/zoneinfo/"
rm -rf "$fs/usr/share/zoneinfo/right"
mkdir -p "$fs/etc/ssl/certs" "$fs/usr/lib/ssl"
cp -L "$cacerts" "$fs/etc/ssl/certs/"
# OpenSSL's default verify paths (HTTPS actions without http.ca_file), as Debian links them.
ln -s /etc/ssl/certs/ca-certificates.crt "$fs/usr/lib/ssl/cert.pem"
ln -s /etc/ssl/certs "$fs/usr/lib/ssl/certs"

for pkg in $(printf '%s\n' "${packages[@]}" | sort -u); do
  mkdir -p "$fs/usr/share/doc/$pkg"
  cp -L "/usr/share/doc/$pkg/copyright" "$fs/usr/share/doc/$pkg/copyright"
done
# Packages built from one source share a copyright file (krb5, gcc-12): one copy in the layer.
hardlink --content --quiet "$fs"

# buildah's own output goes to stderr: stdout's last line is the image reference.
buildah build --network none --pull=never --squash --quiet \
  ${SOURCE_DATE_EPOCH:+--timestamp "$SOURCE_DATE_EPOCH"} \
  --build-arg "VERSION=$version" --tag "$tag" \
  --file "$root/deploy/container/Containerfile" "$stage" >&2
echo "$tag"
