// Where the commands find the store: --store URL, else the environment variable
// SOLOCRON_STORE, else the `node.store` of --config, else the embedded default.
//
// SOLOCRON_STORE exists so that a URL with a password need not be on a command line, where
// every user of the host sees it (`ps`, /proc/PID/cmdline). A URL is validated
// (store/store_url.hpp) before anything is opened: a bad one is exit status 2 in every command.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "cli/operation_error.hpp"
#include "cli/user_text.hpp"
#include "config/config.hpp"
#include "solocron/store.hpp"

namespace solocron::cli {

// The store used when nothing names one: a SQLite file in the working directory, so several
// nodes started from one directory share it.
inline constexpr const char* kDefaultStoreUrl = "sqlite:solocron.db";
inline constexpr const char* kStoreEnvVariable = "SOLOCRON_STORE";

// The URL by the precedence above, given the flag (if given) and the file's node.store (empty
// if unset). Throws StoreError(invalid) for an empty --store or SOLOCRON_STORE, or a URL that
// store_url_error() rejects.
std::string resolve_store_url(const std::optional<std::string>& flag, const std::string& from_config);

// Adds --max-config-bytes to `cmd`, bound to `limits`.
void add_config_limit_option(CLI::App& cmd, detail::ConfigLimits& limits);

struct StoreOptions {
  std::optional<std::string> store_url;  // --store, when given (possibly empty: an error)
  std::string config_path;
  detail::ConfigLimits limits;

  void add_to(CLI::App& cmd);
  // Resolves the URL as described above; throws StoreError(invalid) on an unusable config
  // or URL.
  std::string resolve() const;
  // Opens the store and migrates it; read-only (history, nodes, status), it is never created
  // nor upgraded, and migrate() only checks that its schema is the one this binary reads.
  std::unique_ptr<Store> open(const OpenOptions& options = {}) const;
};

// "user@host": who asked (trigger, pause, backfill), when --by does not say.
std::string default_requester();

// Runs a command's `body`, turning store failures into a message and exit status 1 (2 for
// StoreError::invalid and every OperationError: bad input). `body` returns the exit status, or nothing for 0.
template <class F>
void guarded(int& exit_code, F body) {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      exit_code = 0;
    } else {
      exit_code = body();
    }
  } catch (const StoreError& e) {
    print_error(e.what());
    exit_code = e.kind() == StoreError::Kind::invalid ? 2 : 1;
  } catch (const OperationError& e) {
    print_error(e.what());
    exit_code = 2;
  }
}

}  // namespace solocron::cli
