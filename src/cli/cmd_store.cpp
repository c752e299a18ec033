#include "cli/commands.hpp"

namespace solocron::cli {

void register_store_commands(CLI::App& /*app*/, int& /*exit_code*/) {}

}  // namespace solocron::cli
