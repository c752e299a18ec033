#!/usr/bin/env bash
# SIGKILL of a node leaves no process of its runs (its guardian, solocron-guard, kills their
# process groups and exits): a run with a background child and a nested shell, all gone
# within 2 s of the kill; no guardian of that node remains.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
# The job writes its own PID (its process group: commands run in a group of their own) and
# that of its background child, then waits in the foreground.
write_config "$WORK/config.yaml" "  - name: hold
    schedule: \"$(schedule_in 3)\"
    command: [\"sh\", \"-c\", \"sleep 300 & sh -c 'sleep 300' & echo \$\$ \$! > $WORK/pids.tmp; mv $WORK/pids.tmp $WORK/pids; sleep 300\"]"
start_node a
wait_until 15 test -s "$WORK/pids" || fail "the job did not start within 15s"
read -r pgid child <"$WORK/pids"
# Should the guardian fail, the test must not leave the run behind either.
CLEANUP_LATE+=("kill -KILL -- -$pgid 2>/dev/null")
sleep 0.5  # let the shell start its foreground sleep

members=$(group_members "$pgid" | tr '\n' ' ')
guards=$(children_named "${NODE_PID[a]}" solocron-guard | tr '\n' ' ')
log "run's process group $pgid: live members [$members]; background child $child; guardian [$guards]"
[[ " $members " == *" $pgid "* ]] || fail "the job's shell $pgid does not lead its own process group"
[[ $(wc -w <<<"$members") -ge 4 ]] || fail "expected at least 4 processes in the group (sh, 2 sleeps, nested sh), saw [$members]"

killed_us=${EPOCHREALTIME/./}
kill_node a KILL
# Polls only the known PIDs (cheap), then scans for anything else left in the group.
gone() {
  local p
  for p in $members $child $guards; do proc_gone "$p" || return 1; done
}
elapsed_us() { echo $((${EPOCHREALTIME/./} - killed_us)); }
until gone || (($(elapsed_us) >= 2000000)); do sleep 0.02; done
took=$(printf '%d.%02d' $(($(elapsed_us) / 1000000)) $(($(elapsed_us) % 1000000 / 10000)))
if ! gone; then
  for p in $members $child $guards; do
    proc_gone "$p" || log "still alive ${took}s after the kill: $p ($(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)) state $(proc_state "$p")"
  done
  fail "processes of the killed node's run survived it by ${took}s"
fi
left=$(group_members "$pgid" | tr '\n' ' ')
[[ -z $left ]] || fail "process group $pgid still has live members: [$left]"
[[ -n $guards ]] || fail "node a had no solocron-guard child process"
zombies=0
for p in $members $child $guards; do [[ $(proc_state "$p") == Z ]] && zombies=$((zombies + 1)); done
log "all $(wc -w <<<"$members $child $guards") processes (run group $pgid, guardian) gone ${took}s after SIGKILL ($zombies left as unreaped zombies of PID 1)"
log "PASS"
