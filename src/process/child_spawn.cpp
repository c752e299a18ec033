#include "process/child_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "process/guardian.hpp"

extern char** environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace solocron::detail {
namespace {

// What the child writes into the report pipe when it cannot reach exec.
enum Stage : int { kStageSetup = 1, kStageChdir = 2, kStageExec = 3 };
struct ChildReport {
  int stage;
  int error;
};

// Everything the child touches, prepared before the fork.
struct ChildPlan {
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<std::string> candidates;  // full paths to try for argv[0], in PATH order
  const char* cwd = nullptr;
  sigset_t empty_mask;
  int out_w = -1;
  int err_w = -1;
  int report_w = -1;
  int guardian_fd = -1;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return true;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string describe(int error) {
  const char* text = ::strerrordesc_np(error);  // thread-safe, unlike strerror
  return text ? text : "error " + std::to_string(error);
}

// ---- child side: async-signal-safe calls only from here to the end of run_child ----

[[noreturn]] void child_fail(const ChildPlan& plan, int stage, int error) noexcept {
  const ChildReport report{stage, error};
  while (::write(plan.report_w, &report, sizeof report) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

// Moves fd out of the 0..2 range so that dup2 onto 0, 1, 2 cannot clobber another source.
int above_stdio(int fd) { return fd > 2 ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 3); }

[[noreturn]] void run_child(const ChildPlan& plan) noexcept {
  // Handlers of the parent must not run here, and ignored signals would survive exec.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  if (::setpgid(0, 0) != 0) child_fail(plan, kStageSetup, errno);
  // Before anything can fail or exec: from here on, the node's death kills this group. Done
  // before the dup2s below, which could land on the guardian's descriptor.
  guardian_register_self(plan.guardian_fd);

  int sources[3] = {::open("/dev/null", O_RDONLY | O_CLOEXEC), plan.out_w, plan.err_w};
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0) sources[i] = above_stdio(sources[i]);
    if (sources[i] < 0) child_fail(plan, kStageSetup, errno);
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(sources[i], i) < 0) child_fail(plan, kStageSetup, errno);
  }
  // Descriptors other code in the node left inheritable (sockets, database files) must not
  // leak into jobs, nor keep a job's pipe open. Older kernels lack this: best effort.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) child_fail(plan, kStageChdir, errno);
  ::sigprocmask(SIG_SETMASK, &plan.empty_mask, nullptr);

  // The execvp rules: skip PATH entries where the file is absent, remember a permission
  // problem, stop at any other error.
  int error = ENOENT;
  bool saw_eacces = false;
  for (const std::string& path : plan.candidates) {
    ::execve(path.c_str(), plan.argv.data(), plan.envp.data());
    error = errno;
    if (error == EACCES) {
      saw_eacces = true;
    } else if (error != ENOENT && error != ENOTDIR && error != ESTALE && error != ENODEV &&
               error != ETIMEDOUT) {
      break;
    }
  }
  if (saw_eacces && (error == ENOENT || error == ENOTDIR)) error = EACCES;
  child_fail(plan, kStageExec, error);
}

// vfork keeps spawning cheap for a node holding a large heap (no page-table copy). The
// sanitizers' runtimes are not vfork-safe, so their builds take the fork path; the child
// code is the same either way.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
pid_t fork_child(const ChildPlan& plan) {
  const pid_t pid = ::fork();
  if (pid == 0) run_child(plan);
  return pid;
}
#else
pid_t fork_child(const ChildPlan& plan) {
  const pid_t pid = ::vfork();
  if (pid == 0) run_child(plan);
  return pid;
}
#endif

// ---- parent side ----

std::string_view env_name(std::string_view entry) { return entry.substr(0, entry.find('=')); }

// The node's environment as spec.inherit_env allows, with extra_env added; a later extra
// entry overrides an earlier one.
std::vector<std::string> build_environment(const ProcessSpec& spec) {
  std::vector<std::string> env;
  auto overridden = [&](std::string_view name) {
    for (const auto& [key, value] : spec.extra_env) {
      if (key == name) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!overridden(env_name(*e)) && inherits(spec.inherit_env, env_name(*e))) env.emplace_back(*e);
  }
  for (std::size_t i = 0; i < spec.extra_env.size(); ++i) {
    const auto& [key, value] = spec.extra_env[i];
    bool later = false;
    for (std::size_t j = i + 1; j < spec.extra_env.size(); ++j)
      later |= spec.extra_env[j].first == key;
    if (!later) env.push_back(key + "=" + value);
  }
  return env;
}

// Like execvp, the lookup uses PATH as the child will see it (extra_env may set it).
std::vector<std::string> exec_candidates(const std::string& program,
                                         const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return {program};
  std::string_view path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& entry : env) {
    if (entry.starts_with("PATH=")) path = std::string_view(entry).substr(5);
  }
  std::vector<std::string> out;
  while (true) {
    const auto colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    out.push_back((dir.empty() ? std::string(".") : std::string(dir)) + "/" + program);
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return out;
}

std::optional<std::string> validate(const ProcessSpec& spec) {
  if (spec.argv.empty()) return "cannot execute an empty command";
  for (const auto& [key, value] : spec.extra_env) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return "cannot start " + quote(spec.argv[0]) + ": invalid environment variable name " +
             quote(key);
    }
  }
  return std::nullopt;
}

std::string failure_message(const ProcessSpec& spec, const ChildReport& report) {
  const std::string program = quote(spec.argv[0]);
  switch (report.stage) {
    case kStageChdir:
      return "cannot change to working directory " + quote(spec.working_dir) + " for " + program +
             ": " + describe(report.error);
    case kStageExec:
      return "cannot execute " + program + ": " + describe(report.error);
    default:
      return "cannot set up the process for " + program + ": " + describe(report.error);
  }
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

Expected<SpawnedChild, std::string> spawn_child(const ProcessSpec& spec, bool want_pidfd,
                                                int guardian_fd) {
  if (auto invalid = validate(spec)) return Unexpected{std::move(*invalid)};
  Fd out_r, out_w, err_r, err_w, report_r, report_w;
  if (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) || !make_pipe(report_r, report_w)) {
    return Unexpected{"cannot start " + quote(spec.argv[0]) + ": " + describe(errno)};
  }
  ChildPlan plan;
  plan.env_strings = build_environment(spec);
  plan.candidates = exec_candidates(spec.argv[0], plan.env_strings);
  for (const std::string& arg : spec.argv) plan.argv.push_back(const_cast<char*>(arg.c_str()));
  plan.argv.push_back(nullptr);
  for (std::string& entry : plan.env_strings) plan.envp.push_back(entry.data());
  plan.envp.push_back(nullptr);
  if (!spec.working_dir.empty()) plan.cwd = spec.working_dir.c_str();
  sigemptyset(&plan.empty_mask);
  plan.out_w = out_w.get();
  plan.err_w = err_w.get();
  plan.report_w = report_w.get();
  plan.guardian_fd = guardian_fd;

  // Blocked here so no handler of this process runs in the child before it resets them.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  const pid_t pid = fork_child(plan);
  const int fork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  out_w.reset();
  err_w.reset();
  report_w.reset();
  if (pid < 0)
    return Unexpected{"cannot start " + quote(spec.argv[0]) + ": " + describe(fork_error)};
  // Also set from this side so that a kill of the group right after start cannot miss it.
  // EACCES means the child already exec'ed, having done it itself.
  ::setpgid(pid, pid);

  ChildReport report{};
  ssize_t n;
  while ((n = ::read(report_r.get(), &report, sizeof report)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof report)) {
    guardian_forget(guardian_fd, pid);  // while the zombie still holds the pgid
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Unexpected{failure_message(spec, report)};
  }
  set_nonblocking(out_r.get());
  set_nonblocking(err_r.get());
  SpawnedChild child;
  child.pid = pid;
  if (want_pidfd) child.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  child.out_fd = out_r.release();
  child.err_fd = err_r.release();
  return child;
}

}  // namespace solocron::detail
