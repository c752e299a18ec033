// Conformance: backfill (`solocron backfill`). A backfill is kept under a growing id with the
// store's clock, one item per instant; its ticks are claimed under their own keys with
// ClaimRequest::backfill, which also takes over a `missed` record (of several claimants, one
// wins), waits without writing where forbid would skip the tick, and keeps every other guard.
// An item is pending while its tick has no record, a missed one or an active one.
#include <set>
#include <thread>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

using Outcome = ClaimResult::Outcome;
using std::chrono::sys_seconds;

template <class B>
class BackfillTest : public StoreConformance<B> {
 protected:
  ClaimRequest backfill_request(OccurrenceKey k, std::string node,
                                OverlapMode overlap = OverlapMode::allow) {
    ClaimRequest r = this->request(std::move(k), std::move(node), overlap);
    r.backfill = true;
    return r;
  }
  std::int64_t backfill(const std::string& job, std::vector<sys_seconds> at,
                        const std::string& by = "alice", const std::string& note = "outage") {
    return this->store().request_backfill(job, at, by, note);
  }
  void missed(const OccurrenceKey& k) {
    ASSERT_EQ(this->store().record_missed(std::span(&k, 1)), std::vector<bool>{true});
  }
  // The pending items as (job, instant, backfill id, state).
  using Item = std::tuple<std::string, sys_seconds, std::int64_t, std::optional<RunState>>;
  std::vector<Item> pending(StoreTime since) {
    std::vector<Item> out;
    for (const BackfillItem& b : this->store().pending_backfill(since)) {
      out.emplace_back(b.job, b.at, b.backfill, b.state);
    }
    return out;
  }
};
TYPED_TEST_SUITE(BackfillTest, Backends, BackendNames);

TYPED_TEST(BackfillTest, ABackfillIsKeptWithAGrowingIdAndTheStoresClock) {
  const auto before = this->store().now();
  const auto t = this->store_second(-3600s);
  const auto first =
      this->backfill("report", {t + 60s, t, t + 60s}, "alice@ops", "after the outage");
  const auto second = this->backfill("report", {t + 60s}, "bob", "");
  const auto third = this->backfill("alpha", {t});
  EXPECT_GT(first, 0);
  EXPECT_GT(second, first);
  EXPECT_GT(third, second);

  const auto items = this->store().pending_backfill(before);
  ASSERT_EQ(items.size(), 4u) << "a repeated instant is one item";
  EXPECT_EQ(items[0].job, "alpha");  // by job, instant, then backfill
  EXPECT_EQ(items[1].backfill, first);
  EXPECT_EQ(items[1].job, "report");
  EXPECT_EQ(items[1].at, t);
  EXPECT_EQ(items[1].requested_by, "alice@ops");
  EXPECT_EQ(items[1].note, "after the outage");
  EXPECT_GE(items[1].requested_at, before);
  EXPECT_LE(items[1].requested_at, this->store().now());
  EXPECT_FALSE(items[1].state);
  EXPECT_EQ(items[2].backfill, first);
  EXPECT_EQ(items[2].at, t + 60s);
  EXPECT_EQ(items[3].backfill, second);
  EXPECT_EQ(items[3].at, t + 60s);
  EXPECT_EQ(items[3].requested_by, "bob");
  // Asked before `since`: no longer pending.
  this->backend_.advance(20ms);
  EXPECT_TRUE(this->store().pending_backfill(this->store().now()).empty());
}

TYPED_TEST(BackfillTest, ABackfillAsksForAtMostTenThousandInstants) {
  const auto t = this->store_second(-30 * 86400s);
  std::vector<sys_seconds> many;
  for (int i = 0; i < 10'001; ++i) many.push_back(t + std::chrono::seconds(i));
  const auto since = this->store().now();
  try {
    this->store().request_backfill("big", many, "alice", "");
    ADD_FAILURE() << "10,001 instants were accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("10000"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(this->store().pending_backfill(since).empty()) << "nothing stored";
  many.pop_back();
  const auto id = this->store().request_backfill("big", many, "alice", "");
  EXPECT_GT(id, 0);
  const auto items = this->store().pending_backfill(since);
  ASSERT_EQ(items.size(), 1000u) << "at most 1,000 read at a time";
  EXPECT_EQ(items.front().at, t);
  EXPECT_EQ(items.back().at, t + 999s);
}

TYPED_TEST(BackfillTest, ABackfillClaimsATickThatHasNoRecord) {
  this->register_live("a");
  this->register_live("b");
  const auto t = this->store_second(-3600s);
  this->backfill("report", {t}, "alice", "outage");
  this->backfill("report", {t}, "bob", "again");
  const auto k = this->key("report", t);
  const auto won = this->claim_one(this->backfill_request(k, "a"));
  ASSERT_EQ(won.outcome, Outcome::won);
  EXPECT_GT(won.fence, 0);
  EXPECT_EQ(this->claim_one(this->backfill_request(k, "b")).outcome, Outcome::taken);
  EXPECT_EQ(this->claim_one(this->request(k, "b")).outcome, Outcome::taken);
  const auto rec = this->find(k);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::claimed);
  EXPECT_EQ(rec->node, "a");
  EXPECT_EQ(rec->fence, won.fence);
  EXPECT_EQ(rec->attempt, 1);
  EXPECT_EQ(rec->trigger, Trigger::backfill);
  EXPECT_EQ(rec->requested_by, "alice") << "the first backfill of the instant";
  EXPECT_EQ(rec->note, "outage");
  // A tick claimed by the schedule says so, and names nobody.
  const auto tick = this->key("report", this->store_second());
  ASSERT_EQ(this->claim_one(this->request(tick, "a")).outcome, Outcome::won);
  EXPECT_EQ(this->find(tick)->trigger, Trigger::schedule);
  EXPECT_EQ(this->find(tick)->requested_by, "");
  // A starting backfill claim is its running mark.
  ClaimRequest start = this->backfill_request(this->key("report", t + 60s), "a");
  start.start = true;
  const auto running = this->claim_one(start);
  ASSERT_EQ(running.outcome, Outcome::won);
  EXPECT_EQ(this->find(start.key)->state, RunState::running);
  EXPECT_EQ(this->find(start.key)->started_at, running.store_now);
  EXPECT_EQ(this->find(start.key)->trigger, Trigger::backfill);
}

TYPED_TEST(BackfillTest, ABackfillTakesOverAMissedRecordOnce) {
  this->register_live("a");
  this->register_live("b");
  const auto k = this->key("report", this->store_second(-600s));
  this->missed(k);
  this->backfill("report", {k.scheduled_at}, "carol", "missed it");
  EXPECT_EQ(this->claim_one(this->request(k, "a")).outcome, Outcome::taken)
      << "a plain claim leaves a missed record alone";
  const auto won = this->claim_one(this->backfill_request(k, "b"));
  ASSERT_EQ(won.outcome, Outcome::won);
  EXPECT_EQ(this->claim_one(this->backfill_request(k, "a")).outcome, Outcome::taken);
  const auto rec = this->find(k);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::claimed);
  EXPECT_EQ(rec->node, "b");
  EXPECT_EQ(rec->lease_token, this->tokens_["b"]);
  EXPECT_EQ(rec->fence, won.fence);
  EXPECT_GT(rec->fence, 0);
  EXPECT_EQ(rec->attempt, 1);
  EXPECT_EQ(rec->claimed_at, won.store_now);
  EXPECT_FALSE(rec->started_at);
  EXPECT_FALSE(rec->finished_at) << "the missed record's end is cleared";
  EXPECT_EQ(rec->trigger, Trigger::backfill);
  EXPECT_EQ(rec->requested_by, "carol");
  EXPECT_EQ(rec->note, "missed it");
  // Once it ran, a second backfill of the tick finds it taken.
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::succeeded, 0));
  EXPECT_EQ(this->claim_one(this->backfill_request(k, "a")).outcome, Outcome::taken);
  EXPECT_EQ(this->find(k)->state, RunState::succeeded);
  EXPECT_EQ(this->find(k)->fence, won.fence);
}

TYPED_TEST(BackfillTest, RacingBackfillClaimsFromConnectionsHaveOneWinnerEach) {
  constexpr int kNodes = 4;
  constexpr int kTicks = 30;
  const auto t = this->store_second(-3600s);
  std::vector<OccurrenceKey> keys;
  for (int i = 0; i < kTicks; ++i) {
    keys.push_back(this->key("race", t + std::chrono::seconds(i)));
    if (i % 2 == 0) this->missed(keys.back());  // half missed, half without a record
  }
  std::vector<std::vector<std::pair<int, std::int64_t>>> wins(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    const std::string node = "n" + std::to_string(n);
    const std::int64_t token = this->register_live(node).token;
    threads.emplace_back([&, n, node, token] {
      try {
        auto store = this->backend_.connect();
        for (int j = 0; j < kTicks; ++j) {
          const int i = (j + n * 11) % kTicks;
          ClaimRequest r{keys[i], node, token};
          r.backfill = true;
          const auto res = store->claim(std::span(&r, 1)).at(0);
          if (res.outcome == Outcome::won) wins[n].emplace_back(i, res.fence);
        }
      } catch (const std::exception& e) {
        errors[n] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::map<int, int> per_tick;
  std::set<std::int64_t> fences;
  for (int n = 0; n < kNodes; ++n) {
    EXPECT_EQ(errors[n], "") << "node " << n;
    for (auto [i, fence] : wins[n]) {
      per_tick[i]++;
      EXPECT_TRUE(fences.insert(fence).second) << "fence issued twice";
      EXPECT_EQ(this->find(keys[i])->fence, fence);
    }
  }
  EXPECT_EQ(per_tick.size(), static_cast<std::size_t>(kTicks));
  for (auto [i, count] : per_tick) EXPECT_EQ(count, 1) << "tick " << i;
}

TYPED_TEST(BackfillTest, ForbidMakesABackfillWaitWithoutWriting) {
  this->register_live("a");
  const auto t = this->store_second(-600s);
  const auto earlier = this->key("slow", t);
  const auto first = this->claim_one(this->request(earlier, "a"));
  ASSERT_EQ(first.outcome, Outcome::won);
  const auto was_missed = this->key("slow", t + 60s);
  const auto absent = this->key("slow", t + 120s);
  const auto skipped = this->key("slow", t + 180s);
  this->missed(was_missed);
  EXPECT_EQ(this->claim_one(this->backfill_request(was_missed, "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped);
  EXPECT_EQ(this->claim_one(this->backfill_request(absent, "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped);
  EXPECT_FALSE(this->find(absent)) << "no skipped_overlap record for a backfill";
  const auto still = this->find(was_missed);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->state, RunState::missed);
  EXPECT_EQ(still->fence, 0);
  EXPECT_EQ(still->node, "");
  // A plain claim records the skip; a backfill then finds the record taken.
  EXPECT_EQ(this->claim_one(this->request(skipped, "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped);
  EXPECT_EQ(this->find(skipped)->state, RunState::skipped_overlap);
  EXPECT_EQ(this->claim_one(this->backfill_request(skipped, "a", OverlapMode::forbid)).outcome,
            Outcome::taken);
  // Once the earlier run ended, the waiting backfills claim.
  ASSERT_TRUE(this->update_one(earlier, first.fence, RunState::succeeded, 0));
  const auto won = this->claim_one(this->backfill_request(was_missed, "a", OverlapMode::forbid));
  ASSERT_EQ(won.outcome, Outcome::won);
  EXPECT_EQ(this->find(was_missed)->state, RunState::claimed);
  EXPECT_EQ(this->claim_one(this->backfill_request(absent, "a", OverlapMode::forbid)).outcome,
            Outcome::overlap_skipped)
      << "the backfill claimed just now is active: the later one waits for it";
}

TYPED_TEST(BackfillTest, ReplaceInterruptsTheEarlierActiveRuns) {
  this->register_live("a");
  const auto t = this->store_second(-600s);
  const auto earlier = this->key("r", t);
  ASSERT_EQ(this->claim_one(this->request(earlier, "a")).outcome, Outcome::won);
  const auto later = this->key("r", t + 60s);
  this->missed(later);
  const auto won = this->claim_one(this->backfill_request(later, "a", OverlapMode::replace));
  ASSERT_EQ(won.outcome, Outcome::won);
  EXPECT_EQ(won.replaced, std::vector<OccurrenceKey>{earlier});
  EXPECT_EQ(this->find(earlier)->state, RunState::interrupted);
  EXPECT_EQ(this->find(later)->trigger, Trigger::backfill);
}

TYPED_TEST(BackfillTest, TheClaimsOtherGuardsStillRefuse) {
  this->register_live("a");
  const auto t = this->store_second(-600s);
  // No lease, or too early: nothing written.
  const auto k = this->key("g", t);
  this->missed(k);
  EXPECT_EQ(this->claim_one(this->backfill_request(k, "ghost")).outcome, Outcome::no_lease);
  const auto ahead = this->key("g", this->store_second(3600s));
  EXPECT_EQ(this->claim_one(this->backfill_request(ahead, "a")).outcome, Outcome::too_early);
  EXPECT_FALSE(this->find(ahead));
  EXPECT_EQ(this->find(k)->state, RunState::missed);
  // A paused job's ticks are not backfilled while it is paused.
  const auto paused = this->store().pause_job("p", "alice", "");
  ASSERT_TRUE(paused);
  const auto in_pause = this->key("p", paused->paused_at);
  EXPECT_EQ(this->claim_one(this->backfill_request(in_pause, "a")).outcome, Outcome::taken);
  EXPECT_FALSE(this->find(in_pause));
  // Instants retention pruned are not claimed again.
  const auto old = this->key("pruned", t);
  const auto claimed = this->claim_one(this->request(old, "a"));
  ASSERT_TRUE(this->update_one(old, claimed.fence, RunState::succeeded, 0));
  this->store().prune("pruned", 0, std::nullopt);
  ASSERT_FALSE(this->find(old));
  EXPECT_EQ(this->claim_one(this->backfill_request(old, "a")).outcome, Outcome::taken);
  const auto older = this->key("pruned", t - 60s);
  EXPECT_EQ(this->claim_one(this->backfill_request(older, "a")).outcome, Outcome::taken);
  EXPECT_FALSE(this->find(old));
  EXPECT_FALSE(this->find(older));
}

TYPED_TEST(BackfillTest, ABackfilledRunReclaimedElsewhereIsStillABackfill) {
  this->register_live("b");
  this->tokens_["a"] = this->store().register_node("a", 300ms).lease.token;
  const auto k = this->key("j", this->store_second(-600s));
  this->backfill("j", {k.scheduled_at}, "alice", "why");
  const auto won = this->claim_one(this->backfill_request(k, "a"));
  ASSERT_EQ(won.outcome, Outcome::won);
  this->backend_.advance(600ms);
  const auto again = this->reclaim_one(this->reclaim_request(k, won.fence, "b"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->trigger, Trigger::backfill);
  EXPECT_EQ(again->requested_by, "alice");
  EXPECT_EQ(this->find(k)->trigger, Trigger::backfill);
}

TYPED_TEST(BackfillTest, PendingItemsAreTheTicksStillToRunOrRunning) {
  this->register_live("a");
  const auto since = this->store().now();
  const auto t = this->store_second(-3600s);
  const auto at = [&](int i) { return t + std::chrono::seconds(60 * i); };
  const auto k = [&](int i) { return this->key("report", at(i)); };
  // at(0): no record (an every_node record of the instant is another occurrence)
  ASSERT_EQ(this->claim_one(this->request(this->key("report", at(0), "node-x"), "a")).outcome,
            Outcome::won);
  this->missed(k(1));
  ASSERT_EQ(this->claim_one(this->backfill_request(k(2), "a")).outcome, Outcome::won);
  const auto run = this->claim_one(this->request(k(3), "a"));
  ASSERT_TRUE(this->update_one(k(3), run.fence, RunState::running));
  const auto ok = this->claim_one(this->request(k(4), "a"));
  ASSERT_TRUE(this->update_one(k(4), ok.fence, RunState::succeeded, 0));
  const auto bad = this->claim_one(this->request(k(5), "a"));
  ASSERT_TRUE(this->update_one(k(5), bad.fence, RunState::failed, 1));
  const auto first = this->backfill("report", {at(0), at(1), at(2), at(3), at(4), at(5)});
  // Retention pruned "old" through u: its instants up to u are no longer pending.
  const auto u = this->store_second(-7200s);
  const auto gone = this->claim_one(this->request(this->key("old", u), "a"));
  ASSERT_TRUE(this->update_one(this->key("old", u), gone.fence, RunState::succeeded, 0));
  this->store().prune("old", 0, std::nullopt);
  const auto old = this->backfill("old", {u - 60s, u, u + 60s});
  this->backend_.advance(20ms);
  const auto second = this->backfill("report", {at(0), at(4)});

  using Item = typename TestFixture::Item;
  const auto items = this->pending(since);
  EXPECT_EQ(items, (std::vector<Item>{
                       {"old", u + 60s, old, std::nullopt},
                       {"report", at(0), first, std::nullopt},
                       {"report", at(0), second, std::nullopt},
                       {"report", at(1), first, RunState::missed},
                       {"report", at(2), first, RunState::claimed},
                       {"report", at(3), first, RunState::running},
                   }));
  // Only the backfills asked at or after `since`.
  const auto later = this->store().pending_backfill(since);
  StoreTime second_at{};
  for (const auto& b : later) {
    if (b.backfill == second) second_at = b.requested_at;
  }
  ASSERT_NE(second_at, StoreTime{});
  EXPECT_EQ(this->pending(second_at), (std::vector<Item>{{"report", at(0), second, std::nullopt}}));
}

}  // namespace
}  // namespace solocron::testing
