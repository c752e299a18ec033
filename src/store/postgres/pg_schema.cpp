// The PostgreSQL schema and its migrations, applied under a transaction-scoped advisory lock
// so that any number of nodes starting at once migrate it exactly once.
#include <array>

#include "store/postgres/pg_store.hpp"
#include "store/store_identity.hpp"

namespace solocron::detail {
namespace {

// Chosen once; any other program using advisory locks on this database must avoid it.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7308044327436365156)";

// Migration N brings the schema from version N to N+1. Never edit a released step: append.
constexpr std::array<const char*, PostgresStore::kSchemaVersion> kMigrations = {
    R"sql(
CREATE FUNCTION solocron_ms(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT floor(extract(epoch FROM t) * 1000)::bigint $$;

CREATE SEQUENCE solocron_fence;
CREATE SEQUENCE solocron_lease_token;

CREATE TABLE solocron_nodes (
  node_id       text PRIMARY KEY,
  token         bigint NOT NULL,
  registered_at timestamptz NOT NULL,
  renewed_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);

CREATE TABLE solocron_runs (
  job          text NOT NULL,
  node_key     text NOT NULL,   -- the node for run_on: every_node occurrences, else ''
  scheduled_at timestamptz NOT NULL,
  state        text NOT NULL,
  node         text NOT NULL,   -- the claiming node ('' for missed)
  fence        bigint NOT NULL DEFAULT nextval('solocron_fence'),
  attempt      integer NOT NULL DEFAULT 1,
  claimed_at   timestamptz,
  started_at   timestamptz,
  finished_at  timestamptz,
  exit_code    integer,
  signal       integer,
  output_tail  text NOT NULL DEFAULT '',
  PRIMARY KEY (job, node_key, scheduled_at)
);
CREATE INDEX solocron_runs_by_time ON solocron_runs (scheduled_at);
CREATE INDEX solocron_runs_by_job_time ON solocron_runs (job, scheduled_at);
CREATE INDEX solocron_runs_active ON solocron_runs (node) WHERE state IN ('claimed', 'running');
)sql",
    // 2: claims bound to the claimant's lease, end messages, the store's identity and
    // retention marks. The store id itself is written by migrate_to().
    R"sql(
ALTER TABLE solocron_runs ADD COLUMN lease_token bigint NOT NULL DEFAULT 0,
                          ADD COLUMN message text NOT NULL DEFAULT '';
-- Active runs by occurrence key: the forbid check reads only the earlier active runs of a
-- job, and active_runs() all of them. (Not keyed by scheduled_at alone: when thousands of
-- active runs share one instant, a lookup by key must not scan them all.)
DROP INDEX solocron_runs_active;
CREATE INDEX solocron_runs_active ON solocron_runs (job, node_key, scheduled_at)
  WHERE state IN ('claimed', 'running');
-- Lost runs, which every node polls each heartbeat for at_least_once re-claims.
CREATE INDEX solocron_runs_lost ON solocron_runs (scheduled_at) WHERE state = 'lost';

CREATE TABLE solocron_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Per job, the newest instant retention deleted: no occurrence at or before it is claimed
-- or recorded again.
CREATE TABLE solocron_pruned (
  job     text PRIMARY KEY,
  through timestamptz NOT NULL
);
)sql",
    // 3: the cluster's job set: each live node's definitions (under the lease that published).
    R"sql(
CREATE TABLE solocron_jobs (
  node_id      text NOT NULL,
  lease_token  bigint NOT NULL,
  job          text NOT NULL,
  fingerprint  text NOT NULL,
  definition   text NOT NULL,
  published_at timestamptz NOT NULL,
  PRIMARY KEY (node_id, job)
);
)sql",
    // 4: requested runs (`solocron trigger`), keyed by their request too; pause states.
    R"sql(
ALTER TABLE solocron_runs ADD COLUMN request bigint NOT NULL DEFAULT 0;
ALTER TABLE solocron_runs DROP CONSTRAINT solocron_runs_pkey,
                          ADD PRIMARY KEY (job, node_key, scheduled_at, request);
CREATE TABLE solocron_requests (
  id           bigserial PRIMARY KEY,
  job          text NOT NULL,
  at           timestamptz NOT NULL,  -- the occurrence's instant: requested_at in whole seconds
  requested_at timestamptz NOT NULL,
  requested_by text NOT NULL,
  note         text NOT NULL
);
CREATE INDEX solocron_requests_by_time ON solocron_requests (at);
-- Pause states (`solocron pause` / `resume`), one row per job ever paused.
CREATE TABLE solocron_job_controls (
  job        text PRIMARY KEY,
  paused     boolean NOT NULL,
  paused_at  timestamptz NOT NULL,  -- the schedule's ticks at or after it are not run
  resumed_at timestamptz,           -- once resumed, the schedule goes on after it
  changed_by text NOT NULL,
  note       text NOT NULL,
  changed_at timestamptz NOT NULL
);
)sql",
    // 5: retries and backfill. What started a run's current attempt ('' for what its key
    // implies: the schedule's tick or a request), the attempts a retry replaced, and the
    // instants a backfill asked for.
    R"sql(
ALTER TABLE solocron_runs ADD COLUMN cause text NOT NULL DEFAULT '';  -- '', 'backfill', 'retry'
-- Retry candidates: a job's failed runs by when they ended.
CREATE INDEX solocron_runs_failed ON solocron_runs (job, finished_at)
  WHERE state IN ('failed', 'timed_out');

-- Each attempt as it ended, kept when a retry started the next one.
CREATE TABLE solocron_attempts (
  job          text NOT NULL,
  node_key     text NOT NULL,
  scheduled_at timestamptz NOT NULL,
  request      bigint NOT NULL,
  attempt      integer NOT NULL,
  state        text NOT NULL,
  node         text NOT NULL,
  lease_token  bigint NOT NULL,
  fence        bigint NOT NULL,
  cause        text NOT NULL,
  claimed_at   timestamptz,
  started_at   timestamptz,
  finished_at  timestamptz,
  exit_code    integer,
  signal       integer,
  output_tail  text NOT NULL,
  message      text NOT NULL,
  PRIMARY KEY (job, node_key, scheduled_at, request, attempt)
);

-- Backfills (`solocron backfill`): one row per instant asked for, under the backfill's id.
CREATE SEQUENCE solocron_backfill_id;
CREATE TABLE solocron_backfill (
  id           bigint NOT NULL,
  job          text NOT NULL,
  at           timestamptz NOT NULL,  -- the occurrence's instant, as solocron_runs.scheduled_at
  requested_at timestamptz NOT NULL,
  requested_by text NOT NULL,
  note         text NOT NULL,
  PRIMARY KEY (id, at)
);
CREATE INDEX solocron_backfill_by_time ON solocron_backfill (requested_at);
-- A backfilled run's asker: the first backfill of its instant.
CREATE INDEX solocron_backfill_by_key ON solocron_backfill (job, at, id);
)sql",
    // 6: what each node says it runs (its version), recorded with its lease.
    R"sql(
ALTER TABLE solocron_nodes ADD COLUMN version text NOT NULL DEFAULT '';
)sql",
};

}  // namespace

// Read-only, it writes nothing and only checks that the schema is the one this binary reads.
void PostgresStore::check_schema_read_only() {
  std::int64_t version = 0;
  if (conn_.exec("SELECT to_regclass('solocron_schema_version') IS NOT NULL").boolean(0, 0)) {
    version =
        conn_.exec("SELECT max(version) FROM solocron_schema_version").nullable(0, 0).value_or(0);
  }
  if (version == kSchemaVersion) return;
  throw StoreError(StoreError::Kind::invalid,
                   "postgres " + description_ + ": schema version " + std::to_string(version) +
                       ", this solocron reads version " + std::to_string(kSchemaVersion) +
                       " (opened read-only; a node started on it creates or upgrades it)");
}

void PostgresStore::migrate_to(std::int64_t target) {
  std::lock_guard lock(mutex_);
  if (read_only_) return check_schema_read_only();
  try {
    conn_.exec("BEGIN");
    conn_.exec(kMigrationLock);
    conn_.exec("CREATE TABLE IF NOT EXISTS solocron_schema_version (version integer NOT NULL)");
    auto r = conn_.exec("SELECT max(version) FROM solocron_schema_version");
    const std::int64_t version = r.nullable(0, 0).value_or(0);
    if (version > kSchemaVersion) {
      throw StoreError(StoreError::Kind::invalid,
                       "postgres " + description_ + ": schema version " + std::to_string(version) +
                           " is newer than this solocron (" + std::to_string(kSchemaVersion) + ")");
    }
    for (auto v = version; v < target; ++v) conn_.exec(kMigrations[static_cast<std::size_t>(v)]);
    if (version < 2 && target >= 2) {
      conn_.exec("INSERT INTO solocron_meta (key, value) VALUES ('store_id', $1)",
                 PgParams().add(new_store_id()));
    }
    if (version < target) {
      conn_.exec("DELETE FROM solocron_schema_version");
      conn_.exec("INSERT INTO solocron_schema_version (version) VALUES ($1)",
                 PgParams().add(target));
    }
    conn_.exec("COMMIT");
  } catch (...) {
    conn_.rollback_quietly();
    throw;
  }
}

}  // namespace solocron::detail
