// Notifications: what runs when a job fails, misses or succeeds. Each event is notified once
// across the cluster: by the node whose store write recorded it, never by every node.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace solocron {

// A command (argv, no shell) or a webhook (the event's record POSTed as JSON). A failed
// delivery (exit status not 0, no 2xx answer) is retried with backoff, then given up and logged.
struct HookSpec {
  std::vector<std::string> command{};
  std::string url{};  // http:// or https://
  std::map<std::string, std::string> headers{};
  std::string ca_file{};  // PEM bundle for an https url (empty: the system's CAs)
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // per attempt
  bool operator==(const HookSpec&) const = default;
};

struct Hooks {
  std::optional<HookSpec> on_failure{};  // failed, timed_out or lost
  std::optional<HookSpec> on_missed{};   // missed (late, misfire, no free slot in time)
  std::optional<HookSpec> on_success{};  // succeeded
  bool empty() const { return !on_failure && !on_missed && !on_success; }
  bool operator==(const Hooks&) const = default;
};

}  // namespace solocron
