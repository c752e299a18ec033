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
// Due occurrences handed on at a time: the first runs start while the rest are handed on.
constexpr std::size_t kDispatchChunk = 256;
// How long before a fire its jobs are popped from the table, and at most how many: popping
// 10,000 jobs takes some 5 ms on a small machine, which at the instant would delay the last
// start by as much (docs/benchmarks.md). The rest are popped at the instant.
constexpr auto kStageLead = 50ms;
constexpr std::size_t kMaxStaged = 20000;

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
    if (firing) {
      fire(now, forward_step, expected);
      stage();
    } else {
      unstage(now);
    }
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

// Hands on the staged jobs, then pops every job due and dispatches it before computing any
// next fire: with 10,000 jobs due at once the Schedule::next calls would otherwise delay the
// last start by milliseconds.
void TimerLoop::fire(WallTime now, bool forward_step, WallTime expected) {
  const std::int64_t now_s = floor_seconds(now);
  if (!staged_.empty() && now_s >= staged_at_) {
    const std::vector<JobTable::Popped> popped = std::move(staged_);
    staged_.clear();
    hand_on(jobs_.confirm_staged(popped), popped, now, forward_step, expected);
  }
  // In chunks, so that runs start while the rest is popped, and no temporary grows large.
  for (;;) {
    std::vector<JobTable::Popped> popped;
    std::vector<Occurrence> due = jobs_.pop_due(now_s, popped, kDispatchChunk);
    if (popped.empty()) return;
    hand_on(std::move(due), popped, now, forward_step, expected);
  }
}

void TimerLoop::classify(std::vector<Occurrence>& occs, WallTime now, bool forward_step,
                         WallTime expected) {
  for (Occurrence& o : occs) {
    const auto late = now - WallTime(o.at);
    o.misfired = late > kOnTimeSlack &&
                 ((forward_step && WallTime(o.at) > expected) || late > kLateThreshold);
  }
  events_.counters.fired += occs.size();
}

// `due`: the occurrences of the jobs `popped` (which requeue() schedules next).
void TimerLoop::hand_on(std::vector<Occurrence> due, const std::vector<JobTable::Popped>& popped,
                        WallTime now, bool forward_step, WallTime expected) {
  classify(due, now, forward_step, expected);
  // Misfired occurrences wait for the rest of their job's (requeue's, below): a job's policy
  // (run_once, run_all with max_catchup) must see all of its missed occurrences at once.
  const bool any_misfired =
      std::any_of(due.begin(), due.end(), [](const Occurrence& o) { return o.misfired; });
  if (!any_misfired) {
    if (due.size() <= kDispatchChunk) {
      if (!due.empty()) dispatch_(std::move(due), now);
    } else {
      for (std::size_t first = 0; first < due.size(); first += kDispatchChunk) {
        const auto from = due.begin() + static_cast<std::ptrdiff_t>(first);
        const auto to = due.begin() + static_cast<std::ptrdiff_t>(std::min(due.size(), first + kDispatchChunk));
        dispatch_(std::vector<Occurrence>(std::make_move_iterator(from), std::make_move_iterator(to)), now);
      }
    }
    due.clear();
  }
  std::vector<Occurrence> extra = jobs_.requeue(popped, floor_seconds(now));
  classify(extra, now, forward_step, expected);
  extra.insert(extra.begin(), std::make_move_iterator(due.begin()), std::make_move_iterator(due.end()));
  if (extra.empty()) return;
  std::stable_sort(extra.begin(), extra.end(),
                   [](const Occurrence& a, const Occurrence& b) { return a.at < b.at; });
  dispatch_(std::move(extra), now);
}

// Pops the jobs of the next fire once it is at most kStageLead away (see kStageLead).
void TimerLoop::stage() {
  if (!staged_.empty()) return;
  const auto next = jobs_.next_fire();
  if (!next || *next == stage_tried_) return;
  const auto lead = WallTime(std::chrono::seconds(*next)) - cluster_clock_.now();
  if (lead <= WallTime::duration::zero() || lead > kStageLead) return;
  stage_tried_ = *next;
  jobs_.pop_due(*next, staged_, kMaxStaged);  // its occurrences are confirmed at the instant
  staged_at_ = *next;
}

// Firing stopped (shutdown) before the staged instant: its jobs go back to the table's queue.
void TimerLoop::unstage(WallTime now) {
  if (staged_.empty()) return;
  jobs_.requeue(staged_, floor_seconds(now));
  staged_.clear();
}

TimerLoop::SteadyTime TimerLoop::next_wake(SteadyTime steady, WallTime now) const {
  SteadyTime deadline = steady + kMaxSleep;
  const auto steady_at = [&](std::int64_t s, WallTime::duration lead) {
    return steady + std::chrono::duration_cast<SteadyTime::duration>(WallTime(std::chrono::seconds(s)) - now - lead);
  };
  if (firing_) {
    if (!staged_.empty()) deadline = std::min(deadline, steady_at(staged_at_, {}));
    if (auto next = jobs_.next_fire()) {
      // Early to stage it, unless staged or tried already.
      const bool ahead = staged_.empty() && *next != stage_tried_;
      deadline = std::min(deadline, steady_at(*next, ahead ? kStageLead : WallTime::duration{}));
    }
  }
  if (!tasks_.empty()) deadline = std::min(deadline, tasks_.front().at);
  return deadline;
}

}  // namespace solocron::detail
