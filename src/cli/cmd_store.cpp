// Operator commands that read the store: history, nodes, jobs, status.
#include <iostream>
#include <map>
#include <tuple>

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

// An occurrence's identity as a map key (OccurrenceKey has no order).
using OccurrenceId = std::tuple<std::string, std::string, std::int64_t, std::int64_t>;
OccurrenceId id_of(const OccurrenceKey& k) {
  return {k.job, k.node, k.request, k.scheduled_at.time_since_epoch().count()};
}

// The attempts a retry replaced, per occurrence of `records` that had more than one.
std::map<OccurrenceId, std::vector<RunRecord>> earlier_of(
    Store& store, const std::vector<RunRecord>& records) {
  std::vector<OccurrenceKey> keys;
  for (const auto& r : records) {
    if (r.attempt > 1) keys.push_back(r.key);
  }
  std::map<OccurrenceId, std::vector<RunRecord>> out;
  if (keys.empty()) return out;
  for (RunRecord& a : store.earlier_attempts(keys)) out[id_of(a.key)].push_back(std::move(a));
  return out;
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
  const auto earlier = earlier_of(store, records);
  const auto earlier_for = [&](const RunRecord& r) -> const std::vector<RunRecord>* {
    auto it = earlier.find(id_of(r.key));
    return it == earlier.end() ? nullptr : &it->second;
  };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records) {
      nlohmann::json j = to_json(r);
      j["earlier_attempts"] = nlohmann::json::array();
      if (const auto* e = earlier_for(r)) {
        for (const auto& a : *e) j["earlier_attempts"].push_back(to_json(a));
      }
      out.push_back(std::move(j));
    }
    std::cout << dump_json(out) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SCHEDULED_AT", "JOB", "STATE", "NODE", "FENCE", "ATTEMPT", "EXIT", "SIGNAL", "DURATION",
       "MESSAGE"}};
  for (const auto& r : records) {
    rows.push_back(history_row(r, false));
    if (const auto* e = earlier_for(r)) {
      for (auto it = e->rbegin(); it != e->rend(); ++it) rows.push_back(history_row(*it, true));
    }
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
  std::vector<std::vector<std::string>> rows = {{"NODE", "STATE", "LEASE_AGE", "EXPIRES_AT"}};
  for (const auto& n : nodes) {
    rows.push_back({n.node_id, n.live ? "live" : "expired",
                    detail::format_duration(now - n.renewed_at), format_store_time(n.expires_at)});
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
