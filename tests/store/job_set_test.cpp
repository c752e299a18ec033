// Conformance: the cluster's job set. A node publishes its definitions under its live lease; a
// publish replaces its whole set; only sets of live leases are read back (an expired, taken
// over or released lease's set is gone), ordered by job, then node.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class JobSetTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(JobSetTest, Backends, BackendNames);

std::vector<PublishedJob> set_of(std::initializer_list<std::pair<const char*, const char*>> jobs) {
  std::vector<PublishedJob> out;
  for (auto [name, fp] : jobs) {
    out.push_back({name, fp, std::string("{\"schedule\":\"* * * * *\",\"quote\":\"it's \\\"x\\\", {y}\"}")});
  }
  return out;
}

TYPED_TEST(JobSetTest, APublishReplacesTheNodesSetAndNeedsItsLiveLease) {
  auto a = this->store().register_node("a", 60s);
  auto b = this->store().register_node("b", 60s);
  ASSERT_TRUE(a.acquired && b.acquired);
  EXPECT_TRUE(this->store().published_jobs().empty());
  const auto first = set_of({{"report", "f1"}, {"tick", "t1"}});
  ASSERT_TRUE(this->store().publish_jobs("a", a.lease.token, first));
  ASSERT_TRUE(this->store().publish_jobs("b", b.lease.token, set_of({{"report", "f2"}})));
  EXPECT_FALSE(this->store().publish_jobs("a", a.lease.token + 1000, set_of({{"x", "x"}})))
      << "not a's lease";
  EXPECT_FALSE(this->store().publish_jobs("nobody", a.lease.token, set_of({{"x", "x"}})));

  auto rows = this->store().published_jobs();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].job.job, "report");
  EXPECT_EQ(rows[0].node_id, "a");
  EXPECT_EQ(rows[0].job.fingerprint, "f1");
  EXPECT_EQ(rows[0].job.definition, first[0].definition);  // stored as given, quotes and all
  EXPECT_GT(rows[0].published_at.time_since_epoch().count(), 0);
  EXPECT_EQ(rows[1].job.job, "report");
  EXPECT_EQ(rows[1].node_id, "b");
  EXPECT_EQ(rows[2].job.job, "tick");

  // A new set replaces the old one whole: tick is gone, report changed.
  ASSERT_TRUE(this->store().publish_jobs("a", a.lease.token, set_of({{"report", "f3"}})));
  rows = this->store().published_jobs();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].job.fingerprint, "f3");
  // An empty set is a set (a node with no jobs).
  ASSERT_TRUE(this->store().publish_jobs("b", b.lease.token, {}));
  EXPECT_EQ(this->store().published_jobs().size(), 1u);
}

TYPED_TEST(JobSetTest, OnlyLiveLeasesSetsAreRead) {
  auto a = this->store().register_node("a", 400ms);
  auto b = this->store().register_node("b", 60s);
  auto c = this->store().register_node("c", 60s);
  ASSERT_TRUE(this->store().publish_jobs("a", a.lease.token, set_of({{"ja", "1"}})));
  ASSERT_TRUE(this->store().publish_jobs("b", b.lease.token, set_of({{"jb", "1"}})));
  ASSERT_TRUE(this->store().publish_jobs("c", c.lease.token, set_of({{"jc", "1"}})));
  this->store().release_node("c", c.lease.token);
  this->backend_.advance(700ms);  // a's lease expired by the store's clock
  auto rows = this->store().published_jobs();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].node_id, "b");
  EXPECT_FALSE(this->store().publish_jobs("a", a.lease.token, set_of({{"ja", "2"}}))) << "expired";
  // a restarts (takes its expired lease over): its old set does not come back with it.
  auto again = this->store().register_node("a", 60s);
  ASSERT_TRUE(again.acquired);
  EXPECT_EQ(this->store().published_jobs().size(), 1u);
  ASSERT_TRUE(this->store().publish_jobs("a", again.lease.token, set_of({{"ja", "3"}})));
  rows = this->store().published_jobs();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].job.fingerprint, "3");
}

}  // namespace
}  // namespace solocron::testing
