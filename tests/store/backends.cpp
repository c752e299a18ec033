#include "store/backends.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace solocron::testing {

SqliteBackend::SqliteBackend() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "solocron-sqlite-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  path_ = dir_ + "/state.db";
}

SqliteBackend::~SqliteBackend() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

namespace {
// Runs `sql` on the SQLite file at `path`, outside solocron's code.
void sqlite_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  char* error = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string why = error ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + why);
}
}  // namespace

void SqliteBackend::create_version_1_with_run(const std::string& job, std::chrono::sys_seconds at) {
  detail::SqliteStore(path_).migrate_to(1);
  const auto s = std::to_string(at.time_since_epoch().count());
  sqlite_exec(path_,
              "INSERT INTO solocron_runs (job, node_key, scheduled_at, state, node, fence, "
              "attempt, claimed_at, started_at, finished_at, exit_code, output_tail) VALUES ('" +
                  job + "', '', " + s + ", 'succeeded', 'a', 7, 1, " + s + "000, " + s + "000, " +
                  s + "000, 0, 'v1 output')");
}

void SqliteBackend::create_version_4_with_runs(const std::string& job,
                                               std::chrono::sys_seconds at) {
  detail::SqliteStore(path_).migrate_to(4);
  const auto s = std::to_string(at.time_since_epoch().count());
  const auto later = std::to_string(at.time_since_epoch().count() + 30);
  sqlite_exec(
      path_,
      "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence, "
      "attempt, claimed_at, started_at, finished_at, exit_code, output_tail, lease_token, "
      "message) VALUES ('" + job + "', '', " + s + ", 0, 'failed', 'a', 7, 1, " + s + "000, " +
          s + "000, " + s + "500, 2, 'v4 output', 3, 'exit 2'), ('" + job + "', '', " + later +
          ", 1, 'succeeded', 'a', 8, 1, " + later + "000, " + later + "000, " + later +
          "000, 0, '', 3, '');"
          // The first request of a fresh store: id 1.
          "INSERT INTO solocron_requests (job, at, requested_at, requested_by, note) VALUES "
          "('" + job + "', " + later + ", " + later + "000, 'alice', 'v4 note');"
          // A node's lease from before schema 6 (long expired): it has no version.
          "INSERT INTO solocron_nodes (node_id, token, registered_at, renewed_at, expires_at) "
          "VALUES ('a', 3, " + s + "000, " + s + "000, " + later + "000);"
          "UPDATE solocron_counters SET value = 8 WHERE name = 'fence'");
}

}  // namespace solocron::testing

// --- PostgreSQL: one throwaway server per test process, one database per test ---

namespace solocron::testing {
namespace {

namespace fs = std::filesystem;

struct PgServer {
  std::string dir;        // empty when the server was given (SOLOCRON_TEST_PG_URL)
  std::string host_port;  // "127.0.0.1:PORT"
};

std::mutex pg_mutex;
std::optional<PgServer> pg_server;
bool pg_private = false;  // set by tests that stop the server: never the shared one

std::string pg_script() {
  // tests/store/backends.cpp -> scripts/pg-server.sh
  return (fs::path(__FILE__).parent_path().parent_path().parent_path() / "scripts" / "pg-server.sh")
      .string();
}

std::string run_script(const std::string& args) {
  // fsync off: test databases are thrown away, and the suite creates one per test.
  std::string cmd =
      "SOLOCRON_PG_OPTS='-c fsync=off -c synchronous_commit=off "
      "-c full_page_writes=off' '" +
      pg_script() + "' " + args;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) out += buf;
  if (pclose(f) != 0) throw std::runtime_error("failed: " + cmd + "\n" + out);
  return out;
}

std::map<std::string, std::string> parse_env(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    pos = end + 1;
  }
  return kv;
}

PgServer& server() {
  std::lock_guard lock(pg_mutex);
  if (pg_server) return *pg_server;
  const char* given = pg_private ? nullptr : getenv("SOLOCRON_TEST_PG_HOSTPORT");
  if (given != nullptr) {
    pg_server = PgServer{"", given};
    return *pg_server;
  }
  auto kv = parse_env(run_script("start --env --owner " + std::to_string(getpid())));
  pg_server = PgServer{kv.at("SOLOCRON_PG_DIR"), "127.0.0.1:" + kv.at("SOLOCRON_PG_PORT")};
  return *pg_server;
}

std::string url_for(const std::string& database) {
  return "postgres://postgres@" + server().host_port + "/" + database + "?sslmode=disable";
}

// Runs `sql` on `database`, outside solocron's code.
void exec_on(const std::string& database, const std::string& sql) {
  PGconn* c = PQconnectdb(url_for(database).c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  if (!error.empty()) throw std::runtime_error(sql + ": " + error);
}

void admin(const std::string& sql) { exec_on("postgres", sql); }

class PgEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard lock(pg_mutex);
    if (pg_server && !pg_server->dir.empty()) run_script("stop " + pg_server->dir);
    pg_server.reset();
  }
};
[[maybe_unused]] auto* const pg_environment =
    ::testing::AddGlobalTestEnvironment(new PgEnvironment);

int next_database = 0;

}  // namespace

PostgresBackend::PostgresBackend() {
  database_ = "solocron_t" + std::to_string(getpid()) + "_" + std::to_string(next_database++);
  admin("CREATE DATABASE " + database_);
  url_ = url_for(database_);
}

PostgresBackend::~PostgresBackend() {
  try {
    admin("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    fprintf(stderr, "%s\n", e.what());
  }
}

void PostgresBackend::create_version_1_with_run(const std::string& job,
                                                std::chrono::sys_seconds at) {
  detail::PostgresStore(url_).migrate_to(1);
  const std::string t = "to_timestamp(" + std::to_string(at.time_since_epoch().count()) + ")";
  exec_on(database_,
          "INSERT INTO solocron_runs (job, node_key, scheduled_at, state, node, fence, attempt, "
          "claimed_at, started_at, finished_at, exit_code, output_tail) VALUES ('" +
              job + "', '', " + t + ", 'succeeded', 'a', 7, 1, " + t + ", " + t + ", " + t +
              ", 0, 'v1 output')");
}

void PostgresBackend::create_version_4_with_runs(const std::string& job,
                                                 std::chrono::sys_seconds at) {
  detail::PostgresStore(url_).migrate_to(4);
  const std::string t = "to_timestamp(" + std::to_string(at.time_since_epoch().count()) + ")";
  const std::string later =
      "to_timestamp(" + std::to_string(at.time_since_epoch().count() + 30) + ")";
  exec_on(database_,
          "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence, "
          "attempt, claimed_at, started_at, finished_at, exit_code, output_tail, lease_token, "
          "message) VALUES ('" + job + "', '', " + t + ", 0, 'failed', 'a', 7, 1, " + t + ", " +
              t + ", " + t + " + interval '0.5 s', 2, 'v4 output', 3, 'exit 2'), ('" + job +
              "', '', " + later + ", 1, 'succeeded', 'a', 8, 1, " + later + ", " + later + ", " +
              later + ", 0, '', 3, '');"
              // The first request of a fresh store: id 1.
              "INSERT INTO solocron_requests (job, at, requested_at, requested_by, note) "
              "VALUES ('" + job + "', " + later + ", " + later + ", 'alice', 'v4 note');"
              // A node's lease from before schema 6 (long expired): it has no version.
              "INSERT INTO solocron_nodes (node_id, token, registered_at, renewed_at, "
              "expires_at) VALUES ('a', 3, " + t + ", " + t + ", " + later + ");"
              "ALTER SEQUENCE solocron_fence RESTART WITH 9");
}

std::string postgres_server_url() { return url_for("postgres"); }

void postgres_server_private() {
  std::lock_guard lock(pg_mutex);
  // Already on a server this process started: that one may be halted.
  if (pg_server && !pg_server->dir.empty()) return;
  if (pg_server) throw std::runtime_error("postgres_server_private() must come before any use");
  pg_private = true;
}

void postgres_server_halt() {
  auto& s = server();
  if (s.dir.empty()) throw std::runtime_error("server not ours: cannot halt it");
  run_script("halt " + s.dir);
}

void postgres_server_resume() { run_script("resume " + server().dir); }

}  // namespace solocron::testing
