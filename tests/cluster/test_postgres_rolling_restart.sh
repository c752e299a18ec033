#!/usr/bin/env bash
# Rolling restart of three nodes on PostgreSQL: drains keep their leases, nothing is lost.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/rolling.sh"
start_postgres
run_rolling_scenario
log "PASS"
