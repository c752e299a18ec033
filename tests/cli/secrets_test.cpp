// The store password reaches no output: not stdout, stderr or a log line (also for unknown
// schemes and URLs libpq cannot parse), not the node's command line, not a job's environment
// unless the job asks for it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/daemon_process.hpp"
#include "store/backends.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPassword = "S3cretPa55";

const std::string kJobs = "jobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n";

std::string cmdline_of(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

#define EXPECT_NO_PASSWORD(text) \
  EXPECT_EQ(std::string(text).find(kPassword), std::string::npos) << "password in:\n" << (text)

// Every command, every way of giving a URL that cannot work: the message is there, the
// password is not.
TEST(Secrets, BadUrlsAreReportedWithoutThePassword) {
  TempDir dir;
  const std::string urls[] = {
      std::string("postgress://app:") + kPassword + "@db.example/app",               // unknown scheme
      std::string("postgres://app:") + kPassword + "@db.example/app?sslmode=bogus",  // bad sslmode
      std::string("postgres://app:") + kPassword + "%zz@db.example/app",             // libpq: bad %-encoding
      std::string("postgres://app:") + kPassword + "@db.example:99999/app",          // bad port
      std::string("postgres://app@db.example/app?password=") + kPassword + "&nonsense=1",
  };
  for (const auto& url : urls) {
    const auto cfg = (dir / "jobs.yaml").string();
    write_file(cfg, "node:\n  store: \"" + url + "\"\n" + kJobs);
    const auto plain = (dir / "plain.yaml").string();
    write_file(plain, kJobs);
    std::vector<std::pair<std::vector<std::string>, Env>> runs = {
        {{"check", cfg}, {}},
        {{"run", "--config", cfg, "--node-id", "n1"}, {}},
        {{"run", "--config", plain, "--node-id", "n1"}, Env{{{"SOLOCRON_STORE", url}}, {}}},
        {{"history"}, Env{{{"SOLOCRON_STORE", url}}, {}}},
        {{"status", "--config", cfg}, {}},
        {{"nodes", "--store", url}, {}},
        {{"history", "job", "extra", url}, {}},  // a usage error that quotes the arguments
    };
    for (const auto& [args, env] : runs) {
      auto r = run_child(args, dir.path(), env, 10s);
      EXPECT_EQ(r.code, 2) << url << "\n" << r.output;
      EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
      EXPECT_NO_PASSWORD(r.output);
    }
  }
}

// A node that keeps retrying its unreachable store: the reasons are logged each time, the
// URL is not on its command line.
TEST(Secrets, ARetryingNodeLogsNoPasswordAndHasNoneOnItsCommandLine) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, kJobs);
  const std::string url =
      std::string("postgres://app:") + kPassword + "@127.0.0.1:1/app?sslmode=disable&connect_timeout=2";
  Daemon d({"run", "--config", cfg, "--node-id", "n1", "--http", "127.0.0.1:0"}, dir / "n1.log",
           Env{{{"SOLOCRON_STORE", url}, {"PGPASSWORD", kPassword}}, {}});
  ASSERT_TRUE(eventually([&] { return d.log().find("(attempt 2)") != std::string::npos; }, 15s)) << d.log();
  EXPECT_NE(d.log().find("postgres://app@127.0.0.1:1/app"), std::string::npos) << d.log();
  EXPECT_NO_PASSWORD(cmdline_of(d.pid()));
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(5s), 0) << d.log();
  EXPECT_NO_PASSWORD(d.log());
}

struct EnvDump {
  std::string name;
  std::string inherit;  // the inherit_env line, or empty for the default
};

std::string dump_jobs(const TempDir& dir, const std::vector<EnvDump>& dumps) {
  std::string yaml = "node:\n  log_format: json\n  heartbeat: 500ms\n  node_ttl: 3s\njobs:\n";
  for (const auto& d : dumps) {
    yaml += "  - name: " + d.name + "\n    schedule: \"* * * * * *\"\n    overlap: forbid\n" +
            (d.inherit.empty() ? "" : "    inherit_env: " + d.inherit + "\n") +
            "    command: [\"/bin/sh\", \"-c\", \"/usr/bin/env > " + (dir / d.name).string() + ".tmp && mv " +
            (dir / d.name).string() + ".tmp " + (dir / d.name).string() + "\"]\n";
  }
  return yaml;
}

bool has_variable(const std::string& env_dump, const std::string& name) {
  return env_dump.starts_with(name + "=") || env_dump.find("\n" + name + "=") != std::string::npos;
}

// What a job sees of the node's environment: by default not the credentials, and exactly what
// inherit_env names when it names something.
TEST(Secrets, JobsDoNotInheritTheNodesCredentialsUnlessTheyAsk) {
  TempDir dir;
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, dump_jobs(dir, {{"plain", ""}, {"everything", "all"}, {"nothing", "none"},
                                  {"pg", "[PGPASSWORD]"}}));
  const std::string secret_url = std::string("postgres://app:") + kPassword + "@db.example/app";
  Daemon d({"run", "--config", cfg, "--node-id", "n1", "--store", "sqlite:" + (dir / "s.db").string()},
           dir / "n1.log",
           Env{{{"SOLOCRON_STORE", secret_url},
                {"PGPASSWORD", kPassword},
                {"PGPASSFILE", "/secret/pgpass"},
                {"SOLOCRON_INTERNAL_X", "1"},
                {"SOLOCRON_JOB", "forged"},
                {"HARMLESS", "yes"}},
               {}});
  for (const char* job : {"plain", "everything", "nothing", "pg"}) {
    ASSERT_TRUE(eventually([&] { return !read_file(dir / job).empty(); }, 20s)) << job << "\n" << d.log();
  }
  const std::string plain = read_file(dir / "plain"), everything = read_file(dir / "everything"),
                    nothing = read_file(dir / "nothing"), pg = read_file(dir / "pg");
  EXPECT_NO_PASSWORD(plain);
  for (const char* name : {"PGPASSWORD", "PGPASSFILE", "SOLOCRON_STORE", "SOLOCRON_INTERNAL_X"}) {
    EXPECT_FALSE(has_variable(plain, name)) << name << "\n" << plain;
  }
  EXPECT_TRUE(has_variable(plain, "HARMLESS")) << plain;
  EXPECT_TRUE(has_variable(plain, "PATH")) << plain;
  EXPECT_NE(plain.find("SOLOCRON_JOB=plain\n"), std::string::npos) << "the contract wins\n" << plain;

  EXPECT_NE(everything.find(std::string("PGPASSWORD=") + kPassword), std::string::npos) << everything;
  EXPECT_TRUE(has_variable(everything, "SOLOCRON_STORE")) << everything;

  EXPECT_NO_PASSWORD(nothing);
  EXPECT_FALSE(has_variable(nothing, "HARMLESS")) << nothing;
  EXPECT_FALSE(has_variable(nothing, "PATH")) << nothing;

  EXPECT_NE(pg.find(std::string("PGPASSWORD=") + kPassword + "\n"), std::string::npos) << pg;
  EXPECT_FALSE(has_variable(pg, "SOLOCRON_STORE")) << pg;
  EXPECT_FALSE(has_variable(pg, "HARMLESS")) << pg;
  for (const char* contract : {"SOLOCRON_JOB", "SOLOCRON_SCHEDULED_AT", "SOLOCRON_NODE", "SOLOCRON_FENCE",
                               "SOLOCRON_ATTEMPT"}) {
    for (const auto* dump : {&plain, &everything, &nothing, &pg}) {
      EXPECT_TRUE(has_variable(*dump, contract)) << contract << "\n" << *dump;
    }
  }
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait(), 0) << d.log();
  EXPECT_NO_PASSWORD(d.log());
}

// A real node on PostgreSQL with a password in its URL, given by SOLOCRON_STORE and by
// node.store: it works, and the password is nowhere it should not be.
TEST(Secrets, ANodeOnPostgresWithAPasswordInItsUrl) {
  PostgresBackend pg;
  // The test server trusts loopback connections: the password is carried, never checked.
  std::string url = pg.url();
  url.replace(url.find("postgres@"), 9, std::string("postgres:") + kPassword + "@");
  for (bool from_env : {true, false}) {
    TempDir dir;
    const auto cfg = (dir / "jobs.yaml").string();
    std::string yaml = dump_jobs(dir, {{"plain", ""}, {"pg", "[PGPASSWORD]"}});
    if (!from_env) yaml.replace(yaml.find("node:\n"), 6, "node:\n  store: \"" + url + "\"\n");
    write_file(cfg, yaml);
    Env env{{{"PGPASSWORD", kPassword}}, {"SOLOCRON_STORE"}};
    if (from_env) env.set.emplace_back("SOLOCRON_STORE", url);
    Daemon d({"run", "--config", cfg, "--node-id", from_env ? "env" : "file"}, dir / "n.log", env);
    ASSERT_TRUE(eventually([&] { return !read_file(dir / "plain").empty() && !read_file(dir / "pg").empty(); }, 30s))
        << d.log();
    EXPECT_NO_PASSWORD(cmdline_of(d.pid()));
    EXPECT_NO_PASSWORD(read_file(dir / "plain"));
    EXPECT_NE(read_file(dir / "pg").find(std::string("PGPASSWORD=") + kPassword), std::string::npos);
    Env tools = from_env ? Env{{{"SOLOCRON_STORE", url}}, {}} : Env{{}, {"SOLOCRON_STORE"}};
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"history", "--json", "--config", cfg}, {"status", "--config", cfg},
             {"status", "--json", "--config", cfg}, {"nodes", "--config", cfg}}) {
      auto r = run_child(args, dir.path(), tools, 20s);
      EXPECT_EQ(r.code, 0) << r.output;
      EXPECT_NO_PASSWORD(r.output);
    }
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << d.log();
    EXPECT_NO_PASSWORD(d.log());
  }
}

}  // namespace
}  // namespace solocron::testing
