// Helpers for ProcessRunner tests: collecting callbacks, waiting for real processes with
// generous deadlines, and making sure no test leaves a process behind.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process/process_runner.hpp"

namespace solocron::detail::testing {

using namespace std::chrono_literals;

// Generous: these are real processes on a loaded 2-core machine.
inline constexpr auto kDeadline = std::chrono::seconds(60);

// The callbacks of one start(): lines per stream and every exit report.
struct ChildRun {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> out;
  std::vector<std::string> err;
  std::vector<ProcessResult> exits;
  std::thread::id exit_thread;
  std::uint64_t id = 0;

  bool wait_exit(std::chrono::seconds limit = kDeadline) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return !exits.empty(); });
  }
  bool wait_stdout_lines(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kDeadline, [&] { return out.size() >= n; });
  }
  ProcessResult result() {
    std::lock_guard lock(mu);
    return exits.at(0);
  }
  std::size_t exit_count() {
    std::lock_guard lock(mu);
    return exits.size();
  }
  std::vector<std::string> stdout_lines() {
    std::lock_guard lock(mu);
    return out;
  }
  std::vector<std::string> stderr_lines() {
    std::lock_guard lock(mu);
    return err;
  }
};

inline std::shared_ptr<ChildRun> start(ProcessRunner& runner, ProcessSpec spec) {
  auto run = std::make_shared<ChildRun>();
  auto on_line = [run](std::string_view line, bool from_stderr) {
    std::lock_guard lock(run->mu);
    (from_stderr ? run->err : run->out).emplace_back(line);
    run->cv.notify_all();
  };
  auto on_exit = [run](const ProcessResult& result) {
    std::lock_guard lock(run->mu);
    run->exits.push_back(result);
    run->exit_thread = std::this_thread::get_id();
    run->cv.notify_all();
  };
  run->id = runner.start(std::move(spec), on_line, on_exit);
  return run;
}

inline ProcessSpec command(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

inline ProcessSpec shell(const std::string& script) { return command({"/bin/sh", "-c", script}); }

// True once `pid` has exited (reaping it when it became our child as an orphan).
inline bool exits_within(pid_t pid, std::chrono::milliseconds limit) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH;  // already gone and reaped
  pollfd p{pidfd, POLLIN, 0};
  const bool exited = ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
  ::close(pidfd);
  if (exited) ::waitpid(pid, nullptr, WNOHANG);
  return exited;
}

// Living (non-zombie) processes whose parent is this test process.
inline std::vector<pid_t> living_children() {
  std::vector<pid_t> found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  while (dirent* entry = ::readdir(dir)) {
    const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
    if (pid <= 0) continue;
    // Plain read(2): the process may vanish while we look, which iostreams report by throwing.
    const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY);
    if (fd < 0) continue;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n <= 0) continue;
    const std::string text(buf, static_cast<std::size_t>(n));
    const auto close_paren = text.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(text.substr(close_paren + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid() && state != 'Z') found.push_back(pid);
  }
  ::closedir(dir);
  return found;
}

// Orphaned grandchildren become children of the test process (not of a pid 1 that may never
// reap them), so the tests can see how they ended and reap them.
class SubreaperEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
};

// Fails the test if a process it started is still alive, then kills it so others are clean.
inline void expect_no_process_left() {
  auto left = living_children();
  for (pid_t pid : left) {
    if (exits_within(pid, 10s)) continue;
    ADD_FAILURE() << "process " << pid << " was left running";
    ::kill(pid, SIGKILL);
    exits_within(pid, 10s);
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace solocron::detail::testing
