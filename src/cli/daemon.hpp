// `solocron run`: one node of the cluster, driven by a YAML file, until SIGTERM.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace solocron::cli {

struct DaemonOptions {
  std::string config_path;
  std::optional<std::string> store_url;  // --store; overrides SOLOCRON_STORE and node.store
  std::string node_id;       // overrides node.id
  std::string http_address;  // overrides node.http
  std::string api_tokens_file;  // overrides node.api_tokens_file
  detail::ConfigLimits limits;
};

// Returns the process exit status: 0 after a clean shutdown (also when SIGTERM/SIGINT came
// during start-up), 1 when the node cannot run (the store failed in a way that is not a
// configuration error, the node id is held by another live process), 2 for an unusable
// configuration, store URL, node id or HTTP address.
int run_daemon(const DaemonOptions& options);

}  // namespace solocron::cli
