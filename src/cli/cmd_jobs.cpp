// `solocron jobs`: the cluster's jobs from the store, without a local file: the definitions the
// live nodes published, next fire, last result, paused, which nodes run each, and drift.
#include <iostream>

#include "cli/cluster_jobs.hpp"
#include "cli/record_format.hpp"
#include "cli/user_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

std::optional<RunRecord> last_record(Store& store, const std::string& job) {
  HistoryQuery q;
  q.job = job;
  q.limit = 1;
  auto records = store.history(q);
  if (records.empty()) return std::nullopt;
  return records.front();
}

nlohmann::json job_json(const ClusterJob& j, const std::optional<RunRecord>& last, std::chrono::sys_seconds now) {
  const auto next = j.next_fire(now);
  nlohmann::json defs = nlohmann::json::array();
  for (const auto& d : j.definitions) {
    defs.push_back({{"fingerprint", d.fingerprint}, {"nodes", d.nodes}, {"definition", d.definition}});
  }
  const auto& first = j.definitions.front().definition;
  return {{"job", j.name},
          {"schedule", first.value("schedule", std::string())},
          {"time_zone", first.value("time_zone", std::string())},
          {"next", next ? nlohmann::json(*next) : nlohmann::json(nullptr)},
          {"paused", j.paused()},
          {"nodes", j.nodes()},
          {"drift", j.drift()},
          {"last", last ? to_json(*last) : nlohmann::json(nullptr)},
          {"definitions", defs}};
}

}  // namespace

void print_jobs(Store& store, bool json) {
  const auto jobs = cluster_jobs(store);
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::sys_time<std::chrono::milliseconds>(store.now()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& j : jobs) out.push_back(job_json(j, last_record(store, j.name), now));
    std::cout << dump_json(out) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"JOB", "SCHEDULE", "NEXT", "LAST", "NODES", "DRIFT"}};
  for (const auto& j : jobs) {
    const auto& d = j.definitions.front().definition;
    const std::string schedule = d.value("schedule", std::string()) + " (" + d.value("time_zone", std::string()) + ")";
    const auto last = last_record(store, j.name);
    const std::string last_text =
        last ? std::string(to_string(last->state)) + " " + format_rfc3339(last->key.scheduled_at, "UTC", true) : "-";
    const std::string drift =
        j.drift() ? std::to_string(j.definitions.size()) + " definitions" : "-";
    rows.push_back({j.name, text_line(schedule), j.paused() ? "paused" : j.next_fire(now).value_or("-"), last_text,
                    joined(j.nodes()), drift});
  }
  std::cout << render_table(rows);
}

}  // namespace solocron::cli
