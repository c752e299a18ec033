#!/usr/bin/env bash
# Node A's PostgreSQL sessions stall (its backend processes are SIGSTOPped, and its role may
# not log in meanwhile, so it cannot simply reconnect) for 12 s, four times node_ttl. A must
# fence itself (lease_lost); the statements it had sent run when the backends resume, after its
# lease expired in the store, and must not claim anything: no claim by A (history claimed_at,
# store clock) and no run started by A between its lease's expiry and its re-registration. B
# and C run every second meanwhile; nothing runs twice. A also has a job of its own (only-a)
# that nobody else could claim, so a stale claim of A's would show.
# The SQLite variant (the file system frozen under all nodes) is test_sqlite_stalled_store.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
pg() { psql "$STORE" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
pg "CREATE ROLE node_a LOGIN SUPERUSER"
NODE_STORE[a]="${STORE/postgres@/node_a@}&application_name=nodeA"
NODE_STORE[b]="$STORE&application_name=nodeB"
NODE_STORE[c]="$STORE&application_name=nodeC"

tick="  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(date +%s.%N) >> $WORK/ticks\"]"
write_config "$WORK/config.yaml" "$tick"
write_config "$WORK/config-a.yaml" "$tick
  - name: only-a
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(date +%s.%N) >> $WORK/only-a\"]"
NODE_CONFIG[a]=$WORK/config-a.yaml
touch "$WORK/ticks" "$WORK/only-a"
for n in a b c; do start_node $n; done
wait_until 20 grep -q ' a ' "$WORK/only-a" || fail "a ran nothing within 20s"
sleep 4
# Before the stall a must be a healthy member (it claims batches of two jobs every second).
check log "$WORK/a.log" --forbid store_changed --forbid lease_lost

# lease NODE FIELD: a field of NODE's lease as the store sees it (times as epoch seconds).
lease() {
  "$SOLOCRON" nodes --store "$STORE" --json | python3 -c '
import json, sys
from datetime import datetime
node, field = sys.argv[1], sys.argv[2]
for l in json.load(sys.stdin):
    if l["node"] == node:
        v = l[field]
        print(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() if field.endswith("_at") else v)' "$1" "$2"
}
REGISTERED_BEFORE=$(lease a registered_at)

# Stop A's backends while they are idle: a backend stopped inside a statement could hold a row
# lock that B and C then wait for, which would be another scenario.
stalled=""
for try in $(seq 1 50); do
  pids=$(pg "select string_agg(pid::text, ' ') from pg_stat_activity
              where application_name = 'nodeA' and state = 'idle'")
  busy=$(pg "select count(*) from pg_stat_activity where application_name = 'nodeA' and state <> 'idle'")
  if [[ -n $pids && $busy == 0 ]]; then
    pg "ALTER ROLE node_a NOLOGIN"
    kill -STOP $pids
    STOP_AT=$(date +%s.%N)
    CLEANUP_EARLY+=("kill -CONT $pids 2>/dev/null")
    list=${pids// /,}
    after=$(pg "select count(*) from pg_stat_activity where pid in ($list) and state <> 'idle'")
    if [[ $after == 0 ]]; then stalled=$pids; break; fi
    kill -CONT $pids
    pg "ALTER ROLE node_a LOGIN"
  fi
  sleep 0.1
done
[[ -n $stalled ]] || fail "could not catch a's backends idle"
log "stalled a's $(wc -w <<<"$stalled") PostgreSQL backends ($stalled); a may not log in"

a_expired() { [[ $(lease a live) == False ]]; }
wait_until 10 a_expired ||
  fail "a's lease did not expire in the store within 10s of the stall"
EXPIRED_AT=$(lease a expires_at)
wait_until 10 grep -q '"event":"lease_lost"' "$WORK/a.log" || fail "a did not fence itself"
log "a's lease expired in the store at +$(python3 -c "print(f'{$EXPIRED_AT - $STOP_AT:.2f}')")s; a logged lease_lost"
sleep "$(python3 -c "print(max(0.0, $STOP_AT + 12 - $EPOCHREALTIME))")"

# What a had sent runs now, on the resumed backends, with its lease long expired.
kill -CONT $stalled
CONT_AT=$(date +%s.%N)
log "resumed a's backends"
sleep 1
pg "ALTER ROLE node_a LOGIN"
a_back() { [[ $(lease a live) == True && $(lease a registered_at) != "$REGISTERED_BEFORE" ]]; }
wait_until 20 a_back ||
  fail "a did not register again within 20s"
REREGISTERED_AT=$(lease a registered_at)
log "a registered again $(python3 -c "print(f'{$REREGISTERED_AT - $CONT_AT:.2f}')")s after its backends resumed"
sleep 5
stop_nodes a b c
history_json >"$WORK/history.json"

check quiet "$WORK/history.json" a "$EXPIRED_AT" "$REREGISTERED_AT" "$WORK/ticks" "$WORK/only-a"
check covered "$WORK/history.json" tick "$(python3 -c "print(int($STOP_AT) + 1)")" "${CONT_AT%.*}" a
# a's runs in flight when it stalled (finished, their outcome not stored) are lost.
check ticks "$WORK/history.json" "$WORK/ticks" tick --max-lost 2
check ticks "$WORK/history.json" "$WORK/only-a" only-a --max-lost 2 --outage "${STOP_AT%.*}" "${REREGISTERED_AT%.*}"
check log "$WORK/a.log" --require lease_lost --require lease_acquired=2
check log "$WORK/b.log" --forbid lease_lost
check log "$WORK/c.log" --forbid lease_lost
log "PASS"
