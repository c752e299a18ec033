// The Scheduler's internals, shared by the files of src/scheduler/.
//
// Threads: one timer loop (fires due occurrences, runs deadline tasks: claim stagger, too_early
// retries, callable timeouts), one lease thread (node lease heartbeat, skew, lost runs,
// catch-up, retention), a worker pool bounded by max_concurrent_runs, and the process runner's
// I/O thread for commands. One mutex (`mu`) guards all mutable state; store calls, observer
// callbacks and process-runner calls are made without it.
#pragma once

#include "scheduler/state_writer.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

#include "process/process_runner.hpp"
#include "scheduler/job_table.hpp"
#include "solocron/scheduler.hpp"

namespace solocron {

namespace detail {

using WallTime = Clock::wall_time;
using SteadyTime = Clock::steady_time;
using std::chrono::milliseconds;
using std::chrono::sys_seconds;

enum class StopReason { none, timeout, replaced, shutdown, fenced };

// One run of an occurrence on this node, from dispatch (queued) to finish.
struct Run {
  std::uint64_t id = 0;
  std::shared_ptr<const JobDef> def;
  std::uint32_t slot = 0;
  std::uint32_t incarnation = 0;
  OccurrenceKey key;
  std::int64_t fence = 0;
  int attempt = 1;
  bool store_backed = false;
  std::uint64_t claim_seq = 0;  // order of claims, for the heartbeat's active_runs check
  std::stop_source stop;
  StopReason stop_reason = StopReason::none;
  bool started = false;
  bool holds_slot = false;        // counts against max_concurrent_runs
  bool skip_store_write = false;  // its 'running' write was already rejected
  bool is_process = false;
  std::uint64_t process_id = 0;
  WallTime started_wall{};
  SteadyTime started_steady{};
};

// An occurrence that came due (or was found by catch-up), before the policies decide on it.
struct Occurrence {
  std::shared_ptr<const JobDef> def;
  std::uint32_t slot = 0;
  std::uint32_t incarnation = 0;
  sys_seconds at{};
  bool misfired = false;  // skipped by a clock step, a stall or downtime
};

struct DeadlineTask {
  SteadyTime at;
  std::uint64_t seq;
  std::function<void()> fn;
};

struct Park {
  bool parked = false;
  bool dirty = false;  // work was posted after it last looked
  SteadyTime deadline{};
};

struct Counters {
  std::atomic<std::uint64_t> fired{0}, claims_won{0}, claims_taken{0}, started{0}, succeeded{0},
      failed{0}, timed_out{0}, interrupted{0}, lost{0}, reclaimed{0}, missed{0},
      skipped_overlap{0}, replaced{0}, too_early{0}, not_claimed{0}, stale_writes{0},
      store_errors{0}, clock_steps{0}, lease_lost{0};
};

// Rendezvous rank of `node` among `nodes` for an occurrence: 0 for the preferred node.
std::size_t rendezvous_rank(std::string_view job, sys_seconds at, std::string_view node,
                            const std::vector<std::string>& nodes);

// Misfire policy over one job's misfired occurrences (oldest first): which to run now and
// which to record missed. Occurrences older than the starting deadline are never run.
struct MisfireDecision {
  std::vector<sys_seconds> run;
  std::vector<sys_seconds> missed;
};
MisfireDecision decide_misfire(const JobDef& def, const std::vector<sys_seconds>& occurrences,
                               WallTime now);

}  // namespace detail

struct Scheduler::Impl {
  Impl(NodeSettings s, Store& st, Clock& c);

  // --- configuration ---
  NodeSettings settings;
  Store& store;
  Clock& clock;
  std::string node_id;
  SchedulerObserver* observer = nullptr;

  mutable std::mutex mu;

  // --- job table (mu) ---
  std::vector<detail::JobSlot> slots;
  std::vector<std::uint32_t> slot_incarnation;  // bumped when a slot is freed
  std::vector<std::uint32_t> free_slots;
  detail::NameIndex names;
  detail::TimerHeap heap;
  std::size_t live_jobs = 0;

  // --- runs (mu) ---
  std::unordered_map<std::uint64_t, std::shared_ptr<detail::Run>> runs;  // queued or running
  std::deque<std::shared_ptr<detail::Run>> ready;
  std::size_t running = 0;  // runs holding a concurrency slot
  std::size_t workers = 0, idle_workers = 0;
  std::vector<std::thread> worker_threads;
  std::condition_variable_any work_cv;
  std::uint64_t dispatched = 0;     // runs handed to a worker so far
  bool spawn_check_armed = false;  // a spawn_check task is pending
  std::uint64_t next_run_id = 1;
  std::uint64_t claim_seq = 0;
  // Claims between the store's answer and their runs entering `runs`: while any is in flight
  // (or the epoch moved), the heartbeat cannot tell an orphaned record from a fresh claim.
  std::size_t claims_in_flight = 0;
  std::uint64_t claim_epoch = 0;
  struct ClaimInFlight {
    explicit ClaimInFlight(Impl& i) : impl(i) {
      std::lock_guard<std::mutex> g(impl.mu);
      ++impl.claims_in_flight;
      ++impl.claim_epoch;
    }
    ~ClaimInFlight() {
      std::lock_guard<std::mutex> g(impl.mu);
      --impl.claims_in_flight;
      ++impl.claim_epoch;
    }
    Impl& impl;
  };
  std::unique_ptr<detail::ProcessRunner> runner;

  // --- timer loop (mu) ---
  std::thread loop_thread;
  std::condition_variable_any loop_cv;
  detail::Park loop_park;
  std::vector<detail::DeadlineTask> tasks;  // min-heap on `at`
  std::uint64_t task_seq = 0;
  bool firing = false;

  // --- node lease (mu) ---
  std::thread lease_thread;
  std::condition_variable_any lease_cv;
  detail::Park lease_park;
  bool lease_held = false;
  std::int64_t lease_token = 0;
  detail::SteadyTime last_renewed{};
  bool store_ok = true;
  bool skew_bad = false;
  bool claiming = false;
  // Set on (re-)registration: the next heartbeat walks every job's history so no occurrence
  // goes unrun and unrecorded. Occurrences whose claim failed are retried from `retry`.
  bool catch_up_pending = false;
  std::vector<detail::Occurrence> retry;  // claims or missed records that failed
  std::vector<std::string> live_nodes;  // sorted
  std::optional<detail::SteadyTime> conflict_since;
  std::optional<StoreTime> conflict_first_renewal;
  std::set<std::string> prune_dirty;

  // --- lifecycle (mu) ---
  enum class Phase { created, running, stopping, stopped } phase = Phase::created;
  bool stop_threads = false;
  std::optional<std::string> fatal;
  mutable std::condition_variable_any idle_cv;
  std::condition_variable_any shutdown_cv;

  detail::Counters counters;

  // scheduler.cpp: job table
  JobResult validate_spec(const JobSpec& spec) const;
  void schedule_slot(std::uint32_t slot, detail::WallTime now);  // mu held
  std::uint32_t allocate_slot();                                 // mu held
  void free_slot(std::uint32_t slot);                            // mu held
  JobInfo info_of(std::uint32_t slot) const;                     // mu held
  JobResult add_locked(JobSpec spec, detail::WallTime now);
  JobResult update_locked(JobSpec spec, detail::WallTime now, bool* changed);
  void wake_loop();                                              // mu held
  bool idle_locked(bool runs_too) const;

  // timer_loop.cpp
  void loop_main();
  void add_task(detail::SteadyTime at, std::function<void()> fn);  // mu held
  void process_occurrences(std::vector<detail::Occurrence> occs, detail::WallTime now);
  void run_reboot_jobs();

  // claimer.cpp
  void claim_and_dispatch(std::vector<detail::Occurrence> occs);
  void claim_batch(std::vector<detail::Occurrence> occs);
  void record_missed(const std::vector<detail::Occurrence>& occs, const std::string& why);
  void retry_later(std::vector<detail::Occurrence> occs);
  void start_local(std::vector<detail::Occurrence> occs);

  // executor.cpp
  std::shared_ptr<detail::Run> make_run(const detail::Occurrence& occ);  // mu held
  void enqueue(std::shared_ptr<detail::Run> run);                        // mu held
  void wake_workers();                                                   // mu held
  void spawn_workers(std::size_t n);                                     // mu held
  void arm_spawn_check();                                                // mu held
  void spawn_check(std::uint64_t dispatched_when_armed);
  void worker_main();
  void execute(const std::shared_ptr<detail::Run>& run);
  void execute_callable(const std::shared_ptr<detail::Run>& run);
  void execute_command(const std::shared_ptr<detail::Run>& run);
  void finish(const std::shared_ptr<detail::Run>& run, RunState state, std::optional<int> exit_code,
              std::optional<int> signal, std::string tail);
  // Requests a stop; returns the process to terminate (outside mu), if any.
  std::optional<std::pair<std::uint64_t, std::chrono::milliseconds>> stop_locked(
      detail::Run& run, detail::StopReason reason);
  void terminate_processes(
      const std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>>& procs);
  std::vector<std::shared_ptr<detail::Run>> drain_ready_locked(detail::StopReason reason);

  // node_lease.cpp
  void lease_main();
  void heartbeat();
  void try_register();
  void renew();
  void self_fence(const std::string& why);
  void check_skew();
  void refresh_nodes();
  void handle_lost();
  void handle_lost_records(const std::vector<RunRecord>& lost);
  void check_active_runs();
  void prune_some();

  // catch_up.cpp
  bool catch_up(detail::WallTime until);  // false when the store failed

  // events
  void emit(const RunEvent& e) const;
  RunEvent event(RunEventKind kind, const detail::Run* run = nullptr) const;
  void store_error(const std::string& what, const std::exception& e);

  // executor.cpp: fenced state writes, batched by `writer`. While an outcome is being written
  // the store still shows the run active although it has left `runs`: the orphan check waits.
  // Writes `update` in the writer's next batch; emits `then` (if any) once it is written.
  void write_state(const std::shared_ptr<detail::Run>& run, StateUpdate update,
                   std::optional<RunEvent> then = std::nullopt);
  void report_write(const detail::Run& run, RunState state, detail::StopReason reason,
                    std::optional<bool> applied, const std::string& error);
  std::size_t writes_in_flight = 0;  // (mu)
  // Last member: destroyed first, while everything its callbacks touch still exists.
  std::unique_ptr<detail::StateWriter> writer;
};

}  // namespace solocron
