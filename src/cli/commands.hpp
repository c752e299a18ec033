// The `solocron` subcommands, registered by area so each lives in its own file.
// Each callback stores the process exit status in `exit_code`:
// 0 success, 1 a valid request with a negative answer (never fires, store unreachable), 2 bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace solocron::cli {

void register_schedule_commands(CLI::App& app, int& exit_code);  // next, prev, explain
void register_daemon_commands(CLI::App& app, int& exit_code);    // run, check
void register_store_commands(CLI::App& app, int& exit_code);     // status, history, nodes, jobs
void register_control_commands(CLI::App& app, int& exit_code);   // trigger, pause, resume
void register_backfill_command(CLI::App& app, int& exit_code);    // backfill

}  // namespace solocron::cli
