// The store conformance suite: one set of typed tests that every backend passes.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
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

  static ClaimRequest request(OccurrenceKey k, std::string node_id,
                              OverlapMode overlap = OverlapMode::allow) {
    ClaimRequest r;
    r.key = std::move(k);
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
                                 std::optional<int> signal = std::nullopt, std::string tail = "") {
    return StateUpdate{std::move(k), fence, state, exit_code, signal, std::move(tail)};
  }
  bool update_one(const StateUpdate& u) { return store().update(std::span(&u, 1)).at(0); }
  bool update_one(OccurrenceKey k, std::int64_t fence, RunState state,
                  std::optional<int> exit_code = std::nullopt) {
    return update_one(make_update(std::move(k), fence, state, exit_code));
  }

  NodeLease register_live(const std::string& node_id, std::chrono::milliseconds ttl = 60s) {
    auto r = store().register_node(node_id, ttl);
    EXPECT_TRUE(r.acquired) << node_id;
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
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend, PostgresBackend>;

struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};

}  // namespace solocron::testing
