#include "config/yaml_reader.hpp"

#include <algorithm>

#include "cron/duration.hpp"

namespace solocron::detail {

namespace {

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return quote(n.Scalar());
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

std::string child_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

}  // namespace

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

void YamlReader::error(const YAML::Node& at, const std::string& key, const std::string& message) {
  ++error_count_;
  if (error_count_ > kMaxStoredErrors) return;
  YAML::Mark mark = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
  int line = mark.line >= 0 ? mark.line + 1 : 0;
  int column = mark.column >= 0 ? mark.column + 1 : 0;
  if (error_count_ == kMaxStoredErrors) {
    errors_.push_back(ConfigError{file_, line, column, key,
                                  "too many errors; the rest of the file was not reported"});
    return;
  }
  errors_.push_back(ConfigError{file_, line, column, key, message});
}

bool YamlReader::spend(const YAML::Node& at, std::size_t count) {
  if (count <= budget_) {
    budget_ -= count;
    return true;
  }
  budget_ = 0;
  if (!budget_reported_) {
    budget_reported_ = true;
    error(at, "", "the file expands (through YAML aliases) to more values than a configuration "
                  "may have; it was not read further");
  }
  return false;
}

bool YamlReader::check_duplicates(const YAML::Node& map, const std::string& path) {
  if (!spend(map, map.size())) return false;
  bool ok = true;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) continue;  // reported as an unknown or invalid key elsewhere
    const std::string& k = kv.first.Scalar();
    auto [it, fresh] = seen.emplace(k, kv.first.Mark());
    if (fresh) continue;
    error(kv.first, child_path(path, k),
          "duplicate key " + quote(k) + " (first on line " + std::to_string(it->second.line + 1) +
              "); a key may appear once in a mapping");
    ok = false;
  }
  return ok;
}

bool YamlReader::check_keys(const YAML::Node& map, const std::string& path,
                            std::initializer_list<std::string_view> allowed) {
  bool ok = check_duplicates(map, path);
  for (const auto& kv : map) {
    std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      error(kv.first, child_path(path, k),
            "unknown key " + quote(k) + " (expected one of: " + joined(allowed) + ")");
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
  if (n.Scalar().find('\0') != std::string::npos) {
    error(n, key, "contains a NUL character");
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

std::optional<std::chrono::milliseconds> YamlReader::positive_duration(const YAML::Node& n,
                                                                       const std::string& key,
                                                                       const std::string& hint) {
  auto d = duration(n, key);
  if (d && d->count() <= 0) {
    error(n, key, quote(n.Scalar()) + " must be more than 0" + (hint.empty() ? "" : " (" + hint + ")"));
    return std::nullopt;
  }
  return d;
}

std::optional<std::vector<std::string>> YamlReader::string_list(const YAML::Node& n,
                                                                const std::string& key) {
  if (!n.IsSequence()) {
    error(n, key, "expected a list of strings, got " + kind_of(n));
    return std::nullopt;
  }
  if (!spend(n, n.size())) return std::nullopt;
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
  bool ok = check_duplicates(n, key);
  std::map<std::string, std::string> out;
  for (const auto& kv : n) {
    auto name = string(kv.first, key);
    auto value = name ? string(kv.second, key + "." + *name) : std::nullopt;
    if (!value) {
      ok = false;
      continue;
    }
    out.emplace(*name, *value);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> YamlReader::choice(const YAML::Node& n, const std::string& key,
                                              std::initializer_list<std::string_view> choices) {
  auto s = string(n, key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    error(n, key, quote(*s) + " is not one of: " + joined(choices));
    return std::nullopt;
  }
  return s;
}

}  // namespace solocron::detail
