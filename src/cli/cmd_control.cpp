// Operator commands that act on the cluster through the store: trigger, pause, resume.
//
// They write requests, never runs: the nodes that have the job take a request at their next
// sweep (within about a heartbeat) and claim its run like an occurrence, so the fencing token,
// the overlap policy and "a node without the job never runs it" hold as for the schedule.
#include <algorithm>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cluster_jobs.hpp"
#include "cli/cluster_ops.hpp"
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "cron/duration.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using namespace std::chrono_literals;

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
  const auto all_final = [&] {
    return records.size() >= expected &&
           std::none_of(records.begin(), records.end(),
                        [](const RunRecord& r) { return is_active(r.state); });
  };
  for (;;) {
    records = records_of(store, req);
    if (all_final() || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(200ms);
  }
  const bool finished = all_final();
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

void register_pause_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<StoreOptions>();
  auto job = std::make_shared<std::string>();
  auto note = std::make_shared<std::string>();
  auto by = std::make_shared<std::string>();
  auto* pause = app.add_subcommand(
      "pause", "Pause a job in the whole cluster (persisted; its ticks are not run until resume)");
  auto* resume = app.add_subcommand(
      "resume", "Resume a paused job: its schedule goes on from now, the paused ticks are not run");
  for (auto* cmd : {pause, resume}) {
    cmd->add_option("job", *job, "The job")->required();
    cmd->add_option("--note", *note, "Why: kept with the pause state");
    cmd->add_option("--by", *by, "Who (default: user@host)");
    opts->add_to(*cmd);
  }
  const auto run = [=, &exit_code](bool pause) {
    guarded(exit_code, [&] {
      // Read-only first: a mistyped SQLite path is an error, not a new empty store.
      cluster_job(*opts->open({.read_only = true}), *job);
      auto store = opts->open();
      const std::string who = by->empty() ? default_requester() : *by;
      const ControlChange c = pause ? pause_job(*store, *job, who, *note) : resume_job(*store, *job, who, *note);
      std::string line = c.message;
      if (pause && c.changed) line += " (`solocron resume " + *job + "`)";
      std::cout << text_line(line) << "\n";
    });
  };
  pause->callback([run] { run(true); });
  resume->callback([run] { run(false); });
}

}  // namespace

void register_control_commands(CLI::App& app, int& exit_code) {
  register_pause_commands(app, exit_code);
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
      const RunRequest req = trigger_job(*store, *job, by->empty() ? default_requester() : *by, *note);
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
