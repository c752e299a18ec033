// The store: where the nodes of a cluster coordinate.
//
// A Store is a thin compare-and-set layer over a real database, in the spirit of client-go's
// resourcelock (Get/Create/Update): it admits at most one claim per occurrence (one atomic
// insert-if-absent, never a read followed by a write), issues fencing tokens, keeps node leases
// and the run history, and judges time by its own clock. Timing, misfire, delivery, placement,
// retries and which runs to declare lost are decided by the scheduler, once, for every backend.
//
// A backend does decide a few things, because only its atomic step can decide them safely; each
// is named here and tested by the conformance suite (tests/store/):
//  - a claim is admitted only while the claimant's lease (node id and token) is live by the
//    store's clock, the instant is not ahead of the store's clock by more than max_clock_skew,
//    and the instant is newer than what retention has pruned for the job;
//  - overlap: `forbid` records `skipped_overlap` instead of claiming when an earlier occurrence
//    of the job (same node part; earlier by (scheduled_at, request)) is active under a live
//    lease; `replace` moves the earlier active ones to `interrupted` in the same transaction
//    as the claim;
//  - a `running` mark is applied only while its holder's lease is live; a `lost` mark only once
//    it is not (so no node can declare a live node's run lost, nor start a run after its lease
//    expired in the store);
//  - a re-claim takes an occurrence over only from a holder whose lease is gone, or from `lost`;
//  - pause: a claim or missed record of a paused job's scheduled tick (request 0) at or after
//    its paused_at is refused (`taken`, nothing written), so no node runs a tick of a paused
//    job, however late it hears of the pause.
//
// Every method may throw StoreError (connection lost, deadline exceeded, schema mismatch).
// "Already claimed" or "lease held by another node" are ordinary results, not errors.
// Implementations are safe to call from several threads; one object is one connection (calls
// on it are serialised), so a component that must not wait behind others opens its own with
// another_connection().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace solocron {

// Timestamps written and read by the store, on the store's clock (floored to the millisecond).
using StoreTime = std::chrono::sys_time<std::chrono::milliseconds>;

class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    unavailable,  // cannot reach the store, or a deadline passed: treat as a partition
    invalid,      // bad URL, bad configuration, schema newer than this binary, store replaced
    internal,     // the backend reported something unexpected
  };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// One scheduled tick of a job, or one run asked for (`solocron trigger`). `node` is empty
// except for run_on: every_node jobs, whose occurrences are per node. `request` is 0 for the
// schedule's occurrences; a requested run has its request's id, and the instant it was asked
// at as scheduled_at, so that it never takes the key of a scheduled tick in the same second.
struct OccurrenceKey {
  std::string job;
  std::chrono::sys_seconds scheduled_at;
  std::string node;
  std::int64_t request = 0;
  friend bool operator==(const OccurrenceKey&, const OccurrenceKey&) = default;
};
// What started an occurrence's current attempt. Jobs see it as SOLOCRON_TRIGGER
// (X-Solocron-Trigger), records show it.
enum class Trigger {
  schedule,  // the schedule's tick
  manual,    // a run asked for (`solocron trigger`)
  backfill,  // a tick that was not run, run later (`solocron backfill`)
  retry,     // a new attempt of a failed or timed-out run (the job's `retry` policy)
};
std::string_view to_string(Trigger trigger);
// The trigger a new occurrence has by its key alone: a request's is manual.
inline Trigger trigger_of(const OccurrenceKey& key) {
  return key.request != 0 ? Trigger::manual : Trigger::schedule;
}

enum class RunState {
  claimed,
  running,
  succeeded,
  failed,
  timed_out,
  lost,
  interrupted,
  missed,
  skipped_overlap,
  paused,  // one record for a span of ticks not run because the job was paused
};
std::string_view to_string(RunState state);
std::optional<RunState> run_state_from_string(std::string_view text);
// claimed and running are the only states in which an occurrence may still change.
inline bool is_active(RunState s) { return s == RunState::claimed || s == RunState::running; }

enum class OverlapMode { allow, forbid, replace };

struct ClaimRequest {
  OccurrenceKey key;
  std::string node_id;         // the claiming node...
  std::int64_t lease_token = 0;  // ...and the token of its lease, which must be live
  OverlapMode overlap = OverlapMode::allow;
  // Skew guard: refuse if key.scheduled_at > store now + max_clock_skew.
  std::chrono::milliseconds max_clock_skew{2000};
  // Store the won claim as `running` (started_at = the claim's time) instead of `claimed`: for
  // a claimant that starts the run as soon as its claim is won, the claim is then its running
  // mark too, in the same round trip.
  bool start = false;
  // A backfill (`solocron backfill`, key.request 0): the claim also takes over a `missed`
  // record of the occurrence (compare-and-set on its state: of many, one wins), and the record
  // says trigger backfill. Where `forbid` would skip it, nothing is written (overlap_skipped):
  // a backfill waits for the earlier run instead of recording the tick skipped.
  bool backfill = false;
};

struct ClaimResult {
  enum class Outcome {
    won,              // inserted; `fence` is the new token
    taken,            // a record exists already (any state), or retention pruned this instant
    overlap_skipped,  // forbid: a previous occurrence runs on a live node; recorded skipped_overlap
    too_early,        // skew guard: scheduled_at is ahead of the store's clock by > max_clock_skew
    no_lease,         // the claimant's lease (node id, token) is not live: nothing was written
  };
  Outcome outcome = Outcome::taken;
  std::int64_t fence = 0;  // set when won
  StoreTime store_now{};   // the store's clock at the claim
  // replace: active occurrences of the same job that this claim moved to `interrupted`.
  std::vector<OccurrenceKey> replaced;
};

// A change to an occurrence written by its holder (or, for `lost`, by any node). Applied only
// if the stored fence equals `fence` and the occurrence is still active (claimed/running).
// Further: `running` only while the holder's lease (the record's node and lease_token) is live,
// `lost` only while it is not. `claimed` is never a valid target.
struct StateUpdate {
  OccurrenceKey key;
  std::int64_t fence = 0;
  RunState state = RunState::running;
  std::optional<int> exit_code;
  std::optional<int> signal;
  // Terminal states. Valid UTF-8 without NUL bytes: the scheduler makes job output so, and a
  // backend may reject anything else.
  std::string output_tail;
  std::string message;  // why it ended this way ("cannot execute ...", "lease of b expired")
};

struct RunRecord {
  OccurrenceKey key;
  RunState state = RunState::claimed;
  std::string node;  // the node that claimed it (empty for missed)
  std::int64_t lease_token = 0;  // the claimant's lease when it claimed (0 for missed)
  std::int64_t fence = 0;
  int attempt = 1;
  std::optional<StoreTime> claimed_at;
  std::optional<StoreTime> started_at;
  std::optional<StoreTime> finished_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string output_tail;
  std::string message;
  // A requested run (key.request != 0) or a backfilled one: who asked, and why.
  std::string requested_by;
  std::string note;
  Trigger trigger = Trigger::schedule;  // of the current attempt
};

// A request for one run of a job now (`solocron trigger`), kept in the store so that any node
// that has the job claims it, like an occurrence, under the key (job, at, request = id).
struct RunRequest {
  std::int64_t id = 0;  // ids grow: a later request has a larger one
  std::string job;
  std::chrono::sys_seconds at{};  // the store's clock when asked, whole seconds
  StoreTime requested_at{};
  std::string requested_by;
  std::string note;
};

// A job's pause state in the store (`solocron pause` / `resume`): the cluster's, whatever a
// node's configuration says once the store holds one.
struct JobControl {
  std::string job;
  bool paused = false;
  // The first instant not run: the schedule's ticks at or after it are refused while paused.
  std::chrono::sys_seconds paused_at{};
  // Once resumed: the schedule goes on after this instant (the paused span's end).
  std::optional<std::chrono::sys_seconds> resumed_at;
  std::string changed_by;
  std::string note;
  StoreTime changed_at{};  // the store's clock at the last change: nodes apply each change once
};

// The record of a paused span, written with the resume: keyed by the span's last tick (so
// that catch-up starts after it), state `paused`, the tick count and the span in `message`.
struct PausedSpan {
  std::chrono::sys_seconds last_tick{};
  std::string message;
};

// Takes over an occurrence (compare-and-set on its fence): applied only if the stored fence is
// still `fence`, the occurrence is `lost` or active under a lease that is no longer live, and
// the claimant's own lease is live. It becomes `claimed` by node_id with a new fence, the given
// attempt, a new claimed_at and no start, finish, exit, output or message. A `lost` attempt so
// replaced is kept, as a retry keeps a failed one (earlier_attempts).
struct ReclaimRequest {
  OccurrenceKey key;
  std::int64_t fence = 0;
  std::string node_id;
  std::int64_t lease_token = 0;
  int attempt = 1;
};

// One instant of a backfill (`solocron backfill`), kept in the store so that any node that has
// the job runs it, claimed under the instant's own key (request 0) with ClaimRequest::backfill.
struct BackfillItem {
  std::int64_t backfill = 0;  // the backfill's id (ids grow)
  std::string job;
  std::chrono::sys_seconds at{};
  StoreTime requested_at{};
  std::string requested_by;
  std::string note;
  // The occurrence's record as the item was read: none, `missed`, or active (claimed/running).
  std::optional<RunState> state;
};

struct NodeLease {
  std::string node_id;
  std::int64_t token = 0;  // changes at every (re-)registration; renewals must present it
  StoreTime registered_at{};
  StoreTime renewed_at{};  // the store's clock when the renewal was applied
  StoreTime expires_at{};
  bool live = false;  // expires_at > store now
  std::string version;  // what the node said it runs when it registered ("" from older nodes)
};

// What a node says of itself when it registers, shown beside its lease (`solocron nodes`,
// the API): so a rollout's progress can be read from the store.
struct NodeInfo {
  std::string version;  // solocron's version, as `--version` prints it
};

struct RegisterResult {
  bool acquired = false;
  // If acquired: the new lease. If not: the live lease held by someone else.
  NodeLease lease;
  bool took_over_expired = false;  // a lease with this id existed but had expired (restart)
};

// One job as a node runs it, published so that the cluster's job set can be read from the store
// (`solocron jobs`) and nodes that disagree about a definition show (drift).
struct PublishedJob {
  std::string job;
  std::string fingerprint;  // changes whenever the definition does (secret values excepted)
  std::string definition;   // a JSON object: schedule, zone, policies, the action without secrets
};

struct PublishedJobRow {
  std::string node_id;
  PublishedJob job;
  StoreTime published_at{};
};

struct HistoryQuery {
  std::optional<std::string> job;  // all jobs if empty
  std::vector<RunState> states;    // any state if empty
  std::size_t limit = 100;         // newest first by scheduled_at
  std::optional<std::chrono::sys_seconds> since;   // only scheduled_at >= since
  std::optional<std::chrono::sys_seconds> before;  // only scheduled_at < before (paging)
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates or upgrades the schema. Safe when many nodes call it at once (runs under a lock).
  virtual void migrate() = 0;
  // The store's clock.
  virtual StoreTime now() = 0;
  // Human-readable kind and location, password removed ("postgres://u@h:5432/db").
  virtual std::string describe() const = 0;
  // The store's identity: a random id made with the schema. A node compares it at every
  // heartbeat with the one it started on. Throws StoreError(invalid) when what this object
  // opened is no longer the store at its location (a SQLite file deleted or replaced).
  virtual std::string identity() = 0;
  // A new, independent connection to the same store, whose calls give up after
  // `call_deadline` (a lease must not wait behind a slow batch).
  virtual std::unique_ptr<Store> another_connection(std::chrono::milliseconds call_deadline) = 0;

  // --- node leases (section 5 of the cluster contract) ---
  // Acquires the lease for `node_id` if absent or expired, recording `info` with it; otherwise
  // reports the live holder (and its info).
  virtual RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl,
                                       const NodeInfo& info) = 0;
  RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl) {
    return register_node(node_id, ttl, NodeInfo{});
  }
  // Extends the lease if it is still ours (same token, not expired). Returns the renewed lease,
  // or nullopt when it was lost (expired and taken over, or released).
  virtual std::optional<NodeLease> renew_node(std::string_view node_id, std::int64_t token,
                                              std::chrono::milliseconds ttl) = 0;
  virtual void release_node(std::string_view node_id, std::int64_t token) = 0;
  virtual std::vector<NodeLease> nodes() = 0;

  // --- occurrences (sections 1, 2, 7) ---
  // Each request is one atomic insert-if-absent; a batch is executed in one round trip where
  // the backend can. Results are in request order.
  virtual std::vector<ClaimResult> claim(std::span<const ClaimRequest> requests) = 0;
  // Guarded writes (see StateUpdate); returns, per update, whether it was applied.
  virtual std::vector<bool> update(std::span<const StateUpdate> updates) = 0;
  // Inserts `missed` records for occurrences nobody claimed (insert-if-absent; existing kept;
  // instants retention has pruned are not recorded again). Per key, whether this call inserted
  // it: of several nodes recording one miss, exactly one hears true (it runs the on_missed hook).
  virtual std::vector<bool> record_missed(std::span<const OccurrenceKey> keys) = 0;
  // Per key: whether the occurrence is decided already (a record in any state, or pruned). A
  // read, no guarantee: a node that is not an occurrence's preferred claimant asks first, so
  // that its fallback claims do not take the write lock for nothing.
  virtual std::vector<bool> recorded(std::span<const OccurrenceKey> keys) = 0;
  // Re-claims (see ReclaimRequest); per request, the new record when applied.
  virtual std::vector<std::optional<RunRecord>> reclaim(std::span<const ReclaimRequest> requests) = 0;

  // --- retries ---
  // A new attempt of a run that ended `failed` or `timed_out` (compare-and-set): applied only
  // if the stored fence is still `fence`, the state one of those, the stored attempt is
  // `attempt - 1` and the claimant's lease is live. In the same transaction the attempt as it
  // ended is kept (earlier_attempts) and the record becomes `claimed` as in reclaim, with
  // trigger retry. Per request, the new record when applied.
  virtual std::vector<std::optional<RunRecord>> retry(std::span<const ReclaimRequest> requests) = 0;
  // The runs of `jobs` that ended `failed` or `timed_out` at or after `finished_since` (store
  // time), the earliest finished first, at most 1,000: the scheduler decides which are due.
  virtual std::vector<RunRecord> retry_candidates(std::span<const std::string> jobs,
                                                  StoreTime finished_since) = 0;
  // The attempts kept of these occurrences (those a retry replaced), by key, then attempt.
  virtual std::vector<RunRecord> earlier_attempts(std::span<const OccurrenceKey> keys) = 0;

  // --- backfill ---
  // Records a backfill of `job` at these instants (at most 10,000) under a new id, asked now by
  // the store's clock. Returns the id.
  virtual std::int64_t request_backfill(std::string_view job,
                                        std::span<const std::chrono::sys_seconds> instants,
                                        std::string_view requested_by, std::string_view note) = 0;
  // The items of backfills asked at or after `since` whose occurrence is still to run or
  // running: no record, `missed`, or active; not pruned by retention. By job, then instant
  // (the oldest first), at most 1,000.
  virtual std::vector<BackfillItem> pending_backfill(StoreTime since) = 0;

  // --- the cluster's job set ---
  // Replaces the whole set `node_id` published with `jobs`, if its lease (id, token) is live by
  // the store's clock; false, and nothing written, when it is not.
  virtual bool publish_jobs(std::string_view node_id, std::int64_t lease_token,
                            std::span<const PublishedJob> jobs) = 0;
  // The sets published by nodes whose lease is live, under that lease; by job, then node.
  virtual std::vector<PublishedJobRow> published_jobs() = 0;

  // --- requested runs ---
  // Records a request for one run of `job`, asked now by the store's clock, under a new id.
  virtual RunRequest request_run(std::string_view job, std::string_view requested_by,
                                 std::string_view note) = 0;
  // The requests asked at or after `since` that have no record yet, oldest first (at most
  // 1,000): no record with the request's key and node '' (a job run once in the cluster) or
  // node `node_id` (an every_node job, whose nodes each run it).
  virtual std::vector<RunRequest> pending_requests(std::string_view node_id,
                                                   std::chrono::sys_seconds since) = 0;

  // --- pause ---
  // Every job the store holds a pause state for (jobs ever paused), by name.
  virtual std::vector<JobControl> job_controls() = 0;
  // Pauses `job` from the next whole second of the store's clock; nullopt, and nothing written,
  // when it is paused already.
  virtual std::optional<JobControl> pause_job(std::string_view job, std::string_view by,
                                              std::string_view note) = 0;
  // Resumes `job` if it is still paused from `paused_at` (compare-and-set: of two resumes, one
  // applies): the schedule goes on after `until`, and `span`, when given, is recorded in the
  // same transaction (insert-if-absent). nullopt, nothing written, otherwise.
  virtual std::optional<JobControl> resume_job(std::string_view job,
                                               std::chrono::sys_seconds paused_at,
                                               std::chrono::sys_seconds until, std::string_view by,
                                               std::string_view note,
                                               const std::optional<PausedSpan>& span) = 0;
  // The initial state of jobs whose configuration says `paused`: each job the store holds no
  // pause state for is paused from now (by "configuration"); the others are left alone.
  virtual void seed_paused(std::span<const std::string> jobs) = 0;

  // --- history (sections 6, 11) ---
  virtual std::vector<RunRecord> history(const HistoryQuery& query) = 0;
  // Per job: the latest scheduled_at of the schedule's occurrences (request 0) recorded in any
  // state, or pruned by retention (misfire detection starts after it); nullopt for a job with
  // no history.
  virtual std::vector<std::optional<std::chrono::sys_seconds>> last_scheduled(
      std::span<const std::string> jobs) = 0;
  // The active (claimed or running) occurrences held by `node_id` (under any of its leases),
  // oldest first.
  virtual std::vector<RunRecord> active_runs(std::string_view node_id) = 0;
  // The active occurrences whose holder's lease (node, lease_token) is not live by the store's
  // clock, oldest first: the scheduler decides which to take over and which are lost.
  virtual std::vector<RunRecord> orphaned_runs() = 0;
  // Retention: keep the newest `keep_last` records of `job` and none older than `max_age`;
  // active records are kept. The job's pruned-through instant rises to the newest instant
  // deleted, so that no pruned occurrence can be claimed or recorded again.
  virtual void prune(std::string_view job, std::size_t keep_last,
                     std::optional<std::chrono::seconds> max_age) = 0;
};

struct OpenOptions {
  // For commands that only read (history, nodes, status): an existing store is opened
  // read-only and never created nor migrated; a missing one is StoreError(invalid) naming it.
  bool read_only = false;
};

// Opens a store from a URL: "memory:", "sqlite:///abs/path.db", "sqlite:relative.db",
// "postgres://user@host:port/db?sslmode=disable". Throws StoreError(invalid) on a bad URL.
// The returned store is not migrated yet.
std::unique_ptr<Store> open_store(const std::string& url, const OpenOptions& options = {});

}  // namespace solocron
