// Reads notification hooks: a job's on_failure / on_missed / on_success, and node.hooks (the
// defaults). Each is {command: [argv...]} or {url, headers, ca_file} plus an optional timeout.
#pragma once

#include <string>

#include "config/yaml_reader.hpp"
#include "solocron/hooks.hpp"

namespace solocron::detail {

// The keys of a job mapping (or of node.hooks) that are hooks.
extern const std::initializer_list<std::string_view> kHookKeys;

// Reads every hook key present in `map` (whose path is `path`) into `hooks`.
void read_hooks(const YAML::Node& map, const std::string& path, YamlReader& r, Hooks& hooks);

}  // namespace solocron::detail
