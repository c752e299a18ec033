#!/usr/bin/env bash
# `solocron pause` / `resume` on PostgreSQL: see pause.sh.
source "$(dirname "$0")/lib.sh"
start_postgres
source "$(dirname "$0")/pause.sh"
