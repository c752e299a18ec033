#include "scheduler/executor.hpp"

#include <algorithm>

#include "cron/time_text.hpp"
#include "http/http_call.hpp"
#include "process/output_text.hpp"

namespace solocron::detail {

namespace {
// How long queued runs may wait without any start before the pool grows.
constexpr auto kSpawnCheck = std::chrono::milliseconds(1);
// Two workers up front: more contend for the registry's lock on a small machine.
constexpr std::size_t kInitialWorkers = 2;

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

std::string stop_cause(StopReason reason) {
  switch (reason) {
    case StopReason::timeout: return "timeout";
    case StopReason::replaced: return "replaced by a newer occurrence (overlap: replace)";
    case StopReason::shutdown: return "the node shut down";
    case StopReason::fenced: return "this node could not renew its lease";
    case StopReason::none: break;
  }
  return "stopped";
}

std::string stop_message(StopReason reason) {
  return reason == StopReason::none ? std::string() : "stopped: " + stop_cause(reason);
}
}  // namespace

Executor::Executor(const NodeSettings& settings, RunRegistry& registry, StateWriter& writer,
                   TimerLoop& timer, Clock& clock, ClusterClock& cluster_clock, Events& events,
                   Ended ended)
    : settings_(settings),
      registry_(registry),
      writer_(writer),
      timer_(timer),
      clock_(clock),
      cluster_clock_(cluster_clock),
      events_(events),
      ended_(std::move(ended)),
      // Forked here, before the node's jobs are added: the guardian then shares (copy-on-write)
      // only the pages of a near-empty node, and keeps no old copy of the job table's pages
      // as the node writes them (bench/daemon_memory.sh).
      runner_(std::make_unique<detail::ProcessRunner>()) {}

Executor::~Executor() {
  registry_.stop_workers();
  join();
}

void Executor::start() {
  if (!runner().guarded()) {  // said at start, once the node's observers listen
    events_.emit(RunEventKind::unguarded,
                 "could not start the guardian process: jobs will not be killed if this node dies");
  }
  std::lock_guard g(mu_);
  spawn(std::min(settings_.max_concurrent_runs, kInitialWorkers));
}

void Executor::join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard g(mu_);
    threads = std::move(threads_);
  }
  for (auto& t : threads) t.join();
}

std::size_t Executor::workers() const {
  std::lock_guard g(mu_);
  return threads_.size();
}

void Executor::spawn(std::size_t n) {
  for (std::size_t k = 0; k < n && threads_.size() < settings_.max_concurrent_runs; ++k) {
    threads_.emplace_back([this] { worker_main(); });
  }
}

void Executor::work_added() {
  events_.handed_off();
  arm_spawn_check();
}

// More threads only when the queue stops draining (every worker is blocked in a long run): a
// burst of short callables is served best by few threads that do not fight for the lock.
void Executor::arm_spawn_check() {
  {
    std::lock_guard g(mu_);
    if (spawn_check_armed_ || threads_.empty() || threads_.size() >= settings_.max_concurrent_runs) return;
    spawn_check_armed_ = true;
  }
  const std::uint64_t seen = started_.load();
  timer_.add_task(clock_.steady_now() + kSpawnCheck, [this, seen] { spawn_check(seen); });
}

void Executor::spawn_check(std::uint64_t seen) {
  const std::size_t startable = registry_.startable();
  const bool stuck = startable > 0 && registry_.idle_workers() == 0 && started_.load() == seen;
  {
    std::lock_guard g(mu_);
    spawn_check_armed_ = false;
    if (stuck) spawn(std::min(startable, registry_.free_slots() + startable));
  }
  if (startable > 0) arm_spawn_check();
}

void Executor::worker_main() {
  RunPtr spare;
  for (;;) {
    if (!spare) spare = std::make_shared<Run>();
    RunPtr run = registry_.next_to_start(clock_, &spare);
    if (!run) return;
    ++started_;
    execute(run);
  }
}

void Executor::execute(const RunPtr& run) {
  if (!run->started) {  // stopped while it was queued
    finish(run, RunState::interrupted, std::nullopt, std::nullopt, {},
           "not started: " + stop_cause(registry_.stop_reason(*run)));
    return;
  }
  if (!run->store_backed) {
    // A local run that waited for a slot past its starting_deadline does not start late.
    const auto deadline = run->def->starting_deadline();
    if (deadline && cluster_clock_.now() - Clock::wall_time(run->key.scheduled_at) > *deadline) {
      ++events_.counters.missed;
      RunEvent e = events_.make(RunEventKind::missed, run->key);
      e.message = "waited for a free slot (max_concurrent_runs) past its starting_deadline";
      registry_.remove(*run);
      events_.emit(e);
      return;
    }
  }
  ++events_.counters.started;
  if (events_.observed()) {
    RunEvent e = events_.make(RunEventKind::started, run->key, run->fence, run->attempt);
    e.started_at = run->started_wall;
    events_.emit(e);
  }
  if (run->def->is_command()) {
    execute_command(run);
  } else if (run->def->is_http()) {
    execute_http(run);
  } else {
    execute_callable(run);
  }
}

void Executor::execute_callable(const RunPtr& run) {
  const RunContext ctx{run->key.job, run->key.scheduled_at, events_.node_id(), run->attempt,
                       run->fence, run->stop.get_token()};
  arm_timeout(run);
  std::optional<int> exit_code;
  std::string message;
  try {
    exit_code = run->def->callable()(ctx);
  } catch (const std::exception& ex) {
    message = std::string("exception: ") + ex.what();
  } catch (...) {
    message = "exception of unknown type";
  }
  const StopReason reason = registry_.stop_reason(*run);
  if (message.empty()) message = stop_message(reason);
  finish(run, state_for(reason, exit_code && *exit_code == 0), exit_code, std::nullopt, {},
         std::move(message));
}

void Executor::arm_timeout(const RunPtr& run) {
  if (run->def->timeout_ms < 0) return;
  std::weak_ptr<Run> weak = run;
  timer_.add_task(run->started_steady + std::chrono::milliseconds(run->def->timeout_ms), [this, weak] {
    if (auto r = weak.lock()) {
      signal(registry_.stop_if([&](const Run& x) { return x.id == r->id; }, StopReason::timeout));
    }
  });
}

// The request carries what a command gets in its environment (section 12 of the contract);
// the status is the run's exit code in the record, the body's end its output.
void Executor::execute_http(const RunPtr& run) {
  arm_timeout(run);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Solocron-Job", run->key.job},
      {"X-Solocron-Scheduled-At", format_rfc3339(run->key.scheduled_at, "UTC", true)},
      {"X-Solocron-Node", events_.node_id()},
      {"X-Solocron-Fence", std::to_string(run->fence)},
      {"X-Solocron-Attempt", std::to_string(run->attempt)},
      {"X-Solocron-Trigger", std::string(to_string(run->trigger))}};
  detail::HttpOutcome o =
      detail::call_http(run->def->http(), headers, run->def->output_tail_bytes, run->stop.get_token());
  const StopReason reason = registry_.stop_reason(*run);
  std::optional<int> status;
  if (o.responded) status = o.status;
  std::string message;
  RunState state;
  if (reason != StopReason::none) {
    state = state_for(reason, false);
    message = stop_message(reason);
  } else if (!o.responded) {
    state = RunState::failed;
    message = "no HTTP response: " + o.error;
  } else {
    state = o.success ? RunState::succeeded : RunState::failed;
    if (!o.success) message = "HTTP status " + std::to_string(o.status) + " is not a success status of the job";
  }
  finish(run, state, status, std::nullopt, std::move(o.body_tail), std::move(message));
}

// The runner's guardian process kills every run's process group if the node dies.
detail::ProcessRunner& Executor::runner() {
  std::lock_guard g(mu_);
  if (!runner_) runner_ = std::make_unique<detail::ProcessRunner>();  // after kill_processes
  return *runner_;
}

void Executor::execute_command(const RunPtr& run) {
  const CommandSpec& cmd = run->def->command();
  detail::ProcessSpec spec;
  spec.argv = cmd.shell ? std::vector<std::string>{"/bin/sh", "-c", cmd.shell_command} : cmd.argv;
  spec.working_dir = cmd.working_dir;
  spec.inherit_env = cmd.inherit_env;
  for (const auto& [k, v] : cmd.env) spec.extra_env.emplace_back(k, v);
  // The contract's variables come last so a job's env cannot fake them.
  spec.extra_env.emplace_back("SOLOCRON_JOB", run->key.job);
  spec.extra_env.emplace_back("SOLOCRON_SCHEDULED_AT", format_rfc3339(run->key.scheduled_at, "UTC", true));
  spec.extra_env.emplace_back("SOLOCRON_NODE", events_.node_id());
  spec.extra_env.emplace_back("SOLOCRON_FENCE", std::to_string(run->fence));
  spec.extra_env.emplace_back("SOLOCRON_ATTEMPT", std::to_string(run->attempt));
  spec.extra_env.emplace_back("SOLOCRON_TRIGGER", std::string(to_string(run->trigger)));
  spec.tail_bytes = run->def->output_tail_bytes;
  if (run->def->timeout_ms >= 0) spec.timeout = std::chrono::milliseconds(run->def->timeout_ms);
  spec.kill_grace = std::chrono::milliseconds(run->def->kill_grace_ms);

  std::weak_ptr<Run> weak = run;
  auto on_line = [this, weak](std::string_view line, bool from_stderr) {
    if (!events_.observed()) return;
    auto r = weak.lock();
    if (!r) return;
    RunEvent e = events_.make(RunEventKind::output, r->key, r->fence, r->attempt);
    e.line = line;
    e.from_stderr = from_stderr;
    events_.emit(e);
  };
  auto on_exit = [this, run](const detail::ProcessResult& res) {
    const StopReason reason = registry_.stop_reason(*run);
    RunState state = res.timed_out ? RunState::timed_out
                                   : state_for(reason, res.exit_code && *res.exit_code == 0);
    std::string message = res.timed_out ? "stopped: timeout" : stop_message(reason);
    if (!res.started) {
      state = RunState::failed;
      message = res.start_error;
    } else if (res.killed_lingering) {
      message += std::string(message.empty() ? "" : "; ") +
                 "background process(es) of the job still held its output 1s after it exited: killed";
    }
    finish(run, state, res.exit_code, res.signal, res.output_tail, std::move(message));
  };
  detail::ProcessRunner& r = runner();
  const std::uint64_t id = r.start(std::move(spec), std::move(on_line), std::move(on_exit));
  bool stop_now = false;
  registry_.set_process(*run, id, &stop_now);
  if (stop_now) r.terminate(id, std::chrono::milliseconds(run->def->kill_grace_ms));
}

void Executor::signal(const std::vector<RunPtr>& runs) {
  for (const RunPtr& run : runs) {
    if (run->process) {
      runner().terminate(*run->process, std::chrono::milliseconds(run->def->kill_grace_ms));
    } else {
      run->stop.request_stop();
    }
  }
}

void Executor::finish_unstarted(const RunPtr& run, RunState state, std::string message) {
  finish(run, state, std::nullopt, std::nullopt, {}, std::move(message));
}

void Executor::kill_processes() {
  std::unique_ptr<detail::ProcessRunner> r;
  {
    std::lock_guard g(mu_);
    r = std::move(runner_);
  }
  r.reset();  // kills and reaps anything still running; their exits are reported first
}

void Executor::finish(const RunPtr& run, RunState state, std::optional<int> exit_code,
                      std::optional<int> signal, std::string tail, std::string message) {
  // Output is bytes; the record and every JSON made from it need valid UTF-8 without NUL.
  tail = storable_text(tail);
  message = storable_text(message);
  switch (state) {
    case RunState::succeeded: ++events_.counters.succeeded; break;
    case RunState::failed: ++events_.counters.failed; break;
    case RunState::timed_out: ++events_.counters.timed_out; break;
    default: ++events_.counters.interrupted; break;
  }
  std::optional<RunEvent> finished;
  if (events_.observed()) {
    finished = events_.make(RunEventKind::finished, run->key, run->fence, run->attempt);
    finished->state = state;
    finished->exit_code = exit_code;
    finished->signal = signal;
    finished->started_at = run->started_wall;
    if (run->started) {
      finished->duration = std::chrono::duration_cast<std::chrono::milliseconds>(
          clock_.steady_now() - run->started_steady);
    }
    finished->output_tail = tail;
    finished->message = message;
  }
  // What the hooks are told, copied only when the job or the node has hooks: a run's output is
  // not copied once more for nobody.
  std::optional<HookRecord> recorded;
  if (run->def->hooks || !settings_.hooks.empty()) {
    recorded = HookRecord{run->key, state, run->fence, run->attempt, exit_code, signal, message, tail, std::nullopt, run->trigger};
    if (run->started) {
      recorded->duration =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - run->started_steady);
    }
  }
  registry_.action_ended(*run);
  if (!run->store_backed) {
    if (finished) events_.emit(*finished);
    ended_(*run, state, recorded ? &*recorded : nullptr);
    return;
  }
  // Observers hear `finished` once the outcome is in the store (or was refused): whoever
  // reacts to the event can read the history.
  StateUpdate u{run->key, run->fence, state, exit_code, signal, std::move(tail), std::move(message)};
  writer_.submit(std::move(u), [this, run, state, finished = std::move(finished),
                                recorded = std::move(recorded)](const WriteResult& w) {
    if (w.kind == WriteResult::Kind::rejected) {
      ++events_.counters.stale_writes;
      RunEvent e = events_.make(RunEventKind::stale_write, run->key, run->fence, run->attempt);
      e.message = "outcome '" + std::string(to_string(state)) + "' rejected: fence " +
                  std::to_string(run->fence) + " is no longer current";
      const StopReason reason = registry_.stop_reason(*run);
      if (reason == StopReason::replaced) e.message += " (the run was replaced)";
      if (reason == StopReason::fenced) e.message += " (this node lost its lease)";
      events_.emit(e);
    }
    registry_.remove(*run);
    if (finished) events_.emit(*finished);
    ended_(*run, state, w.kind == WriteResult::Kind::applied && recorded ? &*recorded : nullptr);
  });
}

}  // namespace solocron::detail
