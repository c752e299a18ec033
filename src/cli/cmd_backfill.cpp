// `solocron backfill JOB --from T --to T`: run the ticks of a range that were not run.
//
// The command decides which instants (by the schedule the live nodes published, and the
// history: no record, or `missed`), and writes them to the store as one backfill; it runs
// nothing itself. The nodes that have the job take the instants one at a time, oldest first,
// and claim each under the tick's own key (taking over its `missed` record), so an instant runs
// once however often, and on however many machines, the command is given.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "cli/cluster_jobs.hpp"
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "cron/time_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// Bounds on one command: what it may queue, and how many ticks of the range it looks at.
constexpr std::size_t kMaxBackfill = 10'000;
constexpr std::size_t kMaxTicksScanned = 1'000'000;

struct BackfillArgs {
  std::string job, from, to, note, by;
  std::size_t max = 100;
  bool dry_run = false;
  bool json = false;
};

// The range's ticks and what each has: no record (nullopt) or a record's state. `pruned` are
// ticks retention deleted the records of: they cannot be claimed, so never backfilled.
struct RangeState {
  std::vector<std::pair<sys_seconds, std::optional<RunState>>> ticks;  // oldest first
  std::size_t pruned = 0;
  bool truncated = false;  // more than kMaxTicksScanned ticks in the range
};

sys_seconds parse_bound(const std::string& text, const char* flag, const std::string& zone) {
  auto t = detail::parse_time_text(text, zone);
  if (!t) throw StoreError(StoreError::Kind::invalid, std::string(flag) + ": " + t.error());
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

// What the command does with the range: the ticks it backfills, those it leaves (by state, and
// beyond --max), and the backfill's id once written.
struct Plan {
  std::vector<std::pair<sys_seconds, std::optional<RunState>>> chosen;  // oldest first
  std::map<std::string, std::size_t> already;                           // ran, failed, running...
  std::size_t left = 0;                                                 // beyond --max
  std::optional<std::int64_t> id;
};

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

nlohmann::json plan_json(const BackfillArgs& a, const Plan& p, const RangeState& range) {
  const auto& [chosen, already, left, id] = p;
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

void print_plan(const BackfillArgs& a, const Plan& p, const RangeState& range) {
  const auto& [chosen, already, left, id] = p;
  if (chosen.empty()) {
    std::cout << text_line("nothing to backfill: every tick of " + a.job + " in the range ran or is running") << "\n";
  } else {
    std::cout << text_line((a.dry_run ? "would backfill " : "backfill " + std::to_string(*id) + ": ") +
                           std::to_string(chosen.size()) + " tick(s) of " + a.job +
                           (a.dry_run ? "" : ", run one at a time, oldest first, by the nodes that have it") +
                           ":")
              << "\n";
    for (const auto& [at, state] : chosen) {
      std::cout << "  " << format_rfc3339(at, "UTC", true) << "  " << (state ? "missed" : "no record") << "\n";
    }
  }
  for (const auto& [state, n] : already) std::cout << "  already " << state << ": " << n << "\n";
  if (range.pruned) std::cout << "  pruned by retention (cannot run): " << range.pruned << "\n";
  if (left) std::cout << "  not included (beyond --max " << a.max << "): " << left << "; run again to take them\n";
  if (range.truncated) std::cout << "  the range has more than " << kMaxTicksScanned << " ticks: only the first were looked at\n";
}

int backfill(const BackfillArgs& a, const StoreOptions& opts) {
  if (a.max == 0 || a.max > kMaxBackfill) {
    throw StoreError(StoreError::Kind::invalid, "--max must be from 1 to " + std::to_string(kMaxBackfill));
  }
  // Read-only first: a mistyped SQLite path is an error, not a new empty store.
  const ClusterJob cj = cluster_job(*opts.open({.read_only = true}), a.job);
  const JobDefinition& def = cj.definitions.front();  // the most nodes' definition
  const std::string run_on = def.definition.value("run_on", std::string("once"));
  if (run_on != "once") {
    throw StoreError(StoreError::Kind::invalid,
                     "job \"" + a.job + "\" is run_on: " + run_on +
                         "; backfill runs jobs that run once in the cluster");
  }
  auto schedule = schedule_of(def);
  if (!schedule) {
    throw StoreError(StoreError::Kind::invalid, "job \"" + a.job + "\": its schedule or time zone is not known to this host");
  }
  const std::string zone = def.definition.value("time_zone", std::string("UTC"));
  const sys_seconds from = parse_bound(a.from, "--from", zone);
  sys_seconds to = parse_bound(a.to, "--to", zone);
  if (to < from) throw StoreError(StoreError::Kind::invalid, "--to is before --from");
  auto store = opts.open();
  // The current second's tick is the schedule's to run, not a backfill's.
  to = std::min(to, std::chrono::floor<seconds>(store->now()) - seconds(1));
  const RangeState range = read_range(*store, a.job, *schedule, from, to);
  Plan plan = plan_of(range, a.max);
  if (!a.dry_run && !plan.chosen.empty()) {
    std::vector<sys_seconds> instants;
    for (const auto& c : plan.chosen) instants.push_back(c.first);
    plan.id = store->request_backfill(a.job, instants, a.by.empty() ? default_requester() : a.by, a.note);
  }
  if (a.json) {
    std::cout << dump_json(plan_json(a, plan, range)) << "\n";
  } else {
    print_plan(a, plan, range);
  }
  return 0;
}

}  // namespace

void register_backfill_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<StoreOptions>();
  auto a = std::make_shared<BackfillArgs>();
  auto* cmd = app.add_subcommand(
      "backfill", "Run the ticks of a time range that were not run (missed, or no record), oldest first");
  cmd->add_option("job", a->job, "The job")->required();
  cmd->add_option("--from", a->from, "First instant of the range (RFC 3339, or a wall time in the job's zone)")->required();
  cmd->add_option("--to", a->to, "Last instant of the range, included (capped at now)")->required();
  cmd->add_option("--max", a->max, "At most this many ticks, the oldest (default 100, at most 10000)");
  cmd->add_flag("--dry-run", a->dry_run, "Show what would run; change nothing");
  cmd->add_option("--note", a->note, "Why: kept with each backfilled run's record");
  cmd->add_option("--by", a->by, "Who asked (default: user@host)");
  cmd->add_flag("--json", a->json, "JSON output");
  opts->add_to(*cmd);
  cmd->callback([=, &exit_code] { guarded(exit_code, [&] { return backfill(*a, *opts); }); });
}

}  // namespace solocron::cli
