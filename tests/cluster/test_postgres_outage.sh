#!/usr/bin/env bash
# PostgreSQL stops for 5 s and starts again: nodes run nothing `once` while it is gone
# (consistency before availability), recover on their own, record the ticks nobody could
# claim as missed (misfire: skip), and run the latest one once where misfire is run_once.
source "$(dirname "$0")/lib.sh"
start_postgres
write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/ticks\"]
  - name: catchup
    schedule: \"* * * * * *\"
    misfire: run_once
    starting_deadline: 1m
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/catchup\"]"
touch "$WORK/ticks" "$WORK/catchup"

for n in a b c; do start_node $n; done
wait_until 20 grep -q . "$WORK/ticks" || fail "no tick within 20s"
sleep 4

"$ROOT/scripts/pg-server.sh" halt "$PG_DIR"
DOWN_AT=$(date +%s)
log "postgres stopped"
sleep 5
"$ROOT/scripts/pg-server.sh" resume "$PG_DIR"
UP_AT=$(date +%s)
log "postgres started again"

# The nodes must come back by themselves: new ticks after the outage, no restart.
wait_until 30 bash -c "[[ \$(tail -n1 '$WORK/ticks' | cut -c1-19 | xargs -I{} date -d {}Z +%s) -gt $UP_AT ]]" ||
  fail "no tick ran within 30 s after PostgreSQL came back"
sleep 5
for n in a b c; do stop_node $n; done
history_json >"$WORK/history.json"

check ticks "$WORK/history.json" "$WORK/ticks" tick --max-lost 3 --outage "$DOWN_AT" "$UP_AT"
python3 - "$WORK/history.json" "$DOWN_AT" "$UP_AT" <<'PY'
import json, sys
from datetime import datetime
recs, down, up = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
def t(r): return datetime.fromisoformat(r["scheduled_at"].replace("Z", "+00:00")).timestamp()
# Seconds fully inside the outage: nobody can have claimed them.
inside = lambda r: down + 1 <= t(r) <= up - 1
tick = [r for r in recs if r["job"] == "tick" and inside(r)]
missed = [r for r in tick if r["state"] == "missed"]
if not missed:
    sys.exit(f"FAIL: no tick inside the outage was recorded missed: {[(r['scheduled_at'], r['state']) for r in tick]}")
ran = [r for r in tick if r["state"] != "missed"]
if ran:
    print("note: claimed inside the outage window (server not yet down/up):", [r["scheduled_at"] for r in ran])
# run_once after the outage: of the occurrences from the outage up to the first on-time tick
# after it (R), at most one ran late, the latest one, and the others are recorded missed. (If
# the nodes re-registered within the second R, R itself is the latest missed occurrence.)
catch = {r["scheduled_at"]: r for r in recs if r["job"] == "catchup"}
first_back = min(t(r) for r in recs if r["job"] == "tick" and r["state"] == "succeeded" and t(r) > down)
window = sorted((r for r in catch.values() if down <= t(r) < first_back), key=t)
ran = [r for r in window if r["state"] != "missed"]
if len(ran) > 1:
    sys.exit(f"FAIL: run_once ran {len(ran)} missed occurrences: {[r['scheduled_at'] for r in ran]}")
if ran and ran[0] is not window[-1]:
    sys.exit(f"FAIL: run_once ran {ran[0]['scheduled_at']}, not the latest missed {window[-1]['scheduled_at']}")
at_r = [r for r in catch.values() if t(r) == first_back]
if not ran and not (at_r and at_r[0]["state"] != "missed"):
    sys.exit("FAIL: run_once ran nothing for the outage")
caught = ran[0]["scheduled_at"] if ran else at_r[0]["scheduled_at"]
print(f"outage: {len(missed)} ticks recorded missed; run_once caught up {caught} once, "
      f"{len(window) - len(ran)} older ones recorded missed")
PY
log "PASS"
