# `solocron backfill` with three nodes (sourced by test_*_backfill.sh after lib.sh and STORE=):
# after an outage of the whole cluster, a per-second job with `misfire: skip` has its outage
# recorded `missed`; a dry run lists those ticks and changes nothing; a backfill bounded by
# --max runs the oldest ones; two backfills given at once run the rest, each tick once in the
# cluster, one at a time, oldest first, with SOLOCRON_TRIGGER backfill; a further backfill runs
# nothing. A job run_on: every_node, an unknown job and a reversed range are refused.
runs="$WORK/runs"
mkdir -p "$runs"
jobs="  - name: tick
    schedule: \"* * * * * *\"
    misfire: skip
    command: [\"/bin/sh\", \"-c\", \"echo \\\"\$SOLOCRON_SCHEDULED_AT \$SOLOCRON_TRIGGER \$SOLOCRON_NODE\\\" >>$runs/tick\"]
  - name: everywhere
    schedule: \"0 0 1 1 *\"
    run_on: every_node
    command: [\"true\"]"
write_config "$WORK/config.yaml" "$jobs"
for n in a b c; do start_node "$n"; done
count() { [[ -f $runs/tick ]] && wc -l <"$runs/tick" || echo 0; }
ran() { [[ $(count) -ge $1 ]]; }
wait_until 20 ran 3 || fail "tick does not run"
stop_nodes a b c
outage_from=$(date -u -d "@$(($(date +%s) + 1))" +%Y-%m-%dT%H:%M:%SZ)
sleep 8
outage_to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for n in a b c; do start_node "$n"; done
mark=$(count)
wait_until 20 ran $((mark + 3)) || fail "tick does not run after the outage"
backfill() { "$SOLOCRON" backfill tick --store "$STORE" --from "$outage_from" --to "$outage_to" --by ops-test "$@"; }
missed_count() {
  history_json | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin) if r['job'] == 'tick' and r['state'] == 'missed' and '$outage_from' <= r['scheduled_at'] <= '$outage_to'))"
}
wait_until 20 test "$(missed_count)" -ge 5 || fail "the outage is not recorded missed: $(missed_count) records"

set +e
"$SOLOCRON" backfill nosuch --store "$STORE" --from "$outage_from" --to "$outage_to" 2>"$WORK/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q 'no live node has a job named "nosuch"' "$WORK/err" || fail "unknown job: status $rc, $(cat "$WORK/err")"
"$SOLOCRON" backfill everywhere --store "$STORE" --from "$outage_from" --to "$outage_to" 2>"$WORK/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q "run_on: every_node" "$WORK/err" || fail "every_node job: status $rc, $(cat "$WORK/err")"
"$SOLOCRON" backfill tick --store "$STORE" --from "$outage_to" --to "$outage_from" 2>"$WORK/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--to is before --from" "$WORK/err" || fail "reversed range: status $rc, $(cat "$WORK/err")"
set -e

backfill --dry-run --json >"$WORK/dry.json"
planned=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['instants']))" "$WORK/dry.json")
[[ $planned -ge 5 ]] || fail "the dry run plans $planned ticks: $(cat "$WORK/dry.json")"
sleep 3
[[ $(grep -c ' backfill ' "$runs/tick" || true) -eq 0 ]] || fail "the dry run ran something"
backfill --max 2 | tee "$WORK/first.out"
grep -q "not included (beyond --max 2): $((planned - 2))" "$WORK/first.out" || fail "--max 2 did not leave the rest"
# The rest, asked twice at once (two operators, two machines): each tick still runs once.
backfill --note "after the outage" >"$WORK/second.out" &
b1=$!
backfill --note "after the outage" >"$WORK/third.out" &
b2=$!
wait "$b1" || fail "a backfill failed: $(cat "$WORK/second.out")"
wait "$b2" || fail "a backfill failed: $(cat "$WORK/third.out")"
backfilled() { [[ $(grep -c ' backfill ' "$runs/tick" || true) -ge $planned ]]; }
wait_until 60 backfilled || fail "only $(grep -c ' backfill ' "$runs/tick") of $planned ticks were backfilled"
sleep 3
backfill | tee "$WORK/fourth.out"
grep -q "nothing to backfill" "$WORK/fourth.out" || fail "a backfill after the backfill still found ticks to run"
sleep 2
stop_nodes a b c
history_json >"$WORK/history.json"

python3 - "$WORK/history.json" "$runs/tick" "$outage_from" "$outage_to" "$planned" <<'PY' || fail "backfill did not behave as promised"
import collections, json, sys
records, lines, lo, hi, planned = json.load(open(sys.argv[1])), [l.split() for l in open(sys.argv[2])], sys.argv[3], sys.argv[4], int(sys.argv[5])
inside = lambda t: lo <= t <= hi
ran = collections.Counter(l[0] for l in lines)
dups = {k: v for k, v in ran.items() if v > 1}
assert not dups, f"ran twice: {dups}"
backfilled = [l for l in lines if l[1] == "backfill"]
assert len(backfilled) == planned, (len(backfilled), planned)
assert all(inside(l[0]) for l in backfilled), backfilled
assert [l[0] for l in backfilled] == sorted(l[0] for l in backfilled), "not run oldest first"
tick = [r for r in records if r["job"] == "tick" and inside(r["scheduled_at"])]
assert not [r for r in tick if r["state"] == "missed"], "missed records left in the range"
for r in tick:
    if r["trigger"] == "backfill":
        assert r["state"] == "succeeded" and r["requested_by"] == "ops-test", r
assert sum(r["trigger"] == "backfill" for r in tick) == planned, tick
print(f"{planned} ticks of the outage backfilled, each once, oldest first, on nodes",
      sorted(collections.Counter(l[2] for l in backfilled).items()))
PY
log "PASS"
