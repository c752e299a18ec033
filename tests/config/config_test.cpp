#include "config/config.hpp"

#include <gtest/gtest.h>

#include "cron/duration.hpp"

namespace solocron::detail {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesOperatorForms) {
  struct Case {
    const char* text;
    std::chrono::milliseconds want;
  };
  for (auto [text, want] : {Case{"500ms", 500ms}, Case{"30s", 30s}, Case{"5m", 5min},
                            Case{"1h30m", 90min}, Case{"2d", 48h}, Case{"0", 0ms},
                            Case{"1m30s250ms", 90250ms}}) {
    auto d = parse_duration(text);
    ASSERT_TRUE(d) << text << ": " << d.error();
    EXPECT_EQ(*d, want) << text;
    EXPECT_EQ(*parse_duration(format_duration(*d)), *d) << text;
  }
}

TEST(Duration, FormatsForLogs) {
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(-2s), "-2s");  // a wall clock stepped back
  EXPECT_EQ(format_duration(0ms), "0s");
}

TEST(Duration, RejectsWithTheExpectedForm) {
  for (const char* text : {"", "10", "10x", "s", "1.5s", "-1s", "1h 30m"}) {
    auto d = parse_duration(text);
    ASSERT_FALSE(d) << text;
    EXPECT_NE(d.error().find("expected e.g."), std::string::npos) << d.error();
  }
}

TEST(Config, TheMinimalFileIsValid) {
  auto load = parse_config(R"(jobs:
  - name: tick
    schedule: "* * * * * *"
    command: ["sh", "-c", "echo $SOLOCRON_SCHEDULED_AT $SOLOCRON_NODE >> /tmp/ticks"]
)",
                           "min.yaml");
  ASSERT_TRUE(load.errors.empty()) << load.errors[0].to_string();
  ASSERT_EQ(load.config.jobs.size(), 1u);
  const JobSpec& job = load.config.jobs[0];
  EXPECT_EQ(job.name, "tick");
  EXPECT_EQ(job.run_on, RunOn::once);
  EXPECT_EQ(job.misfire, MisfirePolicy::skip);
  const auto& cmd = std::get<CommandSpec>(job.action);
  EXPECT_EQ(cmd.argv.size(), 3u);
  EXPECT_FALSE(cmd.shell);
}

TEST(Config, ReadsEveryNodeSettingAndPolicy) {
  auto load = parse_config(R"(node:
  id: node-a
  time_zone: Europe/Berlin
  store: "sqlite:state.db"
  log_format: json
  heartbeat: 500ms
  node_ttl: 3s
  max_clock_skew: 1s
  shutdown_grace: 10s
  max_concurrent_runs: 8
  history_keep_last: 50
  history_max_age: 7d
jobs:
  - name: report
    schedule: "0 9 * * MON-FRI"
    command: "echo hi | tee -a /tmp/x"
    shell: true
    working_dir: /tmp
    env: {A: "1"}
    overlap: forbid
    timeout: 1h
    kill_grace: 5s
    misfire: run_all
    max_catchup: 3
    starting_deadline: 10m
    delivery: at_least_once
    run_on: every_node
    output_tail_bytes: 1024
    paused: true
)",
                           "full.yaml");
  ASSERT_TRUE(load.errors.empty()) << load.errors[0].to_string();
  const Config& c = load.config;
  EXPECT_EQ(c.node.node_id, "node-a");
  EXPECT_EQ(c.store_url, "sqlite:state.db");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.node.heartbeat, 500ms);
  EXPECT_EQ(c.node.node_ttl, 3s);
  EXPECT_EQ(c.node.max_concurrent_runs, 8u);
  EXPECT_EQ(c.node.history_max_age, std::chrono::seconds(7 * 86400));
  const JobSpec& j = c.jobs.at(0);
  EXPECT_EQ(j.schedule.time_zone(), "Europe/Berlin");  // the node's default zone
  EXPECT_EQ(j.overlap, OverlapMode::forbid);
  EXPECT_EQ(j.misfire, MisfirePolicy::run_all);
  EXPECT_EQ(j.delivery, Delivery::at_least_once);
  EXPECT_EQ(j.run_on, RunOn::every_node);
  EXPECT_EQ(j.timeout, std::chrono::milliseconds(1h));
  EXPECT_EQ(j.starting_deadline, std::chrono::milliseconds(10min));
  EXPECT_EQ(j.max_catchup, 3u);
  EXPECT_TRUE(j.paused);
  EXPECT_EQ(std::get<CommandSpec>(j.action).shell_command, "echo hi | tee -a /tmp/x");
}

// Every error names the file, the line and column, the key, and what was expected.
TEST(Config, ErrorsPointAtFileLineColumnAndKey) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n    timeout: 10x\n",
       "f.yaml:5:14: jobs[0].timeout: \"10x\" is not a duration"},
      {"jobs:\n  - name: a\n    schedule: \"0 61 * * *\"\n    command: [x]\n",
       "f.yaml:3:15: jobs[0].schedule: \"0 61 * * *\": hour field (column 3)"},
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n    colour: red\n",
       "f.yaml:5:5: jobs[0].colour: unknown key \"colour\""},
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: echo\n",
       "f.yaml:4:14: jobs[0].command: a command string needs \"shell: true\""},
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n    overlap: never\n",
       "f.yaml:5:14: jobs[0].overlap: \"never\" is not one of: allow, forbid, replace"},
      {"jobs:\n  - name: a\n    command: [x]\n", "f.yaml:2:5: jobs[0]: missing required key \"schedule\""},
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n"
       "  - name: a\n    schedule: \"* * * * *\"\n    command: [y]\n",
       "f.yaml:5:11: jobs[1].name: duplicate job name \"a\""},
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    time_zone: Mars/Olympus\n    command: [x]\n",
       "f.yaml:3:15: jobs[0].schedule:"},
      {"node:\n  heartbeat: often\njobs: []\n", "f.yaml:2:14: node.heartbeat: \"often\" is not a duration"},
      {"jobs:\n  - name: a\n    schedule: [1]\n", "f.yaml:3:15: jobs[0].schedule: expected a string"},
      {"jobs: [\n", "f.yaml:2:1: YAML syntax error"},
  };
  for (const auto& c : cases) {
    auto load = parse_config(c.yaml, "f.yaml");
    ASSERT_FALSE(load.errors.empty()) << c.yaml;
    std::string all;
    for (const auto& e : load.errors) all += e.to_string() + "\n";
    EXPECT_NE(all.find(c.want), std::string::npos) << "want: " << c.want << "\ngot: " << all;
  }
}

TEST(Config, ABadJobDoesNotTakeDownTheOthers) {
  auto load = parse_config(R"(jobs:
  - name: good
    schedule: "@hourly"
    command: ["true"]
  - name: broken
    schedule: "0 0 30 2 *"
    command: ["true"]
  - name: also-good
    schedule: "@every 90s"
    command: ["true"]
)",
                           "f.yaml");
  EXPECT_FALSE(load.fatal);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_NE(load.errors[0].message.find("never fires"), std::string::npos);
  ASSERT_EQ(load.config.jobs.size(), 2u);
  EXPECT_EQ(load.config.jobs[0].name, "good");
  EXPECT_EQ(load.config.jobs[1].name, "also-good");
  EXPECT_EQ(load.bad_jobs, std::vector<std::string>{"broken"});
}

TEST(Config, NodeErrorsAndSyntaxErrorsAreFatal) {
  EXPECT_TRUE(parse_config("node: {log_format: xml}\njobs: []\n", "f").fatal);
  EXPECT_TRUE(parse_config("jobs: [\n", "f").fatal);
  EXPECT_TRUE(parse_config("job: []\n", "f").fatal);
  EXPECT_TRUE(parse_config("node: {heartbeat: 5s, node_ttl: 5s}\n", "f").fatal);
  EXPECT_FALSE(parse_config("jobs: []\n", "f").fatal);
}

TEST(Config, MissingFileIsAnError) {
  auto load = load_config_file("/nonexistent/solocron.yaml");
  EXPECT_TRUE(load.fatal);
  EXPECT_EQ(load.errors.at(0).to_string(), "/nonexistent/solocron.yaml: cannot read the file");
}

}  // namespace
}  // namespace solocron::detail
