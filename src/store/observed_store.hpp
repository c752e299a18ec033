// A store connection that tells an observer about every call it makes: its operation, how long
// it took (the wait for the backend's connection included) and how it ended. The daemon's
// metrics (solocron_store_call_duration_seconds, solocron_lease_renewals_total) and the
// cluster benchmark's per-call timings are built on it. Calls are forwarded unchanged.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "solocron/store.hpp"

namespace solocron::detail {

enum class CallOutcome {
  ok,
  refused,  // renew_node only: the lease was not ours any more
  failed,   // the call threw (StoreError or other)
};

class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // From the calling thread, after the call; must be cheap and thread-safe.
  virtual void on_call(std::string_view op, std::chrono::nanoseconds took, CallOutcome outcome) = 0;
};

class ObservedStore : public Store {
 public:
  ObservedStore(std::unique_ptr<Store> inner, std::shared_ptr<StoreObserver> observer);

  void migrate() override;
  StoreTime now() override;
  std::string describe() const override { return inner_->describe(); }
  std::string identity() override;
  // Observed too, by the same observer.
  std::unique_ptr<Store> another_connection(std::chrono::milliseconds call_deadline) override;

  using Store::register_node;
  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl,
                               const NodeInfo& info) override;
  std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override;
  void release_node(std::string_view node_id, std::int64_t token) override;
  std::vector<NodeLease> nodes() override;

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

  bool publish_jobs(std::string_view node_id, std::int64_t lease_token,
                    std::span<const PublishedJob> jobs) override;
  std::vector<PublishedJobRow> published_jobs() override;
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
  template <class F>
  auto observed(std::string_view op, F&& call) -> decltype(call());

  std::unique_ptr<Store> inner_;
  std::shared_ptr<StoreObserver> observer_;
};

}  // namespace solocron::detail
