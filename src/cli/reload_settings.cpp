#include "cli/reload_settings.hpp"

namespace solocron::cli {

SettingsChange compare_node_settings(const detail::Config& running, const detail::Config& loaded) {
  SettingsChange out;
  auto check = [&](const char* name, bool same, bool live) {
    if (!same) (live ? out.applied : out.need_restart).push_back(name);
  };
  const NodeSettings& a = running.node;
  const NodeSettings& b = loaded.node;
  check("id", a.node_id == b.node_id, false);
  check("store", running.store_url == loaded.store_url, false);
  check("http", running.http_address == loaded.http_address, false);
  check("log_format", running.log_format == loaded.log_format, false);
  check("log_level", running.log_level == loaded.log_level, true);
  check("time_zone", a.default_time_zone == b.default_time_zone, true);
  check("heartbeat", a.heartbeat == b.heartbeat, false);
  check("node_ttl", a.node_ttl == b.node_ttl, false);
  check("store_call_deadline", a.store_call_deadline == b.store_call_deadline, false);
  check("max_clock_skew", a.max_clock_skew == b.max_clock_skew, false);
  check("shutdown_grace", a.shutdown_grace == b.shutdown_grace, false);
  check("max_concurrent_runs", a.max_concurrent_runs == b.max_concurrent_runs, false);
  check("history_keep_last", a.history_keep_last == b.history_keep_last, false);
  check("history_max_age", a.history_max_age == b.history_max_age, false);
  return out;
}

}  // namespace solocron::cli
