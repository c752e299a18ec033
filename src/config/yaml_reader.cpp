#include "config/yaml_reader.hpp"

#include <algorithm>

#include "cron/duration.hpp"

namespace solocron::detail {

namespace {

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "an undefined value";
  }
}

std::string joined(std::initializer_list<std::string_view> words) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

}  // namespace

void YamlReader::error(const YAML::Node& at, const std::string& key, const std::string& message) {
  YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
  int line = mark.line >= 0 ? mark.line + 1 : 0;
  int column = mark.column >= 0 ? mark.column + 1 : 0;
  errors_.push_back(ConfigError{file_, line, column, key, message});
}

bool YamlReader::check_keys(const YAML::Node& map, const std::string& path,
                            std::initializer_list<std::string_view> allowed) {
  bool ok = true;
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>("");
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      error(kv.first, path.empty() ? k : path + "." + k,
            "unknown key \"" + k + "\" (expected one of: " + joined(allowed) + ")");
      ok = false;
    }
  }
  return ok;
}

std::optional<std::string> YamlReader::string(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) {
    error(n, key, "expected a string, got " + kind_of(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> YamlReader::boolean(const YAML::Node& n, const std::string& key) {
  bool value = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
    error(n, key, "expected true or false, got " + kind_of(n));
    return std::nullopt;
  }
  return value;
}

std::optional<long long> YamlReader::integer(const YAML::Node& n, const std::string& key,
                                             long long min, long long max) {
  long long value = 0;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value)) {
    error(n, key, "expected a whole number, got " + kind_of(n));
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(n, key,
          std::to_string(value) + " is out of range " + std::to_string(min) + "-" +
              std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> YamlReader::duration(const YAML::Node& n,
                                                              const std::string& key) {
  if (!n.IsScalar()) {
    error(n, key, "expected a duration such as 30s or 1h30m, got " + kind_of(n));
    return std::nullopt;
  }
  auto d = parse_duration(n.Scalar());
  if (!d) {
    error(n, key, d.error());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::string>> YamlReader::string_list(const YAML::Node& n,
                                                                const std::string& key) {
  if (!n.IsSequence()) {
    error(n, key, "expected a list of strings, got " + kind_of(n));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto s = string(n[i], key + "[" + std::to_string(i) + "]");
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> YamlReader::string_map(const YAML::Node& n,
                                                                         const std::string& key) {
  if (!n.IsMap()) {
    error(n, key, "expected a mapping of NAME: value, got " + kind_of(n));
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (const auto& kv : n) {
    auto name = kv.first.as<std::string>("");
    auto value = string(kv.second, key + "." + name);
    if (!value) return std::nullopt;
    out[name] = *value;
  }
  return out;
}

std::optional<std::string> YamlReader::choice(const YAML::Node& n, const std::string& key,
                                              std::initializer_list<std::string_view> choices) {
  auto s = string(n, key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    error(n, key, "\"" + *s + "\" is not one of: " + joined(choices));
    return std::nullopt;
  }
  return s;
}

}  // namespace solocron::detail
