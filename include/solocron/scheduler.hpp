// Scheduler: turns jobs into runs on this node, and coordinates them with other nodes.
//
// A Scheduler keeps a table of jobs (add / update / remove / pause / resume / run_now, or
// apply() to reconcile a whole new list on reload), fires each occurrence at the instant its
// Schedule yields, and starts its action on a bounded pool (max_concurrent_runs covers
// callables and commands together). Fire instants are computed in the job's zone on the
// cluster's clock: the node measures its offset to the store's clock at every heartbeat and
// fires by that clock, carried forward on its monotonic clock, so every node fires the same
// instant whatever its own wall clock says, and a step of the wall clock changes nothing. A
// step of the store's clock (or of the wall clock with the memory: store, whose clock it is)
// sends the skipped occurrences through the misfire policy; a backward step never fires an
// occurrence twice.
//
// Unless a job is `run_on: local`, every start is preceded by a successful Store::claim made
// under the node's live lease, and by its `running` mark being stored; the run receives the
// claim's fencing token and its state writes carry it. A node claims only what it can start at
// once (a free slot), so a busy node leaves work to idle ones. The node lease is renewed every
// heartbeat on its own store connection; when it was not renewed for node_ttl (counted from
// when the last successful renewal was sent) the node stops claiming and stops its running
// `once` jobs (self-fencing). docs/architecture.md maps the components; docs/cluster.md states
// the guarantees.
//
// Every outcome is reported to a SchedulerObserver and counted in Statistics. All public
// methods are thread-safe. Observer callbacks arrive on internal threads, never with a
// scheduler lock held, so they may call back into the scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "solocron/clock.hpp"
#include "solocron/expected.hpp"
#include "solocron/job.hpp"
#include "solocron/node.hpp"
#include "solocron/store.hpp"

namespace solocron {

enum class RunEventKind {
  claimed,          // this node won the claim (fence set)
  claim_taken,      // another node (or an earlier record) has the occurrence
  started,          // the action started (started_at set)
  output,           // one line of a command's output (line, from_stderr)
  finished,         // state, exit_code/signal, duration, output_tail
  missed,           // recorded missed (late beyond starting_deadline, misfire, catch-up)
  skipped_overlap,  // overlap: forbid and a previous occurrence still runs
  replaced,         // overlap: replace stopped this node's run of an older occurrence
  lost,             // the store moved a run to lost (its node's lease expired)
  reclaimed,        // at_least_once: this node re-claimed a lost occurrence
  too_early,        // the store refused the claim: this node's clock is ahead; retried later
  not_claimed,      // due while this node could not claim (no lease, partition, shutdown)
  stale_write,      // a state write was rejected by its fencing token
  store_error,      // a store call failed (message)
  clock_step,       // the wall clock jumped (message; duration = size, negative when back)
  clock_skew,       // skew with the store's clock exceeds max_clock_skew (or is back within)
  lease_acquired,   // node lease registered (message says "restart after crash" on takeover)
  lease_lost,       // lease lost or not renewed for node_ttl: self-fenced
  lease_waiting,    // the node id is held by a live lease; waiting for it to expire
  fatal,            // the scheduler cannot continue (e.g. node id in use by a live process)
  catch_up,         // summary of a catch-up pass (message)
  lease_released,   // shutdown released the node lease (or says why it was left to expire)
  store_changed,    // the store is no longer the one the node started on: stopped claiming
  unguarded,        // no guardian process: runs would outlive this node if it died
  hook_delivered,   // a notification (on_failure, on_missed, on_success) was delivered (message)
  hook_failed,      // a notification attempt failed (message: why, and whether it is retried)
};
std::string_view to_string(RunEventKind kind);

struct RunEvent {
  RunEventKind kind = RunEventKind::claimed;
  std::string job;                        // empty for node-level events
  std::chrono::sys_seconds scheduled_at{};  // the occurrence
  std::string node;                       // this node's id
  std::int64_t fence = 0;
  int attempt = 1;
  std::optional<RunState> state;          // finished
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::chrono::milliseconds duration{0};  // finished: run time; clock_step: jump size
  std::chrono::system_clock::time_point started_at{};  // started / finished
  std::string_view line;                  // output: valid only during on_event
  bool from_stderr = false;
  std::string output_tail;                // finished
  std::string message;                    // human detail for errors and node events
};

class SchedulerObserver {
 public:
  virtual ~SchedulerObserver() = default;
  // Called from internal threads, possibly concurrently; must not block for long.
  virtual void on_event(const RunEvent& event) = 0;
};

// Counters for every outcome since construction (and two gauges).
struct Statistics {
  std::uint64_t fired = 0;            // occurrences that came due
  std::uint64_t claims_won = 0;
  std::uint64_t claims_taken = 0;
  std::uint64_t started = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t interrupted = 0;
  std::uint64_t lost = 0;
  std::uint64_t reclaimed = 0;
  std::uint64_t missed = 0;
  std::uint64_t skipped_overlap = 0;
  std::uint64_t replaced = 0;
  std::uint64_t too_early = 0;
  std::uint64_t not_claimed = 0;
  std::uint64_t stale_writes = 0;
  std::uint64_t store_errors = 0;
  std::uint64_t clock_steps = 0;
  std::uint64_t lease_lost = 0;
  std::uint64_t running = 0;  // gauge: runs started and not finished
  std::uint64_t queued = 0;   // gauge: runs ready to start, waiting for a worker or a slot
  std::uint64_t waiting = 0;  // gauge: due occurrences not claimed yet for want of a free slot
  // gauge: this node's wall clock minus the store's clock, as last measured (0 before)
  std::int64_t clock_offset_ms = 0;
};

// A job as the scheduler holds it.
struct JobInfo {
  JobSpec spec;
  bool paused = false;
  std::optional<std::chrono::sys_seconds> next_fire;
  std::optional<std::chrono::sys_seconds> last_fired;
  std::size_t active_runs = 0;  // queued or running on this node
};

// Success, or a message naming the job and what was wrong.
using JobResult = Expected<std::monostate, std::string>;

// What apply() did. Errors are per job; the other jobs are applied regardless, and a job whose
// new definition is invalid keeps its old one.
struct ApplyResult {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  std::vector<std::pair<std::string, std::string>> errors;  // job name (may be empty), message
};

class Scheduler {
 public:
  // Throws std::invalid_argument with the message of validate(settings).
  Scheduler(NodeSettings settings, Store& store, Clock& clock = system_clock());
  ~Scheduler();  // shutdown(0ms) if still running
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Set before start(); not owned; may be null.
  void set_observer(SchedulerObserver* observer);

  JobResult add(JobSpec spec);
  // Replaces the definition; runs in progress keep the old one. Fire timing is kept when the
  // schedule is unchanged.
  JobResult update(JobSpec spec);
  // Future occurrences stop; runs in progress finish and record their result.
  JobResult remove(std::string_view name);
  JobResult pause(std::string_view name);
  // On this node only, for jobs the store holds no pause state for (`solocron pause` / resume
  // set one, which wins). Occurrences due while paused are not run and not recorded.
  JobResult resume(std::string_view name);
  // Runs an occurrence at the current second now (claimed like any other unless local).
  JobResult run_now(std::string_view name);
  std::optional<JobInfo> find(std::string_view name) const;
  std::vector<JobInfo> list() const;
  // Reconciles the job table with `jobs` (SIGHUP reload). Runs in progress are untouched.
  ApplyResult apply(std::vector<JobSpec> jobs);

  // Registers the node lease, runs @reboot jobs, catches up missed occurrences and starts
  // firing. Returns at once; the lease may be acquired later (see ready()).
  void start();
  // Cluster contract section 9 (drain): stop claiming and firing at once, keep renewing the
  // lease while runs finish for up to `grace` (default: settings.shutdown_grace), stop the rest
  // (stop_token / SIGTERM, then SIGKILL after the job's kill_grace), record them interrupted,
  // then release the node lease. Idempotent.
  void shutdown(std::optional<std::chrono::milliseconds> grace = std::nullopt);

  // False before start(), after shutdown began, while the store is unreachable, the lease is
  // not held, or the store changed identity. A wall clock off from the store's does not make a
  // node unready (it fires by the store's clock); status() reports the offset. `status()` says
  // why it is not ready.
  bool ready() const;
  std::string status() const;
  // Set when the scheduler gave up (e.g. "node id X is in use by another live process").
  std::optional<std::string> fatal_error() const;

  Statistics statistics() const;
  const std::string& node_id() const;
  const NodeSettings& settings() const;

  // Blocks (for at most `real_timeout` of real time) until the scheduler has handled everything
  // due at the clock's current time and, if `runs_too`, no run is queued or running (else only
  // until every queued run that has a free slot was handed to it). For tests with FakeClock
  // and for tools; returns false on timeout.
  bool wait_idle(std::chrono::milliseconds real_timeout = std::chrono::seconds(10),
                 bool runs_too = true) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace solocron
