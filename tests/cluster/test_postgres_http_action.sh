#!/usr/bin/env bash
# The HTTP action on PostgreSQL: see http_action.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/http_action.sh"
