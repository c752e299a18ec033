// SqliteStore: the `sqlite:` store, for several processes on one host sharing one file.
//
// WAL lets readers run beside the one writer; every write is a BEGIN IMMEDIATE transaction
// (the write lock taken up front, waits bounded by busy_timeout), so a claim and its fence
// are written together or not at all. The store's clock is the host's clock: all processes
// sharing the file run on this host.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "solocron/store.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace solocron::detail {

class SqliteStore final : public Store {
 public:
  using NowSource = std::function<StoreTime()>;
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};

  // `path` is a file name as SQLite takes it. The file is opened on first use.
  explicit SqliteStore(std::string path, NowSource now_source = {});

  void migrate() override;
  StoreTime now() override;
  std::string describe() const override { return "sqlite:" + path_; }

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
  SqliteDb& db();
  std::int64_t now_ms() const;
  std::int64_t next_counter(const char* name);
  ClaimResult claim_one(const ClaimRequest& request, std::int64_t now);
  std::vector<OccurrenceKey> interrupt_previous(const OccurrenceKey& key, std::int64_t now);
  bool update_one(const StateUpdate& update, std::int64_t now);
  std::vector<RunRecord> select_runs(SqliteStatement& q);

  std::string path_;
  NowSource now_source_;
  std::mutex mutex_;  // one connection, used by one thread at a time
  std::unique_ptr<SqliteDb> db_;
};

// Parses "sqlite:///abs/path.db", "sqlite:/abs/path.db" or "sqlite:relative.db".
std::unique_ptr<Store> open_sqlite_store(const std::string& url);

}  // namespace solocron::detail
