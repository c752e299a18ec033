// MemoryStore: the `memory:` store, process-local and uncoordinated.
//
// It keeps the same semantics as the real stores (one claim per occurrence bound to a live
// lease, fences from a counter, leases judged by the store's own clock, guarded updates,
// retention marks) so that the scheduler behaves identically on it, and so that the
// conformance suite can run against it. Its clock is system_clock by default; tests inject a
// now-source to drive lease expiry and the skew guard without sleeping. The state lives
// behind a shared pointer: another_connection() returns a second handle on the same store.
#pragma once

#include <functional>
#include <memory>

#include "solocron/store.hpp"

namespace solocron::detail {

class MemoryStore final : public Store {
 public:
  using NowSource = std::function<StoreTime()>;
  // `now_source` empty: the host's system_clock.
  explicit MemoryStore(NowSource now_source = {});
  // A copy would share the state unseen: another_connection() says so.
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  void migrate() override {}
  StoreTime now() override;
  std::string describe() const override { return "memory:"; }
  std::string identity() override;
  std::unique_ptr<Store> another_connection(std::chrono::milliseconds call_deadline) override;

  using Store::register_node;
  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl,
                               const NodeInfo& info) override;
  std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override;
  void release_node(std::string_view node_id, std::int64_t token) override;
  std::vector<NodeLease> nodes() override;
  bool publish_jobs(std::string_view node_id, std::int64_t lease_token,
                    std::span<const PublishedJob> jobs) override;
  std::vector<PublishedJobRow> published_jobs() override;

  std::vector<ClaimResult> claim(std::span<const ClaimRequest> requests) override;
  std::vector<bool> update(std::span<const StateUpdate> updates) override;
  std::vector<bool> record_missed(std::span<const OccurrenceKey> keys) override;
  std::vector<bool> recorded(std::span<const OccurrenceKey> keys) override;
  std::vector<std::optional<RunRecord>> reclaim(std::span<const ReclaimRequest> requests) override;

  std::vector<std::optional<RunRecord>> retry(std::span<const ReclaimRequest> requests) override;
  std::vector<RunRecord> retry_candidates(std::span<const std::string> jobs,
                                          StoreTime finished_since) override;
  std::vector<RunRecord> earlier_attempts(std::span<const OccurrenceKey> keys) override;
  std::int64_t request_backfill(std::string_view job,
                                std::span<const std::chrono::sys_seconds> instants,
                                std::string_view requested_by, std::string_view note) override;
  std::vector<BackfillItem> pending_backfill(StoreTime since) override;

  RunRequest request_run(std::string_view job, std::string_view requested_by,
                         std::string_view note) override;
  std::vector<RunRequest> pending_requests(std::string_view node_id,
                                           std::chrono::sys_seconds since) override;

  std::vector<JobControl> job_controls() override;
  std::optional<JobControl> pause_job(std::string_view job, std::string_view by,
                                      std::string_view note) override;
  std::optional<JobControl> resume_job(std::string_view job, std::chrono::sys_seconds paused_at,
                                       std::chrono::sys_seconds until, std::string_view by,
                                       std::string_view note,
                                       const std::optional<PausedSpan>& span) override;
  void seed_paused(std::span<const std::string> jobs) override;

  std::vector<RunRecord> history(const HistoryQuery& query) override;
  std::vector<std::optional<std::chrono::sys_seconds>> last_scheduled(
      std::span<const std::string> jobs) override;
  std::vector<RunRecord> active_runs(std::string_view node_id) override;
  std::vector<RunRecord> orphaned_runs() override;
  void prune(std::string_view job, std::size_t keep_last,
             std::optional<std::chrono::seconds> max_age) override;

 private:
  struct State;  // everything every handle on this store shares, under one mutex
  explicit MemoryStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  std::shared_ptr<State> state_;
};

}  // namespace solocron::detail
