#include "store/sqlite/sqlite_store.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "store/state_names.hpp"

namespace solocron::detail {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

#define RUN_COLUMNS                                                                    \
  "job, node_key, scheduled_at, state, node, fence, attempt, claimed_at, started_at, " \
  "finished_at, exit_code, signal, output_tail"

std::int64_t secs(sys_seconds t) { return t.time_since_epoch().count(); }
StoreTime store_time(std::int64_t ms) { return StoreTime(milliseconds(ms)); }
std::optional<StoreTime> store_time(std::optional<std::int64_t> ms) {
  if (!ms) return std::nullopt;
  return store_time(*ms);
}
std::optional<int> small(std::optional<std::int64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

RunRecord read_run(const SqliteStatement& q) {
  RunRecord r;
  r.key.job = q.text(0);
  r.key.node = q.text(1);
  r.key.scheduled_at = sys_seconds(seconds(q.integer(2)));
  r.state = state_from_name(q.text(3)).value_or(RunState::lost);
  r.node = q.text(4);
  r.fence = q.integer(5);
  r.attempt = static_cast<int>(q.integer(6));
  r.claimed_at = store_time(q.nullable(7));
  r.started_at = store_time(q.nullable(8));
  r.finished_at = store_time(q.nullable(9));
  r.exit_code = small(q.nullable(10));
  r.signal = small(q.nullable(11));
  r.output_tail = q.text(12);
  return r;
}

NodeLease read_lease(const SqliteStatement& q, std::int64_t now) {
  // Columns: node_id, token, registered_at, renewed_at, expires_at
  NodeLease l;
  l.node_id = q.text(0);
  l.token = q.integer(1);
  l.registered_at = store_time(q.integer(2));
  l.renewed_at = store_time(q.integer(3));
  l.expires_at = store_time(q.integer(4));
  l.live = q.integer(4) > now;
  return l;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, NowSource now_source)
    : path_(std::move(path)), now_source_(std::move(now_source)) {}

SqliteDb& SqliteStore::db() {
  if (!db_) db_ = std::make_unique<SqliteDb>(path_, kBusyTimeout);
  return *db_;
}

// The store's clock of a one-host store is the kernel's clock. It is read with the system call
// itself rather than through libc, so that a process-level time shift (libfaketime, a test
// harness's LD_PRELOAD) on one node cannot move the clock the other nodes are judged by.
static std::int64_t kernel_realtime_ms() {
  timespec ts{};
  if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0) {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::int64_t SqliteStore::now_ms() const {
  return now_source_ ? now_source_().time_since_epoch().count() : kernel_realtime_ms();
}

StoreTime SqliteStore::now() { return store_time(now_ms()); }

std::int64_t SqliteStore::next_counter(const char* name) {
  auto q = db().statement(
      "UPDATE solocron_counters SET value = value + 1 WHERE name = ?1 RETURNING value");
  q.bind(1, std::string_view(name));
  if (!q.step()) throw StoreError(StoreError::Kind::internal, "sqlite: counter missing");
  return q.integer(0);
}

// --- node leases ---

RegisterResult SqliteStore::register_node(std::string_view node_id, milliseconds ttl) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  // Read inside the write transaction: no other writer can come between read and write.
  const std::int64_t now = now_ms();
  RegisterResult result;
  {
    auto q = db().statement(
        "SELECT node_id, token, registered_at, renewed_at, expires_at FROM solocron_nodes "
        "WHERE node_id = ?1");
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
  NodeLease lease{std::string(node_id), next_counter("lease_token"),   store_time(now),
                  store_time(now),      store_time(now + ttl.count()), true};
  db().statement(
          "INSERT INTO solocron_nodes (node_id, token, registered_at, renewed_at, expires_at) "
          "VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (node_id) DO UPDATE SET token = ?2, "
          "registered_at = ?3, renewed_at = ?3, expires_at = ?4")
      .bind(1, node_id)
      .bind(2, lease.token)
      .bind(3, now)
      .bind(4, now + ttl.count())
      .run();
  tx.commit();
  result.acquired = true;
  result.lease = lease;
  return result;
}

std::optional<NodeLease> SqliteStore::renew_node(std::string_view node_id, std::int64_t token,
                                                 milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const std::int64_t now = now_ms();
  auto q = db().statement(
      "UPDATE solocron_nodes SET renewed_at = ?3, expires_at = ?4 "
      "WHERE node_id = ?1 AND token = ?2 AND expires_at > ?3 "
      "RETURNING node_id, token, registered_at, renewed_at, expires_at");
  q.bind(1, node_id).bind(2, token).bind(3, now).bind(4, now + ttl.count());
  if (!q.step()) return std::nullopt;
  NodeLease lease = read_lease(q, now);
  q.run();
  return lease;
}

void SqliteStore::release_node(std::string_view node_id, std::int64_t token) {
  std::lock_guard lock(mutex_);
  db().statement("DELETE FROM solocron_nodes WHERE node_id = ?1 AND token = ?2")
      .bind(1, node_id)
      .bind(2, token)
      .run();
}

std::vector<NodeLease> SqliteStore::nodes() {
  std::lock_guard lock(mutex_);
  const std::int64_t now = now_ms();
  auto q = db().statement(
      "SELECT node_id, token, registered_at, renewed_at, expires_at FROM solocron_nodes "
      "ORDER BY node_id");
  std::vector<NodeLease> out;
  while (q.step()) out.push_back(read_lease(q, now));
  return out;
}

// --- occurrences ---

ClaimResult SqliteStore::claim_one(const ClaimRequest& request, std::int64_t now) {
  ClaimResult result;
  result.store_now = store_time(now);
  const OccurrenceKey& key = request.key;
  if (secs(key.scheduled_at) * 1000 > now + request.max_clock_skew.count()) {
    result.outcome = ClaimResult::Outcome::too_early;
    return result;
  }
  bool blocked = false;
  if (request.overlap == OverlapMode::forbid) {
    auto q = db().statement(
        "SELECT 1 FROM solocron_runs r JOIN solocron_nodes n ON n.node_id = r.node "
        "WHERE r.job = ?1 AND r.node_key = ?2 AND r.scheduled_at < ?3 "
        "AND r.state IN ('claimed', 'running') AND n.expires_at > ?4 LIMIT 1");
    q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at)).bind(4, now);
    blocked = q.step();
  }
  // The fence is the counter's next value, taken only if the insert happened, all inside
  // this transaction.
  auto ins = db().statement(
      "INSERT INTO solocron_runs (job, node_key, scheduled_at, state, node, fence, attempt, "
      "claimed_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, "
      "CASE WHEN ?6 THEN 0 ELSE (SELECT value + 1 FROM solocron_counters WHERE name = 'fence') "
      "END, 1, ?7, CASE WHEN ?6 THEN ?7 END) ON CONFLICT DO NOTHING");
  ins.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at));
  ins.bind(4, state_name(blocked ? RunState::skipped_overlap : RunState::claimed));
  ins.bind(5, request.node_id).bind(6, std::int64_t{blocked}).bind(7, now);
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

std::vector<OccurrenceKey> SqliteStore::interrupt_previous(const OccurrenceKey& key,
                                                           std::int64_t now) {
  auto q = db().statement(
      "UPDATE solocron_runs SET state = 'interrupted', finished_at = ?4 "
      "WHERE job = ?1 AND node_key = ?2 AND scheduled_at < ?3 "
      "AND state IN ('claimed', 'running') RETURNING scheduled_at");
  q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at)).bind(4, now);
  std::vector<OccurrenceKey> replaced;
  while (q.step()) replaced.push_back({key.job, sys_seconds(seconds(q.integer(0))), key.node});
  return replaced;
}

std::vector<ClaimResult> SqliteStore::claim(std::span<const ClaimRequest> requests) {
  std::vector<ClaimResult> results;
  if (requests.empty()) return results;
  results.reserve(requests.size());
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();  // read once the write lock is ours
  for (const auto& r : requests) results.push_back(claim_one(r, now));
  tx.commit();
  return results;
}

bool SqliteStore::update_one(const StateUpdate& u, std::int64_t now) {
  const bool terminal = !is_active(u.state);
  auto q = db().statement(
      "UPDATE solocron_runs SET state = ?5, "
      "started_at = CASE WHEN ?6 THEN ?8 ELSE started_at END, "
      "finished_at = CASE WHEN ?7 THEN ?8 ELSE finished_at END, "
      "exit_code = CASE WHEN ?7 THEN ?9 ELSE exit_code END, "
      "signal = CASE WHEN ?7 THEN ?10 ELSE signal END, "
      "output_tail = CASE WHEN ?7 THEN ?11 ELSE output_tail END "
      "WHERE job = ?1 AND node_key = ?2 AND scheduled_at = ?3 AND fence = ?4 "
      "AND state IN ('claimed', 'running')");
  q.bind(1, u.key.job).bind(2, u.key.node).bind(3, secs(u.key.scheduled_at)).bind(4, u.fence);
  q.bind(5, state_name(u.state)).bind(6, std::int64_t{u.state == RunState::running});
  q.bind(7, std::int64_t{terminal}).bind(8, now);
  q.bind(9, u.exit_code ? std::optional<std::int64_t>(*u.exit_code) : std::nullopt);
  q.bind(10, u.signal ? std::optional<std::int64_t>(*u.signal) : std::nullopt);
  q.bind(11, u.output_tail);
  q.run();
  return db().changes() == 1;
}

std::vector<bool> SqliteStore::update(std::span<const StateUpdate> updates) {
  std::vector<bool> applied;
  if (updates.empty()) return applied;
  applied.reserve(updates.size());
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  for (const auto& u : updates) applied.push_back(update_one(u, now));
  tx.commit();
  return applied;
}

void SqliteStore::record_missed(std::span<const OccurrenceKey> keys) {
  if (keys.empty()) return;
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  for (const auto& k : keys) {
    db().statement(
            "INSERT INTO solocron_runs (job, node_key, scheduled_at, state, node, fence, "
            "attempt, finished_at) VALUES (?1, ?2, ?3, 'missed', '', 0, 1, ?4) "
            "ON CONFLICT DO NOTHING")
        .bind(1, k.job)
        .bind(2, k.node)
        .bind(3, secs(k.scheduled_at))
        .bind(4, now)
        .run();
  }
  tx.commit();
}

// --- liveness of runs ---

std::vector<RunRecord> SqliteStore::select_runs(SqliteStatement& q) {
  std::vector<RunRecord> out;
  while (q.step()) out.push_back(read_run(q));
  return out;
}

std::vector<RunRecord> SqliteStore::mark_lost() {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  auto q = db().statement(
      "UPDATE solocron_runs SET state = 'lost', finished_at = ?1 "
      "WHERE state IN ('claimed', 'running') AND NOT EXISTS (SELECT 1 FROM solocron_nodes n "
      "WHERE n.node_id = solocron_runs.node AND n.expires_at > ?1) RETURNING " RUN_COLUMNS);
  q.bind(1, now);
  auto lost = select_runs(q);
  tx.commit();
  return lost;
}

std::optional<RunRecord> SqliteStore::reclaim_lost(const OccurrenceKey& key,
                                                   std::string_view node_id) {
  std::lock_guard lock(mutex_);
  SqliteTransaction tx(db());
  const std::int64_t now = now_ms();
  std::optional<RunRecord> won;
  {
    auto q = db().statement(
        "UPDATE solocron_runs SET state = 'claimed', node = ?4, attempt = attempt + 1, "
        "fence = (SELECT value + 1 FROM solocron_counters WHERE name = 'fence'), "
        "claimed_at = ?5, started_at = NULL, finished_at = NULL, exit_code = NULL, "
        "signal = NULL, output_tail = '' "
        "WHERE job = ?1 AND node_key = ?2 AND scheduled_at = ?3 AND state = 'lost' "
        "RETURNING " RUN_COLUMNS);
    q.bind(1, key.job).bind(2, key.node).bind(3, secs(key.scheduled_at));
    q.bind(4, node_id).bind(5, now);
    if (q.step()) won = read_run(q);
    q.run();
  }
  if (won) next_counter("fence");
  tx.commit();
  return won;
}

// --- history ---

std::vector<RunRecord> SqliteStore::history(const HistoryQuery& query) {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT " RUN_COLUMNS
                          " FROM solocron_runs "
                          "WHERE (?1 IS NULL OR job = ?1) AND (?2 IS NULL OR scheduled_at >= ?2) "
                          "ORDER BY scheduled_at DESC, job, node_key LIMIT ?3");
  if (query.job && !query.job->empty()) q.bind(1, *query.job);
  if (query.since) q.bind(2, secs(*query.since));
  q.bind(3, static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)));
  return select_runs(q);
}

std::optional<sys_seconds> SqliteStore::last_scheduled(std::string_view job) {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT MAX(scheduled_at) FROM solocron_runs WHERE job = ?1");
  q.bind(1, job);
  if (!q.step()) return std::nullopt;
  auto v = q.nullable(0);
  if (!v) return std::nullopt;
  return sys_seconds(seconds(*v));
}

std::vector<RunRecord> SqliteStore::active_runs(std::string_view node_id) {
  std::lock_guard lock(mutex_);
  auto q = db().statement("SELECT " RUN_COLUMNS
                          " FROM solocron_runs "
                          "WHERE node = ?1 AND state IN ('claimed', 'running') "
                          "ORDER BY scheduled_at, job, node_key");
  q.bind(1, node_id);
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
      "scheduled_at, ROW_NUMBER() OVER (ORDER BY scheduled_at DESC, node_key) AS n "
      "FROM solocron_runs WHERE job = ?1) "
      "WHERE state NOT IN ('claimed', 'running') AND (n > ?2 OR scheduled_at * 1000 < ?3))");
  q.bind(1, job);
  q.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(keep_last, INT64_MAX)));
  q.bind(3, max_age ? now - max_age->count() * 1000 : INT64_MIN);
  q.run();
  tx.commit();
}

std::unique_ptr<Store> open_sqlite_store(const std::string& url) {
  std::string_view rest = std::string_view(url).substr(std::string_view("sqlite:").size());
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
  return std::make_unique<SqliteStore>(std::string(rest));
}

}  // namespace solocron::detail
