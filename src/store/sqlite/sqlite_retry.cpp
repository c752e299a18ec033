// Retries and backfill on SQLite. Each write is one BEGIN IMMEDIATE transaction, so the kept
// attempt and the record's next one are written together or not at all.
#include "store/retry_backfill.hpp"
#include "store/sqlite/sqlite_sql.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace solocron::detail {

using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

#define ATTEMPT_COLUMNS SOLOCRON_SQLITE_ATTEMPT_COLUMNS
// The record a retry may replace: ?1-?4 its key, ?5 the fence and ?6 the new attempt asked.
#define RETRYABLE                                                                         \
  "job = ?1 AND node_key = ?2 AND scheduled_at = ?3 AND request = ?4 AND fence = ?5 AND " \
  "state IN ('failed', 'timed_out') AND attempt = ?6 - 1"

void bind_retryable(SqliteStatement& q, const ReclaimRequest& r) {
  q.bind(1, r.key.job).bind(2, r.key.node).bind(3, secs(r.key.scheduled_at));
  q.bind(4, r.key.request).bind(5, r.fence).bind(6, std::int64_t{r.attempt});
}

}  // namespace

// The attempt as it ended is copied first (insert-if-absent), then the record becomes the
// next attempt; both under the same conditions, in the caller's write transaction.
std::optional<RunRecord> SqliteStore::retry_one(const ReclaimRequest& r, std::int64_t now) {
  if (!lease_live(r.node_id, r.lease_token, now)) return std::nullopt;
  {
    auto keep =
        db().statement("INSERT INTO solocron_attempts (" ATTEMPT_COLUMNS ") SELECT " ATTEMPT_COLUMNS
                       " FROM solocron_runs WHERE " RETRYABLE " ON CONFLICT DO NOTHING");
    bind_retryable(keep, r);
    keep.run();
  }
  std::optional<RunRecord> next;
  {
    auto q = db().statement(
        "UPDATE solocron_runs SET state = 'claimed', node = ?7, lease_token = ?8, attempt = ?6, "
        "fence = (SELECT value + 1 FROM solocron_counters WHERE name = 'fence'), "
        "claimed_at = ?9, started_at = NULL, finished_at = NULL, exit_code = NULL, "
        "signal = NULL, output_tail = '', message = '', cause = 'retry' "
        "WHERE " RETRYABLE " RETURNING " SOLOCRON_SQLITE_RUN_COLUMNS);
    bind_retryable(q, r);
    q.bind(7, r.node_id).bind(8, r.lease_token).bind(9, now);
    if (q.step()) next = read_run(q);
    q.run();
  }
  if (next) next_counter("fence");
  return next;
}

std::vector<std::optional<RunRecord>> SqliteStore::retry(std::span<const ReclaimRequest> requests) {
  return each_in_transaction(
      requests, [this](const ReclaimRequest& r, std::int64_t now) { return retry_one(r, now); });
}

// One query per job, from one snapshot; merged in retry_candidates' order.
std::vector<RunRecord> SqliteStore::retry_candidates(std::span<const std::string> jobs,
                                                     StoreTime finished_since) {
  std::vector<std::string> distinct(jobs.begin(), jobs.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<RunRecord> out;
  if (distinct.empty()) return out;
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(db(), SqliteTransaction::Mode::deferred);
  for (const std::string& job : distinct) {
    auto q = db().statement("SELECT " SOLOCRON_SQLITE_RUN_COLUMNS
                            " FROM solocron_runs WHERE job = ?1 AND state IN ('failed', "
                            "'timed_out') AND finished_at >= ?2 ORDER BY finished_at LIMIT 1000");
    q.bind(1, job).bind(2, std::int64_t{finished_since.time_since_epoch().count()});
    while (q.step()) out.push_back(read_run(q));
  }
  snapshot.commit();
  std::sort(out.begin(), out.end(), finished_earlier);
  if (out.size() > 1000) out.resize(1000);
  return out;
}

std::vector<RunRecord> SqliteStore::earlier_attempts(std::span<const OccurrenceKey> keys) {
  std::vector<RunRecord> out;
  if (keys.empty()) return out;
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(db(), SqliteTransaction::Mode::deferred);
  for (const OccurrenceKey& k : keys) {
    auto q = db().statement("SELECT " SOLOCRON_SQLITE_RUN_COLUMNS
                            " FROM solocron_attempts WHERE job = ?1 AND node_key = ?2 AND "
                            "scheduled_at = ?3 AND request = ?4 ORDER BY attempt");
    q.bind(1, k.job).bind(2, k.node).bind(3, secs(k.scheduled_at)).bind(4, k.request);
    while (q.step()) out.push_back(read_run(q));
  }
  snapshot.commit();
  return out;
}

// --- backfill ---

std::int64_t SqliteStore::request_backfill(std::string_view job,
                                           std::span<const sys_seconds> instants,
                                           std::string_view requested_by, std::string_view note) {
  const std::vector<sys_seconds> distinct = backfill_instants(instants);
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  const std::int64_t id = next_counter("backfill");
  for (sys_seconds at : distinct) {
    db().statement(
            "INSERT INTO solocron_backfill (id, job, at, requested_at, requested_by, note) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, id)
        .bind(2, job)
        .bind(3, secs(at))
        .bind(4, now)
        .bind(5, requested_by)
        .bind(6, note)
        .run();
  }
  tx.commit();
  return id;
}

std::vector<BackfillItem> SqliteStore::pending_backfill(StoreTime since) {
  std::lock_guard lock(mutex_);
  auto q = db().statement(
      "SELECT b.id, b.job, b.at, b.requested_at, b.requested_by, b.note, r.state "
      "FROM solocron_backfill b LEFT JOIN solocron_runs r ON r.job = b.job AND r.node_key = '' "
      "AND r.scheduled_at = b.at AND r.request = 0 "
      "WHERE b.requested_at >= ?1 AND (r.state IS NULL OR r.state IN ('missed', 'claimed', "
      "'running')) AND NOT " SOLOCRON_SQLITE_PRUNED(
          "b.job", "b.at") " ORDER BY b.job, b.at, b.id LIMIT 1000");
  q.bind(1, std::int64_t{since.time_since_epoch().count()});
  std::vector<BackfillItem> out;
  while (q.step()) {
    BackfillItem item{.backfill = q.integer(0),
                      .job = q.text(1),
                      .at = sys_seconds(seconds(q.integer(2))),
                      .requested_at = store_time_ms(q.integer(3)),
                      .requested_by = q.text(4),
                      .note = q.text(5),
                      .state = std::nullopt};
    if (q.nullable(6)) item.state = state_from_name(q.text(6));
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace solocron::detail
