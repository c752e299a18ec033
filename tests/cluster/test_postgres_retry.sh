#!/usr/bin/env bash
# Retries (a job's `retry`) on PostgreSQL: see retry.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/retry.sh"
