#!/usr/bin/env bash
# Builds the Debian package: build/solocron_VERSION_amd64.deb, and prints its path.
# Usage: scripts/package.sh [BUILD_DIR]   (default build/; configured here if it is not yet)
# Builds only what the package holds (the solocron binary, its man page and changelog), then
# runs cpack for the runtime components; the tests, the benchmarks and the development files
# (headers, static libraries) stay out. Needs help2man, gzip and dpkg-dev (dpkg-shlibdeps).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(realpath -m "${1:-build}")

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSOLOCRON_BUILD_TESTS=OFF -DSOLOCRON_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" --target solocron_cli solocron_package_files >&2
# cpack writes its progress to stdout: that goes to stderr, the package's path alone to stdout.
(cd "$build_dir" && cpack -G DEB --config CPackConfig.cmake) >&2
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake")
deb="$build_dir/solocron_${version}_$(dpkg --print-architecture).deb"
[[ -f $deb ]] || { echo "package.sh: cpack made no $deb" >&2; exit 1; }
echo "$deb"
