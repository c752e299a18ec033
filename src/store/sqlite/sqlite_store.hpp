// SqliteStore: the `sqlite:` store, for several processes on one host sharing one file.
//
// WAL lets readers run beside the one writer; every write is a BEGIN IMMEDIATE transaction
// (the write lock taken up front, waits bounded by busy_timeout), so inside it a read followed
// by a write is as atomic as one statement: a claim, its lease check and its fence are written
// together or not at all. The store's clock is the host's clock: all processes sharing the
// file run on this host.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "solocron/store.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace solocron::detail {

struct SqliteOptions {
  std::chrono::milliseconds busy_timeout{5000};  // the longest wait for another writer
  bool read_only = false;                        // see OpenOptions
};

class SqliteStore final : public Store {
 public:
  using NowSource = std::function<StoreTime()>;
  static constexpr std::int64_t kSchemaVersion = 6;

  // `path` is a file name as SQLite takes it. The file is opened on first use.
  explicit SqliteStore(std::string path, NowSource now_source = {}, SqliteOptions options = {});

  void migrate() override { migrate_to(kSchemaVersion); }
  // Applies the migrations up to `version` only (tests build older schemas with it).
  void migrate_to(std::int64_t version);
  StoreTime now() override;
  std::string describe() const override { return "sqlite:" + path_; }
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
  SqliteDb& db();
  std::int64_t now_ms() const;
  std::int64_t next_counter(const char* name);
  std::int64_t schema_version();
  bool lease_live(std::string_view node_id, std::int64_t token, std::int64_t now);
  ClaimResult claim_one(const ClaimRequest& request, std::int64_t now);
  bool backfill_open(const OccurrenceKey& key);
  std::vector<OccurrenceKey> interrupt_previous(const OccurrenceKey& key, std::int64_t now);
  bool update_one(const StateUpdate& update, std::int64_t now);
  std::optional<RunRecord> reclaim_one(const ReclaimRequest& request, std::int64_t now);
  std::optional<RunRecord> retry_one(const ReclaimRequest& request, std::int64_t now);
  std::vector<RunRecord> select_runs(SqliteStatement& q);
  // one(item, now) for each item, in one write transaction; the results in order.
  template <class In, class One>
  auto each_in_transaction(std::span<const In> items, One one);

  std::string path_;
  NowSource now_source_;
  SqliteOptions options_;
  std::mutex mutex_;  // one connection, used by one thread at a time
  std::unique_ptr<SqliteDb> db_;
};

template <class In, class One>
auto SqliteStore::each_in_transaction(std::span<const In> items, One one) {
  std::vector<decltype(one(items[0], std::int64_t{}))> out;
  if (items.empty()) return out;
  out.reserve(items.size());
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();  // read once the write lock is ours
  for (const auto& item : items) out.push_back(one(item, now));
  tx.commit();
  return out;
}

// Parses "sqlite:///abs/path.db", "sqlite:/abs/path.db" or "sqlite:relative.db", optionally
// followed by "?mode=ro" (read-only, as OpenOptions::read_only).
std::unique_ptr<Store> open_sqlite_store(const std::string& url, bool read_only);

}  // namespace solocron::detail
