// A thin RAII layer over the SQLite C API: a connection, cached prepared statements and
// transactions. Failures become StoreError carrying SQLite's message.
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "solocron/store.hpp"

namespace solocron::detail {

// Throws StoreError for an SQLite result code: busy/locked/I/O are `unavailable` (another
// process holds the file too long, or the disk failed), the rest `internal`.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

class SqliteStatement {
 public:
  // `refused` is set when a step fails because the connection cannot write.
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, bool* refused = nullptr)
      : db_(db), stmt_(stmt), refused_(refused) {}
  // Resetting at the end of the scope ends the implicit read transaction of a SELECT that
  // was not stepped to its end.
  ~SqliteStatement() {
    if (stmt_) sqlite3_reset(stmt_);
  }
  SqliteStatement(SqliteStatement&& o) noexcept : db_(o.db_), stmt_(o.stmt_), refused_(o.refused_) {
    o.stmt_ = nullptr;
  }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binding by 1-based position; nullopt binds NULL.
  SqliteStatement& bind(int i, std::int64_t v);
  SqliteStatement& bind(int i, std::string_view v);
  SqliteStatement& bind(int i, std::optional<std::int64_t> v);
  // Steps once: true when a row is available.
  bool step();
  // Steps to the end (for statements without rows).
  void run();
  void reset();

  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<std::int64_t> nullable(int col) const;
  std::string text(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* refused_;
};

class SqliteDb {
 public:
  // Opens the file and sets the busy timeout. Read-write: creates the file if needed (0600,
  // whatever the umask; SQLite gives its -wal and -shm files the same mode) and switches it
  // to WAL. Read-only: never creates nor writes; a missing file is StoreError(invalid).
  SqliteDb(const std::string& path, std::chrono::milliseconds busy_timeout, bool read_only);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // A cached prepared statement, reset and unbound, ready for new bindings.
  SqliteStatement statement(const char* sql);
  void exec(const char* sql);
  int changes() const { return sqlite3_changes(db_); }
  // This connection cannot write: SQLite opened the file read-only (it was not writable when
  // opened), or a write was refused since. A new connection may do better.
  bool cannot_write() const { return writes_refused_ || sqlite3_db_readonly(db_, "main") == 1; }
  // Whether the path it was opened by still names the file this connection opened (same
  // device and inode), resolved against the working directory of the time of opening.
  bool still_there() const;

 private:
  static int on_busy(void* self, int tries);

  sqlite3* db_ = nullptr;
  std::chrono::milliseconds busy_timeout_{0};
  bool writes_refused_ = false;
  std::chrono::steady_clock::time_point busy_since_{};
  std::string absolute_path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

// BEGIN IMMEDIATE (or EXCLUSIVE) ... COMMIT, rolled back if not committed. IMMEDIATE takes
// the write lock up front, so a transaction never fails half-way on a lock upgrade and
// another process never sees a half-written claim. DEFERRED: several reads from one snapshot.
class SqliteTransaction {
 public:
  enum class Mode { immediate, exclusive, deferred };
  explicit SqliteTransaction(SqliteDb& db, Mode mode = Mode::immediate);
  ~SqliteTransaction();
  void commit();

 private:
  SqliteDb& db_;
  bool open_ = true;
};

}  // namespace solocron::detail
