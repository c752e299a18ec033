#include "store/memory/memory_store.hpp"

#include <algorithm>

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::sys_seconds;

MemoryStore::MemoryStore(NowSource now_source) : now_source_(std::move(now_source)) {}

StoreTime MemoryStore::now_locked() const {
  if (now_source_) return now_source_();
  return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
}

StoreTime MemoryStore::now() {
  std::lock_guard lock(mutex_);
  return now_locked();
}

bool MemoryStore::lease_live(const std::string& node_id, StoreTime now) const {
  auto it = leases_.find(node_id);
  return it != leases_.end() && it->second.expires_at > now;
}

// --- node leases ---

RegisterResult MemoryStore::register_node(std::string_view node_id, milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  RegisterResult result;
  auto it = leases_.find(node_id);
  if (it != leases_.end() && it->second.expires_at > now) {
    result.lease = it->second;
    result.lease.live = true;
    return result;
  }
  result.took_over_expired = it != leases_.end();
  NodeLease lease{std::string(node_id), next_lease_token_++, now, now, now + ttl, true};
  leases_.insert_or_assign(std::string(node_id), lease);
  result.acquired = true;
  result.lease = lease;
  return result;
}

std::optional<NodeLease> MemoryStore::renew_node(std::string_view node_id, std::int64_t token,
                                                 milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  auto it = leases_.find(node_id);
  if (it == leases_.end() || it->second.token != token || it->second.expires_at <= now) {
    return std::nullopt;
  }
  it->second.renewed_at = now;
  it->second.expires_at = now + ttl;
  it->second.live = true;
  return it->second;
}

void MemoryStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(mutex_);
  auto it = leases_.find(node_id);
  if (it != leases_.end() && it->second.token == token) leases_.erase(it);
}

std::vector<NodeLease> MemoryStore::nodes() {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  std::vector<NodeLease> out;
  for (const auto& [id, lease] : leases_) {
    out.push_back(lease);
    out.back().live = lease.expires_at > now;
  }
  return out;
}

// --- occurrences ---

bool MemoryStore::previous_runs_live(const OccurrenceKey& key, StoreTime now) const {
  auto first = runs_.lower_bound({key.job, key.node, sys_seconds::min()});
  auto last = runs_.lower_bound(key_of(key));
  for (auto it = first; it != last; ++it) {
    if (is_active(it->second.state) && lease_live(it->second.node, now)) return true;
  }
  return false;
}

std::vector<OccurrenceKey> MemoryStore::interrupt_previous(const OccurrenceKey& key,
                                                           StoreTime now) {
  std::vector<OccurrenceKey> replaced;
  auto first = runs_.lower_bound({key.job, key.node, sys_seconds::min()});
  auto last = runs_.lower_bound(key_of(key));
  for (auto it = first; it != last; ++it) {
    if (!is_active(it->second.state)) continue;
    it->second.state = RunState::interrupted;
    it->second.finished_at = now;
    replaced.push_back(it->second.key);
  }
  return replaced;
}

ClaimResult MemoryStore::claim_one(const ClaimRequest& request, StoreTime now) {
  ClaimResult result;
  result.store_now = now;
  const OccurrenceKey& key = request.key;
  if (key.scheduled_at > now + request.max_clock_skew) {
    result.outcome = ClaimResult::Outcome::too_early;
    return result;
  }
  if (runs_.contains(key_of(key))) {
    result.outcome = ClaimResult::Outcome::taken;
    return result;
  }
  RunRecord record;
  record.key = key;
  record.node = request.node_id;
  if (request.overlap == OverlapMode::forbid && previous_runs_live(key, now)) {
    record.state = RunState::skipped_overlap;
    record.claimed_at = now;
    record.finished_at = now;
    runs_.emplace(key_of(key), std::move(record));
    result.outcome = ClaimResult::Outcome::overlap_skipped;
    return result;
  }
  if (request.overlap == OverlapMode::replace) result.replaced = interrupt_previous(key, now);
  record.state = RunState::claimed;
  record.fence = next_fence_++;
  record.claimed_at = now;
  result.outcome = ClaimResult::Outcome::won;
  result.fence = record.fence;
  runs_.emplace(key_of(key), std::move(record));
  return result;
}

std::vector<ClaimResult> MemoryStore::claim(std::span<const ClaimRequest> requests) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  std::vector<ClaimResult> results;
  results.reserve(requests.size());
  for (const auto& request : requests) results.push_back(claim_one(request, now));
  return results;
}

bool MemoryStore::update_one(const StateUpdate& update, StoreTime now) {
  auto it = runs_.find(key_of(update.key));
  if (it == runs_.end()) return false;
  RunRecord& record = it->second;
  if (record.fence != update.fence || !is_active(record.state)) return false;
  record.state = update.state;
  if (update.state == RunState::running) {
    record.started_at = now;
  } else if (!is_active(update.state)) {
    record.finished_at = now;
    record.exit_code = update.exit_code;
    record.signal = update.signal;
    record.output_tail = update.output_tail;
  }
  return true;
}

std::vector<bool> MemoryStore::update(std::span<const StateUpdate> updates) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  std::vector<bool> applied;
  applied.reserve(updates.size());
  for (const auto& u : updates) applied.push_back(update_one(u, now));
  return applied;
}

void MemoryStore::record_missed(std::span<const OccurrenceKey> keys) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  for (const auto& key : keys) {
    RunRecord record;
    record.key = key;
    record.state = RunState::missed;
    record.finished_at = now;
    runs_.emplace(key_of(key), std::move(record));  // keeps an existing record
  }
}

// --- liveness of runs ---

std::vector<RunRecord> MemoryStore::mark_lost() {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  std::vector<RunRecord> lost;
  for (auto& [key, record] : runs_) {
    if (!is_active(record.state) || lease_live(record.node, now)) continue;
    record.state = RunState::lost;
    record.finished_at = now;
    lost.push_back(record);
  }
  return lost;
}

std::optional<RunRecord> MemoryStore::reclaim_lost(const OccurrenceKey& key,
                                                   std::string_view node_id) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  auto it = runs_.find(key_of(key));
  if (it == runs_.end() || it->second.state != RunState::lost) return std::nullopt;
  RunRecord& record = it->second;
  record.state = RunState::claimed;
  record.node = std::string(node_id);
  record.fence = next_fence_++;
  record.attempt += 1;
  record.claimed_at = now;
  record.started_at.reset();
  record.finished_at.reset();
  record.exit_code.reset();
  record.signal.reset();
  record.output_tail.clear();
  return record;
}

// --- history ---

std::vector<RunRecord> MemoryStore::history(const HistoryQuery& query) {
  std::lock_guard lock(mutex_);
  std::vector<RunRecord> out;
  for (const auto& [key, record] : runs_) {
    if (query.job && !query.job->empty() && record.key.job != *query.job) continue;
    if (query.since && record.key.scheduled_at < *query.since) continue;
    out.push_back(record);
  }
  // Newest first; ties (every_node, several jobs) in a stable, documented order.
  std::sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(b.key.scheduled_at, a.key.job, a.key.node) <
           std::tie(a.key.scheduled_at, b.key.job, b.key.node);
  });
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

std::optional<sys_seconds> MemoryStore::last_scheduled(std::string_view job) {
  std::lock_guard lock(mutex_);
  std::optional<sys_seconds> latest;
  for (auto it = runs_.lower_bound({std::string(job), "", sys_seconds::min()});
       it != runs_.end() && std::get<0>(it->first) == job; ++it) {
    if (!latest || it->second.key.scheduled_at > *latest) latest = it->second.key.scheduled_at;
  }
  return latest;
}

std::vector<RunRecord> MemoryStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(mutex_);
  std::vector<RunRecord> out;
  for (const auto& [key, record] : runs_) {
    if (is_active(record.state) && record.node == node_id) out.push_back(record);
  }
  return out;
}

void MemoryStore::prune(std::string_view job, std::size_t keep_last,
                        std::optional<std::chrono::seconds> max_age) {
  std::lock_guard lock(mutex_);
  const StoreTime now = now_locked();
  std::vector<std::map<Key, RunRecord>::iterator> of_job;
  for (auto it = runs_.lower_bound({std::string(job), "", sys_seconds::min()});
       it != runs_.end() && std::get<0>(it->first) == job; ++it) {
    of_job.push_back(it);
  }
  // Newest first, as history() lists them.
  std::sort(of_job.begin(), of_job.end(), [](auto a, auto b) {
    return std::tie(b->second.key.scheduled_at, a->second.key.node) <
           std::tie(a->second.key.scheduled_at, b->second.key.node);
  });
  for (std::size_t i = 0; i < of_job.size(); ++i) {
    const RunRecord& record = of_job[i]->second;
    // Active records carry the fence that guards their holder's writes: never pruned.
    if (is_active(record.state)) continue;
    const bool too_many = i >= keep_last;
    const bool too_old = max_age && record.key.scheduled_at < now - *max_age;
    if (too_many || too_old) runs_.erase(of_job[i]);
  }
}

}  // namespace solocron::detail
