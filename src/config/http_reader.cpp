#include "config/http_reader.hpp"

#include <cstdlib>
#include <fstream>

#include "http/http_call.hpp"

namespace solocron::detail {

namespace {

const std::initializer_list<std::string_view> kHttpKeys = {"url",     "method",  "headers", "body",
                                                           "timeout", "success", "ca_file"};

// 200, "200-299" or a list of them.
std::optional<std::pair<int, int>> read_status_range(const YAML::Node& n, const std::string& key,
                                                     YamlReader& r) {
  auto text = r.string(n, key);
  if (!text) return std::nullopt;
  const auto dash = text->find('-');
  auto number = [](const std::string& s) -> int {
    if (s.size() != 3) return -1;
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  const int lo = number(text->substr(0, dash));
  const int hi = dash == std::string::npos ? lo : number(text->substr(dash + 1));
  if (lo < 100 || hi > 599 || hi < lo) {
    r.error(n, key, quote(*text) + " is not an HTTP status or range within 100-599 (expected e.g. 200 or 200-299)");
    return std::nullopt;
  }
  return std::pair{lo, hi};
}

void read_success(const YAML::Node& n, const std::string& key, YamlReader& r, HttpSpec& spec) {
  std::vector<std::pair<int, int>> ranges;
  if (n.IsSequence()) {
    if (!r.spend(n, n.size())) return;
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (auto range = read_status_range(n[i], key + "[" + std::to_string(i) + "]", r)) ranges.push_back(*range);
    }
  } else if (auto range = read_status_range(n, key, r)) {
    ranges.push_back(*range);
  }
  if (n.IsSequence() && n.size() == 0) r.error(n, key, "the list is empty (expected e.g. [200-299])");
  if (!ranges.empty()) spec.success = std::move(ranges);
}

}  // namespace

void read_headers(const YAML::Node& n, const std::string& key, YamlReader& r,
                  std::map<std::string, std::string>& headers) {
  auto values = r.string_map(n, key);
  if (!values) return;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string at = key + "." + (name.empty() ? "\"\"" : name);
    if (auto bad = http_header_name_error(name)) {
      r.error(kv.first, at, *bad);
      continue;
    }
    auto value = expand_env(kv.second.Scalar(), kv.second, at, r);
    if (!value) continue;
    if (auto bad = http_header_value_error(*value)) {
      r.error(kv.second, at, *bad);
      continue;
    }
    headers[name] = std::move(*value);
  }
}

std::optional<std::string> expand_env(const std::string& text, const YAML::Node& at,
                                      const std::string& key, YamlReader& r) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string::npos) {
      r.error(at, key, "\"${\" without a closing \"}\" (expected ${NAME}; write $$ for a literal $)");
      return std::nullopt;
    }
    const std::string name = text.substr(i + 2, close - i - 2);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr) {
      r.error(at, key, "environment variable " + quote(name) + " is not set (named as ${" + name + "})");
      return std::nullopt;
    }
    out += value;
    i = close;
  }
  return out;
}

std::optional<std::string> read_url(const YAML::Node& n, const std::string& key, YamlReader& r) {
  auto raw = r.string(n, key);
  if (!raw) return std::nullopt;
  auto url = expand_env(*raw, n, key, r);
  if (!url) return std::nullopt;
  std::string error;
  if (!parse_http_url(*url, &error)) {
    r.error(n, key, error);
    return std::nullopt;
  }
  return url;
}

std::optional<std::string> read_ca_file(const YAML::Node& n, const std::string& key, YamlReader& r) {
  auto file = r.string(n, key);
  if (!file) return std::nullopt;
  if (!std::ifstream(*file).good()) {
    r.error(n, key, "cannot read " + quote(*file) + " (expected a PEM file of CA certificates)");
    return std::nullopt;
  }
  return file;
}

std::optional<HttpSpec> read_http(const YAML::Node& node, const std::string& key, YamlReader& r) {
  if (!node.IsMap()) {
    r.error(node, key, "expected a mapping with at least url (e.g. {url: \"http://127.0.0.1:4000/jobs/report\"})");
    return std::nullopt;
  }
  r.check_keys(node, key, kHttpKeys);
  HttpSpec spec;
  bool ok = true;
  if (!node["url"]) {
    r.error(node, key, "missing required key \"url\" (e.g. http://127.0.0.1:4000/jobs/report)");
    ok = false;
  } else if (auto url = read_url(node["url"], key + ".url", r)) {
    spec.url = std::move(*url);
  } else {
    ok = false;
  }
  if (node["method"]) {
    if (auto m = r.string(node["method"], key + ".method")) {
      if (auto bad = http_method_error(*m)) r.error(node["method"], key + ".method", *bad);
      spec.method = *m;
    }
  }
  if (node["headers"]) read_headers(node["headers"], key + ".headers", r, spec.headers);
  if (node["body"]) {
    if (auto b = r.string(node["body"], key + ".body")) {
      if (auto body = expand_env(*b, node["body"], key + ".body", r)) spec.body = std::move(*body);
    }
  }
  if (node["timeout"]) {
    if (auto t = r.positive_duration(node["timeout"], key + ".timeout")) spec.timeout = *t;
  }
  if (node["success"]) read_success(node["success"], key + ".success", r, spec);
  if (node["ca_file"]) {
    if (auto f = read_ca_file(node["ca_file"], key + ".ca_file", r)) spec.ca_file = std::move(*f);
  }
  if (!ok) return std::nullopt;
  return spec;
}

}  // namespace solocron::detail
