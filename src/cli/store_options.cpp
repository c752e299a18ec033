#include "cli/store_options.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "store/store_url.hpp"

namespace solocron::cli {

std::string default_requester() {
  std::string user = "uid " + std::to_string(geteuid());
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) user = pw->pw_name;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return user;
  return user + "@" + host;
}

std::string resolve_store_url(const std::optional<std::string>& flag, const std::string& from_config) {
  std::string url;
  if (flag) {
    if (flag->empty()) {
      throw StoreError(StoreError::Kind::invalid,
                       "--store is empty (expected a URL such as sqlite:solocron.db; leave it out "
                       "for SOLOCRON_STORE, node.store or the default)");
    }
    url = *flag;
  } else if (const char* env = std::getenv(kStoreEnvVariable); env != nullptr) {
    if (*env == '\0') {
      throw StoreError(StoreError::Kind::invalid,
                       std::string(kStoreEnvVariable) + " is set but empty (unset it, or set a URL)");
    }
    url = env;
  } else {
    url = from_config.empty() ? kDefaultStoreUrl : from_config;
  }
  if (auto bad = detail::store_url_error(url)) throw StoreError(StoreError::Kind::invalid, *bad);
  return url;
}

void add_config_limit_option(CLI::App& cmd, detail::ConfigLimits& limits) {
  cmd.add_option("--max-config-bytes", limits.max_bytes,
                 "Refuse a configuration file larger than this (default 4194304, 4 MiB)")
      ->check(CLI::PositiveNumber);
}

void StoreOptions::add_to(CLI::App& cmd) {
  cmd.add_option_function<std::string>(
      "--store", [this](const std::string& url) { store_url = url; },
      "Store URL (sqlite:FILE, postgres://..., memory:); default: $SOLOCRON_STORE, then the "
      "node.store of --config, then sqlite:solocron.db");
  cmd.add_option("--config", config_path, "Read the store URL from this configuration file");
  add_config_limit_option(cmd, limits);
}

std::string StoreOptions::resolve() const {
  std::string from_config;
  if (!config_path.empty() && !store_url && std::getenv(kStoreEnvVariable) == nullptr) {
    auto load = detail::load_config_file(config_path, limits);
    if (load.fatal) throw StoreError(StoreError::Kind::invalid, load.errors.at(0).to_string());
    from_config = load.config.store_url;
  }
  return resolve_store_url(store_url, from_config);
}

std::unique_ptr<Store> StoreOptions::open(const OpenOptions& options) const {
  auto store = open_store(resolve(), options);
  store->migrate();
  return store;
}

}  // namespace solocron::cli
