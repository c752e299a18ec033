// Executor: starts the runs the registry hands out and reports how they ended.
//
// A small worker pool runs callables (and starts commands, which the process runner then
// watches on its own I/O thread); it starts with two threads and grows only when queued runs
// see no start for a millisecond, i.e. when every worker is held by a long callable. The
// registry's slots bound the work (max_concurrent_runs covers callables and commands).
//
// A store-backed run's outcome goes to the StateWriter; observers hear `finished` once it is
// in the store (or refused), and the run leaves the registry only then.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process/process_runner.hpp"
#include "scheduler/cluster_clock.hpp"
#include "scheduler/events.hpp"
#include "scheduler/notifier.hpp"
#include "scheduler/run_registry.hpp"
#include "scheduler/state_writer.hpp"
#include "scheduler/timer_loop.hpp"
#include "solocron/node.hpp"

namespace solocron::detail {

class Executor {
 public:
  // `ended` runs on the thread that saw the outcome stored (or, local runs, the action end).
  // `recorded`: what the store (or, for a local run, this node) recorded, for the hooks; null
  // when the outcome was refused (stale fence) or could not be written, or when neither the job
  // nor the node has hooks.
  using Ended = std::function<void(const Run& run, RunState state, const HookRecord* recorded)>;

  Executor(const NodeSettings& settings, RunRegistry& registry, StateWriter& writer,
           TimerLoop& timer, Clock& clock, ClusterClock& cluster_clock, Events& events,
           Ended ended);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void start();
  // Joins the workers once the registry stopped them.
  void join();
  // Work was queued: grow the pool if nobody takes it.
  void work_added();
  // Asks runs to stop (their stop reason is already set): SIGTERM to a command's process
  // group (SIGKILL after its kill_grace), the stop_token of a callable.
  void signal(const std::vector<RunPtr>& runs);
  // Ends a run that never started, with its outcome written like any other.
  void finish_unstarted(const RunPtr& run, RunState state, std::string message);
  // Kills and reaps every process still running (end of shutdown).
  void kill_processes();
  std::size_t workers() const;

 private:
  void spawn(std::size_t n);
  void arm_spawn_check();
  void spawn_check(std::uint64_t seen);
  void worker_main();
  void execute(const RunPtr& run);
  void execute_callable(const RunPtr& run);
  void execute_http(const RunPtr& run);
  // The job's timeout for an in-process run (callable, http): stops it through its stop token.
  void arm_timeout(const RunPtr& run);
  void execute_command(const RunPtr& run);
  detail::ProcessRunner& runner();
  void finish(const RunPtr& run, RunState state, std::optional<int> exit_code,
              std::optional<int> signal, std::string tail, std::string message);

  const NodeSettings& settings_;
  RunRegistry& registry_;
  StateWriter& writer_;
  TimerLoop& timer_;
  Clock& clock_;
  ClusterClock& cluster_clock_;
  Events& events_;
  Ended ended_;

  mutable std::mutex mu_;
  std::vector<std::thread> threads_;
  bool spawn_check_armed_ = false;
  std::atomic<std::uint64_t> started_{0};  // runs handed to a worker so far
  std::unique_ptr<detail::ProcessRunner> runner_;
};

}  // namespace solocron::detail
