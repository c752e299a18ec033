#!/usr/bin/env bash
# The cluster's job set on SQLite: see job_set.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/job_set.sh"
