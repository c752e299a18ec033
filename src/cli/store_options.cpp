#include "cli/store_options.hpp"

#include "config/config.hpp"

namespace solocron::cli {

void StoreOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--store", store_url, "Store URL (sqlite:FILE, postgres://..., memory:)");
  cmd.add_option("--config", config_path, "Read the store URL from this configuration file");
}

std::string StoreOptions::resolve() const {
  if (!store_url.empty()) return store_url;
  if (!config_path.empty()) {
    auto load = detail::load_config_file(config_path);
    if (load.fatal) {
      throw StoreError(StoreError::Kind::invalid, load.errors.at(0).to_string());
    }
    if (!load.config.store_url.empty()) return load.config.store_url;
  }
  return kDefaultStoreUrl;
}

std::unique_ptr<Store> StoreOptions::open(const OpenOptions& options) const {
  auto store = open_store(resolve(), options);
  store->migrate();
  return store;
}

}  // namespace solocron::cli
