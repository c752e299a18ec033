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
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
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

inline std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "solocron-proc-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

// Polls `done` every 20 ms for at most `limit` (real processes, real time).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

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

// The fields of /proc/PID/stat the tests look at.
struct ProcStat {
  std::string name;  // comm
  char state = 0;    // 'Z' for a zombie
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
};

inline std::optional<ProcStat> read_stat(pid_t pid) {
  // Plain read(2): the process may vanish while we look, which iostreams report by throwing.
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY);
  if (fd < 0) return std::nullopt;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const std::string text(buf, static_cast<std::size_t>(n));
  const auto open_paren = text.find('(');
  const auto close_paren = text.rfind(')');
  if (open_paren == std::string::npos || close_paren == std::string::npos) return std::nullopt;
  ProcStat stat;
  stat.name = text.substr(open_paren + 1, close_paren - open_paren - 1);
  std::istringstream rest(text.substr(close_paren + 1));
  rest >> stat.state >> stat.ppid >> stat.pgrp >> stat.session;
  return stat;
}

// Those of `pids` that have not exited within `limit`, a deadline shared by all of them.
inline std::vector<pid_t> survivors(const std::vector<pid_t>& pids,
                                    std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<pid_t> alive;
  for (pid_t pid : pids) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!exits_within(pid, std::max(left, std::chrono::milliseconds(0)))) alive.push_back(pid);
  }
  return alive;
}

// Living (non-zombie) processes whose parent is `parent`, this test process by default; with
// `name`, only those of that name.
inline std::vector<pid_t> living_children(pid_t parent = ::getpid(), std::string_view name = {}) {
  std::vector<pid_t> found;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return found;
  while (dirent* entry = ::readdir(dir)) {
    const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
    if (pid <= 0) continue;
    const auto stat = read_stat(pid);
    if (!stat || stat->ppid != parent || stat->state == 'Z') continue;
    if (name.empty() || stat->name == name) found.push_back(pid);
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
  // In rounds: a process that exits hands its own children over to this (subreaper) process.
  for (int round = 0; round < 8; ++round) {
    const auto children = living_children();
    if (children.empty()) break;
    for (pid_t pid : survivors(children, 10s)) {
      const auto stat = read_stat(pid);
      ADD_FAILURE() << "process " << pid << " (" << (stat ? stat->name : "?")
                    << ") was left running";
      ::kill(pid, SIGKILL);
      exits_within(pid, 10s);
    }
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace solocron::detail::testing
