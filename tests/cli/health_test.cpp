// The daemon's HTTP endpoints, as an orchestrator probes them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <regex>

#include "cli/daemon_process.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

// The port the daemon logged for its HTTP endpoints (it was told to pick one), or 0.
int http_port(const Daemon& d) {
  int port = 0;
  eventually([&] {
    std::smatch m;
    std::string log = d.log();
    if (!std::regex_search(log, m, std::regex("on port ([0-9]+)"))) return false;
    port = std::stoi(m[1]);
    return true;
  }, 10s);
  return port;
}

TEST(Health, ReadyOnceTheLeaseIsHeldAndMetricsCountRuns) {
  TempDir dir;
  auto cfg = dir / "jobs.yaml";
  write_file(cfg, "node:\n  http: \"127.0.0.1:0\"\njobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n"
                  "    command: [\"true\"]\n");
  Daemon d({"run", "--config", cfg.string(), "--store", "sqlite:" + (dir / "s.db").string(),
            "--node-id", "h1"},
           dir / "h1.log");
  int port = http_port(d);
  ASSERT_GT(port, 0) << d.log();
  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  ASSERT_TRUE(eventually([&] {
    auto r = client.Get("/readyz");
    return r && r->status == 200;
  }, 15s)) << d.log();
  ASSERT_TRUE(eventually([&] {
    auto r = client.Get("/metrics");
    return r && r->body.find("solocron_occurrences_total{outcome=\"succeeded\"} 0") == std::string::npos &&
           r->body.find("solocron_occurrences_total{outcome=\"succeeded\"}") != std::string::npos;
  }, 15s)) << client.Get("/metrics")->body;
  EXPECT_NE(client.Get("/metrics")->body.find("solocron_ready 1"), std::string::npos);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST(Health, NotReadyWhileTheStoreIsUnreachable) {
  TempDir dir;
  auto cfg = dir / "jobs.yaml";
  write_file(cfg, "node:\n  http: \"127.0.0.1:0\"\njobs: []\n");
  // Nothing listens on port 1 of loopback: the store is down from the start.
  Daemon d({"run", "--config", cfg.string(), "--store",
            "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", "--node-id", "h2"},
           dir / "h2.log");
  int port = http_port(d);
  ASSERT_GT(port, 0) << d.log();
  ASSERT_TRUE(eventually([&] { return d.log().find("retrying") != std::string::npos; }, 15s)) << d.log();
  httplib::Client client("127.0.0.1", port);
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "waiting for the store\n");
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0) << "a node waiting for its store must still stop on SIGTERM";
}

}  // namespace
}  // namespace solocron::testing
