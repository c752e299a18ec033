#include "config/config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "config/job_reader.hpp"
#include "config/yaml_reader.hpp"

namespace solocron::detail {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (column > 0) out += ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

namespace {

void read_node(const YAML::Node& node, YamlReader& r, Config& c) {
  if (!node.IsMap()) {
    r.error(node, "node", "expected a mapping of node settings");
    return;
  }
  r.check_keys(node, "node",
               {"id", "time_zone", "store", "log_format", "log_level", "heartbeat", "node_ttl",
                "max_clock_skew", "shutdown_grace", "max_concurrent_runs", "history_keep_last",
                "history_max_age", "http"});
  NodeSettings& s = c.node;
  auto set_duration = [&](const char* key, std::chrono::milliseconds& out) {
    if (node[key]) {
      if (auto d = r.duration(node[key], std::string("node.") + key)) out = *d;
    }
  };
  if (node["id"]) {
    if (auto v = r.string(node["id"], "node.id")) {
      if (auto bad = validate_job_name(*v)) {
        r.error(node["id"], "node.id", "\"" + *v + "\" is not a valid node id: " + *bad);
      } else {
        s.node_id = *v;
      }
    }
  }
  if (node["time_zone"]) {
    if (auto v = r.string(node["time_zone"], "node.time_zone")) s.default_time_zone = *v;
  }
  if (node["store"]) {
    if (auto v = r.string(node["store"], "node.store")) c.store_url = *v;
  }
  if (node["http"]) {
    if (auto v = r.string(node["http"], "node.http")) c.http_address = *v;
  }
  if (node["log_format"]) {
    if (auto v = r.choice(node["log_format"], "node.log_format", {"text", "json"})) c.log_format = *v;
  }
  if (node["log_level"]) {
    if (auto v = r.choice(node["log_level"], "node.log_level",
                          {"trace", "debug", "info", "warn", "error"})) {
      c.log_level = *v;
    }
  }
  set_duration("heartbeat", s.heartbeat);
  set_duration("node_ttl", s.node_ttl);
  set_duration("max_clock_skew", s.max_clock_skew);
  set_duration("shutdown_grace", s.shutdown_grace);
  if (node["max_concurrent_runs"]) {
    if (auto v = r.integer(node["max_concurrent_runs"], "node.max_concurrent_runs", 1, 100000)) {
      s.max_concurrent_runs = static_cast<std::size_t>(*v);
    }
  }
  if (node["history_keep_last"]) {
    if (auto v = r.integer(node["history_keep_last"], "node.history_keep_last", 1, 100000000)) {
      s.history_keep_last = static_cast<std::size_t>(*v);
    }
  }
  if (node["history_max_age"]) {
    if (auto d = r.duration(node["history_max_age"], "node.history_max_age")) {
      s.history_max_age = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
  }
  if (auto bad = validate(s)) r.error(node, "node", *bad);
}

void read_jobs(const YAML::Node& jobs, YamlReader& r, ConfigLoad& out) {
  if (!jobs.IsSequence()) {
    r.error(jobs, "jobs", "expected a list of jobs (each item starting with \"- name: ...\")");
    out.fatal = true;
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    std::string path = "jobs[" + std::to_string(i) + "]";
    std::size_t before = r.error_count();
    std::optional<JobSpec> job = read_job(jobs[i], path, out.config.node, r);
    if (job && !seen.insert(job->name).second) {
      r.error(jobs[i]["name"], path + ".name",
              "duplicate job name \"" + job->name + "\" (names must be unique)");
      job.reset();
    }
    if (job && r.error_count() == before) {
      out.config.jobs.push_back(std::move(*job));
    } else if (jobs[i].IsMap() && jobs[i]["name"] && jobs[i]["name"].IsScalar()) {
      out.bad_jobs.push_back(jobs[i]["name"].Scalar());
    }
  }
}

}  // namespace

ConfigLoad parse_config(std::string_view yaml_text, const std::string& file_label) {
  ConfigLoad out;
  out.config.file = file_label;
  YamlReader r(file_label, out.errors);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    out.errors.push_back(ConfigError{file_label, e.mark.line + 1, e.mark.column + 1, "",
                                     "YAML syntax error: " + e.msg});
    out.fatal = true;
    return out;
  }
  if (!root.IsMap()) {
    r.error(root, "", "expected a mapping with the keys \"node\" and \"jobs\"");
    out.fatal = true;
    return out;
  }
  if (!r.check_keys(root, "", {"node", "jobs"})) out.fatal = true;
  if (root["node"]) {
    std::size_t before = r.error_count();
    read_node(root["node"], r, out.config);
    if (r.error_count() != before) out.fatal = true;
  }
  if (root["jobs"]) read_jobs(root["jobs"], r, out);
  return out;
}

ConfigLoad load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ConfigLoad out;
    out.fatal = true;
    out.errors.push_back(ConfigError{path, 0, 0, "", "cannot read the file"});
    return out;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace solocron::detail
