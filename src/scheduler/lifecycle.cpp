// start() and shutdown() (cluster contract section 9).
#include <algorithm>

#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::StopReason;

void Scheduler::Impl::run_reboot_jobs() {
  std::vector<detail::Occurrence> occs;
  const auto now = std::chrono::floor<std::chrono::seconds>(clock.now());
  {
    std::lock_guard<std::mutex> g(mu);
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const detail::JobSlot& s = slots[i];
      if (s.def && !s.paused && s.def->schedule.is_reboot()) {
        occs.push_back({s.def, i, slot_incarnation[i], now, false});
      }
    }
  }
  counters.fired += occs.size();
  if (!occs.empty()) start_local(std::move(occs));
}

void Scheduler::start() {
  Impl& i = *impl_;
  {
    std::lock_guard<std::mutex> g(i.mu);
    if (i.phase != Impl::Phase::created) return;
    i.phase = Impl::Phase::running;
    i.firing = true;
  }
  i.try_register();  // first attempt now, so a healthy node is ready when start() returns
  i.run_reboot_jobs();
  std::lock_guard<std::mutex> g(i.mu);
  // Two workers up front (more contend for the lock on a small machine); the pool grows when
  // queued runs see no start for 1 ms, i.e. when every worker is held by a long run.
  i.spawn_workers(std::min<std::size_t>(i.settings.max_concurrent_runs, 2));
  i.loop_thread = std::thread([&i] { i.loop_main(); });
  i.lease_thread = std::thread([&i] { i.lease_main(); });
}

void Scheduler::shutdown(std::optional<std::chrono::milliseconds> grace_opt) {
  Impl& i = *impl_;
  const auto grace = grace_opt.value_or(i.settings.shutdown_grace);
  std::vector<std::shared_ptr<detail::Run>> drained;
  {
    std::lock_guard<std::mutex> g(i.mu);
    if (i.phase == Impl::Phase::created) {
      i.phase = Impl::Phase::stopped;
      return;
    }
    if (i.phase != Impl::Phase::running) return;
    i.phase = Impl::Phase::stopping;
    i.firing = false;
    i.claiming = false;  // stop claiming at once
    drained = i.drain_ready_locked(StopReason::shutdown);
    i.wake_loop();
  }
  for (auto& run : drained) {
    i.finish(run, RunState::interrupted, std::nullopt, std::nullopt, "not started: shutting down");
  }
  std::vector<std::pair<std::uint64_t, std::chrono::milliseconds>> procs;
  std::chrono::milliseconds kill_grace{0};
  {
    // Let running jobs finish for up to `grace`, then stop them.
    std::unique_lock<std::mutex> lk(i.mu);
    const auto deadline = i.clock.steady_now() + grace;
    while (i.running > 0 && i.clock.steady_now() < deadline) {
      i.clock.wait_until(i.shutdown_cv, lk, deadline);
    }
    for (auto& [id, run] : i.runs) {
      if (auto p = i.stop_locked(*run, StopReason::shutdown)) procs.push_back(*p);
      kill_grace = std::max(kill_grace, std::chrono::milliseconds(run->def->kill_grace_ms));
    }
  }
  i.terminate_processes(procs);
  {
    // Commands get SIGKILL after their kill_grace; a callable that ignores its stop_token is
    // waited for as long again before the threads are joined.
    std::unique_lock<std::mutex> lk(i.mu);
    const auto deadline = i.clock.steady_now() + kill_grace + std::chrono::seconds(2);
    while (i.running > 0 && i.clock.steady_now() < deadline) {
      i.clock.wait_until(i.shutdown_cv, lk, deadline);
    }
    i.stop_threads = true;
    i.wake_loop();
    i.lease_cv.notify_all();
    i.work_cv.notify_all();
  }
  if (i.loop_thread.joinable()) i.loop_thread.join();
  if (i.lease_thread.joinable()) i.lease_thread.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> g(i.mu);
    workers = std::move(i.worker_threads);
  }
  for (auto& t : workers) t.join();
  std::unique_ptr<detail::ProcessRunner> runner;
  bool held;
  std::int64_t token;
  {
    std::lock_guard<std::mutex> g(i.mu);
    runner = std::move(i.runner);
    held = i.lease_held;
    token = i.lease_token;
    i.lease_held = false;
  }
  runner.reset();  // kills and reaps anything still running
  i.writer->flush();  // every outcome is in the store before the others learn we are gone
  if (held) {
    try {
      i.store.release_node(i.node_id, token);  // the others know at once
    } catch (const std::exception& ex) {
      i.store_error("release node lease", ex);
    }
  }
  std::lock_guard<std::mutex> g(i.mu);
  i.phase = Impl::Phase::stopped;
  i.idle_cv.notify_all();
}

}  // namespace solocron
