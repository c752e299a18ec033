#include "process/process_runner.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "process/child_spawn.hpp"
#include "process/guardian.hpp"
#include "process/output_capture.hpp"

namespace solocron::detail {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kReadChunk = 64 * 1024;
// Reads per readiness event, so one chatty child cannot starve the others.
constexpr int kReadsPerEvent = 4;
// Exit polling interval when no pidfd is available.
constexpr auto kPollInterval = 20ms;
constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};
constexpr std::uint64_t kGuardianTag = kWakeTag - 1;
enum Source : std::uint64_t { kStdout = 0, kStderr = 1, kExit = 2 };

std::uint64_t tag(std::uint64_t id, Source source) { return id << 2 | source; }

struct Child {
  Child(std::uint64_t id_, ProcessSpec spec_, LineCallback on_line_, ExitCallback on_exit_,
        std::size_t max_line)
      : id(id_),
        spec(std::move(spec_)),
        on_line(std::move(on_line_)),
        on_exit(std::move(on_exit_)),
        lines{LineSplitter(max_line), LineSplitter(max_line)},
        tail(spec.tail_bytes) {}

  std::uint64_t id;
  ProcessSpec spec;
  LineCallback on_line;
  ExitCallback on_exit;
  ProcessResult result;
  int pid = -1;
  int pidfd = -1;
  int fds[2] = {-1, -1};  // stdout, stderr read ends; -1 once at EOF
  LineSplitter lines[2];
  OutputTail tail;
  bool exited = false;  // the main child's status is known (it stays a zombie until reported)
  bool force_report = false;
  std::optional<Steady::time_point> timeout_at;
  std::optional<Steady::time_point> kill_at;
  std::optional<Steady::time_point> eof_deadline;

  bool pipes_open() const { return fds[0] >= 0 || fds[1] >= 0; }
};

// Callbacks belong to the caller; an exception from one must not take the I/O thread down.
template <class F>
void call_safely(F&& f) {
  try {
    f();
  } catch (...) {
  }
}

}  // namespace

struct ProcessRunner::Impl {
  explicit Impl(ProcessRunnerOptions opts);
  ~Impl();

  void loop();
  bool adopt_requests();
  void add(std::unique_ptr<Child> child);
  void on_event(std::uint64_t event_tag);
  void read_stream(Child& child, int stream);
  void close_stream(Child& child, int stream);
  void poll_exit(Child& child);
  void signal_group(Child& child, int sig);
  void request_stop(Child& child, std::chrono::milliseconds grace, Steady::time_point now);
  void check_deadlines(Child& child, Steady::time_point now);
  void report(Child& child);
  int wait_timeout_ms(Steady::time_point now) const;
  void wake();

  ProcessRunnerOptions options;
  Guardian guardian;  // first: forked before this runner opens anything or starts its thread
  std::atomic<bool> guardian_watching{false};
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::size_t> running{0};

  std::mutex mu;  // guards the three request fields below
  std::vector<std::unique_ptr<Child>> pending;
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> terminations;
  bool stopping = false;

  // Owned by the I/O thread alone.
  std::unordered_map<std::uint64_t, std::unique_ptr<Child>> children;
  std::vector<char> buffer = std::vector<char>(kReadChunk);
  bool stop_seen = false;
  std::thread thread;
};

ProcessRunner::Impl::Impl(ProcessRunnerOptions opts) : options(opts) {
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd < 0 || wake_fd < 0) {
    const int error = errno;
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
    throw std::system_error(error, std::generic_category(), "ProcessRunner: epoll/eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
  if (guardian.fd() >= 0) {
    // The guardian never writes: the only event is its end closing, i.e. its death.
    ev.events = EPOLLRDHUP;
    ev.data.u64 = kGuardianTag;
    guardian_watching = ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, guardian.fd(), &ev) == 0;
  }
  thread = std::thread([this] { loop(); });
}

ProcessRunner::Impl::~Impl() {
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  wake();
  thread.join();
  ::close(wake_fd);
  ::close(epoll_fd);
}

void ProcessRunner::Impl::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
}

void ProcessRunner::Impl::loop() {
  epoll_event events[64];
  while (true) {
    const bool stop = adopt_requests();
    if (stop && children.empty()) return;
    const int n = ::epoll_wait(epoll_fd, events, 64, wait_timeout_ms(Steady::now()));
    for (int i = 0; i < n; ++i) on_event(events[i].data.u64);
    const auto now = Steady::now();
    std::vector<std::uint64_t> done;
    for (auto& [id, child] : children) {
      if (child->pidfd < 0 && !child->exited) poll_exit(*child);
      check_deadlines(*child, now);
      if (child->exited && (!child->pipes_open() || child->force_report)) done.push_back(id);
    }
    for (std::uint64_t id : done) {
      report(*children[id]);
      children.erase(id);
    }
  }
}

// Takes new children and terminate requests from other threads; true once stopping.
bool ProcessRunner::Impl::adopt_requests() {
  std::vector<std::unique_ptr<Child>> adopted;
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> kills;
  bool stop;
  {
    std::lock_guard lock(mu);
    adopted.swap(pending);
    kills.swap(terminations);
    stop = stopping;
  }
  const auto now = Steady::now();
  for (auto& child : adopted) {
    Child& c = *child;
    add(std::move(child));
    if (stop_seen) request_stop(c, 0ms, now);  // started while the runner was shutting down
  }
  for (const auto& [id, grace] : kills) {
    if (auto it = children.find(id); it != children.end()) request_stop(*it->second, grace, now);
  }
  if (stop && !stop_seen) {
    stop_seen = true;
    for (auto& [id, child] : children) request_stop(*child, 0ms, now);
  }
  return stop;
}

void ProcessRunner::Impl::add(std::unique_ptr<Child> child) {
  Child& c = *child;
  const std::uint64_t id = c.id;
  children.emplace(id, std::move(child));
  if (!c.result.started) {  // could not start: report on this thread, as promised
    c.exited = true;
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  for (int stream : {0, 1}) {
    ev.data.u64 = tag(id, static_cast<Source>(stream));
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fds[stream], &ev);
  }
  if (c.pidfd >= 0) {
    ev.data.u64 = tag(id, kExit);
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.pidfd, &ev) != 0) {
      ::close(c.pidfd);
      c.pidfd = -1;  // fall back to polling
    }
  }
}

void ProcessRunner::Impl::on_event(std::uint64_t event_tag) {
  if (event_tag == kWakeTag) {
    std::uint64_t count;
    [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    return;
  }
  if (event_tag == kGuardianTag) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, guardian.fd(), nullptr);
    guardian_watching = false;
    return;
  }
  auto it = children.find(event_tag >> 2);
  if (it == children.end()) return;
  Child& child = *it->second;
  const auto source = static_cast<Source>(event_tag & 3);
  if (source == kExit) {
    poll_exit(child);
  } else {
    read_stream(child, static_cast<int>(source));
  }
}

void ProcessRunner::Impl::read_stream(Child& child, int stream) {
  for (int i = 0; i < kReadsPerEvent && child.fds[stream] >= 0; ++i) {
    const ssize_t n = ::read(child.fds[stream], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // EOF, or an error that leaves nothing more to read
      close_stream(child, stream);
      return;
    }
    const std::string_view bytes(buffer.data(), static_cast<std::size_t>(n));
    child.tail.append(bytes);
    if (child.on_line) {
      const bool from_stderr = stream == 1;
      child.lines[stream].feed(bytes, [&](std::string_view line) {
        call_safely([&] { child.on_line(line, from_stderr); });
      });
    }
    if (static_cast<std::size_t>(n) < buffer.size()) return;  // pipe drained
  }
}

void ProcessRunner::Impl::close_stream(Child& child, int stream) {
  int& fd = child.fds[stream];
  if (fd < 0) return;
  ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  fd = -1;
  if (child.on_line) {
    child.lines[stream].flush(
        [&](std::string_view line) { call_safely([&] { child.on_line(line, stream == 1); }); });
  }
}

// Collects the main child's status without reaping it: the zombie keeps its pid, and so the
// process-group id, from being reused while we may still signal the group.
void ProcessRunner::Impl::poll_exit(Child& child) {
  if (child.exited) return;
  siginfo_t info{};
  int rc;
  while ((rc = ::waitid(P_PID, child.pid, &info, WEXITED | WNOHANG | WNOWAIT)) < 0 &&
         errno == EINTR) {
  }
  if (rc == 0 && info.si_pid == 0) return;  // still running
  if (rc == 0) {
    if (info.si_code == CLD_EXITED) {
      child.result.exit_code = info.si_status;
    } else {
      child.result.signal = info.si_status;
    }
  }  // else ECHILD: someone else reaped it (SIGCHLD ignored); the status is unknown
  child.exited = true;
  child.result.finished_at = std::chrono::system_clock::now();
  if (child.pidfd >= 0) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, child.pidfd, nullptr);
    ::close(child.pidfd);
    child.pidfd = -1;
  }
  child.timeout_at.reset();
  auto deadline = Steady::now() + options.eof_grace;
  if (child.kill_at) deadline = std::max(deadline, *child.kill_at);
  child.eof_deadline = deadline;
}

void ProcessRunner::Impl::signal_group(Child& child, int sig) {
  ::kill(-child.pid, sig);
  // The child may have left its group (setsid); it is still ours to stop.
  if (!child.exited) ::kill(child.pid, sig);
}

void ProcessRunner::Impl::request_stop(Child& child, std::chrono::milliseconds grace,
                                       Steady::time_point now) {
  if (!child.result.started || (child.exited && !child.pipes_open())) return;
  child.result.terminated = true;
  if (grace <= 0ms) {
    signal_group(child, SIGKILL);
    child.kill_at.reset();
    return;
  }
  signal_group(child, SIGTERM);
  const auto kill_at = now + grace;
  child.kill_at = child.kill_at ? std::min(*child.kill_at, kill_at) : kill_at;
}

void ProcessRunner::Impl::check_deadlines(Child& child, Steady::time_point now) {
  if (child.timeout_at && now >= *child.timeout_at) {
    child.timeout_at.reset();
    child.result.timed_out = true;
    signal_group(child, SIGTERM);
    const auto kill_at = now + child.spec.kill_grace;
    child.kill_at = child.kill_at ? std::min(*child.kill_at, kill_at) : kill_at;
  }
  if (child.kill_at && now >= *child.kill_at) {
    child.kill_at.reset();
    signal_group(child, SIGKILL);
  }
  if (child.exited && child.eof_deadline && now >= *child.eof_deadline && child.pipes_open()) {
    // A process of the run still holds the output open after the main child is gone.
    signal_group(child, SIGKILL);
    child.result.killed_lingering = true;
    child.force_report = true;
  }
}

void ProcessRunner::Impl::report(Child& child) {
  // Whatever is still buffered; a writer that escaped the group could keep the pipe busy
  // forever, so the drain is bounded and the pipe closed either way.
  for (int stream : {0, 1}) {
    for (int i = 0; i < 16 && child.fds[stream] >= 0; ++i) read_stream(child, stream);
    close_stream(child, stream);
  }
  if (child.pid > 0) {
    guardian_forget(guardian.fd(), child.pid);  // before the reap frees the pgid for reuse
    while (::waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  child.result.output_tail = child.tail.take();
  running.fetch_sub(1);
  if (child.on_exit) call_safely([&] { child.on_exit(child.result); });
}

int ProcessRunner::Impl::wait_timeout_ms(Steady::time_point now) const {
  std::optional<Steady::time_point> next;
  auto consider = [&](const std::optional<Steady::time_point>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& [id, child] : children) {
    if (child->exited && (!child->pipes_open() || child->force_report)) return 0;
    consider(child->timeout_at);
    consider(child->kill_at);
    if (child->exited) consider(child->eof_deadline);
    if (child->pidfd < 0 && !child->exited) consider(now + kPollInterval);
  }
  if (!next) return -1;
  if (*next <= now) return 0;
  // Round up: waking a hair early would spin until the deadline.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::min<std::int64_t>(ms, 60'000));
}

ProcessRunner::ProcessRunner() : ProcessRunner(ProcessRunnerOptions{}) {}
ProcessRunner::ProcessRunner(ProcessRunnerOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
ProcessRunner::~ProcessRunner() = default;

std::uint64_t ProcessRunner::start(ProcessSpec spec, LineCallback on_line, ExitCallback on_exit) {
  const std::uint64_t id = impl_->next_id.fetch_add(1);
  auto child = std::make_unique<Child>(id, std::move(spec), std::move(on_line), std::move(on_exit),
                                       impl_->options.max_line);
  child->result.started_at = std::chrono::system_clock::now();
  auto spawned = spawn_child(child->spec, impl_->options.use_pidfd, impl_->guardian.fd());
  if (spawned) {
    child->result.started = true;
    child->result.pid = spawned->pid;
    child->pid = spawned->pid;
    child->pidfd = spawned->pidfd;
    child->fds[0] = spawned->out_fd;
    child->fds[1] = spawned->err_fd;
    if (child->spec.timeout) child->timeout_at = Steady::now() + *child->spec.timeout;
  } else {
    child->result.start_error = std::move(spawned).error();
    child->result.finished_at = child->result.started_at;
  }
  impl_->running.fetch_add(1);
  {
    std::lock_guard lock(impl_->mu);
    impl_->pending.push_back(std::move(child));
  }
  impl_->wake();
  return id;
}

void ProcessRunner::terminate(std::uint64_t id, std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->terminations.emplace_back(id, grace);
  }
  impl_->wake();
}

std::size_t ProcessRunner::running() const { return impl_->running.load(); }

bool ProcessRunner::guarded() const { return impl_->guardian_watching.load(); }

}  // namespace solocron::detail
