// Test helpers that run the real `solocron` binary: a temp dir per test, the daemon as a child
// process with its log in a file, signals by PID, and bounded waits (real processes, real time).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
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

// A child's environment: this process's own, with `set` added or replacing and `unset` removed.
struct Env {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
};

inline std::vector<std::string> child_environment(const Env& env) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& u : env.unset) drop |= u == name;
    for (const auto& [k, v] : env.set) drop |= k == name;
    if (!drop) out.push_back(entry);
  }
  for (const auto& [k, v] : env.set) out.push_back(k + "=" + v);
  return out;
}

// Runs the binary with `args`, stdout+stderr into `log`, and returns its pid.
inline pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log,
                   const Env& env = {}) {
  std::vector<char*> argv;
  std::string bin = SOLOCRON_BIN;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment(env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Waits for `pid` for at most `limit`; returns its wait status, or -1 on timeout. `usage`,
// if given, receives the child's resource usage (ru_maxrss: its peak resident set in KiB).
inline int wait_exit(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(30),
                     rusage* usage = nullptr) {
  int status = -1;
  bool done = eventually([&] { return wait4(pid, &status, WNOHANG, usage) == pid; }, limit);
  return done ? status : -1;
}

struct Finished {
  int code = -1;  // the exit status; -1 when killed by a signal or stopped at the limit
  std::string output;  // stdout and stderr
  long max_rss_kib = 0;
};

// Runs the binary to completion, or SIGKILLs it after `limit` (nothing outlives the test).
inline Finished run_child(const std::vector<std::string>& args, const std::filesystem::path& dir,
                          const Env& env = {},
                          std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto log = dir / ("run-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  pid_t pid = spawn(args, log, env);
  rusage usage{};
  int status = wait_exit(pid, limit, &usage);
  if (status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  Finished out;
  out.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out.output = read_file(log);
  out.max_rss_kib = usage.ru_maxrss;
  std::filesystem::remove(log);
  return out;
}

// Runs the binary to completion; returns {exit status, stdout+stderr}.
inline std::pair<int, std::string> run(const std::vector<std::string>& args,
                                       const std::filesystem::path& dir, const Env& env = {}) {
  auto f = run_child(args, dir, env);
  return {f.code, f.output};
}

// A daemon started in the constructor and, if still running, killed in the destructor.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& args, std::filesystem::path log, const Env& env = {})
      : log_(std::move(log)), pid_(spawn(args, log_, env)) {}
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
