// Retries and backfills as the scheduler decides them: a failed run's next attempt after its
// backoff, with a new fence, the earlier attempt kept; no attempt past the next tick
// (until_next) or the starting_deadline; backfilled ticks run once each, oldest first, one at
// a time, over their `missed` records.
#include <map>
#include <set>

#include "scheduler/retry_policy.hpp"
#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {
namespace {

RetryPolicy policy(int attempts, std::chrono::milliseconds backoff, std::chrono::milliseconds cap) {
  RetryPolicy p;
  p.attempts = attempts;
  p.backoff = backoff;
  p.max_backoff = cap;
  return p;
}

TEST(RetryDelay, DoublesUpToItsCapAndJitterShortensItAlikeEverywhere) {
  const OccurrenceKey key{"sync", sys_seconds(1000s), "", 0};
  RetryPolicy p = policy(10, 30s, 5min);
  EXPECT_EQ(detail::retry_delay(p, key, 1), 30s);
  EXPECT_EQ(detail::retry_delay(p, key, 2), 60s);
  EXPECT_EQ(detail::retry_delay(p, key, 3), 120s);
  EXPECT_EQ(detail::retry_delay(p, key, 4), 240s);
  EXPECT_EQ(detail::retry_delay(p, key, 5), 5min);
  EXPECT_EQ(detail::retry_delay(p, key, 99), 5min);
  p.jitter = true;
  std::set<std::int64_t> distinct;
  for (int s = 0; s < 100; ++s) {
    const OccurrenceKey k{"sync", sys_seconds(std::chrono::seconds(1000 + s)), "", 0};
    const auto d = detail::retry_delay(p, k, 1);
    EXPECT_EQ(d, detail::retry_delay(p, k, 1));  // the same on every node
    EXPECT_LE(d, 30s);
    EXPECT_GE(d, 15s);
    distinct.insert(d.count());
  }
  EXPECT_GT(distinct.size(), 50u) << "jitter does not spread the retries";
}

// attempt -> when it started, per scheduled instant.
class Attempts {
 public:
  JobCallable fn(Clock& clock, int succeed_from) {
    return [this, &clock, succeed_from](const RunContext& c) {
      std::lock_guard g(mu_);
      started_[c.scheduled_at][c.attempt].push_back({clock.now(), c.fence});
      return c.attempt >= succeed_from ? 0 : 3;
    };
  }
  struct Start {
    Clock::wall_time at;
    std::int64_t fence;
  };
  std::map<sys_seconds, std::map<int, std::vector<Start>>> get() const {
    std::lock_guard g(mu_);
    return started_;
  }

 private:
  mutable std::mutex mu_;
  std::map<sys_seconds, std::map<int, std::vector<Start>>> started_;
};

TEST_F(SchedulerTest, AFailedRunIsRetriedAfterItsBackoffUntilItSucceeds) {
  Scheduler& s = make();
  Attempts attempts;
  JobSpec j = callable_job("flaky", "0 * * * * *", attempts.fn(clock, 3));
  j.retry = policy(3, 5s, 1min);
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(150s);
  const auto started = attempts.get();
  ASSERT_GE(started.size(), 2u);
  for (const auto& [at, by_attempt] : started) {
    ASSERT_EQ(by_attempt.size(), 3u) << "attempts of " << at.time_since_epoch().count();
    for (const auto& [n, starts] : by_attempt) ASSERT_EQ(starts.size(), 1u) << "attempt " << n << " ran twice";
    EXPECT_GE(by_attempt.at(2)[0].at - by_attempt.at(1)[0].at, 5s);
    EXPECT_GE(by_attempt.at(3)[0].at - by_attempt.at(2)[0].at, 10s);
    EXPECT_LT(by_attempt.at(3)[0].at - by_attempt.at(2)[0].at, 13s) << "the retry came late";
    EXPECT_LT(by_attempt.at(1)[0].fence, by_attempt.at(2)[0].fence);
    EXPECT_LT(by_attempt.at(2)[0].fence, by_attempt.at(3)[0].fence);
  }
  const auto first = started.begin()->first;
  const auto h = history("flaky");
  auto rec = std::find_if(h.begin(), h.end(), [&](const RunRecord& r) { return r.key.scheduled_at == first; });
  ASSERT_NE(rec, h.end());
  EXPECT_EQ(rec->state, RunState::succeeded);
  EXPECT_EQ(rec->attempt, 3);
  EXPECT_EQ(rec->trigger, Trigger::retry);
  const std::vector<OccurrenceKey> keys{rec->key};
  const auto earlier = store.earlier_attempts(keys);
  ASSERT_EQ(earlier.size(), 2u);
  EXPECT_EQ(earlier[0].attempt, 1);
  EXPECT_EQ(earlier[0].state, RunState::failed);
  EXPECT_EQ(earlier[0].exit_code, 3);
  EXPECT_EQ(earlier[0].trigger, Trigger::schedule);
  EXPECT_EQ(earlier[1].attempt, 2);
  EXPECT_EQ(earlier[1].trigger, Trigger::retry);
}

TEST_F(SchedulerTest, UntilNextStopsRetriesAtTheNextTick) {
  Scheduler& s = make();
  Attempts attempts;
  JobSpec j = callable_job("doomed", "*/10 * * * * *", attempts.fn(clock, 1000));
  j.retry = policy(10, 3s, 3s);
  j.retry.until_next = true;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(65s);
  const auto started = attempts.get();
  ASSERT_GE(started.size(), 5u);
  bool retried = false;
  for (const auto& [at, by_attempt] : started) {
    retried = retried || by_attempt.size() > 1;
    for (const auto& [n, starts] : by_attempt) {
      ASSERT_EQ(starts.size(), 1u);
      EXPECT_LT(starts[0].at, Clock::wall_time(at + 10s)) << "attempt " << n << " started after the next tick";
    }
  }
  EXPECT_TRUE(retried) << "nothing was retried at all";
}

TEST_F(SchedulerTest, NoRetryStartsPastTheStartingDeadline) {
  Scheduler& s = make();
  Attempts attempts;
  JobSpec j = callable_job("late", "0 * * * * *", attempts.fn(clock, 1000));
  j.retry = policy(10, 3s, 3s);
  j.starting_deadline = 8s;
  ASSERT_TRUE(s.add(std::move(j)));
  s.start();
  run_for(130s);
  const auto started = attempts.get();
  ASSERT_GE(started.size(), 2u);
  for (const auto& [at, by_attempt] : started) {
    EXPECT_GE(by_attempt.size(), 2u);
    for (const auto& [n, starts] : by_attempt) {
      EXPECT_LE(starts[0].at, Clock::wall_time(at + 8s)) << "attempt " << n << " past the deadline";
    }
  }
}

TEST_F(SchedulerTest, ABackfillRunsItsTicksOnceEachOldestFirstOverMissedRecords) {
  Scheduler& s = make();
  std::mutex mu;
  std::vector<sys_seconds> ran;
  JobSpec j = callable_job("report", "0 12 * * *", [&](const RunContext& c) {
    std::lock_guard g(mu);
    ran.push_back(c.scheduled_at);
    return 0;
  });
  ASSERT_TRUE(s.add(std::move(j)));
  const sys_seconds day = std::chrono::floor<std::chrono::days>(std::chrono::floor<std::chrono::seconds>(clock.now()));
  const std::vector<sys_seconds> ticks{day - 60h, day - 36h, day - 12h};
  const std::vector<OccurrenceKey> missed{{"report", ticks[0], "", 0}, {"report", ticks[2], "", 0}};
  store.record_missed(missed);  // the middle one has no record at all
  // Given twice (two operators), newest first in one of them: still once each, oldest first.
  store.request_backfill("report", ticks, "ops", "after the outage");
  const std::vector<sys_seconds> reversed(ticks.rbegin(), ticks.rend());
  store.request_backfill("report", reversed, "ops2", "");
  s.start();
  run_for(20s);
  {
    std::lock_guard g(mu);
    EXPECT_EQ(ran, ticks);
  }
  for (const RunRecord& r : history("report")) {
    EXPECT_EQ(r.state, RunState::succeeded);
    EXPECT_EQ(r.trigger, Trigger::backfill);
    EXPECT_EQ(r.requested_by, "ops");
  }
  EXPECT_TRUE(store.pending_backfill(StoreTime{}).empty());
}

}  // namespace
}  // namespace solocron::testing
