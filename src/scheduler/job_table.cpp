#include "scheduler/job_table.hpp"

#include <algorithm>
#include <functional>

namespace solocron::detail {

std::shared_ptr<const JobDef> JobDef::from_spec(JobSpec spec, std::shared_ptr<JobActivity> activity) {
  auto def = std::make_shared<JobDef>();
  def->activity = activity ? std::move(activity) : std::make_shared<JobActivity>();
  def->name = std::move(spec.name);
  def->schedule = std::move(spec.schedule);
  if (auto* cmd = std::get_if<CommandSpec>(&spec.action)) {
    def->action = std::make_unique<const CommandSpec>(std::move(*cmd));
  } else if (auto* http = std::get_if<HttpSpec>(&spec.action)) {
    def->action = std::make_unique<const HttpSpec>(std::move(*http));
  } else {
    def->action = std::move(std::get<JobCallable>(spec.action));
  }
  def->timeout_ms = spec.timeout ? spec.timeout->count() : -1;
  def->kill_grace_ms = spec.kill_grace.count();
  def->starting_deadline_ms = spec.starting_deadline ? spec.starting_deadline->count() : -1;
  def->max_catchup = static_cast<std::uint32_t>(std::min<std::size_t>(spec.max_catchup, 1u << 30));
  def->output_tail_bytes =
      static_cast<std::uint32_t>(std::min<std::size_t>(spec.output_tail_bytes, 1u << 30));
  def->jitter_ms = spec.jitter ? static_cast<std::uint32_t>(std::clamp<std::int64_t>(spec.jitter->count(), 0, 1u << 31)) : 0;
  if (!spec.hooks.empty()) def->hooks = std::make_unique<const Hooks>(std::move(spec.hooks));
  if (spec.retry.attempts > 1) def->retry = std::make_unique<const RetryPolicy>(spec.retry);
  def->overlap = spec.overlap;
  def->misfire = spec.misfire;
  def->delivery = spec.delivery;
  def->run_on = spec.schedule.is_reboot() ? RunOn::local : spec.run_on;
  return def;
}

JobSpec JobDef::to_spec(bool paused) const {
  JobSpec s;
  s.name = name;
  s.schedule = schedule;
  if (is_command()) {
    s.action = command();
  } else if (is_http()) {
    s.action = http();
  } else {
    s.action = callable();
  }
  s.overlap = overlap;
  if (timeout_ms >= 0) s.timeout = std::chrono::milliseconds(timeout_ms);
  s.kill_grace = std::chrono::milliseconds(kill_grace_ms);
  s.misfire = misfire;
  s.max_catchup = max_catchup;
  s.starting_deadline = starting_deadline();
  if (jitter_ms > 0) s.jitter = std::chrono::milliseconds(jitter_ms);
  s.delivery = delivery;
  s.run_on = run_on;
  s.output_tail_bytes = output_tail_bytes;
  if (hooks) s.hooks = *hooks;
  if (retry) s.retry = *retry;
  s.paused = paused;
  return s;
}

bool JobDef::same_timing(const JobDef& o) const {
  return schedule.text() == o.schedule.text() && schedule.time_zone() == o.schedule.time_zone();
}

namespace {
bool same_command(const CommandSpec& a, const CommandSpec& b) {
  return a.argv == b.argv && a.shell_command == b.shell_command && a.shell == b.shell &&
         a.working_dir == b.working_dir && a.env == b.env && a.inherit_env == b.inherit_env;
}
bool same_http(const HttpSpec& a, const HttpSpec& b) {
  return a.url == b.url && a.method == b.method && a.headers == b.headers && a.body == b.body &&
         a.timeout == b.timeout && a.success == b.success && a.ca_file == b.ca_file;
}
}  // namespace

bool JobDef::same_as(const JobDef& o) const {
  if (!same_timing(o) || action.index() != o.action.index()) return false;
  if (is_command() && !same_command(command(), o.command())) return false;
  if (is_http() && !same_http(http(), o.http())) return false;
  if ((hooks ? *hooks : Hooks{}) != (o.hooks ? *o.hooks : Hooks{})) return false;
  if ((retry ? *retry : RetryPolicy{}) != (o.retry ? *o.retry : RetryPolicy{})) return false;
  return timeout_ms == o.timeout_ms && kill_grace_ms == o.kill_grace_ms &&
         starting_deadline_ms == o.starting_deadline_ms && max_catchup == o.max_catchup &&
         output_tail_bytes == o.output_tail_bytes && jitter_ms == o.jitter_ms && overlap == o.overlap && misfire == o.misfire &&
         delivery == o.delivery && run_on == o.run_on;
}

// --- NameIndex ---

namespace {
std::size_t hash_name(std::string_view s) { return std::hash<std::string_view>{}(s); }
}  // namespace

std::optional<std::uint32_t> NameIndex::find(std::string_view name,
                                             const std::vector<JobSlot>& slots) const {
  if (buckets_.empty()) return std::nullopt;
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    const std::uint32_t b = buckets_[i];
    if (b == kEmpty) return std::nullopt;
    if (b != kDeleted && slots[b].def && slots[b].def->name == name) return b;
  }
}

void NameIndex::insert(std::string_view name, std::uint32_t slot,
                       const std::vector<JobSlot>& slots) {
  if ((used_ + 1) * 2 > buckets_.size()) grow(slots);
  const std::size_t mask = buckets_.size() - 1;
  std::size_t i = hash_name(name) & mask;
  while (buckets_[i] != kEmpty && buckets_[i] != kDeleted) i = (i + 1) & mask;
  if (buckets_[i] == kEmpty) ++used_;
  buckets_[i] = slot;
  ++live_;
}

void NameIndex::erase(std::string_view name, const std::vector<JobSlot>& slots) {
  if (buckets_.empty()) return;
  const std::size_t mask = buckets_.size() - 1;
  for (std::size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    const std::uint32_t b = buckets_[i];
    if (b == kEmpty) return;
    if (b != kDeleted && slots[b].def && slots[b].def->name == name) {
      buckets_[i] = kDeleted;
      --live_;
      return;
    }
  }
}

void NameIndex::grow(const std::vector<JobSlot>& slots) {
  std::vector<std::uint32_t> old = std::move(buckets_);
  std::size_t size = 16;
  while (size < (live_ + 1) * 4) size *= 2;  // rehash to at most a quarter full
  buckets_.assign(size, kEmpty);
  used_ = live_ = 0;
  for (std::uint32_t b : old) {
    if (b == kEmpty || b == kDeleted) continue;
    insert(slots[b].def->name, b, slots);
  }
}

// --- TimerHeap ---

namespace {
struct Later {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const { return a.fire > b.fire; }
};
}  // namespace

void TimerHeap::push(HeapEntry e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

HeapEntry TimerHeap::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  HeapEntry e = heap_.back();
  heap_.pop_back();
  return e;
}

void TimerHeap::compact_if_needed(const std::vector<JobSlot>& slots, std::size_t live) {
  if (heap_.size() < 1024 || heap_.size() < 2 * live) return;
  std::erase_if(heap_, [&](const HeapEntry& e) {
    const JobSlot& s = slots[e.slot];
    return !s.def || s.generation != e.generation || s.next_fire != e.fire;
  });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

}  // namespace solocron::detail
