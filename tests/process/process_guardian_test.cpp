// The guardian: when the node dies, however it dies, the process groups of its runs die too.
//
// A "node" is this test binary run again with only GuardianNode.DISABLED_Node selected and a
// scenario in its environment: a real, separate process that can be SIGKILLed (forking the
// test process and starting threads in the fork is not safe under TSan). The test process is a
// subreaper, so the orphans of a dead node become its children: whatever survives shows up in
// expect_no_process_left().
#include <spawn.h>

#include <fstream>
#include <map>

#include "process_test_support.hpp"

extern char** environ;

namespace solocron::detail::testing {
namespace {

constexpr const char* kScenarioVariable = "SOLOCRON_TEST_NODE_SCENARIO";
constexpr const char* kReportVariable = "SOLOCRON_TEST_NODE_REPORT";
constexpr std::string_view kGuardianName = "solocron-guard";
constexpr std::size_t kManyJobs = 200;

// What a node tells the test, one "key number..." line per fact.
using Report = std::map<std::string, std::vector<pid_t>>;

pid_t only_guardian_of(pid_t node) {
  std::vector<pid_t> found;
  // Its name is set right after the fork; until then it bears the node's.
  eventually([&] { return (found = living_children(node, kGuardianName)).size() == 1; });
  return found.size() == 1 ? found[0] : 0;
}

std::size_t descriptor_count(pid_t pid) {
  std::error_code error;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", error), end;
       !error && it != end; it.increment(error)) {
    ++n;
  }
  return n;
}

// The node is dead by then: a survivor is reported, then killed.
void expect_gone(const std::vector<pid_t>& pids) {
  for (pid_t pid : survivors(pids, 10s)) {
    ADD_FAILURE() << "process " << pid << " survived";
    ::kill(pid, SIGKILL);
  }
}

// ---- the node ----

void write_report(const std::string& path, const Report& report) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial);
    for (const auto& [key, values] : report) {
      out << key;
      for (pid_t value : values) out << ' ' << value;
      out << '\n';
    }
  }
  std::filesystem::rename(partial, path);  // the test never reads half a report
}

// The pids that the node's jobs print, every word of every line.
class PrintedPids {
 public:
  LineCallback callback() {
    return [this](std::string_view line, bool) {
      std::istringstream words{std::string(line)};
      std::lock_guard lock(mu_);
      for (pid_t pid; words >> pid;) pids_.push_back(pid);
      cv_.notify_all();
    };
  }
  std::vector<pid_t> wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kDeadline, [&] { return pids_.size() >= n; });
    return pids_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pid_t> pids_;
};

[[noreturn]] void wait_to_be_killed() {
  while (true) ::pause();
}

// Scenarios: "race" SIGKILLs itself right after a start(); "burst" keeps starting jobs until
// the test kills it; "many" runs kManyJobs jobs; the others run a job with a background child
// in its group and a plain one, report their pids, then wait to be killed ("wait", "fork":
// after forking a process that keeps the node's descriptors), _exit without destroying the
// runner ("exit"), or destroy it and report what is left ("destroy").
void run_node(const std::string& scenario, const std::string& report_path) {
  PrintedPids printed;
  auto* runner = new ProcessRunner();  // deleted only in "destroy"
  Report report;
  report["guarded"] = {runner->guarded() ? 1 : 0};
  report["guardian"] = {only_guardian_of(::getpid())};
  if (scenario == "race") {
    write_report(report_path, report);
    runner->start(command({"sleep", "300"}), nullptr, nullptr);
    ::kill(::getpid(), SIGKILL);
  }
  if (scenario == "burst") {
    write_report(report_path, report);
    for (int i = 0; i < 300; ++i) runner->start(command({"sleep", "300"}), nullptr, nullptr);
    wait_to_be_killed();
  }
  std::size_t pids = 3;
  if (scenario == "many") {
    for (std::size_t i = 0; i < kManyJobs; ++i)
      runner->start(shell("echo $$; exec sleep 300"), printed.callback(), nullptr);
    pids = kManyJobs;
  } else {
    runner->start(shell("sleep 300 & echo $$ $!; sleep 300"), printed.callback(), nullptr);
    runner->start(shell("echo $$; exec sleep 300"), printed.callback(), nullptr);
  }
  report["jobs"] = printed.wait_for(pids);
  if (scenario == "fork") {
    // Holds the node's end of the guardian's socket, as a fork without exec elsewhere in the
    // node would.
    const pid_t holder = ::fork();
    if (holder == 0) wait_to_be_killed();
    report["holder"] = {holder};
  }
  if (scenario == "destroy") {
    delete runner;
    pid_t left = 0;
    for (pid_t pid : living_children()) left += exits_within(pid, 10s) ? 0 : 1;
    report["left"] = {left};
  }
  write_report(report_path, report);
  if (scenario == "exit" || scenario == "destroy") ::_exit(0);
  wait_to_be_killed();
}

TEST(GuardianNode, DISABLED_Node) {
  const char* scenario = std::getenv(kScenarioVariable);
  const char* report = std::getenv(kReportVariable);
  if (scenario == nullptr || report == nullptr) GTEST_SKIP() << "the node of the guardian tests";
  run_node(scenario, report);
}

// ---- the test side ----

// A node process in a process group of its own, as a daemon started from a shell would be.
class NodeProcess {
 public:
  explicit NodeProcess(const std::string& scenario) : dir_(make_temp_dir()) {
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    std::vector<std::string> args = {exe, "--gtest_filter=GuardianNode.DISABLED_Node",
                                     "--gtest_also_run_disabled_tests"};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    env.push_back(std::string(kScenarioVariable) + "=" + scenario);
    env.push_back(std::string(kReportVariable) + "=" + (dir_ / "report").string());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);  // gtest's chatter
    if (::posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  ~NodeProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    std::filesystem::remove_all(dir_);
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  void signal_group(int sig) const { ::kill(-pid_, sig); }

  // What the node reported; empty if it ended without writing a report.
  Report report() {
    const auto path = dir_ / "report";
    eventually([&] { return std::filesystem::exists(path) || ended(); }, kDeadline);
    Report report;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string key;
      words >> key;
      auto& values = report[key];
      for (pid_t value; words >> value;) values.push_back(value);
    }
    return report;
  }

  // The node's wait status, once it has ended.
  int wait() {
    while (!status_) {
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_)
        status_ = status;
      else if (errno != EINTR)
        status_ = -1;
    }
    return *status_;
  }

 private:
  bool ended() {
    int status = 0;
    if (!status_ && ::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
    return status_.has_value();
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

bool killed_by(int status, int sig) { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }

class GuardianNodeTest : public ::testing::Test {
 protected:
  void TearDown() override { expect_no_process_left(); }

  // Starts a node and returns its report, which shows it guarded and its jobs running.
  static Report started(NodeProcess& node, std::size_t jobs) {
    Report report = node.report();
    EXPECT_EQ(report["guarded"], std::vector<pid_t>{1});
    EXPECT_EQ(report["guardian"].size(), 1u);
    EXPECT_EQ(report["jobs"].size(), jobs);
    return report;
  }
};

TEST_F(GuardianNodeTest, KilledNodeTakesEveryProcessOfItsRunsAlong) {
  NodeProcess node("wait");
  const Report report = started(node, 3);
  node.signal(SIGKILL);
  EXPECT_TRUE(killed_by(node.wait(), SIGKILL));
  expect_gone(report.at("jobs"));
  expect_gone(report.at("guardian"));
}

TEST_F(GuardianNodeTest, NodeExitingWithoutDestroyingItsRunnerTakesItsRunsAlong) {
  NodeProcess node("exit");
  const Report report = started(node, 3);
  const int status = node.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_gone(report.at("jobs"));
  expect_gone(report.at("guardian"));
}

TEST_F(GuardianNodeTest, DestroyedRunnerLeavesNeitherRunsNorGuardian) {
  NodeProcess node("destroy");
  const Report report = started(node, 3);
  EXPECT_EQ(report.at("left"), std::vector<pid_t>{0}) << "the node still had living children";
  const int status = node.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_gone(report.at("jobs"));
}

TEST_F(GuardianNodeTest, JobStartedJustBeforeTheNodeIsKilledIsKilledToo) {
  // The node SIGKILLs itself as soon as start() returns: the registration is still queued.
  for (int i = 0; i < 20 && !HasFailure(); ++i) {
    NodeProcess node("race");
    EXPECT_EQ(node.report()["guarded"], std::vector<pid_t>{1});
    EXPECT_TRUE(killed_by(node.wait(), SIGKILL)) << "round " << i;
    expect_no_process_left();
  }
}

TEST_F(GuardianNodeTest, JobsBeingStartedWhenTheNodeIsKilledAreKilledToo) {
  // Killed at varying points of a stream of starts, sometimes between a fork and its exec.
  for (int i = 0; i < 10 && !HasFailure(); ++i) {
    NodeProcess node("burst");
    EXPECT_EQ(node.report()["guarded"], std::vector<pid_t>{1});
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * i));
    node.signal(SIGKILL);
    EXPECT_TRUE(killed_by(node.wait(), SIGKILL)) << "round " << i;
    expect_no_process_left();
  }
}

TEST_F(GuardianNodeTest, GuardianIgnoresTheNodesSignalsAndOutlivesIt) {
  NodeProcess node("wait");
  const Report report = started(node, 3);
  ASSERT_EQ(report.at("guardian").size(), 1u);
  const pid_t guardian = report.at("guardian")[0];
  const auto guardian_stat = read_stat(guardian);
  const auto node_stat = read_stat(node.pid());
  ASSERT_TRUE(guardian_stat && node_stat);
  // A session of its own: the node's terminal and process group do not reach it.
  EXPECT_NE(guardian_stat->session, node_stat->session);
  EXPECT_NE(guardian_stat->pgrp, node_stat->pgrp);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGTSTP, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM})
    ::kill(guardian, sig);
  node.signal_group(SIGINT);  // Ctrl-C
  EXPECT_TRUE(killed_by(node.wait(), SIGINT));
  expect_gone(report.at("jobs"));  // the guardian was still there to kill them
  EXPECT_TRUE(exits_within(guardian, 10s)) << "the guardian outlived its work";
}

TEST_F(GuardianNodeTest, ProcessForkedByTheNodeDoesNotKeepTheGuardianWaiting) {
  NodeProcess node("fork");
  const Report report = started(node, 3);
  ASSERT_EQ(report.at("holder").size(), 1u);
  node.signal(SIGKILL);
  EXPECT_TRUE(killed_by(node.wait(), SIGKILL));
  // The node's pidfd told the guardian, though its socket is still open in the holder.
  expect_gone(report.at("jobs"));
  expect_gone(report.at("guardian"));
  ::kill(report.at("holder")[0], SIGKILL);
  expect_gone(report.at("holder"));
}

TEST_F(GuardianNodeTest, ManyConcurrentRunsAreAllKilled) {
  NodeProcess node("many");
  const Report report = started(node, kManyJobs);
  node.signal(SIGKILL);
  EXPECT_TRUE(killed_by(node.wait(), SIGKILL));
  expect_gone(report.at("jobs"));
}

// ---- the guardian of a runner in this process ----

class GuardianTest : public ::testing::Test {
 protected:
  void TearDown() override {
    runner_.reset();
    expect_no_process_left();
  }
  std::optional<ProcessRunner> runner_{std::in_place};
};

TEST_F(GuardianTest, IsAQuietProcessOfItsOwnThatTheRunnerReaps) {
  EXPECT_TRUE(runner_->guarded());
  const pid_t guardian = only_guardian_of(::getpid());
  ASSERT_GT(guardian, 0);
  // Nothing of the node's but its socket and the node's pidfd: no pipe of another run, no
  // terminal, no working directory, no session.
  EXPECT_TRUE(eventually([&] { return descriptor_count(guardian) == 2; }))
      << descriptor_count(guardian) << " descriptors";
  EXPECT_TRUE(eventually([&] {
    std::error_code error;
    return std::filesystem::read_symlink("/proc/" + std::to_string(guardian) + "/cwd", error) ==
           "/";
  }));
  EXPECT_NE(read_stat(guardian)->session, ::getsid(0));
  runner_.reset();
  const int rc = ::kill(guardian, 0);
  const int error = errno;
  EXPECT_EQ(rc, -1) << "the guardian was not reaped";
  EXPECT_EQ(error, ESRCH);
}

TEST_F(GuardianTest, GuardiansForkedWhileOtherRunsStartKeepNoneOfTheirPipes) {
  // A guardian forked while another thread spawns a job inherits that job's pipe for a moment;
  // had it kept it, the run would end only when eof_grace ran out, as killed_lingering.
  std::vector<std::shared_ptr<ChildRun>> runs;
  std::thread starter([&] {
    for (int i = 0; i < 40; ++i) runs.push_back(start(*runner_, shell("echo $$")));
  });
  for (int i = 0; i < 10; ++i) {
    ProcessRunner other;
    EXPECT_TRUE(other.guarded());
    auto r = start(other, command({"true"}));
    ASSERT_TRUE(r->wait_exit());
    EXPECT_FALSE(r->result().killed_lingering);
  }
  starter.join();
  for (auto& r : runs) {
    ASSERT_TRUE(r->wait_exit());
    EXPECT_EQ(r->result().exit_code, 0);
    EXPECT_FALSE(r->result().killed_lingering);
  }
}

TEST_F(GuardianTest, AStoppedGuardianDoesNotHangTheDestructor) {
  const pid_t guardian = only_guardian_of(::getpid());
  ASSERT_GT(guardian, 0);
  ::kill(guardian, SIGSTOP);
  runner_.reset();  // waits a while, then kills and reaps it
  EXPECT_EQ(::kill(guardian, 0), -1) << "the guardian was not reaped";
}

TEST_F(GuardianTest, LosingTheGuardianIsReportedAndRunsGoOn) {
  const pid_t guardian = only_guardian_of(::getpid());
  ASSERT_GT(guardian, 0);
  ::kill(guardian, SIGKILL);
  EXPECT_TRUE(eventually([&] { return !runner_->guarded(); }));
  auto r = start(*runner_, shell("exit 3"));
  ASSERT_TRUE(r->wait_exit());
  EXPECT_EQ(r->result().exit_code, 3);
}

}  // namespace
}  // namespace solocron::detail::testing
