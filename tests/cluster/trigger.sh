# `solocron trigger` with three nodes (sourced by test_*_trigger.sh after lib.sh and STORE=):
# a run asked for runs once in the cluster, soon, recorded `manual` with who asked and why; two
# requests in a row are two runs; the overlap policy applies to requested runs; a node that does
# not have the job never runs it; an every_node job runs once on each node; --wait exits with
# the outcome. The jobs' schedules never fire during the test: every run here was asked for.
never='0 0 1 1 *'  # once a year, at new year: not during a test
runs="$WORK/runs"
mkdir -p "$runs"
# Each run appends "TRIGGER NODE FENCE" to a file of its job: what ran, where, under which claim.
record() { echo "command: [\"/bin/sh\", \"-c\", \"echo \\\"\$SOLOCRON_TRIGGER \$SOLOCRON_NODE \$SOLOCRON_FENCE\\\" >>$runs/$1\"]"; }
jobs="  - name: report
    schedule: \"$never\"
    $(record report)
  - name: slow
    schedule: \"$never\"
    overlap: forbid
    command: [\"/bin/sh\", \"-c\", \"echo \$SOLOCRON_NODE >>$runs/slow; sleep 4\"]
  - name: rotate
    schedule: \"$never\"
    run_on: every_node
    $(record rotate)
  - name: broken
    schedule: \"$never\"
    command: [\"/bin/sh\", \"-c\", \"echo no disk >&2; exit 3\"]"
write_config "$WORK/config.yaml" "$jobs"
write_config "$WORK/config-a.yaml" "$jobs
  - name: only-a
    schedule: \"$never\"
    $(record only-a)"
NODE_CONFIG[a]=$WORK/config-a.yaml
for n in a b c; do start_node "$n"; done

jobs_of() { "$SOLOCRON" jobs --store "$STORE" --json | python3 -c "import json,sys; print(' '.join(sorted(j['job'] + ':' + ','.join(j['nodes']) for j in json.load(sys.stdin))))"; }
jobs_are() { [[ $(jobs_of 2>/dev/null) == "$1" ]]; }  # for wait_until, which runs it again each time
wait_until 20 jobs_are "broken:a,b,c only-a:a report:a,b,c rotate:a,b,c slow:a,b,c" \
  || fail "the job set is not published: $(jobs_of)"
trigger() { "$SOLOCRON" trigger --store "$STORE" --by ops-test "$@"; }

# An unknown job is refused, and nothing is requested.
set +e
trigger nosuchjob >"$WORK/unknown.out" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "an unknown job: exit $rc, expected 2"
grep -q 'no live node has a job named "nosuchjob"' "$WORK/unknown.out" || fail "unclear refusal: $(cat "$WORK/unknown.out")"

# One run, waited for: exit 0, recorded manual with the asker and the note.
trigger report --note "after the restore" --wait --timeout 60s --json >"$WORK/first.json" \
  || fail "trigger --wait of report did not exit 0: $(cat "$WORK/first.json")"
# Twice in a row: two more runs.
trigger report >/dev/null
trigger report >/dev/null
# Overlap: slow forbids overlap and runs 4 s; a second request while the first runs is skipped.
trigger slow >/dev/null
wait_until 20 test -s "$runs/slow" || fail "slow did not start"
trigger slow --note second >/dev/null
# Only a has only-a: three requests, all on a.
for _ in 1 2 3; do trigger only-a >/dev/null; done
# every_node: each node runs it once.
trigger rotate >/dev/null
# --wait exits 1 when the run fails, and says how.
set +e
trigger broken --wait --timeout 60s >"$WORK/broken.out" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "trigger --wait of a failing job: exit $rc, expected 1"
grep -q 'failed on [abc], exit code 3' "$WORK/broken.out" || fail "the failure is not shown: $(cat "$WORK/broken.out")"

count() { [[ -f $runs/$1 ]] && wc -l <"$runs/$1" || echo 0; }
all_ran() { [[ $(count report) -ge 3 && $(count only-a) -ge 3 && $(count rotate) -ge 3 ]]; }
wait_until 30 all_ran || fail "not every requested run ran: report $(count report), only-a $(count only-a), rotate $(count rotate)"
sleep 5  # a duplicate would show by now: every node sweeps each heartbeat (500 ms)
stop_nodes a b c
"$SOLOCRON" history --store "$STORE" --json --limit 1000 >"$WORK/history.json"
"$SOLOCRON" history --store "$STORE" | tee "$WORK/history.txt"
grep -q '^20[0-9T:-]*Z *report \[manual [0-9]*\] *succeeded' "$WORK/history.txt" || fail "the table does not show manual runs"

python3 - "$WORK/history.json" "$runs" "$WORK/first.json" <<'PY' || fail "the requested runs are not what was asked"
import collections, datetime, json, os, sys
records = json.load(open(sys.argv[1]))
runs = sys.argv[2]
def lines(job): return [l.split() for l in open(os.path.join(runs, job))]
def of(job): return [r for r in records if r["job"] == job]
def parse(t): return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))

first = json.load(open(sys.argv[3]))
assert first["records"][0]["state"] == "succeeded" and first["finished"], first
for r in records:
    assert r["trigger"] == "manual" and r["request"] > 0 and r["requested_by"] == "ops-test", r

report = of("report")
assert len(report) == 3 and all(r["state"] == "succeeded" for r in report), report
assert len({r["request"] for r in report}) == 3
assert [r["note"] for r in report if r["request"] == first["request"]] == ["after the restore"]
ran = lines("report")
assert len(ran) == 3 and all(l[0] == "manual" for l in ran), ran
assert sorted(int(l[2]) for l in ran) == sorted(r["fence"] for r in report), (ran, report)
delays = [(parse(r["started_at"]) - parse(r["scheduled_at"])).total_seconds() for r in report]

slow = sorted(of("slow"), key=lambda r: r["request"])
assert [r["state"] for r in slow] == ["succeeded", "skipped_overlap"], slow
assert slow[1]["note"] == "second"
assert len(lines("slow")) == 1

only = of("only-a")
assert len(only) == 3 and {r["node"] for r in only} == {"a"}, only
assert {l[1] for l in lines("only-a")} == {"a"}

rotate = of("rotate")
assert sorted(r["occurrence_node"] for r in rotate) == ["a", "b", "c"], rotate
assert sorted(l[1] for l in lines("rotate")) == ["a", "b", "c"]

broken = of("broken")
assert len(broken) == 1 and broken[0]["state"] == "failed" and broken[0]["exit_code"] == 3, broken
print("report: 3 requests, 3 runs (started %.1f-%.1f s after the request's second); slow: one ran, "
      "one skipped_overlap; only-a: 3 on a; rotate: once on each of a, b, c; broken: failed, exit 3"
      % (min(delays), max(delays)))
PY
log "PASS"
