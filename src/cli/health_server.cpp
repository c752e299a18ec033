#include "cli/health_server.hpp"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "cli/dashboard.hpp"
#include "config/http_address.hpp"

namespace solocron::cli {

namespace {
constexpr std::size_t kMaxRequestBody = 1 << 20;
}  // namespace

HealthServer::HealthServer(const Metrics& metrics, ApiServer* api)
    : metrics_(metrics), server_(std::make_unique<httplib::Server>()) {
  // No request of these endpoints has a body of more than a few hundred bytes.
  server_->set_payload_max_length(kMaxRequestBody);
  if (api != nullptr) {
    api->install(*server_);
    register_dashboard(*server_);
  }
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const Scheduler* s = scheduler_.load();
    bool ready = s != nullptr && s->ready();
    res.status = ready ? 200 : 503;
    std::string why = s != nullptr ? s->status() : "waiting for the store";
    res.set_content(ready ? "ready\n" : why + "\n", "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(scheduler_.load()), "text/plain; version=0.0.4");
  });
}

HealthServer::~HealthServer() { stop(); }

void HealthServer::stop() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until the server thread has entered its accept loop: a stop
  // right after listen() (a start-up that fails at once) would leave that thread in accept()
  // for ever and this join with it. So it is repeated until the thread has left.
  while (!serving_done_.load()) {
    server_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
}

Expected<int, std::string> HealthServer::listen(const std::string& address) {
  auto parsed = detail::parse_http_address(address);
  if (!parsed) return Unexpected{parsed.error()};
  const auto& [host, port] = *parsed;
  int bound = port == 0 ? server_->bind_to_any_port(host.c_str())
                        : (server_->bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0) return Unexpected{"cannot listen on " + address};
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    serving_done_ = true;
  });
  return bound;
}

}  // namespace solocron::cli
