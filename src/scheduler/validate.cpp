// Validation of node settings and job names, with messages that name the setting and quote
// the value (the client-go style: "node_ttl (1s) must be greater than heartbeat (1s)").
#include <absl/time/time.h>

#include <string>

#include "cron/duration.hpp"
#include "solocron/job.hpp"
#include "scheduler/notifier.hpp"
#include "solocron/node.hpp"

namespace solocron {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool is_valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string text(std::chrono::milliseconds d) { return detail::format_duration(d); }

}  // namespace

std::optional<std::string> validate_job_name(const std::string& name) {
  if (is_valid_name(name)) return std::nullopt;
  return "job name \"" + name + "\" must match [A-Za-z0-9_.-]{1,128}";
}

std::optional<std::string> validate(const NodeSettings& s) {
  using std::chrono::milliseconds;
  if (!s.node_id.empty() && !is_valid_name(s.node_id)) {
    return "node_id \"" + s.node_id + "\" must match [A-Za-z0-9_.-]{1,128}";
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(s.default_time_zone, &tz)) {
    return "default_time_zone \"" + s.default_time_zone + "\" is not a known IANA time zone";
  }
  if (s.heartbeat <= milliseconds(0)) {
    return "heartbeat (" + text(s.heartbeat) + ") must be positive";
  }
  if (s.store_call_deadline <= milliseconds(0)) {
    return "store_call_deadline (" + text(s.store_call_deadline) + ") must be positive";
  }
  if (s.node_ttl <= s.heartbeat + s.store_call_deadline) {
    return "node_ttl (" + text(s.node_ttl) + ") must be greater than heartbeat (" +
           text(s.heartbeat) + ") + store_call_deadline (" + text(s.store_call_deadline) + ")";
  }
  if (s.max_clock_skew < milliseconds(0)) {
    return "max_clock_skew (" + text(s.max_clock_skew) + ") must not be negative";
  }
  if (s.shutdown_grace < milliseconds(0)) {
    return "shutdown_grace (" + text(s.shutdown_grace) + ") must not be negative";
  }
  if (s.max_concurrent_runs < 1) {
    return "max_concurrent_runs (" + std::to_string(s.max_concurrent_runs) + ") must be at least 1";
  }
  if (s.history_keep_last < 1) {
    return "history_keep_last (" + std::to_string(s.history_keep_last) + ") must be at least 1";
  }
  if (s.history_max_age && s.history_max_age->count() <= 0) {
    return "history_max_age (" + text(*s.history_max_age) + ") must be positive";
  }
  if (auto e = detail::hooks_error(s.hooks)) return "hooks." + *e;
  return std::nullopt;
}

}  // namespace solocron
