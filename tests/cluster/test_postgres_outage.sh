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
# Both jobs fire every second and go through the same catch-up pass: where `tick` (skip)
# recorded its latest missed second, `catchup` (run_once) must have run that one instead, and
# recorded the older ones missed. No other catch-up run: no storm.
catch = {r["scheduled_at"]: r for r in recs if r["job"] == "catchup"}
all_missed = sorted((r for r in recs if r["job"] == "tick" and r["state"] == "missed"), key=t)
latest = all_missed[-1]["scheduled_at"]
ran = catch.get(latest)
if not ran or ran["state"] == "missed":
    sys.exit(f"FAIL: run_once did not run the latest missed occurrence {latest}: {ran}")
older = [catch.get(r["scheduled_at"]) for r in all_missed[:-1]]
if any(o is None or o["state"] != "missed" for o in older):
    sys.exit(f"FAIL: run_once ran more than the latest missed occurrence: {older}")
print(f"outage: {len(missed)} ticks recorded missed; run_once caught up {latest} once, "
      f"{len(older)} older ones recorded missed")
PY
log "PASS"
