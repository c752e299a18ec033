// The timer loop: waits on the monotonic clock for the next fire, reads the wall clock on every
// wake, detects wall-clock steps and stalls, and hands due occurrences to the policies.
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "cron/duration.hpp"
#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using namespace std::chrono_literals;
using detail::Occurrence;
using detail::SteadyTime;
using detail::WallTime;

namespace {

// Longest single wait, so a forward wall-clock step is noticed within this time.
constexpr auto kMaxSleep = 1s;
// A wall clock that moved this much more or less than the steady clock was stepped.
constexpr auto kStepTolerance = 1s;
// An occurrence this close to now is on time whatever happened before.
constexpr auto kOnTimeSlack = 1s;
// An occurrence noticed this late (the process was stopped, the machine suspended or
// overloaded) went unwatched: it is a misfire.
constexpr auto kLateThreshold = 5s;

struct TaskLater {
  bool operator()(const detail::DeadlineTask& a, const detail::DeadlineTask& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

// The wall and steady clocks read as one pair: if time moved between the two reads (another
// thread advancing a FakeClock, or this thread being descheduled), read again, so a torn pair
// neither looks like a clock step nor yields a deadline one step too late.
std::pair<WallTime, SteadyTime> read_clocks(const Clock& clock) {
  for (int attempt = 0;; ++attempt) {
    const WallTime w1 = clock.now();
    const SteadyTime s = clock.steady_now();
    const WallTime w2 = clock.now();
    if (w2 - w1 < std::chrono::microseconds(200) || attempt == 3) return {w2, s};
  }
}

std::int64_t seconds_of(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }
std::chrono::sys_seconds at_seconds(std::int64_t s) {
  return std::chrono::sys_seconds(std::chrono::seconds(s));
}

// Upper bound of occurrences collected per job in one wake: a long forward step on an
// every-second job must not build an unbounded list (the rest are counted, not listed).
constexpr std::size_t kMaxOccurrencesPerWake = 10000;

}  // namespace

void Scheduler::Impl::add_task(SteadyTime at, std::function<void()> fn) {
  tasks.push_back({at, ++task_seq, std::move(fn)});
  std::push_heap(tasks.begin(), tasks.end(), TaskLater{});
  if (loop_park.parked && at < loop_park.deadline) wake_loop();
}

void Scheduler::Impl::loop_main() {
  std::unique_lock<std::mutex> lk(mu);
  auto [wall_prev, steady_prev] = read_clocks(clock);
  while (!stop_threads) {
    loop_park.dirty = false;
    const auto [wall, steady] = read_clocks(clock);
    // Watchdog: a renewal stuck in a store call (no answer, no error yet) must not keep this node
    // claiming past node_ttl on its own clock; the lease thread cannot notice while it waits.
    if (lease_held && steady - last_renewed >= settings.node_ttl) {
      lk.unlock();
      self_fence("the node lease was not renewed for node_ttl (" +
                 detail::format_duration(settings.node_ttl) + ")");
      lk.lock();
      continue;
    }
    // What the wall clock should read if nobody stepped it since the last look.
    const WallTime expected = wall_prev + std::chrono::duration_cast<WallTime::duration>(steady - steady_prev);
    const auto step = wall - expected;
    const bool forward_step = step > kStepTolerance;
    if (forward_step || step < -kStepTolerance) {
      ++counters.clock_steps;
      RunEvent e = event(RunEventKind::clock_step);
      e.duration = std::chrono::duration_cast<std::chrono::milliseconds>(step);
      e.message = std::string("wall clock stepped ") + (forward_step ? "forward" : "back") +
                  " by " + detail::format_duration(std::chrono::abs(e.duration));
      lk.unlock();
      emit(e);
      lk.lock();
    }

    // Pop every due job and dispatch it before computing any next fire: with 10,000 jobs due at
    // once the Schedule::next calls would otherwise delay the last start by milliseconds.
    struct Popped {
      std::uint32_t slot, generation;
      std::int64_t fire;
    };
    std::vector<Popped> popped;
    std::vector<Occurrence> due;
    const std::int64_t now_s = std::chrono::floor<std::chrono::seconds>(wall).time_since_epoch().count();
    while (firing && !heap.empty() && heap.top().fire <= now_s) {
      const detail::HeapEntry h = heap.pop();
      detail::JobSlot& s = slots[h.slot];
      if (!s.def || s.generation != h.generation || s.next_fire != h.fire) continue;
      if (h.fire > s.last_fired) {
        due.push_back({s.def, h.slot, slot_incarnation[h.slot], at_seconds(h.fire), false});
        s.last_fired = h.fire;
      }
      popped.push_back({h.slot, h.generation, h.fire});
    }
    std::vector<std::function<void()>> run_now;
    while (!tasks.empty() && tasks.front().at <= steady) {
      std::pop_heap(tasks.begin(), tasks.end(), TaskLater{});
      run_now.push_back(std::move(tasks.back().fn));
      tasks.pop_back();
    }
    bool any_misfired = false;
    for (Occurrence& o : due) {
      const auto late = wall - WallTime(o.at);
      o.misfired = late > kOnTimeSlack &&
                   ((forward_step && WallTime(o.at) > expected) || late > kLateThreshold);
      any_misfired = any_misfired || o.misfired;
    }
    // Misfired occurrences wait for the walk below: a job's policy (run_once, run_all with
    // max_catchup) must see all of its missed occurrences at once.
    if (!any_misfired && (!due.empty() || !run_now.empty())) {
      lk.unlock();
      counters.fired += due.size();
      if (!due.empty()) process_occurrences(std::move(due), wall);
      for (auto& fn : run_now) fn();
      lk.lock();
      due.clear();
      run_now.clear();
    }

    // Queue each popped job's next fire. Schedule::next runs without the lock (workers need it
    // to start and finish runs); a job changed meanwhile was requeued by that change already.
    // More occurrences already due (a forward step, a stall) are processed too, bounded per job.
    std::vector<Occurrence> extra = std::move(due);
    struct Next {
      std::shared_ptr<const detail::JobDef> def;
      std::int64_t last_fired;
      std::vector<std::int64_t> due;
      std::int64_t next = detail::kNoTime;
    };
    std::vector<Next> nexts;
    nexts.reserve(popped.size());
    for (const Popped& p : popped) nexts.push_back({slots[p.slot].def, slots[p.slot].last_fired, {}});
    lk.unlock();
    for (std::size_t i = 0; i < popped.size(); ++i) {
      Next& n = nexts[i];
      if (!n.def) continue;
      auto next = n.def->schedule.next(at_seconds(popped[i].fire));
      std::int64_t f = next ? seconds_of(*next) : detail::kNoTime;
      while (f != detail::kNoTime && f <= now_s) {
        if (f > n.last_fired && n.due.size() < kMaxOccurrencesPerWake) n.due.push_back(f);
        next = n.def->schedule.next(at_seconds(f));
        f = next ? seconds_of(*next) : detail::kNoTime;
      }
      n.next = f;
    }
    lk.lock();
    for (std::size_t i = 0; i < popped.size(); ++i) {
      const Popped& p = popped[i];
      detail::JobSlot& s = slots[p.slot];
      if (!s.def || s.generation != p.generation || s.next_fire != p.fire) continue;
      for (std::int64_t f : nexts[i].due) {
        if (f <= s.last_fired) continue;
        extra.push_back({s.def, p.slot, slot_incarnation[p.slot], at_seconds(f), false});
        s.last_fired = f;
      }
      s.next_fire = nexts[i].next;
      ++s.generation;
      if (s.next_fire != detail::kNoTime) heap.push({s.next_fire, p.slot, s.generation});
    }
    if (!extra.empty() || !run_now.empty()) {
      lk.unlock();
      std::stable_sort(extra.begin(), extra.end(), [](const Occurrence& a, const Occurrence& b) {
        return a.at < b.at;
      });
      for (Occurrence& o : extra) {
        const auto late = wall - WallTime(o.at);
        o.misfired = late > kOnTimeSlack &&
                     ((forward_step && WallTime(o.at) > expected) || late > kLateThreshold);
      }
      counters.fired += extra.size();
      if (!extra.empty()) process_occurrences(std::move(extra), wall);
      for (auto& fn : run_now) fn();
      lk.lock();
    }

    std::tie(wall_prev, steady_prev) = read_clocks(clock);
    if (loop_park.dirty || stop_threads) continue;
    SteadyTime deadline = steady_prev + kMaxSleep;
    if (firing && !heap.empty()) {
      const auto until_fire = WallTime(at_seconds(heap.top().fire)) - wall_prev;
      deadline = std::min(deadline, steady_prev + std::chrono::duration_cast<SteadyTime::duration>(until_fire));
    }
    if (!tasks.empty()) deadline = std::min(deadline, tasks.front().at);
    loop_park = {true, false, deadline};
    idle_cv.notify_all();
    clock.wait_until(loop_cv, lk, deadline);
    loop_park.parked = false;
  }
  loop_park.parked = false;
  idle_cv.notify_all();
}

// Applies starting_deadline and the misfire policy, records what will not run, and sends the
// rest to local start or to the store's claim.
void Scheduler::Impl::process_occurrences(std::vector<Occurrence> occs, WallTime now) {
  std::vector<Occurrence> to_run;
  std::vector<Occurrence> to_miss;
  std::map<std::uint32_t, std::vector<Occurrence>> misfired;  // by slot, oldest first
  for (Occurrence& o : occs) {
    if (o.misfired) {
      misfired[o.slot].push_back(std::move(o));
      continue;
    }
    const auto deadline = o.def->starting_deadline();
    if (deadline && now - WallTime(o.at) > *deadline) {
      to_miss.push_back(std::move(o));
    } else {
      to_run.push_back(std::move(o));
    }
  }
  for (auto& [slot, list] : misfired) {
    std::vector<std::chrono::sys_seconds> instants;
    for (const Occurrence& o : list) instants.push_back(o.at);
    const detail::MisfireDecision d = detail::decide_misfire(*list.front().def, instants, now);
    for (Occurrence& o : list) {
      const bool run = std::find(d.run.begin(), d.run.end(), o.at) != d.run.end();
      (run ? to_run : to_miss).push_back(std::move(o));
    }
  }
  if (!to_miss.empty()) record_missed(to_miss, "misfire");
  std::vector<Occurrence> local;
  std::vector<Occurrence> claimed;
  for (Occurrence& o : to_run) (o.def->store_backed() ? claimed : local).push_back(std::move(o));
  if (!local.empty()) start_local(std::move(local));
  if (!claimed.empty()) claim_and_dispatch(std::move(claimed));
}

}  // namespace solocron
