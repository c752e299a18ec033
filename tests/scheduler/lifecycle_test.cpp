// Commands (argv, shell, env of the contract, output lines, failures, timeout) and shutdown
// (cluster contract section 9).
#include <filesystem>
#include <fstream>

#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

JobSpec command_job(std::string name, const std::string& expr, CommandSpec cmd) {
  JobSpec j;
  j.name = std::move(name);
  j.schedule = parse(expr);
  j.action = std::move(cmd);
  return j;
}

CommandSpec shell(std::string text) {
  CommandSpec c;
  c.shell = true;
  c.shell_command = std::move(text);
  return c;
}

TEST_F(SchedulerTest, CommandReceivesTheContractEnvironmentAndItsOutputIsObserved) {
  Scheduler& s = make();
  CommandSpec c = shell(
      "echo $SOLOCRON_JOB $SOLOCRON_SCHEDULED_AT $SOLOCRON_NODE $SOLOCRON_FENCE "
      "$SOLOCRON_ATTEMPT $EXTRA; echo oops >&2");
  c.env = {{"EXTRA", "x y"}, {"SOLOCRON_NODE", "forged"}};
  ASSERT_TRUE(s.add(command_job("env", "* * * * * *", c)));
  s.start();
  run_for(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1));
  const auto fin = rec.of(RunEventKind::finished, "env");
  EXPECT_EQ(fin[0].state, RunState::succeeded);
  EXPECT_EQ(fin[0].exit_code, 0);
  const auto lines = rec.lines("env");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "env 2026-01-01T00:00:01Z node-a " + std::to_string(fin[0].fence) + " 1 x y");
  EXPECT_EQ(lines[1], "oops");
  const auto out = rec.of(RunEventKind::output, "env");
  EXPECT_FALSE(out[0].from_stderr);
  EXPECT_TRUE(out[1].from_stderr);
  EXPECT_EQ(out[0].scheduled_at, utc(2026, 1, 1, 0, 0, 1));
  const auto h = history("env");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::succeeded);
  EXPECT_NE(h[0].output_tail.find("oops"), std::string::npos);
}

TEST_F(SchedulerTest, ArgvRunsWithoutAShellInItsWorkingDirectory) {
  Scheduler& s = make();
  CommandSpec c;
  c.argv = {"sh", "-c", "pwd; printf '%s\\n' \"$1\"", "sh", "a  $HOME b"};
  c.working_dir = "/tmp";
  ASSERT_TRUE(s.add(command_job("argv", "* * * * * *", c)));
  s.start();
  run_for(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1));
  EXPECT_EQ(rec.lines("argv"), (std::vector<std::string>{"/tmp", "a  $HOME b"}));
}

TEST_F(SchedulerTest, MissingBinaryIsAFailedRunAndOthersKeepRunning) {
  Scheduler& s = make();
  CommandSpec bad;
  bad.argv = {"/nonexistent/solocron-no-such-binary"};
  ASSERT_TRUE(s.add(command_job("bad", "* * * * * *", bad)));
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("good", "* * * * * *", calls.fn())));
  s.start();
  run_for(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 2));
  const auto fin = rec.of(RunEventKind::finished, "bad");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0].state, RunState::failed);
  EXPECT_NE(fin[0].message.find("cannot execute '/nonexistent/solocron-no-such-binary': No such file"),
            std::string::npos)
      << fin[0].message;
  EXPECT_EQ(history("bad").at(0).state, RunState::failed);
  EXPECT_EQ(history("bad").at(0).message, fin[0].message);
  run_for(2s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 6));
  EXPECT_EQ(calls.size(), 3u);
}

TEST_F(SchedulerTest, CommandTimeoutKillsTheProcessGroup) {
  Scheduler& s = make();
  JobSpec j = command_job("slow", "* * * * * *", shell("sleep 100 & sleep 100"));
  j.timeout = std::chrono::milliseconds(200);  // enforced by the process runner, in real time
  j.kill_grace = std::chrono::milliseconds(200);
  j.overlap = OverlapMode::forbid;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1));
  const auto fin = rec.of(RunEventKind::finished, "slow");
  EXPECT_EQ(fin[0].state, RunState::timed_out);
  EXPECT_TRUE(fin[0].signal.has_value());
  EXPECT_EQ(history("slow").at(0).state, RunState::timed_out);
}

// --- shutdown ---

TEST_F(SchedulerTest, ShutdownLetsRunsFinishWithinGraceAndReleasesTheLease) {
  Scheduler& s = make();
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", b.fn())));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  std::thread stopper([&] { s.shutdown(10s); });
  ASSERT_TRUE(eventually([&] { return !s.ready(); }));
  clock.advance(2s);  // within grace; nothing new is claimed
  b.gate.open();
  stopper.join();
  EXPECT_EQ(rec.of(RunEventKind::finished, "j").at(0).state, RunState::succeeded);
  EXPECT_EQ(history("j").size(), 1u);
  EXPECT_EQ(s.statistics().claims_won, 1u);
  for (const NodeLease& l : store.nodes()) EXPECT_NE(l.node_id, "node-a");
  s.shutdown();  // idempotent
}

TEST_F(SchedulerTest, ShutdownStopsRunsAfterGraceAndRecordsThemInterrupted) {
  NodeSettings settings = node_settings();
  settings.max_concurrent_runs = 1;
  Scheduler& s = make(settings);
  ASSERT_TRUE(s.add(callable_job("a", "* * * * * *", b.fn())));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  clock.advance(1s);  // the second occurrence waits for the slot, unclaimed
  ASSERT_TRUE(eventually([&] { return s.statistics().waiting == 1; }));
  std::thread stopper([&] { s.shutdown(5s); });
  ASSERT_TRUE(eventually([&] { return !s.ready(); }));
  // The waiting occurrence is left to other nodes at once (nothing claimed, nothing recorded).
  ASSERT_TRUE(rec.wait_count(RunEventKind::not_claimed, 1));
  // Timer, session, claimer and the drain itself wait on the clock.
  ASSERT_TRUE(eventually([&] { return clock.waiters() >= 4; }));
  // Second by second, letting the timers settle: one step of 4 s could reach the lease
  // deadline (node_ttl 5 s after the last renewal sent) before the session renews.
  tick_for(4s);
  EXPECT_EQ(b.started, 1);
  EXPECT_EQ(rec.count(RunEventKind::finished), 0u);
  clock.advance(1s);  // grace over: the running one is stopped
  stopper.join();
  const auto h = history("a");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::interrupted);
  EXPECT_EQ(h[0].message, "stopped: the node shut down");
  EXPECT_EQ(s.statistics().interrupted, 1u);
}

TEST_F(SchedulerTest, ShutdownTerminatesCommandsAfterGrace) {
  Scheduler& s = make();
  JobSpec j = command_job("sleepy", "* * * * * *", shell("sleep 100"));
  j.kill_grace = std::chrono::milliseconds(500);
  j.overlap = OverlapMode::forbid;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  std::thread stopper([&] { s.shutdown(1s); });
  ASSERT_TRUE(eventually([&] { return !s.ready(); }));
  ASSERT_TRUE(eventually([&] { return clock.waiters() >= 4; }));
  clock.advance(1s);
  const bool finished = rec.wait_count(RunEventKind::finished, 1);
  stopper.join();
  ASSERT_TRUE(finished) << rec.dump();
  const auto fin = rec.of(RunEventKind::finished, "sleepy");
  EXPECT_EQ(fin[0].state, RunState::interrupted);
  EXPECT_EQ(fin[0].signal, 15);
  EXPECT_EQ(history("sleepy").at(0).state, RunState::interrupted);
}

// Issue: a job that ignores SIGTERM was recorded lost: the node had stopped renewing its
// lease. It is SIGKILLed after its kill_grace and recorded interrupted by its own node, which
// releases its lease only after that.
TEST_F(SchedulerTest, ShutdownKillsAJobThatIgnoresSigtermAndRecordsItInterrupted) {
  Scheduler& s = make();
  const std::string ready = ::testing::TempDir() + "/stubborn-ready-" + std::to_string(::getpid());
  std::remove(ready.c_str());
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_ready{ready};
  // An ignored SIGTERM stays ignored across exec.
  JobSpec j = command_job("stubborn", "* * * * * *",
                          shell("trap '' TERM; echo ready > " + ready + "; exec sleep 100"));
  j.kill_grace = std::chrono::milliseconds(300);
  j.overlap = OverlapMode::forbid;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  ASSERT_TRUE(eventually([&] { return std::ifstream(ready).good(); }));
  std::thread stopper([&] { s.shutdown(1s); });
  ASSERT_TRUE(eventually([&] { return !s.ready(); }));
  ASSERT_TRUE(eventually([&] { return clock.waiters() >= 4; }));
  clock.advance(1s);  // grace over: SIGTERM (ignored), SIGKILL 300 ms later
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1)) << rec.dump();
  stopper.join();
  const auto fin = rec.of(RunEventKind::finished, "stubborn");
  EXPECT_EQ(fin[0].state, RunState::interrupted);
  EXPECT_EQ(fin[0].signal, 9);
  const auto h = history("stubborn");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::interrupted);
  EXPECT_EQ(h[0].message, "stopped: the node shut down");
  EXPECT_EQ(s.statistics().lost, 0u);
  const auto released = rec.of(RunEventKind::lease_released);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].message, "released the lease of node node-a");
}

}  // namespace
}  // namespace solocron::testing
