#include "cli/health_server.hpp"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "cli/version.hpp"
#include "config/http_address.hpp"

namespace solocron::cli {

namespace {

void counter(std::string& out, const char* name, const char* label, std::uint64_t value) {
  out += std::string("solocron_") + name + "{outcome=\"" + label + "\"} " + std::to_string(value) + "\n";
}

}  // namespace

std::string render_metrics(const Statistics& s, bool ready) {
  std::string out;
  out += "# HELP solocron_occurrences_total Occurrences handled by this node, by outcome.\n";
  out += "# TYPE solocron_occurrences_total counter\n";
  const std::pair<const char*, std::uint64_t> outcomes[] = {
      {"fired", s.fired},           {"claim_won", s.claims_won},   {"claim_taken", s.claims_taken},
      {"started", s.started},       {"succeeded", s.succeeded},    {"failed", s.failed},
      {"timed_out", s.timed_out},   {"interrupted", s.interrupted}, {"lost", s.lost},
      {"reclaimed", s.reclaimed},   {"missed", s.missed},          {"skipped_overlap", s.skipped_overlap},
      {"replaced", s.replaced},     {"too_early", s.too_early},    {"not_claimed", s.not_claimed},
      {"stale_write", s.stale_writes}};
  for (const auto& [label, value] : outcomes) counter(out, "occurrences_total", label, value);
  out += "# TYPE solocron_store_errors_total counter\nsolocron_store_errors_total " +
         std::to_string(s.store_errors) + "\n";
  out += "# TYPE solocron_clock_steps_total counter\nsolocron_clock_steps_total " +
         std::to_string(s.clock_steps) + "\n";
  out += "# TYPE solocron_lease_lost_total counter\nsolocron_lease_lost_total " +
         std::to_string(s.lease_lost) + "\n";
  out += "# TYPE solocron_running gauge\nsolocron_running " + std::to_string(s.running) + "\n";
  out += "# TYPE solocron_queued gauge\nsolocron_queued " + std::to_string(s.queued) + "\n";
  out += "# TYPE solocron_ready gauge\nsolocron_ready " + std::string(ready ? "1" : "0") + "\n";
  out += "# HELP solocron_build_info The version of this solocron binary.\n";
  out += "# TYPE solocron_build_info gauge\nsolocron_build_info{version=\"" + std::string(kVersion) +
         "\"} 1\n";
  return out;
}

HealthServer::HealthServer() : server_(std::make_unique<httplib::Server>()) {
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
    const Scheduler* s = scheduler_.load();
    Statistics stats = s != nullptr ? s->statistics() : Statistics{};
    res.set_content(render_metrics(stats, s != nullptr && s->ready()), "text/plain; version=0.0.4");
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
