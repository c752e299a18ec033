// Clock steps, stalls, starting_deadline and catch-up from the history, through the misfire
// policies skip / run_once / run_all (with max_catchup). A node fires by the store's clock
// (measured at each heartbeat): a step of its own wall clock changes nothing, a step of the
// store's clock goes through the misfire policy.
#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

const sys_seconds kT0 = std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart);

JobSpec minutely(Calls& calls, MisfirePolicy p, std::size_t max_catchup = 10,
                 std::optional<std::chrono::milliseconds> deadline = std::nullopt) {
  JobSpec j = callable_job("m", "0 * * * * *", calls.fn());
  j.misfire = p;
  j.max_catchup = max_catchup;
  j.starting_deadline = deadline;
  return j;
}

// A run of `job` at `at` that an earlier node finished, written as that node would have.
void seed_succeeded(Store& store, const std::string& job, sys_seconds at) {
  const NodeLease lease = store.register_node("old-node", std::chrono::hours(1)).lease;
  ClaimRequest req;
  req.key = {job, at, ""};
  req.node_id = "old-node";
  req.lease_token = lease.token;
  const ClaimResult won = store.claim(std::span<const ClaimRequest>(&req, 1))[0];
  ASSERT_EQ(won.outcome, ClaimResult::Outcome::won);
  for (RunState s : {RunState::running, RunState::succeeded}) {
    const StateUpdate u{req.key, won.fence, s, 0, std::nullopt, {}, {}};
    ASSERT_TRUE(store.update(std::span<const StateUpdate>(&u, 1))[0]);
  }
  store.release_node("old-node", lease.token);
}

std::size_t count_state(const std::vector<RunRecord>& h, RunState s) {
  return static_cast<std::size_t>(
      std::count_if(h.begin(), h.end(), [&](const RunRecord& r) { return r.state == s; }));
}

// After a forward step of the store's clock by one hour the 60 skipped minutes go through the
// misfire policy.
struct StepCase {
  MisfirePolicy policy;
  std::size_t max_catchup;
  std::optional<std::chrono::milliseconds> deadline;
  std::vector<int> run_minutes;  // minutes after kT0 that run
  std::size_t missed;
};

class ForwardStep : public SchedulerTest, public ::testing::WithParamInterface<StepCase> {};

TEST_P(ForwardStep, SkippedOccurrencesFollowThePolicy) {
  const StepCase& c = GetParam();
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(minutely(calls, c.policy, c.max_catchup, c.deadline)));
  s.start();
  run_for(30s);
  store_offset = 3600 * 1000;  // the database server's clock is stepped (NTP)
  run_for(2s);                 // measured at the next heartbeat, seen by the timer at its next wake
  EXPECT_EQ(s.statistics().clock_steps, 1u);
  ASSERT_EQ(rec.count(RunEventKind::clock_step), 1u);
  EXPECT_EQ(rec.of(RunEventKind::clock_step)[0].duration, std::chrono::milliseconds(3600000));
  std::vector<sys_seconds> expected;
  for (int m : c.run_minutes) expected.push_back(kT0 + std::chrono::minutes(m));
  EXPECT_EQ(calls.instants(), expected);
  // An occurrence less than max_clock_skew behind the store's clock is recorded missed only
  // once the store's clock is past it by that much: until then a live node may still claim it.
  clock.advance(3s);
  ASSERT_TRUE(s.wait_idle());
  const auto h = history("m");
  EXPECT_EQ(count_state(h, RunState::missed), c.missed);
  EXPECT_EQ(h.size(), 60u);  // every occurrence of the hour has a record
  EXPECT_EQ(s.statistics().missed, c.missed);
  // Afterwards the job runs on time again.
  run_for(30s);
  EXPECT_EQ(calls.instants().back(), kT0 + std::chrono::minutes(61));
}

INSTANTIATE_TEST_SUITE_P(
    Policies, ForwardStep,
    ::testing::Values(StepCase{MisfirePolicy::skip, 10, std::nullopt, {}, 60},
                      StepCase{MisfirePolicy::run_once, 10, std::nullopt, {60}, 59},
                      // The latest is 32 s late: beyond a 10 s starting deadline.
                      StepCase{MisfirePolicy::run_once, 10, std::chrono::seconds(10), {}, 60},
                      StepCase{MisfirePolicy::run_all, 3, std::nullopt, {58, 59, 60}, 57},
                      StepCase{MisfirePolicy::run_all, 10, std::chrono::seconds(160), {58, 59, 60}, 57}));

// A stall (the process stopped, the machine overloaded): both clocks moved, nothing watched.
TEST_F(SchedulerTest, StallIsAMisfire) {
  NodeSettings settings = node_settings();
  settings.node_ttl = std::chrono::hours(1);  // the lease survives the stall (see cluster tests)
  Scheduler& s = make(settings);
  Calls calls;
  ASSERT_TRUE(s.add(minutely(calls, MisfirePolicy::run_once)));
  s.start();
  clock.advance(std::chrono::minutes(10) + 20s);
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(calls.instants(), std::vector<sys_seconds>{kT0 + std::chrono::minutes(10)});
  EXPECT_EQ(s.statistics().missed, 9u);
  EXPECT_EQ(s.statistics().clock_steps, 0u);
}

TEST_F(SchedulerTest, BackwardStepNeverFiresAnOccurrenceTwice) {
  Scheduler& s = make();
  Calls calls;
  JobSpec j = callable_job("l", "* * * * * *", calls.fn());
  j.run_on = RunOn::local;  // no store to refuse a second claim: the scheduler itself must not
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(10s);
  store_offset = -5000;  // the store's clock is stepped back
  run_for(2s);
  ASSERT_TRUE(s.pause("l"));  // recomputing the next fire after the step must not go back either
  ASSERT_TRUE(s.resume("l"));
  run_for(8s);
  std::vector<sys_seconds> expected;
  for (int i = 1; i <= 15; ++i) expected.push_back(kT0 + std::chrono::seconds(i));
  EXPECT_EQ(calls.instants(), expected);
  EXPECT_EQ(s.statistics().clock_steps, 1u);
  EXPECT_LT(rec.of(RunEventKind::clock_step).at(0).duration.count(), 0);
}

// Issue: a node alone whose wall clock jumped an hour ahead and back (NTP, VM resume) ran and
// recorded nothing for the whole time. It fires by the store's clock: every second runs once,
// nothing is missed, nothing runs twice, and the node stays ready while it reports its skew.
TEST_F(SchedulerTest, WallClockStepChangesNothing) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(callable_job("tick", "* * * * * *", calls.fn())));
  s.start();
  run_for(10s);
  clock.step_wall(1h);
  run_for(10s);
  EXPECT_TRUE(s.ready()) << s.status();
  EXPECT_NE(s.status().find("off by"), std::string::npos) << s.status();
  EXPECT_EQ(s.statistics().clock_offset_ms, 3600 * 1000);
  clock.step_wall(-1h);
  run_for(10s);
  std::vector<sys_seconds> expected;
  for (int i = 1; i <= 30; ++i) expected.push_back(kT0 + std::chrono::seconds(i));
  EXPECT_EQ(calls.instants(), expected);
  EXPECT_EQ(s.statistics().missed, 0u);
  EXPECT_EQ(s.statistics().clock_steps, 0u);
  const auto skew = rec.of(RunEventKind::clock_skew);
  ASSERT_EQ(skew.size(), 2u);  // off, then back within max_clock_skew
  EXPECT_EQ(skew[0].duration, std::chrono::milliseconds(3600 * 1000));
  for (const RunRecord& r : history("tick")) EXPECT_EQ(r.state, RunState::succeeded);
}

TEST_F(SchedulerTest, LateBeyondStartingDeadlineIsMissedNotRun) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(minutely(calls, MisfirePolicy::run_all, 10, std::chrono::seconds(2))));
  s.start();
  run_for(59s);
  clock.advance(4s);  // wakes 3 s after 00:01:00: late, not yet a misfire, beyond 2 s
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(calls.size(), 0u);
  const auto h = history("m");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::missed);
  EXPECT_EQ(rec.count(RunEventKind::missed), 1u);
}

// Catch-up at start from the store's history (section 6).
struct CatchUpCase {
  MisfirePolicy policy;
  std::size_t max_catchup;
  std::optional<std::chrono::milliseconds> deadline;
  std::vector<int> run_minutes;  // minutes relative to kT0 (negative: before)
  std::size_t missed;
};

class CatchUp : public SchedulerTest, public ::testing::WithParamInterface<CatchUpCase> {};

TEST_P(CatchUp, FromTheLastRecordedOccurrence) {
  const CatchUpCase& c = GetParam();
  // The job last ran an hour ago (written through the store as a previous node would).
  seed_succeeded(store, "m", kT0 - std::chrono::hours(1));
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(minutely(calls, c.policy, c.max_catchup, c.deadline)));
  s.start();
  ASSERT_TRUE(s.wait_idle());
  std::vector<sys_seconds> expected;
  for (int m : c.run_minutes) expected.push_back(kT0 + std::chrono::minutes(m));
  EXPECT_EQ(calls.instants(), expected);
  // An occurrence less than max_clock_skew behind the store's clock is recorded missed only
  // once the store's clock is past it by that much: until then a live node may still claim it.
  clock.advance(3s);
  ASSERT_TRUE(s.wait_idle());
  const auto h = history("m");
  EXPECT_EQ(count_state(h, RunState::missed), c.missed);
  EXPECT_EQ(h.size(), 61u);  // the old record plus the 60 minutes up to kT0
  ASSERT_EQ(rec.count(RunEventKind::catch_up), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Policies, CatchUp,
    ::testing::Values(CatchUpCase{MisfirePolicy::skip, 10, std::nullopt, {}, 60},
                      CatchUpCase{MisfirePolicy::run_once, 10, std::nullopt, {0}, 59},
                      CatchUpCase{MisfirePolicy::run_all, 5, std::nullopt, {-4, -3, -2, -1, 0}, 55},
                      CatchUpCase{MisfirePolicy::run_all, 10, std::chrono::seconds(150), {-2, -1, 0}, 57}));

TEST_F(SchedulerTest, NoHistoryMeansNothingMissed) {
  Scheduler& s = make();
  Calls calls;
  ASSERT_TRUE(s.add(minutely(calls, MisfirePolicy::run_all)));
  s.start();
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(calls.size(), 0u);
  EXPECT_TRUE(history("m").empty());
  EXPECT_EQ(rec.count(RunEventKind::catch_up), 0u);
}

TEST_F(SchedulerTest, AWeekOfDowntimeIsBounded) {
  seed_succeeded(store, "s", kT0 - std::chrono::days(7));
  NodeSettings settings = node_settings();
  settings.history_keep_last = 100000;  // retention would trim the records this test counts
  Scheduler& s = make(settings);
  Calls calls;
  JobSpec j = callable_job("s", "* * * * * *", calls.fn());
  j.misfire = MisfirePolicy::run_all;
  j.max_catchup = 10;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  ASSERT_TRUE(s.wait_idle(60s));
  EXPECT_EQ(calls.size(), 10u);
  EXPECT_EQ(count_state(history("s"), RunState::missed), 10000u);
  const auto ev = rec.of(RunEventKind::catch_up);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_NE(ev[0].message.find("more missed not recorded"), std::string::npos) << ev[0].message;
}

}  // namespace
}  // namespace solocron::testing
