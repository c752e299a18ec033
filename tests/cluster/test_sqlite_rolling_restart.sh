#!/usr/bin/env bash
# Rolling restart of three nodes on one SQLite file: drains keep their leases, nothing is lost.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rolling.sh"
STORE="sqlite:$WORK/state.db"
run_rolling_scenario
log "PASS"
