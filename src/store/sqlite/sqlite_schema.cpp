// The SQLite schema and its migrations. Times are integers: milliseconds since the epoch for
// store times, seconds for scheduled instants (what the occurrence key holds).
#include <array>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store_identity.hpp"

namespace solocron::detail {
namespace {

// Migration N brings the schema from version N to N+1. Never edit a released step: append.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
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
    // 2: claims bound to the claimant's lease, end messages, the store's identity and
    // retention marks. The store id itself is written by migrate_to().
    R"sql(
ALTER TABLE solocron_runs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE solocron_runs ADD COLUMN message TEXT NOT NULL DEFAULT '';
-- Active runs by occurrence key: the forbid check reads only the earlier active runs of a
-- job, and active_runs() all of them. (Not keyed by scheduled_at alone: when thousands of
-- active runs share one instant, a lookup by key must not scan them all.)
DROP INDEX solocron_runs_active;
CREATE INDEX solocron_runs_active ON solocron_runs (job, node_key, scheduled_at)
  WHERE state IN ('claimed', 'running');
-- Lost runs, which every node polls each heartbeat for at_least_once re-claims.
CREATE INDEX solocron_runs_lost ON solocron_runs (scheduled_at) WHERE state = 'lost';

CREATE TABLE solocron_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Per job, the newest instant retention deleted: no occurrence at or before it is claimed
-- or recorded again.
CREATE TABLE solocron_pruned (
  job     TEXT PRIMARY KEY,
  through INTEGER NOT NULL
);
)sql",
    // 3: the cluster's job set: each live node's definitions (under the lease that published).
    R"sql(
CREATE TABLE solocron_jobs (
  node_id      TEXT NOT NULL,
  lease_token  INTEGER NOT NULL,
  job          TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  definition   TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  PRIMARY KEY (node_id, job)
);
)sql",
    // 4: requested runs and pause states. A run asked for by `solocron trigger` is keyed by
    // its request too, so the runs table is rebuilt with the wider key (SQLite cannot alter a
    // constraint).
    R"sql(
CREATE TABLE solocron_runs_v4 (
  job          TEXT NOT NULL,
  node_key     TEXT NOT NULL,   -- the node for run_on: every_node occurrences, else ''
  scheduled_at INTEGER NOT NULL,
  request      INTEGER NOT NULL DEFAULT 0,  -- 0, or the solocron_requests id that asked for it
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
  lease_token  INTEGER NOT NULL DEFAULT 0,
  message      TEXT NOT NULL DEFAULT '',
  UNIQUE (job, node_key, scheduled_at, request)
);
INSERT INTO solocron_runs_v4 (job, node_key, scheduled_at, state, node, fence, attempt,
  claimed_at, started_at, finished_at, exit_code, signal, output_tail, lease_token, message)
SELECT job, node_key, scheduled_at, state, node, fence, attempt, claimed_at, started_at,
  finished_at, exit_code, signal, output_tail, lease_token, message FROM solocron_runs;
DROP TABLE solocron_runs;
ALTER TABLE solocron_runs_v4 RENAME TO solocron_runs;
CREATE INDEX solocron_runs_by_time ON solocron_runs (scheduled_at);
CREATE INDEX solocron_runs_by_job_time ON solocron_runs (job, scheduled_at);
CREATE INDEX solocron_runs_active ON solocron_runs (job, node_key, scheduled_at)
  WHERE state IN ('claimed', 'running');
CREATE INDEX solocron_runs_lost ON solocron_runs (scheduled_at) WHERE state = 'lost';

-- AUTOINCREMENT: ids only grow, even after the newest request is deleted.
CREATE TABLE solocron_requests (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  job          TEXT NOT NULL,
  at           INTEGER NOT NULL,  -- the occurrence's instant: requested_at in whole seconds
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  note         TEXT NOT NULL
);
CREATE INDEX solocron_requests_by_time ON solocron_requests (at);

-- Pause states (`solocron pause` / `resume`), one row per job ever paused.
CREATE TABLE solocron_job_controls (
  job        TEXT PRIMARY KEY,
  paused     INTEGER NOT NULL,
  paused_at  INTEGER NOT NULL,  -- seconds: the schedule's ticks at or after it are not run
  resumed_at INTEGER,           -- seconds: once resumed, the schedule goes on after it
  changed_by TEXT NOT NULL,
  note       TEXT NOT NULL,
  changed_at INTEGER NOT NULL
);
)sql",
    // 5: retries and backfill. What started a run's current attempt ('' for what its key
    // implies: the schedule's tick or a request), the attempts a retry replaced, and the
    // instants a backfill asked for.
    R"sql(
ALTER TABLE solocron_runs ADD COLUMN cause TEXT NOT NULL DEFAULT '';  -- '', 'backfill', 'retry'
-- Retry candidates: a job's failed runs by when they ended.
CREATE INDEX solocron_runs_failed ON solocron_runs (job, finished_at)
  WHERE state IN ('failed', 'timed_out');

-- Each attempt as it ended, kept when a retry started the next one.
CREATE TABLE solocron_attempts (
  job          TEXT NOT NULL,
  node_key     TEXT NOT NULL,
  scheduled_at INTEGER NOT NULL,
  request      INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,
  state        TEXT NOT NULL,
  node         TEXT NOT NULL,
  lease_token  INTEGER NOT NULL,
  fence        INTEGER NOT NULL,
  cause        TEXT NOT NULL,
  claimed_at   INTEGER,
  started_at   INTEGER,
  finished_at  INTEGER,
  exit_code    INTEGER,
  signal       INTEGER,
  output_tail  TEXT NOT NULL,
  message      TEXT NOT NULL,
  PRIMARY KEY (job, node_key, scheduled_at, request, attempt)
);

-- Backfills (`solocron backfill`): one row per instant asked for, under the backfill's id (a
-- counter: ids only grow).
INSERT INTO solocron_counters (name, value) VALUES ('backfill', 0);
CREATE TABLE solocron_backfill (
  id           INTEGER NOT NULL,
  job          TEXT NOT NULL,
  at           INTEGER NOT NULL,  -- the occurrence's instant, as solocron_runs.scheduled_at
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  note         TEXT NOT NULL,
  PRIMARY KEY (id, at)
);
CREATE INDEX solocron_backfill_by_time ON solocron_backfill (requested_at);
-- A backfilled run's asker: the first backfill of its instant.
CREATE INDEX solocron_backfill_by_key ON solocron_backfill (job, at, id);
)sql",
    // 6: what each node says it runs (its version), recorded with its lease.
    R"sql(
ALTER TABLE solocron_nodes ADD COLUMN version TEXT NOT NULL DEFAULT '';
)sql",
};

}  // namespace

std::int64_t SqliteStore::schema_version() {
  {
    auto exists = db().statement(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'solocron_schema_version'");
    if (!exists.step()) return 0;
  }
  auto q = db().statement("SELECT version FROM solocron_schema_version");
  return q.step() ? q.integer(0) : 0;
}

// Runs under an exclusive transaction: of several processes migrating at once, one applies
// the steps and the others, once they get the lock, find nothing left to do. Read-only, it
// writes nothing and only checks that the schema is the one this binary reads.
void SqliteStore::migrate_to(std::int64_t target) {
  std::lock_guard lock(mutex_);
  if (options_.read_only) {
    const std::int64_t version = schema_version();
    if (version == kSchemaVersion) return;
    throw StoreError(StoreError::Kind::invalid,
                     "sqlite: \"" + path_ + "\" has schema version " + std::to_string(version) +
                         ", this solocron reads version " + std::to_string(kSchemaVersion) +
                         " (opened read-only; a node started on it upgrades it)");
  }
  SqliteTransaction tx(db(), SqliteTransaction::Mode::exclusive);
  db().exec("CREATE TABLE IF NOT EXISTS solocron_schema_version (version INTEGER NOT NULL)");
  const std::int64_t version = schema_version();
  if (version > kSchemaVersion) {
    throw StoreError(StoreError::Kind::invalid,
                     "sqlite: schema version " + std::to_string(version) + " of \"" + path_ +
                         "\" is newer than this solocron (" + std::to_string(kSchemaVersion) + ")");
  }
  for (auto v = version; v < target; ++v) db().exec(kMigrations[static_cast<std::size_t>(v)]);
  if (version < 2 && target >= 2) {
    db().statement("INSERT INTO solocron_meta (key, value) VALUES ('store_id', ?1)")
        .bind(1, new_store_id())
        .run();
  }
  if (version < target) {
    db().exec("DELETE FROM solocron_schema_version");
    db().statement("INSERT INTO solocron_schema_version (version) VALUES (?1)")
        .bind(1, target)
        .run();
  }
  tx.commit();
}

}  // namespace solocron::detail
