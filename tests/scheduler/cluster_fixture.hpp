// The cluster in-process: several Scheduler instances with their own FakeClocks share one
// MemoryStore whose clock is a third; each node reaches it through its own CuttableStore, so
// a test can cut, stall or slow one node's store calls.
#pragma once

#include <map>

#include "scheduler/scheduler_test_util.hpp"

namespace solocron::testing {

struct Node {
  Node(std::string id, detail::MemoryStore& shared, Clock::wall_time start,
       std::function<void(NodeSettings&)> tweak = {})
      : clock(start), store(shared) {
    NodeSettings s;
    s.node_id = std::move(id);
    if (tweak) tweak(s);
    sched = std::make_unique<Scheduler>(s, store, clock);
    sched->set_observer(&rec);
  }
  FakeClock clock;
  CuttableStore store;
  Recorder rec;
  std::unique_ptr<Scheduler> sched;
};

class Cluster : public ::testing::Test {
 protected:
  Cluster()
      : store_clock(FakeClock::kDefaultStart),
        store([this] { return store_time(store_clock); }) {}

  Node& add_node(const std::string& id, std::chrono::milliseconds offset = 0ms,
                 std::function<void(NodeSettings&)> tweak = {}) {
    nodes.push_back(std::make_unique<Node>(id, store, FakeClock::kDefaultStart + offset,
                                           std::move(tweak)));
    return *nodes.back();
  }
  // Real time passes for everyone: every clock advances, every scheduler settles.
  void run_for(std::chrono::nanoseconds total, std::chrono::nanoseconds step = 50ms,
               bool runs_too = true) {
    for (std::chrono::nanoseconds done{0}; done < total; done += step) {
      store_clock.advance(step);
      for (auto& n : nodes) n->clock.advance(step);
      for (auto& n : nodes) {
        ASSERT_TRUE(n->sched->wait_idle(10s, runs_too));
      }
    }
  }
  std::vector<RunRecord> history(const std::string& job) {
    // State writes are batched: let those already submitted reach the store.
    for (auto& n : nodes) {
      EXPECT_TRUE(n->sched->wait_idle(10s, false));
    }
    HistoryQuery q;
    q.job = job;
    q.limit = 100000;
    return store.history(q);
  }

  FakeClock store_clock;
  detail::MemoryStore store;
  // Outlives the nodes, so that a failed assertion cannot leave a run blocked on a dead gate.
  Gate gate;
  std::vector<std::unique_ptr<Node>> nodes;
};

// Records which node ran which occurrence.
class Ledger {
 public:
  JobCallable fn() {
    return [this](const RunContext& c) {
      std::lock_guard<std::mutex> g(mu_);
      runs_[{c.job, c.scheduled_at}].push_back(c.node);
      return 0;
    };
  }
  std::map<std::pair<std::string, sys_seconds>, std::vector<std::string>> runs() const {
    std::lock_guard<std::mutex> g(mu_);
    return runs_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, sys_seconds>, std::vector<std::string>> runs_;
};

}  // namespace solocron::testing
