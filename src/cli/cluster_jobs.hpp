// The cluster's job set as the store holds it: per job, the definitions its live nodes
// published, which nodes run which, and whether they disagree (drift: the usual state in the
// middle of a rolling deploy).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "solocron/cron.hpp"
#include "solocron/store.hpp"

namespace solocron::cli {

struct JobDefinition {
  std::string fingerprint;
  nlohmann::json definition;  // as published (see src/scheduler/job_publish.hpp)
  std::vector<std::string> nodes;
};

struct ClusterJob {
  std::string name;
  std::vector<JobDefinition> definitions;  // most nodes first; more than one is drift
  bool drift() const { return definitions.size() > 1; }
  std::vector<std::string> nodes() const;
  // Of the definitions not paused, the earliest next fire after `now`.
  std::optional<std::chrono::sys_seconds> next_fire_at(std::chrono::sys_seconds now) const;
  // The same in RFC 3339 UTC.
  std::optional<std::string> next_fire(std::chrono::sys_seconds now) const;
  bool paused() const;  // paused in every definition
};

std::vector<ClusterJob> cluster_jobs(Store& store);
// The published rows by job name, not parsed yet: enough to count, filter and page the jobs
// (with 10,000 jobs, parsing every definition costs more than the rest of a page).
std::map<std::string, std::vector<PublishedJobRow>> published_by_job(Store& store);
// One job from its rows (parses each distinct definition once).
ClusterJob cluster_job_of(const std::string& name, const std::vector<PublishedJobRow>& rows);
// The job as the live nodes published it; throws OperationError(not_found) when none has it.
ClusterJob cluster_job(Store& store, const std::string& job);
// A published definition's schedule in its zone; nullopt for a zone this host does not know.
std::optional<Schedule> schedule_of(const JobDefinition& d);

}  // namespace solocron::cli
