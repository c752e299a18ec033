// Misfire and catch-up (cluster contract section 6): occurrences nobody ran, because the node
// was down, cut off, stalled or its wall clock jumped, go through the job's misfire policy.
// Catch-up is always bounded: at most max_catchup runs per job and at most
// kMaxMissedRecords `missed` records written per pass, so a week of downtime is no storm.
#include <algorithm>

#include "scheduler/scheduler_impl.hpp"

namespace solocron {

using detail::WallTime;
using std::chrono::sys_seconds;

namespace {
constexpr std::size_t kMaxMissedRecords = 10000;
// A job's walk from its last recorded occurrence stops after this many instants: beyond it the
// remaining occurrences are only counted as not recorded.
constexpr std::size_t kMaxWalk = 1000000;
}  // namespace

namespace detail {

MisfireDecision decide_misfire(const JobDef& def, const std::vector<sys_seconds>& occurrences,
                               WallTime now) {
  MisfireDecision d;
  const auto deadline = def.starting_deadline();
  const auto within = [&](sys_seconds t) { return !deadline || now - WallTime(t) <= *deadline; };
  std::vector<bool> run(occurrences.size(), false);
  if (def.misfire == MisfirePolicy::run_once) {
    if (!occurrences.empty() && within(occurrences.back())) run.back() = true;
  } else if (def.misfire == MisfirePolicy::run_all) {
    // The newest max_catchup occurrences still within the deadline, run oldest first.
    std::size_t budget = def.max_catchup;
    for (std::size_t i = occurrences.size(); i-- > 0 && budget > 0;) {
      if (within(occurrences[i])) {
        run[i] = true;
        --budget;
      }
    }
  }
  for (std::size_t i = 0; i < occurrences.size(); ++i) {
    (run[i] ? d.run : d.missed).push_back(occurrences[i]);
  }
  return d;
}

}  // namespace detail

bool Scheduler::Impl::catch_up(WallTime until) {
  struct JobRef {
    std::shared_ptr<const detail::JobDef> def;
    std::uint32_t slot, incarnation;
    std::int64_t next_fire;
  };
  std::vector<JobRef> jobs;
  {
    std::lock_guard<std::mutex> g(mu);
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
      const detail::JobSlot& s = slots[i];
      if (s.def && s.def->store_backed() && !s.paused) {
        jobs.push_back({s.def, i, slot_incarnation[i], s.next_fire});
      }
    }
  }
  const sys_seconds until_s = std::chrono::floor<std::chrono::seconds>(until);
  std::size_t ran = 0, recorded = 0, not_recorded = 0;
  // A pass over many jobs takes many store round trips: keep the lease renewed meanwhile, or
  // the node would fence itself in the middle of catching up.
  auto last_renew = clock.steady_now();
  for (const JobRef& j : jobs) {
    if (clock.steady_now() - last_renew >= settings.heartbeat) {
      renew();
      last_renew = clock.steady_now();
      std::lock_guard<std::mutex> g(mu);
      if (!lease_held) return false;
    }
    std::optional<sys_seconds> last;
    try {
      last = store.last_scheduled(j.def->name);
    } catch (const std::exception& ex) {
      store_error("catch-up: last_scheduled", ex);
      return false;
    }
    if (!last) continue;  // no history: nothing can have been missed
    // Decided here, at once, so that run_once runs one occurrence per outage: everything up to
    // `until`, also what the timer loop has not reached (it may be behind, stuck in a store call
    // during the outage), except what it has queued and is still on time for (less than 2 s
    // old; its on-time slack is 1 s): deciding that here would record a tick missed at the very
    // second it is due. The timer skips what is taken here (last_fired).
    sys_seconds take_upto = until_s;
    if (j.next_fire != detail::kNoTime) {
      const sys_seconds queued(std::chrono::seconds(j.next_fire));
      take_upto = std::max(until_s - std::chrono::seconds(2),
                           std::min(until_s, queued - std::chrono::seconds(1)));
    }
    const sys_seconds bound = take_upto + std::chrono::seconds(1);  // exclusive
    {
      std::lock_guard<std::mutex> g(mu);
      if (j.slot < slots.size() && slot_incarnation[j.slot] == j.incarnation) {
        auto& last_fired = slots[j.slot].last_fired;
        last_fired = std::max(last_fired, take_upto.time_since_epoch().count());
      }
    }
    std::vector<sys_seconds> found;
    std::size_t total = 0;
    const std::size_t keep = kMaxMissedRecords + j.def->max_catchup;
    for (auto f = j.def->schedule.next(*last); f && *f < bound && total < kMaxWalk;
         f = j.def->schedule.next(*f)) {
      ++total;
      found.push_back(*f);
      if (found.size() > 2 * keep) found.erase(found.begin(), found.end() - keep);
    }
    if (total == 0) continue;
    if (found.size() > keep) found.erase(found.begin(), found.end() - keep);
    not_recorded += total - found.size();
    const detail::MisfireDecision d = detail::decide_misfire(*j.def, found, until);
    std::vector<detail::Occurrence> to_run, to_miss;
    for (sys_seconds t : d.run) to_run.push_back({j.def, j.slot, j.incarnation, t, true});
    const std::size_t budget = kMaxMissedRecords - std::min(kMaxMissedRecords, recorded);
    const std::size_t n = std::min(budget, d.missed.size());
    // Keep the newest records when over budget: they are the ones an operator looks at.
    for (std::size_t i = d.missed.size() - n; i < d.missed.size(); ++i) {
      to_miss.push_back({j.def, j.slot, j.incarnation, d.missed[i], true});
    }
    not_recorded += d.missed.size() - n;
    recorded += n;
    ran += to_run.size();
    if (!to_miss.empty()) record_missed(to_miss, "missed while this node was down or cut off");
    if (!to_run.empty()) claim_batch(std::move(to_run));
  }
  if (ran + recorded + not_recorded > 0) {
    RunEvent e = event(RunEventKind::catch_up);
    e.message = "catch-up: " + std::to_string(ran) + " run(s) started, " +
                std::to_string(recorded) + " recorded missed";
    if (not_recorded > 0) {
      e.message += ", " + std::to_string(not_recorded) + " more missed not recorded (cap " +
                   std::to_string(kMaxMissedRecords) + ")";
    }
    emit(e);
  }
  return true;
}

}  // namespace solocron
