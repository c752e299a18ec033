// What a reload (SIGHUP) does with changed node settings.
//
// Jobs are reloaded in place; most node settings are not: the store, the node id, the HTTP
// address, the log format and the scheduler's timing are fixed when the node starts. A reload
// applies the two that can change live (log_level; time_zone, which the reloaded jobs are
// read in) and names the others in a `reload` warning, keeping their running values.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace solocron::cli {

struct SettingsChange {
  std::vector<std::string> applied;       // e.g. "log_level"
  std::vector<std::string> need_restart;  // e.g. "store", "http"
};

// Both configurations with the command line's overrides applied (those win in both, so an
// overridden setting never counts as changed).
SettingsChange compare_node_settings(const detail::Config& running, const detail::Config& loaded);

}  // namespace solocron::cli
