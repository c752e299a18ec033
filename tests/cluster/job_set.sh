# The cluster's job set (sourced by test_*_job_set.sh after lib.sh and STORE=): each node
# publishes its definitions; `solocron jobs` and `status` read them from the store without a
# local file. Mid-rollout (c runs another schedule of `report`) the job shows drift with the
# nodes on each side; a reload of c ends it; a stopped node's jobs leave the set. No secret of
# a definition (URL password, header value, env value) reaches the store's job set.
base="  - name: tick
    schedule: \"* * * * * *\"
    command: [\"true\"]
    env: {API_KEY: \"env-secret-1\"}
  - name: report
    schedule: \"0 * * * *\"
    http: {url: \"http://app:url-secret-2@127.0.0.1:9/report\", headers: {Authorization: \"Bearer \${REPORT_TOKEN}\"}}"
write_config "$WORK/config.yaml" "$base"
write_config "$WORK/config-c.yaml" "${base/0 \* \* \* \*/30 * * * *}"
NODE_CONFIG[c]=$WORK/config-c.yaml
for n in a b c; do start_node "$n" REPORT_TOKEN=header-secret-3; done

jobs_json() { "$SOLOCRON" jobs --store "$STORE" --json; }
# field JOB EXPR: a Python expression over the job's object `j` in `solocron jobs --json`.
field() {
  jobs_json | python3 -c "import json,sys; j={x['job']: x for x in json.load(sys.stdin)}.get('$1'); print($2)"
}
field_is() { [[ $(field "$1" "$2") == "$3" ]]; }  # for wait_until, which runs it again each time
wait_until 20 field_is tick "j and j['nodes']" "['a', 'b', 'c']" || fail "tick is not published by a, b and c"
[[ $(field tick "j['drift']") == False ]] || fail "tick shows drift although every node runs it alike"
[[ $(field report "j['drift']") == True ]] || fail "report does not show drift while c runs another schedule"
[[ $(field report "sorted(tuple(d['nodes']) for d in j['definitions'])") == "[('a', 'b'), ('c',)]" ]] \
  || fail "report's definitions are not split a,b | c: $(field report "[d['nodes'] for d in j['definitions']]")"
[[ $(field report "j['definitions'][1]['definition']['schedule']") == "30 * * * *" ]] || fail "c's schedule is not shown"
log "drift shown: report runs on a,b as '0 * * * *' and on c as '30 * * * *'"
if jobs_json | grep -e env-secret-1 -e url-secret-2 -e header-secret-3; then fail "a secret reached the job set"; fi
"$SOLOCRON" jobs --store "$STORE" | tee "$WORK/jobs.txt"
grep -q '^report .*2 definitions' "$WORK/jobs.txt" || fail "the table does not show report's drift"
"$SOLOCRON" status --store "$STORE" | tee "$WORK/status.txt"
grep -qE '^report +20[0-9-]+T[0-9:]+Z' "$WORK/status.txt" || fail "status without a config does not show report's next fire"

# The rollout completes: c reloads the common file; a reload publishes within a heartbeat.
cp "$WORK/config.yaml" "$WORK/config-c.yaml"
kill -HUP "${NODE_PID[c]}"
wait_until 20 field_is report "j['drift']" False || fail "report still shows drift after c's reload"
log "drift gone after c's reload"
stop_node c
wait_until 20 field_is tick "j['nodes']" "['a', 'b']" || fail "c's jobs did not leave the set when it stopped"
stop_nodes a b
[[ $(jobs_json) == "[]" ]] || fail "no live node, yet jobs are listed: $(jobs_json)"
log "PASS"
