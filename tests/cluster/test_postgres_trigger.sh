#!/usr/bin/env bash
# `solocron trigger` on PostgreSQL: see trigger.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/trigger.sh"
