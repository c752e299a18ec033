// Just before a fire: a job paused, removed or updated 30 ms before its instant, a clock jump
// or a shutdown from there. It runs as the table stands at the instant, and once; a jump goes
// through the misfire policy with all the skipped occurrences together.
#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

const sys_seconds kAt0 = std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart);

class JustBeforeAFire : public SchedulerTest {
 protected:
  void just_before(int second) {  // 30 ms before kAt0 + second
    clock.advance(kAt0 + std::chrono::seconds(second) - 30ms - clock.now());
    ASSERT_TRUE(sched->wait_idle());
  }
  void past(int second) {  // 10 ms after kAt0 + second
    clock.advance(kAt0 + std::chrono::seconds(second) + 10ms - clock.now());
    ASSERT_TRUE(sched->wait_idle());
  }
};

TEST_F(JustBeforeAFire, EachSecondRunsOnceAndNotBeforeItsInstant) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("s", "* * * * * *", calls.fn())));
  s.start();
  for (int i = 1; i <= 5; ++i) {
    just_before(i);
    EXPECT_EQ(calls.size(), static_cast<std::size_t>(i - 1)) << "ran before its instant";
    past(i);
  }
  std::vector<sys_seconds> expected;
  for (int i = 1; i <= 5; ++i) expected.push_back(kAt0 + std::chrono::seconds(i));
  EXPECT_EQ(calls.instants(), expected);
}

TEST_F(JustBeforeAFire, PausedRemovedOrUpdatedJustBeforeIsAsTheTableSaysAtTheInstant) {
  Scheduler& s = make();
  Calls paused, removed, updated_old, updated_new;
  for (auto [name, calls] : {std::pair{"p", &paused}, {"r", &removed}, {"u", &updated_old}}) {
    JobSpec j = callable_job(name, "* * * * * *", calls->fn());
    j.run_on = RunOn::local;
    ASSERT_TRUE(s.add(std::move(j)));
  }
  s.start();
  just_before(1);
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

// The stall test of misfire_test.cpp, with the jump from 30 ms before a fire: that minute and the
// nine after it go through run_once together.
TEST_F(JustBeforeAFire, AJumpFromJustBeforeIsOneMisfire) {
  NodeSettings settings = node_settings();
  settings.node_ttl = std::chrono::hours(1);
  Scheduler& s = make(settings);
  Calls calls;
  JobSpec j = callable_job("m", "0 * * * * *", calls.fn());
  j.misfire = MisfirePolicy::run_once;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  just_before(60);
  clock.advance(std::chrono::minutes(10));
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(calls.instants(), std::vector<sys_seconds>{kAt0 + std::chrono::minutes(10)});
  EXPECT_EQ(s.statistics().missed, 9u);
}

TEST_F(JustBeforeAFire, AShutdownJustBeforeRunsNothingMore) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("s", "* * * * * *", calls.fn())));
  s.start();
  past(1);
  just_before(2);
  s.shutdown(0ms);
  clock.advance(2s);
  EXPECT_EQ(calls.instants(), std::vector<sys_seconds>{kAt0 + 1s});
}

}  // namespace
}  // namespace solocron::testing
