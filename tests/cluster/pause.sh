# `solocron pause` / `resume` with three nodes (sourced by test_*_pause.sh after lib.sh and
# STORE=): a pause holds on every node, across a node's restart, with no tick run anywhere from
# its first second; the resume records the span once with its tick count, and the schedule goes
# on without running the paused ticks. A job the file says is `paused: true` starts paused; once
# resumed, the store's state wins over the file (a reload does not pause it again).
runs="$WORK/runs"
mkdir -p "$runs"
record() { echo "command: [\"/bin/sh\", \"-c\", \"echo \\\"\$SOLOCRON_NODE \$SOLOCRON_SCHEDULED_AT\\\" >>$runs/$1\"]"; }
jobs="  - name: tick
    schedule: \"* * * * * *\"
    $(record tick)
  - name: held
    schedule: \"* * * * * *\"
    paused: true
    $(record held)"
write_config "$WORK/config.yaml" "$jobs"
for n in a b c; do start_node "$n"; done
count() { [[ -f $runs/$1 ]] && wc -l <"$runs/$1" || echo 0; }
ran() { [[ $(count "$1") -ge $2 ]]; }
wait_until 20 ran tick 3 || fail "tick does not run"
field() {
  "$SOLOCRON" jobs --store "$STORE" --json | python3 -c "import json,sys; j={x['job']: x for x in json.load(sys.stdin)}.get('$1'); print($2)"
}
field_is() { [[ $(field "$1" "$2") == "$3" ]]; }
wait_until 20 field_is held "j and j['paused'] and len(j['nodes'])" 3 || fail "held is not published paused by a, b and c"

"$SOLOCRON" pause tick --store "$STORE" --by ops-test --note "disk full" | tee "$WORK/pause.out"
paused_at=$(sed -n 's/.*no tick from \([^ ]*\) runs.*/\1/p' "$WORK/pause.out")
[[ -n $paused_at ]] || fail "pause did not say from when: $(cat "$WORK/pause.out")"
"$SOLOCRON" pause tick --store "$STORE" | grep -q "is paused already" || fail "a second pause is not told it is paused already"
wait_until 20 field_is tick "j['paused']" True || fail "tick is not published paused"
# A node restarted during the pause comes back paused, though its file says nothing of it.
stop_node c
start_node c
sleep 6
"$SOLOCRON" resume tick --store "$STORE" --by ops-test | tee "$WORK/resume.out"
grep -qE "^resumed tick; paused from $paused_at to [0-9TZ:-]+: [0-9]+ ticks not run \(paused by ops-test: disk full; resumed by ops-test\)" \
  "$WORK/resume.out" || fail "resume did not record the span: $(cat "$WORK/resume.out")"
"$SOLOCRON" resume tick --store "$STORE" | grep -q "is not paused" || fail "a second resume is not told it is not paused"
resume_mark=$(count tick)
wait_until 20 ran tick $((resume_mark + 3)) || fail "tick does not run again after the resume"

# held: paused by its file, resumed from the store; a reload of the same file keeps it running.
[[ $(count held) -eq 0 ]] || fail "held ran although its file says paused: true"
"$SOLOCRON" resume held --store "$STORE" --by ops-test >/dev/null
wait_until 20 ran held 2 || fail "held does not run after its resume"
for n in a b c; do kill -HUP "${NODE_PID[$n]}"; done
sleep 3
held_mark=$(count held)
sleep 3
[[ $(count held) -gt $held_mark ]] || fail "held stopped after a reload: the file's paused: true won over the store"
sleep 1
stop_nodes a b c
"$SOLOCRON" history tick --store "$STORE" --json --limit 100000 >"$WORK/tick.json"

python3 - "$WORK/tick.json" "$runs/tick" "$paused_at" <<'PY' || fail "the pause did not hold as promised"
import collections, datetime, json, re, sys
records = json.load(open(sys.argv[1]))
runs = [l.split() for l in open(sys.argv[2])]
paused_at = sys.argv[3]
spans = [r for r in records if r["state"] == "paused"]
assert len(spans) == 1, spans
span = spans[0]
m = re.match(r"paused from (\S+) to (\S+): (\d+) ticks not run", span["message"])
assert m and m.group(1) == paused_at, span
until, ticks = m.group(2), int(m.group(3))
seconds = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
# A per-second job: one tick a second of the span, the record keyed by the last.
assert ticks == seconds(until) - seconds(paused_at) + 1, (ticks, paused_at, until)
assert span["scheduled_at"] == until, span
# No tick of the span ran anywhere, none was recorded but the span, and none is missing after.
inside = [r for r in runs if paused_at <= r[1] <= until]
assert not inside, f"ran while paused: {inside}"
recorded_inside = [r for r in records if paused_at <= r["scheduled_at"] <= until and r["state"] != "paused"]
assert not recorded_inside, recorded_inside
by_instant = collections.Counter(r[1] for r in runs)
dups = {k: v for k, v in by_instant.items() if v > 1}
assert not dups, f"ran twice: {dups}"
assert not [r for r in records if r["state"] == "missed"], "missed records: the resume ran a catch-up"
after = sorted(r[1] for r in runs if r[1] > until)
assert len(after) >= 3, after
# And none lost: every second from the span's end to the last run ran.
want = range(int(seconds(until)) + 1, int(seconds(after[-1])) + 1)
missing = sorted(set(want) - {int(seconds(t)) for t in after})
assert not missing, f"seconds after the resume not run: {missing}"
print(f"paused from {paused_at} to {until}: {ticks} ticks, one `paused` record, none run; "
      f"{len(after)} ticks after the resume, each once; no missed record")
PY
log "PASS"
