// The PostgreSQL schema and its migrations, applied under a transaction-scoped advisory lock
// so that any number of nodes starting at once migrate it exactly once.
#include <array>

#include "store/postgres/pg_store.hpp"

namespace solocron::detail {
namespace {

// Chosen once; any other program using advisory locks on this database must avoid it.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7308044327436365156)";

// Migration N brings the schema from version N to N+1. Never edit a released step: append.
constexpr std::array<const char*, 1> kMigrations = {
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
};

}  // namespace

void PostgresStore::migrate() {
  std::lock_guard lock(mutex_);
  try {
    conn_.exec("BEGIN");
    conn_.exec(kMigrationLock);
    conn_.exec("CREATE TABLE IF NOT EXISTS solocron_schema_version (version integer NOT NULL)");
    auto r = conn_.exec("SELECT max(version) FROM solocron_schema_version");
    const std::int64_t version = r.nullable(0, 0).value_or(0);
    const auto latest = static_cast<std::int64_t>(kMigrations.size());
    if (version > latest) {
      throw StoreError(StoreError::Kind::invalid,
                       "postgres " + description_ + ": schema version " + std::to_string(version) +
                           " is newer than this solocron (" + std::to_string(latest) + ")");
    }
    for (auto v = version; v < latest; ++v) conn_.exec(kMigrations[static_cast<std::size_t>(v)]);
    if (version != latest) {
      conn_.exec("DELETE FROM solocron_schema_version");
      conn_.exec("INSERT INTO solocron_schema_version (version) VALUES ($1)",
                 PgParams().add(latest));
    }
    conn_.exec("COMMIT");
  } catch (...) {
    conn_.rollback_quietly();
    throw;
  }
}

}  // namespace solocron::detail
