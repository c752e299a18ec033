#!/usr/bin/env bash
# `solocron backfill` on SQLite: see backfill.sh.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
source "$(dirname "$0")/backfill.sh"
