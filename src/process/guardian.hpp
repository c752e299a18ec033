// The guardian: a small process that SIGKILLs a ProcessRunner's process groups when the node
// dies, however it dies (SIGKILL, the OOM killer, a crash, exit without cleanup).
//
// The node cannot do this itself when it is SIGKILLed, and PR_SET_PDEATHSIG fires when the
// *thread* that forked exits, not the process. So each runner forks one guardian that holds
// one end of a SOCK_SEQPACKET socketpair and a pidfd of the node. Every job child registers its
// own group ("+pgid") between setpgid(0, 0) and exec, so no started job is ever unknown to it;
// the runner forgets the group ("-pgid") when the run ends, before it reaps the group leader,
// so a registered pgid cannot have been reused. When the node's end of the socket closes (the
// node died, exec'ed, or destroyed the runner) or the node's pidfd reports its exit, the
// guardian reads the registrations still queued, SIGKILLs every registered group and exits.
//
// The guardian is forked from a possibly multi-threaded process, so from the fork on it calls
// async-signal-safe functions only; its table of groups is mapped before the fork and holds
// kGuardianCapacity entries (a group registered beyond that is not guarded). It leaves the
// node's session (setsid: a Ctrl-C, SIGHUP or group-wide SIGTERM aimed at the node does not
// reach it, and it holds no controlling terminal), ignores the catchable signals other than
// faults, closes every inherited descriptor but its two, moves to "/" and names itself
// "solocron-guard". The Guardian object reaps it when destroyed.
#pragma once

#include <sys/types.h>

namespace solocron::detail {

// How many process groups one guardian can hold at once.
inline constexpr int kGuardianCapacity = 65536;

class Guardian {
 public:
  // Forks the guardian. When that fails (no memory, no processes left) the object is inert:
  // fd() == -1 and the runner works unguarded.
  Guardian();
  // Closes the node's end: the guardian kills what is still registered, exits and is reaped
  // (SIGKILLed first if it has not exited within 5 s, as when someone stopped it).
  ~Guardian();
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;

  // The node's end of the socket (close-on-exec), for guardian_register_self and
  // guardian_forget; -1 without a guardian. It reports EPOLLHUP once the guardian is gone.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

// The two messages, for code that holds only the descriptor. Both are async-signal-safe, never
// raise SIGPIPE, and do nothing when fd < 0 or the guardian is gone.
//
// "+getpid()": called by a job child after setpgid(0, 0) and before exec.
void guardian_register_self(int fd) noexcept;
// "-pgid": the run of group `pgid` has ended; called before its leader is reaped.
void guardian_forget(int fd, pid_t pgid) noexcept;

}  // namespace solocron::detail
