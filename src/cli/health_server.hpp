// The node's HTTP endpoints for orchestrators: /healthz (the process answers), /readyz (the node
// holds its lease, reaches the store and its clock agrees with the store's; 503 with the reason
// otherwise) and /metrics (cli/metrics.hpp, in the Prometheus text format); and, given one, the
// HTTP API (cli/api_server.hpp) on the same port.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "cli/api_server.hpp"
#include "cli/metrics.hpp"
#include "solocron/expected.hpp"
#include "solocron/scheduler.hpp"

namespace httplib {
class Server;
}

namespace solocron::cli {

class HealthServer {
 public:
  // Serves from the start; until attach() the node reports not ready ("waiting for the store").
  explicit HealthServer(const Metrics& metrics, ApiServer* api = nullptr);
  ~HealthServer();
  void attach(const Scheduler* scheduler) { scheduler_ = scheduler; }
  // Stops serving and waits for requests in flight; call before the scheduler goes away.
  void stop();
  // `address` is "HOST:PORT" (e.g. "127.0.0.1:9180" or ":9180" for all interfaces; see
  // config/http_address.hpp). Returns the port bound (a free one for port 0).
  Expected<int, std::string> listen(const std::string& address);

 private:
  std::atomic<const Scheduler*> scheduler_{nullptr};
  const Metrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> serving_done_{false};
  std::thread thread_;
};


}  // namespace solocron::cli
