#include "cli/cluster_jobs.hpp"

#include <algorithm>
#include <map>

#include "cli/operation_error.hpp"
#include "solocron/clock.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

std::vector<std::string> ClusterJob::nodes() const {
  std::vector<std::string> out;
  for (const auto& d : definitions) out.insert(out.end(), d.nodes.begin(), d.nodes.end());
  std::sort(out.begin(), out.end());
  return out;
}

bool ClusterJob::paused() const {
  return std::all_of(definitions.begin(), definitions.end(),
                     [](const JobDefinition& d) { return d.definition.value("paused", false); });
}

std::optional<Schedule> schedule_of(const JobDefinition& d) {
  ParseOptions options;
  options.time_zone = d.definition.value("time_zone", std::string("UTC"));
  auto schedule = Schedule::parse(d.definition.value("schedule", std::string()), options);
  if (!schedule) return std::nullopt;
  return std::move(*schedule);
}

std::optional<std::chrono::sys_seconds> ClusterJob::next_fire_at(std::chrono::sys_seconds now) const {
  std::optional<std::chrono::sys_seconds> best;
  for (const auto& d : definitions) {
    if (d.definition.value("paused", false)) continue;
    auto schedule = schedule_of(d);
    if (!schedule) continue;  // a zone this host does not know: nothing to say
    if (auto n = schedule->next(now); n && (!best || *n < *best)) best = *n;
  }
  return best;
}

std::optional<std::string> ClusterJob::next_fire(std::chrono::sys_seconds now) const {
  const auto best = next_fire_at(now);
  if (!best) return std::nullopt;
  return format_rfc3339(*best, "UTC", true);
}

std::map<std::string, std::vector<PublishedJobRow>> published_by_job(Store& store) {
  std::map<std::string, std::vector<PublishedJobRow>> out;
  for (PublishedJobRow& row : store.published_jobs()) out[row.job.job].push_back(std::move(row));
  return out;
}

ClusterJob cluster_job_of(const std::string& name, const std::vector<PublishedJobRow>& rows) {
  std::map<std::string, JobDefinition> defs;  // by fingerprint
  for (const PublishedJobRow& row : rows) {
    JobDefinition& d = defs[row.job.fingerprint];
    if (d.fingerprint.empty()) {
      d.fingerprint = row.job.fingerprint;
      d.definition = nlohmann::json::parse(row.job.definition, nullptr, false);
    }
    d.nodes.push_back(row.node_id);
  }
  ClusterJob job{name, {}};
  for (auto& [fp, d] : defs) job.definitions.push_back(std::move(d));
  std::stable_sort(job.definitions.begin(), job.definitions.end(),
                   [](const JobDefinition& a, const JobDefinition& b) { return a.nodes.size() > b.nodes.size(); });
  return job;
}

std::vector<ClusterJob> cluster_jobs(Store& store) {
  std::vector<ClusterJob> out;
  for (const auto& [name, rows] : published_by_job(store)) out.push_back(cluster_job_of(name, rows));
  return out;
}

ClusterJob cluster_job(Store& store, const std::string& job) {
  const auto all = published_by_job(store);
  if (auto it = all.find(job); it != all.end()) return cluster_job_of(job, it->second);
  throw OperationError(OperationError::Kind::not_found,
                       "no live node has a job named \"" + job +
                       "\" (`solocron jobs` lists the cluster's jobs); nothing was changed");
}

}  // namespace solocron::cli
