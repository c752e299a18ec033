// `solocron run`: one node of the cluster, driven by a YAML file, until SIGTERM.
#pragma once

#include <string>

namespace solocron::cli {

struct DaemonOptions {
  std::string config_path;
  std::string store_url;  // overrides node.store
  std::string node_id;    // overrides node.id
  std::string http_address;  // overrides node.http
};

// Returns the process exit status: 0 after a clean shutdown, 1 when the node cannot run
// (store unusable, node id held by another live process), 2 for an unusable configuration.
int run_daemon(const DaemonOptions& options);

}  // namespace solocron::cli
