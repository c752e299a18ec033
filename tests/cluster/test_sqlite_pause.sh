#!/usr/bin/env bash
# `solocron pause` / `resume` on SQLite: see pause.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/pause.sh"
