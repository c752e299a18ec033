#!/usr/bin/env bash
# A node 10 s fast on SQLite (the kernel's clock of the one host is the judge) never starts a
# job early.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skew.sh"
STORE="sqlite:$WORK/state.db"
run_skew_scenario
log "PASS"
