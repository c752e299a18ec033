#!/usr/bin/env bash
# `solocron trigger` on SQLite: see trigger.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/trigger.sh"
