#!/usr/bin/env bash
# A node 10 s fast on PostgreSQL (the database's clock is the judge) never starts a job early.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/skew.sh"
start_postgres
run_skew_scenario
log "PASS"
