// SQL fragments and conversions that the SQLite store's files share.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "store/sql_rows.hpp"

#define SOLOCRON_SQLITE_RUN_COLUMNS SOLOCRON_RUN_COLUMNS(SOLOCRON_SQL_AS_IS, SOLOCRON_SQL_AS_IS)
// Whether the lease under which the run `run` was claimed is live at `now`.
#define SOLOCRON_SQLITE_HOLDER_LIVE(run, now)                                                \
  "EXISTS (SELECT 1 FROM solocron_nodes n WHERE n.node_id = " run ".node AND n.token = " run \
  ".lease_token AND n.expires_at > " now ")"
// Whether the occurrence (`job`, `at`, `request`) is a scheduled tick of a paused job.
#define SOLOCRON_SQLITE_PAUSED(job, at, request)                                     \
  "(" request " = 0 AND EXISTS (SELECT 1 FROM solocron_job_controls c WHERE c.job = " job \
  " AND c.paused AND c.paused_at <= " at "))"
// The columns of solocron_attempts (an attempt kept when the next one replaced it), which
// solocron_runs has under the same names.
#define SOLOCRON_SQLITE_ATTEMPT_COLUMNS                                                       \
  "job, node_key, scheduled_at, request, attempt, state, node, lease_token, fence, cause, " \
  "claimed_at, started_at, finished_at, exit_code, signal, output_tail, message"
// Whether retention has pruned the instant `at` of `job`.
#define SOLOCRON_SQLITE_PRUNED(job, at) \
  "EXISTS (SELECT 1 FROM solocron_pruned WHERE job = " job " AND through >= " at ")"

namespace solocron::detail {

inline std::int64_t secs(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }
inline std::optional<std::int64_t> wide(std::optional<int> v) {
  if (!v) return std::nullopt;
  return *v;
}

}  // namespace solocron::detail
