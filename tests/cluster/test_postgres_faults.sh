#!/usr/bin/env bash
# The same faults on PostgreSQL, then the server itself stops for 5 s and comes back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/faults.sh"
start_postgres
run_fault_scenario
log "PASS"
