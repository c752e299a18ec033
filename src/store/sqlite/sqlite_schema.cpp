// The SQLite schema and its migrations. Times are integers: milliseconds since the epoch for
// store times, seconds for scheduled instants (what the occurrence key holds).
#include <array>

#include "store/sqlite/sqlite_store.hpp"

namespace solocron::detail {
namespace {

// Migration N brings the schema from version N to N+1. Never edit a released step: append.
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
CREATE TABLE solocron_counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO solocron_counters (name, value) VALUES ('fence', 0), ('lease_token', 0);

CREATE TABLE solocron_nodes (
  node_id       TEXT PRIMARY KEY,
  token         INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  renewed_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
);

CREATE TABLE solocron_runs (
  job          TEXT NOT NULL,
  node_key     TEXT NOT NULL,   -- the node for run_on: every_node occurrences, else ''
  scheduled_at INTEGER NOT NULL,
  state        TEXT NOT NULL,
  node         TEXT NOT NULL,   -- the claiming node ('' for missed)
  fence        INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,
  claimed_at   INTEGER,
  started_at   INTEGER,
  finished_at  INTEGER,
  exit_code    INTEGER,
  signal       INTEGER,
  output_tail  TEXT NOT NULL DEFAULT '',
  UNIQUE (job, node_key, scheduled_at)
);
CREATE INDEX solocron_runs_by_time ON solocron_runs (scheduled_at);
CREATE INDEX solocron_runs_by_job_time ON solocron_runs (job, scheduled_at);
CREATE INDEX solocron_runs_active ON solocron_runs (node) WHERE state IN ('claimed', 'running');
)sql",
};

}  // namespace

// Runs under an exclusive transaction: of several processes migrating at once, one applies
// the steps and the others, once they get the lock, find nothing left to do.
void SqliteStore::migrate() {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db(), SqliteTransaction::Mode::exclusive);
  db().exec("CREATE TABLE IF NOT EXISTS solocron_schema_version (version INTEGER NOT NULL)");
  std::int64_t version = 0;
  {
    auto q = db().statement("SELECT version FROM solocron_schema_version");
    if (q.step()) version = q.integer(0);
  }
  const auto latest = static_cast<std::int64_t>(kMigrations.size());
  if (version > latest) {
    throw StoreError(StoreError::Kind::invalid,
                     "sqlite: schema version " + std::to_string(version) + " of \"" + path_ +
                         "\" is newer than this solocron (" + std::to_string(latest) + ")");
  }
  for (auto v = version; v < latest; ++v) db().exec(kMigrations[static_cast<std::size_t>(v)]);
  if (version != latest) {
    db().exec("DELETE FROM solocron_schema_version");
    db().statement("INSERT INTO solocron_schema_version (version) VALUES (?1)")
        .bind(1, latest)
        .run();
  }
  tx.commit();
}

}  // namespace solocron::detail
