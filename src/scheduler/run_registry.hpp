// RunRegistry: every run on this node, from "claim sent" to "final write acknowledged".
//
// It is the one place that knows what this node holds in the store and what it runs: each
// run's phase, the max_concurrent_runs slots, and the queue of runs ready to start. A slot is
// held from the moment a claim is sent (so a node claims only what it can start at once) until
// the run's action has ended; the entry itself lives on until the store has acknowledged the
// run's outcome, so a run whose outcome is still being written is never taken for gone.
//
// One mutex guards it all; nothing here calls the store, a process or an observer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/job_table.hpp"
#include "solocron/clock.hpp"

namespace solocron::detail {

enum class StopReason { none, timeout, replaced, shutdown, fenced };

enum class RunPhase {
  claiming,   // claim sent (store-backed), slot held
  marking,    // claim won, `running` mark sent, slot held
  queued,     // ready: waiting for a worker (store-backed: slot held; local: waiting for one)
  running,    // the action runs, slot held
  finishing,  // the action ended; its outcome is being written (store-backed)
};

struct Run {
  std::uint64_t id = 0;
  std::shared_ptr<const JobDef> def;
  OccurrenceKey key;
  bool store_backed = false;
  std::int64_t fence = 0;
  std::int64_t lease_token = 0;
  int attempt = 1;
  Trigger trigger = Trigger::schedule;  // of this attempt (SOLOCRON_TRIGGER)
  // Under the registry's mutex:
  RunPhase phase = RunPhase::queued;
  // Written under the registry's mutex; atomic so that a worker reads it after the action
  // without taking the lock a third time per run.
  std::atomic<StopReason> stop_reason{StopReason::none};
  bool holds_slot = false;
  bool started = false;
  std::uint64_t marked_seq = 0;  // registry sequence when its running mark was stored
  std::optional<std::uint64_t> process;  // the process runner's id, once started
  std::stop_source stop;
  Clock::wall_time started_wall{};
  Clock::steady_time started_steady{};
  // The registry's list of runs (intrusive: no allocation or hashing per run).
  std::shared_ptr<Run> next;
  Run* prev = nullptr;
};

using RunPtr = std::shared_ptr<Run>;

class RunRegistry {
 public:
  explicit RunRegistry(std::size_t capacity) : capacity_(capacity) {}

  // --- store-backed runs ---
  // Takes up to `n` free slots for claims about to be sent; returns how many.
  std::size_t reserve(std::size_t n);
  // A new entry in phase `claiming`, holding one reserved slot.
  RunPtr add_claiming(std::shared_ptr<const JobDef> def, OccurrenceKey key, int attempt,
                      Trigger trigger);
  // The claim was won: phase `marking` with its fence.
  void claimed(Run& run, std::int64_t fence, std::int64_t lease_token);
  // The running mark was stored: queued for a worker. False once workers were stopped
  // (shutdown): the run will not start.
  bool mark_stored(const RunPtr& run);
  // The claim or mark did not succeed, or the run will not start: the entry and its slot go.
  void abandon(const Run& run);

  // --- local runs ---
  // Queues local runs; `forbid` and `replace` are decided against this node's runs of the job
  // in the same step. Returns the runs replaced (to stop) and the occurrences skipped.
  struct LocalResult {
    std::vector<RunPtr> replaced;
    std::vector<OccurrenceKey> skipped;
  };
  LocalResult add_local(std::vector<Occurrence> occs);

  // --- workers ---
  // Blocks until a run can start (a queued store-backed run, or a local one and a free slot),
  // then marks it running. Returns null once stopped with nothing left to start.
  // `spare`, when given, becomes the Run of a local run that starts (allocated by the worker
  // before it takes the lock, so the lock is not held across an allocation).
  RunPtr next_to_start(Clock& clock, RunPtr* spare = nullptr);
  // Whether a worker would find work now (spawn decisions).
  std::size_t startable() const;
  std::size_t idle_workers() const;
  // The action ended: frees the slot; store-backed runs stay (finishing) until `remove`.
  void action_ended(Run& run);
  void remove(const Run& run);
  void set_process(Run& run, std::uint64_t process_id, bool* stop_now);

  // --- stops (the caller acts on the returned runs outside the lock) ---
  // Sets the reason on every run matching `pred` that is not stopping already; returns those
  // (to signal, count and report once). Queued local runs are not among them (see
  // drain_queued): nothing but replace and shutdown stops those, and both see the queue.
  std::vector<RunPtr> stop_if(const std::function<bool(const Run&)>& pred, StopReason reason);
  // Queued runs that never started are removed and returned (shutdown).
  std::vector<RunPtr> drain_queued(StopReason reason);
  StopReason stop_reason(const Run& run) const;

  // --- queries ---
  // Store-backed runs whose running mark was stored at or before `seq` (sweeps).
  std::vector<RunPtr> marked_before(std::uint64_t seq) const;
  std::uint64_t sequence() const;
  std::size_t active_of(const JobDef& def) const;
  // Whether a run with this fence is this node's, in any phase.
  bool holds(std::int64_t fence) const;
  std::size_t running() const;  // slots held
  std::size_t queued() const;  // ready to start, waiting for a worker or (local) a slot
  std::size_t size() const;
  std::size_t unfinished() const;  // runs whose action has not ended yet
  std::size_t free_slots() const;
  std::size_t capacity() const { return capacity_; }
  // Stops the workers' wait: next_to_start() returns null when nothing is left to start.
  void stop_workers();
  // Notified when slots free or runs end (waiters: shutdown, wait_idle, the claimer).
  void on_change(std::function<void()> fn) { on_change_ = std::move(fn); }
  // Blocks until no run holds a slot or `deadline` (the clock's steady time) passes.
  bool wait_no_runs(Clock& clock, Clock::steady_time deadline);

 private:
  // A local run waiting for a worker. Its Run is made when it starts, or earlier when
  // something must refer to it (replaced or drained while queued): a burst of 10,000 due local
  // jobs then costs the timer thread a queue entry apiece, not an allocation, and each Run is
  // allocated and freed on the worker that runs it, from memory that stays warm.
  struct LocalQueued {
    std::shared_ptr<const JobDef> def;
    std::chrono::sys_seconds at;
    RunPtr run;  // null until made
  };
  RunPtr make_locked(std::shared_ptr<const JobDef> def, OccurrenceKey key, bool store_backed);
  // A new Run, linked into the list; `count_` and the job's activity are the caller's.
  RunPtr link_new_locked(std::shared_ptr<const JobDef> def, OccurrenceKey key, bool store_backed,
                         RunPtr* spare = nullptr);
  const RunPtr& made_locked(LocalQueued& q, RunPtr* spare = nullptr);
  void replace_locked(const JobDef& def, std::vector<RunPtr>& replaced);
  void erase_locked(const Run& run);
  void changed_locked();

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable_any work_cv_;
  std::condition_variable_any runs_cv_;
  RunPtr head_;  // every run made, newest first (see Run::next)
  std::size_t count_ = 0;  // runs made and queued local runs not made yet
  std::deque<RunPtr> ready_;  // store-backed, slot held
  std::deque<LocalQueued> local_;  // local, waiting for a slot (not listed until made)
  std::size_t unmade_ = 0;         // entries of local_ whose Run is not made yet
  std::size_t slot_waiters_ = 0;   // in wait_no_runs
  std::size_t held_ = 0;      // slots held (reserved, claiming, marking, queued store-backed, running)
  std::size_t reserved_ = 0;  // reserved and not yet given to an entry
  std::size_t idle_workers_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t seq_ = 0;
  bool stopping_ = false;
  std::function<void()> on_change_;
};

}  // namespace solocron::detail
