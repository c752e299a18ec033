// `check` and `run` read a configuration with the same function: for every bad file both exit
// with status 2 and report the same first error, at the position that is wrong; every good
// file both accept.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/daemon_process.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

std::string first_error(const std::string& output) {
  std::stringstream s(output);
  for (std::string line; std::getline(s, line);) {
    if (line.starts_with("error: ")) return line;
  }
  return "";
}

const std::string kJob = "  - name: a\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n";

struct BadFile {
  const char* what;
  std::string yaml;
  std::string want;  // the first error after "error: FILE"
};

std::vector<BadFile> bad_files() {
  return {
      {"zero timeout", "jobs:\n" + kJob + "    timeout: 0s\n", ":5:14: jobs[0].timeout: \"0s\" must be more than 0"},
      {"zero starting_deadline", "jobs:\n" + kJob + "    starting_deadline: 0s\n", ":5:24: jobs[0].starting_deadline:"},
      {"unknown store scheme", "node:\n  store: \"mysql://x\"\njobs:\n" + kJob, ":2:10: node.store: store \"mysql://x\": unknown scheme"},
      {"http without a port", "node:\n  http: \"nonsense\"\njobs:\n" + kJob, ":2:9: node.http: \"nonsense\" is not HOST:PORT"},
      {"http port out of range", "node:\n  http: \"127.0.0.1:99999\"\njobs:\n" + kJob, ":2:9: node.http: port 99999"},
      {"store port out of range", "node:\n  store: \"postgres://u@h:99999/db\"\njobs:\n" + kJob, ":2:10: node.store: store \"postgres://u@h:99999/db\": port 99999"},
      {"bad sslmode", "node:\n  store: \"postgres://u@h/db?sslmode=bogus\"\njobs:\n" + kJob, ":2:10: node.store: store \"postgres://u@h/db?sslmode=bogus\": sslmode \"bogus\""},
      {"unknown query parameter", "node:\n  store: \"postgres://u@h/db?sslmod=x\"\njobs:\n" + kJob, ":2:10: node.store:"},
      {"relative sqlite:// path", "node:\n  store: \"sqlite://rel.db\"\njobs:\n" + kJob, ":2:10: node.store:"},
      {"empty env name", "jobs:\n" + kJob + "    env: {\"\": x}\n", ":5:11: jobs[0].env.\"\": \"\" is not a valid environment variable name"},
      {"env name with =", "jobs:\n" + kJob + "    env: {\"A=B\": x}\n", ":5:11: jobs[0].env.A=B:"},
      {"env name with a space", "jobs:\n" + kJob + "    env: {\"WITH SPACE\": x}\n", ":5:11: jobs[0].env.WITH SPACE:"},
      {"env of the contract", "jobs:\n" + kJob + "    env: {SOLOCRON_NODE: x}\n", ":5:11: jobs[0].env.SOLOCRON_NODE:"},
      {"duplicate job key", "jobs:\n" + kJob + "    timeout: 1s\n    timeout: 2s\n", ":6:5: jobs[0].timeout: duplicate key \"timeout\" (first on line 5)"},
      {"duplicate node key", "node:\n  heartbeat: 1s\n  heartbeat: 2s\njobs:\n" + kJob, ":3:3: node.heartbeat: duplicate key"},
      {"duplicate top-level key", "jobs:\n" + kJob + "jobs: []\n", ":5:1: jobs: duplicate key \"jobs\" (first on line 1)"},
      {"a second document", "jobs:\n" + kJob + "---\njobs: []\n", ":5:1: a second YAML document"},
      {"not UTF-8", "# \xFF\njobs:\n" + kJob, ":1:3: not valid UTF-8 (byte 0xff)"},
      {"YAML syntax", "jobs: [\n", ":2:1: YAML syntax error"},
      {"unknown top-level key", "job: []\n", ":1:1: job: unknown key \"job\""},
      {"unknown job key", "jobs:\n" + kJob + "    colour: red\n", ":5:5: jobs[0].colour: unknown key \"colour\""},
      {"not a duration", "jobs:\n" + kJob + "    kill_grace: 10x\n", ":5:17: jobs[0].kill_grace: \"10x\" is not a duration"},
      {"schedule out of range", "jobs:\n  - name: a\n    schedule: \"0 61 * * *\"\n    command: [x]\n", ":3:15: jobs[0].schedule: \"0 61 * * *\": hour field"},
      {"schedule never fires", "jobs:\n  - name: a\n    schedule: \"0 0 30 2 *\"\n    command: [x]\n", ":3:15: jobs[0].schedule: \"0 0 30 2 *\" never fires"},
      {"job time zone", "jobs:\n" + kJob + "    time_zone: Mars/Base\n", ":5:16: jobs[0].time_zone: \"Mars/Base\" is not a known IANA time zone"},
      {"node time zone", "node:\n  time_zone: Mars/Base\njobs:\n" + kJob, ":2:14: node.time_zone:"},
      {"node id with a space", "node:\n  id: \"a b\"\njobs:\n" + kJob, ":2:7: node.id: \"a b\" is not a valid node id"},
      {"node id with a newline", "node:\n  id: \"a\\nb\"\njobs:\n" + kJob, ":2:7: node.id: \"a\\nb\" is not a valid node id"},
      {"zero heartbeat", "node:\n  heartbeat: 0s\njobs:\n" + kJob, ":2:14: node.heartbeat: \"0s\" must be more than 0"},
      {"node_ttl not above heartbeat", "node:\n  heartbeat: 2s\n  node_ttl: 2s\njobs:\n" + kJob, ":3:13: node.node_ttl: node_ttl (2s) must be greater than heartbeat (2s) + store_call_deadline (2s)"},
      {"zero max_clock_skew", "node:\n  max_clock_skew: 0s\njobs:\n" + kJob, ":2:19: node.max_clock_skew:"},
      {"no runs at all", "node:\n  max_concurrent_runs: 0\njobs:\n" + kJob, ":2:24: node.max_concurrent_runs: 0 is out of range"},
      {"log format", "node:\n  log_format: xml\njobs:\n" + kJob, ":2:15: node.log_format: \"xml\" is not one of: text, json"},
      {"log level", "node:\n  log_level: warning\njobs:\n" + kJob, ":2:14: node.log_level: \"warning\" is not one of"},
      {"no command", "jobs:\n  - name: a\n    schedule: \"* * * * *\"\n", ":2:5: jobs[0]: missing required key \"command\""},
      {"command string without shell", "jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: echo\n", ":4:14: jobs[0].command: a command string needs \"shell: true\""},
      {"empty command list", "jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: []\n", ":4:14: jobs[0].command: the command list is empty"},
      {"NUL in an argument", "jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [\"a\\0b\"]\n", ":4:15: jobs[0].command[0]: contains a NUL character"},
      {"duplicate job name", "jobs:\n" + kJob + kJob, ":5:11: jobs[1].name: duplicate job name \"a\""},
      {"inherit_env word", "jobs:\n" + kJob + "    inherit_env: most\n", ":5:18: jobs[0].inherit_env: \"most\" is not one of: all, none"},
      {"inherit_env name", "jobs:\n" + kJob + "    inherit_env: [\"PG PASSWORD\"]\n", ":5:19: jobs[0].inherit_env[0]:"},
      {"jobs not a list", "jobs: {a: 1}\n", ":1:7: jobs: expected a list of jobs"},
      {"run_on", "jobs:\n" + kJob + "    run_on: everywhere\n", ":5:13: jobs[0].run_on: \"everywhere\" is not one of"},
      {"output_tail_bytes", "jobs:\n" + kJob + "    output_tail_bytes: 99999999\n", ":5:24: jobs[0].output_tail_bytes: 99999999 is out of range"},
  };
}

class ConfigAgreement : public ::testing::TestWithParam<std::size_t> {};

TEST_P(ConfigAgreement, CheckAndRunReportTheSameFirstError) {
  const BadFile bad = bad_files().at(GetParam());
  TempDir dir;
  const auto file = (dir / "jobs.yaml").string();
  write_file(file, bad.yaml);
  auto check = run_child({"check", file}, dir.path(), {}, 10s);
  auto node = run_child({"run", "--config", file, "--store", "sqlite:" + (dir / "s.db").string(),
                         "--node-id", "n1"},
                        dir.path(), {}, 10s);
  EXPECT_EQ(check.code, 2) << bad.what << "\n" << check.output;
  EXPECT_EQ(node.code, 2) << bad.what << "\n" << node.output;
  const std::string want = "error: " + file + bad.want;
  EXPECT_TRUE(first_error(check.output).starts_with(want))
      << bad.what << "\nwant: " << want << "\ngot:  " << first_error(check.output) << "\n" << check.output;
  EXPECT_EQ(first_error(node.output), first_error(check.output)) << bad.what << "\n" << node.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.db")) << "run opened the store before refusing";
}

INSTANTIATE_TEST_SUITE_P(BadFiles, ConfigAgreement, ::testing::Range<std::size_t>(0, bad_files().size()));

TEST(ConfigAgreement, TheSizeLimitIsTheSameForCheckAndRun) {
  TempDir dir;
  const auto file = (dir / "big.yaml").string();
  const std::string text = "jobs:\n" + kJob + "# " + std::string(2000, 'x') + "\n";
  write_file(file, text);
  auto check = run_child({"check", file, "--max-config-bytes", "1000"}, dir.path(), {}, 10s);
  auto node = run_child({"run", "--config", file, "--max-config-bytes", "1000", "--store",
                         "memory:", "--node-id", "n1"},
                        dir.path(), {}, 10s);
  EXPECT_EQ(check.code, 2) << check.output;
  EXPECT_EQ(node.code, 2) << node.output;
  EXPECT_EQ(first_error(check.output), "error: " + file + ": the file is " + std::to_string(text.size()) +
                                           " bytes, over the limit of 1000 bytes (a larger limit can "
                                           "be given with --max-config-bytes)");
  EXPECT_EQ(first_error(node.output), first_error(check.output));
  EXPECT_EQ(run_child({"check", file, "--max-config-bytes", "4096"}, dir.path(), {}, 10s).code, 0);
}

TEST(ConfigAgreement, GoodFilesAreAcceptedByBoth) {
  const std::string files[] = {
      "jobs:\n" + kJob,
      "node:\n  heartbeat: 500ms\n  node_ttl: 3s\n  shutdown_grace: 0s\n  http: \"127.0.0.1:0\"\n"
      "  log_level: debug\njobs:\n" + kJob + "    timeout: 5s\n    kill_grace: 0s\n    inherit_env: [PATH]\n"
      "    env: {_A1: \"x y\"}\n",
      "node:\n  time_zone: Europe/Berlin\njobs:\n  - name: report.daily_1\n    schedule: \"CRON_TZ=Asia/Kolkata 0 9 * * MON-FRI\"\n"
      "    shell: true\n    command: \"echo hi\"\n    inherit_env: none\n    starting_deadline: 1m\n"
      "  - name: b\n    schedule: \"@every 90s\"\n    command: [\"true\"]\n    time_zone: America/New_York\n",
  };
  for (const auto& yaml : files) {
    TempDir dir;
    const auto file = (dir / "jobs.yaml").string();
    write_file(file, yaml);
    auto check = run_child({"check", file}, dir.path(), {}, 10s);
    EXPECT_EQ(check.code, 0) << yaml << "\n" << check.output;
    Daemon d({"run", "--config", file, "--store", "sqlite:" + (dir / "s.db").string(), "--node-id", "n1"},
             dir / "n1.log");
    EXPECT_TRUE(eventually([&] { return d.log().find("lease_acquired") != std::string::npos; }, 10s))
        << yaml << "\n" << d.log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << d.log();
  }
}

}  // namespace
}  // namespace solocron::testing
