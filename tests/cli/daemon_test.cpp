// Process tests of the real `solocron run` / `check`: what an operator sees.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

#include "cli/daemon_process.hpp"
#include "solocron/version.hpp"

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
  // The number of records, while a node may still be creating the store (history is read-only
  // and reports a store that is not there yet as an error).
  std::size_t records_so_far(const std::string& job) {
    auto [rc, out] = run({"history", job, "--limit", "1000", "--json", "--store", store()}, dir.path());
    return rc == 0 ? nlohmann::json::parse(out).size() : 0;
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
  ASSERT_TRUE(eventually([&] { return records_so_far("tick") >= 2; }, 20s)) << d.log();

  auto [rc, out] = run({"status", "--json", "--config", cfg, "--store", store()}, dir.path());
  ASSERT_EQ(rc, 0) << out;
  auto status = nlohmann::json::parse(out);
  ASSERT_EQ(status["nodes"].size(), 1u);
  EXPECT_EQ(status["nodes"][0]["node"], "n1");
  EXPECT_TRUE(status["nodes"][0]["live"].get<bool>());
  EXPECT_EQ(status["nodes"][0]["version"], solocron::version()) << "recorded with the lease";
  auto [nodes_rc, nodes_text] = run({"nodes", "--store", store()}, dir.path());
  EXPECT_EQ(nodes_rc, 0);
  EXPECT_TRUE(std::regex_search(nodes_text, std::regex("VERSION *\n"))) << nodes_text;
  EXPECT_TRUE(std::regex_search(nodes_text, std::regex("\nn1 +live .* " + std::string(solocron::version()) + " *\n")))
      << nodes_text;
  ASSERT_EQ(status["jobs"].size(), 2u);
  EXPECT_EQ(status["jobs"][0]["job"], "tick");
  EXPECT_EQ(status["jobs"][0]["last"]["node"], "n1");
  EXPECT_TRUE(status["jobs"][1]["last"].is_null());
  // One time format throughout: RFC 3339 UTC with Z, as history prints.
  EXPECT_NE(status["jobs"][1]["next"].get<std::string>().find("-01-01T00:00:00Z"), std::string::npos);
  EXPECT_EQ(status["jobs"][1]["paused"], false);

  auto record = history("tick").at(0);
  for (const char* key : {"job", "scheduled_at", "state", "node", "fence", "attempt", "claimed_at",
                          "started_at", "finished_at", "exit_code", "signal", "output_tail", "message"}) {
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
    EXPECT_NE(r["message"].get<std::string>().find("cannot execute '/nonexistent/solocron-nope'"),
              std::string::npos)
        << r.dump();
  }
}

// `run` starts only with a file `check` accepts; once running, a reload with one broken job
// keeps that job's previous definition and applies the others.
TEST_F(DaemonTest, RunRefusesWhatCheckRefusesAndAReloadKeepsTheOldDefinition) {
  auto ticks = dir / "ticks", other = dir / "other";
  auto tick = "  - name: tick\n    schedule: \"* * * * * *\"\n"
              "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT >> " + ticks.string() + "\"]\n";
  auto cfg = config("  - name: never\n    schedule: \"0 0 30 2 *\"\n    command: [\"true\"]\n" + tick);
  auto [rc, out] = run({"check", cfg}, dir.path());
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("jobs.yaml:7:15: jobs[0].schedule: \"0 0 30 2 *\" never fires"), std::string::npos) << out;
  EXPECT_NE(out.find("tick: * * * * * *"), std::string::npos) << out;
  auto refused = run(run_args(cfg), dir.path());
  EXPECT_EQ(refused.first, 2) << refused.second;
  EXPECT_NE(refused.second.find("error: " + cfg + ":7:15: jobs[0].schedule:"), std::string::npos)
      << refused.second;

  config(tick);
  Daemon d(run_args(cfg), dir / "n1.log");
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= 2; }, 20s)) << d.log();
  // tick is broken now (a zero timeout); a new job is added beside it.
  config(tick + "    timeout: 0s\n  - name: other\n    schedule: \"* * * * * *\"\n"
         "    command: [\"sh\", \"-c\", \"echo x >> " + other.string() + "\"]\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return !read_file(other).empty(); }, 10s)) << d.log();
  EXPECT_NE(d.log().find("job tick keeps its previous definition"), std::string::npos) << d.log();
  auto before = lines_of(read_file(ticks)).size();
  ASSERT_TRUE(eventually([&] { return lines_of(read_file(ticks)).size() >= before + 2; }, 10s));
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

// status shows a paused job as paused and every node of an every_node job; history prints an
// absent fence as null (JSON) and "-" (text).
TEST_F(DaemonTest, StatusShowsPausedJobsAndEveryNodeOfAPerNodeJob) {
  auto cfg = config("  - name: each\n    schedule: \"* * * * * *\"\n    run_on: every_node\n    command: [\"true\"]\n"
                    "  - name: held\n    schedule: \"* * * * * *\"\n    paused: true\n    command: [\"true\"]\n");
  Daemon a({"run", "--config", cfg, "--store", store(), "--node-id", "a"}, dir / "a.log");
  Daemon b({"run", "--config", cfg, "--store", store(), "--node-id", "b"}, dir / "b.log");
  auto nodes_of_each = [&] {
    std::set<std::string> nodes;
    if (records_so_far("each") == 0) return nodes;  // the nodes may still be creating the store
    for (const auto& r : history("each")) {
      if (r["state"] == "succeeded") nodes.insert(r["occurrence_node"].get<std::string>());
    }
    return nodes;
  };
  ASSERT_TRUE(eventually([&] { return nodes_of_each().size() == 2; }, 20s)) << a.log() << b.log();

  auto [rc, out] = run({"status", "--json", "--config", cfg, "--store", store()}, dir.path());
  ASSERT_EQ(rc, 0) << out;
  auto status = nlohmann::json::parse(out);
  ASSERT_EQ(status["jobs"].size(), 2u) << status.dump(2);
  const auto& each = status["jobs"][0];
  ASSERT_EQ(each["job"], "each");
  std::set<std::string> listed;
  for (const auto& r : each["last_by_node"]) listed.insert(r["occurrence_node"].get<std::string>());
  EXPECT_EQ(listed, (std::set<std::string>{"a", "b"})) << each.dump(2);
  const auto& held = status["jobs"][1];
  EXPECT_EQ(held["paused"], true);
  EXPECT_TRUE(held["next"].is_null());

  auto text = run({"status", "--config", cfg, "--store", store()}, dir.path()).second;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("\neach +[0-9TZ:-]+ +[0-9TZ:-]+ +[a-z]+ +a\n"))) << text;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("\neach +[0-9TZ:-]+ +[0-9TZ:-]+ +[a-z]+ +b\n"))) << text;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("\nheld +paused +- +- +-\n"))) << text;
  a.signal(SIGTERM);
  b.signal(SIGTERM);
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);
}

TEST_F(DaemonTest, HistoryPrintsAbsentFencesAsNullAndDash) {
  // A job whose second-by-second ticks are missed (misfire: skip) while no node runs.
  auto cfg = config("  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n");
  {
    Daemon d(run_args(cfg), dir / "n1.log");
    ASSERT_TRUE(eventually([&] { return records_so_far("tick") >= 1; }, 20s)) << d.log();
    d.signal(SIGTERM);
    ASSERT_EQ(d.wait(), 0);
  }
  std::this_thread::sleep_for(3s);
  Daemon d(run_args(cfg), dir / "n1b.log");
  auto missed = [&] {
    for (const auto& r : history("tick")) {
      if (r["state"] == "missed") return r;
    }
    return nlohmann::json();
  };
  ASSERT_TRUE(eventually([&] { return !missed().is_null(); }, 20s)) << d.log();
  EXPECT_TRUE(missed()["fence"].is_null()) << missed().dump();
  auto text = run({"history", "tick", "--store", store()}, dir.path()).second;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("tick +missed +- +- +1 "))) << text;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

// The reason a run could not start is in its `finished` line; levels are spelled as in
// node.log_level.
TEST_F(DaemonTest, FinishedLineSaysWhyARunCouldNotStart) {
  auto cfg = config("  - name: broken\n    schedule: \"* * * * * *\"\n    command: [\"/nonexistent/solocron-nope\"]\n");
  Daemon d(run_args(cfg), dir / "n1.log");
  auto finished = [&] {
    for (const auto& line : lines_of(d.log())) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j["event"] == "finished") return j;
    }
    return nlohmann::json();
  };
  ASSERT_TRUE(eventually([&] { return !finished().is_null(); }, 20s)) << d.log();
  EXPECT_EQ(finished()["level"], "warn") << finished().dump();
  EXPECT_NE(finished()["message"].get<std::string>().find("cannot execute '/nonexistent/solocron-nope'"),
            std::string::npos) << finished().dump();
  EXPECT_EQ(d.log().find("\"level\":\"warning\""), std::string::npos);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
}

// A reload that changes node settings names those that need a restart and keeps them; the
// log level is applied at once.
TEST_F(DaemonTest, ReloadNamesTheNodeSettingsThatNeedARestart) {
  auto job = std::string("  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n");
  auto cfg = config(job);
  Daemon d({"run", "--config", cfg, "--node-id", "n1"}, dir / "n1.log",
           Env{{{"SOLOCRON_STORE", store()}}, {}});
  ASSERT_TRUE(eventually([&] { return d.log().find("node_started") != std::string::npos; }, 20s)) << d.log();
  write_file(cfg, "node:\n  log_format: text\n  log_level: warn\n  heartbeat: 250ms\n  node_ttl: 3s\n"
                  "  store: \"sqlite:elsewhere.db\"\n  http: \"127.0.0.1:0\"\njobs:\n" + job);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("reloaded") != std::string::npos; }, 10s)) << d.log();
  auto log = d.log();
  // store comes from SOLOCRON_STORE, which wins over node.store: not a change.
  EXPECT_NE(log.find("node settings changed that take effect only after a restart: http, log_format, "
                     "heartbeat; the running values are kept"), std::string::npos) << log;
  EXPECT_NE(log.find("node settings applied: log_level"), std::string::npos) << log;
  // At warn, the routine run events are gone; the log stays JSON (log_format is kept).
  auto size = log.size();
  std::this_thread::sleep_for(2500ms);
  auto later = d.log().substr(size);
  EXPECT_EQ(later.find("\"event\":\"started\""), std::string::npos) << later;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "elsewhere.db"));
}

}  // namespace
}  // namespace solocron::testing
