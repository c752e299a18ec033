// Rules of retries and backfill that every backend applies the same way (inline, so that each
// backend library links on its own).
#pragma once

#include <algorithm>
#include <chrono>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "solocron/store.hpp"

namespace solocron::detail {

// The most instants one backfill may ask for: a mistyped range must not fill the store.
inline constexpr std::size_t kMaxBackfillInstants = 10'000;

// A backfill's instants, each once, in order; StoreError(invalid) past the cap.
inline std::vector<std::chrono::sys_seconds> backfill_instants(
    std::span<const std::chrono::sys_seconds> instants) {
  if (instants.size() > kMaxBackfillInstants) {
    throw StoreError(StoreError::Kind::invalid,
                     "a backfill of " + std::to_string(instants.size()) + " instants: at most " +
                         std::to_string(kMaxBackfillInstants) + " in one backfill");
  }
  std::vector<std::chrono::sys_seconds> out(instants.begin(), instants.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The order of retry_candidates(): the earliest finished first, ties by key.
inline bool finished_earlier(const RunRecord& a, const RunRecord& b) {
  return std::tie(a.finished_at, a.key.job, a.key.node, a.key.scheduled_at, a.key.request) <
         std::tie(b.finished_at, b.key.job, b.key.node, b.key.scheduled_at, b.key.request);
}

}  // namespace solocron::detail
