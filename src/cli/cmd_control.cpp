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
#include "cli/commands.hpp"
#include "cli/record_format.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "cron/duration.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using namespace std::chrono_literals;

// The nodes that will run a request of `job`: one for a job run once in the cluster, each
// publishing node for an every_node job. Throws StoreError(invalid) when no live node can run
// it (unknown, or run_on: local everywhere): a request nobody takes is no request.
struct Runners {
  bool every_node = false;
  std::set<std::string> nodes;
};
Runners runners_of(Store& store, const std::string& job) {
  const ClusterJob j = cluster_job(store, job);
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

std::string at_text(std::chrono::sys_seconds t) { return format_rfc3339(t, "UTC", true); }

std::optional<JobControl> control_of(Store& store, const std::string& job) {
  for (JobControl& c : store.job_controls()) {
    if (c.job == job) return std::move(c);
  }
  return std::nullopt;
}

// The record of the ticks a pause kept from running, by the job's published schedule (the most
// nodes' definition): none when no tick fell in [from, until].
constexpr std::size_t kMaxTicksCounted = 1'000'000;
std::optional<PausedSpan> paused_span(const ClusterJob& job, const JobControl& c,
                                      std::chrono::sys_seconds until, const std::string& by) {
  auto schedule = schedule_of(job.definitions.front());
  if (!schedule) return std::nullopt;  // a zone this host does not know: nothing to count
  std::size_t ticks = 0;
  std::optional<std::chrono::sys_seconds> last;
  for (auto t = schedule->next(c.paused_at - std::chrono::seconds(1));
       t && *t <= until && ticks < kMaxTicksCounted; t = schedule->next(*t)) {
    ++ticks;
    last = *t;
  }
  if (!last) return std::nullopt;
  if (ticks == kMaxTicksCounted) last = schedule->prev(until + std::chrono::seconds(1));
  std::string message = "paused from " + at_text(c.paused_at) + " to " + at_text(until) + ": " +
                        (ticks == kMaxTicksCounted ? "more than " : "") + std::to_string(ticks) +
                        (ticks == 1 ? " tick" : " ticks") + " not run (paused by " + c.changed_by +
                        (c.note.empty() ? "" : ": " + c.note) + "; resumed by " + by + ")";
  return PausedSpan{*last, std::move(message)};
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
  pause->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      cluster_job(*opts->open({.read_only = true}), *job);
      auto store = opts->open();
      const std::string who = by->empty() ? default_requester() : *by;
      if (auto c = store->pause_job(*job, who, *note)) {
        std::cout << text_line("paused " + *job + ": no tick from " + at_text(c->paused_at) +
                               " runs until `solocron resume " + *job + "`")
                  << "\n";
      } else if (auto held = control_of(*store, *job)) {
        std::cout << text_line(*job + " is paused already, since " + at_text(held->paused_at) +
                               " by " + held->changed_by)
                  << "\n";
      }
      return 0;
    });
  });
  resume->callback([=, &exit_code] {
    guarded(exit_code, [&] {
      const ClusterJob cj = cluster_job(*opts->open({.read_only = true}), *job);
      auto store = opts->open();
      const auto c = control_of(*store, *job);
      if (!c || !c->paused) {
        std::cout << text_line(*job + " is not paused") << "\n";
        return 0;
      }
      const std::string who = by->empty() ? default_requester() : *by;
      const auto until = std::chrono::floor<std::chrono::seconds>(store->now());
      const auto span = paused_span(cj, *c, until, who);
      if (!store->resume_job(*job, c->paused_at, until, who, *note, span)) {
        std::cout << text_line(*job + " was resumed meanwhile by another command") << "\n";
        return 0;
      }
      std::cout << text_line("resumed " + *job + (span ? "; " + span->message : "")) << "\n";
      return 0;
    });
  });
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
