// Conformance: retries. A retry is a compare-and-set on a run that ended failed or timed out
// (its fence, its state, the attempt before the one asked, a live claimant): of several, one
// applies. The attempt as it ended is kept (earlier_attempts) and the record becomes the next
// attempt, claimed, with a new fence and trigger retry. retry_candidates lists a set of jobs'
// failed runs by when they ended.
#include <set>
#include <thread>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

using Outcome = ClaimResult::Outcome;

template <class B>
class RetryTest : public StoreConformance<B> {
 protected:
  // `k` claimed by `node` and ended in `state` (failed unless told) with these details.
  RunRecord ended(const OccurrenceKey& k, const std::string& node,
                  RunState state = RunState::failed, std::optional<int> exit_code = 3,
                  std::string output = "disk full\n", std::string message = "exit status 3") {
    const auto won = this->claim_one(this->request(k, node));
    EXPECT_EQ(won.outcome, Outcome::won) << k.job;
    EXPECT_TRUE(this->update_one(
        this->make_update(k, won.fence, state, exit_code, std::nullopt, output, message)));
    return this->find(k).value();
  }
  std::optional<RunRecord> retry_one(const ReclaimRequest& r) {
    auto out = this->store().retry(std::span(&r, 1));
    EXPECT_EQ(out.size(), 1u);
    return out.at(0);
  }
  std::vector<RunRecord> attempts_of(const OccurrenceKey& k) {
    return this->store().earlier_attempts(std::span(&k, 1));
  }
  std::vector<OccurrenceKey> candidates(std::vector<std::string> jobs, StoreTime since) {
    std::vector<OccurrenceKey> keys;
    for (const RunRecord& r : this->store().retry_candidates(jobs, since)) keys.push_back(r.key);
    return keys;
  }
};
TYPED_TEST_SUITE(RetryTest, Backends, BackendNames);

TYPED_TEST(RetryTest, ARetryStartsTheNextAttemptAndKeepsTheOneThatEnded) {
  this->register_live("a");
  this->register_live("b");
  const auto k = this->key("backup", this->store_second(-10s));
  const RunRecord first = this->ended(k, "a");
  const auto next = this->retry_one(this->reclaim_request(k, first.fence, "b", 2));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->key, k);
  EXPECT_EQ(next->state, RunState::claimed);
  EXPECT_EQ(next->node, "b");
  EXPECT_EQ(next->lease_token, this->tokens_["b"]);
  EXPECT_EQ(next->attempt, 2);
  EXPECT_GT(next->fence, first.fence);
  EXPECT_EQ(next->trigger, Trigger::retry);
  EXPECT_TRUE(next->claimed_at);
  EXPECT_FALSE(next->started_at);
  EXPECT_FALSE(next->finished_at);
  EXPECT_FALSE(next->exit_code);
  EXPECT_EQ(next->output_tail, "");
  EXPECT_EQ(next->message, "");
  const auto stored = this->find(k);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->fence, next->fence);
  EXPECT_EQ(stored->trigger, Trigger::retry);
  EXPECT_EQ(stored->attempt, 2);

  auto kept = this->attempts_of(k);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].key, k);
  EXPECT_EQ(kept[0].attempt, 1);
  EXPECT_EQ(kept[0].state, RunState::failed);
  EXPECT_EQ(kept[0].node, "a");
  EXPECT_EQ(kept[0].fence, first.fence);
  EXPECT_EQ(kept[0].exit_code, 3);
  EXPECT_EQ(kept[0].output_tail, "disk full\n");
  EXPECT_EQ(kept[0].message, "exit status 3");
  EXPECT_EQ(kept[0].trigger, Trigger::schedule);
  EXPECT_EQ(kept[0].claimed_at, first.claimed_at);
  EXPECT_EQ(kept[0].finished_at, first.finished_at);

  // The old fence no longer writes; the new holder's does, and a second retry keeps both.
  EXPECT_FALSE(this->update_one(k, first.fence, RunState::succeeded, 0));
  ASSERT_TRUE(this->update_one(k, next->fence, RunState::running));
  ASSERT_TRUE(this->update_one(this->make_update(k, next->fence, RunState::timed_out, std::nullopt,
                                                 9, "slow", "timed out after 5s")));
  const auto third = this->retry_one(this->reclaim_request(k, next->fence, "a", 3));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->attempt, 3);
  EXPECT_GT(third->fence, next->fence);
  kept = this->attempts_of(k);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].attempt, 1);
  EXPECT_EQ(kept[1].attempt, 2);
  EXPECT_EQ(kept[1].state, RunState::timed_out);
  EXPECT_EQ(kept[1].signal, 9);
  EXPECT_EQ(kept[1].node, "b");
  EXPECT_EQ(kept[1].output_tail, "slow");
  EXPECT_EQ(kept[1].message, "timed out after 5s");
  EXPECT_EQ(kept[1].trigger, Trigger::retry);
  EXPECT_TRUE(kept[1].started_at);
}

TYPED_TEST(RetryTest, EarlierAttemptsComeByKeyInTheOrderAskedThenByAttempt) {
  this->register_live("a");
  const auto k1 = this->key("j", this->store_second(-20s));
  const auto k2 = this->key("j", this->store_second(-10s));
  const auto none = this->key("j", this->store_second(-5s));
  for (const auto& k : {k1, k2}) {
    const RunRecord first = this->ended(k, "a");
    ASSERT_TRUE(this->retry_one(this->reclaim_request(k, first.fence, "a", 2)));
  }
  const std::vector<OccurrenceKey> keys{k2, none, k1};
  const auto kept = this->store().earlier_attempts(keys);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].key, k2);
  EXPECT_EQ(kept[1].key, k1);
  EXPECT_TRUE(this->store().earlier_attempts({}).empty());
}

TYPED_TEST(RetryTest, ARetryAppliesOnce) {
  this->register_live("a");
  this->register_live("b");
  const auto k = this->key("once", this->store_second(-10s));
  const RunRecord first = this->ended(k, "a");
  const auto won = this->retry_one(this->reclaim_request(k, first.fence, "a", 2));
  ASSERT_TRUE(won);
  EXPECT_FALSE(this->retry_one(this->reclaim_request(k, first.fence, "b", 2)));
  EXPECT_FALSE(this->retry_one(this->reclaim_request(k, first.fence, "a", 2)));
  EXPECT_EQ(this->find(k)->node, "a");
  EXPECT_EQ(this->attempts_of(k).size(), 1u);
}

TYPED_TEST(RetryTest, RacingRetriesFromConnectionsHaveOneWinnerEach) {
  constexpr int kNodes = 4;
  constexpr int kRuns = 20;
  this->register_live("a");
  std::vector<ReclaimRequest> base;
  const auto t = this->store_second(-600s);
  for (int i = 0; i < kRuns; ++i) {
    const auto k = this->key("race", t + std::chrono::seconds(i));
    base.push_back(this->reclaim_request(k, this->ended(k, "a").fence, "", 2));
  }
  std::vector<std::vector<int>> wins(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    const std::string node = "n" + std::to_string(n);
    const std::int64_t token = this->register_live(node).token;
    threads.emplace_back([&, n, node, token] {
      try {
        auto store = this->backend_.connect();
        for (int j = 0; j < kRuns; ++j) {
          const int i = (j + n * 7) % kRuns;  // colliding in different orders
          ReclaimRequest r = base[i];
          r.node_id = node;
          r.lease_token = token;
          if (store->retry(std::span(&r, 1)).at(0)) wins[n].push_back(i);
        }
      } catch (const std::exception& e) {
        errors[n] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::map<int, int> per_run;
  for (int n = 0; n < kNodes; ++n) {
    EXPECT_EQ(errors[n], "") << "node " << n;
    for (int i : wins[n]) per_run[i]++;
  }
  EXPECT_EQ(per_run.size(), static_cast<std::size_t>(kRuns));
  std::set<std::int64_t> fences;
  for (const auto& r : base) {
    EXPECT_EQ(per_run[static_cast<int>(&r - base.data())], 1);
    EXPECT_EQ(this->attempts_of(r.key).size(), 1u);
    const auto now = this->find(r.key);
    ASSERT_TRUE(now);
    EXPECT_EQ(now->attempt, 2);
    EXPECT_TRUE(fences.insert(now->fence).second) << "fence issued twice";
  }
}

TYPED_TEST(RetryTest, RefusedUnlessFenceStateAttemptAndLeaseAllMatch) {
  this->register_live("a");
  this->register_live("b");
  const auto t = this->store_second();  // one base: time passes below
  const auto k = this->key("guarded", t - 30s);
  const RunRecord first = this->ended(k, "a");
  EXPECT_FALSE(this->retry_one(this->reclaim_request(k, first.fence + 1000, "b", 2)));
  EXPECT_FALSE(this->retry_one(this->reclaim_request(k, first.fence, "b", 3)));
  EXPECT_FALSE(this->retry_one(this->reclaim_request(k, first.fence, "b", 1)));
  ReclaimRequest stranger = this->reclaim_request(k, first.fence, "b", 2);
  stranger.lease_token += 1000;  // not b's lease
  EXPECT_FALSE(this->retry_one(stranger));
  this->tokens_["dying"] = this->store().register_node("dying", 300ms).lease.token;
  const ReclaimRequest late = this->reclaim_request(k, first.fence, "dying", 2);
  // A run that is lost: its holder's lease expired.
  const auto gone = this->key("guarded", t - 12s);
  const auto dropped = this->claim_one(this->request(gone, "dying"));
  this->backend_.advance(600ms);
  EXPECT_FALSE(this->retry_one(late)) << "the claimant's lease expired";
  ASSERT_TRUE(this->update_one(gone, dropped.fence, RunState::lost));
  EXPECT_FALSE(this->retry_one(this->reclaim_request(gone, dropped.fence, "b", 2)));
  const auto unchanged = this->find(k);
  EXPECT_EQ(unchanged->state, RunState::failed);
  EXPECT_EQ(unchanged->fence, first.fence);
  EXPECT_EQ(unchanged->exit_code, 3);
  EXPECT_EQ(unchanged->trigger, Trigger::schedule);
  EXPECT_TRUE(this->attempts_of(k).empty()) << "nothing kept for a refused retry";

  // Only failed and timed-out runs are retried.
  const auto ok = this->key("guarded", t - 20s);
  EXPECT_FALSE(this->retry_one(
      this->reclaim_request(ok, this->ended(ok, "a", RunState::succeeded, 0).fence, "b", 2)));
  const auto active = this->key("guarded", t - 15s);
  const auto claimed = this->claim_one(this->request(active, "a"));
  EXPECT_FALSE(this->retry_one(this->reclaim_request(active, claimed.fence, "b", 2)));
  const auto cut = this->key("guarded", t - 13s);
  EXPECT_FALSE(this->retry_one(
      this->reclaim_request(cut, this->ended(cut, "a", RunState::interrupted).fence, "b", 2)));
  const std::vector<OccurrenceKey> missed{this->key("guarded", t - 11s)};
  ASSERT_EQ(this->store().record_missed(missed), std::vector<bool>{true});
  EXPECT_FALSE(this->retry_one(this->reclaim_request(missed[0], 0, "b", 2)));
  const auto slow = this->key("guarded", t - 10s);
  EXPECT_TRUE(this->retry_one(
      this->reclaim_request(slow, this->ended(slow, "a", RunState::timed_out).fence, "b", 2)));
  EXPECT_EQ(this->find(ok)->state, RunState::succeeded);
  EXPECT_EQ(this->find(active)->node, "a");
}

TYPED_TEST(RetryTest, ARequestedRunsRetryKeepsItsAsker) {
  this->register_live("a");
  const RunRequest req = this->store().request_run("report", "alice", "month end");
  const OccurrenceKey k{req.job, req.at, "", req.id};
  const RunRecord first = this->ended(k, "a");
  EXPECT_EQ(first.trigger, Trigger::manual);
  const auto next = this->retry_one(this->reclaim_request(k, first.fence, "a", 2));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->trigger, Trigger::retry);
  EXPECT_EQ(next->requested_by, "alice");
  EXPECT_EQ(next->note, "month end");
  const auto kept = this->attempts_of(k);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].trigger, Trigger::manual);
  EXPECT_EQ(kept[0].key.request, req.id);
}

TYPED_TEST(RetryTest, CandidatesAreTheListedJobsFailedRunsEarliestFinishedFirst) {
  this->register_live("a");
  const auto since = this->store().now();
  // Finished in another order than scheduled: the list follows the finish.
  const auto late = this->key("j1", this->store_second(-10s));
  const auto early = this->key("j1", this->store_second(-30s));
  const auto other_job = this->key("j2", this->store_second(-20s));
  this->ended(late, "a");
  this->backend_.advance(20ms);
  const RunRecord second = this->ended(other_job, "a", RunState::timed_out, std::nullopt);
  this->backend_.advance(20ms);
  this->ended(early, "a");
  this->ended(this->key("j1", this->store_second(-40s)), "a", RunState::succeeded, 0);
  this->ended(this->key("j1", this->store_second(-50s)), "a", RunState::interrupted);
  this->ended(this->key("j3", this->store_second(-10s)), "a");
  ASSERT_EQ(this->claim_one(this->request(this->key("j1", this->store_second(-5s)), "a")).outcome,
            Outcome::won);

  EXPECT_EQ(this->candidates({"j1", "j2"}, since),
            (std::vector<OccurrenceKey>{late, other_job, early}));
  EXPECT_EQ(this->candidates({"j2"}, since), std::vector<OccurrenceKey>{other_job});
  EXPECT_EQ(this->candidates({"j1", "j2"}, *second.finished_at),
            (std::vector<OccurrenceKey>{other_job, early}))
      << "finished at or after the window's start";
  EXPECT_TRUE(this->candidates({}, since).empty());
  EXPECT_TRUE(this->candidates({"nothing"}, since).empty());
  const auto all = this->store().retry_candidates(std::vector<std::string>{"j2"}, since);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, RunState::timed_out);
  EXPECT_EQ(all[0].fence, second.fence);
  // A retried run is active again: no longer a candidate.
  ASSERT_TRUE(this->retry_one(this->reclaim_request(late, this->find(late)->fence, "a", 2)));
  EXPECT_EQ(this->candidates({"j1", "j2"}, since), (std::vector<OccurrenceKey>{other_job, early}));
}

TYPED_TEST(RetryTest, RetentionDropsTheAttemptsOfTheRunsItDeletes) {
  this->register_live("a");
  const auto old = this->key("kept", this->store_second(-20s));
  const auto newer = this->key("kept", this->store_second(-10s));
  for (const auto& k : {old, newer}) {
    const RunRecord first = this->ended(k, "a");
    const auto next = this->retry_one(this->reclaim_request(k, first.fence, "a", 2));
    ASSERT_TRUE(next);
    ASSERT_TRUE(this->update_one(k, next->fence, RunState::succeeded, 0));
  }
  this->store().prune("kept", 1, std::nullopt);
  EXPECT_FALSE(this->find(old));
  EXPECT_TRUE(this->attempts_of(old).empty());
  EXPECT_EQ(this->attempts_of(newer).size(), 1u);
}

}  // namespace
}  // namespace solocron::testing

namespace solocron::testing {
namespace {

// at_least_once: the re-claim of a lost run keeps the lost attempt, as a retry keeps a failed
// one; an unstarted run taken over goes on as the same attempt and keeps nothing.
TYPED_TEST(RetryTest, AReclaimOfALostRunKeepsTheLostAttempt) {
  this->register_live("a", 300ms);
  this->register_live("b");
  const auto k = this->key("sync", this->store_second(-2s));
  const auto won = this->claim_one(this->request(k, "a"));
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::running));
  const auto unstarted = this->key("sync", this->store_second(-1s));
  const auto other = this->claim_one(this->request(unstarted, "a"));
  this->backend_.advance(600ms);
  ASSERT_TRUE(this->update_one(this->make_update(k, won.fence, RunState::lost, {}, {}, "", "lease of a expired")));
  const std::vector<ReclaimRequest> reqs{this->reclaim_request(k, won.fence, "b", 2),
                                         this->reclaim_request(unstarted, other.fence, "b", 1)};
  const auto next = this->store().reclaim(reqs);
  ASSERT_EQ(next.size(), 2u);
  ASSERT_TRUE(next[0] && next[1]);
  EXPECT_EQ(next[0]->attempt, 2);
  const auto kept = this->attempts_of(k);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].attempt, 1);
  EXPECT_EQ(kept[0].state, RunState::lost);
  EXPECT_EQ(kept[0].node, "a");
  EXPECT_EQ(kept[0].fence, won.fence);
  EXPECT_EQ(kept[0].message, "lease of a expired");
  EXPECT_TRUE(this->attempts_of(unstarted).empty());
}

}  // namespace
}  // namespace solocron::testing
