// Jitter: each occurrence of a job with `jitter` starts after its instant by a delay derived
// from the job and the instant, the same on every node, bounded by the jitter and by the gap
// to the job's next occurrence; claims still meet, so each occurrence runs once.
#include <map>
#include <set>

#include "scheduler/cluster_fixture.hpp"
#include "scheduler/job_table.hpp"

namespace solocron::testing {
namespace {

std::shared_ptr<const detail::JobDef> def_of(const std::string& expr, std::chrono::milliseconds jitter,
                                             const std::string& name = "report") {
  JobSpec spec = callable_job(name, expr, [](const RunContext&) { return 0; });
  spec.jitter = jitter;
  return detail::JobDef::from_spec(std::move(spec));
}

TEST(Jitter, TheDelayIsTheSameEverywhereBoundedAndSpread) {
  const auto a = def_of("* * * * *", 30s);
  const auto b = def_of("* * * * *", 30s);  // the same job as another node defines it
  std::set<std::int64_t> distinct;
  sys_seconds at = std::chrono::floor<std::chrono::minutes>(FakeClock::kDefaultStart);
  for (int i = 0; i < 200; ++i, at += 60s) {
    const auto d = a->jitter_delay(at);
    EXPECT_EQ(d, b->jitter_delay(at));
    EXPECT_GE(d, 0ms);
    EXPECT_LT(d, 30s);
    distinct.insert(d.count());
  }
  EXPECT_GT(distinct.size(), 150u) << "the delays do not spread over the jitter";
  // Never as far as the next occurrence: a per-second job's delay stays within its second.
  const auto fast = def_of("* * * * * *", 30s);
  for (int i = 0; i < 100; ++i) EXPECT_LT(fast->jitter_delay(at + std::chrono::seconds(i)), 1s);
  EXPECT_EQ(def_of("* * * * *", 0ms)->jitter_delay(at), 0ms);
}

// Two nodes: every occurrence runs once, never before its instant plus its delay, and well
// before the next one.
TEST_F(Cluster, JitterDelaysEachOccurrenceAlikeOnEveryNode) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  std::mutex mu;
  std::map<sys_seconds, std::vector<std::pair<std::string, Clock::wall_time>>> starts;
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("spread", "*/10 * * * * *", [&mu, &starts, n](const RunContext& c) {
      std::lock_guard g(mu);
      starts[c.scheduled_at].emplace_back(c.node, n->clock.now());
      return 0;
    });
    j.jitter = 8s;
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(2s);
  run_for(60s);
  const auto def = def_of("*/10 * * * * *", 8s, "spread");
  std::set<std::int64_t> delays;
  ASSERT_GE(starts.size(), 5u);
  for (const auto& [at, runs] : starts) {
    ASSERT_EQ(runs.size(), 1u) << "an occurrence ran " << runs.size() << " times";
    const auto delay = def->jitter_delay(at);
    delays.insert(delay.count());
    EXPECT_GE(runs[0].second, Clock::wall_time(at) + delay);
    EXPECT_LT(runs[0].second, Clock::wall_time(at) + 10s);
  }
  EXPECT_GT(delays.size(), 2u);
  for (const RunRecord& r : history("spread")) EXPECT_EQ(r.state, RunState::succeeded);
}

TEST_F(SchedulerTest, ALocalJobWaitsItsJitterToo) {
  Scheduler& s = make();
  std::mutex mu;
  std::vector<std::pair<sys_seconds, Clock::wall_time>> starts;
  JobSpec j = callable_job("local", "* * * * *", [&](const RunContext& c) {
    std::lock_guard g(mu);
    starts.emplace_back(c.scheduled_at, clock.now());
    return 0;
  });
  j.run_on = RunOn::local;
  j.jitter = 45s;
  ASSERT_TRUE(s.add(j));
  s.start();
  run_for(5min);
  const auto def = def_of("* * * * *", 45s, "local");
  ASSERT_GE(starts.size(), 4u);
  for (const auto& [at, started] : starts) {
    EXPECT_GE(started, Clock::wall_time(at) + def->jitter_delay(at));
    EXPECT_LT(started, Clock::wall_time(at) + 60s);
  }
}

TEST_F(SchedulerTest, AddRejectsAJitterAsLongAsTheStartingDeadline) {
  Scheduler& s = make();
  JobSpec j = callable_job("j", "* * * * *", [](const RunContext&) { return 0; });
  j.jitter = 30s;
  j.starting_deadline = 30s;
  EXPECT_EQ(s.add(j).error(),
            "job \"j\": jitter must be less than starting_deadline (a delayed start would always be missed)");
  j.starting_deadline = 31s;
  EXPECT_TRUE(s.add(j));
}

}  // namespace
}  // namespace solocron::testing
