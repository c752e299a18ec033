# Jitter across the nodes (sourced by test_*_jitter.sh after lib.sh and STORE=): a job every
# 5 s with `jitter: 4s` starts each occurrence 0-4 s after its instant, by delays that differ from instant to instant, once in the cluster; a
# per-second job with a jitter longer than its period stays within its second and still runs
# every second once.
line='echo $SOLOCRON_SCHEDULED_AT $SOLOCRON_NODE $SOLOCRON_FENCE $(date +%s.%N)'
write_config "$WORK/config.yaml" "  - name: spread
    schedule: \"*/5 * * * * *\"
    jitter: 4s
    command: [\"sh\", \"-c\", \"$line >> $WORK/spread\"]
  - name: fast
    schedule: \"* * * * * *\"
    jitter: 10s
    command: [\"sh\", \"-c\", \"$line >> $WORK/fast\"]"
touch "$WORK/spread" "$WORK/fast"
for n in a b c; do start_node "$n"; done
sleep 32
stop_nodes a b c
history_json >"$WORK/history.json"

check ticks "$WORK/history.json" "$WORK/fast" fast --max-lost 0 --only-succeeded
check once "$WORK/spread"
python3 - "$WORK/history.json" "$WORK/spread" "$WORK/fast" <<'PY' || fail "jitter did not delay the runs as configured"
import json, sys
from datetime import datetime
def epoch(t): return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
records = [r for r in json.load(open(sys.argv[1])) if r["job"] == "spread"]
assert len(records) >= 5, f"only {len(records)} occurrences of spread"
assert all(r["state"] == "succeeded" for r in records), records
delays = []
for line in open(sys.argv[2]):
    at, node, fence, started = line.split()
    d = float(started) - epoch(at)
    assert 0 <= d < 5, f"{at} started {d:.2f}s after its instant (jitter 4s)"
    delays.append(d)
spread = max(delays) - min(delays)
assert spread > 1, f"delays {sorted(round(d, 2) for d in delays)} are not spread over the jitter"
for line in open(sys.argv[3]):
    at, node, fence, started = line.split()
    d = float(started) - epoch(at)
    assert 0 <= d < 1.5, f"fast: {at} started {d:.2f}s after its instant (capped by its 1 s period)"
print(f"spread: {len(delays)} runs, delays {sorted(round(d, 2) for d in delays)}")
PY
log "PASS"
