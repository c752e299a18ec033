// Runs commands as child processes, each in its own process group, without blocking the caller.
//
// One I/O thread per runner watches every child's stdout/stderr pipes and exit, splits output
// into lines for the node's log, keeps a bounded tail for the run's record, and enforces
// timeouts (SIGTERM to the group, SIGKILL after the grace). A command that cannot start is
// reported through the exit callback with `started == false`, never as an exception.
//
// The run ends when the main child has exited and its output pipes are closed. A grandchild
// still holding the pipes after ProcessRunnerOptions::eof_grace is part of the run and is
// SIGKILLed with the group, which ProcessResult::killed_lingering reports; one that redirected
// its output elsewhere is left alone, also when the node dies later.
//
// A run does not outlive the node. A node killed outright (SIGKILL, the OOM killer, a crash)
// cannot clean up; PR_SET_PDEATHSIG follows the forking thread rather than the process and
// reaches only the main child; a cgroup per run needs a delegation the node may not have. So
// each runner forks a guardian process (see guardian.hpp) when it is constructed. Every child
// registers its own process group with it before exec, so no started run is ever unknown to
// it, and the runner forgets the group when the run ends; when the node dies for any reason,
// or exits without destroying the runner, the guardian SIGKILLs every group of a run still in
// progress within milliseconds, then exits.
// What it does not reach: a process that left the job's group (setsid, setpgid) and what a
// run left behind after it ended; more than kGuardianCapacity (65536) runs at once; a node
// whose guardian could not be forked or was killed (guarded() says so).
//
// The runner waits for its own children by pid only. The embedding process must not set
// SIGCHLD to SIG_IGN nor call waitpid(-1): either would take the exit status away from it
// (and reap its guardian).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "solocron/environment.hpp"

namespace solocron::detail {

struct ProcessSpec {
  // argv[0] is looked up in PATH (the child's, after extra_env) when it has no '/'.
  std::vector<std::string> argv;
  std::string working_dir;  // empty: inherit
  // Added to (or overriding) the node's own environment.
  std::vector<std::pair<std::string, std::string>> extra_env;
  // Which of the node's own variables the child inherits; extra_env is added in every case.
  InheritEnv inherit_env{InheritEnv::Mode::all, {}};
  std::size_t tail_bytes = 4096;
  std::optional<std::chrono::milliseconds> timeout;
  std::chrono::milliseconds kill_grace{10000};
};

struct ProcessResult {
  bool started = false;
  std::string start_error;  // e.g. "cannot execute 'nosuch': No such file or directory"
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool timed_out = false;
  bool terminated = false;  // terminate() was called before it exited
  // The main child had exited but processes of the run still held its output eof_grace later,
  // so the group was SIGKILLed: a background child of the job that kept stdout or stderr.
  bool killed_lingering = false;
  std::string output_tail;  // last tail_bytes of stdout and stderr, interleaved as read
  std::chrono::system_clock::time_point started_at;   // just before the fork
  std::chrono::system_clock::time_point finished_at;  // when the main child's exit was seen
  int pid = 0;
};

// `line` excludes the '\n'. A line longer than ProcessRunnerOptions::max_line arrives in
// several calls of max_line bytes each.
using LineCallback = std::function<void(std::string_view line, bool from_stderr)>;
using ExitCallback = std::function<void(const ProcessResult&)>;

struct ProcessRunnerOptions {
  // After the main child exits, how long a grandchild may keep its output pipes open before
  // its process group is SIGKILLed and the exit reported anyway.
  std::chrono::milliseconds eof_grace{1000};
  std::size_t max_line = 4096;
  // Watch exits through pidfds; false (or a kernel without pidfd_open) polls with waitid.
  bool use_pidfd = true;
};

class ProcessRunner {
 public:
  ProcessRunner();
  explicit ProcessRunner(ProcessRunnerOptions options);
  // Kills (SIGKILL) every process group still running, reaps it and delivers its exit
  // callback (terminated == true) before returning: every start() gets exactly one on_exit.
  // Must not be called from inside a callback.
  ~ProcessRunner();
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Starts a child; callbacks run on the runner's I/O thread, never inside start(), also when
  // the command cannot start. Returns an id for terminate(). Thread-safe.
  std::uint64_t start(ProcessSpec spec, LineCallback on_line, ExitCallback on_exit);
  // SIGTERM to the child's process group now, SIGKILL after `grace` if it is still alive.
  // Unknown or finished ids are ignored. Thread-safe.
  void terminate(std::uint64_t id, std::chrono::milliseconds grace);
  // Children started whose exit callback has not been called yet.
  std::size_t running() const;
  // True while a guardian process will kill this runner's groups if the node dies; false when
  // it could not be forked or has been killed. Runs work the same either way.
  bool guarded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace solocron::detail
