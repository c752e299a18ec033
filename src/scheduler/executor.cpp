// Runs: a bounded worker pool for callables, the process runner for commands, one global
// max_concurrent_runs for both, and the fenced state writes around every run.
#include <algorithm>
#include <stdexcept>

#include "cron/duration.hpp"
#include "process/output_text.hpp"
#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::Run;
using detail::StopReason;

namespace {
// How long queued runs may wait without any start before the pool grows.
constexpr auto kSpawnCheck = std::chrono::milliseconds(1);
}  // namespace

std::shared_ptr<Run> Scheduler::Impl::make_run(const detail::Occurrence& occ) {
  auto run = std::make_shared<Run>();
  run->id = next_run_id++;
  run->def = occ.def;
  run->slot = occ.slot;
  run->incarnation = occ.incarnation;
  run->key = {occ.def->name, occ.at, {}};
  return run;
}

void Scheduler::Impl::enqueue(std::shared_ptr<Run> run) {
  if (run->slot < slots.size() && slot_incarnation[run->slot] == run->incarnation) {
    ++slots[run->slot].active;
  }
  runs.emplace(run->id, run);
  ready.push_back(std::move(run));
  // More threads only when the queue stops draining (every worker is blocked in a long run):
  // a burst of short callables is served best by few threads that do not fight for the lock.
  arm_spawn_check();
  // One wake-up per enqueue only when few runs wait; a burst is woken once by the caller's
  // notify_all (wake_workers), not with a system call per run.
  if (ready.size() <= 1) work_cv.notify_one();
}

void Scheduler::Impl::wake_workers() { work_cv.notify_all(); }

void Scheduler::Impl::spawn_workers(std::size_t n) {
  for (std::size_t k = 0; k < n && workers < settings.max_concurrent_runs; ++k) {
    ++workers;
    worker_threads.emplace_back([this] { worker_main(); });
  }
}

void Scheduler::Impl::arm_spawn_check() {
  if (ready.empty() || idle_workers > 0 || workers >= settings.max_concurrent_runs ||
      spawn_check_armed || stop_threads || running >= settings.max_concurrent_runs) {
    return;
  }
  spawn_check_armed = true;
  const std::uint64_t seen = dispatched;
  add_task(clock.steady_now() + kSpawnCheck, [this, seen] { spawn_check(seen); });
}

void Scheduler::Impl::spawn_check(std::uint64_t seen) {
  std::lock_guard<std::mutex> g(mu);
  spawn_check_armed = false;
  if (ready.empty() || stop_threads || idle_workers > 0) return;
  if (dispatched == seen) {
    // No run started since the check was armed: every worker is busy with a long run.
    const std::size_t free_slots = settings.max_concurrent_runs - std::min(running, settings.max_concurrent_runs);
    spawn_workers(std::min(ready.size(), free_slots));
  }
  arm_spawn_check();
}

void Scheduler::Impl::worker_main() {
  std::unique_lock<std::mutex> lk(mu);
  for (;;) {
    ++idle_workers;
    work_cv.wait(lk, [&] {
      return (stop_threads && ready.empty()) ||
             (!ready.empty() && running < settings.max_concurrent_runs);
    });
    --idle_workers;
    if (ready.empty() || running >= settings.max_concurrent_runs) {
      if (stop_threads) return;
      continue;
    }
    std::shared_ptr<Run> run = std::move(ready.front());
    ready.pop_front();
    ++running;
    ++dispatched;
    run->holds_slot = true;
    if (run->stop_reason == StopReason::none) {  // marked started here: one lock per start
      run->started = true;
      run->started_wall = clock.now();
      run->started_steady = clock.steady_now();
    }
    if (ready.empty() || running >= settings.max_concurrent_runs) idle_cv.notify_all();
    arm_spawn_check();
    lk.unlock();
    execute(run);
    run.reset();
    lk.lock();
  }
}

void Scheduler::Impl::execute(const std::shared_ptr<Run>& run) {
  if (!run->started) {  // stopped while it was queued (set under mu by worker_main)
    finish(run, RunState::interrupted, std::nullopt, std::nullopt, "stopped before it started");
    return;
  }
  if (run->store_backed) {
    // The claim was just won, so the run starts without waiting for its `running` mark, which
    // is written in a batch with other runs' marks; if the store rejects it (re-claimed with a
    // newer fence meanwhile) the run is stopped then.
    write_state(run, {run->key, run->fence, RunState::running, std::nullopt, std::nullopt, {}});
  }
  ++counters.started;
  if (observer) emit(event(RunEventKind::started, run.get()));
  if (run->def->is_command()) {
    execute_command(run);
  } else {
    execute_callable(run);
  }
}

namespace {
RunState state_for(StopReason reason, bool success) {
  switch (reason) {
    case StopReason::timeout: return RunState::timed_out;
    case StopReason::replaced:
    case StopReason::shutdown:
    case StopReason::fenced: return RunState::interrupted;
    case StopReason::none: break;
  }
  return success ? RunState::succeeded : RunState::failed;
}
}  // namespace

void Scheduler::Impl::execute_callable(const std::shared_ptr<Run>& run) {
  const RunContext ctx{run->key.job, run->key.scheduled_at, node_id, run->attempt, run->fence,
                       run->stop.get_token()};
  if (run->def->timeout_ms >= 0) {
    std::lock_guard<std::mutex> g(mu);
    std::weak_ptr<Run> weak = run;
    add_task(run->started_steady + std::chrono::milliseconds(run->def->timeout_ms), [this, weak] {
      auto r = weak.lock();
      if (!r) return;
      std::lock_guard<std::mutex> g2(mu);
      if (runs.count(r->id)) stop_locked(*r, StopReason::timeout);
    });
  }
  std::optional<int> exit_code;
  std::string tail;
  try {
    exit_code = run->def->callable()(ctx);
  } catch (const std::exception& ex) {
    tail = std::string("exception: ") + ex.what();
  } catch (...) {
    tail = "exception of unknown type";
  }
  StopReason reason;
  {
    std::lock_guard<std::mutex> g(mu);
    reason = run->stop_reason;
  }
  finish(run, state_for(reason, exit_code && *exit_code == 0), exit_code, std::nullopt, tail);
}

void Scheduler::Impl::execute_command(const std::shared_ptr<Run>& run) {
  const CommandSpec& cmd = run->def->command();
  detail::ProcessSpec spec;
  spec.argv = cmd.shell ? std::vector<std::string>{"/bin/sh", "-c", cmd.shell_command} : cmd.argv;
  spec.working_dir = cmd.working_dir;
  for (const auto& [k, v] : cmd.env) spec.extra_env.emplace_back(k, v);
  spec.inherit_env = cmd.inherit_env;
  // The contract's variables come last so a job's env cannot fake them.
  spec.extra_env.emplace_back("SOLOCRON_JOB", run->key.job);
  spec.extra_env.emplace_back("SOLOCRON_SCHEDULED_AT", format_rfc3339(run->key.scheduled_at, "UTC", true));
  spec.extra_env.emplace_back("SOLOCRON_NODE", node_id);
  spec.extra_env.emplace_back("SOLOCRON_FENCE", std::to_string(run->fence));
  spec.extra_env.emplace_back("SOLOCRON_ATTEMPT", std::to_string(run->attempt));
  spec.tail_bytes = run->def->output_tail_bytes;
  if (run->def->timeout_ms >= 0) spec.timeout = std::chrono::milliseconds(run->def->timeout_ms);
  spec.kill_grace = std::chrono::milliseconds(run->def->kill_grace_ms);

  detail::ProcessRunner* r;
  {
    std::lock_guard<std::mutex> g(mu);
    if (!runner) runner = std::make_unique<detail::ProcessRunner>();
    r = runner.get();
  }
  std::weak_ptr<Run> weak = run;
  auto on_line = [this, weak](std::string_view line, bool from_stderr) {
    auto rr = weak.lock();
    if (!rr || !observer) return;
    RunEvent e = event(RunEventKind::output, rr.get());
    e.line = line;
    e.from_stderr = from_stderr;
    emit(e);
  };
  auto on_exit = [this, run](const detail::ProcessResult& res) {
    StopReason reason;
    {
      std::lock_guard<std::mutex> g(mu);
      reason = run->stop_reason;
    }
    std::string tail = res.started ? res.output_tail : res.start_error;
    RunState state = res.timed_out ? RunState::timed_out
                                   : state_for(reason, res.exit_code && *res.exit_code == 0);
    if (!res.started) state = RunState::failed;
    finish(run, state, res.exit_code, res.signal, std::move(tail));
  };
  const std::uint64_t id = r->start(std::move(spec), std::move(on_line), std::move(on_exit));
  bool stop_now = false;
  {
    std::lock_guard<std::mutex> g(mu);
    run->is_process = true;
    run->process_id = id;
    stop_now = run->stop_reason != StopReason::none && runs.count(run->id);
  }
  if (stop_now) r->terminate(id, std::chrono::milliseconds(run->def->kill_grace_ms));
}

void Scheduler::Impl::finish(const std::shared_ptr<Run>& run, RunState state,
                             std::optional<int> exit_code, std::optional<int> signal,
                             std::string tail) {
  // Output is bytes; the record and every JSON made from it need valid UTF-8 without NUL.
  tail = detail::storable_text(tail);
  switch (state) {
    case RunState::succeeded: ++counters.succeeded; break;
    case RunState::failed: ++counters.failed; break;
    case RunState::timed_out: ++counters.timed_out; break;
    default: ++counters.interrupted; break;
  }
  std::optional<RunEvent> finished;
  if (observer) {
    finished = event(RunEventKind::finished, run.get());
    finished->state = state;
    finished->exit_code = exit_code;
    finished->signal = signal;
    if (run->started) {
      finished->duration = std::chrono::duration_cast<std::chrono::milliseconds>(
          clock.steady_now() - run->started_steady);
    }
    finished->output_tail = tail;
  }
  if (run->store_backed && !run->skip_store_write) {
    // Observers hear `finished` once the outcome is in the store (or was refused): whoever
    // reacts to the event can read the history.
    write_state(run, {run->key, run->fence, state, exit_code, signal, std::move(tail)},
                std::move(finished));
  } else if (finished) {
    emit(*finished);
  }
  std::lock_guard<std::mutex> g(mu);
  runs.erase(run->id);
  if (run->holds_slot) {
    run->holds_slot = false;
    --running;
  }
  if (run->slot < slots.size() && slot_incarnation[run->slot] == run->incarnation &&
      slots[run->slot].active > 0) {
    --slots[run->slot].active;
  }
  if (run->store_backed) prune_dirty.insert(run->key.job);
  if (!ready.empty()) work_cv.notify_one();  // a slot freed: one worker may take a queued run
  if (running == 0) {
    idle_cv.notify_all();
    shutdown_cv.notify_all();
  }
}

void Scheduler::Impl::write_state(const std::shared_ptr<Run>& run, StateUpdate update,
                                  std::optional<RunEvent> then) {
  {
    std::lock_guard<std::mutex> g(mu);
    ++writes_in_flight;
    ++claim_epoch;
  }
  const RunState state = update.state;
  writer->submit(std::move(update), [this, run, state, then = std::move(then)](
                                        std::optional<bool> applied, const std::string& error) {
    std::optional<std::pair<std::uint64_t, std::chrono::milliseconds>> proc;
    StopReason reason;
    {
      std::lock_guard<std::mutex> g(mu);
      --writes_in_flight;
      ++claim_epoch;
      reason = run->stop_reason;
      // A rejected `running` mark: the occurrence is no longer ours, so the run must stop.
      if (applied == false && state == RunState::running && runs.count(run->id)) {
        proc = stop_locked(*run, StopReason::fenced);
      }
    }
    if (proc) terminate_processes({*proc});
    report_write(*run, state, reason, applied, error);
    if (then) emit(*then);
  });
}

void Scheduler::Impl::report_write(const Run& run, RunState state, StopReason reason,
                                   std::optional<bool> applied, const std::string& error) {
  if (!applied) {
    store_error("update '" + std::string(to_string(state)) + "'", std::runtime_error(error));
    return;
  }
  if (*applied) return;
  ++counters.stale_writes;
  RunEvent e = event(RunEventKind::stale_write, &run);
  e.message = "state write '" + std::string(to_string(state)) + "' rejected: fence " +
              std::to_string(run.fence) + " is no longer current";
  if (reason == StopReason::replaced) e.message += " (the run was replaced)";
  if (reason == StopReason::fenced) e.message += " (this node lost its lease)";
  if (state == RunState::running) e.message += "; stopping the run";
  emit(e);
}

std::optional<std::pair<std::uint64_t, std::chrono::milliseconds>> Scheduler::Impl::stop_locked(
    Run& run, StopReason reason) {
  if (run.stop_reason == StopReason::none) run.stop_reason = reason;
  if (!run.started) return std::nullopt;  // execute() sees the reason and does not start it
  if (run.is_process) return std::make_pair(run.process_id, std::chrono::milliseconds(run.def->kill_grace_ms));
  run.stop.request_stop();
  return std::nullopt;
}

void Scheduler::Impl::terminate_processes(
    const std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>>& procs) {
  detail::ProcessRunner* r;
  {
    std::lock_guard<std::mutex> g(mu);
    r = runner.get();
  }
  if (!r) return;
  for (const auto& [id, grace] : procs) r->terminate(id, grace);
}

std::vector<std::shared_ptr<Run>> Scheduler::Impl::drain_ready_locked(StopReason reason) {
  std::vector<std::shared_ptr<Run>> out(ready.begin(), ready.end());
  ready.clear();
  for (auto& run : out) run->stop_reason = reason;
  return out;
}

}  // namespace solocron
