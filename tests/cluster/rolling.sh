# Rolling restart (sourced after lib.sh, with STORE set): three nodes run a per-second job and
# a 12 s job; one node at a time gets SIGTERM while it runs a 12 s run, drains (its lease kept
# alive by renewals), exits 0 and is started again. Nothing may be lost, interrupted, missed or
# run twice, and each drained node releases its lease instead of letting it expire.
run_rolling_scenario() {
  # shutdown_grace 20s > the 12 s run: a drain lets it finish.
  write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(date +%s.%N) >> $WORK/ticks\"]
  - name: long
    schedule: \"*/3 * * * * *\"
    command: [\"sh\", \"-c\", \"echo start \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/long; sleep 12; echo end \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE >> $WORK/long\"]" \
    "shutdown_grace: 20s"
  touch "$WORK/ticks" "$WORK/long"
  local n
  for n in a b c; do start_node $n; done
  wait_until 20 grep -q . "$WORK/ticks" || fail "no tick within 20s"

  # A long job every 3 s lasts 12 s: about four runs are in progress at any time, so each
  # node soon runs one. Restart each node once, in the order they come to run one.
  local todo=" a b c " victim at
  while [[ $todo != " " ]]; do
    victim=""
    wait_until 60 running_long_on_one_of "$todo" ||
      fail "none of${todo}ran a long job within 60s"
    read -r victim at < "$WORK/victim"
    log "$victim runs long@$at: SIGTERM"
    stop_node "$victim" 30  # the drain lasts until that run ends (< 12 s)
    grep -q "^end $at $victim " "$WORK/long" ||
      fail "$victim exited before its run long@$at ended"
    local acquired
    acquired=$(grep -c '"event":"lease_acquired"' "$WORK/$victim.log")
    start_node "$victim"
    todo=${todo/ $victim / }
    wait_until 20 bash -c "[[ \$(grep -c '\"event\":\"lease_acquired\"' '$WORK/$victim.log') -gt $acquired ]]" ||
      fail "$victim did not register again"
  done
  sleep 3
  stop_nodes a b c
  history_json >"$WORK/history.json"

  check ticks "$WORK/history.json" "$WORK/ticks" tick --max-lost 0 --only-succeeded
  check runs "$WORK/history.json" "$WORK/long" long --min 8
  for n in a b c; do
    # Two stops each (the rolling one and the final one), two releases, no expiry.
    check log "$WORK/$n.log" --require shutdown=2 --require lease_released=2 --forbid lease_lost
  done
}

# running_long_on_one_of " a b ": true when one of those nodes has a long run started and not
# ended; writes "NODE SCHEDULED_AT" of the newest such run to $WORK/victim.
running_long_on_one_of() {
  awk -v want="$1" '
    $1 == "start" && index(want, " " $3 " ") { run[$2] = $3 }
    $1 == "end" { delete run[$2] }
    END { best = ""; for (at in run) if (at > best) best = at
          if (best == "") exit 1; print run[best], best }' "$WORK/long" >"$WORK/victim"
}
