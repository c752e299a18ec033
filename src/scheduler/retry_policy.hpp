// Retries (a job's `retry` policy): when a failed or timed-out run gets its next attempt, and
// whether it still may. The sweep (sweep.cpp) asks; the store's compare-and-set on the run's
// fence and attempt makes sure that of all the nodes asking, one takes it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "scheduler/job_table.hpp"
#include "solocron/job.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

// How long after attempt `failed_attempt` ended the next one starts: backoff doubled per
// attempt, capped, shortened by up to half under jitter (the same on every node).
std::chrono::milliseconds retry_delay(const RetryPolicy& p, const OccurrenceKey& key,
                                      int failed_attempt);

// Whether `r` (failed or timed_out) gets a new attempt now: attempts left, its backoff over,
// before the job's next occurrence (until_next) and within its starting_deadline.
bool retry_due(const JobDef& def, const RunRecord& r, Clock::wall_time now);

// The longest a retry waits after its attempt ended, under any policy of `def`: how far back
// the sweep looks for runs to retry.
std::chrono::milliseconds longest_retry_wait(const RetryPolicy& p);

// An error for a spec whose retry policy cannot be honoured, or nullopt.
std::optional<std::string> retry_error(const JobSpec& spec);

}  // namespace solocron::detail
