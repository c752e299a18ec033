#!/usr/bin/env bash
# Jitter on SQLite: see jitter.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/jitter.sh"
