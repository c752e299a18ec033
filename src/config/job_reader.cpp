#include "config/job_reader.hpp"

#include "config/hook_reader.hpp"
#include "config/http_reader.hpp"

#include <absl/time/time.h>

#include <algorithm>


namespace solocron::detail {

namespace {

const std::initializer_list<std::string_view> kJobKeys = {
    "name",      "schedule",   "time_zone", "anchor",        "command",
    "shell",     "working_dir", "env",      "overlap",       "timeout",
    "kill_grace", "misfire",   "max_catchup", "starting_deadline", "delivery",
    "run_on",    "output_tail_bytes", "paused", "inherit_env", "http", "jitter",
    "retry",     "on_failure", "on_missed", "on_success"};

// Set by solocron for every run (section 12 of the cluster contract); a job cannot set them.
const std::initializer_list<std::string_view> kContractVariables = {
    "SOLOCRON_JOB", "SOLOCRON_SCHEDULED_AT", "SOLOCRON_NODE", "SOLOCRON_FENCE", "SOLOCRON_ATTEMPT", "SOLOCRON_TRIGGER"};

// POSIX names ([A-Za-z_][A-Za-z0-9_]*): what execve and every shell accept as a variable.
std::optional<std::string> env_name_error(const std::string& name) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  bool ok = !name.empty() && alpha(name[0]);
  for (char c : name) ok = ok && (alpha(c) || (c >= '0' && c <= '9'));
  if (!ok) {
    return quote(name) + " is not a valid environment variable name (expected [A-Za-z_][A-Za-z0-9_]*)";
  }
  return std::nullopt;
}

std::optional<sys_seconds> read_anchor(const YAML::Node& n, const std::string& key, YamlReader& r) {
  auto text = r.string(n, key);
  if (!text) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, *text, &t, &err)) {
    r.error(n, key, "\"" + *text + "\" is not an RFC 3339 time (expected e.g. 2026-01-01T00:00:00Z)");
    return std::nullopt;
  }
  return sys_seconds(std::chrono::seconds(absl::ToUnixSeconds(t)));
}

void read_schedule(const YAML::Node& node, const std::string& path, const NodeSettings& settings,
                   YamlReader& r, JobSpec& job) {
  ParseOptions options;
  options.time_zone = settings.default_time_zone;
  if (const auto& zone = node["time_zone"]) {
    if (auto tz = r.string(zone, path + ".time_zone")) {
      // Checked here so the error is on this key, not on the schedule read in the zone.
      if (auto bad = time_zone_error(*tz)) {
        r.error(zone, path + ".time_zone", *bad);
      } else {
        options.time_zone = *tz;
      }
    }
  }
  if (node["anchor"]) {
    if (auto a = read_anchor(node["anchor"], path + ".anchor", r)) options.every_anchor = *a;
  }
  const YAML::Node& s = node["schedule"];
  if (!s) {
    r.error(node, path, "missing required key \"schedule\" (a cron expression such as \"*/5 * * * *\")");
    return;
  }
  auto text = r.string(s, path + ".schedule");
  if (!text) return;
  auto parsed = Schedule::parse(*text, options);
  if (!parsed) {
    r.error(s, path + ".schedule", parsed.error().message());
    return;
  }
  job.schedule = std::move(*parsed);
}

// `all`, `none` or a list of names (only those).
void read_inherit_env(const YAML::Node& n, const std::string& key, YamlReader& r, CommandSpec& cmd) {
  if (n.IsScalar()) {
    if (auto v = r.choice(n, key, {"all", "none"})) {
      cmd.inherit_env.mode = *v == "all" ? InheritEnv::Mode::all : InheritEnv::Mode::none;
    }
    return;
  }
  if (!n.IsSequence()) {
    r.error(n, key, "expected all, none or a list of variable names such as [PATH, HOME]");
    return;
  }
  auto names = r.string_list(n, key);
  if (!names) return;
  for (std::size_t i = 0; i < names->size(); ++i) {
    if (auto bad = env_name_error((*names)[i])) r.error(n[i], key + "[" + std::to_string(i) + "]", *bad);
  }
  cmd.inherit_env = InheritEnv{InheritEnv::Mode::only, std::move(*names)};
}

void read_command(const YAML::Node& node, const std::string& path, YamlReader& r, JobSpec& job) {
  CommandSpec cmd;
  if (node["shell"]) cmd.shell = r.boolean(node["shell"], path + ".shell").value_or(false);
  const YAML::Node& c = node["command"];
  if (!c) {
    r.error(node, path,
            "missing required key \"command\" (a list such as [\"backup.sh\", \"--full\"]), or \"http\" "
            "(a request such as {url: \"http://127.0.0.1:4000/jobs/report\"})");
  } else if (cmd.shell) {
    if (auto s = r.string(c, path + ".command")) cmd.shell_command = *s;
  } else if (c.IsScalar()) {
    r.error(c, path + ".command",
            "a command string needs \"shell: true\"; without a shell give a list such as "
            "[\"backup.sh\", \"--full\"]");
  } else if (auto argv = r.string_list(c, path + ".command")) {
    if (argv->empty()) r.error(c, path + ".command", "the command list is empty");
    cmd.argv = std::move(*argv);
  }
  if (node["working_dir"]) {
    if (auto d = r.string(node["working_dir"], path + ".working_dir")) cmd.working_dir = *d;
  }
  if (const auto& env = node["env"]) {
    if (auto values = r.string_map(env, path + ".env")) {
      for (const auto& kv : env) {
        const std::string name = kv.first.Scalar();
        const std::string key = path + ".env." + (name.empty() ? "\"\"" : name);
        if (auto bad = env_name_error(name)) {
          r.error(kv.first, key, *bad);
        } else if (std::find(kContractVariables.begin(), kContractVariables.end(), name) !=
                   kContractVariables.end()) {
          r.error(kv.first, key, name + " is set by solocron for every run; choose another name");
        }
      }
      cmd.env = std::move(*values);
    }
  }
  if (const auto& inherit = node["inherit_env"]) read_inherit_env(inherit, path + ".inherit_env", r, cmd);
  job.action = std::move(cmd);
}

// `http:` instead of `command:`; the command-only keys make no sense beside it.
void read_action(const YAML::Node& node, const std::string& path, YamlReader& r, JobSpec& job) {
  const YAML::Node& http = node["http"];
  if (!http) {
    read_command(node, path, r, job);
    return;
  }
  if (node["command"]) r.error(node["command"], path + ".command", "a job has either command or http, not both");
  for (const char* key : {"shell", "working_dir", "env", "inherit_env"}) {
    if (node[key]) {
      r.error(node[key], path + "." + key, std::string(key) + " applies to a command; this job's action is http");
    }
  }
  if (auto spec = read_http(http, path + ".http", r)) job.action = std::move(*spec);
}

const std::initializer_list<std::string_view> kRetryKeys = {"attempts", "backoff", "max_backoff",
                                                            "jitter", "until_next"};

// retry: {attempts: 3, backoff: 30s, max_backoff: 10m, jitter: true, until_next: true}
void read_retry(const YAML::Node& n, const std::string& key, YamlReader& r, RetryPolicy& retry) {
  if (!n.IsMap()) {
    r.error(n, key, "expected a mapping such as {attempts: 3, backoff: 30s}");
    return;
  }
  r.check_keys(n, key, kRetryKeys);
  if (!n["attempts"]) {
    r.error(n, key, "missing \"attempts\" (how many attempts in all, the first one included)");
  } else if (auto v = r.integer(n["attempts"], key + ".attempts", 1, 100)) {
    retry.attempts = static_cast<int>(*v);
  }
  if (n["backoff"]) {
    if (auto d = r.positive_duration(n["backoff"], key + ".backoff")) retry.backoff = *d;
  }
  if (!n["max_backoff"]) {
    retry.max_backoff = std::max(retry.max_backoff, retry.backoff);
  } else if (auto d = r.positive_duration(n["max_backoff"], key + ".max_backoff")) {
    retry.max_backoff = *d;
    if (*d < retry.backoff) {
      r.error(n["max_backoff"], key + ".max_backoff", "max_backoff must be at least backoff");
    }
  }
  if (retry.max_backoff > std::chrono::hours(24)) {
    r.error(n["max_backoff"] ? n["max_backoff"] : n["backoff"], key + ".max_backoff",
            "a retry waits at most 24h (backoff and max_backoff)");
  }
  if (n["jitter"]) retry.jitter = r.boolean(n["jitter"], key + ".jitter").value_or(false);
  if (n["until_next"]) retry.until_next = r.boolean(n["until_next"], key + ".until_next").value_or(false);
}

template <class Enum>
void read_enum(const YAML::Node& node, const char* key, const std::string& path, YamlReader& r,
               std::initializer_list<std::string_view> names, Enum& out) {
  if (!node[key]) return;
  auto v = r.choice(node[key], path + "." + key, names);
  if (!v) return;
  std::size_t i = 0;
  for (std::string_view n : names) {
    if (n == *v) out = static_cast<Enum>(i);
    ++i;
  }
}

void read_policies(const YAML::Node& node, const std::string& path, YamlReader& r, JobSpec& job) {
  read_enum(node, "overlap", path, r, {"allow", "forbid", "replace"}, job.overlap);
  read_enum(node, "misfire", path, r, {"skip", "run_once", "run_all"}, job.misfire);
  read_enum(node, "delivery", path, r, {"at_most_once", "at_least_once"}, job.delivery);
  read_enum(node, "run_on", path, r, {"once", "every_node", "local"}, job.run_on);
  if (node["timeout"]) {
    job.timeout = r.positive_duration(node["timeout"], path + ".timeout",
                                      "leave the key out for no timeout");
  }
  if (node["kill_grace"]) {
    if (auto d = r.duration(node["kill_grace"], path + ".kill_grace")) job.kill_grace = *d;
  }
  if (node["starting_deadline"]) {
    job.starting_deadline = r.positive_duration(node["starting_deadline"],
                                                path + ".starting_deadline",
                                                "leave the key out for no deadline");
  }
  if (node["jitter"]) {
    job.jitter = r.positive_duration(node["jitter"], path + ".jitter", "leave the key out for no jitter");
    if (job.jitter && *job.jitter > std::chrono::hours(24)) {
      r.error(node["jitter"], path + ".jitter", "jitter is at most 24h");
    } else if (job.jitter && job.starting_deadline && *job.jitter >= *job.starting_deadline) {
      r.error(node["jitter"], path + ".jitter",
              "jitter must be less than starting_deadline (a start delayed past it would always be missed)");
    }
  }
  if (node["max_catchup"]) {
    if (auto v = r.integer(node["max_catchup"], path + ".max_catchup", 0, 100000)) {
      job.max_catchup = static_cast<std::size_t>(*v);
    }
  }
  if (node["output_tail_bytes"]) {
    if (auto v = r.integer(node["output_tail_bytes"], path + ".output_tail_bytes", 0, 1 << 20)) {
      job.output_tail_bytes = static_cast<std::size_t>(*v);
    }
  }
  if (node["paused"]) job.paused = r.boolean(node["paused"], path + ".paused").value_or(false);
  if (node["retry"]) {
    read_retry(node["retry"], path + ".retry", r, job.retry);
    if (job.retry.attempts > 1 && (job.run_on == RunOn::local || job.schedule.is_reboot())) {
      r.error(node["retry"], path + ".retry",
              "retry needs the store (run_on once or every_node): a local or @reboot job's runs are not recorded");
    }
  }
}

}  // namespace

std::optional<JobSpec> read_job(const YAML::Node& node, const std::string& path,
                                const NodeSettings& settings, YamlReader& r) {
  if (!node.IsMap()) {
    r.error(node, path, "expected a job mapping with at least name, schedule and command");
    return std::nullopt;
  }
  r.check_keys(node, path, kJobKeys);
  JobSpec job;
  if (!node["name"]) {
    r.error(node, path, "missing required key \"name\"");
  } else if (auto name = r.string(node["name"], path + ".name")) {
    if (auto bad = validate_job_name(*name)) {
      r.error(node["name"], path + ".name", *bad);
    }
    job.name = *name;
  }
  read_schedule(node, path, settings, r, job);
  read_action(node, path, r, job);
  read_policies(node, path, r, job);
  read_hooks(node, path, r, job.hooks);
  return job;
}

}  // namespace solocron::detail
