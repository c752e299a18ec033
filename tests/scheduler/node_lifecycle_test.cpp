// The node lifecycle through ordinary operations and faults (fake clocks, in-process nodes):
// a drain keeps the lease, the lease deadline counts from the renewal's send, claims are bound
// to the lease, a full node leaves work to others, one bad write does not fail its neighbours,
// slow claims do not starve the lease, lost runs are re-claimed by any node that has the job,
// an unstarted claim of a dead node runs elsewhere, store stalls do not delay local jobs, and
// a node whose store changed identity stops claiming.
#include "scheduler/cluster_fixture.hpp"

namespace solocron::testing {
namespace {

// Advances every clock in small steps without waiting for the schedulers to settle (one of
// them is stuck in a store call on purpose).
void tick_clocks(Cluster& c, FakeClock& store_clock, std::vector<Node*> nodes,
                 std::chrono::milliseconds total, std::chrono::milliseconds step = 100ms) {
  (void)c;
  for (std::chrono::milliseconds done{0}; done < total; done += step) {
    store_clock.advance(step);
    for (Node* n : nodes) n->clock.advance(step);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool lease_live(Store& store, const std::string& node) {
  for (const NodeLease& l : store.nodes()) {
    if (l.node_id == node && l.live) return true;
  }
  return false;
}

// Issue: SIGTERM to a node running a 12 s job made it stop renewing its lease; 5 s later it
// fenced itself and the run was recorded lost (at_least_once: attempt 2 elsewhere).
TEST_F(Cluster, DrainKeepsTheLeaseWhileLongRunsFinish) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  std::atomic<int> attempts{0};
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("long", "0 * * * * *", [&](const RunContext& c) {
      ++attempts;
      return gate.wait(c.stop) ? 0 : 1;
    });
    j.delivery = Delivery::at_least_once;  // a run taken for lost would start again elsewhere
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(60s, 500ms, false);
  ASSERT_TRUE(eventually([&] { return attempts == 1; }));
  Node& holder = a.rec.count(RunEventKind::started) == 1 ? a : b;
  Node& other = &holder == &a ? b : a;
  std::thread stopper([&] { holder.sched->shutdown(25s); });
  ASSERT_TRUE(eventually([&] { return !holder.sched->ready(); }));
  run_for(12s, 500ms, false);  // far beyond node_ttl (5 s)
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(holder.sched->statistics().lease_lost, 0u);
  EXPECT_TRUE(lease_live(store, holder.sched->node_id()));
  EXPECT_EQ(other.rec.count(RunEventKind::lost), 0u);
  gate.open();
  stopper.join();
  const auto h = history("long");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::succeeded);
  EXPECT_EQ(h[0].node, holder.sched->node_id());
  EXPECT_FALSE(lease_live(store, holder.sched->node_id()));
  const auto released = holder.rec.of(RunEventKind::lease_released);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].message, "released the lease of node " + holder.sched->node_id());
}

// Issue: the node measured its lease deadline from the renewal's reply, so a slow renewal
// pushed it past the store's expiry.
TEST_F(Cluster, LeaseDeadlineCountsFromWhenTheRenewalWasSent) {
  Node& a = add_node("a");
  a.sched->start();
  run_for(2s, 500ms);
  a.store.pause(true);  // the next renewal is sent, then answered 3 s later
  // Within a heartbeat (1 s) of fake time, slowly enough that the session keeps up.
  for (int i = 0; i < 30 && a.store.blocked.load() == 0; ++i) {
    tick_clocks(*this, store_clock, {&a}, 50ms, 50ms);
    eventually([&] { return a.store.blocked.load() > 0; }, 20ms);
  }
  ASSERT_GT(a.store.blocked.load(), 0);
  tick_clocks(*this, store_clock, {&a}, 3000ms);
  a.store.resume();
  ASSERT_TRUE(eventually([&] { return a.store.blocked.load() == 0; }));
  ASSERT_TRUE(a.sched->wait_idle());
  a.store.down = true;  // from now on nothing is renewed
  tick_clocks(*this, store_clock, {&a}, 1500ms);
  EXPECT_EQ(a.sched->statistics().lease_lost, 0u) << a.rec.dump();
  // 5 s after the send, 2 s after the answer: fenced (counting from the answer would wait 5 s).
  tick_clocks(*this, store_clock, {&a}, 1000ms);
  EXPECT_TRUE(eventually([&] { return a.sched->statistics().lease_lost == 1; }, 2s));
  a.store.down = false;
}

// Issue: no backend checked, in the claim, that the claimant holds a live lease.
TEST_F(Cluster, ClaimAfterTheLeaseExpiredInTheStoreIsRefused) {
  Node& a = add_node("a");
  Calls calls;
  ASSERT_TRUE(a.sched->add(callable_job("j", "0 0 1 1 *", calls.fn())));
  a.sched->start();
  run_for(1s, 500ms);
  // a stalls (its clocks do not move: it renews nothing, its own deadline is not reached)
  // while the store's clock runs on past node_ttl.
  store_clock.advance(6s);
  ASSERT_TRUE(a.sched->run_now("j"));
  ASSERT_TRUE(a.rec.wait_count(RunEventKind::not_claimed, 1));
  EXPECT_EQ(a.rec.of(RunEventKind::not_claimed)[0].message,
            "the store says this node's lease is not live");
  EXPECT_EQ(a.sched->statistics().claims_won, 0u);
  EXPECT_EQ(calls.size(), 0u);
  EXPECT_TRUE(history("j").empty());
}

// Issue: a node whose slots were full still claimed; the runs waited while another node idled.
TEST_F(Cluster, FullNodeLeavesWorkToIdleNodes) {
  Node& a = add_node("a", 0ms, [](NodeSettings& s) { s.max_concurrent_runs = 1; });
  Node& b = add_node("b");
  ASSERT_TRUE(a.sched->add(callable_job("hog", "0 * * * * *", [&](const RunContext& c) {
    return gate.wait(c.stop) ? 0 : 1;
  })));
  Ledger ledger;
  for (Node* n : {&a, &b}) {
    ASSERT_TRUE(n->sched->add(callable_job("tick", "* * * * * *", ledger.fn())));
    n->sched->start();
  }
  run_for(60s, 250ms, false);
  ASSERT_TRUE(a.rec.wait_count(RunEventKind::started, 1, "hog"));
  const auto a_ticks_before = a.rec.count(RunEventKind::started, "tick");
  run_for(10s, 250ms, false);
  EXPECT_EQ(a.rec.count(RunEventKind::started, "tick"), a_ticks_before);  // full: claims nothing
  const sys_seconds t0 = std::chrono::floor<std::chrono::seconds>(FakeClock::kDefaultStart);
  const auto runs = ledger.runs();
  for (int s = 61; s <= 69; ++s) {
    auto it = runs.find({"tick", t0 + std::chrono::seconds(s)});
    ASSERT_NE(it, runs.end()) << "second " << s << " did not run";
    EXPECT_EQ(it->second, std::vector<std::string>{"b"}) << "second " << s;
  }
  gate.open();
  run_for(2s, 250ms);
  for (const auto& [occ, who] : ledger.runs()) EXPECT_EQ(who.size(), 1u);
}

// A waiting occurrence is not claimed past its starting_deadline: it is recorded missed.
TEST_F(Cluster, WaitingForASlotPastTheStartingDeadlineIsMissed) {
  Node& a = add_node("a", 0ms, [](NodeSettings& s) { s.max_concurrent_runs = 1; });
  ASSERT_TRUE(a.sched->add(callable_job("hog", "59 0 * * * *", [&](const RunContext& c) {
    return gate.wait(c.stop) ? 0 : 1;
  })));
  Calls calls;
  JobSpec t = callable_job("t", "0 1 * * * *", calls.fn());
  t.starting_deadline = 2s;
  ASSERT_TRUE(a.sched->add(std::move(t)));
  a.sched->start();
  run_for(66s, 250ms, false);  // hog from 00:00:59; t due at 00:01:00 waits, then its deadline passes
  gate.open();
  run_for(2s, 250ms);
  EXPECT_EQ(calls.size(), 0u);
  const auto h = history("t");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::missed);
  const auto missed = a.rec.of(RunEventKind::missed, "t");
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_NE(missed[0].message.find("no free slot"), std::string::npos) << missed[0].message;
}

// Issue: state writes were batched, and one failed write failed the whole batch; its runs
// were then taken for lost ("its node lease expired").
TEST_F(Cluster, OneBadWriteDoesNotFailItsNeighbours) {
  Node& a = add_node("a");
  // Five runs due together end together: their outcomes are written in one batch.
  auto fn = [](const RunContext&) { return 0; };
  for (const char* name : {"bad", "n1", "n2", "n3", "n4"}) {
    ASSERT_TRUE(a.sched->add(callable_job(name, "0 * * * * *", fn)));
  }
  a.sched->start();
  a.store.reject_outcomes_of("bad", 1);  // once: the batch fails, "bad" alone goes through
  run_for(61s, 500ms);
  for (const char* name : {"bad", "n1", "n2", "n3", "n4"}) {
    const auto h = history(name);
    ASSERT_EQ(h.size(), 1u) << name;
    EXPECT_EQ(h[0].state, RunState::succeeded) << name;
  }
  // Refused alone too: the outcome is stored without its output tail, and says so.
  a.store.reject_outcomes_of("bad", 2);
  run_for(60s, 500ms);
  const auto bad = history("bad");
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].state, RunState::succeeded);
  EXPECT_NE(bad[0].message.find("output tail not stored"), std::string::npos) << bad[0].message;
  EXPECT_EQ(history("n1").front().state, RunState::succeeded);
  EXPECT_EQ(a.sched->statistics().lost, 0u);
  EXPECT_EQ(a.sched->statistics().lease_lost, 0u);
}

// Issue: under load the lease shared one connection with claims and batched writes and was
// lost. It has its own connection: a stuck claim batch does not delay a renewal.
TEST_F(Cluster, SlowClaimsDoNotStarveTheLease) {
  Node& a = add_node("a");
  ASSERT_TRUE(a.sched->add(callable_job("t", "* * * * * *", [](const RunContext&) { return 0; })));
  a.sched->start();
  run_for(3s, 500ms);
  a.store.spare_lease(true);
  a.store.hang();  // claims, marks and writes hang; renewals go through
  tick_clocks(*this, store_clock, {&a}, 10000ms);
  EXPECT_EQ(a.sched->statistics().lease_lost, 0u);
  EXPECT_TRUE(lease_live(store, "a"));
  EXPECT_TRUE(a.sched->ready()) << a.sched->status();
  a.store.release();
  a.store.spare_lease(false);
  run_for(3s, 500ms);
  EXPECT_TRUE(a.sched->ready());
}

// Issue: only the node whose mark_lost won re-claimed; jobs unknown to it were skipped for good.
TEST_F(Cluster, LostRunIsReclaimedByANodeThatHasTheJob) {
  Node& a = add_node("a");
  Node& c = add_node("c");  // does not have the job
  std::mutex mu;
  std::vector<RunContext> seen;
  auto fn = [&](const RunContext& ctx) {
    {
      std::lock_guard<std::mutex> g(mu);
      seen.push_back(ctx);
    }
    return ctx.attempt == 1 ? (gate.wait(ctx.stop) ? 0 : 1) : 0;
  };
  auto job = [&] {
    JobSpec j = callable_job("alo", "0 * * * * *", fn);
    j.delivery = Delivery::at_least_once;
    j.starting_deadline = std::chrono::minutes(2);
    return j;
  };
  ASSERT_TRUE(a.sched->add(job()));
  a.sched->start();
  c.sched->start();
  run_for(61s, 500ms, false);  // (a may claim up to 250 ms late: its rank among the live nodes)
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return seen.size() == 1;
  }));
  a.store.down = true;  // a is cut off; c declares its run lost but cannot run it
  run_for(8s, 500ms, false);
  ASSERT_TRUE(c.rec.wait_count(RunEventKind::lost, 1)) << c.rec.dump();
  EXPECT_EQ(c.rec.count(RunEventKind::reclaimed), 0u);
  Node& b = add_node("b");  // has the job; comes up later
  ASSERT_TRUE(b.sched->add(job()));
  b.sched->start();
  run_for(3s, 500ms, false);
  ASSERT_TRUE(b.rec.wait_count(RunEventKind::reclaimed, 1));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mu);
    return seen.size() == 2;
  }));
  EXPECT_EQ(seen[1].node, "b");
  EXPECT_EQ(seen[1].attempt, 2);
  EXPECT_GT(seen[1].fence, seen[0].fence);
  ASSERT_TRUE(b.sched->wait_idle());
  const auto h = history("alo");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].state, RunState::succeeded);
  EXPECT_EQ(h[0].attempt, 2);
  a.store.down = false;
  gate.open();
}

// Issue: a node SIGKILLed right after claiming left 164 occurrences `lost` that it had never
// started. Starts are gated on the stored running mark, so a claim without one is certainly
// unstarted: another node takes it over, also under at_most_once.
class UnstartedClaim : public Cluster, public ::testing::WithParamInterface<bool> {};

TEST_P(UnstartedClaim, OfADeadNodeRunsElsewhereOnlyIfNeverStarted) {
  const bool marked_running = GetParam();
  Node& b = add_node("b");
  Calls calls;
  JobSpec j = callable_job("j", "0 0 1 1 *", calls.fn());
  j.starting_deadline = std::chrono::minutes(1);
  ASSERT_TRUE(b.sched->add(std::move(j)));
  b.sched->start();
  run_for(1s, 500ms);
  // A node that claims and dies: its lease lives 2 s.
  const NodeLease ghost = store.register_node("ghost", 2s).lease;
  ClaimRequest req;
  req.key = {"j", std::chrono::floor<std::chrono::seconds>(store.now()), ""};
  req.node_id = "ghost";
  req.lease_token = ghost.token;
  const ClaimResult won = store.claim(std::span<const ClaimRequest>(&req, 1))[0];
  ASSERT_EQ(won.outcome, ClaimResult::Outcome::won);
  if (marked_running) {
    const StateUpdate u{req.key, won.fence, RunState::running, {}, {}, {}, {}};
    ASSERT_TRUE(store.update(std::span<const StateUpdate>(&u, 1))[0]);
  }
  run_for(4s, 500ms);
  const auto h = history("j");
  ASSERT_EQ(h.size(), 1u);
  if (marked_running) {
    EXPECT_EQ(calls.size(), 0u);  // it may have run: at_most_once does not run it again
    EXPECT_EQ(h[0].state, RunState::lost);
    EXPECT_NE(h[0].message.find("ghost's lease expired while it ran"), std::string::npos) << h[0].message;
  } else {
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls.instants()[0], req.key.scheduled_at);
    EXPECT_EQ(calls.contexts()[0].attempt, 1);
    EXPECT_GT(calls.contexts()[0].fence, won.fence);
    EXPECT_EQ(h[0].state, RunState::succeeded);
    EXPECT_EQ(h[0].node, "b");
    const auto ev = b.rec.of(RunEventKind::reclaimed);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_NE(ev[0].message.find("died before starting it"), std::string::npos) << ev[0].message;
  }
}

INSTANTIATE_TEST_SUITE_P(Mark, UnstartedClaim, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Running" : "ClaimedOnly"; });

// Issue: claims and store.now() ran on the timer thread: a store stall delayed local jobs and
// callable timeouts on that node.
TEST_F(Cluster, StoreStallDoesNotDelayLocalJobsOrTimeouts) {
  Node& a = add_node("a");
  std::mutex mu;
  std::vector<std::pair<sys_seconds, Clock::wall_time>> local;
  JobSpec l = callable_job("local", "* * * * * *", [&](const RunContext& c) {
    std::lock_guard<std::mutex> g(mu);
    local.emplace_back(c.scheduled_at, a.clock.now());
    return 0;
  });
  l.run_on = RunOn::local;
  ASSERT_TRUE(a.sched->add(std::move(l)));
  std::atomic<int> stopped{0};
  Gate never;
  JobSpec slow = callable_job("slow", "2 * * * * *", [&](const RunContext& c) {
    if (!never.wait(c.stop)) ++stopped;
    return 1;
  });
  slow.run_on = RunOn::local;
  slow.timeout = 2s;
  ASSERT_TRUE(a.sched->add(std::move(slow)));
  ASSERT_TRUE(a.sched->add(callable_job("claimed", "* * * * * *", [](const RunContext&) { return 0; })));
  a.sched->start();
  run_for(1s, 500ms);
  a.store.hang();  // every store call hangs, the claims of "claimed" among them
  tick_clocks(*this, store_clock, {&a}, 4500ms);
  a.store.release();
  {
    std::lock_guard<std::mutex> g(mu);
    ASSERT_GE(local.size(), 5u);
    // A local job that waited for the store would start seconds late (the store hangs 4.5 s).
    // The bound is not a latency target: the fake clocks step 100 ms every 2 ms of real time,
    // so a worker that the machine schedules late shows up as whole steps of lateness.
    for (const auto& [at, ran] : local) {
      EXPECT_LT(ran - Clock::wall_time(at), 2s) << "local job delayed by the store";
    }
  }
  EXPECT_EQ(stopped, 1);  // the 2 s timeout of the run at :02 fired on time, at :04
}

// A node whose store changed under it (file replaced, database restored) stops claiming,
// reports not ready and says why.
TEST_F(Cluster, ReplacedStoreStopsClaiming) {
  Node& a = add_node("a");
  ASSERT_TRUE(a.sched->add(callable_job("t", "* * * * * *", [](const RunContext&) { return 0; })));
  a.sched->start();
  run_for(3s, 500ms);
  ASSERT_TRUE(a.sched->ready());
  a.store.replace_identity("another-store");
  run_for(2s, 500ms);
  EXPECT_FALSE(a.sched->ready());
  EXPECT_NE(a.sched->status().find("store changed"), std::string::npos) << a.sched->status();
  ASSERT_EQ(a.rec.count(RunEventKind::store_changed), 1u);
  EXPECT_NE(a.rec.of(RunEventKind::store_changed)[0].message.find("another-store"), std::string::npos);
  const auto won = a.sched->statistics().claims_won;
  run_for(5s, 500ms);
  EXPECT_EQ(a.sched->statistics().claims_won, won);
  EXPECT_GE(a.sched->statistics().not_claimed, 4u);
}

}  // namespace
}  // namespace solocron::testing
