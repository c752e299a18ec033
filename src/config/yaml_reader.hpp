// Typed reads of YAML scalars that record errors with their position instead of throwing.
//
// The reader also bounds the work an untrusted file can cause: YAML aliases let a small file
// name one large list many times, so every value read is charged against a budget, and past
// kMaxStoredErrors further errors are counted but not kept.
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
  static constexpr std::size_t kMaxStoredErrors = 200;

  // `budget`: how many values (list items, mapping entries) may be read in all.
  YamlReader(std::string file, std::vector<ConfigError>& errors, std::size_t budget)
      : file_(std::move(file)), errors_(errors), budget_(budget) {}

  void error(const YAML::Node& at, const std::string& key, const std::string& message);
  // Reports every key of `map` not in `allowed` and every key given twice; false if any.
  bool check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> allowed);
  // Reports every key of `map` given twice (the second, naming the line of the first).
  bool check_duplicates(const YAML::Node& map, const std::string& path);
  // Charges `count` values read at `at`; false once the budget is spent (reported once).
  bool spend(const YAML::Node& at, std::size_t count);

  // A scalar without NUL characters.
  std::optional<std::string> string(const YAML::Node& n, const std::string& key);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& key);
  std::optional<long long> integer(const YAML::Node& n, const std::string& key, long long min,
                                   long long max);
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& key);
  // A duration that must be more than zero; `hint` is added to the error (e.g. what to write
  // instead).
  std::optional<std::chrono::milliseconds> positive_duration(const YAML::Node& n,
                                                             const std::string& key,
                                                             const std::string& hint = "");
  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& key);
  std::optional<std::map<std::string, std::string>> string_map(const YAML::Node& n,
                                                               const std::string& key);
  // One of `choices`, spelled exactly.
  std::optional<std::string> choice(const YAML::Node& n, const std::string& key,
                                    std::initializer_list<std::string_view> choices);

  // Every error found, including those past kMaxStoredErrors.
  std::size_t error_count() const { return error_count_; }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
  std::size_t budget_;
  std::size_t error_count_ = 0;
  bool budget_reported_ = false;
};

// `"text"` for an error message.
std::string quote(std::string_view text);

}  // namespace solocron::detail
