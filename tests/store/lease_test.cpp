// Conformance: node leases (register, renew, take-over, release) and run liveness
// (mark_lost, reclaim_lost), with expiry judged by the store's clock.
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

TYPED_TEST(LeaseTest, MarkLostOnlyTouchesRunsOfExpiredNodes) {
  this->register_live("dead", 300ms);
  this->register_live("alive", 60s);
  auto t = this->store_second(-5s);
  auto d1 = this->claim_one(this->request(this->key("j", t), "dead"));
  auto d2 = this->claim_one(this->request(this->key("k", t), "dead"));
  auto done = this->claim_one(this->request(this->key("l", t), "dead"));
  auto a = this->claim_one(this->request(this->key("j", t + 1s), "alive"));
  ASSERT_TRUE(this->update_one(this->key("k", t), d2.fence, RunState::running));
  ASSERT_TRUE(this->update_one(this->key("l", t), done.fence, RunState::succeeded, 0));

  EXPECT_TRUE(this->store().mark_lost().empty()) << "nothing expired yet";
  this->backend_.advance(600ms);
  auto lost = this->store().mark_lost();
  ASSERT_EQ(lost.size(), 2u);
  for (const auto& r : lost) {
    EXPECT_EQ(r.node, "dead");
    EXPECT_EQ(r.state, RunState::lost);
  }
  EXPECT_EQ(this->find(this->key("j", t))->state, RunState::lost);
  EXPECT_EQ(this->find(this->key("k", t))->state, RunState::lost);
  EXPECT_EQ(this->find(this->key("l", t))->state, RunState::succeeded);
  EXPECT_EQ(this->find(this->key("j", t + 1s))->state, RunState::claimed);
  EXPECT_TRUE(this->store().mark_lost().empty()) << "each run is lost once";
  // The dead node's late writes are rejected: the occurrence is no longer active.
  EXPECT_FALSE(this->update_one(this->key("j", t), d1.fence, RunState::succeeded, 0));
  (void)a;
}

TYPED_TEST(LeaseTest, ReclaimLostGivesANewFenceAndTheNextAttempt) {
  this->register_live("dead", 300ms);
  this->register_live("b");
  auto k = this->key("j", this->store_second(-2s));
  auto first = this->claim_one(this->request(k, "dead"));
  EXPECT_FALSE(this->store().reclaim_lost(k, "b")) << "not lost: still active";
  this->backend_.advance(600ms);
  ASSERT_EQ(this->store().mark_lost().size(), 1u);

  auto again = this->store().reclaim_lost(k, "b");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->key, k);
  EXPECT_EQ(again->node, "b");
  EXPECT_EQ(again->attempt, 2);
  EXPECT_GT(again->fence, first.fence);
  EXPECT_EQ(again->state, RunState::claimed);
  EXPECT_FALSE(this->store().reclaim_lost(k, "b")) << "already re-claimed";
  EXPECT_FALSE(this->update_one(k, first.fence, RunState::running)) << "old fence";
  EXPECT_TRUE(this->update_one(k, again->fence, RunState::running));
  EXPECT_FALSE(this->store().reclaim_lost(this->key("nope", this->store_second()), "b"));
}

}  // namespace
}  // namespace solocron::testing
