// PostgresStore: the `postgres:` store (libpq).
//
// Every primitive is one statement (a claim batch is one INSERT ... SELECT FROM unnest(...)
// ON CONFLICT DO NOTHING with the skew guard and the overlap check in its WHERE clause), so
// there is no read-then-write window between nodes. Fences come from a sequence; "now",
// lease expiry and the skew guard use the database's clock. Every call has a deadline (see
// PgConnection); after a failure the next call reconnects. One connection per store object,
// guarded by a mutex.
#pragma once

#include <mutex>

#include "solocron/store.hpp"
#include "store/postgres/pg_connection.hpp"

namespace solocron::detail {

class PostgresStore final : public Store {
 public:
  // Throws StoreError(invalid) if libpq cannot parse `url`. Connects on first use.
  explicit PostgresStore(std::string url, PgTimeouts timeouts = {});

  void migrate() override;
  StoreTime now() override;
  std::string describe() const override { return description_; }

  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl) override;
  std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override;
  void release_node(std::string_view node_id, std::int64_t token) override;
  std::vector<NodeLease> nodes() override;

  std::vector<ClaimResult> claim(std::span<const ClaimRequest> requests) override;
  std::vector<bool> update(std::span<const StateUpdate> updates) override;
  void record_missed(std::span<const OccurrenceKey> keys) override;

  std::vector<RunRecord> mark_lost() override;
  std::optional<RunRecord> reclaim_lost(const OccurrenceKey& key,
                                        std::string_view node_id) override;

  std::vector<RunRecord> history(const HistoryQuery& query) override;
  std::optional<std::chrono::sys_seconds> last_scheduled(std::string_view job) override;
  std::vector<RunRecord> active_runs(std::string_view node_id) override;
  void prune(std::string_view job, std::size_t keep_last,
             std::optional<std::chrono::seconds> max_age) override;

 private:
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

  std::string description_;
  std::mutex mutex_;
  PgConnection conn_;
};

std::unique_ptr<Store> open_postgres_store(const std::string& url);

// Columns of a run, in the order read_run() expects.
#define SOLOCRON_PG_RUN_COLUMNS                                                             \
  "job, node_key, extract(epoch from scheduled_at)::bigint, state, node, fence, attempt, "  \
  "solocron_ms(claimed_at), solocron_ms(started_at), solocron_ms(finished_at), exit_code, " \
  "signal, output_tail"
RunRecord read_pg_run(const PgResult& r, int row, int first_col = 0);
StoreTime pg_store_time(std::int64_t ms);

}  // namespace solocron::detail
