// `solocron status`: the cluster at a glance: nodes with their lease age, and per job the next
// fire time, whether it is paused, and the latest recorded occurrence (for run_on: every_node
// jobs, the latest of each node). The jobs are those of the configuration when one is given,
// else the cluster's job set that the live nodes published (then jobs only the history still
// names). Every time is shown as history shows it: RFC 3339 in UTC with Z.
#include <iostream>
#include <map>
#include <set>

#include "cli/cluster_jobs.hpp"
#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
#include "config/config.hpp"
#include "cron/duration.hpp"
#include "solocron/clock.hpp"

namespace solocron::cli {

namespace {

// Records read to find the latest occurrence of each node of a per-node job.
constexpr std::size_t kPerNodeScan = 1000;

struct JobLine {
  std::string name;
  std::optional<bool> paused;          // unknown without the configuration
  std::optional<std::string> next;     // RFC 3339 UTC
  std::string time_zone;               // the schedule's zone, when known
  std::optional<RunRecord> last;       // the newest record of the job
  std::vector<RunRecord> last_by_node;  // per-node jobs: the newest record of each node
  std::optional<bool> drift;            // known from the cluster's job set
};

std::vector<JobLine> jobs_of_config(const std::string& config_path, const detail::ConfigLimits& limits) {
  std::vector<JobLine> lines;
  auto load = detail::load_config_file(config_path, limits);
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const auto& job : load.config.jobs) {
    JobLine line{job.name, job.paused, std::nullopt, job.schedule.time_zone(), std::nullopt, {}, {}};
    if (!job.paused) {
      if (auto n = job.schedule.next(now)) line.next = format_rfc3339(*n, "UTC", true);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

HistoryQuery newest_first(std::optional<std::string> job, std::size_t limit) {
  HistoryQuery q;
  q.job = std::move(job);
  q.limit = limit;
  return q;
}

// Without a configuration: the jobs the live nodes published, then those that only the
// store's recent history names (no live node has them any more).
std::vector<JobLine> jobs_of_cluster(Store& store) {
  std::vector<JobLine> lines;
  std::set<std::string> seen;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  for (const ClusterJob& j : cluster_jobs(store)) {
    seen.insert(j.name);
    const bool paused = j.paused();
    JobLine line{j.name, paused, paused ? std::nullopt : j.next_fire(now),
                 j.definitions.front().definition.value("time_zone", std::string()), std::nullopt, {}, j.drift()};
    lines.push_back(std::move(line));
  }
  for (const auto& r : store.history(newest_first(std::nullopt, 10000))) {
    if (seen.insert(r.key.job).second) lines.push_back(JobLine{r.key.job, std::nullopt, std::nullopt, "", std::nullopt, {}, {}});
  }
  return lines;
}

void add_records(Store& store, JobLine& line) {
  auto recent = store.history(newest_first(line.name, 1));
  if (recent.empty()) return;
  line.last = recent.front();
  if (line.last->key.node.empty()) return;
  // A per-node occurrence: the newest record of every node that has one.
  std::map<std::string, RunRecord> newest;
  for (auto& r : store.history(newest_first(line.name, kPerNodeScan))) {
    newest.try_emplace(r.key.node, std::move(r));
  }
  for (auto& [node, r] : newest) line.last_by_node.push_back(std::move(r));
}

nlohmann::json job_json(const JobLine& j) {
  nlohmann::json out{{"job", j.name},
                     {"paused", j.paused ? nlohmann::json(*j.paused) : nlohmann::json(nullptr)},
                     {"next", j.next ? nlohmann::json(*j.next) : nlohmann::json(nullptr)},
                     {"time_zone", j.time_zone.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.time_zone)},
                     {"last", j.last ? to_json(*j.last) : nlohmann::json(nullptr)},
                     {"drift", j.drift ? nlohmann::json(*j.drift) : nlohmann::json(nullptr)}};
  if (!j.last_by_node.empty()) {
    out["last_by_node"] = nlohmann::json::array();
    for (const auto& r : j.last_by_node) out["last_by_node"].push_back(to_json(r));
  }
  return out;
}

std::vector<std::string> job_row(const JobLine& j, const RunRecord* r) {
  std::string next = j.paused.value_or(false) ? "paused" : j.next.value_or("-");
  if (r == nullptr) return {j.name, next, "-", "-", "-"};
  const std::string& on = !r->key.node.empty() ? r->key.node : r->node;
  return {j.name, next, format_rfc3339(r->key.scheduled_at, "UTC", true),
          std::string(to_string(r->state)), on.empty() ? "-" : on};
}

}  // namespace

void print_status(Store& store, const std::string& config_path, const detail::ConfigLimits& limits,
                  bool json) {
  auto nodes = store.nodes();
  StoreTime now = store.now();
  auto jobs = config_path.empty() ? jobs_of_cluster(store) : jobs_of_config(config_path, limits);
  for (auto& line : jobs) add_records(store, line);
  if (json) {
    nlohmann::json out{{"store", store.describe()}, {"store_time", format_store_time(now)},
                       {"nodes", nlohmann::json::array()}, {"jobs", nlohmann::json::array()}};
    for (const auto& n : nodes) out["nodes"].push_back(to_json(n, now));
    for (const auto& j : jobs) out["jobs"].push_back(job_json(j));
    std::cout << dump_json(out) << "\n";
    return;
  }
  std::cout << "store: " << text_line(store.describe()) << "\n\n";
  std::vector<std::vector<std::string>> node_rows = {{"NODE", "STATE", "LEASE_AGE"}};
  for (const auto& n : nodes) {
    node_rows.push_back({n.node_id, n.live ? "live" : "expired",
                         detail::format_duration(now - n.renewed_at)});
  }
  std::cout << render_table(node_rows) << "\n";
  std::vector<std::vector<std::string>> job_rows = {{"JOB", "NEXT", "LAST_SCHEDULED", "LAST_STATE", "ON"}};
  for (const auto& j : jobs) {
    if (j.last_by_node.empty()) {
      job_rows.push_back(job_row(j, j.last ? &*j.last : nullptr));
    } else {
      for (const auto& r : j.last_by_node) job_rows.push_back(job_row(j, &r));
    }
  }
  std::cout << render_table(job_rows);
}

}  // namespace solocron::cli
