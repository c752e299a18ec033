#!/usr/bin/env bash
# Two nodes on SQLite keep only 5 history records per job; one node's clock runs 30 s slow
# (libfaketime). Retention must not re-open an occurrence (a pruned second is never claimed
# again), and the slow node fires by the store's clock, not 30 s late: no second runs twice,
# every second runs, and the slow node runs its share on time.
source "$(dirname "$0")/lib.sh"
FAKE_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
[[ -f $FAKE_LIB ]] || fail "libfaketime is not installed ($FAKE_LIB)"
STORE="sqlite:$WORK/state.db"
# The job reads the real time: libfaketime is removed from its environment first.
write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(env -u LD_PRELOAD -u FAKETIME date +%s.%N) >> $WORK/ticks\"]" \
  "history_keep_last: 5"
touch "$WORK/ticks"
start_node honest
# GCC 12's timed waits on steady_clock hang under libfaketime unless monotonic time is real.
start_node slow LD_PRELOAD=$FAKE_LIB FAKETIME=-30s DONT_FAKE_MONOTONIC=1
wait_until 20 grep -q . "$WORK/ticks" || fail "no tick within 20s"
FROM=$(date +%s)
sleep 20
TO=$(date +%s)
stop_nodes honest slow
history_json >"$WORK/history.json"

python3 - "$WORK/history.json" <<'PY'
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["job"] == "tick"]
keys = [r["scheduled_at"] for r in recs]
if len(keys) != len(set(keys)):
    sys.exit(f"FAIL: duplicate history records: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
if len(recs) > 5 + 2:  # the last prune may be a heartbeat behind
    sys.exit(f"FAIL: {len(recs)} records kept, history_keep_last is 5")
print(f"history keeps {len(recs)} records of tick (history_keep_last 5), no key twice")
PY
check late "$WORK/ticks" honest --from "$FROM" --to "$TO"
# Rendezvous placement gives each node about half of the seconds; 4 of 20 is a generous floor.
# "On time" is loose (a loaded machine): well under the 30 s the slow clock is behind.
check late "$WORK/ticks" slow --max 2 --min-runs 4 --from "$FROM" --to "$TO"
check once "$WORK/ticks" --every
check log "$WORK/slow.log" --require clock_skew --forbid lease_lost
log "PASS"
