// start() and shutdown(): the drain of cluster contract section 9.
#include <algorithm>

#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::StopReason;

namespace {
// How long a draining node still tries to deliver its last notifications (and their retries)
// before it leaves: within the time docs/operations.md adds to terminationGracePeriodSeconds.
constexpr std::chrono::milliseconds kHookGrace{5000};
}  // namespace

void Scheduler::start() {
  Impl& i = *impl_;
  {
    std::lock_guard g(i.mu);
    if (i.phase != Impl::Phase::created) return;
    i.phase = Impl::Phase::running;
  }
  // The first registration now, so a healthy node is ready when start() returns; it also
  // measures the store's clock, and jobs added before start() fire by it.
  i.session->start();
  i.jobs.reschedule_all(i.now_seconds());
  const auto now = std::chrono::floor<std::chrono::seconds>(i.cluster_clock.now());
  std::vector<detail::Occurrence> reboot;
  for (auto& def : i.jobs.reboot_jobs()) reboot.push_back({std::move(def), now, false});
  i.events.counters.fired += reboot.size();
  if (!reboot.empty()) i.start_local(std::move(reboot));
  i.notifier->start();
  i.executor->start();
  i.claimer->start();
  i.timer->set_firing(true);
  i.timer->start();
}

void Scheduler::shutdown(std::optional<std::chrono::milliseconds> grace_opt) {
  Impl& i = *impl_;
  const auto grace = grace_opt.value_or(i.settings.shutdown_grace);
  {
    std::lock_guard g(i.mu);
    if (i.phase == Impl::Phase::created) {
      i.phase = Impl::Phase::stopped;
      return;
    }
    if (i.phase != Impl::Phase::running) return;
    i.phase = Impl::Phase::stopping;
  }
  // Stop firing and claiming at once; the lease is kept (the session renews on) until the
  // node's runs are over and their outcomes stored, so no other node takes them for lost.
  i.timer->set_firing(false);
  i.claimer->stop_claiming();
  for (auto& run : i.registry.drain_queued(StopReason::shutdown)) {
    i.executor->finish_unstarted(run, RunState::interrupted, "not started: the node shut down");
  }
  i.registry.wait_no_runs(i.clock, i.clock.steady_now() + grace);
  auto stops = i.registry.stop_if([](const detail::Run&) { return true; }, StopReason::shutdown);
  std::chrono::milliseconds kill_grace{0};
  for (const auto& run : stops) {
    kill_grace = std::max(kill_grace, std::chrono::milliseconds(run->def->kill_grace_ms));
  }
  i.executor->signal(stops);
  // Commands get SIGKILL after their kill_grace; a callable that ignores its stop_token is
  // waited for as long again (then the worker join below waits for it: it cannot be killed).
  i.registry.wait_no_runs(i.clock, i.clock.steady_now() + kill_grace + std::chrono::seconds(2));
  i.claimer->stop();
  i.registry.stop_workers();
  i.executor->join();
  i.executor->kill_processes();  // anything left is SIGKILLed; its outcome is written below
  i.writer->flush();             // every outcome is in the store before the others learn we left
  i.notifier->stop(kHookGrace);  // and its notifications are out (or given up, logged)
  i.session->release();
  i.timer->stop();
  std::lock_guard g(i.mu);
  i.phase = Impl::Phase::stopped;
}

}  // namespace solocron
