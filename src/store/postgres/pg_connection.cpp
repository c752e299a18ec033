#include "store/postgres/pg_connection.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>

namespace solocron::detail {

using Clock = std::chrono::steady_clock;

// --- results and parameters ---

std::string_view PgResult::text(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::int64_t PgResult::integer(int row, int col) const {
  auto t = text(row, col);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) {
    throw StoreError(StoreError::Kind::internal,
                     "postgres: expected an integer, got \"" + std::string(t) + "\"");
  }
  return v;
}

std::optional<std::int64_t> PgResult::nullable(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return integer(row, col);
}

std::string_view PgRow::text(int col) const { return result.text(row, col); }
std::int64_t PgRow::integer(int col) const { return result.integer(row, col); }
std::optional<std::int64_t> PgRow::nullable(int col) const { return result.nullable(row, col); }

PgParams& PgParams::add(std::string v) {
  values_.emplace_back(std::move(v));
  return *this;
}

PgParams& PgParams::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> PgParams::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  return out;
}

void PgArray::sep() {
  if (!first_) body_ += ',';
  first_ = false;
}

void PgArray::add(std::string_view text) {
  sep();
  body_ += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') body_ += '\\';
    body_ += c;
  }
  body_ += '"';
}

void PgArray::add(std::int64_t v) {
  sep();
  body_ += std::to_string(v);
}

void PgArray::add(std::optional<std::int64_t> v) {
  if (v) return add(*v);
  sep();
  body_ += "NULL";
}

// --- the connection ---

PgConnection::PgConnection(std::string url, PgTimeouts timeouts, bool read_only)
    : url_(std::move(url)), timeouts_(timeouts), read_only_(read_only) {}

PgConnection::~PgConnection() { drop(); }

void PgConnection::drop() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

void PgConnection::fail(const std::string& what) {
  std::string message = "postgres " + describe_postgres_url(url_) + ": " + what;
  if (conn_) {
    std::string detail = PQerrorMessage(conn_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    if (!detail.empty()) message += ": " + detail;
  }
  drop();
  throw StoreError(StoreError::Kind::unavailable, message);
}

PGconn* PgConnection::connection() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) {
    // An idle connection that the server closed (restart, failover) is readable: find out now,
    // before anything is sent, while reconnecting is still harmless.
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (!PQconsumeInput(conn_) || PQstatus(conn_) != CONNECTION_OK)) {
      drop();
    }
  }
  if (conn_ && PQstatus(conn_) != CONNECTION_OK) drop();
  if (conn_) return conn_;

  // Our defaults first; the URL comes last so that what the operator wrote there wins.
  const std::string connect_timeout = std::to_string(timeouts_.connect_seconds);
  const std::string user_timeout = std::to_string(timeouts_.call.count());
  const std::string options =
      "-c statement_timeout=" + std::to_string(timeouts_.statement.count()) +
      " -c lock_timeout=" + std::to_string(timeouts_.statement.count()) +
      (read_only_ ? " -c default_transaction_read_only=on" : "");
  const char* keys[] = {"connect_timeout",  "keepalives",
                        "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout",
                        "application_name", "options",
                        "dbname",           nullptr};
  const char* values[] = {
      connect_timeout.c_str(), "1",          "2",    "1", "3", user_timeout.c_str(), "solocron",
      options.c_str(),         url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) fail("cannot connect");
  if (PQsetnonblocking(conn_, 1) != 0) fail("cannot make the connection non-blocking");
  // Server notices ("relation already exists, skipping") are not ours to print on stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return conn_;
}

void PgConnection::wait_socket(short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) fail("deadline exceeded");
    pollfd p{PQsocket(conn_), events, 0};
    int rc = poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (rc > 0) return;
    if (rc < 0 && errno != EINTR) fail("poll failed");
  }
}

template <class Start>
void PgConnection::send(Start&& start, Clock::time_point deadline) {
  if (!start()) fail("cannot send");
  for (;;) {
    int rc = PQflush(conn_);
    if (rc == 0) return;
    if (rc < 0) fail("cannot send");
    wait_socket(POLLOUT | POLLIN, deadline);
    if (!PQconsumeInput(conn_)) fail("connection lost");
  }
}

PGresult* PgConnection::receive(Clock::time_point deadline) {
  PGresult* kept = nullptr;  // the last result, or the first error
  for (;;) {
    while (PQisBusy(conn_)) {
      try {
        wait_socket(POLLIN, deadline);
      } catch (...) {
        PQclear(kept);
        throw;
      }
      if (!PQconsumeInput(conn_)) {
        PQclear(kept);
        fail("connection lost");
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) return kept;
    bool kept_is_error = kept && PQresultStatus(kept) == PGRES_FATAL_ERROR;
    if (kept_is_error) {
      PQclear(r);
    } else {
      PQclear(kept);
      kept = r;
    }
  }
}

namespace {
// Errors that mean "the store cannot serve us now" rather than "this statement is wrong":
// connection exceptions, shutdowns, timeouts, resource exhaustion.
bool is_outage(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") ||
         sqlstate == "55P03";  // lock_not_available (lock_timeout)
}
}  // namespace

PgResult PgConnection::exec(const char* sql, const PgParams& params) {
  const auto deadline = Clock::now() + timeouts_.call;
  connection();
  if (params.size() == 0) {
    send([&] { return PQsendQuery(conn_, sql); }, deadline);
  } else {
    auto ptrs = params.pointers();
    send(
        [&] {
          return PQsendQueryParams(conn_, sql, static_cast<int>(ptrs.size()), nullptr, ptrs.data(),
                                   nullptr, nullptr, 0);
        },
        deadline);
  }
  return finish(deadline);
}

PgResult PgConnection::exec_prepared(const char* name, const char* sql, const PgParams& params) {
  const auto deadline = Clock::now() + timeouts_.call;
  connection();
  if (!prepared_.contains(std::string_view(name))) {
    send([&] { return PQsendPrepare(conn_, name, sql, static_cast<int>(params.size()), nullptr); },
         deadline);
    finish(deadline);
    prepared_.emplace(name);
  }
  auto ptrs = params.pointers();
  send(
      [&] {
        return PQsendQueryPrepared(conn_, name, static_cast<int>(ptrs.size()), ptrs.data(), nullptr,
                                   nullptr, 0);
      },
      deadline);
  return finish(deadline);
}

PgResult PgConnection::finish(Clock::time_point deadline) {
  PGresult* r = receive(deadline);
  if (!r) fail("no result");
  ExecStatusType status = PQresultStatus(r);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return PgResult(r);
  const char* field = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string sqlstate = field ? field : "";
  std::string message = PQresultErrorMessage(r);
  PQclear(r);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (PQstatus(conn_) != CONNECTION_OK) fail(message);
  auto kind = is_outage(sqlstate) ? StoreError::Kind::unavailable : StoreError::Kind::internal;
  throw PgError(
      kind,
      "postgres " + describe_postgres_url(url_) + ": " + message + " (SQLSTATE " + sqlstate + ")",
      sqlstate);
}

void PgConnection::rollback_quietly() {
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  try {
    exec("ROLLBACK");
  } catch (const StoreError&) {
    drop();
  }
}

std::string describe_postgres_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "cannot parse";
    PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    // The URL is not quoted back whole: it may hold a password.
    throw StoreError(StoreError::Kind::invalid, "postgres store URL: " + why);
  }
  std::string user, host, port, db;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "user") user = o->val;
    if (k == "host") host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") db = o->val;
  }
  PQconninfoFree(opts);
  std::string out = "postgres://";
  if (!user.empty()) out += user + "@";
  out += host;
  if (!port.empty()) out += ":" + port;
  out += "/" + db;
  return out;
}

}  // namespace solocron::detail
