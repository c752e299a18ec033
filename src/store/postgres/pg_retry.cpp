// Retries and backfill on PostgreSQL, each write one statement.
#include "store/postgres/pg_store.hpp"
#include "store/retry_backfill.hpp"
#include "store/sql_rows.hpp"

namespace solocron::detail {

using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

// $1-$5 the keys (PgKeyArrays), $6 the fence, $7 the claimant, $8 its lease token, $9 the new
// attempt. `ended` locks the records that may be retried, in key order (two nodes retrying the
// same batch wait for each other); a record a concurrent retry changed meanwhile is re-read
// and drops out, its fence being new. `kept` copies each as it ended before the update makes
// it the next attempt: all in one statement, so both happen or neither.
constexpr const char* kRetrySql = R"sql(
WITH q AS (
  SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                       $6::bigint[], $7::text[], $8::bigint[], $9::int[])
    AS q(i, k_job, k_node, k_at, k_request, k_fence, claimant, claimant_token, new_attempt)
), ended AS (
  SELECT r.* FROM solocron_runs r JOIN q ON r.job = q.k_job AND r.node_key = q.k_node
    AND r.scheduled_at = to_timestamp(q.k_at) AND r.request = q.k_request
  WHERE r.fence = q.k_fence AND r.state IN ('failed', 'timed_out')
    AND r.attempt = q.new_attempt - 1
    AND EXISTS (SELECT 1 FROM solocron_nodes c WHERE c.node_id = q.claimant
                AND c.token = q.claimant_token AND c.expires_at > now())
  ORDER BY r.job, r.node_key, r.scheduled_at, r.request
  FOR UPDATE OF r
), kept AS (
  INSERT INTO solocron_attempts (job, node_key, scheduled_at, request, attempt, state, node,
    lease_token, fence, cause, claimed_at, started_at, finished_at, exit_code, signal,
    output_tail, message)
  SELECT job, node_key, scheduled_at, request, attempt, state, node, lease_token, fence, cause,
    claimed_at, started_at, finished_at, exit_code, signal, output_tail, message FROM ended
  ON CONFLICT DO NOTHING
)
UPDATE solocron_runs r SET state = 'claimed', node = q.claimant, lease_token = q.claimant_token,
  attempt = q.new_attempt, fence = nextval('solocron_fence'), claimed_at = now(),
  started_at = NULL, finished_at = NULL, exit_code = NULL, signal = NULL, output_tail = '',
  message = '', cause = 'retry'
FROM q
WHERE r.job = q.k_job AND r.node_key = q.k_node AND r.scheduled_at = to_timestamp(q.k_at)
  AND r.request = q.k_request AND r.fence = q.k_fence
  AND (r.job, r.node_key, r.scheduled_at, r.request)
      IN (SELECT job, node_key, scheduled_at, request FROM ended)
RETURNING q.i, )sql" SOLOCRON_PG_RUN_COLUMNS;

}  // namespace

std::vector<std::optional<RunRecord>> PostgresStore::retry(
    std::span<const ReclaimRequest> requests) {
  return take_over(requests, kRetrySql);
}

std::vector<RunRecord> PostgresStore::retry_candidates(std::span<const std::string> jobs,
                                                       StoreTime finished_since) {
  if (jobs.empty()) return {};
  PgArray names;
  for (const std::string& j : jobs) names.add(j);
  std::lock_guard lock(mutex_);
  // Ordered by the milliseconds read back, so that ties fall to the key as on every backend.
  return read_runs(conn_.exec_prepared(
      "solocron_retry_candidates",
      "SELECT " SOLOCRON_PG_RUN_COLUMNS
      " FROM solocron_runs"
      " WHERE job = ANY($1::text[]) AND state IN ('failed', 'timed_out')"
      " AND finished_at >= to_timestamp($2::bigint / 1000.0)"
      " ORDER BY solocron_ms(finished_at), job, node_key, scheduled_at, request LIMIT 1000",
      PgParams().add(names.str()).add(std::int64_t{finished_since.time_since_epoch().count()})));
}

std::vector<RunRecord> PostgresStore::earlier_attempts(std::span<const OccurrenceKey> keys) {
  if (keys.empty()) return {};
  PgKeyArrays batch;
  for (std::size_t i = 0; i < keys.size(); ++i) batch.add(i, keys[i]);
  std::lock_guard lock(mutex_);
  return read_runs(conn_.exec_prepared(
      "solocron_earlier_attempts",
      "SELECT " SOLOCRON_PG_RUN_COLUMNS
      " FROM solocron_attempts a"
      " JOIN unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])"
      "  AS k(k_i, k_job, k_node, k_at, k_request)"
      " ON a.job = k.k_job AND a.node_key = k.k_node AND a.scheduled_at = to_timestamp(k.k_at)"
      " AND a.request = k.k_request"
      " ORDER BY k.k_i, a.attempt",
      batch.params({})));
}

// --- backfill ---

std::int64_t PostgresStore::request_backfill(std::string_view job,
                                             std::span<const sys_seconds> instants,
                                             std::string_view requested_by, std::string_view note) {
  PgArray at;
  for (sys_seconds t : backfill_instants(instants)) {
    at.add(std::int64_t{t.time_since_epoch().count()});
  }
  std::lock_guard lock(mutex_);
  // Not retried, like request_run: a backfill whose reply was lost may have been stored.
  auto r = conn_.exec(
      "WITH b AS (SELECT nextval('solocron_backfill_id') AS id), items AS ("
      " INSERT INTO solocron_backfill (id, job, at, requested_at, requested_by, note)"
      " SELECT b.id, $1, to_timestamp(t.at), now(), $2, $3 FROM b, unnest($4::bigint[]) AS t(at))"
      " SELECT id FROM b",
      PgParams()
          .add(std::string(job))
          .add(std::string(requested_by))
          .add(std::string(note))
          .add(at.str()));
  return r.integer(0, 0);
}

std::vector<BackfillItem> PostgresStore::pending_backfill(StoreTime since) {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec_prepared(
      "solocron_pending_backfill",
      "SELECT b.id, b.job, " SOLOCRON_PG_SECONDS("b.at") ", " SOLOCRON_PG_MS("b.requested_at")
      ", b.requested_by, b.note, r.state"
      " FROM solocron_backfill b LEFT JOIN solocron_runs r ON r.job = b.job AND r.node_key = ''"
      "  AND r.scheduled_at = b.at AND r.request = 0"
      " WHERE b.requested_at >= to_timestamp($1::bigint / 1000.0)"
      " AND (r.state IS NULL OR r.state IN ('missed', 'claimed', 'running'))"
      " AND NOT EXISTS (SELECT 1 FROM solocron_pruned p WHERE p.job = b.job"
      "  AND p.through >= b.at)"
      " ORDER BY b.job, b.at, b.id LIMIT 1000",
      PgParams().add(std::int64_t{since.time_since_epoch().count()}));
  std::vector<BackfillItem> out;
  for (int i = 0; i < r.rows(); ++i) {
    BackfillItem item{.backfill = r.integer(i, 0),
                      .job = std::string(r.text(i, 1)),
                      .at = sys_seconds(seconds(r.integer(i, 2))),
                      .requested_at = store_time_ms(r.integer(i, 3)),
                      .requested_by = std::string(r.text(i, 4)),
                      .note = std::string(r.text(i, 5)),
                      .state = std::nullopt};
    if (!r.null(i, 6)) item.state = state_from_name(r.text(i, 6));
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace solocron::detail
