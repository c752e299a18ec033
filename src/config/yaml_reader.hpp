// Typed reads of YAML scalars that record errors with their position instead of throwing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace solocron::detail {

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<ConfigError>& errors)
      : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Node& at, const std::string& key, const std::string& message);
  // Reports every key of `map` not in `allowed`; returns false if there was one.
  bool check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> allowed);

  std::optional<std::string> string(const YAML::Node& n, const std::string& key);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& key);
  std::optional<long long> integer(const YAML::Node& n, const std::string& key, long long min,
                                   long long max);
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& key);
  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& key);
  std::optional<std::map<std::string, std::string>> string_map(const YAML::Node& n,
                                                               const std::string& key);
  // One of `choices`, spelled exactly.
  std::optional<std::string> choice(const YAML::Node& n, const std::string& key,
                                    std::initializer_list<std::string_view> choices);

  std::size_t error_count() const { return errors_.size(); }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

}  // namespace solocron::detail
