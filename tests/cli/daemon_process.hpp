// Test helpers that run the real `solocron` binary: a temp dir per test, the daemon as a child
// process with its log in a file, signals by PID, and bounded waits (real processes, real time).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace solocron::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "solocron-test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Polls `done` every 50 ms for at most `limit`.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Runs the binary with `args`, stdout+stderr into `log`, and returns its pid.
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::vector<char*> argv;
  std::string bin = SOLOCRON_BIN;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Waits for `pid` for at most `limit`; returns its wait status, or -1 on timeout.
inline int wait_exit(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  int status = -1;
  bool done = eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit);
  return done ? status : -1;
}

// Runs the binary to completion; returns {exit status, stdout+stderr}.
inline std::pair<int, std::string> run(const std::vector<std::string>& args,
                                       const std::filesystem::path& dir) {
  auto log = dir / ("run-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  pid_t pid = spawn(args, log);
  int status = wait_exit(pid);
  std::string out = read_file(log);
  std::filesystem::remove(log);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A daemon started in the constructor and, if still running, killed in the destructor.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, std::filesystem::path log)
      : log_(std::move(log)), pid_(spawn(args, log_)) {}
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) { kill(pid_, sig); }
  // Waits for exit and returns the exit status (-1 on timeout or death by signal).
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(40)) {
    int status = wait_exit(pid_, limit);
    if (status == -1) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string log() const { return read_file(log_); }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path log_;
  pid_t pid_;
};

}  // namespace solocron::testing
