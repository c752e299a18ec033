// Conformance: the schema is created from an empty store, upgraded from older versions, and
// migrate() is safe to run from many threads and processes at once (ten nodes starting
// together). The store's identity and independent connections.
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class MigrateTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(MigrateTest, Backends, BackendNames);

TYPED_TEST(MigrateTest, FromAnEmptyStoreAndAgain) {
  auto s = this->backend_.connect();
  s->migrate();
  EXPECT_TRUE(s->nodes().empty());
  EXPECT_TRUE(s->history({}).empty());
  s->migrate();  // idempotent
  auto reg = s->register_node("a", 60s);
  EXPECT_TRUE(reg.acquired);
  auto again = this->backend_.connect();
  again->migrate();  // keeps the data
  EXPECT_EQ(again->nodes().size(), 1u);
}

TYPED_TEST(MigrateTest, IdentityIsStableAcrossConnectionsAndMigrations) {
  const std::string id = this->store().identity();
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(this->store().identity(), id);
  auto other = this->backend_.connect();
  other->migrate();
  other->migrate();
  EXPECT_EQ(other->identity(), id);
  EXPECT_EQ(this->store().another_connection(2s)->identity(), id);
  TypeParam elsewhere;  // another store of the same kind
  auto foreign = elsewhere.connect();
  foreign->migrate();
  EXPECT_NE(foreign->identity(), id);
}

TYPED_TEST(MigrateTest, AnotherConnectionSeesTheSameStore) {
  auto second = this->store().another_connection(1500ms);
  second->migrate();
  auto reg = second->register_node("a", 60s);
  ASSERT_TRUE(reg.acquired);
  ClaimRequest r;
  r.key = this->key("j", this->store_second(-1s));
  r.node_id = "a";
  r.lease_token = reg.lease.token;
  auto won = this->store().claim(std::span(&r, 1)).at(0);
  ASSERT_EQ(won.outcome, ClaimResult::Outcome::won) << "a lease registered on the other one";
  auto seen = second->history({});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].fence, won.fence);
  EXPECT_EQ(second->describe(), this->store().describe());
}

TYPED_TEST(MigrateTest, AVersion1StoreUpgradesAndKeepsItsRecords) {
  if constexpr (!TypeParam::kHasSchema) {
    GTEST_SKIP() << TypeParam::kName << " has no schema";
  } else {
    const std::chrono::sys_seconds at{std::chrono::seconds(1'700'000'000)};
    this->backend_.create_version_1_with_run("old", at);
    auto s = this->backend_.connect();
    s->migrate();
    HistoryQuery q;
    q.job = "old";
    auto records = s->history(q);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].key, this->key("old", at));
    EXPECT_EQ(records[0].state, RunState::succeeded);
    EXPECT_EQ(records[0].node, "a");
    EXPECT_EQ(records[0].fence, 7);
    EXPECT_EQ(records[0].exit_code, 0);
    EXPECT_EQ(records[0].output_tail, "v1 output");
    EXPECT_EQ(records[0].lease_token, 0);
    EXPECT_EQ(records[0].message, "");
    EXPECT_EQ(s->identity().size(), 32u);
    // And it works as a current store.
    auto lease = s->register_node("a", 60s).lease;
    ClaimRequest r{this->key("old", at + 60s), "a", lease.token};
    EXPECT_EQ(s->claim(std::span(&r, 1)).at(0).outcome, ClaimResult::Outcome::won);
    s->prune("old", 1, std::nullopt);
    std::vector<std::string> jobs = {"old"};
    EXPECT_EQ(s->last_scheduled(jobs).at(0), at + 60s);
    r.key = this->key("old", at);
    EXPECT_EQ(s->claim(std::span(&r, 1)).at(0).outcome, ClaimResult::Outcome::taken);
  }
}

// Version 5 (retries and backfill): older records read their trigger from their key, keep
// their asker, and a failed one can be retried.
TYPED_TEST(MigrateTest, AVersion4StoreUpgradesAndItsFailedRunsCanBeRetried) {
  if constexpr (!TypeParam::kHasSchema) {
    GTEST_SKIP() << TypeParam::kName << " has no schema";
  } else {
    const std::chrono::sys_seconds at{std::chrono::seconds(1'700'000'000)};
    this->backend_.create_version_4_with_runs("old", at);
    auto s = this->backend_.connect();
    s->migrate();
    HistoryQuery q;
    q.job = "old";
    auto records = s->history(q);
    ASSERT_EQ(records.size(), 2u);
    const RunRecord& requested = records[0];  // newest first
    EXPECT_EQ(requested.key, (OccurrenceKey{"old", at + 30s, "", 1}));
    EXPECT_EQ(requested.trigger, Trigger::manual);
    EXPECT_EQ(requested.requested_by, "alice");
    EXPECT_EQ(requested.note, "v4 note");
    const RunRecord& failed = records[1];
    EXPECT_EQ(failed.key, this->key("old", at));
    EXPECT_EQ(failed.trigger, Trigger::schedule);
    EXPECT_EQ(failed.state, RunState::failed);
    EXPECT_EQ(failed.fence, 7);
    EXPECT_EQ(failed.exit_code, 2);
    EXPECT_EQ(failed.requested_by, "");

    const std::vector<std::string> jobs{"old"};
    const auto candidates = s->retry_candidates(jobs, StoreTime{});
    ASSERT_EQ(candidates.size(), 1u);
    EXPECT_EQ(candidates[0].key, failed.key);
    // Schema 6: the old lease is kept, with no version; a new one records its node's.
    auto lease = s->register_node("b", 60s, NodeInfo{"9.8.7"}).lease;
    EXPECT_EQ(lease.version, "9.8.7");
    const auto listed = s->nodes();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].node_id, "a");
    EXPECT_EQ(listed[0].token, 3);
    EXPECT_FALSE(listed[0].live);
    EXPECT_EQ(listed[0].version, "");
    EXPECT_EQ(listed[1].node_id, "b");
    EXPECT_EQ(listed[1].version, "9.8.7");
    const ReclaimRequest r{failed.key, 7, "b", lease.token, 2};
    const auto next = s->retry(std::span(&r, 1)).at(0);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->trigger, Trigger::retry);
    EXPECT_GT(next->fence, 8) << "fences go on from the old counter";
    const auto kept = s->earlier_attempts(std::span(&failed.key, 1));
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].output_tail, "v4 output");
    EXPECT_EQ(kept[0].message, "exit 2");
    EXPECT_EQ(kept[0].lease_token, 3);
    EXPECT_EQ(kept[0].trigger, Trigger::schedule);
    const std::vector<std::chrono::sys_seconds> instants{at + 60s};
    EXPECT_GT(s->request_backfill("old", instants, "carol", ""), 0);
  }
}

TYPED_TEST(MigrateTest, ConcurrentMigrationsFromThreads) {
  constexpr int kNodes = 10;
  std::vector<std::shared_ptr<Store>> connections;
  for (int i = 0; i < kNodes; ++i) connections.push_back(this->backend_.connect());
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      try {
        connections[i]->migrate();
        auto r = connections[i]->register_node("n" + std::to_string(i), 60s);
        if (!r.acquired) errors[i] = "not acquired";
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(errors[i], "") << "node " << i;
  EXPECT_EQ(this->store().nodes().size(), static_cast<std::size_t>(kNodes));
}

TYPED_TEST(MigrateTest, ConcurrentMigrationsFromProcesses) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    constexpr int kNodes = 10;
    const std::string url = this->backend_.url();
    std::vector<pid_t> children;
    for (int i = 0; i < kNodes; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        int status = 0;
        try {
          auto s = open_store(url);
          s->migrate();
          if (!s->register_node("p" + std::to_string(i), 60s).acquired) status = 3;
        } catch (const std::exception& e) {
          fprintf(stderr, "child %d: %s\n", i, e.what());
          status = 2;
        }
        _exit(status);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
    }
    EXPECT_EQ(this->store().nodes().size(), static_cast<std::size_t>(kNodes));
  }
}

TYPED_TEST(MigrateTest, StoreClockIsCloseToThisHost) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << "memory: runs on a fake clock here";
  } else {
    auto host = std::chrono::system_clock::now();
    auto store_now = this->store().now();
    EXPECT_LT(std::chrono::abs(store_now - host), 2s) << "test server runs on this host";
    this->backend_.advance(20ms);
    EXPECT_GT(this->store().now(), store_now);
    EXPECT_NE(this->store().describe(), "");
  }
}

}  // namespace
}  // namespace solocron::testing
