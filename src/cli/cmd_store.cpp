// Operator commands that read the store: history, nodes, jobs, status.
#include <iostream>

#include "cli/cluster_view.hpp"
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "config/config.hpp"
#include "cron/duration.hpp"
#include "solocron/clock.hpp"

namespace solocron::cli {

namespace {

std::string optional_int(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }

std::string duration_of(const RunRecord& r) {
  if (!r.started_at || !r.finished_at) return "-";
  return detail::format_duration(*r.finished_at - *r.started_at);
}

std::vector<std::string> history_row(const RunRecord& r, bool earlier) {
  std::string job = r.key.node.empty() ? r.key.job : r.key.job + "@" + r.key.node;
  if (r.key.request != 0) job += " [manual " + std::to_string(r.key.request) + "]";
  if (r.trigger == Trigger::backfill) job += " [backfill]";
  return {earlier ? "  (earlier attempt)" : format_rfc3339(r.key.scheduled_at, "UTC", true), job,
          std::string(to_string(r.state)), r.node.empty() ? "-" : r.node,
          r.fence != 0 ? std::to_string(r.fence) : "-", std::to_string(r.attempt),
          optional_int(r.exit_code), optional_int(r.signal), duration_of(r),
          r.message.empty() ? "-" : r.message};
}

// Each record, newest first; a retried occurrence's earlier attempts follow it (in JSON as its
// "earlier_attempts"), so that every attempt's outcome, exit code and output stay visible.
void print_history(Store& store, const std::vector<RunRecord>& records, bool json) {
  if (json) {
    std::cout << dump_json(history_json(store, records)) << "\n";
    return;
  }
  const auto earlier = earlier_attempts_of(store, records);
  std::vector<std::vector<std::string>> rows = {
      {"SCHEDULED_AT", "JOB", "STATE", "NODE", "FENCE", "ATTEMPT", "EXIT", "SIGNAL", "DURATION",
       "MESSAGE"}};
  for (std::size_t i = 0; i < records.size(); ++i) {
    rows.push_back(history_row(records[i], false));
    for (auto it = earlier[i].rbegin(); it != earlier[i].rend(); ++it) rows.push_back(history_row(*it, true));
  }
  std::cout << render_table(rows);
}

void print_nodes(Store& store, bool json) {
  auto nodes = store.nodes();
  StoreTime now = store.now();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : nodes) out.push_back(to_json(n, now));
    std::cout << dump_json(out) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "STATE", "LEASE_AGE", "EXPIRES_AT", "VERSION"}};
  for (const auto& n : nodes) {
    rows.push_back({n.node_id, n.live ? "live" : "expired",
                    detail::format_duration(now - n.renewed_at), format_store_time(n.expires_at),
                    n.version.empty() ? "-" : n.version});
  }
  std::cout << render_table(rows);
}

}  // namespace

void print_status(Store& store, const std::string& config_path, const detail::ConfigLimits& limits,
                  bool json);
void print_jobs(Store& store, bool json);

void register_store_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<StoreOptions>();

  auto* history = app.add_subcommand("history", "Show the recorded occurrences, newest first");
  auto job = std::make_shared<std::string>();
  auto limit = std::make_shared<std::size_t>(50);
  auto json = std::make_shared<bool>(false);
  history->add_option("job", *job, "Only this job");
  history->add_option("--limit", *limit, "How many records (default 50)");
  history->add_flag("--json", *json, "One JSON array of records");
  opts->add_to(*history);
  history->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      auto store = opts->open({.read_only = true});
      HistoryQuery q;
      if (!job->empty()) q.job = *job;
      q.limit = *limit;
      print_history(*store, store->history(q), *json);
    });
  });

  auto* nodes = app.add_subcommand("nodes", "Show the nodes and their leases");
  nodes->add_flag("--json", *json, "JSON output");
  opts->add_to(*nodes);
  nodes->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      auto store = opts->open({.read_only = true});
      print_nodes(*store, *json);
    });
  });

  auto* jobs = app.add_subcommand("jobs", "The cluster's jobs as its live nodes run them, with drift");
  jobs->add_flag("--json", *json, "JSON output");
  opts->add_to(*jobs);
  jobs->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      auto store = opts->open({.read_only = true});
      print_jobs(*store, *json);
    });
  });

  auto* status = app.add_subcommand("status", "Nodes, and each job's next fire and last result");
  status->add_flag("--json", *json, "JSON output");
  opts->add_to(*status);
  status->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      auto store = opts->open({.read_only = true});
      print_status(*store, opts->config_path, opts->limits, *json);
    });
  });
}

}  // namespace solocron::cli
