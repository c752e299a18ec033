#include "cli/commands.hpp"
#include "cli/daemon.hpp"

namespace solocron::cli {

int run_check(const std::string& path);

void register_daemon_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DaemonOptions>();
  auto* run = app.add_subcommand("run", "Run a node: fire the jobs of a configuration file until SIGTERM");
  run->add_option("--config", opts->config_path, "The YAML configuration file")->required();
  run->add_option("--store", opts->store_url, "Store URL; overrides node.store");
  run->add_option("--node-id", opts->node_id, "This node's id; overrides node.id");
  run->add_option("--http", opts->http_address,
                  "Serve /healthz, /readyz and /metrics on HOST:PORT; overrides node.http");
  run->callback([opts, &exit_code] { exit_code = run_daemon(*opts); });

  auto* check = app.add_subcommand("check", "Validate a configuration file and show each job's next fire times");
  auto path = std::make_shared<std::string>();
  check->add_option("config", *path, "The YAML configuration file")->required();
  check->callback([path, &exit_code] { exit_code = run_check(*path); });
}

}  // namespace solocron::cli
