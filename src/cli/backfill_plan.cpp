#include "cli/backfill_plan.hpp"

#include <algorithm>
#include <set>

#include "cli/cluster_jobs.hpp"
#include "cli/operation_error.hpp"
#include "cron/time_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;




sys_seconds parse_bound(const std::string& text, const char* flag, const std::string& zone) {
  auto t = detail::parse_time_text(text, zone);
  if (!t) throw OperationError(OperationError::Kind::bad_request, std::string(flag) + ": " + t.error());
  return t->seconds;
}

RangeState read_range(Store& store, const std::string& job, const Schedule& schedule,
                      sys_seconds from, sys_seconds to) {
  RangeState out;
  for (auto t = schedule.next(from - seconds(1)); t && *t <= to; t = schedule.next(*t)) {
    if (out.ticks.size() == kMaxTicksScanned) {
      out.truncated = true;
      break;
    }
    out.ticks.emplace_back(*t, std::nullopt);
  }
  if (out.ticks.empty()) return out;
  HistoryQuery q;
  q.job = job;
  q.since = out.ticks.front().first;
  q.before = out.ticks.back().first + seconds(1);
  q.limit = 2 * kMaxTicksScanned;  // the range's ticks, and runs asked for among them
  std::map<sys_seconds, RunState> recorded;
  for (const RunRecord& r : store.history(q)) {
    if (r.key.request == 0 && r.key.node.empty()) recorded[r.key.scheduled_at] = r.state;
  }
  std::vector<OccurrenceKey> unrecorded;
  for (auto& [at, state] : out.ticks) {
    if (auto it = recorded.find(at); it != recorded.end()) {
      state = it->second;
    } else {
      unrecorded.push_back({job, at, "", 0});
    }
  }
  // An instant with no record that the store counts as decided was pruned by retention.
  std::set<sys_seconds> pruned;
  for (std::size_t i = 0; i < unrecorded.size(); i += 1000) {
    const std::size_t n = std::min<std::size_t>(1000, unrecorded.size() - i);
    const auto decided = store.recorded(std::span<const OccurrenceKey>(unrecorded.data() + i, n));
    for (std::size_t k = 0; k < n && k < decided.size(); ++k) {
      if (decided[k]) pruned.insert(unrecorded[i + k].scheduled_at);
    }
  }
  out.pruned = pruned.size();
  std::erase_if(out.ticks, [&](const auto& t) { return !t.second && pruned.count(t.first); });
  return out;
}

bool to_run(const std::optional<RunState>& s) { return !s || *s == RunState::missed; }


Plan plan_of(const RangeState& range, std::size_t max) {
  Plan p;
  for (const auto& tick : range.ticks) {
    if (!to_run(tick.second)) {
      ++p.already[std::string(to_string(*tick.second))];
    } else if (p.chosen.size() < max) {
      p.chosen.push_back(tick);
    } else {
      ++p.left;
    }
  }
  return p;
}

}  // namespace

Backfill run_backfill(Store& store, const BackfillArgs& a, const BackfillNames& names) {
  if (a.max == 0 || a.max > kMaxBackfill) {
    throw OperationError(OperationError::Kind::bad_request,
                         std::string(names.max) + " must be from 1 to " + std::to_string(kMaxBackfill));
  }
  const ClusterJob cj = cluster_job(store, a.job);
  const JobDefinition& def = cj.definitions.front();  // the most nodes' definition
  const std::string run_on = def.definition.value("run_on", std::string("once"));
  if (run_on != "once") {
    throw OperationError(OperationError::Kind::conflict,
                         "job \"" + a.job + "\" is run_on: " + run_on +
                             "; backfill runs jobs that run once in the cluster");
  }
  auto schedule = schedule_of(def);
  if (!schedule) {
    throw OperationError(OperationError::Kind::conflict,
                         "job \"" + a.job + "\": its schedule or time zone is not known to this host");
  }
  const std::string zone = def.definition.value("time_zone", std::string("UTC"));
  const sys_seconds from = parse_bound(a.from, names.from, zone);
  sys_seconds to = parse_bound(a.to, names.to, zone);
  if (to < from) {
    throw OperationError(OperationError::Kind::bad_request,
                         std::string(names.to) + " is before " + names.from);
  }
  // The current second's tick is the schedule's to run, not a backfill's.
  to = std::min(to, std::chrono::floor<seconds>(store.now()) - seconds(1));
  Backfill b{read_range(store, a.job, *schedule, from, to), {}};
  b.plan = plan_of(b.range, a.max);
  if (!a.dry_run && !b.plan.chosen.empty()) {
    std::vector<sys_seconds> instants;
    for (const auto& c : b.plan.chosen) instants.push_back(c.first);
    b.plan.id = store.request_backfill(a.job, instants, a.by, a.note);
  }
  return b;
}

nlohmann::json backfill_json(const BackfillArgs& a, const Backfill& b) {
  const auto& [chosen, already, left, id] = b.plan;
  const RangeState& range = b.range;
  nlohmann::json out = {{"job", a.job},      {"dry_run", a.dry_run},      {"pruned", range.pruned},
                        {"left_over", left}, {"truncated", range.truncated}, {"already", already},
                        {"backfill", id ? nlohmann::json(*id) : nlohmann::json(nullptr)}};
  out["instants"] = nlohmann::json::array();
  for (const auto& [at, state] : chosen) {
    out["instants"].push_back({{"scheduled_at", format_rfc3339(at, "UTC", true)},
                               {"state", state ? nlohmann::json(std::string(to_string(*state)))
                                               : nlohmann::json(nullptr)}});
  }
  return out;
}

}  // namespace solocron::cli
