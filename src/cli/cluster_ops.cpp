#include "cli/cluster_ops.hpp"

#include "cli/cluster_jobs.hpp"
#include "cli/operation_error.hpp"
#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

std::string at_text(std::chrono::sys_seconds t) { return format_rfc3339(t, "UTC", true); }

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

}  // namespace

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
    throw OperationError(OperationError::Kind::conflict,
                         "job \"" + job + "\" is run_on: local on every node that has it: such a "
                         "job runs only by its node's own schedule, never on request");
  }
  return r;
}

RunRequest trigger_job(Store& store, const std::string& job, const std::string& by,
                       const std::string& note) {
  runners_of(store, job);
  return store.request_run(job, by, note);
}

nlohmann::json request_json(const RunRequest& r) {
  return {{"request", r.id},
          {"job", r.job},
          {"scheduled_at", format_rfc3339(r.at, "UTC", true)},
          {"requested_at", format_store_time(r.requested_at)},
          {"requested_by", json_text(r.requested_by)},
          {"note", json_text(r.note)}};
}

std::optional<JobControl> control_of(Store& store, const std::string& job) {
  for (JobControl& c : store.job_controls()) {
    if (c.job == job) return std::move(c);
  }
  return std::nullopt;
}

nlohmann::json control_json(const std::optional<JobControl>& c) {
  if (!c) return nullptr;
  return {{"paused", c->paused},
          {"paused_at", at_text(c->paused_at)},
          {"resumed_at", c->resumed_at ? nlohmann::json(at_text(*c->resumed_at)) : nlohmann::json(nullptr)},
          {"changed_by", json_text(c->changed_by)},
          {"note", json_text(c->note)},
          {"changed_at", format_store_time(c->changed_at)}};
}

ControlChange pause_job(Store& store, const std::string& job, const std::string& by,
                        const std::string& note) {
  cluster_job(store, job);
  if (auto c = store.pause_job(job, by, note)) {
    return {true, c,
            "paused " + job + ": no tick from " + at_text(c->paused_at) + " runs until resumed"};
  }
  auto held = control_of(store, job);
  return {false, held,
          job + " is paused already" +
              (held ? ", since " + at_text(held->paused_at) + " by " + held->changed_by : "")};
}

ControlChange resume_job(Store& store, const std::string& job, const std::string& by,
                         const std::string& note) {
  const ClusterJob cj = cluster_job(store, job);
  const auto c = control_of(store, job);
  if (!c || !c->paused) return {false, c, job + " is not paused"};
  const auto until = std::chrono::floor<std::chrono::seconds>(store.now());
  const auto span = paused_span(cj, *c, until, by);
  if (!store.resume_job(job, c->paused_at, until, by, note, span)) {
    return {false, control_of(store, job), job + " was resumed meanwhile by another command"};
  }
  return {true, control_of(store, job), "resumed " + job + (span ? "; " + span->message : "")};
}

}  // namespace solocron::cli
