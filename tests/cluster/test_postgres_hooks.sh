#!/usr/bin/env bash
# Notifications on PostgreSQL: see hooks.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/hooks.sh"
