#include "scheduler/job_publish.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "http/http_call.hpp"
#include "scheduler/claimer.hpp"

namespace solocron::detail {

namespace {

using nlohmann::json;

template <class E>
const char* name_of(E value, std::initializer_list<const char*> names) {
  return *(names.begin() + static_cast<std::size_t>(value));
}

json optional_ms(const std::optional<std::chrono::milliseconds>& d) {
  return d ? json(d->count()) : json(nullptr);
}

json names_of(const std::map<std::string, std::string>& m) {
  json out = json::array();
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

json command_json(const CommandSpec& c) {
  json a = {{"kind", "command"}, {"working_dir", c.working_dir}, {"env", names_of(c.env)}};
  if (c.shell) {
    a["shell"] = c.shell_command;
  } else {
    a["argv"] = c.argv;
  }
  a["inherit_env"] = name_of(c.inherit_env.mode, {"all_but_credentials", "all", "none", "only"});
  if (c.inherit_env.mode == InheritEnv::Mode::only) a["inherit_env_names"] = c.inherit_env.names;
  return a;
}

json http_json(const HttpSpec& h) {
  std::string error;
  const auto url = parse_http_url(h.url, &error);
  json success = json::array();
  for (const auto& [lo, hi] : h.success) success.push_back({lo, hi});
  return {{"kind", "http"},
          {"method", h.method},
          {"url", url ? url->redacted() : std::string("(invalid)")},
          {"headers", names_of(h.headers)},
          {"body_bytes", h.body.size()},
          {"timeout_ms", h.timeout.count()},
          {"success", success},
          {"ca_file", h.ca_file}};
}

// Where each hook goes (a URL's password masked), never its header values.
json hooks_json(const Hooks& hooks) {
  json out = json::object();
  auto one = [&](const char* name, const std::optional<HookSpec>& h) {
    if (!h) return;
    std::string error;
    const auto url = h->url.empty() ? std::nullopt : parse_http_url(h->url, &error);
    out[name] = h->command.empty() ? json{{"url", url ? url->redacted() : std::string("(invalid)")},
                                          {"headers", names_of(h->headers)}}
                                   : json{{"command", h->command}};
    out[name]["timeout_ms"] = h->timeout.count();
  };
  one("on_failure", hooks.on_failure);
  one("on_missed", hooks.on_missed);
  one("on_success", hooks.on_success);
  return out;
}

json action_json(const JobSpec& spec) {
  if (const auto* c = std::get_if<CommandSpec>(&spec.action)) return command_json(*c);
  if (const auto* h = std::get_if<HttpSpec>(&spec.action)) return http_json(*h);
  return {{"kind", "callable"}};  // code: no two can be compared
}

}  // namespace

PublishedJob published_job(const JobSpec& spec, bool paused) {
  json d = {
      {"schedule", spec.schedule.text()},
      {"time_zone", spec.schedule.time_zone()},
      {"run_on", name_of(spec.run_on, {"once", "every_node", "local"})},
      {"overlap", name_of(spec.overlap, {"allow", "forbid", "replace"})},
      {"misfire", name_of(spec.misfire, {"skip", "run_once", "run_all"})},
      {"max_catchup", spec.max_catchup},
      {"delivery", name_of(spec.delivery, {"at_most_once", "at_least_once"})},
      {"timeout_ms", optional_ms(spec.timeout)},
      {"kill_grace_ms", spec.kill_grace.count()},
      {"starting_deadline_ms", optional_ms(spec.starting_deadline)},
      {"jitter_ms", optional_ms(spec.jitter)},
      {"output_tail_bytes", spec.output_tail_bytes},
      {"paused", paused},
      {"action", action_json(spec)},
      {"hooks", hooks_json(spec.hooks)},
  };
  // Only when set, so that the fingerprints of jobs without one stay what older versions
  // published (a rolling upgrade shows no drift for them).
  if (spec.retry.attempts > 1) {
    d["retry"] = {{"attempts", spec.retry.attempts},
                  {"backoff_ms", spec.retry.backoff.count()},
                  {"max_backoff_ms", spec.retry.max_backoff.count()},
                  {"jitter", spec.retry.jitter},
                  {"until_next", spec.retry.until_next}};
  }
  // json objects keep their keys sorted: the same definition always dumps the same text.
  std::string text = d.dump();
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                static_cast<unsigned long long>(stable_hash(text)));
  return {spec.name, fingerprint, std::move(text)};
}

}  // namespace solocron::detail
