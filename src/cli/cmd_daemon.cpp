#include "cli/commands.hpp"
#include "cli/daemon.hpp"
#include "cli/store_options.hpp"

namespace solocron::cli {

int run_check(const std::string& path, const detail::ConfigLimits& limits);

void register_daemon_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DaemonOptions>();
  auto* run = app.add_subcommand("run", "Run a node: fire the jobs of a configuration file until SIGTERM");
  run->add_option("--config", opts->config_path, "The YAML configuration file")->required();
  run->add_option_function<std::string>(
      "--store", [opts](const std::string& url) { opts->store_url = url; },
      "Store URL; overrides $SOLOCRON_STORE and node.store (a URL with a password is better "
      "given in SOLOCRON_STORE: a command line is visible to every user of the host)");
  run->add_option("--node-id", opts->node_id, "This node's id; overrides node.id");
  run->add_option("--http", opts->http_address,
                  "Serve /healthz, /readyz, /metrics, the API and the dashboard on HOST:PORT "
                  "(:PORT for every interface); overrides node.http");
  run->add_option("--api-tokens-file", opts->api_tokens_file,
                  "The API's tokens, one ROLE NAME TOKEN a line; overrides node.api_tokens_file");
  add_config_limit_option(*run, opts->limits);
  run->callback([opts, &exit_code] { exit_code = run_daemon(*opts); });

  auto* check = app.add_subcommand("check", "Validate a configuration file and show each job's next fire times");
  auto path = std::make_shared<std::string>();
  auto limits = std::make_shared<detail::ConfigLimits>();
  check->add_option("config", *path, "The YAML configuration file")->required();
  add_config_limit_option(*check, *limits);
  check->callback([path, limits, &exit_code] { exit_code = run_check(*path, *limits); });
}

}  // namespace solocron::cli
