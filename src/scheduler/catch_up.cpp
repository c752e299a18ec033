// Misfire and catch-up (cluster contract section 6): occurrences nobody ran, because the node
// was down, cut off, stalled or the cluster's clock jumped, go through the job's misfire
// policy. Catch-up is always bounded: at most max_catchup runs per job and at most
// kMaxMissedRecords `missed` records written per pass, so a week of downtime is no storm.
#include <algorithm>
#include <set>
#include <utility>

#include "scheduler/claimer.hpp"

namespace solocron::detail {

using std::chrono::sys_seconds;

namespace {
constexpr std::size_t kMaxMissedRecords = 10000;
// A job's walk from its last recorded occurrence stops after this many instants: beyond it the
// remaining occurrences are only counted as not recorded.
constexpr std::size_t kMaxWalk = 1000000;
// Jobs whose last recorded instant is asked for in one store call.
constexpr std::size_t kJobsPerQuery = 500;
}  // namespace

MisfireDecision decide_misfire(const JobDef& def, const std::vector<sys_seconds>& occurrences,
                               Clock::wall_time now) {
  MisfireDecision d;
  const auto deadline = def.starting_deadline();
  const auto within = [&](sys_seconds t) { return !deadline || now - Clock::wall_time(t) <= *deadline; };
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

// What this node already holds for claiming (handed over by the timer, waiting for a slot or for
// a retry): the claim path decides those; catch-up must not record one missed meanwhile.
std::set<std::pair<std::string, sys_seconds>> Claimer::held_occurrences() const {
  std::set<std::pair<std::string, sys_seconds>> held;
  std::lock_guard g(mu_);
  const auto add = [&](const Occurrence& o) { held.emplace(o.def->name, o.at); };
  for (const auto& [at, batch] : pending_) std::for_each(batch.begin(), batch.end(), add);
  std::for_each(waiting_.begin(), waiting_.end(), add);
  std::for_each(retry_.begin(), retry_.end(), add);
  return held;
}

bool Claimer::catch_up() {
  const std::vector<JobTable::Queued> jobs = jobs_.store_backed();
  const auto held = held_occurrences();
  const WallTime until = cluster_clock_.now();
  const sys_seconds until_s = std::chrono::floor<std::chrono::seconds>(until);
  std::size_t ran = 0, recorded = 0, not_recorded = 0;
  for (std::size_t first = 0; first < jobs.size(); first += kJobsPerQuery) {
    const std::size_t end = std::min(jobs.size(), first + kJobsPerQuery);
    std::vector<std::string> names;
    for (std::size_t i = first; i < end; ++i) names.push_back(jobs[i].def->name);
    std::vector<std::optional<sys_seconds>> lasts;
    try {
      lasts = store_.last_scheduled(names);
    } catch (const std::exception& ex) {
      events_.store_error("catch-up: last_scheduled", ex);
      return false;
    }
    for (std::size_t i = first; i < end && i - first < lasts.size(); ++i) {
      const JobTable::Queued& j = jobs[i];
      const std::optional<sys_seconds> last = lasts[i - first];
      if (!last) continue;  // no history: nothing can have been missed
      // Decided here, at once, so that run_once runs one occurrence per outage: everything up
      // to `until`, also what the timer has not reached, except what it has queued and is still
      // on time for (less than 2 s old; its on-time slack is 1 s): deciding that here would
      // record a tick missed at the very second it is due. The timer skips what is taken here.
      sys_seconds take_upto = until_s;
      if (j.next_fire != kNoTime) {
        const sys_seconds queued(std::chrono::seconds(j.next_fire));
        take_upto = std::max(until_s - std::chrono::seconds(2),
                             std::min(until_s, queued - std::chrono::seconds(1)));
      }
      const sys_seconds bound = take_upto + std::chrono::seconds(1);  // exclusive
      jobs_.decided_upto(j.def->name, take_upto.time_since_epoch().count());
      std::vector<sys_seconds> found;
      std::size_t total = 0;
      const std::size_t keep = kMaxMissedRecords + j.def->max_catchup;
      for (auto f = j.def->schedule.next(*last); f && *f < bound && total < kMaxWalk;
           f = j.def->schedule.next(*f)) {
        if (held.contains({j.def->name, *f})) continue;
        ++total;
        found.push_back(*f);
        if (found.size() > 2 * keep) found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(keep));
      }
      if (total == 0) continue;
      if (found.size() > keep) found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(keep));
      not_recorded += total - found.size();
      const MisfireDecision d = decide_misfire(*j.def, found, until);
      std::vector<Occurrence> to_run, to_miss;
      for (sys_seconds t : d.run) to_run.push_back({j.def, t, true});
      const std::size_t budget = kMaxMissedRecords - std::min(kMaxMissedRecords, recorded);
      const std::size_t n = std::min(budget, d.missed.size());
      // Keep the newest records when over budget: they are the ones an operator looks at.
      for (std::size_t k = d.missed.size() - n; k < d.missed.size(); ++k) {
        to_miss.push_back({j.def, d.missed[k], true});
      }
      not_recorded += d.missed.size() - n;
      recorded += n;
      ran += to_run.size();
      if (!to_miss.empty()) write_missed({std::move(to_miss), "missed while this node was down or cut off"});
      if (!to_run.empty()) claim(std::move(to_run));
    }
  }
  if (ran + recorded + not_recorded > 0) {
    std::string message = "catch-up: " + std::to_string(ran) + " run(s) started, " +
                          std::to_string(recorded) + " recorded missed";
    if (not_recorded > 0) {
      message += ", " + std::to_string(not_recorded) + " more missed not recorded (cap " +
                 std::to_string(kMaxMissedRecords) + ")";
    }
    events_.emit(RunEventKind::catch_up, message);
  }
  return true;
}

}  // namespace solocron::detail
