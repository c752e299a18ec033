// JobTable: adding, changing and removing jobs, and taking their due occurrences.
#include <algorithm>

#include "scheduler/job_table.hpp"

namespace solocron::detail {

namespace {

JobResult ok() { return std::monostate{}; }
JobResult error(std::string message) { return Unexpected{std::move(message)}; }

std::chrono::sys_seconds at_seconds(std::int64_t s) {
  return std::chrono::sys_seconds(std::chrono::seconds(s));
}
std::int64_t seconds_of(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

// Upper bound of occurrences collected per job in one wake: a long forward step on an
// every-second job must not build an unbounded list (catch-up records the rest).
constexpr std::size_t kMaxOccurrencesPerWake = 10000;

}  // namespace

std::uint32_t JobTable::allocate_locked() {
  if (!free_slots_.empty()) {
    const std::uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    return s;
  }
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void JobTable::free_locked(std::uint32_t slot) {
  names_.erase(slots_[slot].def->name, slots_);
  const std::uint32_t gen = slots_[slot].generation + 1;
  slots_[slot] = JobSlot{};
  slots_[slot].generation = gen;  // heap entries of the old job stay stale
  free_slots_.push_back(slot);
  --live_;
}

// Computes the slot's next fire strictly after max(now, last fired) and queues it.
void JobTable::schedule_locked(std::uint32_t slot, std::int64_t now_s) {
  JobSlot& s = slots_[slot];
  ++s.generation;
  s.next_fire = kNoTime;
  if (s.paused || s.def->schedule.is_reboot()) return;
  auto next = s.def->schedule.next(at_seconds(std::max(now_s, s.last_fired)));
  if (!next) return;
  s.next_fire = seconds_of(*next);
  heap_.push({s.next_fire, slot, s.generation});
  heap_.compact_if_needed(slots_, live_);
}

JobResult JobTable::add_locked(JobSpec spec, std::int64_t now_s) {
  if (names_.find(spec.name, slots_)) return error("job \"" + spec.name + "\" already exists");
  const bool paused = spec.paused;
  auto def = JobDef::from_spec(std::move(spec));
  const std::uint32_t slot = allocate_locked();
  slots_[slot].def = std::move(def);
  slots_[slot].paused = paused;
  slots_[slot].configured_paused = paused;
  names_.insert(slots_[slot].def->name, slot, slots_);
  ++live_;
  schedule_locked(slot, now_s);
  return ok();
}

JobResult JobTable::update_locked(JobSpec spec, std::int64_t now_s, bool* changed) {
  auto slot = names_.find(spec.name, slots_);
  if (!slot) return error("job \"" + spec.name + "\" does not exist");
  JobSlot& s = slots_[*slot];
  s.configured_paused = spec.paused;
  const bool paused = s.store_controlled ? s.paused : spec.paused;
  auto def = JobDef::from_spec(std::move(spec), s.def->activity);
  const bool same_timing = def->same_timing(*s.def);
  if (changed) *changed = !def->same_as(*s.def) || paused != s.paused;
  s.def = std::move(def);  // the name index keys on the new def's name (same text)
  const bool was_paused = s.paused;
  s.paused = paused;
  // Keep the queued fire when nothing about timing changed, so an occurrence between the last
  // fire and now is not lost by an update.
  if (!same_timing || was_paused != paused || s.next_fire == kNoTime) schedule_locked(*slot, now_s);
  return ok();
}

JobResult JobTable::add(JobSpec spec, std::int64_t now_s) {
  std::lock_guard g(mu_);
  return add_locked(std::move(spec), now_s);
}

JobResult JobTable::update(JobSpec spec, std::int64_t now_s, bool* changed) {
  std::lock_guard g(mu_);
  return update_locked(std::move(spec), now_s, changed);
}

JobResult JobTable::remove(std::string_view name) {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
  free_locked(*slot);
  return ok();
}

bool JobTable::apply_control(std::string_view name, bool paused, std::int64_t from_s) {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  if (!slot) return false;
  JobSlot& s = slots_[*slot];
  s.store_controlled = true;
  if (s.paused == paused) return false;
  s.paused = paused;
  schedule_locked(*slot, from_s);
  return true;
}

std::vector<std::string> JobTable::configured_paused() const {
  std::lock_guard g(mu_);
  std::vector<std::string> out;
  for (const JobSlot& s : slots_) {
    if (s.def && s.configured_paused && !s.store_controlled) out.push_back(s.def->name);
  }
  return out;
}

JobResult JobTable::set_paused(std::string_view name, bool paused, std::int64_t now_s) {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  if (!slot) return error("job \"" + std::string(name) + "\" does not exist");
  if (slots_[*slot].paused == paused) return ok();
  slots_[*slot].paused = paused;
  schedule_locked(*slot, now_s);
  return ok();
}

void JobTable::apply(std::vector<JobSpec> valid, const std::set<std::string>& keep,
                     std::int64_t now_s, ApplyResult& result) {
  std::lock_guard g(mu_);
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].def && !keep.count(slots_[i].def->name)) {
      result.removed.push_back(slots_[i].def->name);
      free_locked(i);
    }
  }
  for (auto& spec : valid) {
    std::string name = spec.name;
    if (names_.find(name, slots_)) {
      bool changed = false;
      update_locked(std::move(spec), now_s, &changed);
      if (changed) result.changed.push_back(name);
    } else {
      add_locked(std::move(spec), now_s);
      result.added.push_back(name);
    }
  }
}

JobInfo JobTable::info_locked(std::uint32_t slot) const {
  const JobSlot& s = slots_[slot];
  JobInfo info{s.def->to_spec(s.paused), s.paused, std::nullopt, std::nullopt, 0};
  if (s.next_fire != kNoTime) info.next_fire = at_seconds(s.next_fire);
  if (s.last_fired != kNoTime) info.last_fired = at_seconds(s.last_fired);
  return info;
}

std::optional<JobInfo> JobTable::find(std::string_view name) const {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  if (!slot) return std::nullopt;
  return info_locked(*slot);
}

std::vector<JobInfo> JobTable::list() const {
  std::vector<JobInfo> out;
  {
    std::lock_guard g(mu_);
    out.reserve(live_);
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].def) out.push_back(info_locked(i));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const JobInfo& a, const JobInfo& b) { return a.spec.name < b.spec.name; });
  return out;
}

std::shared_ptr<const JobDef> JobTable::def_of(std::string_view name) const {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  return slot ? slots_[*slot].def : nullptr;
}

std::shared_ptr<const JobDef> JobTable::unpaused_def(std::string_view name) const {
  std::lock_guard g(mu_);
  auto slot = names_.find(name, slots_);
  return slot && !slots_[*slot].paused ? slots_[*slot].def : nullptr;
}

std::size_t JobTable::size() const {
  std::lock_guard g(mu_);
  return live_;
}

void JobTable::reschedule_all(std::int64_t now_s) {
  std::lock_guard g(mu_);
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].def) schedule_locked(i, now_s);
  }
}

std::optional<std::int64_t> JobTable::next_fire() const {
  std::lock_guard g(mu_);
  // Stale entries may surface first; they only cause an early wake.
  if (heap_.empty()) return std::nullopt;
  return heap_.top().fire;
}

std::vector<Occurrence> JobTable::pop_due(std::int64_t now_s, std::vector<Popped>& popped,
                                          std::size_t max) {
  std::vector<Occurrence> due;
  std::lock_guard g(mu_);
  due.reserve(std::min(max, heap_.size()));  // under the lock: an add() may be growing the heap
  while (!heap_.empty() && heap_.top().fire <= now_s && due.size() < max) {
    const HeapEntry h = heap_.pop();
    JobSlot& s = slots_[h.slot];
    if (!s.def || s.generation != h.generation || s.next_fire != h.fire) continue;
    if (h.fire > s.last_fired) {
      due.push_back({s.def, at_seconds(h.fire), false});
      s.last_fired = h.fire;
    }
    popped.push_back({h.slot, h.generation, h.fire, s.def});
  }
  return due;
}

std::vector<Occurrence> JobTable::requeue(const std::vector<Popped>& popped, std::int64_t now_s) {
  struct Next {
    std::vector<std::int64_t> due;
    std::int64_t next = kNoTime;
  };
  std::vector<Next> nexts(popped.size());
  for (std::size_t i = 0; i < popped.size(); ++i) {
    const JobDef& def = *popped[i].def;
    auto next = def.schedule.next(at_seconds(popped[i].fire));
    std::int64_t f = next ? seconds_of(*next) : kNoTime;
    while (f != kNoTime && f <= now_s) {
      if (nexts[i].due.size() < kMaxOccurrencesPerWake) nexts[i].due.push_back(f);
      next = def.schedule.next(at_seconds(f));
      f = next ? seconds_of(*next) : kNoTime;
    }
    nexts[i].next = f;
  }
  std::vector<Occurrence> extra;
  std::lock_guard g(mu_);
  for (std::size_t i = 0; i < popped.size(); ++i) {
    const Popped& p = popped[i];
    JobSlot& s = slots_[p.slot];
    // A job changed meanwhile was requeued by that change already.
    if (!s.def || s.generation != p.generation || s.next_fire != p.fire) continue;
    for (std::int64_t f : nexts[i].due) {
      if (f <= s.last_fired) continue;
      extra.push_back({s.def, at_seconds(f), false});
      s.last_fired = f;
    }
    s.next_fire = nexts[i].next;
    ++s.generation;
    if (s.next_fire != kNoTime) heap_.push({s.next_fire, p.slot, s.generation});
  }
  return extra;
}

std::vector<JobTable::Queued> JobTable::store_backed() const {
  std::vector<Queued> out;
  std::lock_guard g(mu_);
  for (const JobSlot& s : slots_) {
    if (s.def && s.def->store_backed() && !s.paused) out.push_back({s.def, s.next_fire});
  }
  return out;
}

void JobTable::decided_upto(const std::string& name, std::int64_t upto) {
  std::lock_guard g(mu_);
  if (auto slot = names_.find(name, slots_)) {
    slots_[*slot].last_fired = std::max(slots_[*slot].last_fired, upto);
  }
}

std::vector<std::shared_ptr<const JobDef>> JobTable::reboot_jobs() const {
  std::vector<std::shared_ptr<const JobDef>> out;
  std::lock_guard g(mu_);
  for (const JobSlot& s : slots_) {
    if (s.def && !s.paused && s.def->schedule.is_reboot()) out.push_back(s.def);
  }
  return out;
}

}  // namespace solocron::detail
