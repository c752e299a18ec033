#include "config/hook_reader.hpp"

#include "config/http_reader.hpp"

namespace solocron::detail {

const std::initializer_list<std::string_view> kHookKeys = {"on_failure", "on_missed", "on_success"};

namespace {

const std::initializer_list<std::string_view> kHookSpecKeys = {"command", "url", "headers", "ca_file",
                                                               "timeout"};

std::optional<HookSpec> read_hook(const YAML::Node& n, const std::string& key, YamlReader& r) {
  if (!n.IsMap()) {
    r.error(n, key, "expected {command: [program, arg, ...]} or {url: \"https://...\"}");
    return std::nullopt;
  }
  r.check_keys(n, key, kHookSpecKeys);
  HookSpec hook;
  const bool has_command = static_cast<bool>(n["command"]);
  const bool has_url = static_cast<bool>(n["url"]);
  if (has_command == has_url) {
    r.error(n, key, has_command ? "a hook has either command or url, not both"
                                : "missing \"command\" (a list such as [\"notify.sh\"]) or \"url\"");
    return std::nullopt;
  }
  if (has_command) {
    if (auto argv = r.string_list(n["command"], key + ".command")) {
      if (argv->empty()) r.error(n["command"], key + ".command", "the command list is empty");
      hook.command = std::move(*argv);
    }
    for (const char* k : {"headers", "ca_file"}) {
      if (n[k]) r.error(n[k], key + "." + k, std::string(k) + " applies to a url hook");
    }
  } else if (auto url = read_url(n["url"], key + ".url", r)) {
    hook.url = std::move(*url);
  }
  if (const auto& h = n["headers"]; h && has_url) read_headers(h, key + ".headers", r, hook.headers);
  if (const auto& f = n["ca_file"]; f && has_url) {
    if (auto file = read_ca_file(f, key + ".ca_file", r)) hook.ca_file = std::move(*file);
  }
  if (n["timeout"]) {
    if (auto t = r.positive_duration(n["timeout"], key + ".timeout")) hook.timeout = *t;
  }
  return hook;
}

}  // namespace

void read_hooks(const YAML::Node& map, const std::string& path, YamlReader& r, Hooks& hooks) {
  if (const auto& n = map["on_failure"]) hooks.on_failure = read_hook(n, path + ".on_failure", r);
  if (const auto& n = map["on_missed"]) hooks.on_missed = read_hook(n, path + ".on_missed", r);
  if (const auto& n = map["on_success"]) hooks.on_success = read_hook(n, path + ".on_success", r);
}

}  // namespace solocron::detail
