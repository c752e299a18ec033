// The Scheduler's public API and its job table.
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::JobDef;
using detail::kNoTime;
using detail::WallTime;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

JobResult ok() { return std::monostate{}; }
JobResult error(std::string message) { return Unexpected{std::move(message)}; }

std::int64_t floor_seconds(WallTime t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

}  // namespace

Scheduler::Impl::Impl(NodeSettings s, Store& st, Clock& c)
    : settings(std::move(s)), store(st), clock(c) {
  node_id = settings.node_id.empty() ? host_name() : settings.node_id;
  writer = std::make_unique<detail::StateWriter>(store, [this] {
    std::lock_guard<std::mutex> g(mu);
    idle_cv.notify_all();
  });
}

JobResult Scheduler::Impl::validate_spec(const JobSpec& spec) const {
  if (auto e = validate_job_name(spec.name)) return error(*e);
  const std::string job = "job \"" + spec.name + "\": ";
  if (spec.schedule.text().empty()) return error(job + "schedule is empty");
  if (const auto* cmd = std::get_if<CommandSpec>(&spec.action)) {
    if (cmd->shell && cmd->shell_command.empty()) return error(job + "shell command is empty");
    if (!cmd->shell && cmd->argv.empty()) return error(job + "command is empty");
  } else if (!std::get<JobCallable>(spec.action)) {
    return error(job + "callable is empty");
  }
  if (spec.timeout && spec.timeout->count() <= 0) return error(job + "timeout must be positive");
  if (spec.kill_grace.count() < 0) return error(job + "kill_grace must not be negative");
  if (spec.starting_deadline && spec.starting_deadline->count() < 0) {
    return error(job + "starting_deadline must not be negative");
  }
  return ok();
}

std::uint32_t Scheduler::Impl::allocate_slot() {
  if (!free_slots.empty()) {
    const std::uint32_t s = free_slots.back();
    free_slots.pop_back();
    return s;
  }
  slots.emplace_back();
  slot_incarnation.push_back(0);
  return static_cast<std::uint32_t>(slots.size() - 1);
}

void Scheduler::Impl::free_slot(std::uint32_t slot) {
  names.erase(slots[slot].def->name, slots);
  const std::uint32_t gen = slots[slot].generation + 1;
  slots[slot] = detail::JobSlot{};
  slots[slot].generation = gen;  // heap entries of the old job stay stale
  ++slot_incarnation[slot];
  free_slots.push_back(slot);
  --live_jobs;
}

// Computes the slot's next fire strictly after max(now, last fired) and queues it.
void Scheduler::Impl::schedule_slot(std::uint32_t slot, WallTime now) {
  detail::JobSlot& s = slots[slot];
  ++s.generation;
  s.next_fire = kNoTime;
  if (s.paused || s.def->schedule.is_reboot()) return;
  const std::int64_t from = std::max(floor_seconds(now), s.last_fired);
  auto next = s.def->schedule.next(std::chrono::sys_seconds(std::chrono::seconds(from)));
  if (!next) return;
  s.next_fire = next->time_since_epoch().count();
  heap.push({s.next_fire, slot, s.generation});
  heap.compact_if_needed(slots, live_jobs);
  if (loop_park.parked) wake_loop();
}

void Scheduler::Impl::wake_loop() {
  loop_park.dirty = true;
  loop_cv.notify_all();
}

JobResult Scheduler::Impl::add_locked(JobSpec spec, WallTime now) {
  if (names.find(spec.name, slots)) return error("job \"" + spec.name + "\" already exists");
  const bool paused = spec.paused;
  auto def = JobDef::from_spec(std::move(spec));
  const std::uint32_t slot = allocate_slot();
  slots[slot].def = std::move(def);
  slots[slot].paused = paused;
  names.insert(slots[slot].def->name, slot, slots);
  ++live_jobs;
  schedule_slot(slot, now);
  return ok();
}

JobResult Scheduler::Impl::update_locked(JobSpec spec, WallTime now, bool* changed) {
  auto slot = names.find(spec.name, slots);
  if (!slot) return error("job \"" + spec.name + "\" does not exist");
  detail::JobSlot& s = slots[*slot];
  const bool paused = spec.paused;
  auto def = JobDef::from_spec(std::move(spec));
  const bool same_timing = def->same_timing(*s.def);
  if (changed) *changed = !def->same_as(*s.def) || paused != s.paused;
  s.def = std::move(def);  // the name index keys on the new def's name (same text)
  const bool was_paused = s.paused;
  s.paused = paused;
  // Keep the queued fire when nothing about timing changed, so an occurrence between the last
  // fire and now is not lost by an update.
  if (!same_timing || was_paused != paused || s.next_fire == kNoTime) schedule_slot(*slot, now);
  return ok();
}

JobInfo Scheduler::Impl::info_of(std::uint32_t slot) const {
  const detail::JobSlot& s = slots[slot];
  JobInfo info{s.def->to_spec(s.paused), s.paused, std::nullopt, std::nullopt, s.active};
  if (s.next_fire != kNoTime) info.next_fire = std::chrono::sys_seconds(std::chrono::seconds(s.next_fire));
  if (s.last_fired != kNoTime) {
    info.last_fired = std::chrono::sys_seconds(std::chrono::seconds(s.last_fired));
  }
  return info;
}

bool Scheduler::Impl::idle_locked(bool runs_too) const {
  const auto now = clock.steady_now();
  const auto thread_idle = [&](const detail::Park& p, bool running_thread) {
    if (!running_thread) return true;
    return p.parked && !p.dirty && p.deadline > now;
  };
  const bool threads_up = phase == Phase::running || phase == Phase::stopping;
  return thread_idle(loop_park, threads_up && loop_thread.joinable()) &&
         thread_idle(lease_park, threads_up && lease_thread.joinable()) &&
         writes_in_flight == 0 && writer->idle() &&
         (runs_too ? ready.empty() && running == 0
                   : ready.empty() || running >= settings.max_concurrent_runs);
}

void Scheduler::Impl::emit(const RunEvent& e) const {
  if (observer) observer->on_event(e);
}

RunEvent Scheduler::Impl::event(RunEventKind kind, const detail::Run* run) const {
  RunEvent e;
  e.kind = kind;
  e.node = node_id;
  if (run) {
    e.job = run->key.job;
    e.scheduled_at = run->key.scheduled_at;
    e.fence = run->fence;
    e.attempt = run->attempt;
    e.started_at = run->started_wall;
  }
  return e;
}

void Scheduler::Impl::store_error(const std::string& what, const std::exception& ex) {
  ++counters.store_errors;
  RunEvent e = event(RunEventKind::store_error);
  e.message = what + ": " + ex.what();
  emit(e);
}

// --- public API ---

Scheduler::Scheduler(NodeSettings settings, Store& store, Clock& clock) {
  if (auto e = validate(settings)) throw std::invalid_argument(*e);
  impl_ = std::make_unique<Impl>(std::move(settings), store, clock);
}

Scheduler::~Scheduler() {
  if (impl_) shutdown(std::chrono::milliseconds(0));
}

void Scheduler::set_observer(SchedulerObserver* observer) {
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->observer = observer;
}

JobResult Scheduler::add(JobSpec spec) {
  if (auto r = impl_->validate_spec(spec); !r) return r;
  const WallTime now = impl_->clock.now();
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->add_locked(std::move(spec), now);
}

JobResult Scheduler::update(JobSpec spec) {
  if (auto r = impl_->validate_spec(spec); !r) return r;
  const WallTime now = impl_->clock.now();
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->update_locked(std::move(spec), now, nullptr);
}

JobResult Scheduler::remove(std::string_view name) {
  std::lock_guard<std::mutex> g(impl_->mu);
  auto slot = impl_->names.find(name, impl_->slots);
  if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
  impl_->free_slot(*slot);
  return ok();
}

JobResult Scheduler::pause(std::string_view name) {
  const WallTime now = impl_->clock.now();
  std::lock_guard<std::mutex> g(impl_->mu);
  auto slot = impl_->names.find(name, impl_->slots);
  if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
  impl_->slots[*slot].paused = true;
  impl_->schedule_slot(*slot, now);
  return ok();
}

JobResult Scheduler::resume(std::string_view name) {
  const WallTime now = impl_->clock.now();
  std::lock_guard<std::mutex> g(impl_->mu);
  auto slot = impl_->names.find(name, impl_->slots);
  if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
  if (!impl_->slots[*slot].paused) return ok();
  impl_->slots[*slot].paused = false;
  impl_->schedule_slot(*slot, now);
  return ok();
}

JobResult Scheduler::run_now(std::string_view name) {
  const WallTime now = impl_->clock.now();
  detail::Occurrence occ;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    if (impl_->phase != Impl::Phase::running) return error("the scheduler is not running");
    auto slot = impl_->names.find(name, impl_->slots);
    if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
    occ = {impl_->slots[*slot].def, *slot, impl_->slot_incarnation[*slot],
           std::chrono::floor<std::chrono::seconds>(now), false};
  }
  impl_->process_occurrences({std::move(occ)}, now);
  return ok();
}

std::optional<JobInfo> Scheduler::find(std::string_view name) const {
  std::lock_guard<std::mutex> g(impl_->mu);
  auto slot = impl_->names.find(name, impl_->slots);
  if (!slot) return std::nullopt;
  return impl_->info_of(*slot);
}

std::vector<JobInfo> Scheduler::list() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  std::vector<JobInfo> out;
  out.reserve(impl_->live_jobs);
  for (std::uint32_t i = 0; i < impl_->slots.size(); ++i) {
    if (impl_->slots[i].def) out.push_back(impl_->info_of(i));
  }
  std::sort(out.begin(), out.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.spec.name < b.spec.name; });
  return out;
}

ApplyResult Scheduler::apply(std::vector<JobSpec> jobs) {
  ApplyResult result;
  std::set<std::string> wanted;
  std::vector<JobSpec> valid;
  for (auto& spec : jobs) {
    if (auto r = impl_->validate_spec(spec); !r) {
      result.errors.emplace_back(spec.name, r.error());
      wanted.insert(spec.name);  // an invalid new definition keeps the old job
      continue;
    }
    if (!wanted.insert(spec.name).second) {
      result.errors.emplace_back(spec.name, "job \"" + spec.name + "\" is defined twice");
      continue;
    }
    valid.push_back(std::move(spec));
  }
  const WallTime now = impl_->clock.now();
  std::lock_guard<std::mutex> g(impl_->mu);
  for (std::uint32_t i = 0; i < impl_->slots.size(); ++i) {
    if (impl_->slots[i].def && !wanted.count(impl_->slots[i].def->name)) {
      result.removed.push_back(impl_->slots[i].def->name);
      impl_->free_slot(i);
    }
  }
  for (auto& spec : valid) {
    std::string name = spec.name;
    if (impl_->names.find(name, impl_->slots)) {
      bool changed = false;
      impl_->update_locked(std::move(spec), now, &changed);
      if (changed) result.changed.push_back(name);
    } else {
      impl_->add_locked(std::move(spec), now);
      result.added.push_back(name);
    }
  }
  return result;
}

bool Scheduler::ready() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->phase == Impl::Phase::running && impl_->lease_held && impl_->store_ok &&
         !impl_->skew_bad && !impl_->fatal;
}

std::string Scheduler::status() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  const Impl& i = *impl_;
  if (i.fatal) return *i.fatal;
  if (i.phase == Impl::Phase::created) return "not started";
  if (i.phase != Impl::Phase::running) return "shutting down";
  if (!i.store_ok) return "store unreachable (" + i.store.describe() + ")";
  if (!i.lease_held) return "node lease not held";
  if (i.skew_bad) return "clock skew with the store exceeds max_clock_skew";
  return "ready";
}

std::optional<std::string> Scheduler::fatal_error() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->fatal;
}

Statistics Scheduler::statistics() const {
  const detail::Counters& c = impl_->counters;
  Statistics s;
  s.fired = c.fired;
  s.claims_won = c.claims_won;
  s.claims_taken = c.claims_taken;
  s.started = c.started;
  s.succeeded = c.succeeded;
  s.failed = c.failed;
  s.timed_out = c.timed_out;
  s.interrupted = c.interrupted;
  s.lost = c.lost;
  s.reclaimed = c.reclaimed;
  s.missed = c.missed;
  s.skipped_overlap = c.skipped_overlap;
  s.replaced = c.replaced;
  s.too_early = c.too_early;
  s.not_claimed = c.not_claimed;
  s.stale_writes = c.stale_writes;
  s.store_errors = c.store_errors;
  s.clock_steps = c.clock_steps;
  s.lease_lost = c.lease_lost;
  std::lock_guard<std::mutex> g(impl_->mu);
  s.running = impl_->running;
  s.queued = impl_->ready.size();
  return s;
}

const std::string& Scheduler::node_id() const { return impl_->node_id; }
const NodeSettings& Scheduler::settings() const { return impl_->settings; }

bool Scheduler::wait_idle(std::chrono::milliseconds real_timeout, bool runs_too) const {
  std::unique_lock<std::mutex> lk(impl_->mu);
  const auto deadline = std::chrono::steady_clock::now() + real_timeout;
  while (!impl_->idle_locked(runs_too)) {
    if (impl_->idle_cv.wait_until(lk, deadline) == std::cv_status::timeout) {
      return impl_->idle_locked(runs_too);
    }
  }
  return true;
}

std::string_view to_string(RunEventKind kind) {
  static constexpr std::string_view kNames[] = {
      "claimed", "claim_taken", "started", "output", "finished", "missed", "skipped_overlap",
      "replaced", "lost", "reclaimed", "too_early", "not_claimed", "stale_write", "store_error",
      "clock_step", "clock_skew", "lease_acquired", "lease_lost", "lease_waiting", "fatal",
      "catch_up"};
  return kNames[static_cast<std::size_t>(kind)];
}

}  // namespace solocron
