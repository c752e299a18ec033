#!/usr/bin/env bash
# A lone node whose wall clock steps an hour forward and back again (libfaketime, as NTP or a
# VM resume would) fires every second on time by the store's clock (SQLite: the host kernel's
# clock, which libfaketime does not move): every second has exactly one record, succeeded,
# none ran twice, none early, and the node stayed ready while it reported its offset.
source "$(dirname "$0")/lib.sh"
FAKE_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
[[ -f $FAKE_LIB ]] || fail "libfaketime is not installed ($FAKE_LIB)"
STORE="sqlite:$WORK/state.db"
# The job reads the real time: libfaketime is removed from its environment first.
write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(env -u LD_PRELOAD date +%s.%N) >> $WORK/ticks\"]"
touch "$WORK/ticks"
OFFSET=$WORK/offset
echo "+0" >"$OFFSET"
NODE_ARGS[lone]="--http 127.0.0.1:0"
# GCC 12's timed waits on steady_clock hang under libfaketime unless monotonic time is real.
start_node lone LD_PRELOAD=$FAKE_LIB FAKETIME_TIMESTAMP_FILE=$OFFSET FAKETIME_NO_CACHE=1 \
  DONT_FAKE_MONOTONIC=1
port=$(http_port lone)
poll_ready lone "$port"
wait_until 20 grep -q . "$WORK/ticks" || fail "no tick within 20s"
wait_until 20 grep -q ' 200$' "$WORK/lone.ready" || fail "lone never became ready"
READY_FROM=$(date +%s.%N)
sleep 10

echo "+1h" >"$OFFSET"
STEP_AT=$(date +%s)
log "stepped lone's wall clock forward by 1h"
sleep 10
echo "+0" >"$OFFSET"
BACK_AT=$(date +%s)
log "stepped lone's wall clock back by 1h"
sleep 10
READY_TO=$(date +%s.%N)
stop_node lone
history_json >"$WORK/history.json"

# From the first whole second the node was ready to the last before the SIGTERM.
check ticks "$WORK/history.json" "$WORK/ticks" tick --max-lost 0 --only-succeeded \
  --span "$((${READY_FROM%.*} + 1))" "$((${READY_TO%.*} - 1))"
check not-early "$WORK/ticks"
python3 - "$WORK/history.json" "$STEP_AT" "$BACK_AT" <<'PY'
import json, sys
from datetime import datetime
recs, step, back = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
t = lambda r: datetime.fromisoformat(r["scheduled_at"].replace("Z", "+00:00")).timestamp()
ahead = [r for r in recs if step + 1 <= t(r) <= back - 1]
after = [r for r in recs if t(r) >= back + 1]
if len(ahead) < 7 or len(after) < 7:
    sys.exit(f"FAIL: {len(ahead)} runs while the clock was 1h ahead, {len(after)} after it came back")
print(f"{len(ahead)} seconds ran while lone's clock was 1h ahead, {len(after)} after it stepped back")
PY
check ready "$WORK/lone.ready" "$READY_FROM" "$READY_TO"
check log "$WORK/lone.log" --require clock_skew --forbid lease_lost --forbid missed
log "PASS"
