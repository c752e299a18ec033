#include "store/sqlite/sqlite_store.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "store/sqlite/sqlite_sql.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

#define RUN_COLUMNS SOLOCRON_SQLITE_RUN_COLUMNS
#define LEASE_COLUMNS SOLOCRON_LEASE_COLUMNS(SOLOCRON_SQL_AS_IS)
#define HOLDER_LIVE SOLOCRON_SQLITE_HOLDER_LIVE
#define PAUSED SOLOCRON_SQLITE_PAUSED

// Whether the run `run` comes before the occurrence at (`at`, `request`): by instant, then by
// request (the schedule's tick, request 0, before a run asked for in the same second).
#define EARLIER(run, at, request) \
  "(" run ".scheduled_at < " at " OR (" run ".scheduled_at = " at " AND " run ".request < " request "))"

// The store's clock of a one-host store is the kernel's clock. It is read with the system call
// itself rather than through libc, so that a process-level time shift (libfaketime, a test
// harness's LD_PRELOAD) on one node cannot move the clock the other nodes are judged by.
std::int64_t kernel_realtime_ms() {
  timespec ts{};
  if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0) {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, NowSource now_source, SqliteOptions options)
    : path_(std::move(path)), now_source_(std::move(now_source)), options_(options) {}

// A file that was not writable when it was opened gives a read-only connection: it is opened
// again at every call until the file is writable, so that the node recovers by itself once the
// permissions are fixed; meanwhile each call fails as unavailable, saying why.
SqliteDb& SqliteStore::db() {
  if (db_ && !options_.read_only && db_->cannot_write()) db_.reset();
  if (!db_) db_ = std::make_unique<SqliteDb>(path_, options_.busy_timeout, options_.read_only);
  if (!options_.read_only && db_->cannot_write()) {
    throw StoreError(StoreError::Kind::unavailable,
                     "sqlite: \"" + path_ + "\" is not writable (check the permissions of the file, of its -wal and -shm files and of its directory)");
  }
  return *db_;
}

std::int64_t SqliteStore::now_ms() const {
  return now_source_ ? now_source_().time_since_epoch().count() : kernel_realtime_ms();
}

StoreTime SqliteStore::now() { return store_time_ms(now_ms()); }

std::string SqliteStore::identity() {
  std::lock_guard lock(mutex_);
  SqliteDb& d = db();
  if (!d.still_there()) {
    throw StoreError(StoreError::Kind::invalid,
                     "sqlite: " + path_ +
                         " was deleted or replaced since it was opened (the nodes that use it "
                         "must be restarted on the same file)");
  }
  auto q = d.statement("SELECT value FROM solocron_meta WHERE key = 'store_id'");
  if (!q.step()) throw StoreError(StoreError::Kind::internal, "sqlite: the store id is missing");
  return q.text(0);
}

std::unique_ptr<Store> SqliteStore::another_connection(milliseconds call_deadline) {
  return std::make_unique<SqliteStore>(
      path_, now_source_,
      SqliteOptions{.busy_timeout = call_deadline, .read_only = options_.read_only});
}

std::int64_t SqliteStore::next_counter(const char* name) {
  auto q = db().statement(
      "UPDATE solocron_counters SET value = value + 1 WHERE name = ?1 RETURNING value");
  q.bind(1, std::string_view(name));
  if (!q.step()) throw StoreError(StoreError::Kind::internal, "sqlite: counter missing");
  return q.integer(0);
}

// --- node leases ---

RegisterResult SqliteStore::register_node(std::string_view node_id, milliseconds ttl,
                                          const NodeInfo& info) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  // Read inside the write transaction: no other writer can come between read and write.
  const std::int64_t now = now_ms();
  RegisterResult result;
  {
    auto q = db().statement("SELECT " LEASE_COLUMNS " FROM solocron_nodes WHERE node_id = ?1");
    q.bind(1, node_id);
    if (q.step()) {
      NodeLease held = read_lease(q, now);
      if (held.live) {
        result.lease = held;
        return result;
      }
      result.took_over_expired = true;
    }
  }
  NodeLease lease{std::string(node_id), next_counter("lease_token"),      store_time_ms(now),
                  store_time_ms(now),   store_time_ms(now + ttl.count()), true,
                  info.version};
  db().statement(
          "INSERT INTO solocron_nodes (node_id, token, registered_at, renewed_at, expires_at, "
          "version) VALUES (?1, ?2, ?3, ?3, ?4, ?5) ON CONFLICT (node_id) DO UPDATE SET "
          "token = ?2, registered_at = ?3, renewed_at = ?3, expires_at = ?4, version = ?5")
      .bind(1, node_id)
      .bind(2, lease.token)
      .bind(3, now)
      .bind(4, now + ttl.count())
      .bind(5, std::string_view(info.version))
      .run();
  tx.commit();
  result.acquired = true;
  result.lease = lease;
  return result;
}

std::optional<NodeLease> SqliteStore::renew_node(std::string_view node_id, std::int64_t token,
                                                 milliseconds ttl) {
  std::lock_guard lock(mutex_);
  // The clock is read once the write lock is ours: a renewal that waited for it must be judged
  // (and time-stamped) by when it is applied, not by when it was asked for.
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  std::optional<NodeLease> lease;
  {
    auto q = db().statement(
        "UPDATE solocron_nodes SET renewed_at = ?3, expires_at = ?4 "
        "WHERE node_id = ?1 AND token = ?2 AND expires_at > ?3 RETURNING " LEASE_COLUMNS);
    q.bind(1, node_id).bind(2, token).bind(3, now).bind(4, now + ttl.count());
    if (q.step()) {
      lease = read_lease(q, now);
      q.run();
    }
  }
  tx.commit();
  return lease;
}

void SqliteStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  db().statement("DELETE FROM solocron_jobs WHERE node_id = ?1 AND lease_token = ?2")
      .bind(1, node_id)
      .bind(2, token)
      .run();
  db().statement("DELETE FROM solocron_nodes WHERE node_id = ?1 AND token = ?2")
      .bind(1, node_id)
      .bind(2, token)
      .run();
  tx.commit();
}

std::vector<NodeLease> SqliteStore::nodes() {
  std::lock_guard lock(mutex_);
  const std::int64_t now = now_ms();
  auto q = db().statement("SELECT " LEASE_COLUMNS " FROM solocron_nodes ORDER BY node_id");
  std::vector<NodeLease> out;
  while (q.step()) out.push_back(read_lease(q, now));
  return out;
}

bool SqliteStore::lease_live(std::string_view node_id, std::int64_t token, std::int64_t now) {
  auto q = db().statement(
      "SELECT 1 FROM solocron_nodes WHERE node_id = ?1 AND token = ?2 AND expires_at > ?3");
  q.bind(1, node_id).bind(2, token).bind(3, now);
  return q.step();
}

// --- the cluster's job set ---

bool SqliteStore::publish_jobs(std::string_view node_id, std::int64_t lease_token,
                               std::span<const PublishedJob> jobs) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  if (!lease_live(node_id, lease_token, now)) return false;
  db().statement("DELETE FROM solocron_jobs WHERE node_id = ?1").bind(1, node_id).run();
  for (const PublishedJob& j : jobs) {
    db().statement(
            "INSERT INTO solocron_jobs (node_id, lease_token, job, fingerprint, definition, "
            "published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, node_id)
        .bind(2, lease_token)
        .bind(3, j.job)
        .bind(4, j.fingerprint)
        .bind(5, j.definition)
        .bind(6, now)
        .run();
  }
  tx.commit();
  return true;
}

std::vector<PublishedJobRow> SqliteStore::published_jobs() {
  std::lock_guard lock(mutex_);
  auto q = db().statement(
      "SELECT j.node_id, j.job, j.fingerprint, j.definition, j.published_at FROM solocron_jobs j "
      "JOIN solocron_nodes n ON n.node_id = j.node_id AND n.token = j.lease_token "
      "WHERE n.expires_at > ?1 ORDER BY j.job, j.node_id");
  q.bind(1, now_ms());
  std::vector<PublishedJobRow> out;
  while (q.step()) {
    out.push_back({q.text(0), {q.text(1), q.text(2), q.text(3)}, store_time_ms(q.integer(4))});
  }
  return out;
}

// --- occurrences ---

// Called inside the write transaction: the checks and the insert are one atomic step.
ClaimResult SqliteStore::claim_one(const ClaimRequest& request, std::int64_t now) {
  ClaimResult result;
  result.store_now = store_time_ms(now);
  const OccurrenceKey& key = request.key;
  if (!lease_live(request.node_id, request.lease_token, now)) {
    result.outcome = ClaimResult::Outcome::no_lease;
    return result;
  }
  if (secs(key.scheduled_at) * 1000 > now + request.max_clock_skew.count()) {
    result.outcome = ClaimResult::Outcome::too_early;
    return result;
  }
  bool blocked = false;
  if (request.overlap == OverlapMode::forbid) {
    auto q = db().statement(
        "SELECT 1 FROM solocron_runs r WHERE r.job = ?1 AND r.node_key = ?2 "
        "AND " EARLIER("r", "?3", "?5") " AND r.state IN ('claimed', 'running') "
        "AND " HOLDER_LIVE("r", "?4") " LIMIT 1");
    q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at)).bind(4, now);
    q.bind(5, key.request);
    blocked = q.step();
  }
  if (blocked && request.backfill) {
    // A backfill waits for the earlier run instead of recording the tick skipped.
    result.outcome =
        backfill_open(key) ? ClaimResult::Outcome::overlap_skipped : ClaimResult::Outcome::taken;
    return result;
  }
  // The fence is the counter's next value, taken only if the insert happened. A pruned
  // instant inserts nothing, like an existing record. A backfill also takes over a `missed`
  // record (the state is the compare-and-set's condition), as a fresh first attempt.
  auto ins = db().statement(
      "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, lease_token, "
      "fence, attempt, claimed_at, started_at, finished_at, cause) SELECT ?1, ?2, ?3, ?10, ?4, ?5, "
      "?8, CASE WHEN ?6 THEN 0 ELSE (SELECT value + 1 FROM solocron_counters WHERE name = "
      "'fence') END, 1, ?7, CASE WHEN ?9 THEN ?7 END, CASE WHEN ?6 THEN ?7 END, ?11 "
      "WHERE NOT " SOLOCRON_SQLITE_PRUNED("?1", "?3") " AND NOT " PAUSED("?1", "?3", "?10")
      " ON CONFLICT (job, node_key, scheduled_at, request) DO UPDATE SET state = excluded.state, "
      "node = excluded.node, lease_token = excluded.lease_token, fence = excluded.fence, "
      "attempt = 1, claimed_at = excluded.claimed_at, started_at = excluded.started_at, "
      "finished_at = NULL, exit_code = NULL, signal = NULL, output_tail = '', message = '', "
      "cause = excluded.cause "
      "WHERE solocron_runs.state = 'missed' AND excluded.cause = 'backfill'");
  const bool start = request.start && !blocked;
  ins.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at));
  ins.bind(4, state_name(blocked ? RunState::skipped_overlap
                                 : start ? RunState::running : RunState::claimed));
  ins.bind(9, std::int64_t{start});
  ins.bind(5, request.node_id).bind(6, std::int64_t{blocked}).bind(7, now);
  ins.bind(8, request.lease_token).bind(10, key.request);
  ins.bind(11, std::string_view(request.backfill ? "backfill" : ""));
  ins.run();
  if (db().changes() == 0) {
    result.outcome = ClaimResult::Outcome::taken;
  } else if (blocked) {
    result.outcome = ClaimResult::Outcome::overlap_skipped;
  } else {
    result.outcome = ClaimResult::Outcome::won;
    result.fence = next_counter("fence");
    if (request.overlap == OverlapMode::replace) result.replaced = interrupt_previous(key, now);
  }
  return result;
}

// Whether a backfill could claim `key` but for overlap: neither pruned nor paused, and no
// record or a `missed` one.
bool SqliteStore::backfill_open(const OccurrenceKey& key) {
  auto q = db().statement(
      "SELECT NOT " SOLOCRON_SQLITE_PRUNED("?1", "?3") " AND NOT " PAUSED("?1", "?3", "?4")
      " AND COALESCE((SELECT state FROM solocron_runs WHERE job = ?1 AND node_key = ?2 AND "
      "scheduled_at = ?3 AND request = ?4), 'missed') = 'missed'");
  q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at)).bind(4, key.request);
  return q.step() && q.integer(0) != 0;
}

std::vector<OccurrenceKey> SqliteStore::interrupt_previous(const OccurrenceKey& key,
                                                           std::int64_t now) {
  auto q = db().statement(
      "UPDATE solocron_runs SET state = 'interrupted', finished_at = ?4 "
      "WHERE job = ?1 AND node_key = ?2 AND " EARLIER("solocron_runs", "?3", "?5") " "
      "AND state IN ('claimed', 'running') RETURNING scheduled_at, request");
  q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at)).bind(4, now);
  q.bind(5, key.request);
  std::vector<OccurrenceKey> replaced;
  while (q.step()) {
    replaced.push_back({key.job, sys_seconds(seconds(q.integer(0))), key.node, q.integer(1)});
  }
  return replaced;
}

std::vector<ClaimResult> SqliteStore::claim(std::span<const ClaimRequest> requests) {
  return each_in_transaction(
      requests, [this](const ClaimRequest& r, std::int64_t now) { return claim_one(r, now); });
}

bool SqliteStore::update_one(const StateUpdate& u, std::int64_t now) {
  if (u.state == RunState::claimed) return false;
  const bool terminal = !is_active(u.state);
  auto q = db().statement(
      "UPDATE solocron_runs SET state = ?5, "
      "started_at = CASE WHEN ?6 THEN ?8 ELSE started_at END, "
      "finished_at = CASE WHEN ?7 THEN ?8 ELSE finished_at END, "
      "exit_code = CASE WHEN ?7 THEN ?9 ELSE exit_code END, "
      "signal = CASE WHEN ?7 THEN ?10 ELSE signal END, "
      "output_tail = CASE WHEN ?7 THEN ?11 ELSE output_tail END, "
      "message = CASE WHEN ?7 THEN ?12 ELSE message END "
      "WHERE job = ?1 AND node_key = ?2 AND scheduled_at = ?3 AND request = ?13 AND fence = ?4 "
      "AND state IN ('claimed', 'running') AND CASE ?5 "
      "WHEN 'running' THEN " HOLDER_LIVE("solocron_runs", "?8") " "
      "WHEN 'lost' THEN NOT " HOLDER_LIVE("solocron_runs", "?8") " ELSE 1 END");
  q.bind(1, u.key.job).bind(2, u.key.node).bind(3, secs(u.key.scheduled_at)).bind(4, u.fence);
  q.bind(5, state_name(u.state)).bind(6, std::int64_t{u.state == RunState::running});
  q.bind(7, std::int64_t{terminal}).bind(8, now);
  q.bind(9, wide(u.exit_code)).bind(10, wide(u.signal));
  q.bind(11, u.output_tail).bind(12, u.message).bind(13, u.key.request);
  q.run();
  return db().changes() == 1;
}

std::vector<bool> SqliteStore::update(std::span<const StateUpdate> updates) {
  return each_in_transaction(
      updates, [this](const StateUpdate& u, std::int64_t now) { return update_one(u, now); });
}

std::vector<bool> SqliteStore::record_missed(std::span<const OccurrenceKey> keys) {
  return each_in_transaction(keys, [this](const OccurrenceKey& k, std::int64_t now) {
    db().statement(
            "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence, "
            "attempt, finished_at) SELECT ?1, ?2, ?3, ?5, 'missed', '', 0, 1, ?4 "
            "WHERE NOT EXISTS (SELECT 1 FROM solocron_pruned WHERE job = ?1 AND through >= ?3) "
            "AND NOT " PAUSED("?1", "?3", "?5") " ON CONFLICT DO NOTHING")
        .bind(1, k.job)
        .bind(2, k.node)
        .bind(3, secs(k.scheduled_at))
        .bind(4, now)
        .bind(5, k.request)
        .run();
    return db().changes() == 1;
  });
}

std::vector<bool> SqliteStore::recorded(std::span<const OccurrenceKey> keys) {
  std::vector<bool> out;
  out.reserve(keys.size());
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(db(), SqliteTransaction::Mode::deferred);  // a read: no write lock
  for (const auto& k : keys) {
    auto q = db().statement(
        "SELECT EXISTS (SELECT 1 FROM solocron_runs WHERE job = ?1 AND node_key = ?2 AND "
        "scheduled_at = ?3 AND request = ?4) OR EXISTS (SELECT 1 FROM solocron_pruned "
        "WHERE job = ?1 AND through >= ?3)");
    q.bind(1, k.job).bind(2, k.node).bind(3, secs(k.scheduled_at)).bind(4, k.request);
    out.push_back(q.step() && q.integer(0) != 0);
  }
  snapshot.commit();
  return out;
}

std::optional<RunRecord> SqliteStore::reclaim_one(const ReclaimRequest& r, std::int64_t now) {
  if (!lease_live(r.node_id, r.lease_token, now)) return std::nullopt;
  // A lost attempt stays in the history (earlier_attempts) when the next one replaces it; an
  // unstarted one taken over goes on as the same attempt, so there is nothing to keep.
  db().statement("INSERT INTO solocron_attempts (" SOLOCRON_SQLITE_ATTEMPT_COLUMNS ") SELECT "
                 SOLOCRON_SQLITE_ATTEMPT_COLUMNS " FROM solocron_runs WHERE job = ?1 AND "
                 "node_key = ?2 AND scheduled_at = ?3 AND request = ?5 AND fence = ?4 AND "
                 "state = 'lost' ON CONFLICT DO NOTHING")
      .bind(1, r.key.job)
      .bind(2, r.key.node)
      .bind(3, secs(r.key.scheduled_at))
      .bind(4, r.fence)
      .bind(5, r.key.request)
      .run();
  std::optional<RunRecord> won;
  {
    auto q = db().statement(
        "UPDATE solocron_runs SET state = 'claimed', node = ?5, lease_token = ?6, attempt = ?7, "
        "fence = (SELECT value + 1 FROM solocron_counters WHERE name = 'fence'), "
        "claimed_at = ?8, started_at = NULL, finished_at = NULL, exit_code = NULL, "
        "signal = NULL, output_tail = '', message = '' "
        "WHERE job = ?1 AND node_key = ?2 AND scheduled_at = ?3 AND request = ?9 AND fence = ?4 "
        "AND (state = 'lost' OR (state IN ('claimed', 'running') AND NOT " HOLDER_LIVE(
            "solocron_runs", "?8") ")) RETURNING " RUN_COLUMNS);
    q.bind(1, r.key.job).bind(2, r.key.node).bind(3, secs(r.key.scheduled_at)).bind(4, r.fence);
    q.bind(5, r.node_id).bind(6, r.lease_token).bind(7, std::int64_t{r.attempt}).bind(8, now);
    q.bind(9, r.key.request);
    if (q.step()) won = read_run(q);
    q.run();
  }
  if (won) next_counter("fence");
  return won;
}

std::vector<std::optional<RunRecord>> SqliteStore::reclaim(
    std::span<const ReclaimRequest> requests) {
  return each_in_transaction(
      requests, [this](const ReclaimRequest& r, std::int64_t now) { return reclaim_one(r, now); });
}

// --- requested runs ---

RunRequest SqliteStore::request_run(std::string_view job, std::string_view requested_by,
                                    std::string_view note) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  RunRequest r{0, std::string(job), sys_seconds(seconds(now / 1000)), store_time_ms(now),
               std::string(requested_by), std::string(note)};
  auto q = db().statement(
      "INSERT INTO solocron_requests (job, at, requested_at, requested_by, note) "
      "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id");
  q.bind(1, job).bind(2, secs(r.at)).bind(3, now).bind(4, requested_by).bind(5, note);
  if (!q.step()) throw StoreError(StoreError::Kind::internal, "sqlite: request not stored");
  r.id = q.integer(0);
  q.run();
  tx.commit();
  return r;
}

std::vector<RunRequest> SqliteStore::pending_requests(std::string_view node_id,
                                                      sys_seconds since) {
  std::lock_guard lock(mutex_);
  auto q = db().statement(
      "SELECT id, job, at, requested_at, requested_by, note FROM solocron_requests q "
      "WHERE q.at >= ?2 AND NOT EXISTS (SELECT 1 FROM solocron_runs r WHERE r.job = q.job "
      "AND r.node_key IN ('', ?1) AND r.scheduled_at = q.at AND r.request = q.id) "
      "ORDER BY id LIMIT 1000");
  q.bind(1, node_id).bind(2, secs(since));
  std::vector<RunRequest> out;
  while (q.step()) {
    out.push_back({q.integer(0), q.text(1), sys_seconds(seconds(q.integer(2))),
                   store_time_ms(q.integer(3)), q.text(4), q.text(5)});
  }
  return out;
}

// --- pause ---

namespace {
#define CONTROL_COLUMNS "job, paused, paused_at, resumed_at, changed_by, note, changed_at"
JobControl read_control(const SqliteStatement& q) {
  JobControl c{q.text(0), q.integer(1) != 0, sys_seconds(seconds(q.integer(2))), std::nullopt,
               q.text(4), q.text(5), store_time_ms(q.integer(6))};
  if (auto r = q.nullable(3)) c.resumed_at = sys_seconds(seconds(*r));
  return c;
}
// The first whole second after `now_ms`: ticks due already may still run.
std::int64_t next_second(std::int64_t now_ms) { return now_ms / 1000 + 1; }
}  // namespace

std::vector<JobControl> SqliteStore::job_controls() {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT " CONTROL_COLUMNS " FROM solocron_job_controls ORDER BY job");
  std::vector<JobControl> out;
  while (q.step()) out.push_back(read_control(q));
  return out;
}

std::optional<JobControl> SqliteStore::pause_job(std::string_view job, std::string_view by,
                                                 std::string_view note) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  std::optional<JobControl> out;
  {
    auto q = db().statement(
        "INSERT INTO solocron_job_controls (job, paused, paused_at, resumed_at, changed_by, note, "
        "changed_at) VALUES (?1, 1, ?2, NULL, ?3, ?4, ?5) ON CONFLICT (job) DO UPDATE SET "
        "paused = 1, paused_at = ?2, resumed_at = NULL, changed_by = ?3, note = ?4, "
        "changed_at = ?5 WHERE NOT paused RETURNING " CONTROL_COLUMNS);
    q.bind(1, job).bind(2, next_second(now)).bind(3, by).bind(4, note).bind(5, now);
    if (q.step()) out = read_control(q);
    q.run();
  }
  tx.commit();
  return out;
}

std::optional<JobControl> SqliteStore::resume_job(std::string_view job, sys_seconds paused_at,
                                                  sys_seconds until, std::string_view by,
                                                  std::string_view note,
                                                  const std::optional<PausedSpan>& span) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  std::optional<JobControl> out;
  {
    auto q = db().statement(
        "UPDATE solocron_job_controls SET paused = 0, resumed_at = ?3, changed_by = ?4, "
        "note = ?5, changed_at = ?6 WHERE job = ?1 AND paused AND paused_at = ?2 "
        "RETURNING " CONTROL_COLUMNS);
    q.bind(1, job).bind(2, secs(paused_at)).bind(3, secs(until)).bind(4, by).bind(5, note);
    q.bind(6, now);
    if (q.step()) out = read_control(q);
    q.run();
  }
  if (out && span) {
    db().statement(
            "INSERT INTO solocron_runs (job, node_key, scheduled_at, request, state, node, fence, "
            "attempt, finished_at, message) SELECT ?1, '', ?2, 0, 'paused', '', 0, 1, ?3, ?4 "
            "WHERE NOT EXISTS (SELECT 1 FROM solocron_pruned WHERE job = ?1 AND through >= ?2) "
            "ON CONFLICT DO NOTHING")
        .bind(1, job)
        .bind(2, secs(span->last_tick))
        .bind(3, now)
        .bind(4, span->message)
        .run();
  }
  tx.commit();
  return out;
}

void SqliteStore::seed_paused(std::span<const std::string> jobs) {
  each_in_transaction(jobs, [this](const std::string& job, std::int64_t now) {
    db().statement(
            "INSERT INTO solocron_job_controls (job, paused, paused_at, resumed_at, changed_by, "
            "note, changed_at) VALUES (?1, 1, ?2, NULL, 'configuration', "
            "'paused: true in the configuration', ?3) ON CONFLICT (job) DO NOTHING")
        .bind(1, job)
        .bind(2, next_second(now))
        .bind(3, now)
        .run();
    return true;
  });
}

// --- history ---

std::vector<RunRecord> SqliteStore::select_runs(SqliteStatement& q) {
  std::vector<RunRecord> out;
  while (q.step()) out.push_back(read_run(q));
  return out;
}

// One statement with a job and one without: SQLite plans a statement once, before its
// parameters are bound, and "(?1 IS NULL OR job = ?1)" would walk the whole time index to find
// one job's newest records (milliseconds per call with 10,000 jobs, once per job in a list).
#define HISTORY_FILTERS                                                                   \
  " AND (?2 IS NULL OR scheduled_at >= ?2) AND (?4 IS NULL OR scheduled_at < ?4)"         \
  " AND (?5 IS NULL OR instr(?5, ',' || state || ','))"                                   \
  " ORDER BY scheduled_at DESC, job, node_key, request LIMIT ?3"

std::vector<RunRecord> SqliteStore::history(const HistoryQuery& query) {
  std::lock_guard lock(mutex_);
  const bool one_job = query.job && !query.job->empty();
  auto q = db().statement(one_job ? "SELECT " RUN_COLUMNS " FROM solocron_runs WHERE job = ?1" HISTORY_FILTERS
                                  : "SELECT " RUN_COLUMNS " FROM solocron_runs WHERE ?1 IS NULL" HISTORY_FILTERS);
  if (one_job) q.bind(1, *query.job);
  if (query.since) q.bind(2, secs(*query.since));
  q.bind(3, static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)));
  if (query.before) q.bind(4, secs(*query.before));
  if (!query.states.empty()) {
    std::string states = ",";  // ",claimed,running,": names hold no commas
    for (RunState s : query.states) states += std::string(state_name(s)) + ",";
    q.bind(5, states);
  }
  return select_runs(q);
}

std::vector<std::optional<sys_seconds>> SqliteStore::last_scheduled(
    std::span<const std::string> jobs) {
  std::vector<std::optional<sys_seconds>> out;
  std::lock_guard lock(mutex_);
  SqliteTransaction snapshot(db(), SqliteTransaction::Mode::deferred);
  for (const std::string& job : jobs) {
    auto q = db().statement(
        "SELECT max(at) FROM (SELECT max(scheduled_at) AS at FROM solocron_runs WHERE job = ?1 "
        "AND request = 0 UNION ALL SELECT through FROM solocron_pruned WHERE job = ?1)");
    q.bind(1, job);
    auto v = q.step() ? q.nullable(0) : std::nullopt;
    out.push_back(v ? std::optional(sys_seconds(seconds(*v))) : std::nullopt);
  }
  snapshot.commit();
  return out;
}

std::vector<RunRecord> SqliteStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT " RUN_COLUMNS
                          " FROM solocron_runs WHERE node = ?1 AND state IN ('claimed', 'running') "
                          "ORDER BY scheduled_at, job, node_key, request");
  q.bind(1, node_id);
  return select_runs(q);
}

std::vector<RunRecord> SqliteStore::orphaned_runs() {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT " RUN_COLUMNS
                          " FROM solocron_runs r WHERE state IN ('claimed', 'running') AND NOT " HOLDER_LIVE(
                              "r", "?1") " ORDER BY scheduled_at, job, node_key, request");
  q.bind(1, now_ms());
  return select_runs(q);
}

void SqliteStore::prune(std::string_view job, std::size_t keep_last,
                        std::optional<std::chrono::seconds> max_age) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  // Active records carry the fence that guards their holder's writes: never pruned.
  auto q = db().statement(
      "DELETE FROM solocron_runs WHERE rowid IN (SELECT rowid FROM (SELECT rowid, state, "
      "scheduled_at, ROW_NUMBER() OVER (ORDER BY scheduled_at DESC, node_key, request) AS n "
      "FROM solocron_runs WHERE job = ?1) "
      "WHERE state NOT IN ('claimed', 'running') AND (n > ?2 OR scheduled_at * 1000 < ?3)) "
      "RETURNING scheduled_at");
  q.bind(1, job);
  q.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(keep_last, INT64_MAX)));
  q.bind(3, max_age ? now - max_age->count() * 1000 : INT64_MIN);
  std::optional<std::int64_t> newest;
  while (q.step()) newest = std::max(newest.value_or(INT64_MIN), q.integer(0));
  if (newest) {
    // The attempts kept of the deleted runs go with them.
    db().statement(
            "DELETE FROM solocron_attempts WHERE job = ?1 AND NOT EXISTS (SELECT 1 FROM "
            "solocron_runs r WHERE r.job = ?1 AND r.node_key = solocron_attempts.node_key AND "
            "r.scheduled_at = solocron_attempts.scheduled_at AND r.request = "
            "solocron_attempts.request)")
        .bind(1, job)
        .run();
    db().statement(
            "INSERT INTO solocron_pruned (job, through) VALUES (?1, ?2) "
            "ON CONFLICT (job) DO UPDATE SET through = max(through, excluded.through)")
        .bind(1, job)
        .bind(2, *newest)
        .run();
  }
  tx.commit();
}

std::unique_ptr<Store> open_sqlite_store(const std::string& url, bool read_only) {
  std::string_view rest = std::string_view(url).substr(std::string_view("sqlite:").size());
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    // Only what solocron supports: SQLite's own URI options are not passed through, and a
    // file name with '?' in it would more likely be a typo than a wish.
    if (rest.substr(q + 1) != "mode=ro") {
      throw StoreError(StoreError::Kind::invalid, "store \"" + url + "\": unknown option \"" +
                                                      std::string(rest.substr(q + 1)) +
                                                      "\" (the only one is mode=ro)");
    }
    read_only = true;
    rest = rest.substr(0, q);
  }
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    if (!rest.starts_with('/')) {
      throw StoreError(
          StoreError::Kind::invalid,
          "store \"" + url + "\": expected sqlite:///absolute/path or sqlite:relative/path");
    }
  }
  if (rest.empty() || rest.ends_with('/')) {
    throw StoreError(StoreError::Kind::invalid, "store \"" + url + "\": missing the file name");
  }
  return std::make_unique<SqliteStore>(std::string(rest), SqliteStore::NowSource{},
                                       SqliteOptions{.read_only = read_only});
}

}  // namespace solocron::detail
