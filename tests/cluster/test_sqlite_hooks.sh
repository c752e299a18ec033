#!/usr/bin/env bash
# Notifications on SQLite: see hooks.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/hooks.sh"
