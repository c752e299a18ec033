// Reads the `node:` mapping of a configuration file into Config.
#pragma once

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace solocron::detail {

// Every problem is reported through `r` on the key it concerns; the caller compares error
// counts to know whether the settings are usable.
void read_node(const YAML::Node& node, YamlReader& r, Config& c);

}  // namespace solocron::detail
