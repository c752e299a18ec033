// Reads one job entry of the `jobs:` list into a JobSpec.
#pragma once

#include <optional>
#include <string>

#include "config/yaml_reader.hpp"
#include "solocron/job.hpp"
#include "solocron/node.hpp"

namespace solocron::detail {

// Returns the job, or nullopt when a required part is unusable; every problem found is
// reported through `r` (the caller compares error counts to know whether the job is clean).
std::optional<JobSpec> read_job(const YAML::Node& node, const std::string& path,
                                const NodeSettings& settings, YamlReader& r);

}  // namespace solocron::detail
