// The node's HTTP endpoints for orchestrators: /healthz (the process answers), /readyz (the node
// holds its lease, reaches the store and its clock agrees with the store's; 503 with the reason
// otherwise) and /metrics (the scheduler's counters in the Prometheus text format, and
// solocron_build_info{version="..."}).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "solocron/expected.hpp"
#include "solocron/scheduler.hpp"

namespace httplib {
class Server;
}

namespace solocron::cli {

class HealthServer {
 public:
  // Serves from the start; until attach() the node reports not ready ("waiting for the store").
  HealthServer();
  ~HealthServer();
  void attach(const Scheduler* scheduler) { scheduler_ = scheduler; }
  // Stops serving and waits for requests in flight; call before the scheduler goes away.
  void stop();
  // `address` is "HOST:PORT" (e.g. "127.0.0.1:9180" or ":9180" for all interfaces; see
  // config/http_address.hpp). Returns the port bound (a free one for port 0).
  Expected<int, std::string> listen(const std::string& address);

 private:
  std::atomic<const Scheduler*> scheduler_{nullptr};
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> serving_done_{false};
  std::thread thread_;
};

// Prometheus text exposition of the counters, e.g. "solocron_runs_total{outcome=\"succeeded\"} 3".
std::string render_metrics(const Statistics& stats, bool ready);

}  // namespace solocron::cli
