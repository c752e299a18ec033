# A node whose clock runs 10 s fast (libfaketime) never starts a job early: the store judges
# time by its own clock and refuses claims ahead of it; the node reports the skew.
# Sourced after lib.sh, with STORE set.
run_skew_scenario() {
  FAKE_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
  [[ -f $FAKE_LIB ]] || fail "libfaketime is not installed ($FAKE_LIB)"
  # The job reads the real time: it removes libfaketime from its own environment first.
  write_config "$WORK/config.yaml" "  - name: tick
    schedule: \"* * * * * *\"
    command: [\"sh\", \"-c\", \"echo \$SOLOCRON_SCHEDULED_AT \$SOLOCRON_NODE \$SOLOCRON_FENCE \$(env -u LD_PRELOAD -u FAKETIME date +%s.%N) >> $WORK/ticks\"]"
  touch "$WORK/ticks"

  # GCC 12's timed waits on steady_clock hang under libfaketime unless monotonic time is real.
  start_node fast LD_PRELOAD=$FAKE_LIB FAKETIME=+10s DONT_FAKE_MONOTONIC=1
  start_node honest
  sleep 20
  stop_node fast
  stop_node honest
  history_json >"$WORK/history.json"

  check not-early "$WORK/ticks"
  check ticks "$WORK/history.json" "$WORK/ticks" tick
  grep -q '"event":"clock_skew"' "$WORK/fast.log" || fail "the fast node did not report its skew"
}
