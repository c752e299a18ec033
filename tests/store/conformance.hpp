// The store conformance suite: one set of typed tests that every backend passes.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "solocron/store.hpp"
#include "store/backends.hpp"

namespace solocron::testing {

using namespace std::chrono_literals;

template <class Backend>
class StoreConformance : public ::testing::Test {
 protected:
  // The store under test, migrated on first use (the migration tests start from nothing).
  Store& store() {
    if (!store_) {
      store_ = backend_.connect();
      store_->migrate();
    }
    return *store_;
  }

  // A whole second near the store's clock: claims for it pass the skew guard.
  std::chrono::sys_seconds store_second(std::chrono::seconds offset = 0s) {
    return std::chrono::floor<std::chrono::seconds>(store().now()) + offset;
  }

  static OccurrenceKey key(std::string job, std::chrono::sys_seconds at, std::string node = "") {
    return OccurrenceKey{std::move(job), at, std::move(node)};
  }

  // A claim by `node_id` under the lease register_live() gave it (token 0 if none).
  ClaimRequest request(OccurrenceKey k, std::string node_id,
                       OverlapMode overlap = OverlapMode::allow) {
    ClaimRequest r;
    r.key = std::move(k);
    r.lease_token = tokens_[node_id];
    r.node_id = std::move(node_id);
    r.overlap = overlap;
    return r;
  }

  ClaimResult claim_one(const ClaimRequest& r) {
    auto results = store().claim(std::span(&r, 1));
    EXPECT_EQ(results.size(), 1u);
    return results.at(0);
  }

  static StateUpdate make_update(OccurrenceKey k, std::int64_t fence, RunState state,
                                 std::optional<int> exit_code = std::nullopt,
                                 std::optional<int> signal = std::nullopt, std::string tail = "",
                                 std::string message = "") {
    return StateUpdate{std::move(k),      fence, state, exit_code, signal, std::move(tail),
                       std::move(message)};
  }
  bool update_one(const StateUpdate& u) { return store().update(std::span(&u, 1)).at(0); }
  bool update_one(OccurrenceKey k, std::int64_t fence, RunState state,
                  std::optional<int> exit_code = std::nullopt) {
    return update_one(make_update(std::move(k), fence, state, exit_code));
  }

  // A re-claim of `k` (stored fence `fence`) by `node_id` under its registered lease.
  ReclaimRequest reclaim_request(OccurrenceKey k, std::int64_t fence, std::string node_id,
                                 int attempt = 2) {
    ReclaimRequest r{std::move(k), fence, std::move(node_id), 0, attempt};
    r.lease_token = tokens_[r.node_id];
    return r;
  }
  std::optional<RunRecord> reclaim_one(const ReclaimRequest& r) {
    auto results = store().reclaim(std::span(&r, 1));
    EXPECT_EQ(results.size(), 1u);
    return results.at(0);
  }

  std::optional<std::chrono::sys_seconds> last_scheduled(const std::string& job) {
    auto results = store().last_scheduled(std::span(&job, 1));
    EXPECT_EQ(results.size(), 1u);
    return results.at(0);
  }

  // Registers `node_id`; request() and reclaim_request() then claim under its token.
  NodeLease register_live(const std::string& node_id, std::chrono::milliseconds ttl = 60s) {
    auto r = store().register_node(node_id, ttl);
    EXPECT_TRUE(r.acquired) << node_id;
    tokens_[node_id] = r.lease.token;
    return r.lease;
  }

  std::optional<RunRecord> find(const OccurrenceKey& k) {
    HistoryQuery q;
    q.job = k.job;
    q.limit = 100000;
    for (auto& r : store().history(q)) {
      if (r.key == k) return r;
    }
    return std::nullopt;
  }

  Backend backend_;
  std::shared_ptr<Store> store_;
  std::map<std::string, std::int64_t> tokens_;  // node id -> its lease token
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend, PostgresBackend>;

struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};

}  // namespace solocron::testing
