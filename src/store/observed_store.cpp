#include "store/observed_store.hpp"

namespace solocron::detail {

using std::chrono::sys_seconds;

ObservedStore::ObservedStore(std::unique_ptr<Store> inner, std::shared_ptr<StoreObserver> observer)
    : inner_(std::move(inner)), observer_(std::move(observer)) {}

template <class F>
auto ObservedStore::observed(std::string_view op, F&& call) -> decltype(call()) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto done = [&](CallOutcome outcome) {
    observer_->on_call(op, std::chrono::steady_clock::now() - t0, outcome);
  };
  try {
    if constexpr (std::is_void_v<decltype(call())>) {
      call();
      done(CallOutcome::ok);
    } else {
      auto result = call();
      done(CallOutcome::ok);
      return result;
    }
  } catch (...) {
    done(CallOutcome::failed);
    throw;
  }
}

void ObservedStore::migrate() { observed("migrate", [&] { inner_->migrate(); }); }
StoreTime ObservedStore::now() { return observed("now", [&] { return inner_->now(); }); }
std::string ObservedStore::identity() { return observed("identity", [&] { return inner_->identity(); }); }
std::unique_ptr<Store> ObservedStore::another_connection(std::chrono::milliseconds d) {
  return std::make_unique<ObservedStore>(inner_->another_connection(d), observer_);
}

RegisterResult ObservedStore::register_node(std::string_view id, std::chrono::milliseconds ttl,
                                            const NodeInfo& info) {
  return observed("register_node", [&] { return inner_->register_node(id, ttl, info); });
}
// A renewal that finds the lease gone is a call that worked and a lease that did not.
std::optional<NodeLease> ObservedStore::renew_node(std::string_view id, std::int64_t token,
                                                   std::chrono::milliseconds ttl) {
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<NodeLease> lease;
  try {
    lease = inner_->renew_node(id, token, ttl);
  } catch (...) {
    observer_->on_call("renew_node", std::chrono::steady_clock::now() - t0, CallOutcome::failed);
    throw;
  }
  observer_->on_call("renew_node", std::chrono::steady_clock::now() - t0,
                     lease ? CallOutcome::ok : CallOutcome::refused);
  return lease;
}
void ObservedStore::release_node(std::string_view id, std::int64_t token) {
  observed("release_node", [&] { inner_->release_node(id, token); });
}
std::vector<NodeLease> ObservedStore::nodes() { return observed("nodes", [&] { return inner_->nodes(); }); }

std::vector<ClaimResult> ObservedStore::claim(std::span<const ClaimRequest> r) {
  return observed("claim", [&] { return inner_->claim(r); });
}
std::vector<bool> ObservedStore::update(std::span<const StateUpdate> u) {
  return observed("update", [&] { return inner_->update(u); });
}
std::vector<bool> ObservedStore::record_missed(std::span<const OccurrenceKey> k) {
  return observed("record_missed", [&] { return inner_->record_missed(k); });
}
std::vector<bool> ObservedStore::recorded(std::span<const OccurrenceKey> k) {
  return observed("recorded", [&] { return inner_->recorded(k); });
}
std::vector<std::optional<RunRecord>> ObservedStore::reclaim(std::span<const ReclaimRequest> r) {
  return observed("reclaim", [&] { return inner_->reclaim(r); });
}

std::vector<std::optional<RunRecord>> ObservedStore::retry(std::span<const ReclaimRequest> r) {
  return observed("retry", [&] { return inner_->retry(r); });
}
std::vector<RunRecord> ObservedStore::retry_candidates(std::span<const std::string> jobs, StoreTime since) {
  return observed("retry_candidates", [&] { return inner_->retry_candidates(jobs, since); });
}
std::vector<RunRecord> ObservedStore::earlier_attempts(std::span<const OccurrenceKey> k) {
  return observed("earlier_attempts", [&] { return inner_->earlier_attempts(k); });
}
std::int64_t ObservedStore::request_backfill(std::string_view job, std::span<const sys_seconds> at,
                                             std::string_view by, std::string_view note) {
  return observed("request_backfill", [&] { return inner_->request_backfill(job, at, by, note); });
}
std::vector<BackfillItem> ObservedStore::pending_backfill(StoreTime since) {
  return observed("pending_backfill", [&] { return inner_->pending_backfill(since); });
}

bool ObservedStore::publish_jobs(std::string_view node_id, std::int64_t token,
                                 std::span<const PublishedJob> jobs) {
  return observed("publish_jobs", [&] { return inner_->publish_jobs(node_id, token, jobs); });
}
std::vector<PublishedJobRow> ObservedStore::published_jobs() {
  return observed("published_jobs", [&] { return inner_->published_jobs(); });
}
RunRequest ObservedStore::request_run(std::string_view job, std::string_view by, std::string_view note) {
  return observed("request_run", [&] { return inner_->request_run(job, by, note); });
}
std::vector<RunRequest> ObservedStore::pending_requests(std::string_view node_id, sys_seconds since) {
  return observed("pending_requests", [&] { return inner_->pending_requests(node_id, since); });
}
std::vector<JobControl> ObservedStore::job_controls() {
  return observed("job_controls", [&] { return inner_->job_controls(); });
}
std::optional<JobControl> ObservedStore::pause_job(std::string_view job, std::string_view by,
                                                   std::string_view note) {
  return observed("pause_job", [&] { return inner_->pause_job(job, by, note); });
}
std::optional<JobControl> ObservedStore::resume_job(std::string_view job, sys_seconds paused_at,
                                                    sys_seconds until, std::string_view by,
                                                    std::string_view note,
                                                    const std::optional<PausedSpan>& span) {
  return observed("resume_job", [&] { return inner_->resume_job(job, paused_at, until, by, note, span); });
}
void ObservedStore::seed_paused(std::span<const std::string> jobs) {
  observed("seed_paused", [&] { inner_->seed_paused(jobs); });
}

std::vector<RunRecord> ObservedStore::history(const HistoryQuery& q) {
  return observed("history", [&] { return inner_->history(q); });
}
std::vector<std::optional<sys_seconds>> ObservedStore::last_scheduled(std::span<const std::string> jobs) {
  return observed("last_scheduled", [&] { return inner_->last_scheduled(jobs); });
}
std::vector<RunRecord> ObservedStore::active_runs(std::string_view id) {
  return observed("active_runs", [&] { return inner_->active_runs(id); });
}
std::vector<RunRecord> ObservedStore::orphaned_runs() {
  return observed("orphaned_runs", [&] { return inner_->orphaned_runs(); });
}
void ObservedStore::prune(std::string_view job, std::size_t keep, std::optional<std::chrono::seconds> age) {
  observed("prune", [&] { inner_->prune(job, keep, age); });
}

}  // namespace solocron::detail
