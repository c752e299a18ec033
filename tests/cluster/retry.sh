# Retries with three nodes (sourced by test_*_retry.sh after lib.sh and STORE=): a job that
# fails twice, then succeeds, runs attempts 1, 2 (failed) and 3 (succeeded), each once in the
# cluster, each after its backoff (2s, then 4s), each with a new fencing token and
# SOLOCRON_TRIGGER retry, on whichever node claims it; every attempt's outcome, exit code and
# output stay in the history. A second job's node is SIGKILLed during attempt 2: the attempt is
# recorded lost, and (delivery: at_least_once) another node runs attempt 3.
runs="$WORK/runs"
mkdir -p "$runs"
at=$(schedule_in 6)  # one tick, a few seconds after the nodes are up
# Each attempt appends "ATTEMPT TRIGGER NODE FENCE" to its job's file when it starts.
start_line='echo \"$SOLOCRON_ATTEMPT $SOLOCRON_TRIGGER $SOLOCRON_NODE $SOLOCRON_FENCE\" >>'
jobs="  - name: flaky
    schedule: \"$at\"
    retry: {attempts: 3, backoff: 2s, max_backoff: 1m}
    command: [\"/bin/sh\", \"-c\", \"$start_line$runs/flaky; if [ \$SOLOCRON_ATTEMPT -lt 3 ]; then echo attempt \$SOLOCRON_ATTEMPT failing >&2; exit 3; fi; echo done\"]
  - name: killed
    schedule: \"$at\"
    delivery: at_least_once
    retry: {attempts: 3, backoff: 1s}
    command: [\"/bin/sh\", \"-c\", \"$start_line$runs/killed; case \$SOLOCRON_ATTEMPT in 1) exit 1;; 2) sleep 60;; esac\"]"
write_config "$WORK/config.yaml" "$jobs"
for n in a b c; do start_node "$n"; done

attempt_started() { [[ -f $runs/$1 ]] && grep -q "^$2 " "$runs/$1"; }
wait_until 30 attempt_started killed 2 || fail "attempt 2 of killed did not start"
victim=$(awk '$1 == 2 {print $3}' "$runs/killed")
log "attempt 2 of killed runs on $victim: SIGKILL"
kill_node "$victim" KILL
wait_until 40 attempt_started killed 3 || fail "attempt 3 of killed did not start after its node died"
wait_until 30 attempt_started flaky 3 || fail "attempt 3 of flaky did not start"
sleep 2
survivors=()
for n in a b c; do [[ $n != "$victim" ]] && survivors+=("$n"); done
stop_nodes "${survivors[@]}"
"$SOLOCRON" history --store "$STORE" --limit 1000 --json >"$WORK/history.json"
"$SOLOCRON" history flaky --store "$STORE" >"$WORK/history.txt"
grep -q "(earlier attempt)" "$WORK/history.txt" || fail "the text history does not show earlier attempts: $(cat "$WORK/history.txt")"

python3 - "$WORK/history.json" "$runs" "$victim" <<'PY' || fail "retries did not behave as promised"
import datetime, json, sys
records = {r["job"]: r for r in json.load(open(sys.argv[1]))}
runs, victim = sys.argv[2], sys.argv[3]
ms = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000
def started(job):
    lines = [l.split() for l in open(f"{runs}/{job}")]
    attempts = [int(l[0]) for l in lines]
    assert attempts == sorted(set(attempts)), f"{job}: an attempt started twice or out of order: {lines}"
    return lines

flaky = records["flaky"]
assert flaky["state"] == "succeeded" and flaky["attempt"] == 3 and flaky["trigger"] == "retry", flaky
earlier = flaky["earlier_attempts"]
assert [(a["attempt"], a["state"], a["exit_code"]) for a in earlier] == [(1, "failed", 3), (2, "failed", 3)], earlier
for a in earlier:
    assert f"attempt {a['attempt']} failing" in a["output_tail"], a
assert earlier[0]["trigger"] == "schedule" and earlier[1]["trigger"] == "retry", earlier
fences = [a["fence"] for a in earlier] + [flaky["fence"]]
assert fences == sorted(set(fences)), f"fences do not grow: {fences}"
# Backoff: 2s after attempt 1, then 4s after attempt 2 (store times).
attempts = earlier + [flaky]
for n, want in ((1, 2000), (2, 4000)):
    gap = ms(attempts[n]["started_at"]) - ms(attempts[n - 1]["finished_at"])
    assert gap >= want, f"attempt {n + 1} started {gap:.0f}ms after attempt {n} ended, backoff is {want}ms"
lines = started("flaky")
assert [(int(l[0]), l[1]) for l in lines] == [(1, "schedule"), (2, "retry"), (3, "retry")], lines
assert [int(l[3]) for l in lines] == fences, (lines, fences)

killed = records["killed"]
assert killed["state"] == "succeeded" and killed["attempt"] == 3, killed
assert killed["node"] != victim, killed
states = [(a["attempt"], a["state"]) for a in killed["earlier_attempts"]]
assert states == [(1, "failed"), (2, "lost")], states
assert killed["earlier_attempts"][1]["node"] == victim, killed
lines = started("killed")
assert [int(l[0]) for l in lines] == [1, 2, 3], lines
print("flaky: attempts 1, 2 failed, 3 succeeded, backoff held, fences", fences,
      "on nodes", [l[2] for l in started("flaky")], "; killed: attempt 2 lost with", victim,
      ", attempt 3 succeeded on", killed["node"])
PY
log "PASS"
