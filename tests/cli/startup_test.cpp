// Start-up and shutdown of the real `solocron run` never hang: every failure exits 2 with its
// message, with or without --http; SIGTERM is honoured while the store is retried and while a
// reload reads a file; an oversized file is refused before it is read.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "cli/daemon_process.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

const std::string kJobs = "jobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n";

struct Failure {
  std::string store;
  std::string message;
};

// 20 starts of each: they hung in 13 of 16 tries when /healthz was up (the main thread joined
// the HTTP thread while it sat in accept()).
TEST(Startup, EveryConfigurationFailureExitsWithStatus2) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, kJobs);
  const Failure failures[] = {
      {"mysql://x", "unknown scheme \"mysql\""},
      {"sqlite:" + (dir / "missing" / "s.db").string(), "is missing or not writable"},
      {"postgres://u@127.0.0.1:99999/db", "port 99999 is out of range 1-65535"},
      {"postgres://u@127.0.0.1:5432/db?sslmode=bogus", "sslmode \"bogus\" is not one of"},
  };
  for (const auto& f : failures) {
    for (int i = 0; i < 20; ++i) {
      std::vector<std::string> args = {"run", "--config", cfg, "--store", f.store, "--node-id", "n1"};
      if (i % 4 != 3) args.insert(args.end(), {"--http", "127.0.0.1:0"});
      auto r = run_child(args, dir.path(), {}, 5s);
      ASSERT_EQ(r.code, 2) << f.store << " try " << i << " (-1: still running after 5 s)\n" << r.output;
      ASSERT_NE(r.output.find(f.message), std::string::npos) << r.output;
    }
  }
}

TEST(Startup, StoreUrlPrecedenceAndAnEmptyStore) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, "node:\n  store: \"sqlite:" + (dir / "from-config.db").string() + "\"\n" + kJobs);
  const std::string env_db = "sqlite:" + (dir / "from-env.db").string();
  // SOLOCRON_STORE wins over node.store, --store over both. `nodes` only reads: it names the
  // store it would have read, and creates none.
  auto h = run_child({"nodes", "--config", cfg}, dir.path(), Env{{{"SOLOCRON_STORE", env_db}}, {}}, 10s);
  EXPECT_EQ(h.code, 2) << h.output;
  EXPECT_NE(h.output.find("from-env.db\" does not exist"), std::string::npos) << h.output;
  h = run_child({"nodes", "--config", cfg, "--store", "sqlite:" + (dir / "from-flag.db").string()},
                dir.path(), Env{{{"SOLOCRON_STORE", env_db}}, {}}, 10s);
  EXPECT_EQ(h.code, 2) << h.output;
  EXPECT_NE(h.output.find("from-flag.db\" does not exist"), std::string::npos) << h.output;
  h = run_child({"nodes", "--config", cfg}, dir.path(), Env{{}, {"SOLOCRON_STORE"}}, 10s);
  EXPECT_EQ(h.code, 2) << h.output;
  EXPECT_NE(h.output.find("from-config.db\" does not exist"), std::string::npos) << h.output;
  for (const char* db : {"from-env.db", "from-flag.db", "from-config.db"}) {
    EXPECT_FALSE(std::filesystem::exists(dir / db)) << db;
  }

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"history", "--store", ""}, {"status", "--store", ""}, {"run", "--config", cfg, "--store", ""}}) {
    auto r = run_child(args, dir.path(), {}, 10s);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("error: --store is empty"), std::string::npos) << r.output;
  }
  auto r = run_child({"nodes"}, dir.path(), Env{{{"SOLOCRON_STORE", ""}}, {}}, 10s);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("SOLOCRON_STORE is set but empty"), std::string::npos) << r.output;
  r = run_child({"history", "--store", "postgres://u@h/db?sslmode=bogus"}, dir.path(), {}, 10s);
  EXPECT_EQ(r.code, 2) << "a bad URL is a configuration error in every command\n" << r.output;
}

// The version printed is the project's, as CMakeLists.txt declares it.
TEST(Startup, VersionComesFromTheBuild) {
  const auto top = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  std::smatch m;
  const std::string cmake = read_file(top / "CMakeLists.txt");
  ASSERT_TRUE(std::regex_search(cmake, m, std::regex(R"(project\(solocron VERSION ([0-9.]+))")));
  TempDir dir;
  auto r = run_child({"--version"}, dir.path(), {}, 10s);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output, "solocron " + m[1].str() + "\n");
}

// An unreachable store is retried with a growing wait, each failure logged with its reason;
// SIGTERM while waiting exits 0.
TEST(Startup, AnUnreachableStoreIsRetriedAndSigtermStillExits0) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, kJobs);
  Daemon d({"run", "--config", cfg, "--node-id", "n1"}, dir / "n1.log",
           Env{{{"SOLOCRON_STORE", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}}, {}});
  ASSERT_TRUE(eventually([&] { return d.log().find("retrying in 2s (attempt 2)") != std::string::npos; }, 15s))
      << d.log();
  EXPECT_NE(d.log().find("retrying in 1s (attempt 1)"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("cannot connect"), std::string::npos) << "the reason is logged\n" << d.log();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(5s), 0) << d.log();
}

// A file larger than the limit is refused before it is read: the message and exit status, and
// a peak memory far below what parsing it would take (gigabytes for 100 MB).
TEST(Startup, AHundredMegabyteFileIsRefusedBeforeParsing) {
  TempDir dir;
  const auto big = (dir / "big.yaml").string();
  {
    std::ofstream out(big);
    out << "jobs:\n";
    const std::string job = "  - {name: j, schedule: \"* * * * *\", command: [\"true\"]}\n";
    for (std::size_t written = 6; written < (100u << 20); written += job.size()) out << job;
  }
  const auto size = std::filesystem::file_size(big);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", big}, {"run", "--config", big, "--store", "memory:", "--node-id", "n1"}}) {
    auto r = run_child(args, dir.path(), {}, 60s);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("error: " + big + ": the file is " + std::to_string(size) +
                            " bytes, over the limit of 4194304 bytes (a larger limit can be given "
                            "with --max-config-bytes)"),
              std::string::npos)
        << r.output;
    EXPECT_LT(r.max_rss_kib, 200 * 1024) << "peak RSS in KiB";
  }
}

// The reload reads the file on a thread of its own: a SIGTERM that comes while a large file is
// being parsed is answered at once, and the reload never completes.
// A node serving kJobs from dir/jobs.yaml.
class Shutdown : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(cfg, kJobs);
    node = std::make_unique<Daemon>(
        std::vector<std::string>{"run", "--config", cfg, "--store", "sqlite:" + (dir / "s.db").string(),
                                 "--node-id", "n1"},
        dir / "n1.log");
    ASSERT_TRUE(eventually([&] { return node->log().find("node_started") != std::string::npos; }, 20s))
        << node->log();
  }
  TempDir dir;
  const std::string cfg = (dir / "jobs.yaml").string();
  std::unique_ptr<Daemon> node;
};

TEST_F(Shutdown, SigtermDuringTheReloadOfALargeFileExits0) {
  Daemon& d = *node;
  // Just under the 4 MiB limit: 40000 jobs take seconds to read and check.
  {
    std::ofstream out(cfg);
    out << "jobs:\n";
    for (int i = 0; i < 40000; ++i) {
      out << "  - {name: j" << i << ", schedule: \"0 0 1 1 *\", command: [\"true\"], paused: true}\n";
    }
  }
  ASSERT_LT(std::filesystem::file_size(cfg), 4u << 20);
  d.signal(SIGHUP);
  d.signal(SIGTERM);  // pending together: SIGHUP (1) is taken first, then SIGTERM (15)
  EXPECT_EQ(d.wait(20s), 0) << d.log();
  const std::string log = d.log();
  ASSERT_NE(log.find("SIGHUP: reloading"), std::string::npos) << log;
  EXPECT_NE(log.find("node_stopped"), std::string::npos) << log;
  EXPECT_EQ(log.find("reloaded"), std::string::npos) << "SIGTERM waited for the reload\n" << log;
}

// A file that never finishes reading (a FIFO nobody writes): the node still stops on SIGTERM.
TEST_F(Shutdown, SigtermWhileAReloadIsStuckReadingExits0) {
  Daemon& d = *node;
  std::filesystem::remove(cfg);
  ASSERT_EQ(mkfifo(cfg.c_str(), 0600), 0);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("SIGHUP: reloading") != std::string::npos; }, 10s)) << d.log();
  std::this_thread::sleep_for(300ms);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(10s), 0) << d.log();
  EXPECT_NE(d.log().find("node_stopped"), std::string::npos) << d.log();
}

// SIGTERM while the first read of a file is stuck: the node was never started; it exits 0.
TEST(ShutdownAtStart, SigtermWhileTheFirstReadIsStuckExits0) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  ASSERT_EQ(mkfifo(cfg.c_str(), 0600), 0);
  Daemon d({"run", "--config", cfg, "--store", "memory:", "--node-id", "n1"}, dir / "n1.log");
  std::this_thread::sleep_for(500ms);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(10s), 0) << d.log();
}

}  // namespace
}  // namespace solocron::testing
