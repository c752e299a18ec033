// The job table: compact per-job slots, a name index and the timer heap.
//
// Sized for a million jobs: a slot is ~40 bytes, a heap entry 16, a name-index bucket 4 (at
// most half full), and the immutable JobDef is shared by the slot and by the job's runs in
// progress, so update/remove never disturb a running action.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "solocron/job.hpp"

namespace solocron::detail {

constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

// The immutable definition of a job, compacted from a JobSpec.
struct JobDef {
  std::string name;
  Schedule schedule;
  std::variant<std::unique_ptr<const CommandSpec>, JobCallable> action;
  std::int64_t timeout_ms = -1;  // -1: none
  std::int64_t kill_grace_ms = 10000;
  std::int64_t starting_deadline_ms = -1;  // -1: none
  std::uint32_t max_catchup = 10;
  std::uint32_t output_tail_bytes = 4096;
  OverlapMode overlap = OverlapMode::allow;
  MisfirePolicy misfire = MisfirePolicy::skip;
  Delivery delivery = Delivery::at_most_once;
  RunOn run_on = RunOn::once;

  static std::shared_ptr<const JobDef> from_spec(JobSpec spec);
  JobSpec to_spec(bool paused) const;
  bool is_command() const { return action.index() == 0; }
  const CommandSpec& command() const { return *std::get<0>(action); }
  const JobCallable& callable() const { return std::get<1>(action); }
  bool store_backed() const { return run_on != RunOn::local && !schedule.is_reboot(); }
  // Same schedule and zone: fire timing can be kept across an update.
  bool same_timing(const JobDef& other) const;
  // Equal in every comparable field (callables are never comparable: treated as equal).
  bool same_as(const JobDef& other) const;
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
  std::uint32_t active = 0;           // runs queued or running
  bool paused = false;
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

}  // namespace solocron::detail
