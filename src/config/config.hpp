// The YAML configuration of a solocron node: node settings and a list of jobs.
//
// Loading never stops at the first problem: every error is collected with the file, line,
// column and key it concerns, so an operator fixes a file in one pass. A job with errors is
// left out and named in `bad_jobs`; the other jobs load. Errors outside the jobs (YAML syntax,
// node settings, unknown top-level keys) make the whole file unusable (`fatal`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "solocron/job.hpp"
#include "solocron/node.hpp"

namespace solocron::detail {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string key;  // e.g. "jobs[2].timeout"
  std::string message;

  // "jobs.yaml:12:14: jobs[2].timeout: \"10x\" is not a duration (expected ...)"
  std::string to_string() const;
};

struct Config {
  std::string file;
  NodeSettings node;
  std::string store_url;  // empty: the default store
  std::string log_format = "text";  // text | json
  std::string log_level = "info";
  std::string http_address;  // "HOST:PORT" for /healthz, /readyz, /metrics; empty: none
  std::vector<JobSpec> jobs;
};

struct ConfigLoad {
  Config config;
  std::vector<ConfigError> errors;
  bool fatal = false;
  std::vector<std::string> bad_jobs;  // names of jobs left out because of errors
};

ConfigLoad load_config_file(const std::string& path);
ConfigLoad parse_config(std::string_view yaml_text, const std::string& file_label);

}  // namespace solocron::detail
