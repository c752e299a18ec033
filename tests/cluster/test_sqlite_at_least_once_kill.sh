#!/usr/bin/env bash
# An at_least_once job (starting_deadline 1m) runs 5 s on node a; a is SIGKILLed in the middle.
# Its guardian kills the run's process group; once a's lease has expired, b finds the run
# lost and claims it again: attempt 2 with a new fence, which succeeds. No third attempt.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
write_config "$WORK/config.yaml" "  - name: report
    schedule: \"$(schedule_in 4)\"
    delivery: at_least_once
    starting_deadline: 1m
    command: [\"sh\", \"-c\", \"echo \$\$ > $WORK/pid.\$SOLOCRON_ATTEMPT; echo start \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$SOLOCRON_ATTEMPT >> $WORK/runs; sleep 5; echo end \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$SOLOCRON_ATTEMPT >> $WORK/runs\"]"
touch "$WORK/runs"
start_node a  # alone, so that a claims the occurrence
wait_until 20 grep -q '^start .* a [0-9]* 1$' "$WORK/runs" || fail "a did not start attempt 1"
start_node b
wait_until 10 grep -q '"event":"lease_acquired"' "$WORK/b.log" || fail "b did not register"
sleep 1
pgid=$(cat "$WORK/pid.1")
CLEANUP_LATE+=("kill -KILL -- -$pgid 2>/dev/null")
members=$(group_members "$pgid" | tr '\n' ' ')
log "attempt 1 runs on a: process group $pgid [$members]"
[[ $(wc -w <<<"$members") -ge 2 ]] || fail "expected the shell and its sleep in group $pgid"
kill_node a KILL
all_gone() {
  local p
  for p in $members; do proc_gone "$p" || return 1; done
}
wait_until 2 all_gone || fail "attempt 1's processes [$members] outlived a by more than 2s"
log "attempt 1's processes are gone"

wait_until 20 grep -q '^start .* b [0-9]* 2$' "$WORK/runs" || fail "b did not start attempt 2 within 20s"
log "b started attempt 2"
wait_until 15 grep -q '^end .* b [0-9]* 2$' "$WORK/runs" || fail "attempt 2 did not end"
sleep 4  # room for a (wrong) third attempt
stop_node b
history_json >"$WORK/history.json"

check attempts "$WORK/history.json" "$WORK/runs" report a b
check log "$WORK/b.log" --require lost=1 --require reclaimed=1
log "PASS"
