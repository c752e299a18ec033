// MemoryStore: the `memory:` store, process-local and uncoordinated.
//
// It keeps the same semantics as the real stores (one claim per occurrence, fences from a
// counter, leases judged by the store's own clock, guarded updates) so that the scheduler
// behaves identically on it, and so that the conformance suite can run against it. Its clock
// is system_clock by default; tests inject a now-source to drive lease expiry and the skew
// guard without sleeping.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "solocron/store.hpp"

namespace solocron::detail {

class MemoryStore final : public Store {
 public:
  using NowSource = std::function<StoreTime()>;
  // `now_source` empty: the host's system_clock.
  explicit MemoryStore(NowSource now_source = {});

  void migrate() override {}
  StoreTime now() override;
  std::string describe() const override { return "memory:"; }

  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl) override;
  std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override;
  void release_node(std::string_view node_id, std::int64_t token) override;
  std::vector<NodeLease> nodes() override;

  std::vector<ClaimResult> claim(std::span<const ClaimRequest> requests) override;
  std::vector<bool> update(std::span<const StateUpdate> updates) override;
  void record_missed(std::span<const OccurrenceKey> keys) override;

  std::vector<RunRecord> mark_lost() override;
  std::optional<RunRecord> reclaim_lost(const OccurrenceKey& key,
                                        std::string_view node_id) override;

  std::vector<RunRecord> history(const HistoryQuery& query) override;
  std::optional<std::chrono::sys_seconds> last_scheduled(std::string_view job) override;
  std::vector<RunRecord> active_runs(std::string_view node_id) override;
  void prune(std::string_view job, std::size_t keep_last,
             std::optional<std::chrono::seconds> max_age) override;

 private:
  // Ordered by job, then the every_node part, then time: the occurrences that can overlap
  // one another are one contiguous range.
  using Key = std::tuple<std::string, std::string, std::chrono::sys_seconds>;
  static Key key_of(const OccurrenceKey& k) { return {k.job, k.node, k.scheduled_at}; }

  StoreTime now_locked() const;
  bool lease_live(const std::string& node_id, StoreTime now) const;
  ClaimResult claim_one(const ClaimRequest& request, StoreTime now);
  bool previous_runs_live(const OccurrenceKey& key, StoreTime now) const;
  std::vector<OccurrenceKey> interrupt_previous(const OccurrenceKey& key, StoreTime now);
  bool update_one(const StateUpdate& update, StoreTime now);

  NowSource now_source_;
  mutable std::mutex mutex_;
  std::int64_t next_fence_ = 1;
  std::int64_t next_lease_token_ = 1;
  std::map<std::string, NodeLease, std::less<>> leases_;
  std::map<Key, RunRecord> runs_;
};

}  // namespace solocron::detail
