// Conformance: claims, fencing tokens, the skew guard, overlap and every_node keys.
#include <set>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class ClaimTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(ClaimTest, Backends, BackendNames);

using Outcome = ClaimResult::Outcome;

TYPED_TEST(ClaimTest, FirstClaimWinsAndRepeatsAreTaken) {
  this->register_live("a");
  this->register_live("b");
  auto k = this->key("backup", this->store_second());
  auto first = this->claim_one(this->request(k, "a"));
  EXPECT_EQ(first.outcome, Outcome::won);
  EXPECT_GT(first.fence, 0);
  EXPECT_EQ(this->claim_one(this->request(k, "a")).outcome, Outcome::taken);
  auto other = this->claim_one(this->request(k, "b"));
  EXPECT_EQ(other.outcome, Outcome::taken);
  EXPECT_EQ(other.fence, 0);

  auto rec = this->find(k);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::claimed);
  EXPECT_EQ(rec->node, "a");
  EXPECT_EQ(rec->fence, first.fence);
  EXPECT_EQ(rec->attempt, 1);
  ASSERT_TRUE(rec->claimed_at);
  EXPECT_EQ(*rec->claimed_at, first.store_now);
  EXPECT_EQ(rec->lease_token, this->tokens_["a"]);
  EXPECT_EQ(rec->message, "");
}

// A claimant that starts its run as soon as the claim is won stores the claim as its running
// mark: one round trip instead of two, and the record says the run may have started.
TYPED_TEST(ClaimTest, AStartingClaimIsStoredRunning) {
  this->register_live("a");
  auto t = this->store_second();
  ClaimRequest r = this->request(this->key("j", t), "a");
  r.start = true;
  auto won = this->claim_one(r);
  ASSERT_EQ(won.outcome, Outcome::won);
  auto rec = this->find(r.key);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::running);
  EXPECT_EQ(rec->fence, won.fence);
  ASSERT_TRUE(rec->started_at);
  EXPECT_EQ(*rec->started_at, won.store_now);
  EXPECT_EQ(this->claim_one(r).outcome, Outcome::taken);

  // Its holder finishes it like any running run.
  const StateUpdate done{r.key, won.fence, RunState::succeeded, 0, {}, {}, {}};
  EXPECT_TRUE(this->store().update(std::span<const StateUpdate>(&done, 1))[0]);
  EXPECT_EQ(this->find(r.key)->state, RunState::succeeded);

  // A starting claim that overlap forbid skips is recorded skipped, never started.
  ClaimRequest first = this->request(this->key("k", t - 1s), "a");
  first.start = true;
  ASSERT_EQ(this->claim_one(first).outcome, Outcome::won);
  ClaimRequest second = this->request(this->key("k", t), "a", OverlapMode::forbid);
  second.start = true;
  EXPECT_EQ(this->claim_one(second).outcome, Outcome::overlap_skipped);
  rec = this->find(second.key);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::skipped_overlap);
  EXPECT_FALSE(rec->started_at);
}

TYPED_TEST(ClaimTest, MissedAndSkippedRecordsBlockClaims) {
  this->register_live("a");
  auto t = this->store_second(-10s);
  this->store().record_missed(std::vector{this->key("j", t)});
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t), "a")).outcome, Outcome::taken);

  // A skipped_overlap record is an occurrence decided too.
  auto running = this->claim_one(this->request(this->key("k", t), "a"));
  ASSERT_EQ(running.outcome, Outcome::won);
  auto skipped = this->key("k", t + 1s);
  EXPECT_EQ(this->claim_one(this->request(skipped, "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped);
  EXPECT_EQ(this->claim_one(this->request(skipped, "a")).outcome, Outcome::taken);
}

TYPED_TEST(ClaimTest, BatchResultsAreInRequestOrder) {
  this->register_live("a");
  auto t = this->store_second();
  std::vector<ClaimRequest> batch = {
      this->request(this->key("j", t), "a"),
      this->request(this->key("j", t), "a"),          // duplicate inside the batch
      this->request(this->key("j", t + 3600s), "a"),  // far ahead of the store's clock
      this->request(this->key("other", t), "a"),
  };
  this->claim_one(this->request(this->key("other", t), "a"));  // decided before the batch
  auto results = this->store().claim(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].outcome, Outcome::won);
  EXPECT_EQ(results[1].outcome, Outcome::taken);
  EXPECT_EQ(results[2].outcome, Outcome::too_early);
  EXPECT_EQ(results[3].outcome, Outcome::taken);
  EXPECT_TRUE(this->store().claim(std::span<const ClaimRequest>{}).empty());
}

TYPED_TEST(ClaimTest, FencesStrictlyIncreasePerJob) {
  this->register_live("a");
  this->register_live("b");
  auto other = this->backend_.connect();
  other->migrate();
  auto t = this->store_second(-100s);
  std::int64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    // Alternate nodes and connections: the order comes from the store, not from a node.
    Store& via = (i % 2 == 0) ? this->store() : *other;
    ClaimRequest r = this->request(this->key("j", t + std::chrono::seconds(i)), i % 2 ? "b" : "a");
    auto res = via.claim(std::span(&r, 1)).at(0);
    ASSERT_EQ(res.outcome, Outcome::won);
    EXPECT_GT(res.fence, last) << "occurrence " << i;
    last = res.fence;
  }
}

TYPED_TEST(ClaimTest, SkewGuardRefusesClaimsAheadOfTheStoreClock) {
  this->register_live("fast");
  // More than 1 s ahead of the store's clock, allowed skew 500 ms.
  ClaimRequest ahead = this->request(this->key("j", this->store_second(2s)), "fast");
  ahead.max_clock_skew = 500ms;
  auto r = this->claim_one(ahead);
  EXPECT_EQ(r.outcome, Outcome::too_early);
  EXPECT_EQ(r.fence, 0);
  EXPECT_FALSE(this->find(ahead.key)) << "a refused claim leaves no record";

  ClaimRequest within = this->request(this->key("j", this->store_second(1s)), "fast");
  within.max_clock_skew = 3s;
  EXPECT_EQ(this->claim_one(within).outcome, Outcome::won);

  // The guard uses the store's clock: once it has caught up, the early claim succeeds.
  this->backend_.advance(1600ms);
  EXPECT_EQ(this->claim_one(ahead).outcome, Outcome::won);
}

TYPED_TEST(ClaimTest, OverlapForbidSkipsWhileThePreviousRunsOnALiveNode) {
  this->register_live("a");
  this->register_live("b");
  auto t = this->store_second(-5s);
  auto first = this->claim_one(this->request(this->key("j", t), "a"));
  ASSERT_EQ(first.outcome, Outcome::won);
  ASSERT_TRUE(this->update_one(this->key("j", t), first.fence, RunState::running));

  auto second = this->claim_one(this->request(this->key("j", t + 1s), "b", OverlapMode::forbid));
  EXPECT_EQ(second.outcome, Outcome::overlap_skipped);
  auto rec = this->find(this->key("j", t + 1s));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::skipped_overlap);
  EXPECT_EQ(rec->fence, 0);

  // Other jobs and other every_node keys do not overlap with it.
  EXPECT_EQ(
      this->claim_one(this->request(this->key("k", t + 1s), "b", OverlapMode::forbid)).outcome,
      Outcome::won);
  EXPECT_EQ(
      this->claim_one(this->request(this->key("j", t + 1s, "b"), "b", OverlapMode::forbid)).outcome,
      Outcome::won);

  // Once the previous run finished, the next one runs.
  ASSERT_TRUE(this->update_one(this->key("j", t), first.fence, RunState::succeeded, 0));
  EXPECT_EQ(
      this->claim_one(this->request(this->key("j", t + 2s), "b", OverlapMode::forbid)).outcome,
      Outcome::won);
}

TYPED_TEST(ClaimTest, OverlapForbidIgnoresRunsOfExpiredNodes) {
  this->register_live("dead", 300ms);
  this->register_live("b");
  auto t = this->store_second(-5s);
  ASSERT_EQ(this->claim_one(this->request(this->key("j", t), "dead")).outcome, Outcome::won);
  this->backend_.advance(600ms);
  EXPECT_EQ(
      this->claim_one(this->request(this->key("j", t + 1s), "b", OverlapMode::forbid)).outcome,
      Outcome::won);
}

TYPED_TEST(ClaimTest, OverlapForbidCountsOnlyRunsHeldUnderALiveLease) {
  this->register_live("a", 300ms);
  this->register_live("b");
  auto t = this->store_second(-5s);
  auto first = this->claim_one(this->request(this->key("j", t), "a"));
  ASSERT_EQ(first.outcome, Outcome::won);
  ASSERT_TRUE(this->update_one(this->key("j", t), first.fence, RunState::running));
  this->backend_.advance(600ms);
  // "a" is back under a new lease: its run from before is not held by that lease.
  this->register_live("a");
  auto next = this->claim_one(this->request(this->key("j", t + 1s), "b", OverlapMode::forbid));
  EXPECT_EQ(next.outcome, Outcome::won);
  EXPECT_EQ(this->find(this->key("j", t))->state, RunState::running)
      << "the claim decides only itself";
}

TYPED_TEST(ClaimTest, ClaimWithoutALiveLeaseIsRefusedAndWritesNothing) {
  auto a = this->register_live("a", 300ms);
  auto released = this->register_live("gone");
  this->register_live("b");
  auto t = this->store_second(-5s);
  auto running = this->claim_one(this->request(this->key("j", t), "b"));
  ASSERT_TRUE(this->update_one(this->key("j", t), running.fence, RunState::running));

  ClaimRequest wrong_token = this->request(this->key("j", t + 1s), "a", OverlapMode::forbid);
  wrong_token.lease_token = a.token + 1000;
  ClaimRequest unknown = this->request(this->key("j", t + 2s), "nobody");
  ClaimRequest valid = this->request(this->key("k", t), "b");
  std::vector<ClaimRequest> batch = {wrong_token, unknown, valid};
  auto results = this->store().claim(batch);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].outcome, Outcome::no_lease) << "wrong token (and no skipped_overlap)";
  EXPECT_EQ(results[0].fence, 0);
  EXPECT_EQ(results[1].outcome, Outcome::no_lease) << "never registered";
  EXPECT_EQ(results[2].outcome, Outcome::won) << "the others in the batch are unaffected";

  this->store().release_node("gone", released.token);
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 3s), "gone")).outcome,
            Outcome::no_lease)
      << "released";
  this->backend_.advance(600ms);
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 4s), "a")).outcome, Outcome::no_lease)
      << "expired by the store's clock";

  HistoryQuery q;
  q.job = "j";
  auto records = this->store().history(q);
  ASSERT_EQ(records.size(), 1u) << "nothing written for a refused claim";
  EXPECT_EQ(records[0].key, this->key("j", t));
  // A refused claimant that registers again claims under its new lease.
  auto back = this->register_live("a");
  auto won = this->claim_one(this->request(this->key("j", t + 4s), "a"));
  EXPECT_EQ(won.outcome, Outcome::won);
  EXPECT_EQ(this->find(this->key("j", t + 4s))->lease_token, back.token);
}

TYPED_TEST(ClaimTest, OverlapReplaceInterruptsActivePreviousRuns) {
  this->register_live("a");
  this->register_live("b");
  auto t = this->store_second(-5s);
  auto first = this->claim_one(this->request(this->key("j", t), "a"));
  auto second = this->claim_one(this->request(this->key("j", t + 1s), "a"));
  ASSERT_EQ(first.outcome, Outcome::won);
  ASSERT_EQ(second.outcome, Outcome::won);
  ASSERT_TRUE(this->update_one(this->key("j", t), first.fence, RunState::succeeded, 0));
  ASSERT_TRUE(this->update_one(this->key("j", t + 1s), second.fence, RunState::running));

  auto third = this->claim_one(this->request(this->key("j", t + 2s), "b", OverlapMode::replace));
  ASSERT_EQ(third.outcome, Outcome::won);
  ASSERT_EQ(third.replaced.size(), 1u);
  EXPECT_EQ(third.replaced[0], this->key("j", t + 1s));
  EXPECT_EQ(this->find(this->key("j", t))->state, RunState::succeeded);
  EXPECT_EQ(this->find(this->key("j", t + 1s))->state, RunState::interrupted);
  // The replaced holder's late writes are rejected.
  EXPECT_FALSE(this->update_one(this->key("j", t + 1s), second.fence, RunState::succeeded, 0));
  // A claim that is taken replaces nothing.
  auto again = this->claim_one(this->request(this->key("j", t + 2s), "a", OverlapMode::replace));
  EXPECT_EQ(again.outcome, Outcome::taken);
  EXPECT_TRUE(again.replaced.empty());
  EXPECT_EQ(this->find(this->key("j", t + 2s))->state, RunState::claimed);
}

TYPED_TEST(ClaimTest, EveryNodeKeysIncludeTheNode) {
  this->register_live("a");
  this->register_live("b");
  auto t = this->store_second();
  auto a = this->claim_one(this->request(this->key("j", t, "a"), "a"));
  auto b = this->claim_one(this->request(this->key("j", t, "b"), "b"));
  EXPECT_EQ(a.outcome, Outcome::won);
  EXPECT_EQ(b.outcome, Outcome::won);
  EXPECT_NE(a.fence, b.fence);
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t, "a"), "a")).outcome, Outcome::taken);
  // The once-key of the same instant is a different occurrence.
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t), "a")).outcome, Outcome::won);
  EXPECT_EQ(this->find(this->key("j", t, "b"))->node, "b");
}

TYPED_TEST(ClaimTest, OverlapForbidInsideOneBatchSeesTheEarlierClaim) {
  this->register_live("a");
  auto t = this->store_second(-10s);
  // A catch-up batch of one forbid job: the first occurrence runs, so the next are skipped.
  std::vector<ClaimRequest> batch = {
      this->request(this->key("j", t), "a", OverlapMode::forbid),
      this->request(this->key("j", t + 1s), "a", OverlapMode::forbid),
      this->request(this->key("j", t + 2s), "a", OverlapMode::forbid),
      this->request(this->key("other", t + 1s), "a", OverlapMode::forbid),
  };
  auto results = this->store().claim(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].outcome, Outcome::won);
  EXPECT_EQ(results[1].outcome, Outcome::overlap_skipped);
  EXPECT_EQ(results[2].outcome, Outcome::overlap_skipped);
  EXPECT_EQ(results[3].outcome, Outcome::won);
}

}  // namespace
}  // namespace solocron::testing
