// Store URLs, checked without opening anything.
//
// Every command that is given a store URL (`node.store` read by `check`, `run` and a reload;
// `--store` or SOLOCRON_STORE of run, history, nodes and status) asks store_url_error() first,
// so a URL that cannot work as written is a configuration error (exit status 2) everywhere,
// reported before anything is opened, listened on or retried. What only the store itself can
// answer (is the server up, does the directory exist, is the password right) is left to it.
//
// Accepted, as open_store() reads them:
//   memory:  (or memory://)
//   sqlite:relative/path.db   sqlite:///absolute/path.db   sqlite:/absolute/path.db
//   postgres://[user[:password]@][host][:port][,host[:port]...][/dbname][?name=value&...]
//   (also postgresql://), where each port is 1-65535, each query parameter is one libpq knows,
//   and sslmode is one of libpq's: disable, allow, prefer, require, verify-ca, verify-full.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace solocron::detail {

// Why `url` cannot name a store, or nullopt when it can. The message quotes the URL with its
// password masked, and never quotes a password on its own.
std::optional<std::string> store_url_error(std::string_view url);

}  // namespace solocron::detail
