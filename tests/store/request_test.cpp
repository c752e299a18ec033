// Conformance: requested runs (`solocron trigger`). A request is kept with a growing id and the
// store's clock; its run is an occurrence keyed (job, instant asked, request id), claimed like
// any other, never in the way of the schedule's tick of the same second, and it takes part in
// overlap like one; a request is pending until its key has a record.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class RequestTest : public StoreConformance<B> {
 protected:
  static OccurrenceKey key_of(const RunRequest& r, std::string node = "") {
    return OccurrenceKey{r.job, r.at, std::move(node), r.id};
  }
  std::vector<std::int64_t> pending_ids(const std::string& node,
                                        std::chrono::seconds back = 3600s) {
    std::vector<std::int64_t> ids;
    for (const RunRequest& r : this->store().pending_requests(node, this->store_second(-back))) {
      ids.push_back(r.id);
    }
    return ids;
  }
};
TYPED_TEST_SUITE(RequestTest, Backends, BackendNames);

using Outcome = ClaimResult::Outcome;

TYPED_TEST(RequestTest, ARequestIsKeptWithAGrowingIdAndTheStoresClock) {
  const auto before = this->store().now();
  const RunRequest first = this->store().request_run("backup", "alice@ops", "after the restore");
  const RunRequest second = this->store().request_run("backup", "bob", "");
  EXPECT_GT(first.id, 0);
  EXPECT_GT(second.id, first.id);
  EXPECT_EQ(first.job, "backup");
  EXPECT_EQ(first.requested_by, "alice@ops");
  EXPECT_EQ(first.note, "after the restore");
  EXPECT_GE(first.requested_at, before);
  EXPECT_EQ(first.at, std::chrono::floor<std::chrono::seconds>(first.requested_at));

  const auto pending = this->store().pending_requests("a", this->store_second(-60s));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, first.id);  // oldest first
  EXPECT_EQ(pending[0].requested_by, "alice@ops");
  EXPECT_EQ(pending[0].note, "after the restore");
  EXPECT_EQ(pending[0].at, first.at);
  EXPECT_EQ(pending[0].requested_at, first.requested_at);
  EXPECT_EQ(pending[1].id, second.id);
  // Older than `since`: no longer asked for.
  EXPECT_TRUE(this->store().pending_requests("a", first.at + 1s).empty());
}

TYPED_TEST(RequestTest, ARequestedRunIsClaimedOnceAndThenNoLongerPending) {
  this->register_live("a");
  this->register_live("b");
  const RunRequest req = this->store().request_run("report", "alice", "why not");
  const auto k = this->key_of(req);
  const auto won = this->claim_one(this->request(k, "a"));
  ASSERT_EQ(won.outcome, Outcome::won);
  EXPECT_EQ(this->claim_one(this->request(k, "b")).outcome, Outcome::taken);
  EXPECT_TRUE(this->pending_ids("a").empty());
  EXPECT_TRUE(this->pending_ids("b").empty());

  ASSERT_TRUE(this->update_one(k, won.fence, RunState::succeeded, 0));
  auto rec = this->find(k);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->key.request, req.id);
  EXPECT_EQ(rec->state, RunState::succeeded);
  EXPECT_EQ(rec->requested_by, "alice");
  EXPECT_EQ(rec->note, "why not");
  // The schedule's records carry no request.
  const auto tick = this->key("report", this->store_second(-5s));
  ASSERT_EQ(this->claim_one(this->request(tick, "a")).outcome, Outcome::won);
  EXPECT_EQ(this->find(tick)->key.request, 0);
  EXPECT_EQ(this->find(tick)->requested_by, "");
}

TYPED_TEST(RequestTest, ARequestedRunNeverTakesTheScheduledTicksKey) {
  this->register_live("a");
  const RunRequest req = this->store().request_run("tick", "alice", "");
  const auto scheduled = this->key("tick", req.at);  // the schedule's tick of the same second
  const auto requested = this->key_of(req);
  const auto a = this->claim_one(this->request(requested, "a"));
  const auto b = this->claim_one(this->request(scheduled, "a"));
  ASSERT_EQ(a.outcome, Outcome::won);
  ASSERT_EQ(b.outcome, Outcome::won);
  EXPECT_NE(a.fence, b.fence);
  // Writes go to the record they name.
  ASSERT_TRUE(this->update_one(requested, a.fence, RunState::failed, 3));
  EXPECT_EQ(this->find(scheduled)->state, RunState::claimed);
  EXPECT_FALSE(this->update_one(scheduled, a.fence, RunState::failed, 3)) << "not its fence";
  const std::vector<OccurrenceKey> keys{requested, scheduled, this->key("tick", req.at - 1s)};
  EXPECT_EQ(this->store().recorded(keys), (std::vector<bool>{true, true, false}));
}

TYPED_TEST(RequestTest, MisfireDetectionIgnoresRequestedRuns) {
  this->register_live("a");
  const auto tick = this->key("nightly", this->store_second(-30s));
  ASSERT_EQ(this->claim_one(this->request(tick, "a")).outcome, Outcome::won);
  const RunRequest req = this->store().request_run("nightly", "alice", "");
  ASSERT_EQ(this->claim_one(this->request(this->key_of(req), "a")).outcome, Outcome::won);
  // The requested run is newer, but the schedule's last tick is what catch-up starts after.
  EXPECT_EQ(this->last_scheduled("nightly"), tick.scheduled_at);
  const RunRequest only = this->store().request_run("adhoc", "alice", "");
  ASSERT_EQ(this->claim_one(this->request(this->key_of(only), "a")).outcome, Outcome::won);
  EXPECT_EQ(this->last_scheduled("adhoc"), std::nullopt);
}

TYPED_TEST(RequestTest, EveryNodeRequestsArePendingForEachNodeUntilItRanThem) {
  this->register_live("a");
  this->register_live("b");
  const RunRequest req = this->store().request_run("rotate-logs", "alice", "");
  ASSERT_EQ(this->claim_one(this->request(this->key_of(req, "a"), "a")).outcome, Outcome::won);
  EXPECT_TRUE(this->pending_ids("a").empty());
  EXPECT_EQ(this->pending_ids("b"), std::vector<std::int64_t>{req.id});
}

TYPED_TEST(RequestTest, RequestedRunsTakePartInOverlapByInstantThenRequest) {
  this->register_live("a");
  const auto t = this->store_second(-10s);
  // forbid: a scheduled run still active blocks a requested one asked later...
  ASSERT_EQ(this->claim_one(this->request(this->key("slow", t), "a")).outcome, Outcome::won);
  const RunRequest req = this->store().request_run("slow", "alice", "");
  EXPECT_EQ(this->claim_one(this->request(this->key_of(req), "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped);
  EXPECT_EQ(this->find(this->key_of(req))->state, RunState::skipped_overlap);
  EXPECT_TRUE(this->pending_ids("a").empty()) << "decided: skipped is a record";
  // ...and a requested run still active blocks the next tick.
  const RunRequest other = this->store().request_run("slow2", "alice", "");
  ASSERT_EQ(this->claim_one(this->request(this->key_of(other), "a")).outcome, Outcome::won);
  EXPECT_EQ(
      this->claim_one(this->request(this->key("slow2", other.at + 1s), "a", OverlapMode::forbid))
          .outcome,
      Outcome::overlap_skipped);
  // The schedule's tick of the same second comes before a requested run: it is not blocked
  // by it, the requested run is blocked by the tick.
  const RunRequest same = this->store().request_run("slow3", "alice", "");
  ASSERT_EQ(this->claim_one(this->request(this->key_of(same), "a")).outcome, Outcome::won);
  EXPECT_EQ(
      this->claim_one(this->request(this->key("slow3", same.at), "a", OverlapMode::forbid)).outcome,
      Outcome::won);

  // replace: a requested run interrupts the earlier active runs, naming their keys.
  const RunRequest repl = this->store().request_run("slow", "alice", "");
  const auto r = this->claim_one(this->request(this->key_of(repl), "a", OverlapMode::replace));
  ASSERT_EQ(r.outcome, Outcome::won);
  ASSERT_EQ(r.replaced.size(), 1u);
  EXPECT_EQ(r.replaced[0], this->key("slow", t));
  EXPECT_EQ(this->find(this->key("slow", t))->state, RunState::interrupted);
  // A later tick replacing a requested run names the request in the key it interrupted.
  const auto next = this->claim_one(
      this->request(this->key("slow", repl.at + 1s), "a", OverlapMode::replace));
  ASSERT_EQ(next.outcome, Outcome::won);
  ASSERT_EQ(next.replaced.size(), 1u);
  EXPECT_EQ(next.replaced[0], this->key_of(repl));
}

TYPED_TEST(RequestTest, ARequestedRunIsReclaimedAndLostLikeAnyOther) {
  this->register_live("b");
  const NodeLease a = this->store().register_node("a", 300ms).lease;
  this->tokens_["a"] = a.token;
  const RunRequest req = this->store().request_run("job", "alice", "");
  const auto k = this->key_of(req);
  const auto won = this->claim_one(this->request(k, "a"));
  ASSERT_EQ(won.outcome, Outcome::won);
  this->backend_.advance(600ms);
  const auto orphans = this->store().orphaned_runs();
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].key, k);
  const auto again = this->reclaim_one(this->reclaim_request(k, won.fence, "b"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->key, k);
  EXPECT_EQ(again->node, "b");
  EXPECT_EQ(again->requested_by, "alice");
  const auto mine = this->store().active_runs("b");
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].key.request, req.id);
}

}  // namespace
}  // namespace solocron::testing
