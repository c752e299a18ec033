// Conformance: history queries, last_scheduled, active_runs and retention (which never
// re-opens an occurrence).
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

TYPED_TEST(HistoryTest, FiltersByStatesAndBefore) {
  this->register_live("a");
  auto t = this->store_second(-100s);
  const RunState ends[] = {RunState::succeeded, RunState::failed, RunState::succeeded,
                           RunState::failed, RunState::running};
  for (int i = 0; i < 5; ++i) {
    auto k = this->key("j", t + std::chrono::seconds(i));
    auto won = this->claim_one(this->request(k, "a"));
    ASSERT_TRUE(this->update_one(k, won.fence, ends[i]));
  }
  this->store().record_missed(std::vector{this->key("j", t + 5s)});

  HistoryQuery q;
  q.job = "j";
  q.states = {RunState::failed, RunState::missed};
  auto picked = this->store().history(q);
  ASSERT_EQ(picked.size(), 3u);
  EXPECT_EQ(picked[0].key.scheduled_at, t + 5s);
  EXPECT_EQ(picked[1].key.scheduled_at, t + 3s);
  EXPECT_EQ(picked[2].key.scheduled_at, t + 1s);

  q.states = {RunState::succeeded};
  q.before = t + 2s;  // exclusive
  picked = this->store().history(q);
  ASSERT_EQ(picked.size(), 1u);
  EXPECT_EQ(picked[0].key.scheduled_at, t);

  // Paging: each page starts before the last record of the previous one.
  HistoryQuery page;
  page.job = "j";
  page.limit = 2;
  std::vector<std::chrono::sys_seconds> seen;
  for (int round = 0; round < 5; ++round) {
    auto records = this->store().history(page);
    if (records.empty()) break;
    for (const auto& r : records) seen.push_back(r.key.scheduled_at);
    page.before = records.back().key.scheduled_at;
  }
  ASSERT_EQ(seen.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(seen[i], t + std::chrono::seconds(5 - i));
}

TYPED_TEST(HistoryTest, LastScheduledCoversEveryState) {
  this->register_live("a");
  EXPECT_FALSE(this->last_scheduled("j"));
  auto t = this->store_second(-100s);
  this->claim_one(this->request(this->key("j", t), "a"));
  EXPECT_EQ(this->last_scheduled("j"), t);
  this->store().record_missed(std::vector{this->key("j", t + 7s)});
  EXPECT_EQ(this->last_scheduled("j"), t + 7s);
  this->claim_one(this->request(this->key("j", t + 3s), "a"));
  EXPECT_EQ(this->last_scheduled("j"), t + 7s);
  this->claim_one(this->request(this->key("j2", t + 50s), "a"));
  EXPECT_EQ(this->last_scheduled("j"), t + 7s) << "other jobs do not count";
}

TYPED_TEST(HistoryTest, LastScheduledOfManyJobsInRequestOrder) {
  this->register_live("a");
  auto t = this->store_second(-100s);
  this->claim_one(this->request(this->key("j", t), "a"));
  this->claim_one(this->request(this->key("k", t + 9s, "a"), "a"));  // every_node keys count
  this->claim_one(this->request(this->key("k", t + 2s), "a"));
  std::vector<std::string> jobs = {"k", "nothing", "j", "k"};
  auto latest = this->store().last_scheduled(jobs);
  ASSERT_EQ(latest.size(), 4u);
  EXPECT_EQ(latest[0], t + 9s);
  EXPECT_FALSE(latest[1]);
  EXPECT_EQ(latest[2], t);
  EXPECT_EQ(latest[3], t + 9s);
  EXPECT_TRUE(this->store().last_scheduled(std::span<const std::string>{}).empty());
}

TYPED_TEST(HistoryTest, ActiveRunsOfANodeOldestFirst) {
  this->register_live("a");
  this->register_live("b");
  auto t = this->store_second(-100s);
  this->claim_one(this->request(this->key("j", t + 2s), "a"));
  auto k = this->claim_one(this->request(this->key("k", t), "a"));
  this->claim_one(this->request(this->key("l", t + 1s), "b"));
  auto m = this->claim_one(this->request(this->key("m", t - 1s), "a"));
  this->store().record_missed(std::vector{this->key("n", t - 2s)});
  ASSERT_TRUE(this->update_one(this->key("k", t), k.fence, RunState::running));
  ASSERT_TRUE(this->update_one(this->key("m", t - 1s), m.fence, RunState::succeeded, 0));
  auto active = this->store().active_runs("a");
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].key, this->key("k", t));
  EXPECT_EQ(active[0].state, RunState::running);
  EXPECT_EQ(active[1].key, this->key("j", t + 2s));
  EXPECT_EQ(active[1].lease_token, this->tokens_["a"]);
  auto of_b = this->store().active_runs("b");
  ASSERT_EQ(of_b.size(), 1u);
  EXPECT_EQ(of_b[0].key, this->key("l", t + 1s));
  EXPECT_EQ(of_b[0].lease_token, this->tokens_["b"]);
  EXPECT_TRUE(this->store().active_runs("c").empty());
  EXPECT_TRUE(this->store().orphaned_runs().empty());  // every holder is live
}

// Orphans are the active runs whose holder's lease (id and token) is gone: expired, released,
// or replaced by a newer registration of the same id (a restart).
TYPED_TEST(HistoryTest, OrphanedRunsAreThoseWhoseHoldersLeaseIsNotLive) {
  const auto t = this->store_second(-100s);
  const NodeLease a = this->store().register_node("a", 1s).lease;
  const NodeLease b = this->register_live("b");
  auto claim = [&](const std::string& job, const NodeLease& l) {
    ClaimRequest r = this->request(this->key(job, t), l.node_id);
    r.lease_token = l.token;
    return this->claim_one(r);
  };
  ASSERT_EQ(claim("of-a", a).outcome, ClaimResult::Outcome::won);
  const ClaimResult running = claim("of-b", b);
  ASSERT_EQ(running.outcome, ClaimResult::Outcome::won);
  ASSERT_TRUE(this->update_one(this->key("of-b", t), running.fence, RunState::running));
  EXPECT_TRUE(this->store().orphaned_runs().empty());
  this->backend_.advance(1100ms);  // a's lease expires
  auto orphans = this->store().orphaned_runs();
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].key, this->key("of-a", t));
  EXPECT_EQ(orphans[0].state, RunState::claimed);
  // b restarts: its new lease does not make the run of its old one live again.
  this->store().release_node("b", b.token);
  ASSERT_TRUE(this->store().register_node("b", 60s).acquired);
  orphans = this->store().orphaned_runs();
  ASSERT_EQ(orphans.size(), 2u);
  EXPECT_EQ(orphans[1].key, this->key("of-b", t));
  EXPECT_EQ(orphans[1].state, RunState::running);
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

TYPED_TEST(HistoryTest, PrunedOccurrencesCannotBeClaimedOrRecordedAgain) {
  this->register_live("a");
  auto t = this->store_second(-100s);
  auto old_active = this->claim_one(this->request(this->key("j", t - 50s), "a"));
  for (int i = 0; i < 5; ++i) {
    auto k = this->key("j", t + std::chrono::seconds(i));
    auto r = this->claim_one(this->request(k, "a"));
    ASSERT_TRUE(this->update_one(k, r.fence, RunState::succeeded, 0));
  }
  this->store().prune("j", 2, std::nullopt);  // deletes t .. t+2; the active record stays
  EXPECT_EQ(this->last_scheduled("j"), t + 4s);

  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 1s), "a")).outcome,
            ClaimResult::Outcome::taken)
      << "a pruned instant";
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t - 10s), "a")).outcome,
            ClaimResult::Outcome::taken)
      << "below the mark, never recorded";
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 2s, "a"), "a")).outcome,
            ClaimResult::Outcome::taken)
      << "the mark is per job, every_node keys too";
  this->store().record_missed(
      std::vector{this->key("j", t + 2s), this->key("j", t + 3s), this->key("j", t + 10s)});
  HistoryQuery q;
  q.job = "j";
  q.states = {RunState::missed};
  auto missed = this->store().history(q);
  ASSERT_EQ(missed.size(), 1u) << "nothing recorded at or below the mark";
  EXPECT_EQ(missed[0].key.scheduled_at, t + 10s);
  EXPECT_EQ(this->find(this->key("j", t + 3s))->state, RunState::succeeded) << "existing kept";
  EXPECT_TRUE(this->update_one(this->key("j", t - 50s), old_active.fence, RunState::succeeded, 0))
      << "an active record below the mark still takes its holder's writes";

  // Everything pruned: the mark still answers, and only rises.
  this->store().prune("j", 0, std::nullopt);
  q.states.clear();
  EXPECT_TRUE(this->store().history(q).empty());
  EXPECT_EQ(this->last_scheduled("j"), t + 10s);
  this->store().prune("j", 0, std::nullopt);
  EXPECT_EQ(this->last_scheduled("j"), t + 10s);
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 10s), "a")).outcome,
            ClaimResult::Outcome::taken);
  EXPECT_EQ(this->claim_one(this->request(this->key("j", t + 11s), "a")).outcome,
            ClaimResult::Outcome::won);
  EXPECT_EQ(this->claim_one(this->request(this->key("other", t), "a")).outcome,
            ClaimResult::Outcome::won)
      << "other jobs have no mark";
}

}  // namespace
}  // namespace solocron::testing
