// Reading runs and node leases from SQL rows: the one place that knows the column order, for
// both SQL backends.
//
// A Row is anything with text(i), integer(i) and nullable(i) (SqliteStatement, PgRow). Times
// arrive as integers: scheduled_at in epoch seconds, store times in epoch milliseconds. Each
// backend selects the columns through SOLOCRON_RUN_COLUMNS / SOLOCRON_LEASE_COLUMNS, passing
// how its schema turns a stored time into those integers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "solocron/store.hpp"
#include "store/state_names.hpp"

namespace solocron::detail {

// SECONDS(col) and MS(col) make the SQL that yields `col` as epoch seconds / milliseconds.
// The columns read the same from solocron_runs and solocron_attempts (a kept attempt).
#define SOLOCRON_RUN_COLUMNS(SECONDS, MS)                                                  \
  "job, node_key, " SECONDS("scheduled_at") ", state, node, lease_token, fence, attempt, " \
      MS("claimed_at") ", " MS("started_at") ", " MS("finished_at")                       \
      ", exit_code, signal, output_tail, message, request, "                              \
      SOLOCRON_ASKED("requested_by") ", " SOLOCRON_ASKED("note") ", cause"
// Who asked for a run, and why: a backfilled run's from the first backfill of its instant, a
// requested run's from its request. The unqualified names are the run's: solocron_requests has
// no `request` column, and the backfill rows are renamed so that `job` is not theirs.
#define SOLOCRON_ASKED(col)                                                                  \
  "COALESCE(CASE WHEN cause = 'backfill' THEN (SELECT b." col " FROM (SELECT id, job AS b_job, " \
  "at AS b_at, " col " FROM solocron_backfill) b WHERE b.b_job = job AND b.b_at = scheduled_at " \
  "ORDER BY b.id LIMIT 1) ELSE (SELECT q." col " FROM solocron_requests q WHERE q.id = request) " \
  "END, '')"
#define SOLOCRON_LEASE_COLUMNS(MS) \
  "node_id, token, " MS("registered_at") ", " MS("renewed_at") ", " MS("expires_at") ", version"
// For a schema whose times are stored as those integers already (SQLite).
#define SOLOCRON_SQL_AS_IS(col) col

inline StoreTime store_time_ms(std::int64_t ms) { return StoreTime(std::chrono::milliseconds(ms)); }

template <class Row>
std::optional<StoreTime> nullable_time(const Row& row, int col) {
  auto v = row.nullable(col);
  if (!v) return std::nullopt;
  return store_time_ms(*v);
}

template <class Row>
std::optional<int> nullable_small(const Row& row, int col) {
  auto v = row.nullable(col);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// The stored `cause` of an attempt ("trigger" is an SQL keyword): '' for the trigger its key
// implies (the schedule's, or a request's), 'backfill' or 'retry' otherwise.
inline Trigger trigger_from_cause(std::string_view cause, const OccurrenceKey& key) {
  if (cause == "backfill") return Trigger::backfill;
  if (cause == "retry") return Trigger::retry;
  return trigger_of(key);
}

// The run whose SOLOCRON_RUN_COLUMNS start at column `c`.
template <class Row>
RunRecord read_run(const Row& row, int c = 0) {
  RunRecord r;
  r.key.job = std::string(row.text(c + 0));
  r.key.node = std::string(row.text(c + 1));
  r.key.scheduled_at = std::chrono::sys_seconds(std::chrono::seconds(row.integer(c + 2)));
  r.state = state_from_name(row.text(c + 3)).value_or(RunState::lost);
  r.node = std::string(row.text(c + 4));
  r.lease_token = row.integer(c + 5);
  r.fence = row.integer(c + 6);
  r.attempt = static_cast<int>(row.integer(c + 7));
  r.claimed_at = nullable_time(row, c + 8);
  r.started_at = nullable_time(row, c + 9);
  r.finished_at = nullable_time(row, c + 10);
  r.exit_code = nullable_small(row, c + 11);
  r.signal = nullable_small(row, c + 12);
  r.output_tail = std::string(row.text(c + 13));
  r.message = std::string(row.text(c + 14));
  r.key.request = row.integer(c + 15);
  r.requested_by = std::string(row.text(c + 16));
  r.note = std::string(row.text(c + 17));
  r.trigger = trigger_from_cause(row.text(c + 18), r.key);
  return r;
}

// The lease whose SOLOCRON_LEASE_COLUMNS start at column `c`, judged live at `now_ms`.
template <class Row>
NodeLease read_lease(const Row& row, std::int64_t now_ms, int c = 0) {
  NodeLease l;
  l.node_id = std::string(row.text(c + 0));
  l.token = row.integer(c + 1);
  l.registered_at = store_time_ms(row.integer(c + 2));
  l.renewed_at = store_time_ms(row.integer(c + 3));
  l.expires_at = store_time_ms(row.integer(c + 4));
  l.live = row.integer(c + 4) > now_ms;
  l.version = std::string(row.text(c + 5));
  return l;
}

}  // namespace solocron::detail
