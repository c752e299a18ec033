// `solocron backfill JOB --from T --to T`: run the ticks of a range that were not run
// (cli/backfill_plan.hpp decides which and writes them; this file is the command and its text).
#include <iostream>

#include "cli/backfill_plan.hpp"
#include "cli/cluster_jobs.hpp"
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

struct BackfillCommand {
  BackfillArgs args;
  bool json = false;
};

void print_plan(const BackfillArgs& a, const Backfill& b) {
  const auto& [chosen, already, left, id] = b.plan;
  const RangeState& range = b.range;
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

int backfill(BackfillCommand c, const StoreOptions& opts) {
  // Read-only first: a mistyped SQLite path is an error, not a new empty store.
  cluster_job(*opts.open({.read_only = true}), c.args.job);
  if (c.args.by.empty()) c.args.by = default_requester();
  auto store = opts.open();
  const Backfill b = run_backfill(*store, c.args);
  if (c.json) {
    std::cout << dump_json(backfill_json(c.args, b)) << "\n";
  } else {
    print_plan(c.args, b);
  }
  return 0;
}

}  // namespace

void register_backfill_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<StoreOptions>();
  auto c = std::make_shared<BackfillCommand>();
  BackfillArgs* a = &c->args;
  auto* cmd = app.add_subcommand(
      "backfill", "Run the ticks of a time range that were not run (missed, or no record), oldest first");
  cmd->add_option("job", a->job, "The job")->required();
  cmd->add_option("--from", a->from, "First instant of the range (RFC 3339, or a wall time in the job's zone)")->required();
  cmd->add_option("--to", a->to, "Last instant of the range, included (capped at now)")->required();
  cmd->add_option("--max", a->max, "At most this many ticks, the oldest (default 100, at most 10000)");
  cmd->add_flag("--dry-run", a->dry_run, "Show what would run; change nothing");
  cmd->add_option("--note", a->note, "Why: kept with each backfilled run's record");
  cmd->add_option("--by", a->by, "Who asked (default: user@host)");
  cmd->add_flag("--json", c->json, "JSON output");
  opts->add_to(*cmd);
  cmd->callback([=, &exit_code] { guarded(exit_code, [&] { return backfill(*c, *opts); }); });
}

}  // namespace solocron::cli
