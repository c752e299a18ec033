#include "store/postgres/pg_store.hpp"

#include <algorithm>

#include "store/state_names.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

#define LEASE_COLUMNS \
  "node_id, token, solocron_ms(registered_at), solocron_ms(renewed_at), solocron_ms(expires_at)"

NodeLease read_lease(const PgResult& r, int row, std::int64_t now_ms) {
  NodeLease l;
  l.node_id = std::string(r.text(row, 0));
  l.token = r.integer(row, 1);
  l.registered_at = pg_store_time(r.integer(row, 2));
  l.renewed_at = pg_store_time(r.integer(row, 3));
  l.expires_at = pg_store_time(r.integer(row, 4));
  l.live = r.integer(row, 4) > now_ms;
  return l;
}

std::optional<StoreTime> nullable_time(const PgResult& r, int row, int col) {
  auto v = r.nullable(row, col);
  if (!v) return std::nullopt;
  return pg_store_time(*v);
}

std::optional<int> nullable_int(const PgResult& r, int row, int col) {
  auto v = r.nullable(row, col);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::vector<RunRecord> read_runs(const PgResult& r) {
  std::vector<RunRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_pg_run(r, i));
  return out;
}

std::string secs(sys_seconds t) { return std::to_string(t.time_since_epoch().count()); }

}  // namespace

StoreTime pg_store_time(std::int64_t ms) { return StoreTime(milliseconds(ms)); }

RunRecord read_pg_run(const PgResult& r, int row, int c) {
  RunRecord rec;
  rec.key.job = std::string(r.text(row, c + 0));
  rec.key.node = std::string(r.text(row, c + 1));
  rec.key.scheduled_at = sys_seconds(seconds(r.integer(row, c + 2)));
  rec.state = state_from_name(r.text(row, c + 3)).value_or(RunState::lost);
  rec.node = std::string(r.text(row, c + 4));
  rec.fence = r.integer(row, c + 5);
  rec.attempt = static_cast<int>(r.integer(row, c + 6));
  rec.claimed_at = nullable_time(r, row, c + 7);
  rec.started_at = nullable_time(r, row, c + 8);
  rec.finished_at = nullable_time(r, row, c + 9);
  rec.exit_code = nullable_int(r, row, c + 10);
  rec.signal = nullable_int(r, row, c + 11);
  rec.output_tail = std::string(r.text(row, c + 12));
  return rec;
}

PostgresStore::PostgresStore(std::string url, PgTimeouts timeouts)
    : description_(describe_postgres_url(url)), conn_(std::move(url), timeouts) {}

StoreTime PostgresStore::now() {
  std::lock_guard lock(mutex_);
  return pg_store_time(conn_.exec("SELECT solocron_ms(clock_timestamp())").integer(0, 0));
}

// --- node leases ---

RegisterResult PostgresStore::register_node(std::string_view node_id, milliseconds ttl) {
  std::lock_guard lock(mutex_);
  // One statement: take the id if free or expired (xmax <> 0 tells an update of an expired
  // row from a fresh insert); otherwise the second branch reports the live holder. A
  // concurrent registration of the same id that commits while this statement waits on it is
  // seen by ON CONFLICT but not by the second branch's snapshot, which then returns nothing:
  // the statement runs again, with a snapshot that sees the winner.
  std::optional<PgResult> res;
  for (int attempt = 0; attempt < 5 && (!res || res->rows() == 0); ++attempt) {
    res.emplace(
        conn_.exec_prepared(
            "solocron_register",
            "WITH up AS ("
            " INSERT INTO solocron_nodes AS n (node_id, token, registered_at, renewed_at,"
            "  expires_at)"
            " VALUES ($1, nextval('solocron_lease_token'), now(), now(),"
            "         now() + $2::bigint * interval '1 millisecond')"
            " ON CONFLICT (node_id) DO UPDATE SET token = EXCLUDED.token,"
            "   registered_at = EXCLUDED.registered_at, renewed_at = EXCLUDED.renewed_at,"
            "   expires_at = EXCLUDED.expires_at"
            " WHERE n.expires_at <= now()"
            " RETURNING n.*, n.xmax <> 0 AS took_over)"
            " SELECT true, " LEASE_COLUMNS ", took_over, solocron_ms(now()) FROM up"
            " UNION ALL"
            " SELECT false, " LEASE_COLUMNS ", false, solocron_ms(now()) FROM solocron_nodes"
            " WHERE node_id = $1 AND NOT EXISTS (SELECT 1 FROM up)",
            PgParams().add(std::string(node_id)).add(ttl.count())));
  }
  const PgResult& r = *res;
  if (r.rows() != 1) {
    throw StoreError(StoreError::Kind::internal, "postgres: register_node returned no row");
  }
  // Columns: acquired, 5 lease columns, took_over, now
  RegisterResult result;
  result.acquired = r.boolean(0, 0);
  const std::int64_t now = r.integer(0, 7);
  NodeLease l;
  l.node_id = std::string(r.text(0, 1));
  l.token = r.integer(0, 2);
  l.registered_at = pg_store_time(r.integer(0, 3));
  l.renewed_at = pg_store_time(r.integer(0, 4));
  l.expires_at = pg_store_time(r.integer(0, 5));
  l.live = r.integer(0, 5) > now;
  result.lease = l;
  result.took_over_expired = r.boolean(0, 6);
  return result;
}

std::optional<NodeLease> PostgresStore::renew_node(std::string_view node_id, std::int64_t token,
                                                   milliseconds ttl) {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec_prepared("solocron_renew",
                               "UPDATE solocron_nodes SET renewed_at = now(),"
                               " expires_at = now() + $3::bigint * interval '1 millisecond'"
                               " WHERE node_id = $1 AND token = $2 AND expires_at > now()"
                               " RETURNING " LEASE_COLUMNS ", solocron_ms(now())",
                               PgParams().add(std::string(node_id)).add(token).add(ttl.count()));
  if (r.rows() == 0) return std::nullopt;
  return read_lease(r, 0, r.integer(0, 5));
}

void PostgresStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(mutex_);
  conn_.exec("DELETE FROM solocron_nodes WHERE node_id = $1 AND token = $2",
             PgParams().add(std::string(node_id)).add(token));
}

std::vector<NodeLease> PostgresStore::nodes() {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec("SELECT " LEASE_COLUMNS
                      ", solocron_ms(now()) FROM solocron_nodes"
                      " ORDER BY node_id");
  std::vector<NodeLease> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_lease(r, i, r.integer(i, 5)));
  return out;
}

// --- guarded writes ---

std::vector<bool> PostgresStore::update(std::span<const StateUpdate> updates) {
  std::vector<bool> applied(updates.size(), false);
  if (updates.empty()) return applied;
  PgArray idx, job, node_key, at, fence, state, exit_code, signal, tail;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const auto& u = updates[i];
    idx.add(static_cast<std::int64_t>(i));
    job.add(u.key.job);
    node_key.add(u.key.node);
    at.add(u.key.scheduled_at.time_since_epoch().count());
    fence.add(u.fence);
    state.add(state_name(u.state));
    exit_code.add(u.exit_code ? std::optional<std::int64_t>(*u.exit_code) : std::nullopt);
    signal.add(u.signal ? std::optional<std::int64_t>(*u.signal) : std::nullopt);
    tail.add(u.output_tail);
  }
  PgParams p;
  for (auto* a : {&idx, &job, &node_key, &at, &fence, &state, &exit_code, &signal, &tail}) {
    p.add(a->str());
  }
  const bool only_running = std::all_of(updates.begin(), updates.end(),
                                        [](const auto& u) { return u.state == RunState::running; });
  p.add(only_running ? "t" : "f");
  std::lock_guard lock(mutex_);
  auto r = retrying([&] {
    return conn_.exec_prepared(
        "solocron_update",
        // A batch that only marks runs `running` commits without waiting for the WAL flush:
        // lost in a server crash, those runs stay `claimed`, which every reader treats alike
        // (active, same fence). Claims and final states are always durable.
        "WITH durability AS (SELECT set_config('synchronous_commit', CASE WHEN $10::bool"
        "  THEN 'off' ELSE current_setting('synchronous_commit') END, true))"
        " UPDATE solocron_runs r SET state = u.state,"
        " started_at = CASE WHEN u.state = 'running' THEN now() ELSE r.started_at END,"
        " finished_at = CASE WHEN u.terminal THEN now() ELSE r.finished_at END,"
        " exit_code = CASE WHEN u.terminal THEN u.exit_code ELSE r.exit_code END,"
        " signal = CASE WHEN u.terminal THEN u.signal ELSE r.signal END,"
        " output_tail = CASE WHEN u.terminal THEN u.tail ELSE r.output_tail END"
        " FROM (SELECT x.*, x.state NOT IN ('claimed', 'running') AS terminal FROM unnest("
        "  $1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],"
        "  $7::int[], $8::int[], $9::text[])"
        "  AS x(i, job, node_key, at, fence, state, exit_code, signal, tail)) u, durability"
        " WHERE r.job = u.job AND r.node_key = u.node_key"
        " AND r.scheduled_at = to_timestamp(u.at) AND r.fence = u.fence"
        " AND r.state IN ('claimed', 'running')"
        " RETURNING u.i",
        p);
  });
  for (int i = 0; i < r.rows(); ++i) applied.at(static_cast<std::size_t>(r.integer(i, 0))) = true;
  return applied;
}

void PostgresStore::record_missed(std::span<const OccurrenceKey> keys) {
  if (keys.empty()) return;
  PgArray job, node_key, at;
  for (const auto& k : keys) {
    job.add(k.job);
    node_key.add(k.node);
    at.add(k.scheduled_at.time_since_epoch().count());
  }
  std::lock_guard lock(mutex_);
  retrying([&] {
    // Sorted like claims, so that concurrent inserts of the same keys wait, never deadlock.
    return conn_.exec(
        "INSERT INTO solocron_runs (job, node_key, scheduled_at, state, node, fence,"
        " finished_at)"
        " SELECT job, node_key, to_timestamp(at), 'missed', '', 0, now()"
        " FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(job, node_key, at)"
        " ORDER BY job, node_key, at ON CONFLICT DO NOTHING",
        PgParams().add(job.str()).add(node_key.str()).add(at.str()));
  });
}

// --- liveness of runs ---

std::vector<RunRecord> PostgresStore::mark_lost() {
  std::lock_guard lock(mutex_);
  return read_runs(retrying([&] {
    return conn_.exec(
        "UPDATE solocron_runs r SET state = 'lost', finished_at = now()"
        " WHERE r.state IN ('claimed', 'running') AND NOT EXISTS (SELECT 1 FROM solocron_nodes n"
        " WHERE n.node_id = r.node AND n.expires_at > now())"
        " RETURNING " SOLOCRON_PG_RUN_COLUMNS);
  }));
}

std::optional<RunRecord> PostgresStore::reclaim_lost(const OccurrenceKey& key,
                                                     std::string_view node_id) {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec(
      "UPDATE solocron_runs SET state = 'claimed', node = $4, attempt = attempt + 1,"
      " fence = nextval('solocron_fence'), claimed_at = now(), started_at = NULL,"
      " finished_at = NULL, exit_code = NULL, signal = NULL, output_tail = ''"
      " WHERE job = $1 AND node_key = $2 AND scheduled_at = to_timestamp($3::bigint)"
      " AND state = 'lost' RETURNING " SOLOCRON_PG_RUN_COLUMNS,
      PgParams().add(key.job).add(key.node).add(secs(key.scheduled_at)).add(std::string(node_id)));
  if (r.rows() == 0) return std::nullopt;
  return read_pg_run(r, 0);
}

// --- history ---

std::vector<RunRecord> PostgresStore::history(const HistoryQuery& query) {
  PgParams p;
  if (query.job && !query.job->empty())
    p.add(*query.job);
  else
    p.add_null();
  if (query.since)
    p.add(secs(*query.since));
  else
    p.add_null();
  p.add(static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)));
  std::lock_guard lock(mutex_);
  return read_runs(
      conn_.exec("SELECT " SOLOCRON_PG_RUN_COLUMNS " FROM solocron_runs"
                 " WHERE ($1::text IS NULL OR job = $1)"
                 " AND ($2::bigint IS NULL OR scheduled_at >= to_timestamp($2::bigint))"
                 " ORDER BY scheduled_at DESC, job, node_key LIMIT $3",
                 p));
}

std::optional<sys_seconds> PostgresStore::last_scheduled(std::string_view job) {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec(
      "SELECT extract(epoch FROM max(scheduled_at))::bigint FROM solocron_runs WHERE job = $1",
      PgParams().add(std::string(job)));
  auto v = r.nullable(0, 0);
  if (!v) return std::nullopt;
  return sys_seconds(seconds(*v));
}

std::vector<RunRecord> PostgresStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(mutex_);
  return read_runs(conn_.exec("SELECT " SOLOCRON_PG_RUN_COLUMNS " FROM solocron_runs"
                              " WHERE node = $1 AND state IN ('claimed', 'running')"
                              " ORDER BY scheduled_at, job, node_key",
                              PgParams().add(std::string(node_id))));
}

void PostgresStore::prune(std::string_view job, std::size_t keep_last,
                          std::optional<std::chrono::seconds> max_age) {
  PgParams p;
  p.add(std::string(job));
  p.add(static_cast<std::int64_t>(std::min<std::size_t>(keep_last, INT64_MAX)));
  if (max_age)
    p.add(max_age->count());
  else
    p.add_null();
  std::lock_guard lock(mutex_);
  // Active records carry the fence that guards their holder's writes: never pruned.
  retrying([&] {
    return conn_.exec(
        "DELETE FROM solocron_runs r USING (SELECT node_key, scheduled_at, state,"
        "  row_number() OVER (ORDER BY scheduled_at DESC, node_key) AS n"
        "  FROM solocron_runs WHERE job = $1) x"
        " WHERE r.job = $1 AND r.node_key = x.node_key AND r.scheduled_at = x.scheduled_at"
        " AND x.state NOT IN ('claimed', 'running')"
        " AND (x.n > $2 OR ($3::bigint IS NOT NULL"
        "      AND x.scheduled_at < now() - $3::bigint * interval '1 second'))",
        p);
  });
}

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  return std::make_unique<PostgresStore>(url);
}

}  // namespace solocron::detail
