// Conformance: history queries, last_scheduled, active_runs and retention.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class HistoryTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(HistoryTest, Backends, BackendNames);

TYPED_TEST(HistoryTest, NewestFirstWithLimitAndSince) {
  this->register_live("a");
  auto t = this->store_second(-100s);
  // Claimed out of order on purpose.
  for (int i : {3, 0, 4, 1, 2}) {
    this->claim_one(this->request(this->key("j", t + std::chrono::seconds(i)), "a"));
  }
  this->claim_one(this->request(this->key("other", t + 10s), "a"));

  HistoryQuery q;
  q.job = "j";
  auto all = this->store().history(q);
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i].key.scheduled_at, t + std::chrono::seconds(4 - i));
    EXPECT_EQ(all[i].key.job, "j");
  }
  q.limit = 2;
  auto two = this->store().history(q);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].key.scheduled_at, t + 4s);
  EXPECT_EQ(two[1].key.scheduled_at, t + 3s);

  q.limit = 100;
  q.since = t + 2s;
  auto recent = this->store().history(q);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent.back().key.scheduled_at, t + 2s) << "since is inclusive";

  HistoryQuery every;
  auto everything = this->store().history(every);
  ASSERT_EQ(everything.size(), 6u);
  EXPECT_EQ(everything[0].key.job, "other");

  HistoryQuery none;
  none.job = "nope";
  EXPECT_TRUE(this->store().history(none).empty());
}

TYPED_TEST(HistoryTest, LastScheduledCoversEveryState) {
  this->register_live("a");
  EXPECT_FALSE(this->store().last_scheduled("j"));
  auto t = this->store_second(-100s);
  this->claim_one(this->request(this->key("j", t), "a"));
  EXPECT_EQ(this->store().last_scheduled("j"), t);
  this->store().record_missed(std::vector{this->key("j", t + 7s)});
  EXPECT_EQ(this->store().last_scheduled("j"), t + 7s);
  this->claim_one(this->request(this->key("j", t + 3s), "a"));
  EXPECT_EQ(this->store().last_scheduled("j"), t + 7s);
  this->claim_one(this->request(this->key("j2", t + 50s), "a"));
  EXPECT_EQ(this->store().last_scheduled("j"), t + 7s) << "other jobs do not count";
}

TYPED_TEST(HistoryTest, ActiveRunsOfANode) {
  this->register_live("a");
  this->register_live("b");
  auto t = this->store_second(-100s);
  auto r1 = this->claim_one(this->request(this->key("j", t), "a"));
  auto r2 = this->claim_one(this->request(this->key("k", t), "a"));
  this->claim_one(this->request(this->key("l", t), "b"));
  auto r4 = this->claim_one(this->request(this->key("m", t), "a"));
  ASSERT_TRUE(this->update_one(this->key("k", t), r2.fence, RunState::running));
  ASSERT_TRUE(this->update_one(this->key("m", t), r4.fence, RunState::succeeded, 0));
  auto active = this->store().active_runs("a");
  ASSERT_EQ(active.size(), 2u);
  std::set<std::string> jobs;
  for (auto& r : active) {
    jobs.insert(r.key.job);
    EXPECT_EQ(r.node, "a");
    EXPECT_TRUE(is_active(r.state));
  }
  EXPECT_EQ(jobs, (std::set<std::string>{"j", "k"}));
  EXPECT_TRUE(this->store().active_runs("nobody").empty());
  (void)r1;
}

TYPED_TEST(HistoryTest, PruneKeepsNewestAndDropsOld) {
  this->register_live("a");
  auto t = this->store_second(-1000s);
  for (int i = 0; i < 10; ++i) {
    auto k = this->key("j", t + std::chrono::seconds(i * 100));
    auto r = this->claim_one(this->request(k, "a"));
    ASSERT_TRUE(this->update_one(k, r.fence, RunState::succeeded, 0));
  }
  auto active = this->claim_one(this->request(this->key("j", t - 5000s), "a"));  // still active
  this->claim_one(this->request(this->key("other", t), "a"));

  this->store().prune("j", 4, std::nullopt);
  HistoryQuery q;
  q.job = "j";
  auto left = this->store().history(q);
  ASSERT_EQ(left.size(), 5u) << "4 newest + the active one";
  EXPECT_EQ(left[0].key.scheduled_at, t + 900s);
  EXPECT_EQ(left[3].key.scheduled_at, t + 600s);
  EXPECT_EQ(left[4].fence, active.fence) << "active records are never pruned";

  // max_age counts back from the store's clock: scheduled more than 250 s ago goes.
  this->store().prune("j", 100, std::chrono::seconds(250));
  left = this->store().history(q);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].key.scheduled_at, t + 900s);
  EXPECT_EQ(left[1].key.scheduled_at, t + 800s);
  HistoryQuery o;
  o.job = "other";
  EXPECT_EQ(this->store().history(o).size(), 1u) << "other jobs untouched";
}

}  // namespace
}  // namespace solocron::testing
