#include "store/sqlite/sqlite_db.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace solocron::detail {

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  std::string message =
      "sqlite: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
      throw StoreError(StoreError::Kind::unavailable, message);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw StoreError(StoreError::Kind::invalid, message);
    default:
      throw StoreError(StoreError::Kind::internal, message);
  }
}

SqliteStatement& SqliteStatement::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int i, std::optional<std::int64_t> v) {
  int rc = v ? sqlite3_bind_int64(stmt_, i, *v) : sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "bind");
  return *this;
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  if ((rc & 0xff) == SQLITE_READONLY && refused_) *refused_ = true;
  throw_sqlite(db_, rc, sqlite3_sql(stmt_));
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::optional<std::int64_t> SqliteStatement::nullable(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}

std::string SqliteStatement::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

namespace {

// Creates `path` empty with mode 0600 unless it exists. SQLite would create it with 0644
// minus the umask; its -wal and -shm files take the database file's mode.
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;  // exists already, or sqlite3_open_v2 reports why not
  ::fchmod(fd, 0600);  // the umask may have taken bits away
  ::close(fd);
}

[[noreturn]] void throw_cannot_open(const std::string& path, const std::string& why) {
  // A directory that is missing or not writable is a configuration error: waiting will not
  // fix it, so the node should stop and say so instead of retrying forever.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw StoreError(StoreError::Kind::invalid, "sqlite: cannot open \"" + path + "\": " + why +
                                                    " (directory \"" + dir +
                                                    "\" is missing or not writable)");
  }
  throw StoreError(StoreError::Kind::unavailable, "sqlite: cannot open \"" + path + "\": " + why);
}

}  // namespace

SqliteDb::SqliteDb(const std::string& path, std::chrono::milliseconds busy_timeout,
                   bool read_only) {
  if (read_only && ::access(path.c_str(), F_OK) != 0) {
    throw StoreError(StoreError::Kind::invalid,
                     "sqlite: \"" + path +
                         "\" does not exist (opened read-only; use --store or run a node first)");
  }
  if (!read_only) create_private_file(path);
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  struct stat st {};
  if (rc == SQLITE_OK && ::stat(path.c_str(), &st) != 0) rc = SQLITE_CANTOPEN;
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    if (read_only) {
      throw StoreError(StoreError::Kind::invalid, "sqlite: cannot open \"" + path + "\": " + msg);
    }
    throw_cannot_open(path, msg);
  }
  std::error_code ec;
  absolute_path_ = std::filesystem::absolute(path, ec).string();
  if (ec) absolute_path_ = path;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  busy_timeout_ = busy_timeout;
  sqlite3_busy_handler(db_, &SqliteDb::on_busy, this);
  if (read_only) return;
  // Switching to WAL needs a moment of exclusive access; when several processes open a new
  // file at once, the losers see SQLITE_BUSY even with the busy timeout. Retry briefly.
  for (int attempt = 0;; ++attempt) {
    try {
      exec("PRAGMA journal_mode=WAL");
      break;
    } catch (const StoreError&) {
      if (attempt >= 50) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // NORMAL in WAL mode: a commit survives a crash of the process (the case that matters on
  // one host); only a power loss may lose the last commits.
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA foreign_keys=OFF");
}

// SQLite's own busy timeout sleeps 1, 2, 5, 10 ... 100 ms between tries: under the short,
// frequent write transactions of several nodes on one file that is most of the time. Waiting
// in steps of at most a millisecond (with a little jitter so that waiters do not move in step)
// keeps the write lock busy instead, up to the same deadline.
int SqliteDb::on_busy(void* self, int tries) {
  auto* db = static_cast<SqliteDb*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (tries == 0) db->busy_since_ = now;
  if (now - db->busy_since_ >= db->busy_timeout_) return 0;
  const auto step = std::chrono::microseconds(std::min(1000, 50 * (1 << std::min(tries, 5))) +
                                              static_cast<int>(now.time_since_epoch().count() % 50));
  std::this_thread::sleep_for(step);
  return 1;
}

bool SqliteDb::still_there() const {
  struct stat st {};
  return ::stat(absolute_path_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

SqliteStatement SqliteDb::statement(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, sql);
    it = cache_.emplace(sql, stmt).first;
  }
  sqlite3_reset(it->second);
  sqlite3_clear_bindings(it->second);
  return SqliteStatement(db_, it->second, &writes_refused_);
}

void SqliteDb::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    if ((rc & 0xff) == SQLITE_READONLY) writes_refused_ = true;
    throw_sqlite(db_, rc, sql);
  }
}

SqliteTransaction::SqliteTransaction(SqliteDb& db, Mode mode) : db_(db) {
  db_.exec(mode == Mode::immediate   ? "BEGIN IMMEDIATE"
           : mode == Mode::exclusive ? "BEGIN EXCLUSIVE"
                                     : "BEGIN DEFERRED");
}

SqliteTransaction::~SqliteTransaction() {
  if (!open_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const StoreError&) {
    // The transaction may already have been rolled back by SQLite itself (I/O error).
  }
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace solocron::detail
