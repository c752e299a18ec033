#!/usr/bin/env bash
# Retries (a job's `retry`) on SQLite: see retry.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/retry.sh"
