#include "config/node_reader.hpp"

#include "config/hook_reader.hpp"
#include "config/http_address.hpp"
#include "cron/duration.hpp"
#include "store/store_url.hpp"

namespace solocron::detail {

namespace {

const std::initializer_list<std::string_view> kNodeKeys = {
    "id",        "time_zone", "store",          "log_format",     "log_level",
    "heartbeat", "node_ttl",  "max_clock_skew", "shutdown_grace", "max_concurrent_runs",
    "history_keep_last", "history_max_age", "http", "store_call_deadline", "hooks",
    "api_tokens_file"};

// Reads node.KEY, a string that `problem` accepts (returns nullopt for), into `out`.
template <class Check>
void read_checked(const YAML::Node& node, const char* key, YamlReader& r, std::string& out,
                  Check problem) {
  const auto& n = node[key];
  if (!n) return;
  const std::string path = std::string("node.") + key;
  auto v = r.string(n, path);
  if (!v) return;
  if (std::optional<std::string> bad = problem(*v)) {
    r.error(n, path, *bad);
  } else {
    out = *v;
  }
}

void read_strings(const YAML::Node& node, YamlReader& r, Config& c) {
  read_checked(node, "id", r, c.node.node_id, node_id_error);
  read_checked(node, "time_zone", r, c.node.default_time_zone, time_zone_error);
  read_checked(node, "store", r, c.store_url, [](const std::string& v) { return store_url_error(v); });
  read_checked(node, "http", r, c.http_address, [](const std::string& v) {
    auto a = parse_http_address(v);
    return a ? std::nullopt : std::optional<std::string>(a.error());
  });
  read_checked(node, "api_tokens_file", r, c.api_tokens_file, [](const std::string& v) {
    return v.empty() ? std::optional<std::string>("expected the path of a file of ROLE NAME TOKEN lines")
                     : std::nullopt;
  });
  if (const auto& n = node["log_format"]) {
    if (auto v = r.choice(n, "node.log_format", {"text", "json"})) c.log_format = *v;
  }
  if (const auto& n = node["log_level"]) {
    if (auto v = r.choice(n, "node.log_level", {"trace", "debug", "info", "warn", "error"})) {
      c.log_level = *v;
    }
  }
}

void read_timing(const YAML::Node& node, YamlReader& r, NodeSettings& s) {
  if (const auto& n = node["heartbeat"]) {
    if (auto d = r.positive_duration(n, "node.heartbeat")) s.heartbeat = *d;
  }
  if (const auto& n = node["store_call_deadline"]) {
    if (auto d = r.positive_duration(n, "node.store_call_deadline")) s.store_call_deadline = *d;
  }
  // A renewal cycle (a heartbeat's wait, then a call that may take its deadline) must fit in
  // the lease's time to live. Reported on node_ttl when it is given, else on what is.
  const std::string cycle = "heartbeat (" + format_duration(s.heartbeat) +
                            ") + store_call_deadline (" + format_duration(s.store_call_deadline) + ")";
  if (const auto& n = node["node_ttl"]) {
    if (auto d = r.positive_duration(n, "node.node_ttl")) {
      s.node_ttl = *d;
      if (s.node_ttl <= s.heartbeat + s.store_call_deadline) {
        r.error(n, "node.node_ttl",
                "node_ttl (" + format_duration(s.node_ttl) + ") must be greater than " + cycle);
      }
    }
  } else if (s.node_ttl <= s.heartbeat + s.store_call_deadline &&
             (node["heartbeat"] || node["store_call_deadline"])) {
    const char* key = node["heartbeat"] ? "heartbeat" : "store_call_deadline";
    r.error(node[key], std::string("node.") + key,
            cycle + " must be less than node_ttl (" + format_duration(s.node_ttl) + ")");
  }
  if (const auto& n = node["max_clock_skew"]) {
    if (auto d = r.positive_duration(n, "node.max_clock_skew")) s.max_clock_skew = *d;
  }
  if (const auto& n = node["shutdown_grace"]) {
    if (auto d = r.duration(n, "node.shutdown_grace")) s.shutdown_grace = *d;
  }
  if (const auto& n = node["history_max_age"]) {
    if (auto d = r.positive_duration(n, "node.history_max_age", "leave the key out to keep records of any age")) {
      s.history_max_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
      if (s.history_max_age->count() == 0) {
        r.error(n, "node.history_max_age", "must be at least 1s");
      }
    }
  }
}

}  // namespace

void read_node(const YAML::Node& node, YamlReader& r, Config& c) {
  if (!node.IsMap()) {
    r.error(node, "node", "expected a mapping of node settings");
    return;
  }
  const std::size_t before = r.error_count();
  r.check_keys(node, "node", kNodeKeys);
  read_strings(node, r, c);
  read_timing(node, r, c.node);
  NodeSettings& s = c.node;
  if (const auto& n = node["max_concurrent_runs"]) {
    if (auto v = r.integer(n, "node.max_concurrent_runs", 1, 100000)) {
      s.max_concurrent_runs = static_cast<std::size_t>(*v);
    }
  }
  if (const auto& n = node["history_keep_last"]) {
    if (auto v = r.integer(n, "node.history_keep_last", 1, 100000000)) {
      s.history_keep_last = static_cast<std::size_t>(*v);
    }
  }
  if (const auto& n = node["hooks"]) {
    if (!n.IsMap()) {
      r.error(n, "node.hooks", "expected a mapping with on_failure, on_missed or on_success");
    } else {
      r.check_keys(n, "node.hooks", kHookKeys);
      read_hooks(n, "node.hooks", r, s.hooks);
    }
  }
  // The library's own check, as a net under the ones above: it must never find more.
  if (r.error_count() == before) {
    if (auto bad = validate(s)) r.error(node, "node", *bad);
  }
}

}  // namespace solocron::detail
