// Operator commands that act on the cluster through the store: trigger.
//
// They write requests, never runs: the nodes that have the job take a request at their next
// sweep (within about a heartbeat) and claim its run like an occurrence, so the fencing token,
// the overlap policy and "a node without the job never runs it" hold as for the schedule.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cluster_jobs.hpp"
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "cron/duration.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using namespace std::chrono_literals;

// "user@host": who asked, when --by does not say.
std::string default_requester() {
  std::string user = "uid " + std::to_string(geteuid());
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) user = pw->pw_name;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return user;
  return user + "@" + host;
}

// The nodes that will run a request of `job`: one for a job run once in the cluster, each
// publishing node for an every_node job. Throws StoreError(invalid) when no live node can run
// it (unknown, or run_on: local everywhere): a request nobody takes is no request.
struct Runners {
  bool every_node = false;
  std::set<std::string> nodes;
};
Runners runners_of(Store& store, const std::string& job) {
  for (const ClusterJob& j : cluster_jobs(store)) {
    if (j.name != job) continue;
    Runners r;
    for (const JobDefinition& d : j.definitions) {
      const std::string run_on = d.definition.value("run_on", std::string("once"));
      if (run_on == "local") continue;
      r.every_node = r.every_node || run_on == "every_node";
      r.nodes.insert(d.nodes.begin(), d.nodes.end());
    }
    if (r.nodes.empty()) {
      throw StoreError(StoreError::Kind::invalid,
                       "job \"" + job + "\" is run_on: local on every node that has it: such a "
                       "job runs only by its node's own schedule, never on request");
    }
    return r;
  }
  throw StoreError(StoreError::Kind::invalid,
                   "no live node has a job named \"" + job +
                       "\" (`solocron jobs` lists the cluster's jobs); nothing was requested");
}

nlohmann::json request_json(const RunRequest& r) {
  return {{"request", r.id},
          {"job", r.job},
          {"scheduled_at", format_rfc3339(r.at, "UTC", true)},
          {"requested_at", format_store_time(r.requested_at)},
          {"requested_by", json_text(r.requested_by)},
          {"note", json_text(r.note)}};
}

// The records of the request's runs so far (one per node for every_node jobs).
std::vector<RunRecord> records_of(Store& store, const RunRequest& r) {
  HistoryQuery q;
  q.job = r.job;
  q.since = r.at;
  q.before = r.at + 1s;
  q.limit = 100000;
  std::vector<RunRecord> out;
  for (RunRecord& rec : store.history(q)) {
    if (rec.key.request == r.id) out.push_back(std::move(rec));
  }
  return out;
}

// Waits until every runner's record of the request is final, or `timeout`. Exit status: 0 when
// all succeeded, 1 otherwise (or when the wait ran out).
int wait_for(Store& store, const RunRequest& req, const Runners& runners,
             std::chrono::milliseconds timeout, bool json) {
  const std::size_t expected = runners.every_node ? runners.nodes.size() : 1;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  std::vector<RunRecord> records;
  for (;;) {
    records = records_of(store, req);
    const bool done = records.size() >= expected &&
                      std::none_of(records.begin(), records.end(),
                                   [](const RunRecord& r) { return is_active(r.state); });
    if (done || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(200ms);
  }
  const bool finished = records.size() >= expected &&
                        std::none_of(records.begin(), records.end(),
                                     [](const RunRecord& r) { return is_active(r.state); });
  const bool ok = finished && std::all_of(records.begin(), records.end(), [](const RunRecord& r) {
                    return r.state == RunState::succeeded;
                  });
  if (json) {
    nlohmann::json out = request_json(req);
    out["records"] = nlohmann::json::array();
    for (const auto& r : records) out["records"].push_back(to_json(r));
    out["finished"] = finished;
    std::cout << dump_json(out) << "\n";
  } else {
    for (const auto& r : records) {
      std::string line = "  " + std::string(to_string(r.state)) + " on " + (r.node.empty() ? "-" : r.node);
      if (r.exit_code) line += ", exit code " + std::to_string(*r.exit_code);
      if (!r.message.empty()) line += ": " + r.message;
      std::cout << text_line(line) << "\n";
    }
    if (!finished) {
      std::cout << "no outcome within " << detail::format_duration(timeout)
                << " (the request stays; `solocron history " << req.job << "` shows it later)\n";
    }
  }
  return ok ? 0 : 1;
}

}  // namespace

void register_control_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<StoreOptions>();
  auto* trigger = app.add_subcommand(
      "trigger", "Run a job once now, in the cluster (claimed like a scheduled occurrence)");
  auto job = std::make_shared<std::string>();
  auto note = std::make_shared<std::string>();
  auto by = std::make_shared<std::string>();
  auto wait = std::make_shared<bool>(false);
  auto timeout = std::make_shared<std::string>("1h");
  auto json = std::make_shared<bool>(false);
  trigger->add_option("job", *job, "The job")->required();
  trigger->add_option("--note", *note, "Why: kept with the run's record");
  trigger->add_option("--by", *by, "Who asked (default: user@host)");
  trigger->add_flag("--wait", *wait, "Wait for the outcome; exit 0 only if the run succeeded");
  trigger->add_option("--timeout", *timeout, "How long --wait waits (default 1h)");
  trigger->add_flag("--json", *json, "JSON output");
  opts->add_to(*trigger);
  trigger->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      const auto wait_for_ms = detail::parse_duration(*timeout);
      if (!wait_for_ms || wait_for_ms->count() <= 0) {
        throw StoreError(StoreError::Kind::invalid,
                         "--timeout \"" + *timeout + "\": expected a duration such as 90s or 1h" +
                             (wait_for_ms ? "" : " (" + wait_for_ms.error() + ")"));
      }
      // Read-only first: a mistyped SQLite path is an error, not a new empty store.
      const Runners runners = runners_of(*opts->open({.read_only = true}), *job);
      auto store = opts->open();
      const RunRequest req = store->request_run(*job, by->empty() ? default_requester() : *by, *note);
      if (*json && !*wait) {
        std::cout << dump_json(request_json(req)) << "\n";
      } else if (!*json) {
        std::cout << text_line("requested run " + std::to_string(req.id) + " of " + req.job + " at " +
                               format_rfc3339(req.at, "UTC", true) + " by " + req.requested_by)
                  << "\n";
      }
      if (!*wait) return 0;
      return wait_for(*store, req, runners, *wait_for_ms, *json);
    });
  });
}

}  // namespace solocron::cli
