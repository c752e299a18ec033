// The Scheduler's components and how they are wired (docs/architecture.md draws the map).
//
//   JobTable     the jobs, their next fires (timer heap) and name index        job_table*.cpp
//   TimerLoop    fires due occurrences on the cluster's clock; deadline tasks   timer_loop.cpp
//   Claimer      every store call about occurrences; the per-heartbeat sweep     claimer.cpp ...
//   RunRegistry  every run from claim sent to outcome stored; slots; ready queue run_registry.cpp
//   Executor     workers and the process runner; outcomes to the StateWriter    executor.cpp
//   StateWriter  batched, isolated outcome writes                              state_writer.cpp
//   NodeSession  the node lease on its own connection and thread               node_session.cpp
//   ClusterClock the store's clock, measured at each renewal                   cluster_clock.cpp
//   Events       observer calls and counters                                   events.cpp
//
// Each has its own lock and state; none calls another while holding its own lock, except
// downwards in this order: TimerLoop -> JobTable, Claimer/Executor -> RunRegistry. Impl only
// wires them, applies the misfire and deadline policies to due occurrences (dispatch), and
// runs start and shutdown (lifecycle.cpp).
#pragma once

#include <memory>
#include <mutex>

#include "scheduler/claimer.hpp"
#include "scheduler/cluster_clock.hpp"
#include "scheduler/events.hpp"
#include "scheduler/executor.hpp"
#include "scheduler/job_table.hpp"
#include "scheduler/node_session.hpp"
#include "scheduler/run_registry.hpp"
#include "scheduler/state_writer.hpp"
#include "scheduler/timer_loop.hpp"
#include "solocron/scheduler.hpp"

namespace solocron {

struct Scheduler::Impl final : detail::NodeSession::Listener {
  using WallTime = Clock::wall_time;

  Impl(NodeSettings s, Store& st, Clock& c);
  ~Impl() override;

  // NodeSession::Listener
  void lease_acquired() override;
  void fenced(const std::string& why) override;
  void heartbeat() override;
  void deadline_moved(Clock::steady_time deadline) override;

  // Due occurrences (from the timer, run_now, or the claimer's retries): starting_deadline and
  // the misfire policy decide; what runs goes to the registry (local) or the claimer.
  void dispatch(std::vector<detail::Occurrence> occs, WallTime now);
  void jobs_changed();
  void start_local(std::vector<detail::Occurrence> occs);
  void missed_local(const std::vector<detail::Occurrence>& occs, const std::string& why);
  void run_ended(const detail::Run& run, RunState state, const detail::HookRecord* recorded);
  JobResult validate_spec(const JobSpec& spec) const;
  std::int64_t now_seconds() const;
  bool idle(bool runs_too) const;

  NodeSettings settings;
  Store& store;
  Clock& clock;
  std::string node_id;
  detail::Events events;
  detail::ClusterClock cluster_clock;
  detail::JobTable jobs;
  detail::RunRegistry registry;
  std::unique_ptr<Store> lease_store;   // the session's own connection
  std::unique_ptr<Store> writer_store;  // the writer's: marks and outcomes commit beside claims
  std::unique_ptr<detail::NodeSession> session;
  std::unique_ptr<detail::StateWriter> writer;
  std::unique_ptr<detail::TimerLoop> timer;
  std::unique_ptr<detail::Executor> executor;
  std::unique_ptr<detail::Claimer> claimer;
  std::unique_ptr<detail::Notifier> notifier;

  enum class Phase { created, running, stopping, stopped };
  mutable std::mutex mu;  // phase only
  Phase phase = Phase::created;
};

}  // namespace solocron
