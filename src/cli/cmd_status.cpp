// `solocron status`: the cluster at a glance: nodes with their lease age, and per job the next
// fire time (when the configuration is given) and the latest recorded occurrence.
#include <iostream>
#include <set>

#include "cli/record_format.hpp"
#include "config/config.hpp"
#include "cron/duration.hpp"
#include "solocron/clock.hpp"

namespace solocron::cli {

namespace {

struct JobLine {
  std::string name;
  std::optional<std::string> next;  // RFC 3339 in the job's zone
  std::optional<RunRecord> last;
};

std::vector<JobLine> collect_jobs(Store& store, const std::string& config_path) {
  std::vector<JobLine> lines;
  if (!config_path.empty()) {
    auto load = detail::load_config_file(config_path);
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    for (const auto& job : load.config.jobs) {
      JobLine line{job.name, std::nullopt, std::nullopt};
      if (auto n = job.schedule.next(now)) line.next = format_rfc3339(*n, job.schedule.time_zone());
      lines.push_back(std::move(line));
    }
  } else {
    // Without a configuration the store's recent history names the jobs.
    std::set<std::string> seen;
    HistoryQuery recent;
    recent.limit = 10000;
    for (const auto& r : store.history(recent)) {
      if (seen.insert(r.key.job).second) lines.push_back(JobLine{r.key.job, std::nullopt, std::nullopt});
    }
  }
  for (auto& line : lines) {
    HistoryQuery latest;
    latest.job = line.name;
    latest.limit = 1;
    auto recent = store.history(latest);
    if (!recent.empty()) line.last = recent.front();
  }
  return lines;
}

}  // namespace

void print_status(Store& store, const std::string& config_path, bool json) {
  auto nodes = store.nodes();
  StoreTime now = store.now();
  auto jobs = collect_jobs(store, config_path);
  if (json) {
    nlohmann::json out{{"store", store.describe()}, {"store_time", format_store_time(now)},
                       {"nodes", nlohmann::json::array()}, {"jobs", nlohmann::json::array()}};
    for (const auto& n : nodes) out["nodes"].push_back(to_json(n, now));
    for (const auto& j : jobs) {
      out["jobs"].push_back({{"job", j.name},
                             {"next", j.next ? nlohmann::json(*j.next) : nlohmann::json(nullptr)},
                             {"last", j.last ? to_json(*j.last) : nlohmann::json(nullptr)}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "store: " << store.describe() << "\n\n";
  std::vector<std::vector<std::string>> node_rows = {{"NODE", "STATE", "LEASE_AGE"}};
  for (const auto& n : nodes) {
    node_rows.push_back({n.node_id, n.live ? "live" : "expired",
                         detail::format_duration(now - n.renewed_at)});
  }
  std::cout << render_table(node_rows) << "\n";
  std::vector<std::vector<std::string>> job_rows = {{"JOB", "NEXT", "LAST_SCHEDULED", "LAST_STATE", "ON"}};
  for (const auto& j : jobs) {
    job_rows.push_back({j.name, j.next.value_or("-"),
                        j.last ? format_rfc3339(j.last->key.scheduled_at, "UTC", true) : "-",
                        j.last ? std::string(to_string(j.last->state)) : "-",
                        j.last && !j.last->node.empty() ? j.last->node : "-"});
  }
  std::cout << render_table(job_rows);
}

}  // namespace solocron::cli
