// Jitter: an occurrence of a job with `jitter` starts a little after its instant, to spread the
// herd of jobs due at the same instant (every hour on the hour) over time.
//
// The delay is derived from the job and the instant by the occurrence hash, so every node
// computes the same one and their claims still meet; it is less than the gap to the job's next
// occurrence, so a job's occurrences never swap order or pile onto the next one. The scheduled
// instant stays the occurrence's identity (history, SOLOCRON_SCHEDULED_AT, fencing).
#include "scheduler/claimer.hpp"
#include "scheduler/job_table.hpp"

namespace solocron::detail {

std::chrono::milliseconds JobDef::jitter_delay(std::chrono::sys_seconds at) const {
  if (jitter_ms == 0) return std::chrono::milliseconds(0);
  std::int64_t bound = jitter_ms;
  if (auto next = schedule.next(at)) {
    bound = std::min<std::int64_t>(bound, std::chrono::duration_cast<std::chrono::milliseconds>(*next - at).count());
  }
  if (bound <= 1) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(occurrence_hash(name, at) % static_cast<std::uint64_t>(bound)));
}

}  // namespace solocron::detail
