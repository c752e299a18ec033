// The cluster logic in-process: two Scheduler instances with their own FakeClocks share one
// MemoryStore whose clock is a third. Each occurrence runs once; leases, self-fencing,
// too_early retries, node id conflicts, lost runs and replace across nodes.
#include <map>

#include "scheduler/cluster_fixture.hpp"

namespace solocron::testing {
namespace {

TEST_F(Cluster, TwoNodesRunEachOccurrenceOnceAndShareTheWork) {
  Node& a = add_node("a");
  Node& b = add_node("b", 20ms);  // b's clock is slightly fast
  Ledger ledger;
  for (Node* n : {&a, &b}) {
    for (int j = 0; j < 4; ++j) {
      ASSERT_TRUE(n->sched->add(callable_job("job" + std::to_string(j), "* * * * * *", ledger.fn())));
    }
    n->sched->start();
  }
  run_for(2s);  // both see each other as live
  run_for(20s);
  const auto runs = ledger.runs();
  std::map<std::string, int> per_node;
  for (const auto& [occ, who] : runs) {
    EXPECT_EQ(who.size(), 1u);
    ++per_node[who[0]];
  }
  EXPECT_GE(runs.size(), 4u * 20);
  // The rendezvous ranks spread the work; the fast clock does not win everything.
  EXPECT_GT(per_node["a"], 15);
  EXPECT_GT(per_node["b"], 15);
  for (const RunRecord& r : history("job0")) EXPECT_EQ(r.state, RunState::succeeded);
  const auto taken = a.sched->statistics().claims_taken + b.sched->statistics().claims_taken;
  EXPECT_GT(taken, 0u);  // the staggered claims of the other node lost, as they should
}

TEST_F(Cluster, DeadPreferredNodeCostsAtMost250ms) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  Ledger ledger;
  for (Node* n : {&a, &b}) {
    ASSERT_TRUE(n->sched->add(callable_job("j", "* * * * * *", ledger.fn())));
    n->sched->start();
  }
  run_for(2300ms);
  // a stops claiming (its lease still looks live to b for node_ttl): b must pick up every tick.
  a.sched->pause("j");
  const auto before = ledger.runs().size();
  run_for(3s);
  EXPECT_EQ(ledger.runs().size(), before + 3);
  for (const auto& [occ, who] : ledger.runs()) EXPECT_EQ(who.size(), 1u);
}

TEST_F(Cluster, EveryNodeRunsOnEachNode) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  Ledger ledger;
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("e", "* * * * * *", ledger.fn());
    j.run_on = RunOn::every_node;
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(3s);
  const auto runs = ledger.runs();
  ASSERT_EQ(runs.size(), 3u);
  for (const auto& [occ, who] : runs) {
    auto sorted = who;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<std::string>{"a", "b"}));
  }
  EXPECT_EQ(history("e").size(), 6u);
}

// A node whose wall clock is off fires by the store's clock, which it measures at every
// heartbeat: never early, never late, nothing refused by the skew guard; it stays ready and
// reports the offset.
class SkewedNode : public Cluster, public ::testing::WithParamInterface<int> {};

TEST_P(SkewedNode, FiresByTheStoresClock) {
  Node& a = add_node("skewed", std::chrono::seconds(GetParam()));
  std::mutex mu;
  std::vector<std::pair<sys_seconds, StoreTime>> starts;
  ASSERT_TRUE(a.sched->add(callable_job("t", "* * * * * *", [&](const RunContext& c) {
    std::lock_guard<std::mutex> g(mu);
    starts.emplace_back(c.scheduled_at, store.now());
    return 0;
  })));
  a.sched->start();
  run_for(30s, 100ms);
  EXPECT_EQ(a.sched->statistics().too_early, 0u);
  EXPECT_TRUE(a.sched->ready()) << a.sched->status();
  EXPECT_EQ(a.sched->statistics().clock_offset_ms, GetParam() * 1000);
  ASSERT_EQ(a.rec.count(RunEventKind::clock_skew), 1u);
  std::lock_guard<std::mutex> g(mu);
  // Every second from the first one after the start, on time by the store's clock; none from
  // before the node was up (a slow node used to run those as if they were due).
  ASSERT_EQ(starts.size(), 30u);
  const sys_seconds first = std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart) + 1s;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto& [at, store_now] = starts[i];
    EXPECT_EQ(at, first + std::chrono::seconds(i));
    EXPECT_GE(store_now, StoreTime(at)) << "ran before the store's clock reached it";
    EXPECT_LT(store_now - StoreTime(at), 200ms) << "ran late";
  }
}

INSTANTIATE_TEST_SUITE_P(Offsets, SkewedNode, ::testing::Values(10, -30),
                         [](const auto& info) { return info.param > 0 ? "Fast10s" : "Slow30s"; });

TEST_F(Cluster, LeaseLossSelfFencesAndRecovers) {
  Node& a = add_node("a");
  std::atomic<int> stopped{0};
  JobSpec j = callable_job("long", "0 * * * * *", [&](const RunContext& c) {
    if (gate.wait(c.stop)) return 0;
    ++stopped;
    return 1;
  });
  ASSERT_TRUE(a.sched->add(std::move(j)));
  a.sched->start();
  run_for(60s, 500ms, false);
  ASSERT_TRUE(a.rec.wait_count(RunEventKind::started, 1));
  a.store.down = true;  // partition: a cannot reach the store
  run_for(4s, 500ms, false);
  EXPECT_EQ(stopped, 0);  // renewal has failed for less than node_ttl (5 s)
  EXPECT_FALSE(a.sched->ready());
  run_for(1500ms, 500ms, false);
  ASSERT_TRUE(a.rec.wait_count(RunEventKind::lease_lost, 1));
  ASSERT_TRUE(eventually([&] { return stopped == 1; }));
  EXPECT_EQ(a.sched->statistics().lease_lost, 1u);
  // While cut off nothing is claimed; the store is back: a registers again and catches up.
  run_for(60s, 500ms, false);
  EXPECT_GE(a.sched->statistics().not_claimed + a.sched->statistics().store_errors, 1u);
  a.store.down = false;
  gate.open();
  run_for(2s, 500ms);
  EXPECT_TRUE(a.sched->ready()) << a.sched->status();
  const auto acquired = a.rec.of(RunEventKind::lease_acquired);
  ASSERT_EQ(acquired.size(), 2u);
  EXPECT_NE(acquired[1].message.find("again after losing its lease"), std::string::npos);
  // The minute missed while cut off is on record.
  const auto h = history("long");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].state, RunState::missed);
  EXPECT_EQ(h[0].key.scheduled_at, utc(2026, 1, 1, 0, 2, 0));
  // a stopped its own run when it could not renew its lease, and said so once the store was
  // back (no other node was there to declare it lost first).
  EXPECT_EQ(h[1].state, RunState::interrupted);
  EXPECT_NE(h[1].message.find("could not renew its lease"), std::string::npos) << h[1].message;
}

TEST_F(Cluster, ClaimFailedInAShortOutageIsCaughtUp) {
  Node& a = add_node("a");
  Ledger ledger;
  JobSpec j = callable_job("m", "0 * * * * *", ledger.fn());
  j.misfire = MisfirePolicy::run_once;
  ASSERT_TRUE(a.sched->add(std::move(j)));
  JobSpec k = callable_job("skip", "0 * * * * *", ledger.fn());
  ASSERT_TRUE(a.sched->add(std::move(k)));
  a.sched->start();
  run_for(59500ms, 500ms);
  a.store.down = true;  // shorter than node_ttl: no self-fencing, but the claims at :00 fail
  run_for(2s, 500ms);
  EXPECT_GE(a.sched->statistics().not_claimed, 2u);
  a.store.down = false;
  run_for(2s, 500ms);
  const auto at = utc(2026, 1, 1, 0, 1, 0);
  EXPECT_EQ(ledger.runs().count({"m", at}), 1u);     // run_once: run late
  EXPECT_EQ(ledger.runs().count({"skip", at}), 0u);  // skip: recorded missed
  const auto h = history("skip");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::missed);
  EXPECT_EQ(history("m").at(0).state, RunState::succeeded);
  EXPECT_EQ(a.sched->statistics().lease_lost, 0u);
}

TEST_F(Cluster, HungStoreCallCannotKeepTheNodeClaiming) {
  Node& a = add_node("a");
  std::atomic<int> stopped{0};
  ASSERT_TRUE(a.sched->add(callable_job("long", "0 * * * * *", [&](const RunContext& c) {
    if (gate.wait(c.stop)) return 0;
    ++stopped;
    return 1;
  })));
  a.sched->start();
  run_for(60s, 500ms, false);
  ASSERT_TRUE(a.rec.wait_count(RunEventKind::started, 1));
  a.store.hang();  // the next renewal never answers
  ASSERT_TRUE(eventually([&] {
    store_clock.advance(100ms);
    a.clock.advance(100ms);
    return a.store.blocked.load() > 0;
  }));
  for (int i = 0; i < 60 && a.rec.count(RunEventKind::lease_lost) == 0; ++i) {
    store_clock.advance(100ms);
    a.clock.advance(100ms);
    eventually([&] { return a.rec.count(RunEventKind::lease_lost) > 0; }, 20ms);
  }
  ASSERT_EQ(a.rec.count(RunEventKind::lease_lost), 1u);  // by the timer loop's watchdog
  EXPECT_TRUE(eventually([&] { return stopped == 1; }));
  EXPECT_FALSE(a.sched->ready());
  a.store.release();
  gate.open();
}

TEST_F(Cluster, AtLeastOnceReclaimsALostRun) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  std::mutex mu;
  std::vector<RunContext> seen;
  auto fn = [&](const RunContext& c) {
    {
      std::lock_guard<std::mutex> g(mu);
      seen.push_back(c);
    }
    if (c.attempt == 1) return gate.wait(c.stop) ? 0 : 1;
    return 0;
  };
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("alo", "0 * * * * *", fn);
    j.delivery = Delivery::at_least_once;
    j.starting_deadline = std::chrono::minutes(1);
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(60s, 500ms, false);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return seen.size() == 1;
  }));
  const std::string first = seen[0].node;
  Node& holder = first == "a" ? a : b;
  Node& other = first == "a" ? b : a;
  holder.store.down = true;  // the holder is cut off; its lease expires by the store's clock
  run_for(8s, 500ms, false);
  ASSERT_TRUE(other.rec.wait_count(RunEventKind::reclaimed, 1));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return seen.size() == 2;
  }));
  EXPECT_EQ(seen[1].node, other.sched->node_id());
  EXPECT_EQ(seen[1].attempt, 2);
  EXPECT_GT(seen[1].fence, seen[0].fence);
  ASSERT_TRUE(other.sched->wait_idle());
  const auto h = history("alo");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::succeeded);
  EXPECT_EQ(h[0].attempt, 2);
  EXPECT_EQ(h[0].node, other.sched->node_id());
  holder.store.down = false;
  gate.open();
}

TEST_F(Cluster, ReplaceStopsTheRunOnTheOtherNode) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  std::atomic<int> stopped{0};
  std::map<std::string, int> started;
  std::mutex mu;
  auto fn = [&](const RunContext& c) {
    {
      std::lock_guard<std::mutex> g(mu);
      ++started[c.node];
    }
    if (gate.wait(c.stop)) return 0;
    ++stopped;
    return 1;
  };
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("r", "*/2 * * * * *", fn);
    j.overlap = OverlapMode::replace;
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(20500ms, 250ms, false);
  for (auto& n : nodes) ASSERT_TRUE(n->sched->pause("r"));
  run_for(2s, 250ms, false);  // the last replaced holder hears of it on a heartbeat
  gate.open();
  for (auto& n : nodes) ASSERT_TRUE(n->sched->wait_idle());
  const auto h = history("r");
  ASSERT_EQ(h.size(), 10u);
  // Every occurrence but the last was replaced by the next one, wherever it ran.
  EXPECT_EQ(h.front().state, RunState::succeeded);
  for (std::size_t i = 1; i < h.size(); ++i) EXPECT_EQ(h[i].state, RunState::interrupted);
  // Each replaced run was stopped (through its stop token, or before it started).
  std::size_t interrupted = 0, succeeded = 0;
  for (Node* n : {&a, &b}) {
    for (const RunEvent& e : n->rec.of(RunEventKind::finished, "r")) {
      interrupted += e.state == RunState::interrupted;
      succeeded += e.state == RunState::succeeded;
    }
  }
  EXPECT_EQ(interrupted, 9u) << a.rec.dump() << "----\n" << b.rec.dump();
  EXPECT_EQ(succeeded, 1u);
  EXPECT_GE(stopped, 1);
  EXPECT_GT(started["a"], 0);
  EXPECT_GT(started["b"], 0);
}

TEST_F(Cluster, SecondLiveProcessWithTheSameIdIsRefused) {
  Node& a = add_node("same");
  Node& b = add_node("same");
  a.sched->start();
  b.sched->start();
  EXPECT_TRUE(a.sched->ready());
  EXPECT_FALSE(b.sched->ready());
  ASSERT_EQ(b.rec.count(RunEventKind::lease_waiting), 1u);
  run_for(7s, 500ms);
  ASSERT_TRUE(b.sched->fatal_error());
  EXPECT_EQ(*b.sched->fatal_error(), "node id same is in use by another live process");
  EXPECT_EQ(b.rec.count(RunEventKind::fatal), 1u);
  EXPECT_TRUE(a.sched->ready());
}

TEST_F(Cluster, RestartAfterCrashTakesTheIdOverWhenTheOldLeaseExpires) {
  ASSERT_TRUE(store.register_node("n1", 5s).acquired);  // the crashed process's lease
  store_clock.advance(2s);
  Node& n = add_node("n1");
  n.sched->start();
  EXPECT_FALSE(n.sched->ready());
  run_for(4s, 500ms);
  EXPECT_TRUE(n.sched->ready()) << n.sched->status();
  EXPECT_FALSE(n.sched->fatal_error());
  const auto ev = n.rec.of(RunEventKind::lease_acquired);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_NE(ev[0].message.find("restart after crash"), std::string::npos);
}

TEST_F(Cluster, ShutdownReleasesTheLeaseAtOnce) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  a.sched->start();
  b.sched->start();
  run_for(1s);
  auto live = [&] {
    std::set<std::string> ids;
    for (const NodeLease& l : store.nodes()) {
      if (l.live) ids.insert(l.node_id);
    }
    return ids;
  };
  EXPECT_EQ(live(), (std::set<std::string>{"a", "b"}));
  a.sched->shutdown();
  EXPECT_EQ(live(), (std::set<std::string>{"b"}));
}

}  // namespace
}  // namespace solocron::testing
