// One libpq connection with a deadline on every call.
//
// Each call is sent asynchronously and waited for with poll() on the socket, so a call never
// blocks longer than its deadline even when the network drops packets silently (where a
// blocking call would wait out TCP retransmissions). The server enforces statement_timeout,
// the kernel tcp_user_timeout and keepalives. A failed connection is dropped; the next call
// reconnects. Not thread-safe: PostgresStore serialises access.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "solocron/store.hpp"

namespace solocron::detail {

// Defaults below the default node_ttl (5 s): a node cut off from the store learns it from a
// failed call before its lease could have expired.
struct PgTimeouts {
  std::chrono::milliseconds call{4000};       // client-side deadline of one call
  std::chrono::milliseconds statement{3000};  // server-side statement_timeout and lock_timeout
  int connect_seconds = 3;                    // libpq connect_timeout (its minimum is 2)
};

// A failed statement, with the server's SQLSTATE (e.g. "40P01" deadlock detected).
class PgError : public StoreError {
 public:
  PgError(Kind kind, const std::string& message, std::string sqlstate)
      : StoreError(kind, message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool retryable() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

 private:
  std::string sqlstate_;
};

class PgResult;

// One row of a result, as sql_rows.hpp reads rows.
struct PgRow {
  const PgResult& result;
  int row;
  std::string_view text(int col) const;
  std::int64_t integer(int col) const;
  std::optional<std::int64_t> nullable(int col) const;
};

// A result set; columns read as text (the queries format what they return).
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string_view text(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  std::optional<std::int64_t> nullable(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  PgRow row(int i) const { return PgRow{*this, i}; }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

// Parameters in text format; nullopt is SQL NULL.
class PgParams {
 public:
  PgParams& add(std::string v);
  PgParams& add(std::int64_t v) { return add(std::to_string(v)); }
  PgParams& add_null();
  std::size_t size() const { return values_.size(); }
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// Builds a PostgreSQL array literal ({"a","b",NULL}) element by element.
class PgArray {
 public:
  void add(std::string_view text);
  void add(std::int64_t v);
  void add(std::optional<std::int64_t> v);
  std::string str() const { return body_ + "}"; }

 private:
  void sep();
  std::string body_ = "{";
  bool first_ = true;
};

class PgConnection {
 public:
  // read_only: every transaction of the session is read-only (default_transaction_read_only).
  PgConnection(std::string url, PgTimeouts timeouts, bool read_only = false);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement (several when `params` is empty and `sql` holds several). Throws
  // StoreError: `unavailable` for connection problems and deadlines (the connection is then
  // dropped), `internal` for other SQL errors with the server's message and SQLSTATE.
  PgResult exec(const char* sql, const PgParams& params = {});
  // The same through a statement prepared once per connection under `name` (hot paths:
  // the server plans it once instead of at every call).
  PgResult exec_prepared(const char* name, const char* sql, const PgParams& params);
  // After an error inside BEGIN ... COMMIT: rolls back if the connection is still there.
  void rollback_quietly();

 private:
  PGconn* connection();
  void drop();
  template <class Start>
  void send(Start&& start, std::chrono::steady_clock::time_point deadline);
  PgResult finish(std::chrono::steady_clock::time_point deadline);
  PGresult* receive(std::chrono::steady_clock::time_point deadline);
  void wait_socket(short events, std::chrono::steady_clock::time_point deadline);
  [[noreturn]] void fail(const std::string& what);

  std::string url_;
  PgTimeouts timeouts_;
  bool read_only_;
  PGconn* conn_ = nullptr;
  std::set<std::string, std::less<>> prepared_;  // on conn_
};

// The URL without password or query ("postgres://user@host:port/db"), for logs and describe().
// Throws StoreError(invalid) when libpq cannot parse it.
std::string describe_postgres_url(const std::string& url);

}  // namespace solocron::detail
