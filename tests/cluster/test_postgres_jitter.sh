#!/usr/bin/env bash
# Jitter on PostgreSQL: see jitter.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/jitter.sh"
