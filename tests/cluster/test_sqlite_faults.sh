#!/usr/bin/env bash
# Three nodes on one SQLite file through kills, pauses and a late join: each tick runs once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"
STORE="sqlite:$WORK/state.db"
run_fault_scenario
log "PASS"
