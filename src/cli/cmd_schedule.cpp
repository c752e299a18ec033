#include "cli/commands.hpp"

namespace solocron::cli {

void register_schedule_commands(CLI::App& /*app*/, int& /*exit_code*/) {}

}  // namespace solocron::cli
