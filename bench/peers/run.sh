#!/usr/bin/env bash
# Side by side: solocron against robfig/cron v3 (Go), croner (JavaScript) and croniter (Python)
# on the same expressions (cases.txt) and the same chained next loop from the same start
# (2026-01-01T00:00:00Z, t = next(t)). Prints one Markdown table of median ns per next.
# Usage: bench/peers/run.sh [BUILD_DIR]     (default: build; bench_cron is built if needed)
# Needs Debian golang-go, golang-github-robfig-cron-dev, python3-croniter, nodejs, npm
# (scripts/install-deps.sh bench) and the npm registry for croner.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/peers
build=${1:-$root/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Install the peers only when one is missing (a NodeSource nodejs ships its own npm, which the
# Debian npm package would conflict with).
if ! command -v go >/dev/null || ! command -v node >/dev/null || ! command -v npm >/dev/null ||
  [[ ! -d /usr/share/gocode/src/github.com/robfig/cron ]] || ! /usr/bin/python3 -c 'import croniter' 2>/dev/null; then
  "$root/scripts/install-deps.sh" bench
fi
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target bench_cron -j2 >/dev/null
grep -v '^#' "$here/cases.txt" >"$tmp/cases"

echo "solocron..." >&2
"$build/bin/bench_cron" --benchmark_filter='^next/' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$tmp/solocron.json" 2>/dev/null
/usr/bin/python3 - "$tmp/solocron.json" >"$tmp/solocron" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        print(b["run_name"].split("/", 1)[1], f'{b["real_time"]:.1f}')
PY

echo "robfig/cron..." >&2
mkdir -p "$tmp/go/src/robfigbench"
cp "$here/robfig_bench.go" "$tmp/go/src/robfigbench/main.go"
(cd "$tmp/go/src/robfigbench" && GOPATH="$tmp/go:/usr/share/gocode" GO111MODULE=off GOFLAGS= \
  GOCACHE="$tmp/gocache" go build -o "$tmp/robfig_bench" .)
"$tmp/robfig_bench" <"$tmp/cases" >"$tmp/robfig"

echo "croner..." >&2
(cd "$tmp" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund croner@9 >/dev/null)
cp "$here/croner_bench.mjs" "$tmp/"
while IFS= read -r line; do
  TZ=${line##*|} node "$tmp/croner_bench.mjs" <<<"$line"
done <"$tmp/cases" >"$tmp/croner"
croner_version=$(node -p 'require(process.argv[1]).version' "$tmp/node_modules/croner/package.json")

echo "croniter..." >&2
/usr/bin/python3 "$here/croniter_bench.py" <"$tmp/cases" >"$tmp/croniter"

/usr/bin/python3 - "$tmp" "$croner_version" <<'PY'
import sys
tmp, croner_version = sys.argv[1], sys.argv[2]
def load(name):
    return dict(line.split() for line in open(f"{tmp}/{name}") if line.strip())
ours, robfig, croner, croniter = (load(n) for n in ("solocron", "robfig", "croner", "croniter"))
def ns(v):
    if v in (None, "n/a"): return "n/a"
    v = float(v)
    return f"{v:.0f} ns" if v < 10000 else f"{v / 1000:.1f} µs"
def ratio(peer, mine):
    return "" if peer in (None, "n/a") else f" ({float(peer) / float(mine):.0f}×)"
print(f"| expression | zone | solocron | robfig/cron v3 | croner {croner_version} | croniter |")
print("|---|---|---:|---:|---:|---:|")
for line in open(f"{tmp}/cases"):
    name, expr, zone = line.rstrip("\n").split("|")
    m = ours[name]
    print(f"| `{expr}` | {zone} | {ns(m)} | {ns(robfig.get(name))}{ratio(robfig.get(name), m)} "
          f"| {ns(croner.get(name))}{ratio(croner.get(name), m)} | {ns(croniter.get(name))}{ratio(croniter.get(name), m)} |")
PY
