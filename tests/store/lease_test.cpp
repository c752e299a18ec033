// Conformance: node leases (register, renew, take-over, release) and re-claims of runs whose
// holder is gone, with expiry judged by the store's clock.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class LeaseTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(LeaseTest, Backends, BackendNames);

TYPED_TEST(LeaseTest, RegisterRenewRelease) {
  auto reg = this->store().register_node("a", 60s);
  ASSERT_TRUE(reg.acquired);
  EXPECT_FALSE(reg.took_over_expired);
  EXPECT_EQ(reg.lease.node_id, "a");
  EXPECT_TRUE(reg.lease.live);
  EXPECT_EQ(reg.lease.expires_at - reg.lease.renewed_at, 60s);

  this->backend_.advance(20ms);
  auto renewed = this->store().renew_node("a", reg.lease.token, 30s);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->token, reg.lease.token);
  EXPECT_GT(renewed->renewed_at, reg.lease.renewed_at);
  EXPECT_EQ(renewed->expires_at - renewed->renewed_at, 30s);
  EXPECT_EQ(renewed->registered_at, reg.lease.registered_at);
  EXPECT_FALSE(this->store().renew_node("a", reg.lease.token + 1000, 30s)) << "wrong token";
  EXPECT_FALSE(this->store().renew_node("nobody", reg.lease.token, 30s));

  auto listed = this->store().nodes();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].node_id, "a");
  EXPECT_TRUE(listed[0].live);

  this->store().release_node("a", reg.lease.token + 1000);  // not ours: no effect
  EXPECT_EQ(this->store().nodes().size(), 1u);
  this->store().release_node("a", reg.lease.token);
  EXPECT_TRUE(this->store().nodes().empty());
  EXPECT_FALSE(this->store().renew_node("a", reg.lease.token, 30s));
  // Released: the id is free again, with no take-over.
  auto again = this->store().register_node("a", 60s);
  EXPECT_TRUE(again.acquired);
  EXPECT_FALSE(again.took_over_expired);
  EXPECT_NE(again.lease.token, reg.lease.token);
}

TYPED_TEST(LeaseTest, ANodeSaysItsVersionWithItsLease) {
  auto first = this->store().register_node("a", 400ms, NodeInfo{"1.2.3"});
  ASSERT_TRUE(first.acquired);
  EXPECT_EQ(first.lease.version, "1.2.3");
  auto plain = this->store().register_node("b", 400ms);
  EXPECT_EQ(plain.lease.version, "") << "a node that says nothing";
  auto refused = this->store().register_node("a", 400ms, NodeInfo{"2.0.0"});
  EXPECT_FALSE(refused.acquired);
  EXPECT_EQ(refused.lease.version, "1.2.3") << "the live holder's, not the asker's";
  auto renewed = this->store().renew_node("a", first.lease.token, 400ms);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->version, "1.2.3");

  // The node restarts with a new version (a rollout): its new lease says so.
  this->backend_.advance(700ms);
  auto upgraded = this->store().register_node("a", 400ms, NodeInfo{"2.0.0"});
  ASSERT_TRUE(upgraded.acquired);
  EXPECT_TRUE(upgraded.took_over_expired);
  EXPECT_EQ(upgraded.lease.version, "2.0.0");
  const auto listed = this->store().nodes();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].version, "2.0.0");
  EXPECT_EQ(listed[1].version, "");
}

TYPED_TEST(LeaseTest, LiveHolderIsRefusedExpiredLeaseIsTakenOver) {
  auto first = this->store().register_node("a", 400ms);
  ASSERT_TRUE(first.acquired);
  auto second = this->store().register_node("a", 400ms);
  EXPECT_FALSE(second.acquired);
  EXPECT_EQ(second.lease.token, first.lease.token) << "reports the live holder";
  EXPECT_TRUE(second.lease.live);

  this->backend_.advance(700ms);
  auto listed = this->store().nodes();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].live) << "expired by the store's clock";
  EXPECT_FALSE(this->store().renew_node("a", first.lease.token, 400ms)) << "too late to renew";

  auto restarted = this->store().register_node("a", 60s);
  ASSERT_TRUE(restarted.acquired);
  EXPECT_TRUE(restarted.took_over_expired);
  EXPECT_NE(restarted.lease.token, first.lease.token);
  // The old holder can neither renew nor release the new lease.
  EXPECT_FALSE(this->store().renew_node("a", first.lease.token, 60s));
  this->store().release_node("a", first.lease.token);
  ASSERT_EQ(this->store().nodes().size(), 1u);
  EXPECT_TRUE(this->store().renew_node("a", restarted.lease.token, 60s));
}

TYPED_TEST(LeaseTest, ReclaimTakesOverFromAGoneHolderWithTheCurrentFence) {
  this->register_live("dead", 300ms);
  this->register_live("b");
  auto k = this->key("j", this->store_second(-2s));
  auto first = this->claim_one(this->request(k, "dead"));
  ASSERT_EQ(first.outcome, ClaimResult::Outcome::won);
  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(k, first.fence, "b"))) << "holder is live";
  this->backend_.advance(600ms);

  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(k, first.fence + 1, "b"))) << "fence";
  auto wrong_token = this->reclaim_request(k, first.fence, "b");
  wrong_token.lease_token += 1000;
  EXPECT_FALSE(this->reclaim_one(wrong_token)) << "the claimant's lease is not live";
  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(k, first.fence, "nobody")));
  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(this->key("nope", k.scheduled_at), 1, "b")));
  auto untouched = this->find(k);
  EXPECT_EQ(untouched->node, "dead");
  EXPECT_EQ(untouched->fence, first.fence);

  auto again = this->reclaim_one(this->reclaim_request(k, first.fence, "b", 3));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->key, k);
  EXPECT_EQ(again->state, RunState::claimed);
  EXPECT_EQ(again->node, "b");
  EXPECT_EQ(again->lease_token, this->tokens_["b"]);
  EXPECT_EQ(again->attempt, 3) << "as given";
  EXPECT_GT(again->fence, first.fence);
  ASSERT_TRUE(again->claimed_at);
  EXPECT_FALSE(again->started_at);
  auto stored = this->find(k);
  EXPECT_EQ(stored->fence, again->fence);
  EXPECT_EQ(stored->node, "b");
  EXPECT_EQ(stored->attempt, 3);

  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(k, first.fence, "b"))) << "old fence";
  this->register_live("c");
  EXPECT_FALSE(this->reclaim_one(this->reclaim_request(k, again->fence, "c"))) << "b is live";
  EXPECT_FALSE(this->update_one(k, first.fence, RunState::running)) << "the old holder";
  EXPECT_TRUE(this->update_one(k, again->fence, RunState::running));
}

TYPED_TEST(LeaseTest, ReclaimOfALostRunStartsItAfresh) {
  this->register_live("a", 300ms);
  this->register_live("b");
  auto t = this->store_second(-2s);
  auto k = this->key("j", t);
  auto done = this->key("done", t);
  auto won = this->claim_one(this->request(k, "a"));
  auto finished = this->claim_one(this->request(done, "a"));
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::running));
  ASSERT_TRUE(this->update_one(done, finished.fence, RunState::succeeded, 0));
  this->backend_.advance(600ms);
  ASSERT_TRUE(this->update_one(
      this->make_update(k, won.fence, RunState::lost, 1, {}, "partial output", "lease expired")));
  // A lost run can be taken over even when its node came back meanwhile.
  this->register_live("a");

  std::vector<ReclaimRequest> batch = {this->reclaim_request(done, finished.fence, "b"),
                                       this->reclaim_request(k, won.fence, "b")};
  auto results = this->store().reclaim(batch);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0]) << "a finished run is never taken over";
  ASSERT_TRUE(results[1]) << "results are in request order";
  const RunRecord& fresh = *results[1];
  EXPECT_EQ(fresh.state, RunState::claimed);
  EXPECT_EQ(fresh.node, "b");
  EXPECT_FALSE(fresh.started_at);
  EXPECT_FALSE(fresh.finished_at);
  EXPECT_FALSE(fresh.exit_code);
  EXPECT_FALSE(fresh.signal);
  EXPECT_EQ(fresh.output_tail, "");
  EXPECT_EQ(fresh.message, "");
  auto stored = this->find(k);
  EXPECT_EQ(stored->state, RunState::claimed);
  EXPECT_FALSE(stored->finished_at);
  EXPECT_EQ(stored->message, "");
  EXPECT_EQ(this->find(done)->state, RunState::succeeded);
  EXPECT_TRUE(this->store().reclaim(std::span<const ReclaimRequest>{}).empty());
}

}  // namespace
}  // namespace solocron::testing
