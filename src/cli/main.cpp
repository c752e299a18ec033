#include <cstdio>

#include "cli/commands.hpp"
#include "cli/user_text.hpp"
#include "cli/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"solocron: cron jobs that run exactly once across a cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("solocron ") + solocron::cli::kVersion);
  int exit_code = 0;
  solocron::cli::register_schedule_commands(app, exit_code);
  solocron::cli::register_daemon_commands(app, exit_code);
  solocron::cli::register_store_commands(app, exit_code);
  solocron::cli::register_control_commands(app, exit_code);
  solocron::cli::register_backfill_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors quote the arguments, a --store URL among them: printed like every other
    // error (redacted, one line). Bad input is exit status 2 throughout solocron.
    solocron::cli::print_error(e.what());
    std::fprintf(stderr, "Run with --help for more information.\n");
    return 2;
  }
  return exit_code;
}
