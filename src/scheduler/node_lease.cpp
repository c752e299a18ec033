// The node lease and everything done on each heartbeat (cluster contract sections 4, 5, 7):
// register / renew / self-fence, the skew check against the store's clock, the live node list
// for spreading claims, lost runs and at_least_once re-claims, runs replaced elsewhere, catch-up
// after (re-)registration, and history retention.
#include <algorithm>
#include <set>

#include "cron/duration.hpp"
#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::StopReason;

void Scheduler::Impl::lease_main() {
  std::unique_lock<std::mutex> lk(mu);
  while (!stop_threads) {
    lease_park.dirty = false;
    lk.unlock();
    heartbeat();
    lk.lock();
    if (stop_threads) break;
    if (lease_park.dirty) continue;
    const auto deadline = clock.steady_now() + settings.heartbeat;
    lease_park = {true, false, deadline};
    idle_cv.notify_all();
    clock.wait_until(lease_cv, lk, deadline);
    lease_park.parked = false;
  }
  lease_park.parked = false;
  idle_cv.notify_all();
}

void Scheduler::Impl::heartbeat() {
  bool held;
  {
    std::lock_guard<std::mutex> g(mu);
    if (fatal || phase != Phase::running) return;
    held = lease_held;
  }
  if (held) {
    renew();
  } else {
    try_register();
  }
  bool all;
  std::vector<detail::Occurrence> again;
  {
    std::lock_guard<std::mutex> g(mu);
    if (!lease_held || !claiming) return;
    all = catch_up_pending;
    again.swap(retry);
  }
  try {
    check_skew();
    refresh_nodes();
    handle_lost();
    check_active_runs();
  } catch (const std::exception& ex) {
    store_error("heartbeat", ex);
  }
  // Occurrences whose claim or record failed go through their misfire policy now (a failure
  // again puts them back). When a catch-up pass is due it covers them, together with every
  // other occurrence nobody claimed: deciding them apart would let run_once run twice.
  if (!again.empty() && !all) process_occurrences(std::move(again), clock.now());
  if (all) {
    {
      std::lock_guard<std::mutex> g(mu);
      catch_up_pending = false;
    }
    if (!catch_up(clock.now())) {
      std::lock_guard<std::mutex> g(mu);
      catch_up_pending = true;  // the store failed: again on the next heartbeat
    }
  }
  prune_some();
}

void Scheduler::Impl::try_register() {
  RegisterResult r;
  try {
    r = store.register_node(node_id, settings.node_ttl);
  } catch (const std::exception& ex) {
    {
      std::lock_guard<std::mutex> g(mu);
      store_ok = false;
    }
    store_error("register node lease", ex);
    return;
  }
  std::unique_lock<std::mutex> lk(mu);
  store_ok = true;
  if (!r.acquired && lease_token != 0 && r.lease.token == lease_token) {
    // Our own lease is still live in the store (we fenced ourselves on the local clock only).
    lk.unlock();
    renew();
    return;
  }
  if (r.acquired) {
    const bool ours_before = lease_token != 0;
    lease_held = true;
    lease_token = r.lease.token;
    last_renewed = clock.steady_now();
    conflict_since.reset();
    claiming = phase == Phase::running && !fatal;
    catch_up_pending = true;
    lk.unlock();
    RunEvent e = event(RunEventKind::lease_acquired);
    e.message = ours_before ? "registered node " + node_id + " again after losing its lease"
                : r.took_over_expired
                    ? "restart after crash: took over the expired lease of node " + node_id
                    : "registered node " + node_id;
    emit(e);
    return;
  }
  const auto now = clock.steady_now();
  RunEvent e = event(RunEventKind::lease_waiting);
  if (!conflict_since) {
    conflict_since = now;
    conflict_first_renewal = r.lease.renewed_at;
    e.message = "node id " + node_id +
                " is held by a live lease; waiting for it to expire (restart after a crash?)";
  } else if (now - *conflict_since > settings.node_ttl &&
             r.lease.renewed_at != *conflict_first_renewal) {
    fatal = "node id " + node_id + " is in use by another live process";
    claiming = false;
    e.kind = RunEventKind::fatal;
    e.message = *fatal;
    idle_cv.notify_all();
  } else {
    return;
  }
  lk.unlock();
  emit(e);
}

void Scheduler::Impl::renew() {
  std::int64_t token;
  {
    std::lock_guard<std::mutex> g(mu);
    token = lease_token;
  }
  std::optional<NodeLease> lease;
  try {
    lease = store.renew_node(node_id, token, settings.node_ttl);
  } catch (const std::exception& ex) {
    bool expired;
    {
      std::lock_guard<std::mutex> g(mu);
      store_ok = false;
      expired = lease_held && clock.steady_now() - last_renewed >= settings.node_ttl;
    }
    store_error("renew node lease", ex);
    if (expired) {
      self_fence("could not renew the node lease for node_ttl (" +
                 detail::format_duration(settings.node_ttl) + ")");
    }
    return;
  }
  std::unique_lock<std::mutex> lk(mu);
  store_ok = true;
  if (lease) {
    last_renewed = clock.steady_now();
    if (!lease_held) {  // back after a local self-fence, with the same lease
      lease_held = true;
      claiming = phase == Phase::running && !fatal;
      catch_up_pending = true;
      lk.unlock();
      RunEvent e = event(RunEventKind::lease_acquired);
      e.message = "node lease of " + node_id + " renewed after an outage";
      emit(e);
    }
    return;
  }
  lk.unlock();
  self_fence("node lease lost (expired and taken over, or released)");
  try_register();
}

// Section 5: this node may have been replaced. Stop claiming and stop its running once jobs;
// the heartbeat keeps trying to register again.
void Scheduler::Impl::self_fence(const std::string& why) {
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> procs;
  {
    std::lock_guard<std::mutex> g(mu);
    lease_held = false;
    claiming = false;
    for (auto& [id, run] : runs) {
      if (!run->store_backed || run->def->run_on != RunOn::once) continue;
      if (auto p = stop_locked(*run, StopReason::fenced)) procs.push_back(*p);
    }
  }
  ++counters.lease_lost;
  terminate_processes(procs);
  RunEvent e = event(RunEventKind::lease_lost);
  e.message = why + "; stopped claiming and stopped " + std::to_string(procs.size()) +
              " command run(s) and signalled running callables";
  emit(e);
}

void Scheduler::Impl::check_skew() {
  const auto t0 = clock.now();
  const StoreTime store_now = store.now();
  const auto t1 = clock.now();
  const auto rtt = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0);
  const auto local = t0 + (t1 - t0) / 2;
  const auto skew = std::chrono::duration_cast<std::chrono::milliseconds>(local - store_now);
  const bool bad = std::chrono::abs(skew) > settings.max_clock_skew + rtt / 2;
  bool changed;
  {
    std::lock_guard<std::mutex> g(mu);
    changed = bad != skew_bad;
    skew_bad = bad;
  }
  if (!changed) return;
  RunEvent e = event(RunEventKind::clock_skew);
  e.duration = skew;
  e.message = bad ? "clock skew " + detail::format_duration(skew) + " with the store exceeds max_clock_skew (" +
                        detail::format_duration(settings.max_clock_skew) + "); not ready"
                  : "clock skew " + detail::format_duration(skew) + " with the store is back within max_clock_skew";
  emit(e);
}

void Scheduler::Impl::refresh_nodes() {
  std::vector<std::string> ids;
  for (const NodeLease& l : store.nodes()) {
    if (l.live) ids.push_back(l.node_id);
  }
  std::sort(ids.begin(), ids.end());
  std::lock_guard<std::mutex> g(mu);
  live_nodes = std::move(ids);
}

void Scheduler::Impl::handle_lost() { handle_lost_records(store.mark_lost()); }

void Scheduler::Impl::handle_lost_records(const std::vector<RunRecord>& lost) {
  const auto now = clock.now();
  for (const RunRecord& rec : lost) {
    ++counters.lost;
    RunEvent e = event(RunEventKind::lost);
    e.job = rec.key.job;
    e.scheduled_at = rec.key.scheduled_at;
    e.fence = rec.fence;
    e.attempt = rec.attempt;
    e.message = "run on node " + rec.node + " lost: its node lease expired";
    emit(e);
    detail::Occurrence occ;
    {
      std::lock_guard<std::mutex> g(mu);
      auto slot = names.find(rec.key.job, slots);
      if (!slot || !claiming) continue;
      const auto& def = slots[*slot].def;
      if (def->delivery != Delivery::at_least_once || def->run_on != RunOn::once) continue;
      const auto deadline = def->starting_deadline();
      if (deadline && now - detail::WallTime(rec.key.scheduled_at) > *deadline) continue;
      occ = {def, *slot, slot_incarnation[*slot], rec.key.scheduled_at, false};
    }
    ClaimInFlight in_flight(*this);
    std::optional<RunRecord> won = store.reclaim_lost(rec.key, node_id);
    if (!won) continue;
    ++counters.reclaimed;
    std::shared_ptr<detail::Run> run;
    {
      std::lock_guard<std::mutex> g(mu);
      run = make_run(occ);
      run->key = won->key;
      run->fence = won->fence;
      run->attempt = won->attempt;
      run->store_backed = true;
      run->claim_seq = ++claim_seq;
    }
    RunEvent r = event(RunEventKind::reclaimed, run.get());
    r.message = "re-claimed lost occurrence (attempt " + std::to_string(won->attempt) + ")";
    emit(r);
    std::lock_guard<std::mutex> g(mu);
    enqueue(std::move(run));
    wake_workers();
  }
}

// Compares this node's runs with the store's view of them. A local run the store no longer
// considers active was replaced (overlap: replace claimed by another node) or lost: stop it.
// A store record held by this node id that no local run matches is an orphan of an earlier
// life of this id (a crash, or a run stopped while the store was unreachable): mark it lost,
// since the lease being live again keeps mark_lost() from ever seeing it.
void Scheduler::Impl::check_active_runs() {
  std::uint64_t seq, epoch;
  {
    std::lock_guard<std::mutex> g(mu);
    seq = claim_seq;
    epoch = claim_epoch;
  }
  const auto key_text = [](const OccurrenceKey& k) {
    return k.job + '\n' + std::to_string(k.scheduled_at.time_since_epoch().count()) + '\n' + k.node;
  };
  const std::vector<RunRecord> records = store.active_runs(node_id);
  std::set<std::pair<std::string, std::int64_t>> active;
  for (const RunRecord& r : records) active.emplace(key_text(r.key), r.fence);
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> procs;
  std::vector<RunEvent> events;
  std::vector<StateUpdate> orphans;
  {
    std::lock_guard<std::mutex> g(mu);
    std::set<std::pair<std::string, std::int64_t>> local;
    for (auto& [id, run] : runs) {
      if (!run->store_backed) continue;
      local.emplace(key_text(run->key), run->fence);
      if (run->claim_seq > seq || run->stop_reason != StopReason::none) continue;
      if (active.count({key_text(run->key), run->fence})) continue;
      if (auto p = stop_locked(*run, StopReason::replaced)) procs.push_back(*p);
      ++counters.replaced;
      RunEvent e = event(RunEventKind::replaced, run.get());
      e.message = "no longer active in the store (replaced or lost); stopping it";
      events.push_back(std::move(e));
    }
    if (claims_in_flight == 0 && writes_in_flight == 0 && claim_epoch == epoch) {
      for (const RunRecord& r : records) {
        if (local.count({key_text(r.key), r.fence})) continue;
        orphans.push_back({r.key, r.fence, RunState::lost, std::nullopt, std::nullopt,
                           "lost: node " + node_id + " no longer runs it"});
      }
    }
  }
  terminate_processes(procs);
  for (const RunEvent& e : events) emit(e);
  if (orphans.empty()) return;
  const std::vector<bool> applied = store.update(orphans);
  std::vector<RunRecord> lost;
  for (std::size_t i = 0; i < orphans.size() && i < applied.size(); ++i) {
    if (!applied[i]) continue;
    for (const RunRecord& r : records) {
      if (r.key == orphans[i].key && r.fence == orphans[i].fence) lost.push_back(r);
    }
    lost.back().state = RunState::lost;
  }
  handle_lost_records(lost);
}

void Scheduler::Impl::prune_some() {
  constexpr std::size_t kPerHeartbeat = 64;
  std::vector<std::string> jobs;
  {
    std::lock_guard<std::mutex> g(mu);
    while (!prune_dirty.empty() && jobs.size() < kPerHeartbeat) {
      jobs.push_back(std::move(prune_dirty.extract(prune_dirty.begin()).value()));
    }
  }
  for (const std::string& job : jobs) {
    try {
      store.prune(job, settings.history_keep_last, settings.history_max_age);
    } catch (const std::exception& ex) {
      store_error("prune " + job, ex);
      return;
    }
  }
}

}  // namespace solocron
