#include "scheduler/events.hpp"

namespace solocron::detail {

RunEvent Events::make(RunEventKind kind) const {
  RunEvent e;
  e.kind = kind;
  e.node = node_id_;
  return e;
}

RunEvent Events::make(RunEventKind kind, const OccurrenceKey& key, std::int64_t fence,
                      int attempt) const {
  RunEvent e = make(kind);
  e.job = key.job;
  e.scheduled_at = key.scheduled_at;
  e.fence = fence;
  e.attempt = attempt;
  return e;
}

void Events::emit(RunEventKind kind, std::string message) const {
  if (!observer_) return;
  RunEvent e = make(kind);
  e.message = std::move(message);
  observer_->on_event(e);
}

void Events::store_error(const std::string& what, const std::exception& ex) {
  ++counters.store_errors;
  emit(RunEventKind::store_error, what + ": " + ex.what());
}

}  // namespace solocron::detail

namespace solocron {

std::string_view to_string(RunEventKind kind) {
  static constexpr std::string_view kNames[] = {
      "claimed",      "claim_taken",    "started",       "output",        "finished",
      "missed",       "skipped_overlap", "replaced",     "lost",          "reclaimed",
      "too_early",    "not_claimed",    "stale_write",   "store_error",   "clock_step",
      "clock_skew",   "lease_acquired", "lease_lost",    "lease_waiting", "fatal",
      "catch_up",     "lease_released", "store_changed", "unguarded",     "hook_delivered",
      "hook_failed"};
  return kNames[static_cast<std::size_t>(kind)];
}

}  // namespace solocron
