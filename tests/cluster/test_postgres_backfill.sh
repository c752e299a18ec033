#!/usr/bin/env bash
# `solocron backfill` on PostgreSQL: see backfill.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/backfill.sh"
