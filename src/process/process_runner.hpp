// Runs commands as child processes, each in its own process group, without blocking the caller.
//
// One I/O thread per runner watches every child's stdout/stderr pipes and exit, splits output
// into lines for the node's log, keeps a bounded tail for the run's record, and enforces
// timeouts (SIGTERM to the group, SIGKILL after the grace). A command that cannot start is
// reported through the exit callback with `started == false`, never as an exception.
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

namespace solocron::detail {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::string working_dir;        // empty: inherit
  // Added to (or overriding) the node's own environment.
  std::vector<std::pair<std::string, std::string>> extra_env;
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
  std::string output_tail;  // last tail_bytes of stdout and stderr, interleaved as read
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point finished_at;
  int pid = 0;
};

using LineCallback = std::function<void(std::string_view line, bool from_stderr)>;
using ExitCallback = std::function<void(const ProcessResult&)>;

class ProcessRunner {
 public:
  ProcessRunner();
  ~ProcessRunner();  // kills (SIGKILL) any child still running and reaps it
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Starts a child; callbacks run on the runner's I/O thread. Returns an id for terminate().
  std::uint64_t start(ProcessSpec spec, LineCallback on_line, ExitCallback on_exit);
  // SIGTERM to the child's process group now, SIGKILL after `grace` if it is still alive.
  void terminate(std::uint64_t id, std::chrono::milliseconds grace);
  std::size_t running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace solocron::detail
