#!/usr/bin/env bash
# Three nodes share a SQLite file; the file (with its -wal and -shm) is deleted and one node is
# restarted, which creates a new store. The two old nodes must notice (store_changed), report
# not ready and claim nothing more, so no second runs twice, once in the deleted file and once
# in the new one.
source "$(dirname "$0")/lib.sh"
DB=$WORK/state.db
STORE="sqlite:$DB"
write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(date +%s.%N) >> $WORK/ticks\"]"
touch "$WORK/ticks"
declare -A PORT
for n in a b c; do
  NODE_ARGS[$n]="--http 127.0.0.1:0"
  start_node $n
done
for n in a b c; do
  PORT[$n]=$(http_port $n)
  poll_ready $n "${PORT[$n]}"
done
wait_until 20 grep -q . "$WORK/ticks" || fail "no tick within 20s"
sleep 3
for n in a b; do [[ $(readyz "${PORT[$n]}") == 200 ]] || fail "$n not ready before the deletion"; done

rm -f "$DB" "$DB-wal" "$DB-shm"
DELETED_AT=$(date +%s.%N)
log "deleted $DB and its -wal and -shm"
stop_node c
start_node c  # creates a new, empty store at the same path
for n in a b; do
  wait_until 10 grep -q '"event":"store_changed"' "$WORK/$n.log" || fail "$n did not notice the deletion"
done
log "a and b logged store_changed"
wait_until 20 bash -c "grep -q ' c ' <(awk -v t=$DELETED_AT '\$4 > t' '$WORK/ticks')" ||
  fail "the restarted c ran nothing on the new store"
sleep 8
END_AT=$(date +%s.%N)
stop_nodes a b c
history_json >"$WORK/history.json"  # the new store's

# heartbeat is 500ms: two heartbeats after the deletion the old nodes know, and stop.
check once "$WORK/ticks" --quiet-after "$(python3 -c "print($DELETED_AT + 1.0)")" a b
for n in a b; do
  changed=$(grep -m1 '"event":"store_changed"' "$WORK/$n.log" | python3 -c '
import json, sys
from datetime import datetime
print(datetime.fromisoformat(json.load(sys.stdin)["ts"].replace("Z", "+00:00")).timestamp())')
  log "$n logged store_changed $(python3 -c "print(f'{$changed - $DELETED_AT:.2f}')")s after the deletion"
  check ready "$WORK/$n.ready" "$(python3 -c "print($changed + 0.5)")" "$END_AT" --not
  check log "$WORK/$n.log" --require store_changed=1
done
check ticks "$WORK/history.json" "$WORK/ticks" tick --only-succeeded
log "PASS"
