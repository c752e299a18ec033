// The YAML configuration of a solocron node: node settings and a list of jobs.
//
// One function reads a file for `check`, for `run` at start-up and for a reload, so that they
// cannot disagree about what is valid. Loading never stops at the first problem: every error
// is collected with the file, line, column and key it concerns, sorted by position, so an
// operator fixes a file in one pass. A job with errors is left out and named in `bad_jobs`;
// the other jobs load. Errors outside the jobs (the file's size or encoding, YAML syntax, node
// settings, unknown top-level keys) make the whole file unusable (`fatal`).
//
// The file is untrusted input of bounded cost: it is refused before parsing when larger than
// ConfigLimits::max_bytes, and the values its YAML aliases expand to are bounded too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "solocron/job.hpp"
#include "solocron/node.hpp"

namespace solocron::detail {

// 4 MiB: room for tens of thousands of jobs, small enough to parse in well under a second.
inline constexpr std::size_t kDefaultMaxConfigBytes = std::size_t{4} << 20;

struct ConfigLimits {
  std::size_t max_bytes = kDefaultMaxConfigBytes;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based, in bytes; 0 when unknown
  std::string key;  // e.g. "jobs[2].timeout"
  std::string message;

  // "jobs.yaml:12:14: jobs[2].timeout: \"10x\" is not a duration (expected ...)"
  std::string to_string() const;
};

struct Config {
  std::string file;
  NodeSettings node;
  std::string store_url;  // empty: not set in the file
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  std::string http_address;  // "HOST:PORT" for /healthz, /readyz, /metrics and the API; empty: none
  std::string api_tokens_file;  // the API's bearer tokens (cli/api_tokens.hpp); empty: none
  std::vector<JobSpec> jobs;
};

struct ConfigLoad {
  Config config;
  std::vector<ConfigError> errors;  // sorted by line and column
  bool fatal = false;
  std::vector<std::string> bad_jobs;  // names of jobs left out because of errors
};

ConfigLoad load_config_file(const std::string& path, const ConfigLimits& limits = {});
ConfigLoad parse_config(std::string_view yaml_text, const std::string& file_label,
                        const ConfigLimits& limits = {});

// Why `id` cannot be a node id ([A-Za-z0-9_.-]{1,128}), or nullopt.
std::optional<std::string> node_id_error(const std::string& id);
// Why `zone` is not an IANA time zone this host knows, or nullopt.
std::optional<std::string> time_zone_error(const std::string& zone);

}  // namespace solocron::detail
