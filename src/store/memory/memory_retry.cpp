// Retries and backfill on the memory store: the same semantics as the SQL stores, each call
// one step under the store's mutex.
#include <algorithm>
#include <climits>

#include "store/memory/memory_state.hpp"
#include "store/retry_backfill.hpp"

namespace solocron::detail {

using std::chrono::sys_seconds;

namespace {
bool ended_badly(RunState s) { return s == RunState::failed || s == RunState::timed_out; }
}  // namespace

std::optional<RunRecord> MemoryStore::State::retry(const ReclaimRequest& request, StoreTime at) {
  auto it = runs.find(key_of(request.key));
  if (it == runs.end()) return std::nullopt;
  RunRecord& ended = it->second;
  if (ended.fence != request.fence || !ended_badly(ended.state) ||
      ended.attempt != request.attempt - 1 ||
      !lease_live(request.node_id, request.lease_token, at)) {
    return std::nullopt;
  }
  attempts.try_emplace({it->first, ended.attempt}, ended);  // insert-if-absent
  ended = next_attempt(ended, request, at, Trigger::retry);
  return ended;
}

std::vector<std::optional<RunRecord>> MemoryStore::retry(std::span<const ReclaimRequest> requests) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<std::optional<RunRecord>> out;
  out.reserve(requests.size());
  for (const auto& r : requests) out.push_back(state_->retry(r, now));
  return out;
}

std::vector<RunRecord> MemoryStore::retry_candidates(std::span<const std::string> jobs,
                                                     StoreTime finished_since) {
  std::lock_guard lock(state_->mutex);
  std::vector<RunRecord> out;
  for (const auto& [key, record] : state_->runs) {
    if (!ended_badly(record.state) || !record.finished_at || *record.finished_at < finished_since) {
      continue;
    }
    if (std::find(jobs.begin(), jobs.end(), record.key.job) == jobs.end()) continue;
    out.push_back(record);
  }
  std::sort(out.begin(), out.end(), finished_earlier);
  if (out.size() > 1000) out.resize(1000);
  return out;
}

std::vector<RunRecord> MemoryStore::earlier_attempts(std::span<const OccurrenceKey> keys) {
  std::lock_guard lock(state_->mutex);
  std::vector<RunRecord> out;
  for (const OccurrenceKey& k : keys) {
    const State::Key key = State::key_of(k);
    for (auto it = state_->attempts.lower_bound({key, INT_MIN});
         it != state_->attempts.end() && it->first.first == key; ++it) {
      out.push_back(it->second);
    }
  }
  return out;
}

// --- backfill ---

std::int64_t MemoryStore::request_backfill(std::string_view job,
                                           std::span<const sys_seconds> instants,
                                           std::string_view requested_by, std::string_view note) {
  const std::vector<sys_seconds> distinct = backfill_instants(instants);
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  const std::int64_t id = state_->next_backfill++;
  for (sys_seconds at : distinct) {
    state_->backfills.try_emplace({std::string(job), at, id},
                                  BackfillItem{.backfill = id,
                                               .job = std::string(job),
                                               .at = at,
                                               .requested_at = now,
                                               .requested_by = std::string(requested_by),
                                               .note = std::string(note),
                                               .state = std::nullopt});
  }
  return id;
}

std::vector<BackfillItem> MemoryStore::pending_backfill(StoreTime since) {
  std::lock_guard lock(state_->mutex);
  std::vector<BackfillItem> out;
  for (const auto& [where, item] : state_->backfills) {
    if (item.requested_at < since) continue;
    const OccurrenceKey key{item.job, item.at, "", 0};
    if (state_->pruned(key)) continue;
    BackfillItem pending = item;
    if (auto run = state_->runs.find(State::key_of(key)); run != state_->runs.end()) {
      const RunState s = run->second.state;
      if (s != RunState::missed && !is_active(s)) continue;
      pending.state = s;
    }
    out.push_back(std::move(pending));
    if (out.size() == 1000) break;
  }
  return out;
}

}  // namespace solocron::detail
