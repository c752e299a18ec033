// Where the operator commands find the store: --store URL, else the `node.store` of --config,
// else the embedded default.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "solocron/store.hpp"

namespace solocron::cli {

// The store used when neither a flag nor the configuration names one: a SQLite file in the
// working directory, so several nodes started from one directory share it.
inline constexpr const char* kDefaultStoreUrl = "sqlite:solocron.db";

struct StoreOptions {
  std::string store_url;
  std::string config_path;

  void add_to(CLI::App& cmd);
  // Resolves the URL as described above; throws StoreError(invalid) on an unusable config.
  std::string resolve() const;
  // Opens the store and migrates it; read-only (history, nodes, status), it is never created
  // nor upgraded, and migrate() only checks that its schema is the one this binary reads.
  std::unique_ptr<Store> open(const OpenOptions& options = {}) const;
};

}  // namespace solocron::cli
