// The HTTP API under /api/v1/ (docs/api.md; the OpenAPI document is cli/openapi.json): every
// node answers for the whole cluster from the store, and steers it with the operations of the
// commands (cli/cluster_ops.hpp, cli/backfill_plan.hpp).
//
// It has its own store connection, opened on first use and again after a failure, and one
// request at a time uses it: the API never delays a claim, a run or a lease renewal, and a
// burst of requests queues here rather than in the store.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/api_tokens.hpp"
#include "solocron/store.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace solocron::cli {

struct ApiSettings {
  std::string node_id;
  // The node listens on loopback only: reading needs no token there.
  bool loopback_bind = false;
  // Called with one line for the node's log after each operation that changed the cluster,
  // and (refused = true) for each operation refused for want of a token or role.
  std::function<void(bool refused, const std::string&)> audit;
};

class ApiServer {
 public:
  using Connect = std::function<std::unique_ptr<Store>()>;
  ApiServer(ApiSettings settings, Connect connect);
  // nullopt: no tokens file (read-only, on loopback only). Safe while serving (SIGHUP).
  void set_tokens(std::optional<ApiTokens> tokens);
  // Until called, every call answers 503: the store may not have its schema yet.
  void set_store_ready() { store_ready_ = true; }
  // Adds the /api/v1/ routes to `server`.
  void install(httplib::Server& server);

 private:
  enum class Need { read, operate };
  using Handler = std::function<nlohmann::json(Store&, const httplib::Request&, const ApiPrincipal&, int& status)>;
  void answer(const httplib::Request& req, httplib::Response& res, Need need, const Handler& handler);
  // The caller's identity, or nullopt with the error already written to `res`.
  std::optional<ApiPrincipal> authorize(const httplib::Request& req, httplib::Response& res, Need need);
  Store& store();  // under store_mutex_
  void audit(const std::string& line) const;

  ApiSettings settings_;
  Connect connect_;
  std::mutex tokens_mutex_;
  std::shared_ptr<const ApiTokens> tokens_;  // null: no tokens file
  std::atomic<bool> store_ready_{false};
  std::mutex store_mutex_;
  std::unique_ptr<Store> store_;
};

// Writes {"error": {"code", "message"}} with `status`.
void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message);
// Whether an HTTP address (config/http_address.hpp) listens on loopback only.
bool is_loopback_address(const std::string& address);

}  // namespace solocron::cli
