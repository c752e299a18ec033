// The daemon's HTTP endpoints, as an orchestrator probes them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <unistd.h>

#include <cstdlib>
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

// Makes a file unwritable even for root (which ignores permission bits): the immutable
// attribute where the file system has it, else the mode bits. False if neither is possible.
bool set_writable(const std::filesystem::path& file, bool writable) {
  if (::geteuid() == 0) {
    const std::string cmd = std::string("chattr ") + (writable ? "-i " : "+i ") + file.string() + " 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
  }
  std::error_code ec;
  std::filesystem::permissions(file, writable ? std::filesystem::perms::owner_write : std::filesystem::perms::none,
                               writable ? std::filesystem::perm_options::add : std::filesystem::perm_options::replace, ec);
  return !ec;
}

// A store file that is not writable: the node says so, is not ready, and recovers by itself
// once the file is writable again.
TEST(Health, NotReadyWhileTheStoreFileIsNotWritableThenRecovers) {
  TempDir dir;
  auto cfg = dir / "jobs.yaml";
  write_file(cfg, "node:\n  http: \"127.0.0.1:0\"\njobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n"
                  "    command: [\"true\"]\n");
  const auto db = dir / "s.db";
  const std::vector<std::string> args = {"run", "--config", cfg.string(), "--store", "sqlite:" + db.string(),
                                         "--node-id", "w1"};
  {
    Daemon first(args, dir / "first.log");  // makes the store
    ASSERT_TRUE(eventually([&] { return first.log().find("lease_acquired") != std::string::npos; }, 15s));
    first.signal(SIGTERM);
    ASSERT_EQ(first.wait(), 0);
  }
  if (!set_writable(db, false)) GTEST_SKIP() << "cannot make " << db << " unwritable here";
  Daemon d(args, dir / "w1.log");
  const int port = http_port(d);
  ASSERT_GT(port, 0) << d.log();
  httplib::Client client("127.0.0.1", port);
  EXPECT_TRUE(eventually([&] { return d.log().find("is not writable") != std::string::npos; }, 10s)) << d.log();
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  ASSERT_TRUE(set_writable(db, true));
  EXPECT_TRUE(eventually([&] {
    auto r = client.Get("/readyz");
    return r && r->status == 200;
  }, 40s)) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

}  // namespace
}  // namespace solocron::testing
