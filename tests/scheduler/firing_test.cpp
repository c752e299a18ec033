// Firing: occurrences run once each, at the instants Schedule::next yields (DST included),
// with the fields of the cluster contract, under every run_on placement.
#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

TEST_F(SchedulerTest, EverySecondJobRunsEachOccurrenceOnceWithContext) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("tick", "* * * * * *", calls.fn())));
  s.start();
  ASSERT_TRUE(s.ready()) << s.status();
  run_for(10s);
  const auto t0 = sys_seconds(std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart));
  std::vector<sys_seconds> expected;
  for (int i = 1; i <= 10; ++i) expected.push_back(t0 + std::chrono::seconds(i));
  EXPECT_EQ(calls.instants(), expected);
  std::int64_t last_fence = 0;
  for (const RunContext& c : calls.contexts()) {
    EXPECT_EQ(c.job, "tick");
    EXPECT_EQ(c.node, "node-a");
    EXPECT_EQ(c.attempt, 1);
    EXPECT_GT(c.fence, last_fence);  // fences grow with each claim
    last_fence = c.fence;
  }
  const auto h = history("tick");
  ASSERT_EQ(h.size(), 10u);
  for (const RunRecord& r : h) {
    EXPECT_EQ(r.state, RunState::succeeded);
    EXPECT_EQ(r.node, "node-a");
    EXPECT_EQ(r.key.node, "");
  }
  const Statistics st = s.statistics();
  EXPECT_EQ(st.claims_won, 10u);
  EXPECT_EQ(st.succeeded, 10u);
  EXPECT_EQ(rec.count(RunEventKind::started, "tick"), 10u);
  EXPECT_EQ(rec.count(RunEventKind::finished, "tick"), 10u);
}

TEST_F(SchedulerTest, FailedCallableAndExceptionAreFailures) {
  Scheduler& s = make();
  ASSERT_TRUE(s.add(callable_job("rc", "* * * * * *", [](const RunContext&) { return 3; })));
  ASSERT_TRUE(s.add(callable_job("throws", "* * * * * *", [](const RunContext&) -> int {
    throw std::runtime_error("boom");
  })));
  s.start();
  run_for(1s);
  // A thrown exception unwinds slowly under the sanitizers: the outcome may land after the
  // fake second's idle point, so wait for both (bounded, real time), then check there is one.
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1, "rc"));
  ASSERT_TRUE(rec.wait_count(RunEventKind::finished, 1, "throws"));
  auto rc = rec.of(RunEventKind::finished, "rc");
  ASSERT_EQ(rc.size(), 1u);
  EXPECT_EQ(rc[0].state, RunState::failed);
  EXPECT_EQ(rc[0].exit_code, 3);
  auto th = rec.of(RunEventKind::finished, "throws");
  ASSERT_EQ(th.size(), 1u);
  EXPECT_EQ(th[0].state, RunState::failed);
  // Why it failed is the run's message, in the event and in the record (the output tail is
  // what the job printed).
  EXPECT_EQ(th[0].message, "exception: boom");
  EXPECT_EQ(history("throws").at(0).message, "exception: boom");
  EXPECT_EQ(s.statistics().failed, 2u);
}

TEST_F(SchedulerTest, RunOnLocalUsesNoStoreAndFenceZero) {
  Scheduler& s = make();
  Calls calls;
  JobSpec j = callable_job("local", "* * * * * *", calls.fn());
  j.run_on = RunOn::local;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(3s);
  ASSERT_EQ(calls.size(), 3u);
  for (const auto& c : calls.contexts()) EXPECT_EQ(c.fence, 0);
  EXPECT_TRUE(history("local").empty());
  EXPECT_EQ(s.statistics().claims_won, 0u);
}

TEST_F(SchedulerTest, RunOnEveryNodeKeysOccurrenceByNode) {
  Scheduler& s = make();
  Calls calls;
  JobSpec j = callable_job("each", "* * * * * *", calls.fn());
  j.run_on = RunOn::every_node;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(2s);
  ASSERT_EQ(calls.size(), 2u);
  for (const RunRecord& r : history("each")) EXPECT_EQ(r.key.node, "node-a");
}

TEST_F(SchedulerTest, RebootJobRunsOnceAtStartLocally) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("boot", "@reboot", calls.fn())));
  s.start();
  ASSERT_TRUE(s.wait_idle());
  run_for(5s);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls.contexts()[0].fence, 0);
  EXPECT_TRUE(history("boot").empty());
  EXPECT_FALSE(s.find("boot")->next_fire);
}

// The scheduler fires exactly the instants Schedule::next yields, across DST changes.
struct DstCase {
  const char* expr;
  const char* zone;
  sys_seconds from;
  std::chrono::hours span;
};

class DstFires : public ::testing::TestWithParam<DstCase> {};

TEST_P(DstFires, SameInstantsAsScheduleNext) {
  const DstCase& c = GetParam();
  FakeClock clock(Clock::wall_time(c.from));
  detail::MemoryStore store([&] { return store_time(clock); });
  NodeSettings settings;
  settings.node_id = "n1";
  Scheduler s(settings, store, clock);
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("dst", c.expr, calls.fn(), c.zone)));
  s.start();
  // One-minute jobs are checked with 1 s steps; the loop never sleeps more than 1 s anyway.
  advance(clock, c.span, {&s}, std::chrono::seconds(1));
  const Schedule sch = parse(c.expr, c.zone);
  std::vector<sys_seconds> expected;
  for (auto t = sch.next(c.from); t && *t <= c.from + c.span; t = sch.next(*t)) expected.push_back(*t);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(calls.instants(), expected);
  s.shutdown();
}

INSTANTIATE_TEST_SUITE_P(
    NewYork, DstFires,
    ::testing::Values(
        // Spring forward 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z).
        DstCase{"30 2 * * *", "America/New_York", utc(2026, 3, 8, 5, 0, 0), std::chrono::hours(4)},
        DstCase{"*/30 * * * *", "America/New_York", utc(2026, 3, 8, 5, 0, 0), std::chrono::hours(4)},
        DstCase{"0 * * * *", "America/New_York", utc(2026, 3, 8, 5, 0, 0), std::chrono::hours(4)},
        // Fall back 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
        DstCase{"30 1 * * *", "America/New_York", utc(2026, 11, 1, 4, 0, 0), std::chrono::hours(4)},
        DstCase{"*/30 * * * *", "America/New_York", utc(2026, 11, 1, 4, 0, 0), std::chrono::hours(4)},
        DstCase{"0 * * * *", "America/New_York", utc(2026, 11, 1, 4, 0, 0), std::chrono::hours(4)}));

}  // namespace
}  // namespace solocron::testing
