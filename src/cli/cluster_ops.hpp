// The operations that steer the cluster through the store: trigger, pause, resume. One home
// for the commands (cmd_control.cpp) and the HTTP API (api_server.cpp), so both write the same
// records with the same checks.
//
// They write requests and pause states, never runs: the nodes that have the job take a request
// at their next sweep and claim its run like an occurrence, so the fencing token, the overlap
// policy and "a node without the job never runs it" hold as for the schedule.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>

#include "solocron/store.hpp"

namespace solocron::cli {

// The nodes that will run a request of a job: one for a job run once in the cluster, each
// publishing node for an every_node job.
struct Runners {
  bool every_node = false;
  std::set<std::string> nodes;
};
// Throws OperationError: not_found (no live node has the job), conflict (run_on: local on
// every node that has it: such a job runs only by its own node's schedule).
Runners runners_of(Store& store, const std::string& job);

// Asks for one run of `job` now (checked with runners_of first).
RunRequest trigger_job(Store& store, const std::string& job, const std::string& by,
                       const std::string& note);
nlohmann::json request_json(const RunRequest& r);

struct ControlChange {
  bool changed = false;       // false: the job was paused already / not paused (nothing written)
  std::optional<JobControl> control;  // the state after the call
  std::string message;        // one line for people
};
// Pauses `job` in the whole cluster; throws OperationError(not_found) for an unknown job.
ControlChange pause_job(Store& store, const std::string& job, const std::string& by,
                        const std::string& note);
// Resumes it from the store's now, recording the paused span's ticks as not run.
ControlChange resume_job(Store& store, const std::string& job, const std::string& by,
                         const std::string& note);
// The pause state as JSON; null for none.
nlohmann::json control_json(const std::optional<JobControl>& c);
std::optional<JobControl> control_of(Store& store, const std::string& job);

}  // namespace solocron::cli
