// Node settings: the identity and timing of one solocron process in a cluster.
//
// Defaults are those of the cluster contract (docs/cluster.md). They are validated once, when
// the scheduler is constructed, with messages that name the setting and the numbers
// ("node_ttl (3s) must be greater than heartbeat (1s) + store_call_deadline (2s)").
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "solocron/hooks.hpp"

namespace solocron {

struct NodeSettings {
  std::string node_id;  // empty: the host name
  std::string default_time_zone = "UTC";
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds node_ttl{5000};
  // Deadline of each lease call (register, renew) on the lease's own store connection. A
  // renewal cycle (wait heartbeat, then a call that may take this long) must fit in node_ttl.
  std::chrono::milliseconds store_call_deadline{2000};
  std::chrono::milliseconds max_clock_skew{2000};
  std::chrono::milliseconds shutdown_grace{25000};
  std::size_t max_concurrent_runs = 64;
  // Retention of history records, per job.
  std::size_t history_keep_last = 1000;
  std::optional<std::chrono::seconds> history_max_age{};
  // Notifications for every job that does not set its own (a job's hook replaces the default).
  Hooks hooks{};
};

// Returns a message naming the first invalid setting, or nullopt.
std::optional<std::string> validate(const NodeSettings& settings);

}  // namespace solocron
