#include "cli/commands.hpp"

namespace solocron::cli {

void register_daemon_commands(CLI::App& /*app*/, int& /*exit_code*/) {}

}  // namespace solocron::cli
