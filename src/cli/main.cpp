#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"solocron: cron jobs that run exactly once across a cluster"};
  app.require_subcommand(1);
  int exit_code = 0;
  solocron::cli::register_schedule_commands(app, exit_code);
  solocron::cli::register_daemon_commands(app, exit_code);
  solocron::cli::register_store_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints usage errors; bad input is exit status 2 throughout solocron.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
