// Backfill: which ticks of a range to run again, decided from the schedule the live nodes
// published and the history (no record, or `missed`), and written to the store as one
// backfill. One home for `solocron backfill` (cmd_backfill.cpp) and the HTTP API.
//
// It runs nothing itself: the nodes that have the job take the instants one at a time, oldest
// first, and claim each under the tick's own key (taking over its `missed` record), so an
// instant runs once however often, and on however many machines, a backfill is asked for.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "solocron/store.hpp"

namespace solocron::cli {

// Bounds on one backfill: what it may queue, and how many ticks of the range it looks at.
inline constexpr std::size_t kMaxBackfill = 10'000;
inline constexpr std::size_t kMaxTicksScanned = 1'000'000;

struct BackfillArgs {
  std::string job, from, to, note, by;
  std::size_t max = 100;
  bool dry_run = false;
};

// How the arguments are named in messages: the command's flags, or the API's body fields.
struct BackfillNames {
  const char* from = "--from";
  const char* to = "--to";
  const char* max = "--max";
};

// The range's ticks and what each has: no record (nullopt) or a record's state. `pruned` are
// ticks retention deleted the records of: they cannot be claimed, so never backfilled.
struct RangeState {
  std::vector<std::pair<std::chrono::sys_seconds, std::optional<RunState>>> ticks;  // oldest first
  std::size_t pruned = 0;
  bool truncated = false;  // more than kMaxTicksScanned ticks in the range
};

// What the backfill does with the range: the ticks it runs, those it leaves (by state, and
// beyond `max`), and the backfill's id once written.
struct Plan {
  std::vector<std::pair<std::chrono::sys_seconds, std::optional<RunState>>> chosen;  // oldest first
  std::map<std::string, std::size_t> already;  // ran, failed, running...
  std::size_t left = 0;                        // beyond max
  std::optional<std::int64_t> id;
};

struct Backfill {
  RangeState range;
  Plan plan;
};

// Plans the backfill and, unless a dry run, writes it. Throws OperationError: bad_request (a
// bound or max malformed), not_found, conflict (a job not run_on: once, or a schedule this host
// cannot read).
Backfill run_backfill(Store& store, const BackfillArgs& a, const BackfillNames& names = {});
nlohmann::json backfill_json(const BackfillArgs& a, const Backfill& b);

}  // namespace solocron::cli
