#include "scheduler/retry_policy.hpp"

#include <algorithm>

#include "scheduler/claimer.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;

milliseconds retry_delay(const RetryPolicy& p, const OccurrenceKey& key, int failed_attempt) {
  // backoff * 2^(n-1), computed in doubles so that a large n saturates at the cap.
  const double doubled = static_cast<double>(p.backoff.count()) *
                         static_cast<double>(1ull << std::clamp(failed_attempt - 1, 0, 40));
  auto delay = milliseconds(static_cast<std::int64_t>(
      std::min(doubled, static_cast<double>(p.max_backoff.count()))));
  if (p.jitter) {
    const auto h = occurrence_hash(key.job + "#retry" + std::to_string(failed_attempt) + "#" +
                                       std::to_string(key.request) + "#" + key.node,
                                   key.scheduled_at);
    delay -= milliseconds(static_cast<std::int64_t>(h % static_cast<std::uint64_t>(delay.count() / 2 + 1)));
  }
  return delay;
}

bool retry_due(const JobDef& def, const RunRecord& r, Clock::wall_time now) {
  if (!def.retry || r.attempt >= def.retry->attempts || !r.finished_at) return false;
  if (r.state != RunState::failed && r.state != RunState::timed_out) return false;
  if (now < *r.finished_at + retry_delay(*def.retry, r.key, r.attempt)) return false;
  if (const auto d = def.starting_deadline(); d && now - Clock::wall_time(r.key.scheduled_at) > *d) {
    return false;
  }
  if (def.retry->until_next) {
    // A run asked for or backfilled stops at the schedule's next tick after its own instant.
    if (auto next = def.schedule.next(r.key.scheduled_at); next && now >= Clock::wall_time(*next)) {
      return false;
    }
  }
  return true;
}

milliseconds longest_retry_wait(const RetryPolicy& p) { return p.max_backoff; }

std::optional<std::string> retry_error(const JobSpec& spec) {
  const RetryPolicy& p = spec.retry;
  if (p.attempts < 1 || p.attempts > 100) return "retry.attempts must be from 1 to 100";
  if (p.attempts == 1) return std::nullopt;
  if (p.backoff.count() <= 0) return "retry.backoff must be positive";
  if (p.max_backoff < p.backoff) return "retry.max_backoff must be at least retry.backoff";
  if (p.max_backoff > std::chrono::hours(24)) return "retry.max_backoff is at most 24h";
  if (spec.run_on == RunOn::local || spec.schedule.is_reboot()) {
    return "retry needs the store (run_on once or every_node): a local or @reboot job's runs "
           "are not recorded";
  }
  return std::nullopt;
}

}  // namespace solocron::detail
