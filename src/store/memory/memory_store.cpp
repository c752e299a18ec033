#include "store/memory/memory_store.hpp"

#include <algorithm>
#include <climits>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "store/memory/memory_state.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::sys_seconds;

MemoryStore::MemoryStore(NowSource now_source)
    : state_(std::make_shared<State>(std::move(now_source))) {}

StoreTime MemoryStore::now() {
  std::lock_guard lock(state_->mutex);
  return state_->now();
}

std::string MemoryStore::identity() { return state_->id; }

std::unique_ptr<Store> MemoryStore::another_connection(milliseconds) {
  return std::unique_ptr<Store>(new MemoryStore(state_));
}

// --- node leases ---

RegisterResult MemoryStore::register_node(std::string_view node_id, milliseconds ttl,
                                          const NodeInfo& info) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  RegisterResult result;
  auto it = state_->leases.find(node_id);
  if (it != state_->leases.end() && it->second.expires_at > now) {
    result.lease = it->second;
    result.lease.live = true;
    return result;
  }
  result.took_over_expired = it != state_->leases.end();
  NodeLease lease{std::string(node_id), state_->next_lease_token++, now, now, now + ttl, true,
                  info.version};
  state_->leases.insert_or_assign(std::string(node_id), lease);
  result.acquired = true;
  result.lease = lease;
  return result;
}

std::optional<NodeLease> MemoryStore::renew_node(std::string_view node_id, std::int64_t token,
                                                 milliseconds ttl) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  auto it = state_->leases.find(node_id);
  if (it == state_->leases.end() || it->second.token != token || it->second.expires_at <= now) {
    return std::nullopt;
  }
  it->second.renewed_at = now;
  it->second.expires_at = now + ttl;
  it->second.live = true;
  return it->second;
}

void MemoryStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->leases.find(node_id);
  if (it != state_->leases.end() && it->second.token == token) {
    state_->leases.erase(it);
    state_->published.erase(std::string(node_id));
  }
}

std::vector<NodeLease> MemoryStore::nodes() {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<NodeLease> out;
  for (const auto& [id, lease] : state_->leases) {
    out.push_back(lease);
    out.back().live = lease.expires_at > now;
  }
  return out;
}

// --- the cluster's job set ---

bool MemoryStore::publish_jobs(std::string_view node_id, std::int64_t lease_token,
                               std::span<const PublishedJob> jobs) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  if (!state_->lease_live(std::string(node_id), lease_token, now)) return false;
  state_->published[std::string(node_id)] = {lease_token, now, {jobs.begin(), jobs.end()}};
  return true;
}

std::vector<PublishedJobRow> MemoryStore::published_jobs() {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<PublishedJobRow> out;
  for (const auto& [node, p] : state_->published) {
    if (!state_->lease_live(node, p.lease_token, now)) continue;
    for (const PublishedJob& j : p.jobs) out.push_back({node, j, p.at});
  }
  std::sort(out.begin(), out.end(), [](const PublishedJobRow& a, const PublishedJobRow& b) {
    return std::tie(a.job.job, a.node_id) < std::tie(b.job.job, b.node_id);
  });
  return out;
}

// --- occurrences ---

ClaimResult MemoryStore::State::claim(const ClaimRequest& request, StoreTime at) {
  ClaimResult result;
  result.store_now = at;
  const OccurrenceKey& key = request.key;
  if (!lease_live(request.node_id, request.lease_token, at)) {
    result.outcome = ClaimResult::Outcome::no_lease;
    return result;
  }
  if (key.scheduled_at > at + request.max_clock_skew) {
    result.outcome = ClaimResult::Outcome::too_early;
    return result;
  }
  // A backfill takes over a `missed` record; any other record makes the occurrence taken.
  const auto existing = runs.find(key_of(key));
  const bool open = existing == runs.end() ||
                    (request.backfill && existing->second.state == RunState::missed);
  if (pruned(key) || paused(key) || !open) {
    result.outcome = ClaimResult::Outcome::taken;
    return result;
  }
  RunRecord record = record_for(key);
  record.node = request.node_id;
  record.lease_token = request.lease_token;
  record.claimed_at = at;
  if (request.backfill) {
    record.trigger = Trigger::backfill;
    if (const BackfillItem* asked = first_backfill(key.job, key.scheduled_at)) {
      record.requested_by = asked->requested_by;
      record.note = asked->note;
    }
  }
  auto [first, last] = earlier(key);
  const auto held_live = [&](const auto& kv) {
    return is_active(kv.second.state) && holder_live(kv.second, at);
  };
  if (request.overlap == OverlapMode::forbid && std::any_of(first, last, held_live)) {
    // A backfill waits for the earlier run instead of recording the tick skipped.
    result.outcome = ClaimResult::Outcome::overlap_skipped;
    if (request.backfill) return result;
    record.state = RunState::skipped_overlap;
    record.finished_at = at;
    runs.emplace(key_of(key), std::move(record));
    return result;
  }
  if (request.overlap == OverlapMode::replace) {
    for (auto it = first; it != last; ++it) {
      if (!is_active(it->second.state)) continue;
      it->second.state = RunState::interrupted;
      it->second.finished_at = at;
      result.replaced.push_back(it->second.key);
    }
  }
  record.state = request.start ? RunState::running : RunState::claimed;
  if (request.start) record.started_at = at;
  record.fence = next_fence++;
  result.outcome = ClaimResult::Outcome::won;
  result.fence = record.fence;
  runs.insert_or_assign(key_of(key), std::move(record));
  return result;
}

std::vector<ClaimResult> MemoryStore::claim(std::span<const ClaimRequest> requests) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<ClaimResult> results;
  results.reserve(requests.size());
  for (const auto& request : requests) results.push_back(state_->claim(request, now));
  return results;
}

bool MemoryStore::State::update(const StateUpdate& u, StoreTime at) {
  if (u.state == RunState::claimed) return false;
  auto it = runs.find(key_of(u.key));
  if (it == runs.end()) return false;
  RunRecord& record = it->second;
  if (record.fence != u.fence || !is_active(record.state)) return false;
  if (u.state == RunState::running && !holder_live(record, at)) return false;
  if (u.state == RunState::lost && holder_live(record, at)) return false;
  record.state = u.state;
  if (u.state == RunState::running) {
    record.started_at = at;
  } else {
    record.finished_at = at;
    record.exit_code = u.exit_code;
    record.signal = u.signal;
    record.output_tail = u.output_tail;
    record.message = u.message;
  }
  return true;
}

std::vector<bool> MemoryStore::update(std::span<const StateUpdate> updates) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<bool> applied;
  applied.reserve(updates.size());
  for (const auto& u : updates) applied.push_back(state_->update(u, now));
  return applied;
}

std::vector<bool> MemoryStore::record_missed(std::span<const OccurrenceKey> keys) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<bool> inserted;
  for (const auto& key : keys) {
    if (state_->pruned(key) || state_->paused(key)) {
      inserted.push_back(false);
      continue;
    }
    RunRecord record = state_->record_for(key);
    record.state = RunState::missed;
    record.finished_at = now;
    // Keeps an existing record.
    inserted.push_back(state_->runs.emplace(State::key_of(key), std::move(record)).second);
  }
  return inserted;
}

std::vector<bool> MemoryStore::recorded(std::span<const OccurrenceKey> keys) {
  std::lock_guard lock(state_->mutex);
  std::vector<bool> out;
  out.reserve(keys.size());
  for (const auto& key : keys) {
    out.push_back(state_->pruned(key) || state_->runs.count(State::key_of(key)) > 0);
  }
  return out;
}

std::optional<RunRecord> MemoryStore::State::reclaim(const ReclaimRequest& request, StoreTime at) {
  auto it = runs.find(key_of(request.key));
  if (it == runs.end() || it->second.fence != request.fence) return std::nullopt;
  const RunRecord& held = it->second;
  const bool given_up =
      held.state == RunState::lost || (is_active(held.state) && !holder_live(held, at));
  if (!given_up || !lease_live(request.node_id, request.lease_token, at)) return std::nullopt;
  // A lost attempt stays in the history when the next one replaces it (an unstarted one taken
  // over goes on as the same attempt).
  if (held.state == RunState::lost) attempts.try_emplace({it->first, held.attempt}, held);
  // The same occurrence goes on elsewhere: what started it stays.
  it->second = next_attempt(held, request, at, held.trigger);
  return it->second;
}

std::vector<std::optional<RunRecord>> MemoryStore::reclaim(
    std::span<const ReclaimRequest> requests) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  std::vector<std::optional<RunRecord>> out;
  out.reserve(requests.size());
  for (const auto& r : requests) out.push_back(state_->reclaim(r, now));
  return out;
}

// --- requested runs ---

RunRequest MemoryStore::request_run(std::string_view job, std::string_view requested_by,
                                    std::string_view note) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  RunRequest r{state_->next_request++, std::string(job), std::chrono::floor<std::chrono::seconds>(now),
               now, std::string(requested_by), std::string(note)};
  state_->requests.emplace(r.id, r);
  return r;
}

std::vector<RunRequest> MemoryStore::pending_requests(std::string_view node_id,
                                                      sys_seconds since) {
  std::lock_guard lock(state_->mutex);
  std::vector<RunRequest> out;
  for (const auto& [id, r] : state_->requests) {
    if (r.at < since) continue;
    const bool done = state_->runs.contains({r.job, "", r.at, id}) ||
                      state_->runs.contains({r.job, std::string(node_id), r.at, id});
    if (!done) out.push_back(r);
    if (out.size() == 1000) break;
  }
  return out;
}

// --- pause ---

namespace {
// The first whole second after `now`: ticks due already may still run.
sys_seconds next_second(StoreTime now) {
  return std::chrono::floor<std::chrono::seconds>(now) + std::chrono::seconds(1);
}
}  // namespace

std::vector<JobControl> MemoryStore::job_controls() {
  std::lock_guard lock(state_->mutex);
  std::vector<JobControl> out;
  for (const auto& [job, c] : state_->controls) out.push_back(c);
  return out;
}

std::optional<JobControl> MemoryStore::pause_job(std::string_view job, std::string_view by,
                                                 std::string_view note) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  auto [it, fresh] = state_->controls.try_emplace(std::string(job));
  if (!fresh && it->second.paused) return std::nullopt;
  it->second = JobControl{std::string(job), true, next_second(now), std::nullopt,
                          std::string(by), std::string(note), now};
  return it->second;
}

std::optional<JobControl> MemoryStore::resume_job(std::string_view job, sys_seconds paused_at,
                                                  sys_seconds until, std::string_view by,
                                                  std::string_view note,
                                                  const std::optional<PausedSpan>& span) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  auto it = state_->controls.find(job);
  if (it == state_->controls.end() || !it->second.paused || it->second.paused_at != paused_at) {
    return std::nullopt;
  }
  JobControl& c = it->second;
  c.paused = false;
  c.resumed_at = until;
  c.changed_by = by;
  c.note = note;
  c.changed_at = now;
  if (span) {
    const OccurrenceKey key{std::string(job), span->last_tick, "", 0};
    if (!state_->pruned(key)) {
      RunRecord record = state_->record_for(key);
      record.state = RunState::paused;
      record.finished_at = now;
      record.message = span->message;
      state_->runs.emplace(State::key_of(key), std::move(record));
    }
  }
  return c;
}

void MemoryStore::seed_paused(std::span<const std::string> jobs) {
  std::lock_guard lock(state_->mutex);
  const StoreTime now = state_->now();
  for (const std::string& job : jobs) {
    state_->controls.try_emplace(job, JobControl{job, true, next_second(now), std::nullopt,
                                                 "configuration",
                                                 "paused: true in the configuration", now});
  }
}

// --- history ---

std::vector<RunRecord> MemoryStore::history(const HistoryQuery& query) {
  std::lock_guard lock(state_->mutex);
  std::vector<RunRecord> out;
  for (const auto& [key, record] : state_->runs) {
    if (query.job && !query.job->empty() && record.key.job != *query.job) continue;
    if (query.since && record.key.scheduled_at < *query.since) continue;
    if (query.before && record.key.scheduled_at >= *query.before) continue;
    if (!query.states.empty() &&
        std::find(query.states.begin(), query.states.end(), record.state) == query.states.end()) {
      continue;
    }
    out.push_back(record);
  }
  // Newest first; ties (every_node, several jobs) in a stable, documented order.
  std::sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) {
    return std::tie(b.key.scheduled_at, a.key.job, a.key.node, a.key.request) <
           std::tie(a.key.scheduled_at, b.key.job, b.key.node, b.key.request);
  });
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

std::vector<std::optional<sys_seconds>> MemoryStore::last_scheduled(
    std::span<const std::string> jobs) {
  std::lock_guard lock(state_->mutex);
  std::vector<std::optional<sys_seconds>> out;
  for (const std::string& job : jobs) {
    std::optional<sys_seconds> latest;
    if (auto p = state_->pruned_through.find(job); p != state_->pruned_through.end()) {
      latest = p->second;
    }
    for (auto it = state_->runs.lower_bound({job, "", sys_seconds::min(), 0});
         it != state_->runs.end() && std::get<0>(it->first) == job; ++it) {
      if (it->second.key.request != 0) continue;  // requested runs are not the schedule's
      latest = std::max(latest.value_or(sys_seconds::min()), it->second.key.scheduled_at);
    }
    out.push_back(latest);
  }
  return out;
}

std::vector<RunRecord> MemoryStore::State::active_if(
    const std::function<bool(const RunRecord&)>& pred) const {
  std::vector<RunRecord> out;
  for (const auto& [key, record] : runs) {
    if (is_active(record.state) && pred(record)) out.push_back(record);
  }
  std::stable_sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) {
    return a.key.scheduled_at < b.key.scheduled_at;
  });
  return out;
}

std::vector<RunRecord> MemoryStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(state_->mutex);
  return state_->active_if([&](const RunRecord& r) { return r.node == node_id; });
}

std::vector<RunRecord> MemoryStore::orphaned_runs() {
  std::lock_guard lock(state_->mutex);
  const StoreTime at = state_->now();
  return state_->active_if([&](const RunRecord& r) { return !state_->holder_live(r, at); });
}

void MemoryStore::prune(std::string_view job, std::size_t keep_last,
                        std::optional<std::chrono::seconds> max_age) {
  std::lock_guard lock(state_->mutex);
  auto& runs = state_->runs;
  const StoreTime now = state_->now();
  std::vector<std::map<State::Key, RunRecord>::iterator> of_job;
  for (auto it = runs.lower_bound({std::string(job), "", sys_seconds::min(), 0});
       it != runs.end() && std::get<0>(it->first) == job; ++it) {
    of_job.push_back(it);
  }
  // Newest first, as history() lists them.
  std::sort(of_job.begin(), of_job.end(), [](auto a, auto b) {
    return std::tie(b->second.key.scheduled_at, a->second.key.node, a->second.key.request) <
           std::tie(a->second.key.scheduled_at, b->second.key.node, b->second.key.request);
  });
  std::optional<sys_seconds> newest_deleted;
  for (std::size_t i = 0; i < of_job.size(); ++i) {
    const RunRecord& record = of_job[i]->second;
    // Active records carry the fence that guards their holder's writes: never pruned.
    if (is_active(record.state)) continue;
    const bool too_many = i >= keep_last;
    const bool too_old = max_age && record.key.scheduled_at < now - *max_age;
    if (!too_many && !too_old) continue;
    newest_deleted = std::max(newest_deleted.value_or(sys_seconds::min()), record.key.scheduled_at);
    // The attempts kept of the run go with it.
    const State::Key key = of_job[i]->first;
    state_->attempts.erase(state_->attempts.lower_bound({key, INT_MIN}),
                           state_->attempts.upper_bound({key, INT_MAX}));
    runs.erase(of_job[i]);
  }
  if (!newest_deleted) return;
  auto [mark, inserted] = state_->pruned_through.try_emplace(std::string(job), *newest_deleted);
  if (!inserted) mark->second = std::max(mark->second, *newest_deleted);
}

}  // namespace solocron::detail
