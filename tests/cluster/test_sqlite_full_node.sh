#!/usr/bin/env bash
# A node with max_concurrent_runs: 1 that is busy with a 20 s run claims nothing while it is
# full: the other node runs every second of a per-second job both have, promptly, and nothing
# is missed or run twice. (Claims are capacity-aware: a full node leaves due work to others
# instead of claiming it and keeping it waiting.)
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
tick="  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(date +%s.%N) >> $WORK/ticks\"]"
write_config "$WORK/config.yaml" "$tick"
# Only a has the long job, due once, a few seconds after the start.
write_config "$WORK/config-a.yaml" "$tick
  - name: long
    schedule: \"$(schedule_in 4)\"
    command: [\"sh\", \"-c\", \"echo start \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/long; sleep 20; echo end \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/long\"]" \
  "max_concurrent_runs: 1"
NODE_CONFIG[a]=$WORK/config-a.yaml
touch "$WORK/ticks" "$WORK/long"
start_node a
start_node b
wait_until 20 grep -q '^start ' "$WORK/long" || fail "a did not start the long job"
BUSY_FROM=$(date +%s.%N)
log "a runs the 20 s job; its only slot is taken"
wait_until 40 grep -q '^end ' "$WORK/long" || fail "the long job did not end"
BUSY_TO=$(date +%s.%N)
log "the long job ended"
sleep 3
stop_nodes a b
history_json >"$WORK/history.json"

# While a is full (with a second of slack either side), b runs every second and a none.
FROM=$(python3 -c "print(int($BUSY_FROM) + 1)")
TO=$(python3 -c "print(int($BUSY_TO) - 1)")
check covered "$WORK/history.json" tick "$FROM" "$TO" a
check quiet "$WORK/history.json" a "$FROM" "$TO" "$WORK/ticks"
# Reported, not asserted tightly (a loaded machine): b's start lateness while a is full.
check late "$WORK/ticks" b --max 3 --min-runs 15 --from "$FROM" --to "$TO"
check ticks "$WORK/history.json" "$WORK/ticks" tick --max-lost 0 --only-succeeded
check runs "$WORK/history.json" "$WORK/long" long --min 1
log "PASS"
