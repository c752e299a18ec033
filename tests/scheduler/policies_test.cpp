// Policies: overlap (allow/forbid/replace, locally and through the store), timeout,
// max_concurrent_runs queueing, pause/resume, run_now, remove/update while running, apply().
#include <atomic>
#include <thread>

#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

class Overlap : public SchedulerTest, public ::testing::WithParamInterface<RunOn> {};

TEST_P(Overlap, AllowRunsConcurrently) {
  Scheduler& s = make();
  JobSpec j = callable_job("j", "* * * * * *", b.fn());
  j.run_on = GetParam();
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 2));
  EXPECT_EQ(s.find("j")->active_runs, 2u);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(s.statistics().succeeded, 2u);
}

TEST_P(Overlap, ForbidSkipsWhilePreviousRuns) {
  Scheduler& s = make();
  JobSpec j = callable_job("j", "* * * * * *", b.fn());
  j.run_on = GetParam();
  j.overlap = OverlapMode::forbid;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::skipped_overlap, 1))
      << rec.dump() << " next " << s.find("j")->next_fire->time_since_epoch().count() << " last "
      << s.find("j")->last_fired->time_since_epoch().count() << " now "
      << std::chrono::floor<std::chrono::seconds>(clock.now()).time_since_epoch().count()
      << " waiters " << clock.waiters() << " claims " << s.statistics().claims_won << "/"
      << s.statistics().claims_taken << " fired " << s.statistics().fired;
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::skipped_overlap, 2));
  EXPECT_TRUE(eventually([&] { return b.started == 1; }));
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  clock.advance(1s);  // the previous run finished: this one runs
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(b.started, 2);
  EXPECT_EQ(s.statistics().skipped_overlap, 2u);
  if (GetParam() != RunOn::local) {
    auto h = history("j");
    ASSERT_EQ(h.size(), 4u);
    EXPECT_EQ(h[1].state, RunState::skipped_overlap);
    EXPECT_EQ(h[2].state, RunState::skipped_overlap);
  }
}

TEST_P(Overlap, ReplaceStopsThePreviousRun) {
  Scheduler& s = make();
  JobSpec j = callable_job("j", "* * * * * *", b.fn());
  j.run_on = GetParam();
  j.overlap = OverlapMode::replace;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 2));
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1));
  EXPECT_EQ(b.stopped, 1);
  auto fin = rec.of(RunEventKind::finished, "j");
  EXPECT_EQ(fin[0].state, RunState::interrupted);
  // (0 when the replaced run's batched `running` mark was refused first: it stopped as fenced.)
  EXPECT_LE(s.statistics().replaced, 1u);
  // Through the store, the replaced run's final write is rejected by its fence (and logged);
  // so is its batched `running` mark when the replacing claim got there first.
  if (GetParam() == RunOn::local) {
    EXPECT_EQ(s.statistics().stale_writes, 0u);
  } else {
    EXPECT_GE(s.statistics().stale_writes, 1u);
    EXPECT_LE(s.statistics().stale_writes, 2u);
  }
  if (GetParam() != RunOn::local) {
    EXPECT_EQ(history("j").at(0).state, RunState::interrupted);
  }
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
}

INSTANTIATE_TEST_SUITE_P(RunOn, Overlap, ::testing::Values(RunOn::local, RunOn::once),
                         [](const auto& info) {
                           return info.param == RunOn::local ? "local" : "store";
                         });

TEST_F(SchedulerTest, CallableTimeoutRequestsStopAndRecordsTimedOut) {
  Scheduler& s = make();
  JobSpec j = callable_job("slow", "0 * * * * *", b.fn());
  j.timeout = 3s;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  tick_for(60s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  tick_for(2s);
  EXPECT_EQ(b.stopped, 0);
  tick_for(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1));
  EXPECT_EQ(b.stopped, 1);
  EXPECT_EQ(rec.of(RunEventKind::finished, "slow")[0].state, RunState::timed_out);
  EXPECT_EQ(history("slow").at(0).state, RunState::timed_out);
  EXPECT_EQ(s.statistics().timed_out, 1u);
}

// A node claims only what it can start now (a free slot): the rest waits unclaimed, so that
// other nodes can take it, and is claimed here as slots free up.
TEST_F(SchedulerTest, MaxConcurrentRunsClaimsOnlyWhatCanStart) {
  NodeSettings settings = node_settings();
  settings.max_concurrent_runs = 2;
  Scheduler& s = make(settings);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.add(callable_job("j" + std::to_string(i), "0 * * * * *", b.fn())));
  }
  s.start();
  tick_for(60s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 2));
  ASSERT_TRUE(eventually([&] { return b.started == 2; }));
  Statistics st = s.statistics();
  EXPECT_EQ(st.claims_won, 2u);
  EXPECT_EQ(st.running, 2u);
  EXPECT_EQ(st.waiting, 3u);
  EXPECT_EQ(st.queued, 0u);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  st = s.statistics();
  EXPECT_EQ(st.claims_won, 5u);
  EXPECT_EQ(st.succeeded, 5u);
  EXPECT_EQ(st.running, 0u);
  EXPECT_EQ(st.waiting, 0u);
}

// Local runs are nobody else's: they queue for a slot.
TEST_F(SchedulerTest, MaxConcurrentRunsQueuesLocalRuns) {
  NodeSettings settings = node_settings();
  settings.max_concurrent_runs = 2;
  Scheduler& s = make(settings);
  for (int i = 0; i < 5; ++i) {
    JobSpec j = callable_job("j" + std::to_string(i), "0 * * * * *", b.fn());
    j.run_on = RunOn::local;
    ASSERT_TRUE(s.add(std::move(j)));
  }
  s.start();
  tick_for(60s);
  ASSERT_TRUE(eventually([&] { return b.started == 2; }));
  Statistics st = s.statistics();
  EXPECT_EQ(st.running, 2u);
  EXPECT_EQ(st.queued, 3u);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  st = s.statistics();
  EXPECT_EQ(st.succeeded, 5u);
  EXPECT_EQ(st.queued, 0u);
}

// A local run waiting for a slot is only an entry in the queue until it starts: replaced or
// shut down there, it is still reported once, as not started.
TEST_F(SchedulerTest, AQueuedLocalRunIsReplacedBeforeItStarts) {
  NodeSettings settings = node_settings();
  settings.max_concurrent_runs = 1;
  Scheduler& s = make(settings);
  JobSpec hog = callable_job("hog", "0 * * * * *", b.fn());
  hog.run_on = RunOn::local;
  ASSERT_TRUE(s.add(std::move(hog)));
  s.start();
  tick_for(60s);  // the hog takes the one slot at the minute
  ASSERT_TRUE(eventually([&] { return b.started == 1; }));
  std::atomic<int> ran{0};
  JobSpec r = callable_job("r", "* * * * * *", [&](const RunContext&) { return ++ran, 0; });
  r.run_on = RunOn::local;
  r.overlap = OverlapMode::replace;
  ASSERT_TRUE(s.add(std::move(r)));  // queues behind the hog, second by second
  tick_for(4s);
  // Each newer occurrence of r replaced the one queued before it, which never starts; the
  // replaced ones are reported when a slot frees and a worker takes them off the queue.
  ASSERT_TRUE(eventually([&] { return s.statistics().replaced == 3; }));
  EXPECT_EQ(s.statistics().queued, 4u);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(ran, 1);
  const auto fin = rec.of(RunEventKind::finished, "r");
  ASSERT_EQ(fin.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(fin[i].state, RunState::interrupted);
    EXPECT_EQ(fin[i].message, "not started: replaced by a newer occurrence (overlap: replace)");
  }
  EXPECT_EQ(fin[3].state, RunState::succeeded);
  EXPECT_EQ(s.statistics().queued, 0u);
}

TEST_F(SchedulerTest, QueuedLocalRunsAreReportedOnShutdown) {
  NodeSettings settings = node_settings();
  settings.max_concurrent_runs = 1;
  Scheduler& s = make(settings);
  for (int i = 0; i < 4; ++i) {
    JobSpec j = callable_job("j" + std::to_string(i), "0 * * * * *", b.fn());
    j.run_on = RunOn::local;
    ASSERT_TRUE(s.add(std::move(j)));
  }
  s.start();
  tick_for(60s);
  ASSERT_TRUE(eventually([&] { return b.started == 1 && s.statistics().queued == 3; }));
  std::thread stopper([&] { s.shutdown(10s); });
  // The queued ones are let go at once; the running one finishes within the grace.
  ASSERT_TRUE(eventually([&] { return rec.of(RunEventKind::finished).size() == 3; }));
  b.gate.open();
  stopper.join();
  const auto fin = rec.of(RunEventKind::finished);
  ASSERT_EQ(fin.size(), 4u);
  int not_started = 0;
  for (const RunEvent& e : fin) {
    const bool queued = e.message == "not started: the node shut down";
    EXPECT_EQ(e.state, queued ? RunState::interrupted : RunState::succeeded) << e.message;
    not_started += queued;
  }
  EXPECT_EQ(not_started, 3);
  EXPECT_EQ(b.started, 1);
  EXPECT_EQ(s.statistics().queued, 0u);
}

TEST_F(SchedulerTest, PoolGrowsWhenEveryWorkerIsBlocked) {
  Scheduler& s = make();  // max_concurrent_runs 64; 2 workers at start
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(s.add(callable_job("j" + std::to_string(i), "0 * * * * *", b.fn())));
  }
  s.start();
  run_for(59s);
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] { return b.started == 2; }));
  ASSERT_TRUE(rec.wait_count(RunEventKind::claimed, 12));
  // Claimed, marked running, and waiting for a worker.
  EXPECT_TRUE(eventually([&] { return s.statistics().queued == 10; })) << s.statistics().queued;
  // Queued runs that see no start for 1 ms get more threads.
  // (A check armed before the last start saw progress and re-armed: it may take two.)
  for (int i = 0; i < 10 && b.started < 12; ++i) {
    clock.advance(std::chrono::milliseconds(1));
    eventually([&] { return b.started == 12; }, std::chrono::milliseconds(200));
  }
  EXPECT_EQ(b.started, 12);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(s.statistics().succeeded, 12u);
}

TEST_F(SchedulerTest, PauseAndResume) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", calls.fn())));
  s.start();
  run_for(2s);
  ASSERT_TRUE(s.pause("j"));
  EXPECT_TRUE(s.find("j")->paused);
  EXPECT_FALSE(s.find("j")->next_fire);
  run_for(5s);
  EXPECT_EQ(calls.size(), 2u);
  ASSERT_TRUE(s.resume("j"));
  run_for(2s);
  EXPECT_EQ(calls.size(), 4u);
  EXPECT_FALSE(s.pause("nope"));
  EXPECT_EQ(s.pause("nope").error(), "job \"nope\" does not exist");
}

TEST_F(SchedulerTest, RunNowRunsImmediately) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("daily", "0 0 3 * * *", calls.fn())));
  EXPECT_FALSE(s.run_now("daily"));  // not started
  s.start();
  clock.advance(1500ms);
  ASSERT_TRUE(s.run_now("daily"));
  ASSERT_TRUE(s.wait_idle());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls.contexts()[0].scheduled_at, std::chrono::floor<std::chrono::seconds>(clock.now()));
  EXPECT_GT(calls.contexts()[0].fence, 0);
}

TEST_F(SchedulerTest, RemoveWhileRunningLetsTheRunFinish) {
  Scheduler& s = make();
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", b.fn())));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  ASSERT_TRUE(s.remove("j"));
  EXPECT_FALSE(s.find("j"));
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  run_for(3s);
  EXPECT_EQ(b.started, 1);
  EXPECT_EQ(history("j").at(0).state, RunState::succeeded);
  // The name can be reused at once.
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", calls.fn())));
  run_for(1s);
  EXPECT_EQ(calls.size(), 1u);
}

TEST_F(SchedulerTest, UpdateWhileRunningKeepsTheOldActionForTheRun) {
  Scheduler& s = make();
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", b.fn())));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 1));
  Calls calls;
  ASSERT_TRUE(s.update(callable_job("j", "*/5 * * * * *", calls.fn())));
  EXPECT_EQ(s.find("j")->spec.schedule.text(), "*/5 * * * * *");
  tick_for(10s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 2, "j"));
  EXPECT_EQ(b.started, 1);  // the old action ran once, the new one takes over
  EXPECT_EQ(calls.size(), 2u);
  for (auto t : calls.instants()) EXPECT_EQ(t.time_since_epoch().count() % 5, 0);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_FALSE(s.update(callable_job("other", "* * * * * *", calls.fn())));
}

TEST_F(SchedulerTest, AddRejectsBadJobs) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("j", "* * * * * *", calls.fn())));
  EXPECT_EQ(s.add(callable_job("j", "* * * * * *", calls.fn())).error(), "job \"j\" already exists");
  EXPECT_EQ(s.add(callable_job("a b", "* * * * * *", calls.fn())).error(),
            "job name \"a b\" must match [A-Za-z0-9_.-]{1,128}");
  JobSpec empty_cmd;
  empty_cmd.name = "c";
  empty_cmd.schedule = parse("* * * * *");
  empty_cmd.action = CommandSpec{};
  EXPECT_EQ(s.add(empty_cmd).error(), "job \"c\": command is empty");
  JobSpec bad_http = empty_cmd;
  bad_http.action = HttpSpec{.url = "http://u:hunter2@h:0/", .headers = {}, .body = {}, .ca_file = {}};
  EXPECT_EQ(s.add(bad_http).error(), "job \"c\": http.url: the port must be a number 1-65535");
  bad_http.action = HttpSpec{.url = "http://h/", .headers = {}, .body = {}, .success = {{299, 200}}, .ca_file = {}};
  EXPECT_EQ(s.add(bad_http).error(),
            "job \"c\": http.success: 299-200 is not a range of HTTP statuses within 100-599");
  JobSpec no_schedule = callable_job("n", "* * * * *", calls.fn());
  no_schedule.schedule = Schedule();
  EXPECT_EQ(s.add(no_schedule).error(), "job \"n\": schedule is empty");
}

TEST_F(SchedulerTest, ApplyReconcilesTheWholeList) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("keep", "* * * * * *", calls.fn())));
  ASSERT_TRUE(s.add(callable_job("gone", "* * * * * *", b.fn())));
  JobSpec cmd;
  cmd.name = "cmd";
  cmd.schedule = parse("0 0 * * *");
  CommandSpec true_cmd;
  true_cmd.argv = {"true"};
  cmd.action = true_cmd;
  ASSERT_TRUE(s.add(cmd));
  s.start();
  clock.advance(1s);
  ASSERT_TRUE(rec.wait_count(RunEventKind::started, 2));  // "gone" now runs (blocked)

  std::vector<JobSpec> next;
  next.push_back(callable_job("keep", "* * * * * *", calls.fn()));
  JobSpec cmd2 = cmd;
  std::get<CommandSpec>(cmd2.action).argv = {"false"};
  next.push_back(cmd2);
  next.push_back(callable_job("new", "*/2 * * * * *", calls.fn()));
  next.push_back(callable_job("new", "* * * * * *", calls.fn()));  // duplicate
  next.push_back(callable_job("bad name", "* * * * * *", calls.fn()));
  const ApplyResult r = s.apply(std::move(next));
  EXPECT_EQ(r.added, std::vector<std::string>{"new"});
  EXPECT_EQ(r.removed, std::vector<std::string>{"gone"});
  EXPECT_EQ(r.changed, std::vector<std::string>{"cmd"});
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].second, "job \"new\" is defined twice");
  EXPECT_EQ(r.errors[1].second, "job name \"bad name\" must match [A-Za-z0-9_.-]{1,128}");
  EXPECT_EQ(std::get<CommandSpec>(s.find("cmd")->spec.action).argv, std::vector<std::string>{"false"});
  // The run in progress of the removed job is untouched and finishes.
  EXPECT_EQ(b.stopped, 0);
  b.gate.open();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(rec.of(RunEventKind::finished, "gone").at(0).state, RunState::succeeded);
  std::vector<std::string> names;
  for (const JobInfo& j : s.list()) names.push_back(j.spec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cmd", "keep", "new"}));

  // An invalid new definition of an existing job keeps the old one.
  std::vector<JobSpec> again;
  again.push_back(callable_job("keep", "* * * * * *", calls.fn()));
  JobSpec broken = cmd2;
  std::get<CommandSpec>(broken.action).argv.clear();
  again.push_back(broken);
  const ApplyResult r2 = s.apply(std::move(again));
  EXPECT_EQ(r2.removed, std::vector<std::string>{"new"});
  ASSERT_EQ(r2.errors.size(), 1u);
  EXPECT_EQ(r2.errors[0].first, "cmd");
  ASSERT_TRUE(s.find("cmd"));
}

}  // namespace
}  // namespace solocron::testing
