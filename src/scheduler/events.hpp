// Events: the one place where the scheduler's components report what happened, to the
// observer (one call per event, never with a component's lock held) and to the counters behind
// Scheduler::statistics().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "solocron/scheduler.hpp"

namespace solocron::detail {

struct Counters {
  std::atomic<std::uint64_t> fired{0}, claims_won{0}, claims_taken{0}, started{0}, succeeded{0},
      failed{0}, timed_out{0}, interrupted{0}, lost{0}, reclaimed{0}, missed{0},
      skipped_overlap{0}, replaced{0}, too_early{0}, not_claimed{0}, stale_writes{0},
      store_errors{0}, clock_steps{0}, lease_lost{0};
};

class Events {
 public:
  explicit Events(std::string node_id) : node_id_(std::move(node_id)) {}

  // Before start(); not owned.
  void set_observer(SchedulerObserver* observer) { observer_ = observer; }
  bool observed() const { return observer_ != nullptr; }
  const std::string& node_id() const { return node_id_; }

  // An event of this node, optionally about one occurrence.
  RunEvent make(RunEventKind kind) const;
  RunEvent make(RunEventKind kind, const OccurrenceKey& key, std::int64_t fence = 0,
                int attempt = 1) const;
  void emit(const RunEvent& e) const {
    if (observer_) observer_->on_event(e);
  }
  void emit(RunEventKind kind, std::string message) const;
  // Counts and reports a failed store call ("<what>: <backend message>").
  void store_error(const std::string& what, const std::exception& e);

  Counters counters;
  // Bumped by every hand-off of work between components (after the work is queued), so
  // Scheduler::wait_idle can tell a quiet moment from a passing one.
  std::atomic<std::uint64_t> activity{0};
  void handed_off() { activity.fetch_add(1, std::memory_order_release); }

 private:
  std::string node_id_;
  SchedulerObserver* observer_ = nullptr;
};

}  // namespace solocron::detail
