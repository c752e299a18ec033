#include "scheduler/run_registry.hpp"

#include <algorithm>

namespace solocron::detail {

namespace {
// The workers and the timer take the lock once or twice per run and hold it well under a
// microsecond; std::mutex puts a waiter to sleep at once, and the futex round trip (several
// microseconds, two context switches) then costs more than the wait it replaced: in a burst of
// 10,000 local runs half the node's CPU time sat idle so. These hot paths spin briefly first.
std::unique_lock<std::mutex> lock_briefly(std::mutex& mu) {
  for (int i = 0; i < 64; ++i) {
    if (mu.try_lock()) return std::unique_lock<std::mutex>(mu, std::adopt_lock);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return std::unique_lock<std::mutex>(mu);
}

}  // namespace

// Changes that others wait for (a slot freed, a run gone) are announced after the lock is
// released: the listener (the claimer) takes its own lock, never the other way round.
class Notify {
 public:
  explicit Notify(const std::function<void()>& fn) : fn_(fn) {}
  void arm() { armed_ = true; }
  ~Notify() {
    if (armed_ && fn_) fn_();
  }

 private:
  const std::function<void()>& fn_;
  bool armed_ = false;
};

std::size_t RunRegistry::reserve(std::size_t n) {
  std::lock_guard g(mu_);
  const std::size_t k = std::min(n, capacity_ - std::min(capacity_, held_));
  held_ += k;
  reserved_ += k;
  return k;
}

RunPtr RunRegistry::link_new_locked(std::shared_ptr<const JobDef> def, OccurrenceKey key,
                                    bool store_backed, RunPtr* spare) {
  RunPtr run = spare && *spare ? std::move(*spare) : std::make_shared<Run>();
  run->id = next_id_++;
  run->def = std::move(def);
  run->key = std::move(key);
  run->store_backed = store_backed;
  run->next = std::move(head_);
  if (run->next) run->next->prev = run.get();
  head_ = run;
  return run;
}

RunPtr RunRegistry::make_locked(std::shared_ptr<const JobDef> def, OccurrenceKey key,
                                bool store_backed) {
  RunPtr run = link_new_locked(std::move(def), std::move(key), store_backed);
  ++count_;
  ++run->def->activity->active;
  return run;
}

const RunPtr& RunRegistry::made_locked(LocalQueued& q, RunPtr* spare) {
  if (!q.run) {
    OccurrenceKey key{q.def->name, q.at, {}};
    q.run = link_new_locked(std::move(q.def), std::move(key), false, spare);
    --unmade_;
  }
  return q.run;
}

RunPtr RunRegistry::add_claiming(std::shared_ptr<const JobDef> def, OccurrenceKey key,
                                 int attempt, Trigger trigger) {
  std::lock_guard g(mu_);
  auto run = make_locked(std::move(def), std::move(key), true);
  run->attempt = attempt;
  run->trigger = trigger;
  run->phase = RunPhase::claiming;
  run->holds_slot = true;
  if (reserved_ > 0) {
    --reserved_;
  } else {
    ++held_;  // a caller that did not reserve (reclaims are few): over capacity by one at most
  }
  return run;
}

void RunRegistry::claimed(Run& run, std::int64_t fence, std::int64_t lease_token) {
  std::lock_guard g(mu_);
  run.fence = fence;
  run.lease_token = lease_token;
  run.phase = RunPhase::marking;
}

bool RunRegistry::mark_stored(const RunPtr& run) {
  std::lock_guard g(mu_);
  if (stopping_) return false;
  run->marked_seq = ++seq_;
  run->phase = RunPhase::queued;
  ready_.push_back(run);
  work_cv_.notify_one();
  return true;
}

void RunRegistry::abandon(const Run& run) {
  Notify n(on_change_);
  std::lock_guard g(mu_);
  erase_locked(run);
  n.arm();
}

void RunRegistry::erase_locked(const Run& run) {
  Run& r = const_cast<Run&>(run);  // the registry's own links; the caller's view stays const
  if (!r.prev && head_.get() != &r) return;  // not (or no longer) listed
  if (r.holds_slot) {
    r.holds_slot = false;
    --held_;
  }
  --r.def->activity->active;
  RunPtr self = r.prev ? std::move(r.prev->next) : std::move(head_);
  if (r.next) r.next->prev = r.prev;
  (r.prev ? r.prev->next : head_) = std::move(r.next);
  r.prev = nullptr;
  --count_;
  if (slot_waiters_ > 0) runs_cv_.notify_all();
}

RunRegistry::LocalResult RunRegistry::add_local(std::vector<Occurrence> occs) {
  LocalResult out;
  const auto g = lock_briefly(mu_);
  if (stopping_) return out;
  for (Occurrence& o : occs) {
    if (o.def->activity->active > 0) {
      if (o.def->overlap == OverlapMode::forbid) {
        out.skipped.push_back({o.def->name, o.at, {}});
        continue;
      }
      if (o.def->overlap == OverlapMode::replace) replace_locked(*o.def, out.replaced);
    }
    ++o.def->activity->active;
    local_.push_back({std::move(o.def), o.at, nullptr});
    ++unmade_;
    ++count_;
  }
  // One wake-up per batch: a burst is started by the workers already awake.
  if (idle_workers_ > 0) work_cv_.notify_all();
  return out;
}

// The job's local runs, started or queued, are stopped for a newer occurrence.
void RunRegistry::replace_locked(const JobDef& def, std::vector<RunPtr>& replaced) {
  for (LocalQueued& q : local_) {
    if (q.def ? q.def->activity == def.activity : q.run->def->activity == def.activity) made_locked(q);
  }
  for (Run* r = head_.get(); r; r = r->next.get()) {
    if (r->def->activity == def.activity && !r->store_backed && r->stop_reason == StopReason::none) {
      r->stop_reason = StopReason::replaced;
      replaced.push_back(r->prev ? r->prev->next : head_);
    }
  }
}

RunPtr RunRegistry::next_to_start(Clock& clock, RunPtr* spare) {
  std::unique_lock lk = lock_briefly(mu_);
  ++idle_workers_;
  work_cv_.wait(lk, [&] {
    return !ready_.empty() || (!local_.empty() && held_ < capacity_) || stopping_;
  });
  --idle_workers_;
  RunPtr run;
  if (!ready_.empty()) {
    run = std::move(ready_.front());
    ready_.pop_front();
  } else if (!local_.empty() && held_ < capacity_) {
    run = made_locked(local_.front(), spare);
    local_.pop_front();
    run->holds_slot = true;
    ++held_;
  } else {
    return nullptr;  // stopping, nothing left to start
  }
  run->phase = RunPhase::running;
  if (run->stop_reason == StopReason::none) {
    run->started = true;
    run->started_wall = clock.now();
    run->started_steady = clock.steady_now();
  }
  return run;
}

std::size_t RunRegistry::startable() const {
  std::lock_guard g(mu_);
  const std::size_t free = capacity_ - std::min(capacity_, held_);
  return ready_.size() + std::min(local_.size(), free);
}

std::size_t RunRegistry::idle_workers() const {
  std::lock_guard g(mu_);
  return idle_workers_;
}

void RunRegistry::action_ended(Run& run) {
  Notify n(on_change_);
  const auto g = lock_briefly(mu_);
  if (!run.store_backed) {
    erase_locked(run);
  } else {
    run.phase = RunPhase::finishing;
    if (run.holds_slot) {
      run.holds_slot = false;
      --held_;
      if (slot_waiters_ > 0) runs_cv_.notify_all();
    }
  }
  // A slot freed: a queued local run may start.
  if (!local_.empty() && idle_workers_ > 0) work_cv_.notify_one();
  n.arm();
}

void RunRegistry::remove(const Run& run) {
  Notify n(on_change_);
  std::lock_guard g(mu_);
  erase_locked(run);
  n.arm();
}

void RunRegistry::set_process(Run& run, std::uint64_t process_id, bool* stop_now) {
  std::lock_guard g(mu_);
  run.process = process_id;
  *stop_now = run.stop_reason != StopReason::none;
}

std::vector<RunPtr> RunRegistry::stop_if(const std::function<bool(const Run&)>& pred,
                                         StopReason reason) {
  std::vector<RunPtr> out;
  std::lock_guard g(mu_);
  for (Run* run = head_.get(); run; run = run->next.get()) {
    if (run->phase == RunPhase::finishing || run->stop_reason != StopReason::none || !pred(*run)) {
      continue;
    }
    run->stop_reason = reason;
    out.push_back(run->prev ? run->prev->next : head_);
  }
  return out;
}

std::vector<RunPtr> RunRegistry::drain_queued(StopReason reason) {
  std::vector<RunPtr> out;
  {
    std::lock_guard g(mu_);
    stopping_ = true;
    for (LocalQueued& q : local_) ready_.push_back(made_locked(q));
    local_.clear();
    for (auto& run : ready_) {
      if (run->stop_reason == StopReason::none) run->stop_reason = reason;
      out.push_back(run);
    }
    ready_.clear();
    work_cv_.notify_all();
  }
  return out;
}

StopReason RunRegistry::stop_reason(const Run& run) const {
  return run.stop_reason.load(std::memory_order_acquire);
}

std::vector<RunPtr> RunRegistry::marked_before(std::uint64_t seq) const {
  std::vector<RunPtr> out;
  std::lock_guard g(mu_);
  for (Run* run = head_.get(); run; run = run->next.get()) {
    if (run->store_backed && run->marked_seq != 0 && run->marked_seq <= seq &&
        run->phase == RunPhase::running) {
      out.push_back(run->prev ? run->prev->next : head_);
    }
  }
  return out;
}

std::uint64_t RunRegistry::sequence() const {
  std::lock_guard g(mu_);
  return seq_;
}

bool RunRegistry::holds(std::int64_t fence) const {
  std::lock_guard g(mu_);
  for (Run* run = head_.get(); run; run = run->next.get()) {
    if (run->store_backed && run->fence == fence) return true;
  }
  return false;
}

std::size_t RunRegistry::active_of(const JobDef& def) const {
  std::lock_guard g(mu_);
  return def.activity->active;
}

std::size_t RunRegistry::running() const {
  std::lock_guard g(mu_);
  return held_ - reserved_;
}

std::size_t RunRegistry::queued() const {
  std::lock_guard g(mu_);
  return local_.size() + ready_.size();
}

std::size_t RunRegistry::size() const {
  std::lock_guard g(mu_);
  return count_;
}

std::size_t RunRegistry::unfinished() const {
  std::lock_guard g(mu_);
  std::size_t n = 0;
  for (Run* run = head_.get(); run; run = run->next.get()) n += run->phase != RunPhase::finishing;
  return n + unmade_;
}

std::size_t RunRegistry::free_slots() const {
  std::lock_guard g(mu_);
  return capacity_ - std::min(capacity_, held_);
}

void RunRegistry::stop_workers() {
  std::lock_guard g(mu_);
  stopping_ = true;
  work_cv_.notify_all();
}

bool RunRegistry::wait_no_runs(Clock& clock, Clock::steady_time deadline) {
  std::unique_lock lk(mu_);
  ++slot_waiters_;
  while (held_ > reserved_ && clock.steady_now() < deadline) {
    clock.wait_until(runs_cv_, lk, deadline);
  }
  --slot_waiters_;
  return held_ <= reserved_;
}

}  // namespace solocron::detail
