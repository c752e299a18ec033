// Conformance: pause states. A pause holds from the next whole second of the store's clock;
// while it holds, no scheduled tick at or after it is claimed or recorded missed (requested runs
// still are); a resume is a compare-and-set on the pause it ends and records the paused span in
// the same step; the configuration's `paused` only seeds jobs the store holds no state for.
#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class PauseTest : public StoreConformance<B> {
 protected:
  std::optional<JobControl> control(const std::string& job) {
    for (JobControl& c : this->store().job_controls()) {
      if (c.job == job) return c;
    }
    return std::nullopt;
  }
};
TYPED_TEST_SUITE(PauseTest, Backends, BackendNames);

using Outcome = ClaimResult::Outcome;

TYPED_TEST(PauseTest, APausedJobsTicksAreNeitherClaimedNorRecordedMissed) {
  this->register_live("a");
  EXPECT_TRUE(this->store().job_controls().empty());
  const auto before = this->store().now();
  const auto paused = this->store().pause_job("backup", "alice", "disk full");
  ASSERT_TRUE(paused);
  EXPECT_TRUE(paused->paused);
  EXPECT_EQ(paused->paused_at, std::chrono::floor<std::chrono::seconds>(paused->changed_at) + 1s);
  EXPECT_GE(paused->changed_at, before);
  EXPECT_EQ(paused->changed_by, "alice");
  EXPECT_EQ(paused->note, "disk full");
  EXPECT_FALSE(paused->resumed_at);
  EXPECT_FALSE(this->store().pause_job("backup", "bob", "")) << "paused already";
  EXPECT_EQ(this->control("backup")->changed_by, "alice");

  const auto from = paused->paused_at;
  EXPECT_EQ(this->claim_one(this->request(this->key("backup", from), "a")).outcome, Outcome::taken);
  EXPECT_EQ(this->claim_one(this->request(this->key("backup", from + 1s), "a", OverlapMode::forbid))
                .outcome,
            Outcome::taken);
  EXPECT_FALSE(this->find(this->key("backup", from)));
  const std::vector<OccurrenceKey> missed{this->key("backup", from - 0s)};
  EXPECT_EQ(this->store().record_missed(missed), std::vector<bool>{false});
  // Before the pause, other jobs, and runs asked for: as ever.
  EXPECT_EQ(this->claim_one(this->request(this->key("backup", from - 1s), "a")).outcome, Outcome::won);
  EXPECT_EQ(this->claim_one(this->request(this->key("other", from), "a")).outcome, Outcome::won);
  const RunRequest req = this->store().request_run("backup", "alice", "");
  EXPECT_EQ(this->claim_one(this->request({"backup", req.at, "", req.id}, "a")).outcome, Outcome::won);
}

TYPED_TEST(PauseTest, AResumeEndsItsPauseOnceAndRecordsTheSpan) {
  this->register_live("a");
  const auto paused = this->store().pause_job("report", "alice", "");
  ASSERT_TRUE(paused);
  const auto until = paused->paused_at + 30s;
  const PausedSpan span{paused->paused_at + 29s, "paused: 30 ticks not run"};
  EXPECT_FALSE(this->store().resume_job("report", paused->paused_at - 1s, until, "bob", "", span))
      << "not the pause it names";
  EXPECT_FALSE(this->find(this->key("report", span.last_tick)));
  const auto resumed = this->store().resume_job("report", paused->paused_at, until, "bob", "ok", span);
  ASSERT_TRUE(resumed);
  EXPECT_FALSE(resumed->paused);
  EXPECT_EQ(resumed->resumed_at, until);
  EXPECT_EQ(resumed->changed_by, "bob");
  EXPECT_EQ(resumed->note, "ok");
  EXPECT_EQ(resumed->paused_at, paused->paused_at);
  EXPECT_FALSE(this->store().resume_job("report", paused->paused_at, until, "carol", "", span))
      << "resumed already";

  auto rec = this->find(this->key("report", span.last_tick));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::paused);
  EXPECT_EQ(rec->message, "paused: 30 ticks not run");
  EXPECT_EQ(rec->fence, 0);
  EXPECT_TRUE(rec->finished_at);
  EXPECT_EQ(this->last_scheduled("report"), span.last_tick) << "catch-up starts after the span";
  // Ticks claim again, and a pause after a resume is a new pause.
  EXPECT_EQ(this->claim_one(this->request(this->key("report", this->store_second()), "a")).outcome,
            Outcome::won);
  const auto again = this->store().pause_job("report", "carol", "");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->resumed_at);
  // A resume without a span (no tick fell in it) records nothing.
  ASSERT_TRUE(this->store().resume_job("report", again->paused_at, again->paused_at, "carol", "",
                                       std::nullopt));
  HistoryQuery q;
  q.job = "report";
  q.states = {RunState::paused};
  EXPECT_EQ(this->store().history(q).size(), 1u);
}

TYPED_TEST(PauseTest, TheConfigurationSeedsOnlyJobsTheStoreHoldsNoStateFor) {
  const auto paused = this->store().pause_job("a-paused", "alice", "");
  ASSERT_TRUE(paused);
  ASSERT_TRUE(this->store().pause_job("a-resumed", "alice", ""));
  ASSERT_TRUE(this->store().resume_job("a-resumed", this->control("a-resumed")->paused_at,
                                       this->store_second(), "alice", "", std::nullopt));
  const std::vector<std::string> seed{"a-paused", "a-resumed", "new"};
  this->store().seed_paused(seed);
  this->store().seed_paused(seed);  // idempotent
  const auto all = this->store().job_controls();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].job, "a-paused");
  EXPECT_EQ(all[0].changed_by, "alice");
  EXPECT_EQ(all[1].job, "a-resumed");
  EXPECT_FALSE(all[1].paused) << "the store's state wins over the configuration";
  EXPECT_EQ(all[2].job, "new");
  EXPECT_TRUE(all[2].paused);
  EXPECT_EQ(all[2].changed_by, "configuration");
}

}  // namespace
}  // namespace solocron::testing
