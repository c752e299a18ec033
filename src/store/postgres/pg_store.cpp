#include "store/postgres/pg_store.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "store/sql_rows.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

#define PG_SECONDS SOLOCRON_PG_SECONDS
#define PG_MS SOLOCRON_PG_MS
#define RUN_COLUMNS SOLOCRON_PG_RUN_COLUMNS
#define LEASE_COLUMNS SOLOCRON_LEASE_COLUMNS(PG_MS)

std::int64_t secs(sys_seconds t) { return t.time_since_epoch().count(); }
std::optional<std::int64_t> wide(std::optional<int> v) {
  if (!v) return std::nullopt;
  return *v;
}

}  // namespace

std::vector<RunRecord> read_runs(const PgResult& r, int c) {
  std::vector<RunRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_run(r.row(i), c));
  return out;
}

PostgresStore::PostgresStore(std::string url, PgTimeouts timeouts, bool read_only)
    : url_(url),
      description_(describe_postgres_url(url)),
      read_only_(read_only),
      conn_(std::move(url), timeouts, read_only) {}

StoreTime PostgresStore::now() {
  std::lock_guard lock(mutex_);
  return store_time_ms(conn_.exec("SELECT solocron_ms(clock_timestamp())").integer(0, 0));
}

std::string PostgresStore::identity() {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec("SELECT value FROM solocron_meta WHERE key = 'store_id'");
  if (r.rows() != 1)
    throw StoreError(StoreError::Kind::internal, "postgres: the store id is missing");
  return std::string(r.text(0, 0));
}

std::unique_ptr<Store> PostgresStore::another_connection(milliseconds call_deadline) {
  // The server gives up on a statement before the client does, so that a timed-out call
  // leaves no statement running behind it; libpq's connect timeout has a floor of 2 s.
  const auto whole_seconds = std::chrono::ceil<seconds>(call_deadline).count();
  const PgTimeouts timeouts{
      .call = call_deadline,
      .statement = call_deadline * 3 / 4,
      .connect_seconds = static_cast<int>(std::max<std::int64_t>(2, whole_seconds))};
  return std::make_unique<PostgresStore>(url_, timeouts, read_only_);
}

// --- node leases ---

RegisterResult PostgresStore::register_node(std::string_view node_id, milliseconds ttl,
                                            const NodeInfo& info) {
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
            "  expires_at, version)"
            " VALUES ($1, nextval('solocron_lease_token'), now(), now(),"
            "         now() + $2::bigint * interval '1 millisecond', $3)"
            " ON CONFLICT (node_id) DO UPDATE SET token = EXCLUDED.token,"
            "   registered_at = EXCLUDED.registered_at, renewed_at = EXCLUDED.renewed_at,"
            "   expires_at = EXCLUDED.expires_at, version = EXCLUDED.version"
            " WHERE n.expires_at <= now()"
            " RETURNING n.*, n.xmax <> 0 AS took_over)"
            " SELECT true, " LEASE_COLUMNS ", took_over, solocron_ms(now()) FROM up"
            " UNION ALL"
            " SELECT false, " LEASE_COLUMNS ", false, solocron_ms(now()) FROM solocron_nodes"
            " WHERE node_id = $1 AND NOT EXISTS (SELECT 1 FROM up)",
            PgParams().add(std::string(node_id)).add(ttl.count()).add(info.version)));
  }
  const PgResult& r = *res;
  if (r.rows() != 1) {
    throw StoreError(StoreError::Kind::internal, "postgres: register_node returned no row");
  }
  // Columns: acquired, 6 lease columns, took_over, now
  RegisterResult result;
  result.acquired = r.boolean(0, 0);
  result.lease = read_lease(r.row(0), r.integer(0, 8), 1);
  result.took_over_expired = r.boolean(0, 7);
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
  return read_lease(r.row(0), r.integer(0, 6));
}

void PostgresStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(mutex_);
  conn_.exec(
      "WITH gone AS (DELETE FROM solocron_nodes WHERE node_id = $1 AND token = $2 RETURNING node_id) "
      "DELETE FROM solocron_jobs WHERE node_id IN (SELECT node_id FROM gone) AND lease_token = $2",
      PgParams().add(std::string(node_id)).add(token));
}

// --- the cluster's job set ---

// Rare (registration, reload): a transaction of plain statements. FOR SHARE keeps the lease
// row from changing (a release, a takeover) until the set is written.
bool PostgresStore::publish_jobs(std::string_view node_id, std::int64_t lease_token,
                                 std::span<const PublishedJob> jobs) {
  std::lock_guard lock(mutex_);
  PgArray names, fingerprints, definitions;
  for (const PublishedJob& j : jobs) {
    names.add(j.job);
    fingerprints.add(j.fingerprint);
    definitions.add(j.definition);
  }
  const std::string node(node_id);
  try {
    conn_.exec("BEGIN");
    auto live = conn_.exec(
        "SELECT 1 FROM solocron_nodes WHERE node_id = $1 AND token = $2 AND expires_at > now() FOR SHARE",
        PgParams().add(node).add(lease_token));
    if (live.rows() == 0) {
      conn_.exec("ROLLBACK");
      return false;
    }
    conn_.exec("DELETE FROM solocron_jobs WHERE node_id = $1", PgParams().add(node));
    conn_.exec(
        "INSERT INTO solocron_jobs (node_id, lease_token, job, fingerprint, definition, published_at) "
        "SELECT $1, $2, j, f, d, now() FROM unnest($3::text[], $4::text[], $5::text[]) AS t(j, f, d)",
        PgParams().add(node).add(lease_token).add(names.str()).add(fingerprints.str()).add(definitions.str()));
    conn_.exec("COMMIT");
  } catch (...) {
    conn_.rollback_quietly();
    throw;
  }
  return true;
}

std::vector<PublishedJobRow> PostgresStore::published_jobs() {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec(
      "SELECT j.node_id, j.job, j.fingerprint, j.definition, solocron_ms(j.published_at) "
      "FROM solocron_jobs j JOIN solocron_nodes n ON n.node_id = j.node_id AND n.token = j.lease_token "
      "WHERE n.expires_at > now() ORDER BY j.job, j.node_id");
  std::vector<PublishedJobRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({std::string(r.text(i, 0)),
                   {std::string(r.text(i, 1)), std::string(r.text(i, 2)), std::string(r.text(i, 3))},
                   StoreTime(std::chrono::milliseconds(r.integer(i, 4)))});
  }
  return out;
}

std::vector<NodeLease> PostgresStore::nodes() {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec("SELECT " LEASE_COLUMNS
                      ", solocron_ms(now()) FROM solocron_nodes"
                      " ORDER BY node_id");
  std::vector<NodeLease> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_lease(r.row(i), r.integer(i, 6)));
  return out;
}

// --- guarded writes ---

std::vector<bool> PostgresStore::update(std::span<const StateUpdate> updates) {
  std::vector<bool> applied(updates.size(), false);
  if (updates.empty()) return applied;
  PgKeyArrays keys;
  PgArray fence, state, exit_code, signal, tail, message;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const auto& u = updates[i];
    keys.add(i, u.key);
    fence.add(u.fence);
    state.add(state_name(u.state));
    exit_code.add(wide(u.exit_code));
    signal.add(wide(u.signal));
    tail.add(u.output_tail);
    message.add(u.message);
  }
  const PgParams p = keys.params({&fence, &state, &exit_code, &signal, &tail, &message});
  std::lock_guard lock(mutex_);
  // Always durable (synchronous_commit as configured): starts are gated on the running mark.
  auto r = retrying([&] {
    return conn_.exec_prepared(
        "solocron_update",
        "UPDATE solocron_runs r SET state = u.state,"
        " started_at = CASE WHEN u.state = 'running' THEN now() ELSE r.started_at END,"
        " finished_at = CASE WHEN u.terminal THEN now() ELSE r.finished_at END,"
        " exit_code = CASE WHEN u.terminal THEN u.exit_code ELSE r.exit_code END,"
        " signal = CASE WHEN u.terminal THEN u.signal ELSE r.signal END,"
        " output_tail = CASE WHEN u.terminal THEN u.tail ELSE r.output_tail END,"
        " message = CASE WHEN u.terminal THEN u.message ELSE r.message END"
        " FROM (SELECT x.*, x.state NOT IN ('claimed', 'running') AS terminal FROM unnest("
        "  $1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],"
        "  $7::text[], $8::int[], $9::int[], $10::text[], $11::text[])"
        "  AS x(i, job, node_key, at, request, fence, state, exit_code, signal, tail, message)) u"
        " WHERE r.job = u.job AND r.node_key = u.node_key"
        " AND r.scheduled_at = to_timestamp(u.at) AND r.request = u.request AND r.fence = u.fence"
        " AND r.state IN ('claimed', 'running') AND u.state <> 'claimed'"
        " AND CASE u.state WHEN 'running' THEN " SOLOCRON_PG_HOLDER_LIVE("r")
        "  WHEN 'lost' THEN NOT " SOLOCRON_PG_HOLDER_LIVE("r") " ELSE true END"
        " RETURNING u.i",
        p);
  });
  for (int i = 0; i < r.rows(); ++i) applied.at(static_cast<std::size_t>(r.integer(i, 0))) = true;
  return applied;
}

std::vector<bool> PostgresStore::record_missed(std::span<const OccurrenceKey> keys) {
  std::vector<bool> inserted(keys.size(), false);
  if (keys.empty()) return inserted;
  PgKeyArrays batch;
  for (std::size_t i = 0; i < keys.size(); ++i) batch.add(i, keys[i]);
  std::lock_guard lock(mutex_);
  auto r = retrying([&] {
    // Sorted like claims, so that concurrent inserts of the same keys wait, never deadlock.
    return conn_.exec(
        "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence,"
        " finished_at)"
        " SELECT job, node_key, to_timestamp(at), request, 'missed', '', 0, now()"
        " FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])"
        "  AS x(i, job, node_key, at, request)"
        " WHERE NOT EXISTS (SELECT 1 FROM solocron_pruned p"
        "  WHERE p.job = x.job AND p.through >= to_timestamp(x.at))"
        " AND NOT " SOLOCRON_PG_PAUSED("x.job", "to_timestamp(x.at)", "x.request")
        " ORDER BY job, node_key, at, request ON CONFLICT DO NOTHING"
        " RETURNING job, node_key, extract(epoch FROM scheduled_at)::bigint, request",
        batch.params({}));
  });
  // Inserted rows name their key; a request's index is found by it (keys are unique in a batch
  // the scheduler sends; a repeated key is answered once).
  std::map<std::tuple<std::string, std::string, std::int64_t, std::int64_t>, std::size_t> index;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    index.try_emplace(
        {keys[i].job, keys[i].node, keys[i].scheduled_at.time_since_epoch().count(), keys[i].request},
        i);
  }
  for (int row = 0; row < r.rows(); ++row) {
    auto it = index.find({std::string(r.text(row, 0)), std::string(r.text(row, 1)),
                          r.integer(row, 2), r.integer(row, 3)});
    if (it != index.end()) inserted[it->second] = true;
  }
  return inserted;
}

std::vector<bool> PostgresStore::recorded(std::span<const OccurrenceKey> keys) {
  std::vector<bool> out(keys.size(), false);
  if (keys.empty()) return out;
  PgKeyArrays batch;
  for (std::size_t i = 0; i < keys.size(); ++i) batch.add(i, keys[i]);
  std::lock_guard lock(mutex_);
  auto r = conn_.exec_prepared(
      "solocron_recorded",
      "SELECT x.i FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])"
      " AS x(i, job, node_key, at, request)"
      " WHERE EXISTS (SELECT 1 FROM solocron_runs r WHERE r.job = x.job"
      "  AND r.node_key = x.node_key AND r.scheduled_at = to_timestamp(x.at)"
      "  AND r.request = x.request)"
      " OR EXISTS (SELECT 1 FROM solocron_pruned p WHERE p.job = x.job"
      "  AND p.through >= to_timestamp(x.at))",
      batch.params({}));
  for (int row = 0; row < r.rows(); ++row) out.at(static_cast<std::size_t>(r.integer(row, 0))) = true;
  return out;
}

// The statement (an array of requests as $1-$9, see PgKeyArrays) takes over each occurrence it
// may and returns (request index, the new record).
std::vector<std::optional<RunRecord>> PostgresStore::take_over(
    std::span<const ReclaimRequest> requests, const char* sql) {
  std::vector<std::optional<RunRecord>> out(requests.size());
  if (requests.empty()) return out;
  PgKeyArrays keys;
  PgArray fence, node, token, attempt;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& q = requests[i];
    keys.add(i, q.key);
    fence.add(q.fence);
    node.add(q.node_id);
    token.add(q.lease_token);
    attempt.add(std::int64_t{q.attempt});
  }
  const PgParams p = keys.params({&fence, &node, &token, &attempt});
  std::lock_guard lock(mutex_);
  auto r = retrying([&] { return conn_.exec(sql, p); });
  for (int i = 0; i < r.rows(); ++i) {
    out.at(static_cast<std::size_t>(r.integer(i, 0))) = read_run(r.row(i), 1);
  }
  return out;
}

// Compare-and-set on the fence: of concurrent re-claims, the first to lock the row wins; the
// others re-check the updated row, whose fence is new, and change nothing. A lost attempt is
// kept (earlier_attempts) in the same statement; of concurrent copies of it, the unique key
// keeps one (an unstarted run taken over goes on as the same attempt).
constexpr const char* kReclaimSql =
    "WITH q AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[],"
    "  $5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::int[])"
    "  AS q(i, k_job, k_node, k_at, k_request, k_fence, claimant, claimant_token, new_attempt)),"
    " kept AS (INSERT INTO solocron_attempts (job, node_key, scheduled_at, request, attempt,"
    "  state, node, lease_token, fence, cause, claimed_at, started_at, finished_at, exit_code,"
    "  signal, output_tail, message)"
    "  SELECT r.job, r.node_key, r.scheduled_at, r.request, r.attempt, r.state, r.node,"
    "  r.lease_token, r.fence, r.cause, r.claimed_at, r.started_at, r.finished_at,"
    "  r.exit_code, r.signal, r.output_tail, r.message FROM solocron_runs r JOIN q"
    "  ON r.job = q.k_job AND r.node_key = q.k_node AND r.scheduled_at = to_timestamp(q.k_at)"
    "  AND r.request = q.k_request AND r.fence = q.k_fence WHERE r.state = 'lost'"
    "  AND EXISTS (SELECT 1 FROM solocron_nodes c WHERE c.node_id = q.claimant"
    "  AND c.token = q.claimant_token AND c.expires_at > now())"
    "  ON CONFLICT DO NOTHING)"
    " UPDATE solocron_runs r SET state = 'claimed', node = q.claimant,"
    " lease_token = q.claimant_token, attempt = q.new_attempt,"
    " fence = nextval('solocron_fence'), claimed_at = now(), started_at = NULL,"
    " finished_at = NULL, exit_code = NULL, signal = NULL, output_tail = '', message = ''"
    " FROM q"
    " WHERE r.job = q.k_job AND r.node_key = q.k_node"
    " AND r.scheduled_at = to_timestamp(q.k_at) AND r.request = q.k_request"
    " AND r.fence = q.k_fence"
    " AND (r.state = 'lost' OR (r.state IN ('claimed', 'running')"
    "  AND NOT " SOLOCRON_PG_HOLDER_LIVE("r") "))"
    " AND EXISTS (SELECT 1 FROM solocron_nodes c WHERE c.node_id = q.claimant"
    "  AND c.token = q.claimant_token AND c.expires_at > now())"
    " RETURNING q.i, " RUN_COLUMNS;

std::vector<std::optional<RunRecord>> PostgresStore::reclaim(
    std::span<const ReclaimRequest> requests) {
  return take_over(requests, kReclaimSql);
}

// --- requested runs ---

RunRequest PostgresStore::request_run(std::string_view job, std::string_view requested_by,
                                      std::string_view note) {
  std::lock_guard lock(mutex_);
  // Not retried: a request whose reply was lost may have been stored, and a second would be a
  // second run. The caller sees the error and can look.
  auto r = conn_.exec(
      "INSERT INTO solocron_requests (job, at, requested_at, requested_by, note)"
      " SELECT $1, date_trunc('second', t), t, $2, $3 FROM (SELECT now() AS t) n"
      " RETURNING id, " PG_SECONDS("at") ", " PG_MS("requested_at"),
      PgParams().add(std::string(job)).add(std::string(requested_by)).add(std::string(note)));
  return RunRequest{r.integer(0, 0), std::string(job), sys_seconds(seconds(r.integer(0, 1))),
                    store_time_ms(r.integer(0, 2)), std::string(requested_by), std::string(note)};
}

std::vector<RunRequest> PostgresStore::pending_requests(std::string_view node_id,
                                                        sys_seconds since) {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec_prepared(
      "solocron_pending_requests",
      "SELECT id, job, " PG_SECONDS("at") ", " PG_MS("requested_at") ", requested_by, note"
      " FROM solocron_requests q WHERE q.at >= to_timestamp($2::bigint)"
      " AND NOT EXISTS (SELECT 1 FROM solocron_runs r WHERE r.job = q.job"
      "  AND r.node_key IN ('', $1) AND r.scheduled_at = q.at AND r.request = q.id)"
      " ORDER BY id LIMIT 1000",
      PgParams().add(std::string(node_id)).add(secs(since)));
  std::vector<RunRequest> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.integer(i, 0), std::string(r.text(i, 1)), sys_seconds(seconds(r.integer(i, 2))),
                   store_time_ms(r.integer(i, 3)), std::string(r.text(i, 4)),
                   std::string(r.text(i, 5))});
  }
  return out;
}

// --- pause ---

namespace {
#define CONTROL_COLUMNS                                                                 \
  "job, paused, " PG_SECONDS("paused_at") ", " PG_SECONDS("resumed_at") ", changed_by, note, " \
  PG_MS("changed_at")
JobControl read_control(const PgResult& r, int i) {
  JobControl c{std::string(r.text(i, 0)), r.boolean(i, 1), sys_seconds(seconds(r.integer(i, 2))),
               std::nullopt, std::string(r.text(i, 4)), std::string(r.text(i, 5)),
               store_time_ms(r.integer(i, 6))};
  if (auto v = r.nullable(i, 3)) c.resumed_at = sys_seconds(seconds(*v));
  return c;
}
// The first whole second after now: ticks due already may still run.
#define PG_NEXT_SECOND "date_trunc('second', now()) + interval '1 second'"
}  // namespace

std::vector<JobControl> PostgresStore::job_controls() {
  std::lock_guard lock(mutex_);
  auto r = conn_.exec_prepared("solocron_job_controls",
                               "SELECT " CONTROL_COLUMNS " FROM solocron_job_controls ORDER BY job",
                               PgParams());
  std::vector<JobControl> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_control(r, i));
  return out;
}

std::optional<JobControl> PostgresStore::pause_job(std::string_view job, std::string_view by,
                                                   std::string_view note) {
  std::lock_guard lock(mutex_);
  auto r = retrying([&] {
    return conn_.exec(
        "INSERT INTO solocron_job_controls AS c (job, paused, paused_at, resumed_at, changed_by,"
        " note, changed_at) VALUES ($1, true, " PG_NEXT_SECOND ", NULL, $2, $3, now())"
        " ON CONFLICT (job) DO UPDATE SET paused = true, paused_at = EXCLUDED.paused_at,"
        " resumed_at = NULL, changed_by = $2, note = $3, changed_at = now() WHERE NOT c.paused"
        " RETURNING " CONTROL_COLUMNS,
        PgParams().add(std::string(job)).add(std::string(by)).add(std::string(note)));
  });
  if (r.rows() == 0) return std::nullopt;
  return read_control(r, 0);
}

std::optional<JobControl> PostgresStore::resume_job(std::string_view job, sys_seconds paused_at,
                                                    sys_seconds until, std::string_view by,
                                                    std::string_view note,
                                                    const std::optional<PausedSpan>& span) {
  PgParams p;
  p.add(std::string(job)).add(secs(paused_at)).add(secs(until)).add(std::string(by));
  p.add(std::string(note));
  if (span) {
    p.add(secs(span->last_tick)).add(span->message);
  } else {
    p.add_null().add_null();
  }
  std::lock_guard lock(mutex_);
  // One statement: the resume and the span's record commit together or not at all.
  auto r = retrying([&] {
    return conn_.exec(
        "WITH resumed AS ("
        " UPDATE solocron_job_controls SET paused = false, resumed_at = to_timestamp($3::bigint),"
        "  changed_by = $4, note = $5, changed_at = now()"
        " WHERE job = $1 AND paused AND paused_at = to_timestamp($2::bigint)"
        " RETURNING " CONTROL_COLUMNS "), span AS ("
        " INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence,"
        "  finished_at, message)"
        " SELECT $1, '', to_timestamp($6::bigint), 0, 'paused', '', 0, now(), $7 FROM resumed"
        " WHERE $6::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM solocron_pruned m"
        "  WHERE m.job = $1 AND m.through >= to_timestamp($6::bigint))"
        " ON CONFLICT DO NOTHING)"
        " SELECT * FROM resumed",
        p);
  });
  if (r.rows() == 0) return std::nullopt;
  return read_control(r, 0);
}

void PostgresStore::seed_paused(std::span<const std::string> jobs) {
  if (jobs.empty()) return;
  PgArray names;
  for (const auto& j : jobs) names.add(j);
  std::lock_guard lock(mutex_);
  retrying([&] {
    return conn_.exec(
        "INSERT INTO solocron_job_controls (job, paused, paused_at, resumed_at, changed_by, note,"
        " changed_at) SELECT j, true, " PG_NEXT_SECOND ", NULL, 'configuration',"
        " 'paused: true in the configuration', now() FROM unnest($1::text[]) AS j"
        " ON CONFLICT (job) DO NOTHING",
        PgParams().add(names.str()));
  });
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
  if (query.before)
    p.add(secs(*query.before));
  else
    p.add_null();
  if (query.states.empty()) {
    p.add_null();
  } else {
    PgArray states;
    for (RunState s : query.states) states.add(state_name(s));
    p.add(states.str());
  }
  std::lock_guard lock(mutex_);
  return read_runs(
      conn_.exec("SELECT " RUN_COLUMNS " FROM solocron_runs"
                 " WHERE ($1::text IS NULL OR job = $1)"
                 " AND ($2::bigint IS NULL OR scheduled_at >= to_timestamp($2::bigint))"
                 " AND ($4::bigint IS NULL OR scheduled_at < to_timestamp($4::bigint))"
                 " AND ($5::text[] IS NULL OR state = ANY($5::text[]))"
                 " ORDER BY scheduled_at DESC, job, node_key, request LIMIT $3",
                 p));
}

std::vector<std::optional<sys_seconds>> PostgresStore::last_scheduled(
    std::span<const std::string> jobs) {
  std::vector<std::optional<sys_seconds>> out;
  if (jobs.empty()) return out;
  PgArray names;
  for (const auto& j : jobs) names.add(j);
  std::lock_guard lock(mutex_);
  // greatest() ignores NULLs: a job known only by its retention mark, or only by records.
  auto r = conn_.exec(
      "SELECT " PG_SECONDS("greatest((SELECT max(scheduled_at) FROM solocron_runs r"
                           " WHERE r.job = j.job AND r.request = 0), (SELECT through FROM solocron_pruned p"
                           " WHERE p.job = j.job))")
      " FROM unnest($1::text[]) WITH ORDINALITY AS j(job, i) ORDER BY j.i",
      PgParams().add(names.str()));
  for (int i = 0; i < r.rows(); ++i) {
    auto v = r.nullable(i, 0);
    out.push_back(v ? std::optional(sys_seconds(seconds(*v))) : std::nullopt);
  }
  return out;
}

std::vector<RunRecord> PostgresStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(mutex_);
  return read_runs(conn_.exec("SELECT " RUN_COLUMNS " FROM solocron_runs"
                              " WHERE node = $1 AND state IN ('claimed', 'running')"
                              " ORDER BY scheduled_at, job, node_key, request",
                              PgParams().add(std::string(node_id))));
}

std::vector<RunRecord> PostgresStore::orphaned_runs() {
  std::lock_guard lock(mutex_);
  return read_runs(conn_.exec(
      "SELECT " RUN_COLUMNS " FROM solocron_runs r WHERE state IN ('claimed', 'running')"
      " AND NOT EXISTS (SELECT 1 FROM solocron_nodes n WHERE n.node_id = r.node"
      " AND n.token = r.lease_token AND n.expires_at > now())"
      " ORDER BY scheduled_at, job, node_key, request"));
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
  retrying([&] {
    // A claim or missed record that started before this deletion commits must not insert
    // a key it deleted (its snapshot would not show the new mark): the lock waits for those
    // statements, which read solocron_pruned, and makes later ones wait and read the mark.
    conn_.exec("BEGIN");
    conn_.exec("LOCK TABLE solocron_pruned IN ACCESS EXCLUSIVE MODE");
    // Active records carry the fence that guards their holder's writes: never pruned.
    // r.state is checked too: x's is the snapshot's, r's is re-read if a re-claim or a retry
    // made the row active meanwhile. The attempts kept of the deleted runs go with them.
    conn_.exec(
        "WITH gone AS ("
        " DELETE FROM solocron_runs r USING (SELECT node_key, scheduled_at, request, state,"
        "  row_number() OVER (ORDER BY scheduled_at DESC, node_key, request) AS n"
        "  FROM solocron_runs WHERE job = $1) x"
        " WHERE r.job = $1 AND r.node_key = x.node_key AND r.scheduled_at = x.scheduled_at"
        " AND r.request = x.request"
        " AND x.state NOT IN ('claimed', 'running') AND r.state NOT IN ('claimed', 'running')"
        " AND (x.n > $2 OR ($3::bigint IS NOT NULL"
        "      AND x.scheduled_at < now() - $3::bigint * interval '1 second'))"
        " RETURNING r.node_key, r.scheduled_at, r.request),"
        " kept AS (DELETE FROM solocron_attempts a USING gone g WHERE a.job = $1"
        "  AND a.node_key = g.node_key AND a.scheduled_at = g.scheduled_at"
        "  AND a.request = g.request)"
        " INSERT INTO solocron_pruned (job, through)"
        " SELECT $1, max(scheduled_at) FROM gone HAVING count(*) > 0"
        " ON CONFLICT (job) DO UPDATE"
        "  SET through = greatest(solocron_pruned.through, EXCLUDED.through)",
        p);
    return conn_.exec("COMMIT");
  });
}

std::unique_ptr<Store> open_postgres_store(const std::string& url, bool read_only) {
  return std::make_unique<PostgresStore>(url, PgTimeouts{}, read_only);
}

}  // namespace solocron::detail
