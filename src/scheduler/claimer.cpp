// The claimer's thread, its queues and the claim path: claim, store the running mark, start.
#include "scheduler/claimer.hpp"

#include <algorithm>

namespace solocron::detail {

using namespace std::chrono_literals;

namespace {
constexpr auto kRankDelay = 50ms;
constexpr auto kMaxRankDelay = 250ms;
// Claimed in chunks so the first runs start while the rest are still being claimed.
constexpr std::size_t kClaimChunk = 256;
// Runs of one batch end close together: a claim for the first freed slot alone would cost a
// round trip for one run. Occurrences waiting for slots are claimed once half the slots (or
// all that wait) are free, or kSlotSettle after the first slot freed.
constexpr auto kSlotSettle = 2ms;
// Bounds on what the claimer keeps in memory; beyond them occurrences are reported
// not_claimed (waiting) or left to the next catch-up (retries).
constexpr std::size_t kMaxWaiting = 1000000;
constexpr std::size_t kMaxRetained = 10000;
}  // namespace

Claimer::Claimer(const NodeSettings& settings, std::string node_id, Store& store, Clock& clock,
                 ClusterClock& cluster_clock, Events& events, JobTable& jobs,
                 RunRegistry& registry, NodeSession& session, Executor& executor,
                 StateWriter& writer, Notifier& notifier, Redecide redecide)
    : settings_(settings),
      node_id_(std::move(node_id)),
      store_(store),
      clock_(clock),
      cluster_clock_(cluster_clock),
      events_(events),
      jobs_(jobs),
      registry_(registry),
      session_(session),
      executor_(executor),
      writer_(writer),
      notifier_(notifier),
      redecide_(std::move(redecide)) {}

Claimer::~Claimer() { stop(); }

void Claimer::start() {
  std::lock_guard g(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { main(); });
}

void Claimer::stop() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

// --- the thread ---

bool Claimer::has_work_locked(SteadyTime now) const {
  return !missed_.empty() || sweep_due_ || (!pending_.empty() && pending_.begin()->first <= now) ||
         (!missed_later_.empty() && missed_later_.begin()->first <= now) ||
         (!waiting_.empty() && slots_freed_ && slots_settled_locked(now));
}

bool Claimer::slots_settled_locked(SteadyTime now) const {
  if (now >= slots_freed_at_ + kSlotSettle) return true;
  const std::size_t free = registry_.free_slots();
  return free >= waiting_.size() || free >= std::max<std::size_t>(1, registry_.capacity() / 2);
}

void Claimer::take_work_locked(SteadyTime now, std::vector<Occurrence>& claims,
                               std::vector<MissedRequest>& missed, bool& sweep) {
  if (slots_freed_ && slots_settled_locked(now)) {
    // Only as many as can start: the rest keep their place (oldest first).
    slots_freed_ = false;
    const std::size_t n = std::min(waiting_.size(), registry_.free_slots());
    claims.assign(std::make_move_iterator(waiting_.begin()),
                  std::make_move_iterator(waiting_.begin() + static_cast<std::ptrdiff_t>(n)));
    waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  while (!pending_.empty() && pending_.begin()->first <= now) {
    auto& batch = pending_.begin()->second;
    claims.insert(claims.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    pending_.erase(pending_.begin());
  }
  missed.swap(missed_);
  while (!missed_later_.empty() && missed_later_.begin()->first <= now) {
    missed.push_back(std::move(missed_later_.begin()->second));
    missed_later_.erase(missed_later_.begin());
  }
  sweep = sweep_due_;
  sweep_due_ = false;
}

void Claimer::main() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    const SteadyTime now = clock_.steady_now();
    if (!has_work_locked(now)) {
      SteadyTime deadline = now + 1s;
      if (!pending_.empty()) deadline = std::min(deadline, pending_.begin()->first);
      if (!missed_later_.empty()) deadline = std::min(deadline, missed_later_.begin()->first);
      if (!waiting_.empty() && slots_freed_) deadline = std::min(deadline, slots_freed_at_ + kSlotSettle);
      busy_ = false;
      park_deadline_ = deadline;
      clock_.wait_until(cv_, lk, deadline);
      continue;
    }
    busy_ = true;
    std::vector<Occurrence> claims;
    std::vector<MissedRequest> missed;
    bool sweep_now = false;
    take_work_locked(now, claims, missed, sweep_now);
    lk.unlock();
    for (auto& m : missed) write_missed(std::move(m));
    if (!claims.empty()) {
      const auto older = [](const Occurrence& a, const Occurrence& b) { return a.at < b.at; };
      if (!std::is_sorted(claims.begin(), claims.end(), older)) {
        std::stable_sort(claims.begin(), claims.end(), older);
      }
      claim(std::move(claims));
    }
    if (sweep_now) sweep();
    lk.lock();
  }
  busy_ = false;
}

bool Claimer::idle() const {
  std::lock_guard g(mu_);
  if (!started_ || stop_) return true;
  return !busy_ && !has_work_locked(clock_.steady_now());
}

std::size_t Claimer::waiting() const {
  std::lock_guard g(mu_);
  return waiting_.size();
}

// --- requests from other components ---

void Claimer::submit(std::vector<Occurrence> occs) {
  std::lock_guard g(mu_);
  const SteadyTime now = clock_.steady_now();
  // One batch per stagger delay (at most kMaxRankDelay / kRankDelay + 1 of them).
  std::map<std::chrono::milliseconds, std::vector<Occurrence>> by_delay;
  for (Occurrence& o : occs) {
    std::chrono::milliseconds delay{0};
    if (o.def->run_on == RunOn::once && live_nodes_.size() > 1) {
      const std::size_t rank = rendezvous_rank(o.def->name, o.at, node_id_, live_nodes_);
      delay = std::min<std::chrono::milliseconds>(kRankDelay * static_cast<int>(rank), kMaxRankDelay);
    }
    o.fallback = delay.count() > 0;
    // Jitter waits here, among the occurrences this node holds (catch-up leaves them alone).
    // Stagger and jitter add up: every node waits the same jitter, then their rank.
    // A run asked for starts now: jitter spreads the schedule's herd, not a request.
    const auto jitter = o.request || o.backfill ? std::chrono::milliseconds(0) : o.def->jitter_delay(o.at);
    by_delay[delay + jitter].push_back(std::move(o));
  }
  for (auto& [delay, batch] : by_delay) pending_.emplace(now + delay, std::move(batch));
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::record_missed(std::vector<Occurrence> occs, std::string why) {
  std::lock_guard g(mu_);
  missed_.push_back({std::move(occs), std::move(why)});
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::lease_acquired() {
  std::lock_guard g(mu_);
  claiming_ = !stop_;
  catch_up_pending_ = true;
  publish_due_ = true;
  sweep_due_ = true;
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::fenced() {
  std::lock_guard g(mu_);
  claiming_ = false;
}

void Claimer::heartbeat() {
  std::lock_guard g(mu_);
  sweep_due_ = true;
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::stop_claiming() {
  std::vector<Occurrence> dropped;
  {
    std::lock_guard g(mu_);
    claiming_ = false;
    for (auto& [at, batch] : pending_) {
      dropped.insert(dropped.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    }
    pending_.clear();
    dropped.insert(dropped.end(), std::make_move_iterator(waiting_.begin()),
                   std::make_move_iterator(waiting_.end()));
    waiting_.clear();
  }
  not_claimed(dropped, "shutting down");
}

void Claimer::slots_freed() {
  std::lock_guard g(mu_);
  if (waiting_.empty()) return;
  if (!slots_freed_) slots_freed_at_ = clock_.steady_now();
  slots_freed_ = true;
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::jobs_changed() {
  std::lock_guard g(mu_);
  publish_due_ = true;  // at the next sweep: a reload changing many jobs publishes once
}

void Claimer::job_ran(const std::string& job) {
  std::lock_guard g(mu_);
  auto [it, fresh] = prune_dirty_.try_emplace(job);
  if (fresh) it->second.since = clock_.steady_now();
  ++it->second.records;
}

// --- claims ---

OccurrenceKey Claimer::key_of(const Occurrence& o) const {
  return {o.def->name, o.at, o.def->run_on == RunOn::every_node ? node_id_ : std::string(),
          o.request};
}

void Claimer::not_claimed(const std::vector<Occurrence>& occs, const std::string& why) {
  events_.counters.not_claimed += occs.size();
  if (!events_.observed()) return;
  for (const Occurrence& o : occs) {
    RunEvent e = events_.make(RunEventKind::not_claimed, key_of(o));
    e.message = why;
    events_.emit(e);
  }
}

void Claimer::claim(std::vector<Occurrence> occs) {
  bool claiming;
  {
    std::lock_guard g(mu_);
    claiming = claiming_;
  }
  if (!claiming || !session_.valid()) {
    // Cluster contract section 10: without a live lease this node runs no once/every_node job.
    const auto v = session_.view();
    not_claimed(occs, v.fatal ? *v.fatal : !v.identity_ok ? "the store changed under this node"
                      : !claiming && v.held ? "shutting down" : "node lease not held");
    return;
  }
  // Waiting for a slot never runs an occurrence past its starting_deadline.
  const WallTime now = cluster_clock_.now();
  std::vector<Occurrence> expired;
  std::erase_if(occs, [&](Occurrence& o) {
    const auto d = o.def->starting_deadline();
    if (!d || o.backfill || now - WallTime(o.at) <= *d) return false;
    expired.push_back(std::move(o));
    return true;
  });
  if (!expired.empty()) {
    write_missed({std::move(expired), "no free slot (max_concurrent_runs) within its starting_deadline"});
  }
  drop_recorded_fallbacks(occs);
  for (std::size_t first = 0; first < occs.size(); first += kClaimChunk) {
    const std::size_t end = std::min(occs.size(), first + kClaimChunk);
    const std::size_t slots = registry_.reserve(end - first);
    if (slots < end - first) {
      // A node claims only what it can start now; other nodes take the rest meanwhile.
      std::vector<Occurrence> wait(std::make_move_iterator(occs.begin() + first + slots),
                                   std::make_move_iterator(occs.end()));
      std::vector<Occurrence> dropped;
      {
        std::lock_guard g(mu_);
        for (auto& o : wait) {
          if (waiting_.size() < kMaxWaiting) {
            waiting_.push_back(std::move(o));
          } else {
            dropped.push_back(std::move(o));
          }
        }
      }
      not_claimed(dropped, "too many occurrences waiting for a free slot");
      claim_reserved(std::vector<Occurrence>(std::make_move_iterator(occs.begin() + first),
                                             std::make_move_iterator(occs.begin() + first + slots)));
      return;
    }
    claim_reserved(std::vector<Occurrence>(std::make_move_iterator(occs.begin() + first),
                                           std::make_move_iterator(occs.begin() + end)));
  }
}

// A fallback claim (after the rank stagger) usually finds its occurrence taken by the preferred
// node. A read says so without the write lock and without holding a slot for it.
void Claimer::drop_recorded_fallbacks(std::vector<Occurrence>& occs) {
  std::vector<OccurrenceKey> keys;
  std::vector<std::size_t> index;
  for (std::size_t i = 0; i < occs.size(); ++i) {
    if (occs[i].fallback) {
      keys.push_back(key_of(occs[i]));
      index.push_back(i);
    }
  }
  if (keys.empty()) return;
  std::vector<bool> decided;
  try {
    decided = store_.recorded(keys);
  } catch (const std::exception&) {
    return;  // unknown: the claims decide
  }
  std::vector<bool> drop(occs.size(), false);
  for (std::size_t k = 0; k < index.size() && k < decided.size(); ++k) {
    if (!decided[k]) continue;
    drop[index[k]] = true;
    ++events_.counters.claims_taken;
    if (events_.observed()) events_.emit(events_.make(RunEventKind::claim_taken, keys[k]));
  }
  std::size_t i = 0;
  std::erase_if(occs, [&](const Occurrence&) { return drop[i++]; });
}

void Claimer::claim_reserved(std::vector<Occurrence> occs) {
  if (occs.empty()) return;
  const std::int64_t token = session_.view().token;
  std::vector<ClaimRequest> requests;
  std::vector<RunPtr> runs;
  requests.reserve(occs.size());
  runs.reserve(occs.size());
  for (const Occurrence& o : occs) {
    // Every claim here has a slot reserved, so its run starts once won: the claim is stored as
    // the running mark, in the same round trip.
    ClaimRequest r{key_of(o), node_id_, token, o.def->overlap, settings_.max_clock_skew, true, o.backfill};
    runs.push_back(registry_.add_claiming(o.def, r.key, 1, o.backfill ? Trigger::backfill : trigger_of(r.key)));
    requests.push_back(std::move(r));
  }
  std::vector<ClaimResult> results;
  try {
    results = store_.claim(requests);
    if (results.size() != requests.size()) {
      throw StoreError(StoreError::Kind::internal, "the store answered " +
                                                       std::to_string(results.size()) + " of " +
                                                       std::to_string(requests.size()) + " claims");
    }
  } catch (const std::exception& ex) {
    for (const RunPtr& r : runs) registry_.abandon(*r);
    events_.store_error("claim of " + std::to_string(requests.size()) + " occurrence(s)", ex);
    events_.counters.not_claimed += occs.size();
    retry_later(std::move(occs));  // run or recorded (misfire policy) once the store answers
    return;
  }
  std::vector<RunEvent> events;
  std::vector<RunPtr> won;
  std::vector<OccurrenceKey> replaced;
  // Fences only grow, across batches (within one, the store may issue them in key order).
  const std::int64_t fence_before = max_fence_;
  bool went_back = false;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ClaimResult& r = results[i];
    RunEvent e = events_.make(RunEventKind::claimed, requests[i].key);
    // A backfill instant not won is looked at again at the next sweep (if still pending).
    if (occs[i].backfill && r.outcome != ClaimResult::Outcome::won) {
      backfills_taken_.erase({occs[i].def->name, occs[i].at});
    }
    if (occs[i].backfill && r.outcome == ClaimResult::Outcome::overlap_skipped) {
      registry_.abandon(*runs[i]);
      e.kind = RunEventKind::not_claimed;
      e.message = "backfill waits: an earlier run of the job is still active (overlap: forbid)";
      events.push_back(std::move(e));
      continue;
    }
    switch (r.outcome) {
      case ClaimResult::Outcome::won:
        ++events_.counters.claims_won;
        if (r.fence <= fence_before) went_back = true;
        max_fence_ = std::max(max_fence_, r.fence);
        e.fence = r.fence;
        registry_.claimed(*runs[i], r.fence, token);
        won.push_back(runs[i]);
        replaced.insert(replaced.end(), r.replaced.begin(), r.replaced.end());
        break;
      case ClaimResult::Outcome::taken:
        ++events_.counters.claims_taken;
        e.kind = RunEventKind::claim_taken;
        registry_.abandon(*runs[i]);
        break;
      case ClaimResult::Outcome::overlap_skipped:
        ++events_.counters.skipped_overlap;
        e.kind = RunEventKind::skipped_overlap;
        registry_.abandon(*runs[i]);
        break;
      case ClaimResult::Outcome::too_early: {
        ++events_.counters.too_early;
        e.kind = RunEventKind::too_early;
        registry_.abandon(*runs[i]);
        // Retry when the store's clock reaches the scheduled instant; never run early.
        const auto wait = std::max<std::chrono::milliseconds>(
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  StoreTime(occs[i].at) - r.store_now),
                              0ms) + 1ms;
        e.message = "the store's clock is behind the scheduled instant; retrying in " +
                    std::to_string(wait.count()) + "ms";
        defer(occs[i], clock_.steady_now() + wait);
        break;
      }
      case ClaimResult::Outcome::no_lease:
        ++events_.counters.not_claimed;
        e.kind = RunEventKind::not_claimed;
        e.message = "the store says this node's lease is not live";
        registry_.abandon(*runs[i]);
        break;
    }
    events.push_back(std::move(e));
  }
  if (std::any_of(results.begin(), results.end(),
                  [](const ClaimResult& r) { return r.outcome == ClaimResult::Outcome::no_lease; })) {
    session_.renew_soon();
  }
  if (events_.observed()) {
    for (const RunEvent& e : events) events_.emit(e);
  }
  if (went_back) {
    session_.store_changed("the store issued a fencing token not higher than one it issued before "
                           "(a database restored from a backup?)");
  }
  if (!replaced.empty()) {
    auto stops = registry_.stop_if(
        [&](const Run& run) {
          return run.store_backed &&
                 std::find(replaced.begin(), replaced.end(), run.key) != replaced.end();
        },
        StopReason::replaced);
    executor_.signal(stops);
    events_.counters.replaced += stops.size();
    for (const RunPtr& run : stops) events_.emit(events_.make(RunEventKind::replaced, run->key, run->fence, run->attempt));
  }
  // The claims were stored `running` (ClaimRequest::start): each run may start now.
  for (const RunPtr& run : won) mark_stored(run, {WriteResult::Kind::applied, {}});
}

// Starts are gated on the stored `running` mark: a run whose node dies before the mark is
// stored never started, certainly, and another node may take its occurrence over. Claims made
// with a free slot carry the mark themselves; re-claims of lost or unstarted occurrences
// (sweep.cpp) write it through the StateWriter, in one batch with the outcomes of other runs,
// and each run starts when its mark is acknowledged.
void Claimer::mark_and_start(std::vector<RunPtr> runs) {
  for (RunPtr& run : runs) {
    StateUpdate mark{run->key, run->fence, RunState::running, {}, {}, {}, {}};
    writer_.submit(std::move(mark), [this, run = std::move(run)](const WriteResult& w) {
      mark_stored(run, w);
    });
  }
}

void Claimer::mark_stored(const RunPtr& run, const WriteResult& w) {
  if (w.kind == WriteResult::Kind::rejected) {
    ++events_.counters.stale_writes;
    RunEvent e = events_.make(RunEventKind::stale_write, run->key, run->fence, run->attempt);
    e.message = "running mark rejected: this node's lease is no longer live in the store; not started";
    registry_.abandon(*run);
    events_.emit(e);
  } else if (w.kind == WriteResult::Kind::failed) {
    // The mark may or may not be stored: the outcome written by this live node says it did
    // not start, so that no other node takes a run of a live node for lost.
    executor_.finish_unstarted(run, RunState::interrupted,
                               "not started: its running mark could not be stored (" + w.error + ")");
  } else if (!session_.valid()) {
    executor_.finish_unstarted(run, RunState::interrupted,
                               "not started: this node's lease deadline passed");
  } else if (!registry_.mark_stored(run)) {
    executor_.finish_unstarted(run, RunState::interrupted, "not started: the node shut down");
  } else {
    executor_.work_added();
  }
}

void Claimer::defer(Occurrence occ, SteadyTime at) {
  std::lock_guard g(mu_);
  pending_.emplace(at, std::vector<Occurrence>{std::move(occ)});
  cv_.notify_all();
  events_.handed_off();
}

void Claimer::retry_later(std::vector<Occurrence> occs) {
  std::lock_guard g(mu_);
  for (Occurrence& o : occs) {
    if (retry_.size() >= kMaxRetained) {
      catch_up_pending_ = true;  // too many to keep: walk every job's history instead
      break;
    }
    o.misfired = true;
    retry_.push_back(std::move(o));
  }
}

// A node whose clock was ahead of the store's must not write `missed` for occurrences that
// another node may still claim: `missed` blocks claims. Only an instant more than
// max_clock_skew behind the store's clock is past claiming by any node; later ones are
// recorded when the store's clock gets there (insert-if-absent: a run by another node wins).
void Claimer::write_missed(MissedRequest req) {
  std::vector<OccurrenceKey> keys;
  std::vector<Occurrence> ahead, recorded;
  const WallTime limit = cluster_clock_.now() - settings_.max_clock_skew;
  for (Occurrence& o : req.occs) {
    if (!o.def->store_backed()) {
      recorded.push_back(std::move(o));
    } else if (WallTime(o.at) > limit) {
      ahead.push_back(std::move(o));
    } else {
      keys.push_back(key_of(o));
      recorded.push_back(std::move(o));
    }
  }
  if (!ahead.empty()) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(WallTime(ahead.back().at) - limit) + 1ms;
    std::lock_guard g(mu_);
    missed_later_.emplace(clock_.steady_now() + wait, MissedRequest{std::move(ahead), req.why});
    cv_.notify_all();
  }
  constexpr std::size_t kChunk = 1000;
  std::vector<bool> inserted;  // per key: this node's record is the one stored (it notifies)
  for (std::size_t i = 0; i < keys.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, keys.size() - i);
    try {
      const auto chunk = store_.record_missed(std::span<const OccurrenceKey>(keys.data() + i, n));
      inserted.insert(inserted.end(), chunk.begin(), chunk.end());
      inserted.resize(i + n, false);
    } catch (const std::exception& ex) {
      events_.store_error("record_missed", ex);
      std::erase_if(recorded, [](const Occurrence& o) { return o.def->store_backed(); });
      std::vector<Occurrence> again;
      for (const auto& k : keys) {
        if (auto def = jobs_.def_of(k.job)) again.push_back({def, k.scheduled_at, true});
      }
      retry_later(std::move(again));
      break;
    }
  }
  events_.counters.missed += recorded.size();
  std::size_t key_index = 0;  // the store-backed ones of `recorded` are `keys`, in order
  for (const Occurrence& o : recorded) {
    const bool ours = !o.def->store_backed() || (key_index < inserted.size() && inserted[key_index]);
    if (o.def->store_backed()) {
      job_ran(o.def->name);
      ++key_index;
    }
    if (ours) notifier_.notify(o.def->hooks.get(), HookEvent::missed, {key_of(o), RunState::missed, 0, 1, {}, {}, req.why, {}, {}});
    if (!events_.observed()) continue;
    RunEvent e = events_.make(RunEventKind::missed, key_of(o));
    e.message = req.why;
    events_.emit(e);
  }
}

}  // namespace solocron::detail
