// What the cluster looks like from the store, as JSON: the jobs (a page of them, or one in
// full), the history with each occurrence's earlier attempts, the nodes. One home for the
// commands' --json output and the HTTP API's answers (docs/api.md documents the fields).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/cluster_jobs.hpp"
#include "solocron/store.hpp"

namespace solocron::cli {

// How many outcomes a job's summary shows at a glance.
inline constexpr std::size_t kRecentOutcomes = 30;

// A job in a list: schedule in plain English, next fire in UTC and in the job's zone, paused,
// drift, nodes, its newest record in full and the last kRecentOutcomes in short.
nlohmann::json job_summary_json(Store& store, const ClusterJob& job, std::chrono::sys_seconds now);
// One job in full: the summary, its definitions, next fires, pause state, the ticks not run.
nlohmann::json job_detail_json(Store& store, const ClusterJob& job, std::chrono::sys_seconds now);

// Each record with "earlier_attempts": the attempts a retry replaced, oldest first.
nlohmann::json history_json(Store& store, const std::vector<RunRecord>& records);
// The attempts a retry replaced, per record of `records` (same order; empty for most).
std::vector<std::vector<RunRecord>> earlier_attempts_of(Store& store,
                                                        const std::vector<RunRecord>& records);

// Every lease with its age and the runs the store counts as active on the node.
nlohmann::json nodes_json(Store& store);

}  // namespace solocron::cli
