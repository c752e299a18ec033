// Validation of names and node settings, shared by the configuration and the library API.
#include <string>

#include "config/duration.hpp"
#include "solocron/job.hpp"
#include "solocron/node.hpp"

namespace solocron {

std::optional<std::string> validate_job_name(const std::string& name) {
  if (name.empty() || name.size() > 128) {
    return "\"" + name + "\" must be 1 to 128 characters of A-Z a-z 0-9 _ . -";
  }
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return "\"" + name + "\" contains '" + std::string(1, c) +
             "': a name is 1 to 128 characters of A-Z a-z 0-9 _ . -";
    }
  }
  return std::nullopt;
}

std::optional<std::string> validate(const NodeSettings& s) {
  using detail::format_duration;
  if (s.heartbeat <= std::chrono::milliseconds(0)) return "heartbeat must be greater than 0";
  if (s.node_ttl <= s.heartbeat) {
    return "node_ttl (" + format_duration(s.node_ttl) + ") must be greater than heartbeat (" +
           format_duration(s.heartbeat) + ")";
  }
  if (s.max_clock_skew < std::chrono::milliseconds(0)) return "max_clock_skew must not be negative";
  if (s.max_concurrent_runs == 0) return "max_concurrent_runs must be at least 1";
  if (s.history_keep_last == 0) return "history_keep_last must be at least 1";
  return std::nullopt;
}

}  // namespace solocron
