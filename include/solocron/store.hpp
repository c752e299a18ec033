// The store: where the nodes of a cluster coordinate.
//
// A Store is a thin compare-and-set layer over a real database. It admits at most one claim
// per occurrence (one atomic insert-if-absent, never a read followed by a write), issues
// fencing tokens, keeps node leases and the run history, and judges time by its own clock.
// All policy (when to claim, heartbeat timing, misfire, delivery, overlap decisions) lives in
// the scheduler, once; a backend only executes these primitives atomically.
//
// Every method may throw StoreError (connection lost, deadline exceeded, schema mismatch).
// "Already claimed" or "lease held by another node" are ordinary results, not errors.
// Implementations are safe to call from several threads.
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

// Timestamps written and read by the store, on the store's clock.
using StoreTime = std::chrono::sys_time<std::chrono::milliseconds>;

class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    unavailable,  // cannot reach the store, or a deadline passed: treat as a partition
    invalid,      // bad URL, bad configuration, schema newer than this binary
    internal,     // the backend reported something unexpected
  };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// One scheduled tick of a job. `node` is empty except for run_on: every_node jobs,
// whose occurrences are per node.
struct OccurrenceKey {
  std::string job;
  std::chrono::sys_seconds scheduled_at;
  std::string node;
  friend bool operator==(const OccurrenceKey&, const OccurrenceKey&) = default;
};

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
};
std::string_view to_string(RunState state);
std::optional<RunState> run_state_from_string(std::string_view text);
// claimed and running are the only states in which an occurrence may still change.
inline bool is_active(RunState s) { return s == RunState::claimed || s == RunState::running; }

enum class OverlapMode { allow, forbid, replace };

struct ClaimRequest {
  OccurrenceKey key;
  std::string node_id;        // the claiming node (holder of a live node lease)
  OverlapMode overlap = OverlapMode::allow;
  // Skew guard: refuse if key.scheduled_at > store now + max_clock_skew.
  std::chrono::milliseconds max_clock_skew{2000};
};

struct ClaimResult {
  enum class Outcome {
    won,              // inserted; `fence` is the new token
    taken,            // another claim (or a `missed` / `skipped_overlap` record) exists already
    overlap_skipped,  // forbid: a previous occurrence runs on a live node; recorded skipped_overlap
    too_early,        // skew guard: scheduled_at is ahead of the store's clock by > max_clock_skew
  };
  Outcome outcome = Outcome::taken;
  std::int64_t fence = 0;  // set when won
  StoreTime store_now{};   // the store's clock at the claim
  // replace: active occurrences of the same job that this claim moved to `interrupted`.
  std::vector<OccurrenceKey> replaced;
};

// A change to an occurrence written by its holder. Applied only if the stored fence equals
// `fence` and the occurrence is still active (claimed/running); otherwise rejected.
struct StateUpdate {
  OccurrenceKey key;
  std::int64_t fence = 0;
  RunState state = RunState::running;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string output_tail;  // for terminal states
};

struct RunRecord {
  OccurrenceKey key;
  RunState state = RunState::claimed;
  std::string node;  // the node that claimed it (empty for missed)
  std::int64_t fence = 0;
  int attempt = 1;
  std::optional<StoreTime> claimed_at;
  std::optional<StoreTime> started_at;
  std::optional<StoreTime> finished_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string output_tail;
};

struct NodeLease {
  std::string node_id;
  std::int64_t token = 0;  // changes at every (re-)registration; renewals must present it
  StoreTime registered_at{};
  StoreTime renewed_at{};
  StoreTime expires_at{};
  bool live = false;  // expires_at > store now
};

struct RegisterResult {
  bool acquired = false;
  // If acquired: the new lease. If not: the live lease held by someone else.
  NodeLease lease;
  bool took_over_expired = false;  // a lease with this id existed but had expired (restart)
};

struct HistoryQuery {
  std::optional<std::string> job;  // all jobs if empty
  std::size_t limit = 100;         // newest first by scheduled_at
  std::optional<std::chrono::sys_seconds> since;  // only scheduled_at >= since
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

  // --- node leases (section 5 of the cluster contract) ---
  // Acquires the lease for `node_id` if absent or expired; otherwise reports the live holder.
  virtual RegisterResult register_node(std::string_view node_id, std::chrono::milliseconds ttl) = 0;
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
  // Guarded writes; returns, per update, whether it was applied.
  virtual std::vector<bool> update(std::span<const StateUpdate> updates) = 0;
  // Inserts `missed` records for occurrences nobody claimed (insert-if-absent; existing kept).
  virtual void record_missed(std::span<const OccurrenceKey> keys) = 0;

  // --- liveness of runs (section 5) ---
  // Moves active occurrences whose claiming node's lease has expired to `lost`, and returns them.
  virtual std::vector<RunRecord> mark_lost() = 0;
  // at_least_once: re-claims a `lost` occurrence for `node_id` with attempt + 1 and a new fence.
  // Atomic: of several nodes trying, one wins.
  virtual std::optional<RunRecord> reclaim_lost(const OccurrenceKey& key, std::string_view node_id) = 0;

  // --- history (sections 6, 11) ---
  virtual std::vector<RunRecord> history(const HistoryQuery& query) = 0;
  // The latest scheduled_at recorded for `job` in any state (misfire detection starts after it).
  virtual std::optional<std::chrono::sys_seconds> last_scheduled(std::string_view job) = 0;
  // Active occurrences held by `node_id` (a node checks them after a partition or a replace).
  virtual std::vector<RunRecord> active_runs(std::string_view node_id) = 0;
  // Retention: keep the newest `keep_last` records of `job` and none older than `max_age`.
  virtual void prune(std::string_view job, std::size_t keep_last,
                     std::optional<std::chrono::seconds> max_age) = 0;
};

// Opens a store from a URL: "memory:", "sqlite:///abs/path.db", "sqlite:relative.db",
// "postgres://user@host:port/db?sslmode=disable". Throws StoreError(invalid) on a bad URL.
// The returned store is not migrated yet.
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace solocron
