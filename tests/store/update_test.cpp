// Conformance: state writes guarded by the fencing token; terminal states are final.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class UpdateTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(UpdateTest, Backends, BackendNames);

TYPED_TEST(UpdateTest, GuardedByFenceAndFinalOnceTerminal) {
  this->register_live("a");
  // One reading of the store's clock: a second read could fall in the next second, and the
  // instant "a second earlier" would then be this very occurrence (seen once under ASan).
  const auto at = this->store_second(-1s);
  auto k = this->key("j", at);
  auto won = this->claim_one(this->request(k, "a"));
  ASSERT_EQ(won.outcome, ClaimResult::Outcome::won);

  EXPECT_FALSE(this->update_one(k, won.fence - 1, RunState::running)) << "stale fence";
  EXPECT_FALSE(this->update_one(k, won.fence + 1, RunState::running)) << "unknown fence";
  EXPECT_FALSE(this->update_one(this->key("j", at - 1s), won.fence, RunState::running))
      << "no such occurrence";
  EXPECT_EQ(this->find(k)->state, RunState::claimed);

  this->backend_.advance(5ms);
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::running));
  auto running = this->find(k);
  EXPECT_EQ(running->state, RunState::running);
  ASSERT_TRUE(running->started_at);
  EXPECT_GE(*running->started_at, *running->claimed_at);
  EXPECT_FALSE(running->finished_at);

  StateUpdate fin{k,
                  won.fence,
                  RunState::failed,
                  3,
                  std::nullopt,
                  "line 1\nline 'two' \"q\"\n",
                  "exit status 3 (\"é\")"};
  ASSERT_TRUE(this->update_one(fin));
  auto done = this->find(k);
  EXPECT_EQ(done->state, RunState::failed);
  EXPECT_EQ(done->exit_code, 3);
  EXPECT_FALSE(done->signal);
  EXPECT_EQ(done->output_tail, fin.output_tail);
  EXPECT_EQ(done->message, fin.message);
  ASSERT_TRUE(done->finished_at);
  EXPECT_GE(*done->finished_at, *done->started_at);

  // Terminal: even the right fence cannot change it again.
  EXPECT_FALSE(this->update_one(k, won.fence, RunState::succeeded, 0));
  EXPECT_FALSE(this->update_one(k, won.fence, RunState::running));
  EXPECT_EQ(this->find(k)->state, RunState::failed);
}

TYPED_TEST(UpdateTest, ClaimedIsNeverAValidTarget) {
  this->register_live("a");
  auto k = this->key("j", this->store_second(-1s));
  auto won = this->claim_one(this->request(k, "a"));
  EXPECT_FALSE(this->update_one(k, won.fence, RunState::claimed));
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::running));
  EXPECT_FALSE(this->update_one(k, won.fence, RunState::claimed)) << "not back to claimed";
  EXPECT_EQ(this->find(k)->state, RunState::running);
}

TYPED_TEST(UpdateTest, RunningMarkRefusedOnceTheHoldersLeaseExpired) {
  this->register_live("a", 300ms);
  auto t = this->store_second(-2s);
  auto before = this->claim_one(this->request(this->key("j", t), "a"));
  auto after = this->claim_one(this->request(this->key("k", t), "a"));
  ASSERT_TRUE(this->update_one(this->key("j", t), before.fence, RunState::running));
  this->backend_.advance(600ms);
  EXPECT_FALSE(this->update_one(this->key("k", t), after.fence, RunState::running));
  // Registering again gives a new lease, not the one the run was claimed under.
  this->register_live("a");
  EXPECT_FALSE(this->update_one(this->key("k", t), after.fence, RunState::running));
  auto k = this->find(this->key("k", t));
  EXPECT_EQ(k->state, RunState::claimed);
  EXPECT_FALSE(k->started_at);
  // Its end can still be written by the holder (it never started: the scheduler says so).
  EXPECT_TRUE(this->update_one(this->make_update(this->key("j", t), before.fence,
                                                 RunState::interrupted, {}, 15, "", "stopped")));
}

TYPED_TEST(UpdateTest, LostMarkOnlyOnceTheHolderIsNotLive) {
  this->register_live("a", 300ms);
  this->register_live("watcher");
  auto k = this->key("j", this->store_second(-2s));
  auto won = this->claim_one(this->request(k, "a"));
  ASSERT_TRUE(this->update_one(k, won.fence, RunState::running));
  auto lost = this->make_update(k, won.fence, RunState::lost, {}, {}, "", "lease of a expired");
  EXPECT_FALSE(this->update_one(lost)) << "the holder is live";
  EXPECT_EQ(this->find(k)->state, RunState::running);

  this->backend_.advance(600ms);
  EXPECT_FALSE(this->update_one(this->make_update(k, won.fence + 1, RunState::lost)))
      << "still guarded by the fence";
  ASSERT_TRUE(this->update_one(lost));
  auto rec = this->find(k);
  EXPECT_EQ(rec->state, RunState::lost);
  EXPECT_EQ(rec->message, "lease of a expired");
  EXPECT_TRUE(rec->finished_at);
  EXPECT_FALSE(this->update_one(lost)) << "lost once";
  EXPECT_FALSE(this->update_one(k, won.fence, RunState::succeeded, 0)) << "the late holder";
}

TYPED_TEST(UpdateTest, BatchedUpdatesReportEachOutcome) {
  this->register_live("a");
  auto t = this->store_second(-10s);
  auto w1 = this->claim_one(this->request(this->key("j", t), "a"));
  auto w2 = this->claim_one(this->request(this->key("j", t + 1s), "a"));
  std::vector<StateUpdate> batch = {
      this->make_update(this->key("j", t), w1.fence, RunState::timed_out, {}, 9, "killed",
                        "timed out after 1s"),
      this->make_update(this->key("j", t + 1s), w1.fence, RunState::succeeded, 0),  // wrong fence
      this->make_update(this->key("j", t + 1s), w2.fence, RunState::running),
  };
  auto applied = this->store().update(batch);
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true}));
  auto r1 = this->find(this->key("j", t));
  EXPECT_EQ(r1->state, RunState::timed_out);
  EXPECT_EQ(r1->signal, 9);
  EXPECT_FALSE(r1->exit_code);
  EXPECT_EQ(r1->message, "timed out after 1s");
  EXPECT_EQ(this->find(this->key("j", t + 1s))->state, RunState::running);
  EXPECT_TRUE(this->store().update(std::span<const StateUpdate>{}).empty());
}

TYPED_TEST(UpdateTest, RecordMissedIsInsertIfAbsent) {
  this->register_live("a");
  auto t = this->store_second(-60s);
  auto won = this->claim_one(this->request(this->key("j", t), "a"));
  std::vector<OccurrenceKey> keys = {this->key("j", t), this->key("j", t + 1s),
                                     this->key("j", t + 2s, "a")};
  EXPECT_EQ(this->store().record_missed(keys), (std::vector<bool>{false, true, true}));
  // Twice: still one record each, and this time nothing was inserted (no second on_missed).
  EXPECT_EQ(this->store().record_missed(keys), (std::vector<bool>{false, false, false}));
  auto existing = this->find(this->key("j", t));
  EXPECT_EQ(existing->state, RunState::claimed);
  EXPECT_EQ(existing->fence, won.fence);
  auto missed = this->find(this->key("j", t + 1s));
  ASSERT_TRUE(missed);
  EXPECT_EQ(missed->state, RunState::missed);
  EXPECT_EQ(missed->node, "");
  EXPECT_EQ(missed->fence, 0);
  EXPECT_EQ(this->find(this->key("j", t + 2s, "a"))->state, RunState::missed);
  HistoryQuery q;
  q.job = "j";
  EXPECT_EQ(this->store().history(q).size(), 3u);
  EXPECT_FALSE(this->update_one(this->key("j", t + 1s), 0, RunState::running));
}

// recorded(): a claim, a missed record, a terminal record, a pruned instant are all decided;
// another job, another instant, another every_node part are not.
TYPED_TEST(UpdateTest, RecordedTellsDecidedOccurrences) {
  this->register_live("a");
  auto t = this->store_second(-60s);
  auto won = this->claim_one(this->request(this->key("j", t), "a"));
  ASSERT_EQ(won.outcome, ClaimResult::Outcome::won);
  this->store().record_missed(std::vector{this->key("j", t + 1s)});
  auto done = this->claim_one(this->request(this->key("old", t - 30s), "a"));
  ASSERT_TRUE(this->update_one(this->key("old", t - 30s), done.fence, RunState::succeeded, 0));
  auto later = this->claim_one(this->request(this->key("old", t - 20s), "a"));
  ASSERT_TRUE(this->update_one(this->key("old", t - 20s), later.fence, RunState::succeeded, 0));
  this->store().prune("old", 1, std::nullopt);  // deletes t - 30 s, marks it pruned
  const std::vector<OccurrenceKey> keys = {
      this->key("j", t),        this->key("j", t + 1s),   this->key("old", t - 30s),
      this->key("old", t - 20s), this->key("j", t + 2s),  this->key("other", t),
      this->key("j", t, "a")};
  EXPECT_EQ(this->store().recorded(keys),
            (std::vector<bool>{true, true, true, true, false, false, false}));
  EXPECT_TRUE(this->store().recorded(std::span<const OccurrenceKey>{}).empty());
}

}  // namespace
}  // namespace solocron::testing
