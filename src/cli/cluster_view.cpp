#include "cli/cluster_view.hpp"

#include <map>
#include <tuple>

#include "cli/cluster_ops.hpp"
#include "cli/record_format.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

using std::chrono::sys_seconds;

constexpr int kNextFires = 5;
constexpr std::size_t kNotRunShown = 20;

std::vector<RunRecord> newest_records(Store& store, const std::string& job, std::size_t limit,
                                      std::vector<RunState> states = {}) {
  HistoryQuery q;
  q.job = job;
  q.limit = limit;
  q.states = std::move(states);
  return store.history(q);
}

// One outcome at a glance: enough for a coloured square and its tooltip.
nlohmann::json outcome_json(const RunRecord& r) {
  nlohmann::json j = to_json(r);
  return {{"scheduled_at", j["scheduled_at"]}, {"state", j["state"]},     {"attempt", j["attempt"]},
          {"trigger", j["trigger"]},           {"node", j["node"]},       {"occurrence_node", j["occurrence_node"]},
          {"duration_ms", j["duration_ms"]}};
}

// An occurrence's identity as a map key (OccurrenceKey has no order).
using OccurrenceId = std::tuple<std::string, std::string, std::int64_t, std::int64_t>;
OccurrenceId id_of(const OccurrenceKey& k) {
  return {k.job, k.node, k.request, k.scheduled_at.time_since_epoch().count()};
}

}  // namespace

nlohmann::json job_summary_json(Store& store, const ClusterJob& job, sys_seconds now) {
  const nlohmann::json& d = job.definitions.front().definition;
  const std::string zone = d.value("time_zone", std::string("UTC"));
  const auto schedule = schedule_of(job.definitions.front());
  const auto next = job.paused() ? std::nullopt : job.next_fire_at(now);
  const auto records = newest_records(store, job.name, kRecentOutcomes);
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& r : records) recent.push_back(outcome_json(r));
  return {{"job", job.name},
          {"schedule", d.value("schedule", std::string())},
          {"time_zone", zone},
          {"description", schedule ? nlohmann::json(schedule->description()) : nlohmann::json(nullptr)},
          {"next", next ? nlohmann::json(format_rfc3339(*next, "UTC", true)) : nlohmann::json(nullptr)},
          {"next_in_zone", next ? nlohmann::json(format_rfc3339(*next, zone)) : nlohmann::json(nullptr)},
          {"paused", job.paused()},
          {"drift", job.drift()},
          {"nodes", job.nodes()},
          {"run_on", d.value("run_on", std::string("once"))},
          {"last", records.empty() ? nlohmann::json(nullptr) : to_json(records.front())},
          {"recent", std::move(recent)}};
}

nlohmann::json job_detail_json(Store& store, const ClusterJob& job, sys_seconds now) {
  nlohmann::json out = job_summary_json(store, job, now);
  const std::string zone = out["time_zone"];
  nlohmann::json fires = nlohmann::json::array(), fires_in_zone = nlohmann::json::array();
  if (auto schedule = schedule_of(job.definitions.front()); schedule && !job.paused()) {
    auto t = schedule->next(now);
    for (int i = 0; i < kNextFires && t; ++i, t = schedule->next(*t)) {
      fires.push_back(format_rfc3339(*t, "UTC", true));
      fires_in_zone.push_back(format_rfc3339(*t, zone));
    }
  }
  out["next_fires"] = std::move(fires);
  out["next_fires_in_zone"] = std::move(fires_in_zone);
  out["control"] = control_json(control_of(store, job.name));
  out["definitions"] = nlohmann::json::array();
  for (const auto& d : job.definitions) {
    out["definitions"].push_back({{"fingerprint", d.fingerprint}, {"nodes", d.nodes}, {"definition", d.definition}});
  }
  out["not_run"] = nlohmann::json::array();
  for (const auto& r : newest_records(store, job.name, kNotRunShown,
                                      {RunState::missed, RunState::skipped_overlap, RunState::paused})) {
    out["not_run"].push_back(to_json(r));
  }
  return out;
}

std::vector<std::vector<RunRecord>> earlier_attempts_of(Store& store,
                                                        const std::vector<RunRecord>& records) {
  std::vector<std::vector<RunRecord>> out(records.size());
  std::vector<OccurrenceKey> keys;
  for (const auto& r : records) {
    if (r.attempt > 1) keys.push_back(r.key);
  }
  if (keys.empty()) return out;
  std::map<OccurrenceId, std::vector<RunRecord>> by_id;
  for (RunRecord& a : store.earlier_attempts(keys)) by_id[id_of(a.key)].push_back(std::move(a));
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (auto it = by_id.find(id_of(records[i].key)); it != by_id.end()) out[i] = std::move(it->second);
  }
  return out;
}

nlohmann::json history_json(Store& store, const std::vector<RunRecord>& records) {
  const auto earlier = earlier_attempts_of(store, records);
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < records.size(); ++i) {
    nlohmann::json j = to_json(records[i]);
    j["earlier_attempts"] = nlohmann::json::array();
    for (const auto& a : earlier[i]) j["earlier_attempts"].push_back(to_json(a));
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json nodes_json(Store& store) {
  const auto leases = store.nodes();
  const StoreTime now = store.now();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : leases) {
    nlohmann::json j = to_json(n, now);
    j["active_runs"] = store.active_runs(n.node_id).size();
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace solocron::cli
