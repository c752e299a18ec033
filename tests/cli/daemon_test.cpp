// Process tests of the real `solocron run` / `check`: what an operator sees.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "cli/daemon_process.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class DaemonTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string store() const { return "sqlite:" + (dir / "state.db").string(); }
  std::string config(const std::string& jobs, const std::string& node = "") {
    auto path = dir / "jobs.yaml";
    write_file(path, "node:\n  log_format: json\n  heartbeat: 500ms\n  node_ttl: 3s\n" + node +
                         "jobs:\n" + jobs);
    return path.string();
  }
  std::vector<std::string> run_args(const std::string& cfg) {
    return {"run", "--config", cfg, "--store", store(), "--node-id", "n1"};
  }
  nlohmann::json history(const std::string& job) {
    auto [rc, out] = run({"history", job, "--limit", "1000", "--json", "--store", store()}, dir.path());
    EXPECT_EQ(rc, 0) << out;
    return nlohmann::json::parse(out);
  }
};

TEST_F(DaemonTest, EverySecondJobWritesEachSecondOnce) {
  auto ticks = dir / "ticks";
  auto cfg = config("  - name: tick\n    schedule: \"* * * * * *\"\n"
                    "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT $SOLOCRON_NODE >> " +
                    ticks.string() + "\"]\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= 4; }, 20s)) << d.log();
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait(), 0) << d.log();

  auto lines = lines_of(read_file(ticks));
  std::set<std::string> seen;
  std::vector<long> seconds;
  for (const auto& l : lines) {
    ASSERT_TRUE(seen.insert(l).second) << "ran twice: " << l;
    EXPECT_NE(l.find(" n1"), std::string::npos) << l;
    std::tm tm{};
    strptime(l.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    seconds.push_back(timegm(&tm));
  }
  std::sort(seconds.begin(), seconds.end());
  for (std::size_t i = 1; i < seconds.size(); ++i) EXPECT_EQ(seconds[i] - seconds[i - 1], 1) << "gap";
}

TEST_F(DaemonTest, StatusHistoryAndNodesDescribeTheCluster) {
  auto cfg = config("  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n"
                    "  - name: later\n    schedule: \"0 0 1 1 *\"\n    command: [\"true\"]\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return history("tick").size() >= 2; }, 20s)) << d.log();

  auto [rc, out] = run({"status", "--json", "--config", cfg, "--store", store()}, dir.path());
  ASSERT_EQ(rc, 0) << out;
  auto status = nlohmann::json::parse(out);
  ASSERT_EQ(status["nodes"].size(), 1u);
  EXPECT_EQ(status["nodes"][0]["node"], "n1");
  EXPECT_TRUE(status["nodes"][0]["live"].get<bool>());
  ASSERT_EQ(status["jobs"].size(), 2u);
  EXPECT_EQ(status["jobs"][0]["job"], "tick");
  EXPECT_EQ(status["jobs"][0]["last"]["node"], "n1");
  EXPECT_TRUE(status["jobs"][1]["last"].is_null());
  EXPECT_NE(status["jobs"][1]["next"].get<std::string>().find("-01-01T00:00:00+00:00"), std::string::npos);

  auto record = history("tick").at(0);
  for (const char* key : {"job", "scheduled_at", "state", "node", "fence", "attempt", "claimed_at",
                          "started_at", "finished_at", "exit_code", "signal", "output_tail"}) {
    EXPECT_TRUE(record.contains(key)) << key;
  }
  EXPECT_EQ(record["scheduled_at"].get<std::string>().back(), 'Z');

  auto text = run({"status", "--config", cfg, "--store", store()}, dir.path());
  EXPECT_NE(text.second.find("n1    live"), std::string::npos) << text.second;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, TimeoutKillsTheCommandAndItsChildren) {
  auto pidfile = dir / "child.pid";
  auto cfg = config("  - name: hang\n    schedule: \"* * * * * *\"\n    timeout: 1s\n    kill_grace: 1s\n"
                    "    overlap: forbid\n    shell: true\n    command: \"sleep 100 & echo $! >> " +
                    pidfile.string() + "; wait\"\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return !read_file(pidfile).empty(); }, 20s)) << d.log();
  pid_t grandchild = std::stoi(lines_of(read_file(pidfile)).at(0));
  ASSERT_TRUE(eventually([&] { return kill(grandchild, 0) != 0; }, 10s))
      << "the sleep 100 started by the job outlived its timeout";
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : history("hang")) {
      if (r["state"] == "timed_out") return true;
    }
    return false;
  }, 10s)) << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, SigtermWaitsForRunningJobThenStopsIt) {
  auto marks = dir / "marks";
  auto cfg = config("  - name: long\n    schedule: \"* * * * * *\"\n    overlap: forbid\n"
                    "    command: [\"sh\", \"-c\", \"echo started >> " + marks.string() +
                    "; sleep 100\"]\n",
                    "  shutdown_grace: 2s\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return !read_file(marks).empty(); }, 20s)) << d.log();
  auto t0 = std::chrono::steady_clock::now();
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait(), 0) << d.log();
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 1900ms) << "did not wait shutdown_grace for the running job";
  auto h = history("long");
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0]["state"], "interrupted") << h.dump(2);
  auto nodes = run({"nodes", "--json", "--store", store()}, dir.path());
  for (const auto& n : nlohmann::json::parse(nodes.second)) EXPECT_FALSE(n["live"].get<bool>()) << "lease not released";
}

TEST_F(DaemonTest, SighupWithABrokenFileKeepsTheOldJobs) {
  auto ticks = dir / "ticks";
  std::string job = "  - name: tick\n    schedule: \"* * * * * *\"\n"
                    "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT >> " + ticks.string() + "\"]\n";
  auto cfg = config(job);
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= 2; }, 20s)) << d.log();
  write_file(cfg, "jobs: [\n  this is not yaml");
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("reload_rejected") != std::string::npos; }, 10s))
      << d.log();
  auto before = lines_of(read_file(ticks)).size();
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= before + 2; }, 10s))
      << "the old job stopped after a rejected reload";
  EXPECT_NE(d.log().find("YAML syntax error"), std::string::npos);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, SighupAppliesAddedAndRemovedJobs) {
  auto a = dir / "a", b = dir / "b";
  auto job = [](const std::string& name, const std::filesystem::path& out) {
    return "  - name: " + name + "\n    schedule: \"* * * * * *\"\n    command: [\"sh\", \"-c\", \"echo x >> " +
           out.string() + "\"]\n";
  };
  auto cfg = config(job("a", a));
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return !read_file(a).empty(); }, 20s)) << d.log();
  config(job("b", b));
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return !read_file(b).empty(); }, 10s)) << d.log();
  auto a_lines = lines_of(read_file(a)).size();
  std::this_thread::sleep_for(2500ms);
  EXPECT_LE(lines_of(read_file(a)).size(), a_lines + 1) << "removed job a kept firing";
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, MissingCommandIsAFailedRunAndOthersKeepRunning) {
  auto ticks = dir / "ticks";
  auto cfg = config("  - name: broken\n    schedule: \"* * * * * *\"\n    command: [\"/nonexistent/solocron-nope\"]\n"
                    "  - name: tick\n    schedule: \"* * * * * *\"\n"
                    "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT >> " + ticks.string() + "\"]\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= 3; }, 20s)) << d.log();
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait(), 0) << d.log();
  auto h = history("broken");
  ASSERT_GE(h.size(), 2u);
  for (const auto& r : h) {
    if (r["state"] == "running" || r["state"] == "claimed") continue;
    EXPECT_EQ(r["state"], "failed") << r.dump();
    EXPECT_NE(r["output_tail"].get<std::string>().find("solocron-nope"), std::string::npos) << r.dump();
  }
}

TEST_F(DaemonTest, BadJobIsReportedAndTheOthersRun) {
  auto ticks = dir / "ticks";
  auto cfg = config("  - name: never\n    schedule: \"0 0 30 2 *\"\n    command: [\"true\"]\n"
                    "  - name: tick\n    schedule: \"* * * * * *\"\n"
                    "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT >> " + ticks.string() + "\"]\n");
  auto [rc, out] = run({"check", cfg}, dir.path());
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("jobs.yaml:7:15: jobs[0].schedule: \"0 0 30 2 *\" never fires"), std::string::npos) << out;
  EXPECT_NE(out.find("tick: * * * * * *"), std::string::npos) << out;
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= 2; }, 20s)) << d.log();
  EXPECT_NE(d.log().find("never fires"), std::string::npos);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, ASecondLiveProcessWithTheSameIdIsRefused) {
  auto cfg = config("  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n");
  Daemon first(run_args(cfg), dir / "first.log");
  ASSERT_TRUE(eventually([&] { return first.log().find("lease_acquired") != std::string::npos; }, 10s))
      << first.log();
  Daemon second(run_args(cfg), dir / "second.log");
  // It waits for the lease to expire; the first process keeps renewing it, so it gives up.
  EXPECT_EQ(second.wait(20s), 1) << second.log();
  EXPECT_NE(second.log().find("in use by another live process"), std::string::npos) << second.log();
  EXPECT_EQ(first.log().find("lease_lost"), std::string::npos) << first.log();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 0);
}

TEST_F(DaemonTest, RebootJobRunsOnceAtStartNotOnReload) {
  auto out = dir / "boot";
  auto ticks = dir / "ticks";
  auto cfg = config("  - name: boot\n    schedule: \"@reboot\"\n"
                    "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_NODE >> " + out.string() + "\"]\n"
                    "  - name: tick\n    schedule: \"* * * * * *\"\n"
                    "    command: [\"sh\", \"-c\", \"echo x >> " + ticks.string() + "\"]\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(out)).size() == 1; }, 10s)) << d.log();
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("reloaded") != std::string::npos; }, 10s)) << d.log();
  auto before = lines_of(read_file(ticks)).size();
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= before + 2; }, 10s));
  EXPECT_EQ(lines_of(read_file(out)), std::vector<std::string>{"n1"}) << "@reboot ran again";
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

TEST_F(DaemonTest, UnusableConfigExitsWithStatus2AndTheReason) {
  auto cfg = dir / "bad.yaml";
  write_file(cfg, "node:\n  heartbeat: soon\njobs: []\n");
  auto [rc, out] = run({"run", "--config", cfg.string(), "--store", store()}, dir.path());
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("bad.yaml:2:14: node.heartbeat: \"soon\" is not a duration"), std::string::npos) << out;
}

}  // namespace
}  // namespace solocron::testing
