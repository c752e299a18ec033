# Notifications with three nodes (sourced by test_*_hooks.sh after lib.sh and STORE=): each
# event is notified once across the cluster, by the node whose write recorded it. A failing
# job's on_failure webhook (whose server refuses each first attempt) is delivered once per
# failed occurrence after one retry; on_success runs a command once per success; the node's
# default on_missed webhook is called once per missed occurrence (all nodes stopped 2 s: a job
# with a 1 s starting_deadline misses those seconds).
mkdir -p "$WORK/sink"
python3 "$ROOT/tests/cluster/http_sink.py" "$WORK/http.port" "$WORK/sink" &
HELPER_PIDS+=($!)
wait_until 20 test -s "$WORK/http.port" || fail "the webhook server did not start"
HTTP=$(cat "$WORK/http.port")
jobs="  - name: fails
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo broken; exit 3\"]
    on_failure: {url: \"http://127.0.0.1:$HTTP/hook-flaky/failure\", headers: {X-Token: \"\${HOOK_TOKEN}\"}}
  - name: prompt
    schedule: \"* * * * * *\"
    starting_deadline: 1s
    command: [\"true\"]
  - name: ok
    schedule: \"*/2 * * * * *\"
    command: [\"true\"]
    on_success: {command: [\"sh\", \"-c\", \"echo \$SOLOCRON_EVENT \$SOLOCRON_JOB \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_STATE >> $WORK/success\"]}"
write_config "$WORK/config.yaml" "$jobs" "hooks: {on_missed: {url: \"http://127.0.0.1:$HTTP/hook/missed\"}}"
touch "$WORK/success"
for n in a b c; do start_node "$n" HOOK_TOKEN=hook-secret-4; done
wait_until 30 test -s "$WORK/sink/hook_failure.ticks" || fail "no on_failure webhook was delivered"
sleep 4
log "all nodes stopped for 2 s: the seconds they miss are recorded missed, and notified once"
for n in a b c; do kill -STOP "${NODE_PID[$n]}"; done
sleep 2
for n in a b c; do kill -CONT "${NODE_PID[$n]}"; done
sleep 5
stop_nodes a b c
history_json >"$WORK/history.json"

python3 - "$WORK/history.json" "$WORK/sink" "$WORK/success" <<'PY' || fail "the notifications do not match the history"
import json, sys, collections
records = json.load(open(sys.argv[1]))
sink = sys.argv[2]
def lines(path):
    try:
        return [l.split() for l in open(path)]
    except FileNotFoundError:
        return []
def once(rows, what):
    c = collections.Counter((r[6], r[0]) for r in rows)
    twice = [k for k, n in c.items() if n > 1]
    assert not twice, f"{what} notified twice: {twice[:5]}"
    return set(c)

failed = {("fails", r["scheduled_at"]) for r in records if r["job"] == "fails" and r["state"] in ("failed", "lost")}
delivered = once(lines(sink + "/hook_failure.ticks"), "on_failure")
refused = once(lines(sink + "/hook_failure.refused"), "refused on_failure")
assert len(failed) >= 5, f"only {len(failed)} failed occurrences"
assert delivered == failed, f"on_failure for {sorted(delivered ^ failed)[:5]} does not match the failed records"
assert refused == failed, "not every on_failure was retried after the refused first attempt"
for r in lines(sink + "/hook_failure.ticks"):
    assert r[4] == "failure" and r[5] in ("failed", "lost"), r

succeeded = {("ok", r["scheduled_at"]) for r in records if r["job"] == "ok" and r["state"] == "succeeded"}
runs = [l.split() for l in open(sys.argv[3])]
c = collections.Counter(("ok", r[2]) for r in runs)
assert all(n == 1 for n in c.values()), f"on_success ran twice: {[k for k, n in c.items() if n > 1]}"
assert set(c) == succeeded, f"on_success {sorted(set(c) ^ succeeded)[:5]} does not match the succeeded records"
assert all(r[0] == "success" and r[4] == "succeeded" for r in runs), runs[:3]

missed = {(r["job"], r["scheduled_at"]) for r in records if r["state"] == "missed"}
notified = once(lines(sink + "/hook_missed.ticks"), "on_missed")
assert missed, "stopping every node for 2 s missed nothing"
assert notified == missed, f"on_missed {sorted(notified ^ missed)[:5]} does not match the missed records"
print(f"on_failure: {len(failed)} occurrences, each refused once then delivered once; "
      f"on_success: {len(succeeded)} once each; on_missed: {len(missed)} once each")
PY
check log "$WORK/a.log" --require hook_delivered
grep -q '"event":"hook_failed"' "$WORK"/*.log || fail "no hook_failed was logged for the refused attempts"
if grep -l hook-secret-4 "$WORK"/*.log; then fail "a hook's header value reached a log"; fi
log "PASS"
