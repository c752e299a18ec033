// The Scheduler's public API, the wiring of its components, and the dispatch of due
// occurrences through the deadline and misfire policies.
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <cstdio>
#include <cstdlib>

#include "http/http_call.hpp"
#include "scheduler/scheduler_impl.hpp"
#include "scheduler/retry_policy.hpp"

namespace solocron {

using detail::Occurrence;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// The writer's calls may be long batches (a thousand outcomes); they are retried, never fatal.
constexpr std::chrono::milliseconds kWriterCallDeadline{10000};

JobResult ok() { return std::monostate{}; }
JobResult error(std::string message) { return Unexpected{std::move(message)}; }

}  // namespace

Scheduler::Impl::Impl(NodeSettings s, Store& st, Clock& c)
    : settings(std::move(s)),
      store(st),
      clock(c),
      node_id(settings.node_id.empty() ? host_name() : settings.node_id),
      events(node_id),
      cluster_clock(c),
      registry(settings.max_concurrent_runs),
      lease_store(st.another_connection(settings.store_call_deadline)),
      writer_store(st.another_connection(kWriterCallDeadline)) {
  session = std::make_unique<detail::NodeSession>(settings, node_id, *lease_store, clock,
                                                  cluster_clock, events, *this);
  writer = std::make_unique<detail::StateWriter>(*writer_store, clock, events);
  notifier = std::make_unique<detail::Notifier>(settings, clock, events);
  timer = std::make_unique<detail::TimerLoop>(
      clock, cluster_clock, jobs, events,
      [this](std::vector<Occurrence> occs, WallTime now) { dispatch(std::move(occs), now); });
  executor = std::make_unique<detail::Executor>(
      settings, registry, *writer, *timer, clock, cluster_clock, events,
      [this](const detail::Run& run, RunState state, const detail::HookRecord* recorded) {
        run_ended(run, state, recorded);
      });
  claimer = std::make_unique<detail::Claimer>(
      settings, node_id, store, clock, cluster_clock, events, jobs, registry, *session, *executor,
      *writer, *notifier, [this](std::vector<Occurrence> occs, WallTime now) { dispatch(std::move(occs), now); });
  registry.on_change([this] { claimer->slots_freed(); });
}

Scheduler::Impl::~Impl() {
  // Threads that call into others go first; the writer's callbacks reach the claimer and the
  // executor, so what it holds is written before they go.
  claimer->stop();
  writer->flush();
  claimer.reset();
  timer.reset();
  registry.stop_workers();
  executor.reset();
  writer.reset();
  notifier.reset();
  session.reset();
}

// --- the session's listener ---

void Scheduler::Impl::lease_acquired() { claimer->lease_acquired(); }

// Section 5: this node may have been replaced. Stop claiming and stop its running once jobs
// (every_node and local runs are this node's own; they go on).
void Scheduler::Impl::fenced(const std::string&) {
  claimer->fenced();
  executor->signal(registry.stop_if(
      [](const detail::Run& r) { return r.store_backed && r.def->run_on == RunOn::once; },
      detail::StopReason::fenced));
}

void Scheduler::Impl::heartbeat() { claimer->heartbeat(); }

// The timer may have a new earliest fire; the cluster's job set needs publishing again.
void Scheduler::Impl::jobs_changed() {
  timer->jobs_changed();
  claimer->jobs_changed();
}

void Scheduler::Impl::deadline_moved(Clock::steady_time deadline) {
  timer->add_task(deadline, [this] { session->check_deadline(); });
}

// --- dispatch ---

void Scheduler::Impl::dispatch(std::vector<Occurrence> occs, WallTime now) {
  std::vector<Occurrence> run, late;
  run.reserve(occs.size());  // a burst's chunk: no regrowth on the timer thread
  std::map<std::string, std::vector<Occurrence>> misfired;  // by job, oldest first
  for (Occurrence& o : occs) {
    if (o.misfired) {
      misfired[o.def->name].push_back(std::move(o));
      continue;
    }
    const auto deadline = o.def->starting_deadline();
    (deadline && now - WallTime(o.at) > *deadline ? late : run).push_back(std::move(o));
  }
  std::vector<Occurrence> skipped;
  for (auto& [name, list] : misfired) {
    std::vector<std::chrono::sys_seconds> instants;
    for (const Occurrence& o : list) instants.push_back(o.at);
    const detail::MisfireDecision d = detail::decide_misfire(*list.front().def, instants, now);
    for (Occurrence& o : list) {
      const bool runs = std::find(d.run.begin(), d.run.end(), o.at) != d.run.end();
      (runs ? run : skipped).push_back(std::move(o));
    }
  }
  auto split_missed = [&](std::vector<Occurrence>& list, const std::string& why) {
    if (list.empty()) return;
    std::vector<Occurrence> local;
    std::erase_if(list, [&](Occurrence& o) {
      if (o.def->store_backed()) return false;
      local.push_back(std::move(o));
      return true;
    });
    missed_local(local, why);
    if (!list.empty()) claimer->record_missed(std::move(list), why);
  };
  split_missed(late, "noticed after its starting_deadline");
  split_missed(skipped, "misfire (the node was stopped, stalled or the clock jumped)");
  std::vector<Occurrence> local, claimed;
  local.reserve(run.size());
  claimed.reserve(run.size());
  for (Occurrence& o : run) {
    if (o.def->store_backed()) {
      claimed.push_back(std::move(o));  // the claimer applies the jitter
    } else if (const auto jitter = o.def->jitter_delay(o.at); jitter.count() > 0 && !o.misfired) {
      const auto start_at = cluster_clock.steady_at(WallTime(o.at) + jitter);
      timer->add_task(start_at, [this, occ = std::move(o)]() mutable { start_local({std::move(occ)}); });
    } else {
      local.push_back(std::move(o));
    }
  }
  if (!local.empty()) start_local(std::move(local));
  if (!claimed.empty()) claimer->submit(std::move(claimed));
}

void Scheduler::Impl::missed_local(const std::vector<Occurrence>& occs, const std::string& why) {
  events.counters.missed += occs.size();
  for (const Occurrence& o : occs) {
    notifier->notify(o.def->hooks.get(), detail::HookEvent::missed, {{o.def->name, o.at, {}}, RunState::missed, 0, 1, {}, {}, why, {}, {}});
    RunEvent e = events.make(RunEventKind::missed, {o.def->name, o.at, {}});
    e.message = why;
    events.emit(e);
  }
}

// run_on: local (and @reboot): no store; overlap is decided against this node's own runs.
void Scheduler::Impl::start_local(std::vector<Occurrence> occs) {
  detail::RunRegistry::LocalResult r = registry.add_local(std::move(occs));
  executor->work_added();
  executor->signal(r.replaced);
  events.counters.replaced += r.replaced.size();
  events.counters.skipped_overlap += r.skipped.size();
  for (const auto& run : r.replaced) {
    events.emit(events.make(RunEventKind::replaced, run->key, run->fence, run->attempt));
  }
  for (const OccurrenceKey& k : r.skipped) events.emit(events.make(RunEventKind::skipped_overlap, k));
}

void Scheduler::Impl::run_ended(const detail::Run& run, RunState state, const detail::HookRecord* recorded) {
  if (run.store_backed) claimer->job_ran(run.key.job);
  if (recorded == nullptr) return;
  if (auto event = detail::Notifier::event_of(state)) notifier->notify(run.def->hooks.get(), *event, *recorded);
}

JobResult Scheduler::Impl::validate_spec(const JobSpec& spec) const {
  if (auto e = validate_job_name(spec.name)) return error(*e);
  const std::string job = "job \"" + spec.name + "\": ";
  if (spec.schedule.text().empty()) return error(job + "schedule is empty");
  if (const auto* cmd = std::get_if<CommandSpec>(&spec.action)) {
    if (cmd->shell && cmd->shell_command.empty()) return error(job + "shell command is empty");
    if (!cmd->shell && cmd->argv.empty()) return error(job + "command is empty");
  } else if (const auto* http = std::get_if<HttpSpec>(&spec.action)) {
    if (auto e = detail::http_spec_error(*http)) return error(job + *e);
  } else if (!std::get<JobCallable>(spec.action)) {
    return error(job + "callable is empty");
  }
  if (spec.timeout && spec.timeout->count() <= 0) return error(job + "timeout must be positive");
  if (spec.kill_grace.count() < 0) return error(job + "kill_grace must not be negative");
  if (spec.starting_deadline && spec.starting_deadline->count() <= 0) {
    return error(job + "starting_deadline must be positive");
  }
  if (auto e = detail::hooks_error(spec.hooks)) return error(job + *e);
  if (spec.jitter && (spec.jitter->count() <= 0 || *spec.jitter > std::chrono::hours(24))) {
    return error(job + "jitter must be more than 0 and at most 24h");
  }
  if (auto e = detail::retry_error(spec)) return error(job + *e);
  if (spec.jitter && spec.starting_deadline && *spec.jitter >= *spec.starting_deadline) {
    return error(job + "jitter must be less than starting_deadline (a delayed start would always be missed)");
  }
  return ok();
}

std::int64_t Scheduler::Impl::now_seconds() const {
  return std::chrono::floor<std::chrono::seconds>(cluster_clock.now()).time_since_epoch().count();
}

bool Scheduler::Impl::idle(bool runs_too) const {
  if (!timer->idle() || !session->idle() || !claimer->idle() || !writer->idle() || !notifier->idle()) {
    return false;
  }
  // With runs_too: no run is claimed, queued or running (an outcome being written is the
  // writer's). Without: every run that can start has a worker, or every worker is busy (the
  // pool grows on a timer task, which needs time to pass).
  return runs_too ? registry.unfinished() == 0
                  : registry.startable() == 0 || registry.idle_workers() == 0;
}

// --- public API ---

Scheduler::Scheduler(NodeSettings settings, Store& store, Clock& clock) {
  if (auto e = validate(settings)) throw std::invalid_argument(*e);
  impl_ = std::make_unique<Impl>(std::move(settings), store, clock);
}

Scheduler::~Scheduler() {
  if (impl_) shutdown(std::chrono::milliseconds(0));
}

void Scheduler::set_observer(SchedulerObserver* observer) { impl_->events.set_observer(observer); }

JobResult Scheduler::add(JobSpec spec) {
  if (auto r = impl_->validate_spec(spec); !r) return r;
  JobResult r = impl_->jobs.add(std::move(spec), impl_->now_seconds());
  if (r) impl_->jobs_changed();
  return r;
}

JobResult Scheduler::update(JobSpec spec) {
  if (auto r = impl_->validate_spec(spec); !r) return r;
  JobResult r = impl_->jobs.update(std::move(spec), impl_->now_seconds());
  if (r) impl_->jobs_changed();
  return r;
}

JobResult Scheduler::remove(std::string_view name) {
  JobResult r = impl_->jobs.remove(name);
  if (r) impl_->claimer->jobs_changed();
  return r;
}

JobResult Scheduler::pause(std::string_view name) {
  JobResult r = impl_->jobs.set_paused(name, true, impl_->now_seconds());
  if (r) impl_->claimer->jobs_changed();
  return r;
}

JobResult Scheduler::resume(std::string_view name) {
  JobResult r = impl_->jobs.set_paused(name, false, impl_->now_seconds());
  if (r) impl_->jobs_changed();
  return r;
}

JobResult Scheduler::run_now(std::string_view name) {
  {
    std::lock_guard g(impl_->mu);
    if (impl_->phase != Impl::Phase::running) return error("the scheduler is not running");
  }
  auto def = impl_->jobs.def_of(name);
  if (!def) return error("job \"" + std::string(name) + "\" does not exist");
  const auto now = impl_->cluster_clock.now();
  impl_->dispatch({Occurrence{std::move(def), std::chrono::floor<std::chrono::seconds>(now), false}}, now);
  return ok();
}

std::optional<JobInfo> Scheduler::find(std::string_view name) const {
  auto info = impl_->jobs.find(name);
  if (info) {
    if (auto def = impl_->jobs.def_of(name)) info->active_runs = impl_->registry.active_of(*def);
  }
  return info;
}

std::vector<JobInfo> Scheduler::list() const {
  std::vector<JobInfo> out = impl_->jobs.list();
  for (JobInfo& info : out) {
    if (auto def = impl_->jobs.def_of(info.spec.name)) info.active_runs = impl_->registry.active_of(*def);
  }
  return out;
}

ApplyResult Scheduler::apply(std::vector<JobSpec> jobs) {
  ApplyResult result;
  std::set<std::string> wanted;
  std::vector<JobSpec> valid;
  for (auto& spec : jobs) {
    if (auto r = impl_->validate_spec(spec); !r) {
      result.errors.emplace_back(spec.name, r.error());
      wanted.insert(spec.name);  // an invalid new definition keeps the old job
      continue;
    }
    if (!wanted.insert(spec.name).second) {
      result.errors.emplace_back(spec.name, "job \"" + spec.name + "\" is defined twice");
      continue;
    }
    valid.push_back(std::move(spec));
  }
  impl_->jobs.apply(std::move(valid), wanted, impl_->now_seconds(), result);
  impl_->jobs_changed();
  return result;
}

bool Scheduler::ready() const {
  {
    std::lock_guard g(impl_->mu);
    if (impl_->phase != Impl::Phase::running) return false;
  }
  const auto v = impl_->session->view();
  return v.store_ok && v.identity_ok && !v.fatal && impl_->session->valid();
}

std::string Scheduler::status() const {
  {
    std::lock_guard g(impl_->mu);
    if (impl_->phase == Impl::Phase::created) return "not started";
    if (impl_->phase != Impl::Phase::running) return "shutting down";
  }
  const auto v = impl_->session->view();
  if (v.fatal) return *v.fatal;
  if (!v.identity_ok) return "the store changed under this node (" + impl_->store.describe() + "); restart it";
  if (!v.store_ok) return "store unreachable (" + impl_->store.describe() + ")";
  if (!impl_->session->valid()) return "node lease not held";
  const auto offset = impl_->cluster_clock.wall_offset();
  if (std::chrono::abs(offset) > impl_->settings.max_clock_skew) {
    return "ready (this node's clock is off by " + std::to_string(offset.count()) +
           "ms from the store's; firing by the store's clock)";
  }
  return "ready";
}

std::optional<std::string> Scheduler::fatal_error() const { return impl_->session->view().fatal; }

Statistics Scheduler::statistics() const {
  const detail::Counters& c = impl_->events.counters;
  Statistics s;
  s.fired = c.fired;
  s.claims_won = c.claims_won;
  s.claims_taken = c.claims_taken;
  s.started = c.started;
  s.succeeded = c.succeeded;
  s.failed = c.failed;
  s.timed_out = c.timed_out;
  s.interrupted = c.interrupted;
  s.lost = c.lost;
  s.reclaimed = c.reclaimed;
  s.missed = c.missed;
  s.skipped_overlap = c.skipped_overlap;
  s.replaced = c.replaced;
  s.too_early = c.too_early;
  s.not_claimed = c.not_claimed;
  s.stale_writes = c.stale_writes;
  s.store_errors = c.store_errors;
  s.clock_steps = c.clock_steps;
  s.lease_lost = c.lease_lost;
  s.running = impl_->registry.running();
  s.queued = impl_->registry.queued();
  s.waiting = impl_->claimer->waiting();
  s.clock_offset_ms = impl_->cluster_clock.wall_offset().count();
  return s;
}

const std::string& Scheduler::node_id() const { return impl_->node_id; }
const NodeSettings& Scheduler::settings() const { return impl_->settings; }

// Two quiet looks at every component with no hand-off between or during them: each component
// reports busy while it works on what it took, and every hand-off bumps `activity`.
bool Scheduler::wait_idle(std::chrono::milliseconds real_timeout, bool runs_too) const {
  const auto deadline = std::chrono::steady_clock::now() + real_timeout;
  int quiet = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::uint64_t before = impl_->events.activity.load(std::memory_order_acquire);
    const bool idle = impl_->idle(runs_too);
    const std::uint64_t after = impl_->events.activity.load(std::memory_order_acquire);
    quiet = idle && before == after ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(quiet > 0 ? 500 : 100));
  }
  if (std::getenv("SOLOCRON_DEBUG_IDLE")) {
    std::fprintf(stderr, "wait_idle timeout: timer %d session %d claimer %d writer %d runs %zu startable %zu\n",
                 impl_->timer->idle(), impl_->session->idle(), impl_->claimer->idle(),
                 impl_->writer->idle(), impl_->registry.size(), impl_->registry.startable());
  }
  return impl_->idle(runs_too);
}

}  // namespace solocron
