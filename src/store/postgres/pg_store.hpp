// PostgresStore: the `postgres:` store (libpq).
//
// Every primitive is one statement (a claim batch is one INSERT ... SELECT FROM unnest(...)
// ON CONFLICT DO NOTHING with the lease check, the skew guard, the retention mark and the
// overlap check in its WHERE clause), so there is no read-then-write window between nodes.
// Fences come from a sequence; "now", lease expiry and the skew guard use the database's
// clock. Every call has a deadline (see PgConnection); after a failure the next call
// reconnects. One connection per store object, guarded by a mutex.
#pragma once

#include <initializer_list>
#include <mutex>

#include "solocron/store.hpp"
#include "store/postgres/pg_connection.hpp"

namespace solocron::detail {

// A batch's occurrence keys as the first parameters of an unnest(): $1 the request index,
// $2 job, $3 node_key, $4 scheduled_at (epoch seconds); each statement's own columns follow.
// Whether the occurrence (job, at, request) is a scheduled tick of a paused job.
#define SOLOCRON_PG_PAUSED(job, at, request)                                           \
  "(" request " = 0 AND EXISTS (SELECT 1 FROM solocron_job_controls c WHERE c.job = " job \
  " AND c.paused AND c.paused_at <= " at "))"

struct PgKeyArrays {
  PgArray idx, job, node_key, at, request;

  void add(std::size_t i, const OccurrenceKey& k) {
    idx.add(static_cast<std::int64_t>(i));
    job.add(k.job);
    node_key.add(k.node);
    at.add(std::int64_t{k.scheduled_at.time_since_epoch().count()});
    request.add(k.request);
  }
  PgParams params(std::initializer_list<const PgArray*> more) const {
    PgParams p;
    for (const PgArray* a : {&idx, &job, &node_key, &at, &request}) p.add(a->str());
    for (const PgArray* a : more) p.add(a->str());
    return p;
  }
};

class PostgresStore final : public Store {
 public:
  static constexpr std::int64_t kSchemaVersion = 6;

  // Throws StoreError(invalid) if libpq cannot parse `url`. Connects on first use.
  explicit PostgresStore(std::string url, PgTimeouts timeouts = {}, bool read_only = false);

  void migrate() override { migrate_to(kSchemaVersion); }
  // Applies the migrations up to `version` only (tests build older schemas with it).
  void migrate_to(std::int64_t version);
  StoreTime now() override;
  std::string describe() const override { return description_; }
  std::string identity() override;
  std::unique_ptr<Store> another_connection(std::chrono::milliseconds call_deadline) override;

  using Store::register_node;
  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl,
                               const NodeInfo& info) override;
  std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override;
  void release_node(std::string_view node_id, std::int64_t token) override;
  std::vector<NodeLease> nodes() override;
  bool publish_jobs(std::string_view node_id, std::int64_t lease_token,
                    std::span<const PublishedJob> jobs) override;
  std::vector<PublishedJobRow> published_jobs() override;

  std::vector<ClaimResult> claim(std::span<const ClaimRequest> requests) override;
  std::vector<bool> update(std::span<const StateUpdate> updates) override;
  std::vector<bool> record_missed(std::span<const OccurrenceKey> keys) override;
  std::vector<bool> recorded(std::span<const OccurrenceKey> keys) override;
  std::vector<std::optional<RunRecord>> reclaim(std::span<const ReclaimRequest> requests) override;

  std::vector<std::optional<RunRecord>> retry(std::span<const ReclaimRequest> requests) override;
  std::vector<RunRecord> retry_candidates(std::span<const std::string> jobs,
                                          StoreTime finished_since) override;
  std::vector<RunRecord> earlier_attempts(std::span<const OccurrenceKey> keys) override;
  std::int64_t request_backfill(std::string_view job,
                                std::span<const std::chrono::sys_seconds> instants,
                                std::string_view requested_by, std::string_view note) override;
  std::vector<BackfillItem> pending_backfill(StoreTime since) override;

  RunRequest request_run(std::string_view job, std::string_view requested_by,
                         std::string_view note) override;
  std::vector<RunRequest> pending_requests(std::string_view node_id,
                                           std::chrono::sys_seconds since) override;

  std::vector<JobControl> job_controls() override;
  std::optional<JobControl> pause_job(std::string_view job, std::string_view by,
                                      std::string_view note) override;
  std::optional<JobControl> resume_job(std::string_view job, std::chrono::sys_seconds paused_at,
                                       std::chrono::sys_seconds until, std::string_view by,
                                       std::string_view note,
                                       const std::optional<PausedSpan>& span) override;
  void seed_paused(std::span<const std::string> jobs) override;

  std::vector<RunRecord> history(const HistoryQuery& query) override;
  std::vector<std::optional<std::chrono::sys_seconds>> last_scheduled(
      std::span<const std::string> jobs) override;
  std::vector<RunRecord> active_runs(std::string_view node_id) override;
  std::vector<RunRecord> orphaned_runs() override;
  void prune(std::string_view job, std::size_t keep_last,
             std::optional<std::chrono::seconds> max_age) override;

 private:
  std::vector<std::optional<RunRecord>> take_over(std::span<const ReclaimRequest> requests,
                                                  const char* sql);
  void check_schema_read_only();
  // Claims `requests` (distinct keys, none with overlap: replace) in one statement.
  void claim_batch(std::span<const ClaimRequest* const> requests, std::span<ClaimResult*> out);
  ClaimResult claim_replacing(const ClaimRequest& request);
  // Runs `fn` again when the server reports a deadlock or serialization failure.
  template <class Fn>
  auto retrying(Fn&& fn) {
    for (int attempt = 1;; ++attempt) {
      try {
        return fn();
      } catch (const PgError& e) {
        conn_.rollback_quietly();
        if (!e.retryable() || attempt >= 5) throw;
      }
    }
  }

  std::string url_;
  std::string description_;
  bool read_only_;
  std::mutex mutex_;
  PgConnection conn_;
};

std::unique_ptr<Store> open_postgres_store(const std::string& url, bool read_only);

// A stored time as the integers sql_rows.hpp reads: epoch seconds, epoch milliseconds.
#define SOLOCRON_PG_SECONDS(col) "extract(epoch FROM " col ")::bigint"
#define SOLOCRON_PG_MS(col) "solocron_ms(" col ")"
#define SOLOCRON_PG_RUN_COLUMNS SOLOCRON_RUN_COLUMNS(SOLOCRON_PG_SECONDS, SOLOCRON_PG_MS)
// The runs of a result whose columns are SOLOCRON_PG_RUN_COLUMNS from column `c` on.
std::vector<RunRecord> read_runs(const PgResult& r, int c = 0);

// Whether the lease under which the run `run` (a table alias) was claimed is live now.
#define SOLOCRON_PG_HOLDER_LIVE(run)                                                         \
  "EXISTS (SELECT 1 FROM solocron_nodes n WHERE n.node_id = " run ".node AND n.token = " run \
  ".lease_token AND n.expires_at > now())"

}  // namespace solocron::detail
