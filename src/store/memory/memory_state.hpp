// MemoryStore's shared state, for the files that implement it.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/memory/memory_store.hpp"
#include "store/store_identity.hpp"

namespace solocron::detail {

struct MemoryStore::State {
  // Ordered by job, then the every_node part, then time and request: the occurrences that can
  // overlap one another are one contiguous range, in the order overlap judges "earlier".
  using Key = std::tuple<std::string, std::string, std::chrono::sys_seconds, std::int64_t>;
  static Key key_of(const OccurrenceKey& k) { return {k.job, k.node, k.scheduled_at, k.request}; }

  explicit State(NowSource source) : now_source(std::move(source)) {}

  StoreTime now() const {
    if (now_source) return now_source();
    using std::chrono::milliseconds;
    return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
  }

  bool lease_live(const std::string& node_id, std::int64_t token, StoreTime at) const {
    auto it = leases.find(node_id);
    return it != leases.end() && it->second.token == token && it->second.expires_at > at;
  }
  bool holder_live(const RunRecord& r, StoreTime at) const {
    return lease_live(r.node, r.lease_token, at);
  }
  bool pruned(const OccurrenceKey& k) const {
    auto it = pruned_through.find(k.job);
    return it != pruned_through.end() && k.scheduled_at <= it->second;
  }
  // The earlier occurrences of `k`'s job (same every_node part).
  auto earlier(const OccurrenceKey& k) {
    return std::pair(runs.lower_bound({k.job, k.node, std::chrono::sys_seconds::min(), 0}),
                     runs.lower_bound(key_of(k)));
  }

  // A scheduled tick of a paused job (see Store's pause guard).
  bool paused(const OccurrenceKey& k) const {
    auto it = controls.find(k.job);
    return k.request == 0 && it != controls.end() && it->second.paused &&
           it->second.paused_at <= k.scheduled_at;
  }
  // A new record for `key`, with its request's asker and note.
  RunRecord record_for(const OccurrenceKey& key) const {
    RunRecord record;
    record.key = key;
    record.trigger = trigger_of(key);
    if (auto it = requests.find(key.request); key.request != 0 && it != requests.end()) {
      record.requested_by = it->second.requested_by;
      record.note = it->second.note;
    }
    return record;
  }
  // The first backfill of (job, at), whose asker a backfilled run names; null if none.
  const BackfillItem* first_backfill(const std::string& job, std::chrono::sys_seconds at) const {
    auto it = backfills.lower_bound({job, at, 0});
    if (it == backfills.end() || std::get<0>(it->first) != job || std::get<1>(it->first) != at) {
      return nullptr;
    }
    return &it->second;
  }
  // `held` taken over by request.node_id as attempt request.attempt (re-claim and retry):
  // claimed, a new fence, the asker and note kept, no start, end or outcome.
  RunRecord next_attempt(const RunRecord& held, const ReclaimRequest& request, StoreTime at,
                         Trigger trigger) {
    RunRecord next = record_for(held.key);
    next.trigger = trigger;
    next.requested_by = held.requested_by;
    next.note = held.note;
    next.state = RunState::claimed;
    next.node = request.node_id;
    next.lease_token = request.lease_token;
    next.fence = next_fence++;
    next.attempt = request.attempt;
    next.claimed_at = at;
    return next;
  }
  ClaimResult claim(const ClaimRequest& request, StoreTime at);
  bool update(const StateUpdate& u, StoreTime at);
  std::optional<RunRecord> reclaim(const ReclaimRequest& request, StoreTime at);
  std::optional<RunRecord> retry(const ReclaimRequest& request, StoreTime at);
  std::vector<RunRecord> active_if(const std::function<bool(const RunRecord&)>& pred) const;

  const NowSource now_source;
  const std::string id = new_store_id();
  std::mutex mutex;
  std::int64_t next_fence = 1;
  std::int64_t next_lease_token = 1;
  std::map<std::string, NodeLease, std::less<>> leases;
  std::map<Key, RunRecord> runs;
  // The attempts a retry replaced, by key and attempt number.
  std::map<std::pair<Key, int>, RunRecord> attempts;
  std::map<std::string, std::chrono::sys_seconds, std::less<>> pruned_through;  // per job
  std::int64_t next_request = 1;
  std::map<std::int64_t, RunRequest> requests;  // by id
  std::map<std::string, JobControl, std::less<>> controls;  // by job
  std::int64_t next_backfill = 1;
  // Backfill items by job, instant and backfill id: pending_backfill()'s order.
  std::map<std::tuple<std::string, std::chrono::sys_seconds, std::int64_t>, BackfillItem> backfills;
  struct Published {
    std::int64_t lease_token = 0;
    StoreTime at{};
    std::vector<PublishedJob> jobs;
  };
  std::map<std::string, Published, std::less<>> published;  // per node
};

}  // namespace solocron::detail
