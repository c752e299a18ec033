// The job table: compact per-job slots, a name index and the timer heap, behind JobTable.
//
// Sized for a million jobs: a slot is ~40 bytes, a heap entry 16, a name-index bucket 4 (at
// most half full), and the immutable JobDef is shared by the slot and by the job's runs in
// progress, so update/remove never disturb a running action. Times are whole seconds of the
// cluster's clock (see cluster_clock.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "solocron/scheduler.hpp"

namespace solocron::detail {

constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

// What this node is doing with a job: shared by the job's successive definitions (an update
// does not forget the runs in progress), guarded by the RunRegistry's lock.
struct JobActivity {
  std::size_t active = 0;  // runs queued or running on this node
};

// The immutable definition of a job, compacted from a JobSpec.
struct JobDef {
  std::string name;
  Schedule schedule;
  std::variant<std::unique_ptr<const CommandSpec>, JobCallable, std::unique_ptr<const HttpSpec>> action;
  std::int64_t timeout_ms = -1;  // -1: none
  std::int64_t kill_grace_ms = 10000;
  std::int64_t starting_deadline_ms = -1;  // -1: none
  std::uint32_t max_catchup = 10;
  std::uint32_t output_tail_bytes = 4096;
  std::uint32_t jitter_ms = 0;  // 0: none
  OverlapMode overlap = OverlapMode::allow;
  MisfirePolicy misfire = MisfirePolicy::skip;
  Delivery delivery = Delivery::at_most_once;
  RunOn run_on = RunOn::once;

  std::unique_ptr<const Hooks> hooks;     // null: none of its own (the node's defaults apply)
  std::unique_ptr<const RetryPolicy> retry;  // null: one attempt
  std::shared_ptr<JobActivity> activity;  // the one mutable part, see JobActivity

  // `activity`: the previous definition's (an update), or null for a new job.
  static std::shared_ptr<const JobDef> from_spec(JobSpec spec,
                                                 std::shared_ptr<JobActivity> activity = nullptr);
  JobSpec to_spec(bool paused) const;
  bool is_command() const { return action.index() == 0; }
  const CommandSpec& command() const { return *std::get<0>(action); }
  const JobCallable& callable() const { return std::get<1>(action); }
  bool is_http() const { return action.index() == 2; }
  const HttpSpec& http() const { return *std::get<2>(action); }
  bool store_backed() const { return run_on != RunOn::local && !schedule.is_reboot(); }
  // Same schedule and zone: fire timing can be kept across an update.
  bool same_timing(const JobDef& other) const;
  // Equal in every comparable field (callables are never comparable: treated as equal).
  bool same_as(const JobDef& other) const;
  // How long after `at` its occurrence starts (0 without jitter): see jitter.cpp.
  std::chrono::milliseconds jitter_delay(std::chrono::sys_seconds at) const;
  std::optional<std::chrono::milliseconds> starting_deadline() const {
    if (starting_deadline_ms < 0) return std::nullopt;
    return std::chrono::milliseconds(starting_deadline_ms);
  }
};

struct JobSlot {
  std::shared_ptr<const JobDef> def;  // null: free slot
  std::int64_t next_fire = kNoTime;   // seconds since the epoch, kNoTime when not queued
  std::int64_t last_fired = kNoTime;  // never fire at or below it (backward clock steps)
  std::uint32_t generation = 0;       // heap entries with another generation are stale
  bool paused = false;
  bool configured_paused = false;  // JobSpec::paused as last given: seeds the store's state
  bool store_controlled = false;   // the store holds a pause state for it, which wins
};

// Open-addressing name -> slot index, keyed by the name held in each slot's JobDef.
class NameIndex {
 public:
  std::optional<std::uint32_t> find(std::string_view name, const std::vector<JobSlot>& slots) const;
  void insert(std::string_view name, std::uint32_t slot, const std::vector<JobSlot>& slots);
  void erase(std::string_view name, const std::vector<JobSlot>& slots);
  std::size_t memory_bytes() const { return buckets_.capacity() * sizeof(std::uint32_t); }

 private:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;
  static constexpr std::uint32_t kDeleted = 0xfffffffeu;
  void grow(const std::vector<JobSlot>& slots);
  std::vector<std::uint32_t> buckets_;
  std::size_t used_ = 0;  // live + deleted
  std::size_t live_ = 0;
};

struct HeapEntry {
  std::int64_t fire;  // seconds since the epoch
  std::uint32_t slot;
  std::uint32_t generation;
};

// Min-heap on fire time with lazy deletion: superseded entries are dropped when they surface.
class TimerHeap {
 public:
  void push(HeapEntry e);
  bool empty() const { return heap_.empty(); }
  const HeapEntry& top() const { return heap_.front(); }
  HeapEntry pop();
  std::size_t size() const { return heap_.size(); }
  // Drops stale entries when they outnumber live ones, so churn cannot grow the heap forever.
  void compact_if_needed(const std::vector<JobSlot>& slots, std::size_t live);
  std::size_t memory_bytes() const { return heap_.capacity() * sizeof(HeapEntry); }

 private:
  std::vector<HeapEntry> heap_;
};

// One occurrence taken from the table: due now, or found by catch-up.
struct Occurrence {
  std::shared_ptr<const JobDef> def;
  std::chrono::sys_seconds at{};
  bool misfired = false;  // skipped by a clock step, a stall or downtime
  bool fallback = false;  // another node is preferred for it: ask the store before claiming
  std::int64_t request = 0;  // a run asked for (`solocron trigger`): its request's id
  // An instant of `solocron backfill`: claimed over a `missed` record, whatever its age (no
  // misfire policy, no starting_deadline: the operator asked for it).
  bool backfill = false;
};

// The jobs of this node. Thread-safe; the timer loop, the claimer (catch-up) and the public
// API share it. Schedule::next is never called with the lock held for many jobs at once.
class JobTable {
 public:
  // The spec must have been validated.
  JobResult add(JobSpec spec, std::int64_t now_s);
  JobResult update(JobSpec spec, std::int64_t now_s, bool* changed = nullptr);
  JobResult remove(std::string_view name);
  JobResult set_paused(std::string_view name, bool paused, std::int64_t now_s);
  // The store's pause state of a job (`solocron pause` / `resume`), which from now on wins over
  // updates of its spec; a resumed job's schedule goes on after `from_s`. Whether it changed.
  bool apply_control(std::string_view name, bool paused, std::int64_t from_s);
  // Jobs given as paused for which the store holds no state yet (their initial state).
  std::vector<std::string> configured_paused() const;
  // Reconciles the table with `valid` (SIGHUP reload) in one step; names in `keep` stay even
  // when absent from `valid` (a job whose new definition is invalid keeps its old one).
  void apply(std::vector<JobSpec> valid, const std::set<std::string>& keep, std::int64_t now_s,
             ApplyResult& result);
  std::optional<JobInfo> find(std::string_view name) const;
  std::vector<JobInfo> list() const;
  std::shared_ptr<const JobDef> def_of(std::string_view name) const;
  // The definition of a job that is not paused; null otherwise (or when absent).
  std::shared_ptr<const JobDef> unpaused_def(std::string_view name) const;
  std::size_t size() const;

  // Recomputes every queued fire from `now_s` (the cluster's clock was first measured).
  void reschedule_all(std::int64_t now_s);
  std::optional<std::int64_t> next_fire() const;

  // Timer: pops every job due at or before now_s and returns their due occurrences (oldest
  // first); then requeue() computes each popped job's next fire outside the lock and returns
  // the further occurrences already due (a forward step, a stall), bounded per job.
  struct Popped {
    std::uint32_t slot, generation;
    std::int64_t fire;
    std::shared_ptr<const JobDef> def;
  };
  // At most `max` per call (a burst is handed on in chunks, so runs start while the rest is
  // still being popped).
  std::vector<Occurrence> pop_due(std::int64_t now_s, std::vector<Popped>& popped, std::size_t max);
  std::vector<Occurrence> requeue(const std::vector<Popped>& popped, std::int64_t now_s);

  // Catch-up: store-backed, unpaused jobs with their queued fire, and a way to mark the
  // occurrences it decided, so the timer does not fire them again.
  struct Queued {
    std::shared_ptr<const JobDef> def;
    std::int64_t next_fire;
  };
  std::vector<Queued> store_backed() const;
  void decided_upto(const std::string& name, std::int64_t upto);
  std::vector<std::shared_ptr<const JobDef>> reboot_jobs() const;

 private:
  void schedule_locked(std::uint32_t slot, std::int64_t now_s);
  std::uint32_t allocate_locked();
  void free_locked(std::uint32_t slot);
  JobInfo info_locked(std::uint32_t slot) const;
  JobResult add_locked(JobSpec spec, std::int64_t now_s);
  JobResult update_locked(JobSpec spec, std::int64_t now_s, bool* changed);

  mutable std::mutex mu_;
  std::vector<JobSlot> slots_;
  std::vector<std::uint32_t> free_slots_;
  NameIndex names_;
  TimerHeap heap_;
  std::size_t live_ = 0;
};

}  // namespace solocron::detail
