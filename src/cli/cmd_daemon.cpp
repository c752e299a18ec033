#include "cli/commands.hpp"

namespace solocron::cli {

int run_check(const std::string& path);

void register_daemon_commands(CLI::App& app, int& exit_code) {
  auto* check = app.add_subcommand("check", "Validate a configuration file and show each job's next fire times");
  auto path = std::make_shared<std::string>();
  check->add_option("config", *path, "The YAML configuration file")->required();
  check->callback([path, &exit_code] { exit_code = run_check(*path); });
}

}  // namespace solocron::cli
