#include "scheduler/timer_loop.hpp"

#include <algorithm>

#include "cron/duration.hpp"

namespace solocron::detail {

using namespace std::chrono_literals;

namespace {

// Longest single wait, so a jump of the cluster's clock is noticed within this time.
constexpr auto kMaxSleep = 1s;
// The cluster's clock moved this much more or less than the monotonic clock: a step.
constexpr auto kStepTolerance = 1s;
// An occurrence this close to now is on time whatever happened before.
constexpr auto kOnTimeSlack = 1s;
// An occurrence noticed this late (the process was stopped, the machine suspended or
// overloaded) went unwatched: it is a misfire.
constexpr auto kLateThreshold = 5s;
// Due occurrences handed on at a time: the first runs start while the rest are popped.
constexpr std::size_t kDispatchChunk = 256;

struct TaskLater {
  template <class T>
  bool operator()(const T& a, const T& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

std::int64_t floor_seconds(Clock::wall_time t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

}  // namespace

TimerLoop::TimerLoop(Clock& clock, ClusterClock& cluster_clock, JobTable& jobs, Events& events,
                     Dispatch dispatch)
    : clock_(clock),
      cluster_clock_(cluster_clock),
      jobs_(jobs),
      events_(events),
      dispatch_(std::move(dispatch)) {}

TimerLoop::~TimerLoop() { stop(); }

void TimerLoop::start() {
  std::lock_guard g(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { main(); });
}

void TimerLoop::stop() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void TimerLoop::set_firing(bool firing) {
  std::lock_guard g(mu_);
  firing_ = firing;
  dirty_ = true;
  cv_.notify_all();
}

void TimerLoop::add_task(SteadyTime at, std::function<void()> fn) {
  std::lock_guard g(mu_);
  tasks_.push_back({at, ++task_seq_, std::move(fn)});
  std::push_heap(tasks_.begin(), tasks_.end(), TaskLater{});
  if (parked_ && at < park_deadline_) {
    dirty_ = true;
    cv_.notify_all();
  }
  events_.handed_off();
}

void TimerLoop::jobs_changed() {
  std::lock_guard g(mu_);
  if (!parked_) {
    dirty_ = true;
    return;
  }
  const auto next = jobs_.next_fire();
  if (next && cluster_clock_.steady_at(WallTime(std::chrono::seconds(*next))) < park_deadline_) {
    dirty_ = true;
    cv_.notify_all();
    events_.handed_off();
  }
}

bool TimerLoop::idle() const {
  std::lock_guard g(mu_);
  if (!started_ || stop_) return true;
  return parked_ && !dirty_ && park_deadline_ > clock_.steady_now();
}

void TimerLoop::main() {
  std::unique_lock lk(mu_);
  SteadyTime steady_prev = clock_.steady_now();
  WallTime now_prev = cluster_clock_.at(steady_prev);
  while (!stop_) {
    dirty_ = false;
    const SteadyTime steady = clock_.steady_now();
    const WallTime now = cluster_clock_.at(steady);
    // What the cluster's clock should read if nobody stepped it since the last look.
    const WallTime expected = now_prev + std::chrono::duration_cast<WallTime::duration>(steady - steady_prev);
    const auto step = now - expected;
    const bool forward_step = step > kStepTolerance;
    std::vector<std::function<void()>> due_tasks;
    while (!tasks_.empty() && tasks_.front().at <= steady) {
      std::pop_heap(tasks_.begin(), tasks_.end(), TaskLater{});
      due_tasks.push_back(std::move(tasks_.back().fn));
      tasks_.pop_back();
    }
    const bool firing = firing_;
    lk.unlock();
    if (forward_step || step < -kStepTolerance) {
      ++events_.counters.clock_steps;
      RunEvent e = events_.make(RunEventKind::clock_step);
      e.duration = std::chrono::duration_cast<std::chrono::milliseconds>(step);
      e.message = std::string("the cluster's clock stepped ") + (forward_step ? "forward" : "back") +
                  " by " + format_duration(std::chrono::abs(e.duration));
      events_.emit(e);
    }
    for (auto& fn : due_tasks) fn();
    if (firing) fire(now, forward_step, expected);
    lk.lock();
    steady_prev = steady;
    now_prev = now;
    if (dirty_ || stop_) continue;
    // One reading of the clock for both: read apart, a jump between them (a test's FakeClock,
    // a resumed VM) could pair the new monotonic time with the old cluster time and park past
    // occurrences already due.
    const SteadyTime park_steady = clock_.steady_now();
    park_deadline_ = next_wake(park_steady, cluster_clock_.at(park_steady));
    parked_ = true;
    clock_.wait_until(cv_, lk, park_deadline_);
    parked_ = false;
  }
}

// Pops every job due and dispatches it before computing any next fire: with 10,000 jobs due at
// once the Schedule::next calls would otherwise delay the last start by milliseconds.
void TimerLoop::fire(WallTime now, bool forward_step, WallTime expected) {
  const std::int64_t now_s = floor_seconds(now);
  auto classify = [&](std::vector<Occurrence>& occs) {
    for (Occurrence& o : occs) {
      const auto late = now - WallTime(o.at);
      o.misfired = late > kOnTimeSlack &&
                   ((forward_step && WallTime(o.at) > expected) || late > kLateThreshold);
    }
    events_.counters.fired += occs.size();
  };
  // In chunks, so that runs start while the rest is popped, and no temporary grows large.
  for (;;) {
    std::vector<JobTable::Popped> popped;
    std::vector<Occurrence> due = jobs_.pop_due(now_s, popped, kDispatchChunk);
    if (popped.empty()) return;
    classify(due);
    // Misfired occurrences wait for the rest of their job's (all in this chunk): a job's
    // policy (run_once, run_all with max_catchup) must see all of its missed occurrences at once.
    const bool any_misfired =
        std::any_of(due.begin(), due.end(), [](const Occurrence& o) { return o.misfired; });
    if (!due.empty() && !any_misfired) dispatch_(std::move(due), now);
    std::vector<Occurrence> extra = jobs_.requeue(popped, now_s);
    classify(extra);
    if (any_misfired) {
      extra.insert(extra.begin(), std::make_move_iterator(due.begin()), std::make_move_iterator(due.end()));
    }
    if (extra.empty()) continue;
    std::stable_sort(extra.begin(), extra.end(),
                     [](const Occurrence& a, const Occurrence& b) { return a.at < b.at; });
    dispatch_(std::move(extra), now);
  }
}

TimerLoop::SteadyTime TimerLoop::next_wake(SteadyTime steady, WallTime now) const {
  SteadyTime deadline = steady + kMaxSleep;
  if (firing_) {
    if (auto next = jobs_.next_fire()) {
      const auto until = WallTime(std::chrono::seconds(*next)) - now;
      deadline = std::min(deadline, steady + std::chrono::duration_cast<SteadyTime::duration>(until));
    }
  }
  if (!tasks_.empty()) deadline = std::min(deadline, tasks_.front().at);
  return deadline;
}

}  // namespace solocron::detail
