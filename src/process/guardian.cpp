#include "process/guardian.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace solocron::detail {
namespace {

// One message: +pgid registers a group, -pgid forgets it.
using Message = std::int32_t;

// After the node's pidfd reports its exit, how long the guardian still waits for its socket to
// close. Only a process forked from the node that has not exec'ed yet (a job child about to
// register) or never will (a foreign fork) keeps it open; registrations arriving meanwhile are
// killed at once.
constexpr int kLingerSeconds = 2;

// How long the destructor waits for the guardian to exit before it SIGKILLs it. By then every
// run has been reported, so nothing is registered; only a stopped guardian takes this long.
constexpr int kExitWaitMs = 5000;

void send_message(int fd, Message message) noexcept {
  if (fd < 0) return;
  while (::send(fd, &message, sizeof message, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// Everything the guardian touches, prepared before the fork.
struct GuardianPlan {
  int sock = -1;        // the guardian's end
  int node_pidfd = -1;  // -1 when the kernel has no pidfd_open: the socket alone tells
  pid_t* slots = nullptr;
  int max_fd = 0;  // where to stop closing descriptors without close_range
};

// ---- guardian side: async-signal-safe calls only, from the fork to _exit ----

// The registered groups, dense in slots[0, count).
struct GroupTable {
  pid_t* slots;
  int count;

  void add(pid_t pgid) {
    if (count < kGuardianCapacity) slots[count++] = pgid;
  }
  void remove(pid_t pgid) {
    for (int i = 0; i < count; ++i) {
      if (slots[i] == pgid) {
        slots[i] = slots[--count];
        return;
      }
    }
  }
};

void kill_group(pid_t pgid) {
  ::kill(-pgid, SIGKILL);
  ::kill(pgid, SIGKILL);  // the leader may have moved to another group
}

void kill_all(const GroupTable& table) {
  for (int i = 0; i < table.count; ++i) kill_group(table.slots[i]);
}

// Applies every queued message; false once the node's end is closed (or the socket failed).
// After the node's death a registration is killed rather than recorded.
bool drain(int sock, GroupTable& table, bool node_dead) {
  while (true) {
    Message message = 0;
    const ssize_t n = ::recv(sock, &message, sizeof message, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    if (n != static_cast<ssize_t>(sizeof message) || message == 0) continue;
    if (message < 0) {
      table.remove(-message);
    } else if (node_dead) {
      kill_group(message);
    } else {
      table.add(message);
    }
  }
}

// Faults keep their default action: ignoring one would spin on the faulting instruction.
bool is_fault(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGABRT;
}

// The guardian must outlive the node: terminal and shutdown signals are ignored, and the node's
// handlers must not run here.
void ignore_signals() {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction fallback = {};
  fallback.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    ::sigaction(sig, is_fault(sig) ? &fallback : &ignore, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void close_range_or_loop(int first, int last, int max_fd) {
  if (first > last) return;
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), static_cast<unsigned>(last), 0U) ==
      0) {
    return;
  }
  for (int fd = first; fd <= last && fd < max_fd; ++fd) ::close(fd);
}

// Closes everything inherited but `a` and `b` (either may be -1): the node's sockets, lock
// files and, above all, a job's pipe being set up on another thread, which would otherwise
// keep that run from seeing its end of output.
void close_other_descriptors(int a, int b, int max_fd) {
  int low = a < b ? a : b;
  const int high = a < b ? b : a;
  if (low < 0) low = high;
  close_range_or_loop(0, low - 1, max_fd);
  close_range_or_loop(low + 1, high - 1, max_fd);
  close_range_or_loop(high + 1, 0x7fffffff, max_fd);
}

long ms_until(const timespec& deadline) {
  timespec now;
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long ms =
      (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
  return ms < 0 ? 0 : ms;
}

[[noreturn]] void run_guardian(const GuardianPlan& plan) noexcept {
  ::setsid();
  ignore_signals();
  close_other_descriptors(plan.sock, plan.node_pidfd, plan.max_fd);
  [[maybe_unused]] int rc = ::chdir("/");  // keep no mount of the node's busy
  ::prctl(PR_SET_NAME, "solocron-guard", 0, 0, 0);

  GroupTable table{plan.slots, 0};
  bool node_dead = false;
  timespec give_up{};
  while (true) {
    pollfd fds[2] = {{plan.sock, POLLIN, 0}, {node_dead ? -1 : plan.node_pidfd, POLLIN, 0}};
    const int n = ::poll(fds, 2, node_dead ? static_cast<int>(ms_until(give_up)) : -1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the linger after the node's death is over (or poll failed)
    if (fds[0].revents != 0 && !drain(plan.sock, table, node_dead)) break;
    if (fds[1].revents != 0) {
      node_dead = true;
      if (!drain(plan.sock, table, node_dead)) break;
      kill_all(table);
      table.count = 0;
      ::clock_gettime(CLOCK_MONOTONIC, &give_up);
      give_up.tv_sec += kLingerSeconds;
    }
  }
  kill_all(table);
  ::_exit(0);
}

// ---- node side ----

int descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return limit.rlim_cur > (1 << 20) ? 1 << 20 : static_cast<int>(limit.rlim_cur);
}

}  // namespace

Guardian::Guardian() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) return;
  const std::size_t table_bytes = sizeof(pid_t) * kGuardianCapacity;
  void* table =
      ::mmap(nullptr, table_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (table == MAP_FAILED) {
    ::close(ends[0]);
    ::close(ends[1]);
    return;
  }
  GuardianPlan plan;
  plan.sock = ends[1];
  plan.node_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
  plan.slots = static_cast<pid_t*>(table);
  plan.max_fd = descriptor_limit();

  // Blocked across the fork so that no handler of the node runs in the guardian.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) run_guardian(plan);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);

  ::munmap(table, table_bytes);  // the guardian has its own copy; the node never touches it
  ::close(ends[1]);
  if (plan.node_pidfd >= 0) ::close(plan.node_pidfd);
  if (pid < 0) {
    ::close(ends[0]);
    return;
  }
  fd_ = ends[0];
  pid_ = pid;
}

Guardian::~Guardian() {
  if (pid_ <= 0) return;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  ::close(fd_);
  if (pidfd >= 0) {
    pollfd exited{pidfd, POLLIN, 0};
    int n;
    while ((n = ::poll(&exited, 1, kExitWaitMs)) < 0 && errno == EINTR) {
    }
    if (n == 0) ::kill(pid_, SIGKILL);
    ::close(pidfd);
  }
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void guardian_register_self(int fd) noexcept { send_message(fd, ::getpid()); }

void guardian_forget(int fd, pid_t pgid) noexcept { send_message(fd, -pgid); }

}  // namespace solocron::detail
