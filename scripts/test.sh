#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test (unit, store
# conformance against SQLite and a PostgreSQL server it starts itself, process and cluster tests).
#   scripts/test.sh            release build in build/
#   scripts/test.sh --asan     AddressSanitizer + UBSan build in build-asan/
#   scripts/test.sh --tsan     ThreadSanitizer build in build-tsan/: the scheduler, store,
#                              process and http tests (the threads live there)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
mode=${1:-}
# One throwaway PostgreSQL (loopback, free port, temp dir) shared by the store tests; each test
# still gets a fresh database. Stopped by PID when this script ends, however it ends.
pg_env=$(scripts/pg-server.sh start --owner $$ --env)
pg_dir=$(sed -n 's/^SOLOCRON_PG_DIR=//p' <<<"$pg_env")
trap 'scripts/pg-server.sh stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
export SOLOCRON_TEST_PG_HOSTPORT=127.0.0.1:$(sed -n 's/^SOLOCRON_PG_PORT=//p' <<<"$pg_env")
if [[ $mode == --asan ]]; then
  export BUILD_DIR=build-asan BUILD_TYPE=Debug
  scripts/build.sh -DSOLOCRON_SANITIZE=ON -DSOLOCRON_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Cluster scenarios exercise the same code as the release run; under ASan they only add time.
  # The deploy tests check artifacts (image, manifests, package) the release build makes.
  ctest --test-dir build-asan --output-on-failure -j 2 -LE 'cluster|deploy'
elif [[ $mode == --tsan ]]; then
  export BUILD_DIR=build-tsan BUILD_TYPE=RelWithDebInfo
  export BUILD_TARGETS="solocron_scheduler_tests solocron_store_tests solocron_process_tests solocron_http_tests"
  scripts/build.sh -DSOLOCRON_TSAN=ON -DSOLOCRON_BUILD_BENCH=OFF
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  ctest --test-dir build-tsan --output-on-failure -j 2 -L 'scheduler|store|process|http'
else
  scripts/build.sh
  ctest --test-dir build --output-on-failure -j 2
fi
