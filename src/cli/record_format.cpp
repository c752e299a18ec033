#include "cli/record_format.hpp"

#include <absl/time/time.h>

#include <algorithm>

#include "cli/user_text.hpp"
#include "solocron/cron.hpp"

namespace solocron::cli {

namespace {

template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json time_json(const std::optional<StoreTime>& t) {
  return t ? nlohmann::json(format_store_time(*t)) : nlohmann::json(nullptr);
}

}  // namespace

std::string format_store_time(StoreTime t) {
  absl::Time at = absl::FromUnixMillis(t.time_since_epoch().count());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone());
}

nlohmann::json to_json(const RunRecord& r) {
  // Who asked, for a run asked for or backfilled (a retry keeps its occurrence's asker).
  const bool asked = r.key.request != 0 || !r.requested_by.empty();
  return nlohmann::json{
      {"job", r.key.job},
      {"scheduled_at", format_rfc3339(r.key.scheduled_at, "UTC", true)},
      {"occurrence_node", r.key.node.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.key.node)},
      {"state", std::string(to_string(r.state))},
      {"node", r.node.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.node)},
      {"fence", r.fence != 0 ? nlohmann::json(r.fence) : nlohmann::json(nullptr)},
      {"attempt", r.attempt},
      {"claimed_at", time_json(r.claimed_at)},
      {"started_at", time_json(r.started_at)},
      {"finished_at", time_json(r.finished_at)},
      {"duration_ms", r.started_at && r.finished_at
                          ? nlohmann::json((*r.finished_at - *r.started_at).count())
                          : nlohmann::json(nullptr)},
      {"exit_code", optional_json(r.exit_code)},
      {"signal", optional_json(r.signal)},
      {"output_tail", json_text(r.output_tail)},
      {"message", json_text(r.message)},
      {"trigger", std::string(to_string(r.trigger))},
      {"request", r.key.request != 0 ? nlohmann::json(r.key.request) : nlohmann::json(nullptr)},
      {"requested_by", asked ? nlohmann::json(json_text(r.requested_by)) : nlohmann::json(nullptr)},
      {"note", asked ? nlohmann::json(json_text(r.note)) : nlohmann::json(nullptr)},
  };
}

nlohmann::json to_json(const NodeLease& lease, StoreTime store_now) {
  auto age_ms = (store_now - lease.renewed_at).count();
  return nlohmann::json{
      {"node", lease.node_id},
      {"live", lease.live},
      {"registered_at", format_store_time(lease.registered_at)},
      {"renewed_at", format_store_time(lease.renewed_at)},
      {"expires_at", format_store_time(lease.expires_at)},
      {"lease_age_ms", age_ms},
      {"version", lease.version},
  };
}

std::string render_table(const std::vector<std::vector<std::string>>& raw_rows) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : raw_rows) {
    auto& cells = rows.emplace_back();
    for (const auto& cell : row) cells.push_back(text_line(cell));
  }
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace solocron::cli
