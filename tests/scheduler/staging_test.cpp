// Staging: the timer pops the jobs of its next fire up to 50 ms before it, so that at the instant
// their runs are handed on at once. Whatever happens to a job in between (removed, paused,
// resumed, updated, re-added, a clock jump, a shutdown), it runs as the table stands at the
// instant, and once.
#include "scheduler/job_table.hpp"
#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

using detail::JobTable;
using detail::Occurrence;

const std::int64_t kT0 = std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart)
                             .time_since_epoch()
                             .count();
const sys_seconds kAt0 = sys_seconds(std::chrono::seconds(kT0));

// A table with one every-second job "s" added at kT0: its next fire is kT0 + 1.
class StagedTable : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(table.add(callable_job("s", "* * * * * *", calls.fn()), kT0));
    table.pop_due(kT0 + 1, staged, 100);  // staged shortly before kT0 + 1
    ASSERT_EQ(staged.size(), 1u);
  }
  // The occurrences handed on at kT0 + 1, then what the ordinary pop at that instant adds.
  std::vector<Occurrence> at_instant() {
    std::vector<Occurrence> due = table.confirm_staged(staged);
    table.requeue(staged, kT0 + 1);
    std::vector<JobTable::Popped> popped;
    for (Occurrence& o : table.pop_due(kT0 + 1, popped, 100)) due.push_back(std::move(o));
    table.requeue(popped, kT0 + 1);
    return due;
  }
  Calls calls;
  JobTable table;
  std::vector<JobTable::Popped> staged;
};

TEST_F(StagedTable, AnUnchangedJobRunsOnceAndIsScheduledNext) {
  const auto due = at_instant();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].at, kAt0 + 1s);
  EXPECT_EQ(due[0].def, table.def_of("s"));
  EXPECT_EQ(table.next_fire(), kT0 + 2);
}

TEST_F(StagedTable, ARemovedJobDoesNotRun) {
  ASSERT_TRUE(table.remove("s"));
  EXPECT_TRUE(at_instant().empty());
}

TEST_F(StagedTable, APausedJobDoesNotRunAndAResumedOneRunsOnce) {
  ASSERT_TRUE(table.set_paused("s", true, kT0));
  EXPECT_TRUE(at_instant().empty());
  ASSERT_TRUE(table.set_paused("s", false, kT0 + 1));
  std::vector<JobTable::Popped> popped;
  EXPECT_EQ(table.pop_due(kT0 + 2, popped, 100).size(), 1u);  // the schedule goes on

  // Paused and resumed within the window: the staged instant runs, once.
  JobTable t2;
  ASSERT_TRUE(t2.add(callable_job("s", "* * * * * *", calls.fn()), kT0));
  std::vector<JobTable::Popped> st;
  t2.pop_due(kT0 + 1, st, 100);
  ASSERT_TRUE(t2.set_paused("s", true, kT0));
  ASSERT_TRUE(t2.set_paused("s", false, kT0));
  std::vector<Occurrence> due = t2.confirm_staged(st);
  t2.requeue(st, kT0 + 1);
  std::vector<JobTable::Popped> p2;
  for (Occurrence& o : t2.pop_due(kT0 + 1, p2, 100)) due.push_back(std::move(o));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].at, kAt0 + 1s);
}

TEST_F(StagedTable, AnUpdatedJobRunsOnceWithItsNewDefinition) {
  Calls other;
  ASSERT_TRUE(table.update(callable_job("s", "* * * * * *", other.fn(7)), kT0));
  const auto due = at_instant();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].def, table.def_of("s"));
  EXPECT_NE(due[0].def, staged[0].def);
}

TEST_F(StagedTable, AJobMovedOffTheInstantDoesNotRunThen) {
  ASSERT_TRUE(table.update(callable_job("s", "0 * * * * *", calls.fn()), kT0));  // minutely
  EXPECT_TRUE(at_instant().empty());
  EXPECT_EQ(table.next_fire(), kT0 + 60);
}

TEST_F(StagedTable, AJobRemovedAndAddedAgainRunsOnce) {
  ASSERT_TRUE(table.remove("s"));
  ASSERT_TRUE(table.add(callable_job("s", "* * * * * *", calls.fn()), kT0));
  const auto due = at_instant();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].def, table.def_of("s"));
}

// Through the scheduler, on the fake clock: 30 ms before a fire the job is staged.
class StagingTest : public SchedulerTest {
 protected:
  void to_window(int second) {  // 30 ms before kT0 + second
    clock.advance(kAt0 + std::chrono::seconds(second) - 30ms - clock.now());
    ASSERT_TRUE(sched->wait_idle());
  }
  void past(int second) {  // 10 ms after kT0 + second
    clock.advance(kAt0 + std::chrono::seconds(second) + 10ms - clock.now());
    ASSERT_TRUE(sched->wait_idle());
  }
};

TEST_F(StagingTest, EachSecondRunsOnceAcrossTheWindow) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("s", "* * * * * *", calls.fn())));
  s.start();
  for (int i = 1; i <= 5; ++i) {
    to_window(i);
    EXPECT_EQ(calls.size(), static_cast<std::size_t>(i - 1)) << "ran before its instant";
    past(i);
  }
  std::vector<sys_seconds> expected;
  for (int i = 1; i <= 5; ++i) expected.push_back(kAt0 + std::chrono::seconds(i));
  EXPECT_EQ(calls.instants(), expected);
}

TEST_F(StagingTest, PausedRemovedOrUpdatedInTheWindowIsAsTheTableSaysAtTheInstant) {
  Scheduler& s = make();
  Calls paused, removed, updated_old, updated_new;
  for (auto [name, calls] : {std::pair{"p", &paused}, {"r", &removed}, {"u", &updated_old}}) {
    JobSpec j = callable_job(name, "* * * * * *", calls->fn());
    j.run_on = RunOn::local;
    ASSERT_TRUE(s.add(std::move(j)));
  }
  s.start();
  to_window(1);
  ASSERT_TRUE(s.pause("p"));
  ASSERT_TRUE(s.remove("r"));
  JobSpec u = callable_job("u", "* * * * * *", updated_new.fn());
  u.run_on = RunOn::local;
  ASSERT_TRUE(s.update(std::move(u)));
  past(1);
  EXPECT_EQ(paused.size(), 0u);
  EXPECT_EQ(removed.size(), 0u);
  EXPECT_EQ(updated_old.size(), 0u);
  EXPECT_EQ(updated_new.instants(), std::vector<sys_seconds>{kAt0 + 1s});
  ASSERT_TRUE(s.resume("p"));
  past(2);
  EXPECT_EQ(paused.instants(), std::vector<sys_seconds>{kAt0 + 2s});
}

// The stall test of misfire_test.cpp, with the jump inside the window: the staged minute and the
// nine after it go through run_once together.
TEST_F(StagingTest, AJumpFromTheWindowIsOneMisfire) {
  NodeSettings settings = node_settings();
  settings.node_ttl = std::chrono::hours(1);
  Scheduler& s = make(settings);
  Calls calls;
  JobSpec j = callable_job("m", "0 * * * * *", calls.fn());
  j.misfire = MisfirePolicy::run_once;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  to_window(60);
  clock.advance(std::chrono::minutes(10));
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(calls.instants(), std::vector<sys_seconds>{kAt0 + std::chrono::minutes(10)});
  EXPECT_EQ(s.statistics().missed, 9u);
}

TEST_F(StagingTest, AShutdownInTheWindowRunsNothingMore) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("s", "* * * * * *", calls.fn())));
  s.start();
  past(1);
  to_window(2);
  s.shutdown(0ms);
  clock.advance(2s);
  EXPECT_EQ(calls.instants(), std::vector<sys_seconds>{kAt0 + 1s});
}

}  // namespace
}  // namespace solocron::testing
