#include "cli/metrics.hpp"

#include <cmath>
#include <cstdio>

#include "cli/version.hpp"
#include "scheduler/job_publish.hpp"

namespace solocron::cli {

namespace {

// Run durations: a second-long job to an hour-long one.
const std::vector<double> kDurationBounds = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600};
// Lateness of a start: a millisecond (a local job) to a minute (jitter, a busy cluster).
const std::vector<double> kLatenessBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
// Store calls: a local SQLite write to a call that waited out its deadline.
const std::vector<double> kStoreBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Writes one family's HELP and TYPE.
void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(v) + "\n";
}

void histogram(std::string& out, const std::string& name, const std::string& labels, const Histogram& h) {
  const std::string sep = labels.empty() ? "" : labels + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds->size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    sample(out, name + "_bucket", sep + "le=\"" + number((*h.bounds)[i]) + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_bucket", sep + "le=\"+Inf\"", static_cast<double>(h.count));
  sample(out, name + "_sum", labels, h.sum);
  sample(out, name + "_count", labels, static_cast<double>(h.count));
}

std::string label(const char* key, const std::string& value) { return std::string(key) + "=\"" + value + "\""; }

// The scheduler's counters, as before this file: kept for the dashboards built on them.
void scheduler_counters(std::string& out, const Statistics& s) {
  family(out, "solocron_occurrences_total", "counter", "Occurrences handled by this node, by outcome.");
  const std::pair<const char*, std::uint64_t> outcomes[] = {
      {"fired", s.fired},           {"claim_won", s.claims_won},   {"claim_taken", s.claims_taken},
      {"started", s.started},       {"succeeded", s.succeeded},    {"failed", s.failed},
      {"timed_out", s.timed_out},   {"interrupted", s.interrupted}, {"lost", s.lost},
      {"reclaimed", s.reclaimed},   {"missed", s.missed},          {"skipped_overlap", s.skipped_overlap},
      {"replaced", s.replaced},     {"too_early", s.too_early},    {"not_claimed", s.not_claimed},
      {"stale_write", s.stale_writes}};
  for (const auto& [name, value] : outcomes) {
    sample(out, "solocron_occurrences_total", label("outcome", name), static_cast<double>(value));
  }
  family(out, "solocron_store_errors_total", "counter", "Store calls of the scheduler that failed.");
  sample(out, "solocron_store_errors_total", "", static_cast<double>(s.store_errors));
  family(out, "solocron_clock_steps_total", "counter", "Steps of this node's wall clock the scheduler noticed.");
  sample(out, "solocron_clock_steps_total", "", static_cast<double>(s.clock_steps));
  family(out, "solocron_lease_lost_total", "counter", "Times this node lost its lease and fenced itself.");
  sample(out, "solocron_lease_lost_total", "", static_cast<double>(s.lease_lost));
  family(out, "solocron_running", "gauge", "Runs started on this node and not finished.");
  sample(out, "solocron_running", "", static_cast<double>(s.running));
  family(out, "solocron_queued", "gauge", "Runs ready to start on this node, waiting for a worker or a slot.");
  sample(out, "solocron_queued", "", static_cast<double>(s.queued));
  family(out, "solocron_clock_offset_seconds", "gauge", "This node's wall clock minus the store's clock, as last measured.");
  sample(out, "solocron_clock_offset_seconds", "", static_cast<double>(s.clock_offset_ms) / 1000.0);
}

// Per job of this node: the schedule's gap (for "no success within N intervals" alerts), its
// pause state and the fingerprint of its definition (drift: nodes that disagree).
void job_facts(std::string& out, const Scheduler& s) {
  const auto jobs = s.list();
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  family(out, "solocron_job_interval_seconds", "gauge", "Seconds between the job's next two scheduled ticks.");
  for (const JobInfo& j : jobs) {
    auto a = j.spec.schedule.next(now);
    auto b = a ? j.spec.schedule.next(*a) : std::nullopt;
    if (b) sample(out, "solocron_job_interval_seconds", label("job", j.spec.name), static_cast<double>((*b - *a).count()));
  }
  family(out, "solocron_job_paused", "gauge", "1 while the job is paused on this node.");
  for (const JobInfo& j : jobs) sample(out, "solocron_job_paused", label("job", j.spec.name), j.paused ? 1 : 0);
  family(out, "solocron_job_definition_info", "gauge",
         "The fingerprint of the job's definition on this node (two fingerprints of one job: drift).");
  for (const JobInfo& j : jobs) {
    const auto published = detail::published_job(j.spec, false);
    sample(out, "solocron_job_definition_info",
           label("job", j.spec.name) + "," + label("fingerprint", published.fingerprint), 1);
  }
}

}  // namespace

void Histogram::observe(double v) {
  if (counts.empty()) counts.assign(bounds->size(), 0);
  for (std::size_t i = 0; i < bounds->size(); ++i) {
    if (v <= (*bounds)[i]) {
      ++counts[i];
      break;
    }
  }
  sum += v;
  ++count;
}

Metrics::Metrics() : lateness_(&kLatenessBounds) {}

Metrics::Job& Metrics::job_locked(const std::string& name) {
  auto [it, fresh] = jobs_.try_emplace(name);
  if (fresh) it->second.duration = Histogram(&kDurationBounds);
  return it->second;
}

void Metrics::on_event(const RunEvent& e) {
  std::lock_guard g(mu_);
  switch (e.kind) {
    case RunEventKind::finished: {
      if (!e.state) return;
      Job& j = job_locked(e.job);
      ++j.runs[std::string(to_string(*e.state))];
      if (e.started_at != std::chrono::system_clock::time_point{}) {
        j.duration.observe(std::chrono::duration<double>(e.duration).count());
      }
      if (*e.state == RunState::succeeded) {
        j.last_success = unix_seconds(std::chrono::system_clock::now());
      }
      return;
    }
    case RunEventKind::started:
      lateness_.observe(std::max(0.0, unix_seconds(e.started_at) - static_cast<double>(e.scheduled_at.time_since_epoch().count())));
      return;
    case RunEventKind::missed:
      ++job_locked(e.job).missed;
      return;
    case RunEventKind::claimed: ++claims_["won"]; return;
    case RunEventKind::claim_taken: ++claims_["taken"]; return;
    case RunEventKind::skipped_overlap: ++claims_["overlap_skipped"]; return;
    case RunEventKind::too_early: ++claims_["too_early"]; return;
    case RunEventKind::not_claimed: ++claims_["not_claimed"]; return;
    default: return;
  }
}

void Metrics::on_call(std::string_view op, std::chrono::nanoseconds took, detail::CallOutcome outcome) {
  std::lock_guard g(mu_);
  auto [it, fresh] = store_calls_.try_emplace(std::string(op));
  if (fresh) it->second = Histogram(&kStoreBounds);
  it->second.observe(std::chrono::duration<double>(took).count());
  if (op == "renew_node") {
    ++renewals_[outcome == detail::CallOutcome::ok ? "renewed" : outcome == detail::CallOutcome::refused ? "lost" : "error"];
  }
}

void Metrics::set_config_errors(std::size_t n) {
  std::lock_guard g(mu_);
  config_errors_ = n;
}

std::string Metrics::render(const Scheduler* s) const {
  std::string out;
  {
    std::lock_guard g(mu_);
    family(out, "solocron_runs_total", "counter", "Runs of this node that ended, by job and final state.");
    for (const auto& [name, j] : jobs_) {
      for (const auto& [state, n] : j.runs) {
        sample(out, "solocron_runs_total", label("job", name) + "," + label("state", state), static_cast<double>(n));
      }
    }
    family(out, "solocron_run_duration_seconds", "histogram", "How long this node's runs took, by job.");
    for (const auto& [name, j] : jobs_) {
      if (j.duration.count > 0) histogram(out, "solocron_run_duration_seconds", label("job", name), j.duration);
    }
    family(out, "solocron_last_success_timestamp_seconds", "gauge",
           "When a run of the job last succeeded on this node (unix time).");
    for (const auto& [name, j] : jobs_) {
      if (j.last_success) sample(out, "solocron_last_success_timestamp_seconds", label("job", name), *j.last_success);
    }
    family(out, "solocron_missed_total", "counter", "Occurrences this node recorded missed, by job.");
    for (const auto& [name, j] : jobs_) {
      if (j.missed) sample(out, "solocron_missed_total", label("job", name), static_cast<double>(j.missed));
    }
    family(out, "solocron_fire_lateness_seconds", "histogram",
           "From an occurrence's scheduled instant to the start of its run on this node (jitter included).");
    histogram(out, "solocron_fire_lateness_seconds", "", lateness_);
    family(out, "solocron_claims_total", "counter", "This node's claims, by outcome.");
    for (const char* outcome : {"won", "taken", "overlap_skipped", "too_early", "not_claimed"}) {
      auto it = claims_.find(outcome);
      sample(out, "solocron_claims_total", label("outcome", outcome), it == claims_.end() ? 0 : static_cast<double>(it->second));
    }
    family(out, "solocron_store_call_duration_seconds", "histogram", "Store calls of this node, by operation.");
    for (const auto& [op, h] : store_calls_) histogram(out, "solocron_store_call_duration_seconds", label("op", op), h);
    family(out, "solocron_lease_renewals_total", "counter", "Renewals of this node's lease, by result.");
    for (const char* result : {"renewed", "lost", "error"}) {
      auto it = renewals_.find(result);
      sample(out, "solocron_lease_renewals_total", label("result", result), it == renewals_.end() ? 0 : static_cast<double>(it->second));
    }
    family(out, "solocron_config_errors", "gauge", "Errors in the configuration last read (jobs with errors are not run).");
    sample(out, "solocron_config_errors", "", static_cast<double>(config_errors_));
  }
  const bool ready = s != nullptr && s->ready();
  family(out, "solocron_node_ready", "gauge", "1 while the node holds its lease and reaches the store.");
  sample(out, "solocron_node_ready", "", ready ? 1 : 0);
  family(out, "solocron_ready", "gauge", "The same as solocron_node_ready (the name of earlier versions).");
  sample(out, "solocron_ready", "", ready ? 1 : 0);
  scheduler_counters(out, s ? s->statistics() : Statistics{});
  if (s) job_facts(out, *s);
  family(out, "solocron_build_info", "gauge", "The version of this solocron binary.");
  sample(out, "solocron_build_info", label("version", kVersion), 1);
  return out;
}

}  // namespace solocron::cli
