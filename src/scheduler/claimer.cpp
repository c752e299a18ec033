// Claiming: every start of a once/every_node run is preceded by a successful Store::claim.
// Occurrences due at the same instant are claimed in one batch; `once` runs are staggered by
// their rendezvous rank among the live nodes so the node with the fastest clock does not win
// everything, while a dead preferred node costs at most 250 ms.
#include <algorithm>
#include <map>

#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using namespace std::chrono_literals;
using detail::Occurrence;

namespace detail {

namespace {
std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// FNV-1a: stable across builds and hosts, unlike std::hash, so every node ranks alike.
std::uint64_t fnv(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
std::uint64_t score(std::uint64_t occurrence_hash, std::string_view node) {
  return mix(occurrence_hash ^ fnv(node));
}
}  // namespace

std::size_t rendezvous_rank(std::string_view job, sys_seconds at, std::string_view node,
                            const std::vector<std::string>& nodes) {
  const std::uint64_t occ = mix(fnv(job) ^ mix(static_cast<std::uint64_t>(at.time_since_epoch().count())));
  const std::uint64_t mine = score(occ, node);
  std::size_t rank = 0;
  for (const std::string& n : nodes) {
    if (n == node) continue;
    const std::uint64_t s = score(occ, n);
    if (s > mine || (s == mine && n < node)) ++rank;
  }
  return rank;
}

}  // namespace detail

namespace {
constexpr auto kRankDelay = 50ms;
constexpr auto kMaxRankDelay = 250ms;
}  // namespace

void Scheduler::Impl::claim_and_dispatch(std::vector<Occurrence> occs) {
  std::map<std::chrono::milliseconds, std::vector<Occurrence>> by_delay;
  {
    std::lock_guard<std::mutex> g(mu);
    for (Occurrence& o : occs) {
      std::chrono::milliseconds delay{0};
      if (o.def->run_on == RunOn::once && live_nodes.size() > 1) {
        const std::size_t rank = detail::rendezvous_rank(o.def->name, o.at, node_id, live_nodes);
        delay = std::min<std::chrono::milliseconds>(kRankDelay * static_cast<int>(rank), kMaxRankDelay);
      }
      by_delay[delay].push_back(std::move(o));
    }
    const auto now = clock.steady_now();
    for (auto& [delay, batch] : by_delay) {
      if (delay.count() == 0) continue;
      add_task(now + delay, [this, b = std::move(batch)]() mutable { claim_batch(std::move(b)); });
    }
  }
  // Claimed in chunks so the first runs start while the rest are still being claimed.
  constexpr std::size_t kChunk = 256;
  auto it = by_delay.find(0ms);
  if (it == by_delay.end()) return;
  std::vector<Occurrence>& all = it->second;
  for (std::size_t i = 0; i < all.size(); i += kChunk) {
    const std::size_t end = std::min(all.size(), i + kChunk);
    claim_batch(std::vector<Occurrence>(std::make_move_iterator(all.begin() + i),
                                        std::make_move_iterator(all.begin() + end)));
  }
}

void Scheduler::Impl::claim_batch(std::vector<Occurrence> occs) {
  std::vector<ClaimRequest> requests;
  std::string refused;
  {
    std::lock_guard<std::mutex> g(mu);
    if (!claiming) {
      refused = fatal ? *fatal : (phase != Phase::running ? "shutting down" : "node lease not held");
    }
  }
  if (!refused.empty()) {
    // Cluster contract section 10: without a lease this node runs no once/every_node job.
    counters.not_claimed += occs.size();
    for (const Occurrence& o : occs) {
      RunEvent e = event(RunEventKind::not_claimed);
      e.job = o.def->name;
      e.scheduled_at = o.at;
      e.message = refused;
      emit(e);
    }
    return;
  }
  requests.reserve(occs.size());
  for (const Occurrence& o : occs) {
    ClaimRequest r;
    r.key = {o.def->name, o.at, o.def->run_on == RunOn::every_node ? node_id : std::string()};
    r.node_id = node_id;
    r.overlap = o.def->overlap;
    r.max_clock_skew = settings.max_clock_skew;
    requests.push_back(std::move(r));
  }
  std::vector<ClaimResult> results;
  ClaimInFlight in_flight(*this);
  try {
    results = store.claim(requests);
  } catch (const std::exception& ex) {
    store_error("claim of " + std::to_string(requests.size()) + " occurrence(s)", ex);
    counters.not_claimed += occs.size();
    // Run or recorded (per misfire policy) once the store answers again.
    retry_later(std::move(occs));
    return;
  }
  std::vector<RunEvent> events;
  std::vector<std::size_t> won;
  std::vector<OccurrenceKey> replaced;
  const auto steady = clock.steady_now();
  for (std::size_t i = 0; i < results.size() && i < occs.size(); ++i) {
    const ClaimResult& r = results[i];
    RunEvent e = event(RunEventKind::claimed);
    e.job = occs[i].def->name;
    e.scheduled_at = occs[i].at;
    switch (r.outcome) {
      case ClaimResult::Outcome::won:
        ++counters.claims_won;
        e.fence = r.fence;
        won.push_back(i);
        replaced.insert(replaced.end(), r.replaced.begin(), r.replaced.end());
        break;
      case ClaimResult::Outcome::taken:
        ++counters.claims_taken;
        e.kind = RunEventKind::claim_taken;
        break;
      case ClaimResult::Outcome::overlap_skipped:
        ++counters.skipped_overlap;
        e.kind = RunEventKind::skipped_overlap;
        break;
      case ClaimResult::Outcome::too_early: {
        ++counters.too_early;
        e.kind = RunEventKind::too_early;
        // Retry when the store's clock reaches the scheduled instant; never run early.
        const auto wait = std::max<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(StoreTime(occs[i].at) - r.store_now),
            0ms) + 1ms;
        e.message = "this node's clock is ahead of the store's; retrying in " +
                    std::to_string(wait.count()) + "ms";
        std::lock_guard<std::mutex> g(mu);
        add_task(steady + wait, [this, o = occs[i]]() mutable { claim_batch({std::move(o)}); });
        break;
      }
    }
    events.push_back(std::move(e));
  }
  for (const RunEvent& e : events) emit(e);

  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> procs;
  std::vector<RunEvent> replaced_events;
  std::vector<std::shared_ptr<detail::Run>> not_started;
  {
    std::lock_guard<std::mutex> g(mu);
    for (const OccurrenceKey& k : replaced) {
      for (auto& [id, run] : runs) {
        if (!run->store_backed || !(run->key == k) || run->stop_reason != detail::StopReason::none) {
          continue;
        }
        if (auto p = stop_locked(*run, detail::StopReason::replaced)) procs.push_back(*p);
        ++counters.replaced;
        replaced_events.push_back(event(RunEventKind::replaced, run.get()));
      }
    }
    for (std::size_t i : won) {
      auto run = make_run(occs[i]);
      run->key = requests[i].key;
      run->fence = results[i].fence;
      run->store_backed = true;
      run->claim_seq = ++claim_seq;
      if (!claiming) {
        // Shutdown began or the lease was lost while the claim was in flight: do not start.
        run->stop_reason = phase == Phase::running ? detail::StopReason::fenced
                                                   : detail::StopReason::shutdown;
        not_started.push_back(std::move(run));
        continue;
      }
      enqueue(std::move(run));
    }
    if (!won.empty()) wake_workers();
  }
  for (auto& run : not_started) {
    finish(run, RunState::interrupted, std::nullopt, std::nullopt, "not started: claiming stopped");
  }
  terminate_processes(procs);
  for (const RunEvent& e : replaced_events) emit(e);
}

void Scheduler::Impl::record_missed(const std::vector<Occurrence>& occs, const std::string& why) {
  std::vector<OccurrenceKey> keys;
  for (const Occurrence& o : occs) {
    if (o.def->store_backed()) {
      keys.push_back({o.def->name, o.at, o.def->run_on == RunOn::every_node ? node_id : std::string()});
    }
  }
  // A node whose wall clock is ahead of the store's must not write `missed` for occurrences that
  // another node may still claim: `missed` blocks claims. Only an instant more than
  // max_clock_skew behind the store's clock is past claiming by any node whose clock is within
  // bounds; later ones are recorded when the store's clock gets there (insert-if-absent: a run
  // by another node wins).
  std::vector<Occurrence> ahead;
  if (!keys.empty()) {
    try {
      const StoreTime limit = store.now() - settings.max_clock_skew;
      std::vector<OccurrenceKey> now_keys;
      std::size_t k = 0;
      for (const Occurrence& o : occs) {
        if (!o.def->store_backed()) continue;
        if (StoreTime(keys[k].scheduled_at) > limit) {
          ahead.push_back(o);
        } else {
          now_keys.push_back(std::move(keys[k]));
        }
        ++k;
      }
      keys = std::move(now_keys);
      if (!ahead.empty()) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                              StoreTime(ahead.back().at) - limit) + 1ms;
        std::lock_guard<std::mutex> g(mu);
        add_task(clock.steady_now() + wait,
                 [this, a = ahead, why] { record_missed(a, why); });
      }
    } catch (const std::exception& ex) {
      store_error("record_missed", ex);
      keys.clear();
      retry_later(occs);
      return;
    }
  }
  constexpr std::size_t kChunk = 1000;
  for (std::size_t i = 0; i < keys.size(); i += kChunk) {
    const std::size_t n = std::min(kChunk, keys.size() - i);
    try {
      store.record_missed(std::span<const OccurrenceKey>(keys.data() + i, n));
    } catch (const std::exception& ex) {
      store_error("record_missed", ex);
      retry_later(occs);
      return;
    }
  }
  std::size_t reported = 0;
  for (const Occurrence& o : occs) {
    if (std::any_of(ahead.begin(), ahead.end(),
                    [&](const Occurrence& a) { return a.def == o.def && a.at == o.at; })) {
      continue;  // reported when recorded
    }
    ++reported;
    RunEvent e = event(RunEventKind::missed);
    e.job = o.def->name;
    e.scheduled_at = o.at;
    e.message = why;
    emit(e);
  }
  counters.missed += reported;
  std::lock_guard<std::mutex> g(mu);
  for (const Occurrence& o : occs) {
    if (o.def->store_backed()) prune_dirty.insert(o.def->name);
  }
}

void Scheduler::Impl::retry_later(std::vector<Occurrence> occs) {
  constexpr std::size_t kMaxRetained = 10000;
  std::lock_guard<std::mutex> g(mu);
  for (Occurrence& o : occs) {
    if (retry.size() >= kMaxRetained) {
      catch_up_pending = true;  // too many to keep: walk every job's history instead
      break;
    }
    o.misfired = true;
    retry.push_back(std::move(o));
  }
}

// run_on: local (and @reboot): no store; overlap is decided against this node's own runs.
void Scheduler::Impl::start_local(std::vector<Occurrence> occs) {
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> procs;
  std::vector<RunEvent> events;
  // In chunks, so workers can take the first runs while the rest are being queued.
  constexpr std::size_t kChunk = 64;
  for (std::size_t first = 0; first < occs.size(); first += kChunk) {
    std::lock_guard<std::mutex> g(mu);
    if (!firing) break;  // shutting down: local runs stop starting at once too
    for (std::size_t i = first; i < std::min(occs.size(), first + kChunk); ++i) {
      Occurrence& o = occs[i];
      const bool slot_alive = o.slot < slots.size() && slot_incarnation[o.slot] == o.incarnation &&
                              slots[o.slot].def;
      const std::uint32_t active = slot_alive ? slots[o.slot].active : 0;
      if (active > 0 && o.def->overlap == OverlapMode::forbid) {
        ++counters.skipped_overlap;
        RunEvent e = event(RunEventKind::skipped_overlap);
        e.job = o.def->name;
        e.scheduled_at = o.at;
        events.push_back(std::move(e));
        continue;
      }
      if (active > 0 && o.def->overlap == OverlapMode::replace) {
        for (auto& [id, run] : runs) {
          if (run->slot != o.slot || run->incarnation != o.incarnation ||
              run->stop_reason != detail::StopReason::none) {
            continue;
          }
          if (auto p = stop_locked(*run, detail::StopReason::replaced)) procs.push_back(*p);
          ++counters.replaced;
          events.push_back(event(RunEventKind::replaced, run.get()));
        }
      }
      auto run = make_run(o);
      run->key = {o.def->name, o.at, o.def->run_on == RunOn::every_node ? node_id : std::string()};
      enqueue(std::move(run));
    }
    wake_workers();
  }
  terminate_processes(procs);
  for (const RunEvent& e : events) emit(e);
}

}  // namespace solocron
