// ProcessRunner stopping processes: timeouts, terminate(), grandchildren, the destructor.
#include <string>

#include "process_test_support.hpp"

namespace solocron::detail::testing {
namespace {

class ProcessKillTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { runner_.emplace(options()); }
  void TearDown() override {
    runner_.reset();
    expect_no_process_left();
  }
  ProcessRunnerOptions options() const {
    ProcessRunnerOptions options;
    options.use_pidfd = GetParam();
    // Far beyond the waits below: a grandchild must die because its group was signalled,
    // not because the runner gave up waiting for the pipe to close.
    options.eof_grace = 300s;
    return options;
  }
  // The pid a script printed with `echo $!` as its first line.
  static pid_t first_line_pid(ChildRun& run) {
    EXPECT_TRUE(run.wait_stdout_lines(1));
    const auto lines = run.stdout_lines();
    return lines.empty() ? 0 : static_cast<pid_t>(std::stol(lines[0]));
  }

  std::optional<ProcessRunner> runner_;
};

INSTANTIATE_TEST_SUITE_P(ExitWatch, ProcessKillTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "pidfd" : "polling"; });

TEST_P(ProcessKillTest, TimeoutKillsTheChildAndItsChildren) {
  ProcessSpec spec = shell("sleep 100 & echo $!; sleep 100; wait");
  spec.timeout = 300ms;
  auto r = start(*runner_, spec);
  const pid_t grandchild = first_line_pid(*r);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(r->wait_exit());
  const ProcessResult res = r->result();
  EXPECT_TRUE(res.started);
  EXPECT_TRUE(res.timed_out);
  EXPECT_FALSE(res.terminated);
  EXPECT_EQ(res.signal, SIGTERM);
  EXPECT_GE(res.finished_at - res.started_at, 300ms);
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "grandchild " << grandchild << " survived";
  EXPECT_TRUE(exits_within(res.pid, 0ms)) << "main child not reaped";
}

TEST_P(ProcessKillTest, IgnoredSigtermIsFollowedBySigkillAfterTheGrace) {
  ProcessSpec spec = shell("trap '' TERM; sleep 100 & echo $!; sleep 100");
  spec.timeout = 200ms;
  spec.kill_grace = 500ms;
  auto r = start(*runner_, spec);
  const pid_t grandchild = first_line_pid(*r);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(r->wait_exit());
  const ProcessResult res = r->result();
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.signal, SIGKILL);
  EXPECT_GE(res.finished_at - res.started_at, 700ms);  // timeout + grace, never earlier
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "grandchild " << grandchild << " survived";
}

TEST_P(ProcessKillTest, NoTimeoutWhenTheChildIsFastEnough) {
  ProcessSpec spec = shell("exit 0");
  spec.timeout = 60s;
  auto r = start(*runner_, spec);
  ASSERT_TRUE(r->wait_exit());
  EXPECT_FALSE(r->result().timed_out);
  EXPECT_EQ(r->result().exit_code, 0);
}

TEST_P(ProcessKillTest, TerminateStopsTheGroup) {
  auto r = start(*runner_, shell("sleep 100 & echo $!; sleep 100; wait"));
  const pid_t grandchild = first_line_pid(*r);
  ASSERT_GT(grandchild, 0);
  runner_->terminate(r->id, 30s);
  ASSERT_TRUE(r->wait_exit());
  const ProcessResult res = r->result();
  EXPECT_TRUE(res.terminated);
  EXPECT_FALSE(res.timed_out);
  EXPECT_EQ(res.signal, SIGTERM);
  EXPECT_TRUE(exits_within(grandchild, 10s));
}

TEST_P(ProcessKillTest, TerminateEscalatesToSigkill) {
  auto r = start(*runner_, shell("trap '' TERM; echo ready; sleep 100"));
  ASSERT_TRUE(r->wait_stdout_lines(1));  // the trap is in place
  runner_->terminate(r->id, 300ms);
  ASSERT_TRUE(r->wait_exit());
  EXPECT_TRUE(r->result().terminated);
  EXPECT_EQ(r->result().signal, SIGKILL);
}

TEST_P(ProcessKillTest, TerminateOfUnknownOrFinishedIdsIsHarmless) {
  runner_->terminate(987654321, 0ms);
  auto r = start(*runner_, command({"true"}));
  ASSERT_TRUE(r->wait_exit());
  runner_->terminate(r->id, 0ms);
  auto after = start(*runner_, shell("exit 4"));
  ASSERT_TRUE(after->wait_exit());
  EXPECT_EQ(after->result().exit_code, 4);
  EXPECT_EQ(r->exit_count(), 1u);
  EXPECT_FALSE(r->result().terminated);
}

TEST_P(ProcessKillTest, GrandchildHoldingThePipeDoesNotDelayTheReportForever) {
  ProcessRunnerOptions options = this->options();
  options.eof_grace = 300ms;
  runner_.emplace(options);
  auto r = start(*runner_, shell("sleep 100 & echo $!; exit 5"));
  const pid_t grandchild = first_line_pid(*r);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(r->wait_exit());
  EXPECT_EQ(r->result().exit_code, 5);
  EXPECT_FALSE(r->result().terminated);
  EXPECT_TRUE(exits_within(grandchild, 10s)) << "the pipe holder of a finished run was kept";
}

TEST_P(ProcessKillTest, KillingABackgroundChildThatHeldTheOutputIsReported) {
  ProcessRunnerOptions options = this->options();
  options.eof_grace = 1s;  // the default
  runner_.emplace(options);
  auto holder = start(*runner_, shell("sleep 5 &"));
  auto detached = start(*runner_, shell("sleep 5 >/dev/null 2>&1 & echo $!"));
  const pid_t background = first_line_pid(*detached);
  ASSERT_GT(background, 0);
  ASSERT_TRUE(holder->wait_exit());
  ASSERT_TRUE(detached->wait_exit());
  EXPECT_TRUE(holder->result().killed_lingering);
  EXPECT_EQ(holder->result().exit_code, 0);
  EXPECT_FALSE(detached->result().killed_lingering);
  EXPECT_FALSE(exits_within(background, 0ms)) << "a detached background child was killed";
  ::kill(background, SIGKILL);
  EXPECT_TRUE(exits_within(background, 10s));
}

TEST_P(ProcessKillTest, AStoppedRunIsNotReportedAsLingering) {
  auto r = start(*runner_, shell("sleep 100 & echo $!; sleep 100"));
  ASSERT_GT(first_line_pid(*r), 0);
  runner_->terminate(r->id, 0ms);
  ASSERT_TRUE(r->wait_exit());
  EXPECT_TRUE(r->result().terminated);
  EXPECT_FALSE(r->result().killed_lingering);
}

TEST_P(ProcessKillTest, BackgroundProcessThatLetGoOfTheOutputIsNotKilled) {
  // Documented choice: only a process still holding the run's output is part of the run.
  auto r = start(*runner_, shell("sleep 100 >/dev/null 2>&1 & echo $!"));
  const pid_t background = first_line_pid(*r);
  ASSERT_GT(background, 0);
  ASSERT_TRUE(r->wait_exit());
  EXPECT_EQ(r->result().exit_code, 0);
  EXPECT_FALSE(exits_within(background, 0ms));
  ::kill(background, SIGKILL);
  EXPECT_TRUE(exits_within(background, 10s));
}

TEST_P(ProcessKillTest, DestructorKillsAndReportsEverythingStillRunning) {
  std::vector<std::shared_ptr<ChildRun>> runs;
  std::vector<pid_t> grandchildren;
  for (int i = 0; i < 3; ++i) {
    runs.push_back(start(*runner_, shell("trap '' TERM; sleep 100 & echo $!; sleep 100")));
    grandchildren.push_back(first_line_pid(*runs.back()));
    ASSERT_GT(grandchildren.back(), 0);
  }
  EXPECT_EQ(runner_->running(), 3u);
  runner_.reset();
  for (auto& r : runs) {
    ASSERT_EQ(r->exit_count(), 1u);  // delivered before the destructor returned
    EXPECT_TRUE(r->result().terminated);
    EXPECT_EQ(r->result().signal, SIGKILL);
    EXPECT_TRUE(exits_within(r->result().pid, 0ms));
  }
  for (pid_t pid : grandchildren) EXPECT_TRUE(exits_within(pid, 10s)) << pid << " survived";
}

}  // namespace
}  // namespace solocron::detail::testing
