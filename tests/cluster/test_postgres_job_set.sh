#!/usr/bin/env bash
# The cluster's job set on PostgreSQL: see job_set.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/job_set.sh"
