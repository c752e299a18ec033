// Reads a job's `http:` mapping (the HTTP action) into an HttpSpec.
#pragma once

#include <optional>
#include <string>

#include "config/yaml_reader.hpp"
#include "solocron/job.hpp"

namespace solocron::detail {

// `key` is the mapping's path (jobs[2].http). Every problem is reported through `r`.
std::optional<HttpSpec> read_http(const YAML::Node& node, const std::string& key, YamlReader& r);

// Request headers ({Name: value}): names checked, values expanded (expand_env) and checked.
void read_headers(const YAML::Node& n, const std::string& key, YamlReader& r,
                  std::map<std::string, std::string>& headers);

// An http(s) URL, ${NAME} expanded; a CA file that can be read. Nullopt (reported) otherwise.
std::optional<std::string> read_url(const YAML::Node& n, const std::string& key, YamlReader& r);
std::optional<std::string> read_ca_file(const YAML::Node& n, const std::string& key, YamlReader& r);

// `${NAME}` replaced by the node's environment variable NAME, `$$` by `$`: keeps tokens out of
// the file. An unset variable is an error naming it (never a value).
std::optional<std::string> expand_env(const std::string& text, const YAML::Node& at,
                                      const std::string& key, YamlReader& r);

}  // namespace solocron::detail
