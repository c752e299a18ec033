#!/usr/bin/env bash
# The HTTP action on SQLite: see http_action.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/http_action.sh"
