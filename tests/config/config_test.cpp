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
    retry: {attempts: 4, backoff: 10s, max_backoff: 1m, jitter: true, until_next: true}
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
  EXPECT_EQ(j.retry.attempts, 4);
  EXPECT_EQ(j.retry.backoff, 10s);
  EXPECT_EQ(j.retry.max_backoff, 1min);
  EXPECT_TRUE(j.retry.jitter);
  EXPECT_TRUE(j.retry.until_next);
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
       "f.yaml:4:16: jobs[0].time_zone: \"Mars/Olympus\" is not a known IANA time zone"},
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
  EXPECT_EQ(load.errors.at(0).to_string(),
            "/nonexistent/solocron.yaml: cannot read the file: No such file or directory");
}

}  // namespace
}  // namespace solocron::detail

namespace solocron::detail {
namespace {

std::string all_errors(const ConfigLoad& load) {
  std::string all;
  for (const auto& e : load.errors) all += e.to_string() + "\n";
  return all;
}

// What `check` used to accept and `run` then refused or misread: each is now an error of
// parse_config, on the key that is wrong.
TEST(ConfigValidation, RejectsWhatRunCannotUse) {
  struct Case {
    std::string yaml;
    std::string want;  // the first error
  };
  const std::string job = "  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n";
  const Case cases[] = {
      {"jobs:\n" + job + "    timeout: 0s\n", "f:5:14: jobs[0].timeout: \"0s\" must be more than 0"},
      {"jobs:\n" + job + "    starting_deadline: 0ms\n", "f:5:24: jobs[0].starting_deadline: \"0ms\" must be more than 0"},
      {"jobs:\n" + job + "    jitter: 0s\n", "f:5:13: jobs[0].jitter: \"0s\" must be more than 0"},
      {"jobs:\n" + job + "    jitter: 2d\n", "f:5:13: jobs[0].jitter: jitter is at most 24h"},
      {"jobs:\n" + job + "    retry: {backoff: 5s}\n", "f:5:12: jobs[0].retry: missing \"attempts\""},
      {"jobs:\n" + job + "    retry: {attempts: 0}\n", "f:5:23: jobs[0].retry.attempts:"},
      {"jobs:\n" + job + "    retry: {attempts: 3, tries: 2}\n", "f:5:26: jobs[0].retry.tries:"},
      {"jobs:\n" + job + "    retry: {attempts: 3, backoff: 1m, max_backoff: 30s}\n", "jobs[0].retry.max_backoff: max_backoff must be at least backoff"},
      {"jobs:\n" + job + "    retry: 3\n", "f:5:12: jobs[0].retry: expected a mapping such as {attempts: 3, backoff: 30s}"},
      {"jobs:\n" + job + "    run_on: local\n    retry: {attempts: 2}\n", "f:6:12: jobs[0].retry: retry needs the store"},
      {"jobs:\n" + job + "    starting_deadline: 1m\n    jitter: 1m\n", "f:6:13: jobs[0].jitter: jitter must be less than starting_deadline"},
      {"node:\n  heartbeat: 0s\n", "f:2:14: node.heartbeat: \"0s\" must be more than 0"},
      {"node:\n  node_ttl: 0s\n", "f:2:13: node.node_ttl: \"0s\" must be more than 0"},
      {"node:\n  heartbeat: 2s\n  node_ttl: 4s\n", "f:3:13: node.node_ttl: node_ttl (4s) must be greater than heartbeat (2s) + store_call_deadline (2s)"},
      {"node:\n  heartbeat: 4s\n", "f:2:14: node.heartbeat: heartbeat (4s) + store_call_deadline (2s) must be less than node_ttl (5s)"},
      {"node:\n  store_call_deadline: 4s\n", "f:2:24: node.store_call_deadline: heartbeat (1s) + store_call_deadline (4s) must be less than node_ttl (5s)"},
      {"node:\n  store_call_deadline: 0s\n", "f:2:24: node.store_call_deadline: \"0s\" must be more than 0"},
      {"node:\n  max_clock_skew: 0s\n", "f:2:19: node.max_clock_skew: \"0s\" must be more than 0"},
      {"node:\n  history_max_age: 0s\n", "f:2:20: node.history_max_age: \"0s\" must be more than 0"},
      {"node:\n  store: \"mysql://x\"\n", "f:2:10: node.store: store \"mysql://x\": unknown scheme \"mysql\""},
      {"node:\n  store: \"postgres://u@h:99999/db\"\n", "f:2:10: node.store: store \"postgres://u@h:99999/db\": port 99999 is out of range 1-65535"},
      {"node:\n  store: \"postgres://u@h/db?sslmode=bogus\"\n", "sslmode \"bogus\" is not one of"},
      {"node:\n  http: nonsense\n", "f:2:9: node.http: \"nonsense\" is not HOST:PORT"},
      {"node:\n  http: \"127.0.0.1:99999\"\n", "f:2:9: node.http: port 99999 of \"127.0.0.1:99999\" is out of range 0-65535"},
      {"node:\n  id: \"a b\"\n", "f:2:7: node.id: \"a b\" is not a valid node id: it must match [A-Za-z0-9_.-]{1,128}"},
      {"node:\n  time_zone: Mars/Base\n", "f:2:14: node.time_zone: \"Mars/Base\" is not a known IANA time zone"},
      {"jobs:\n" + job + "    time_zone: Mars/Base\n", "f:5:16: jobs[0].time_zone: \"Mars/Base\" is not a known IANA time zone"},
      {"jobs:\n" + job + "    env: {\"\": x}\n", "f:5:11: jobs[0].env.\"\": \"\" is not a valid environment variable name"},
      {"jobs:\n" + job + "    env: {\"A=B\": x}\n", "f:5:11: jobs[0].env.A=B: \"A=B\" is not a valid environment variable name"},
      {"jobs:\n" + job + "    env: {\"WITH SPACE\": x}\n", "jobs[0].env.WITH SPACE: \"WITH SPACE\" is not a valid"},
      {"jobs:\n" + job + "    env: {1X: x}\n", "\"1X\" is not a valid environment variable name"},
      {"jobs:\n" + job + "    env: {SOLOCRON_FENCE: \"1\"}\n", "SOLOCRON_FENCE is set by solocron for every run"},
      {"jobs:\n" + job + "    env: {A: x, A: y}\n", "f:5:17: jobs[0].env.A: duplicate key \"A\" (first on line 5)"},
      {"jobs:\n" + job + "    inherit_env: some\n", "f:5:18: jobs[0].inherit_env: \"some\" is not one of: all, none"},
      {"jobs:\n" + job + "    inherit_env: [PATH, \"A B\"]\n", "f:5:25: jobs[0].inherit_env[1]: \"A B\" is not a valid environment variable name"},
      {"jobs:\n" + job + "    timeout: 1s\n    timeout: 2s\n", "f:6:5: jobs[0].timeout: duplicate key \"timeout\" (first on line 5)"},
      {"node: {}\nnode: {}\n", "f:2:1: node: duplicate key \"node\" (first on line 1)"},
      {"jobs: []\n---\njobs: []\n", "f:2:1: a second YAML document"},
      {"---\njobs: []\n--- # again\n", "f:3:1: a second YAML document"},
      {"jobs: []\n...\njobs: []\n", "f:3:1: a second YAML document"},
      {"!!str,gre", "f:1:1: expected a mapping"},  // yaml-cpp's LoadAll loops for ever on it
      {"jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    command: [\"x\\0y\"]\n", "f:4:15: jobs[0].command[0]: contains a NUL character"},
      {"jobs:\n  - name: \"a\\nb\"\n    schedule: \"* * * * *\"\n    command: [x]\n", "f:2:11: jobs[0].name: job name \"a\nb\" must match"},
      {"jobs: []\n# caf\xC3\xA9 \xFF\n", "f:2:9: not valid UTF-8 (byte 0xff)"},  // columns count bytes
      {"\xEF\xBB\xBFjobs: [\xC0]\n", "f:1:11: not valid UTF-8 (byte 0xc0)"},
      {std::string("jobs: []\n\0", 10), "f:2:1: a NUL byte"},
  };
  for (const auto& c : cases) {
    auto load = parse_config(c.yaml, "f");
    ASSERT_FALSE(load.errors.empty()) << c.yaml;
    EXPECT_NE(load.errors[0].to_string().find(c.want), std::string::npos)
        << c.yaml << "\nwant: " << c.want << "\ngot:\n" << all_errors(load);
  }
}

TEST(ConfigValidation, OneDocumentMayBeMarked) {
  for (const char* yaml : {"---\njobs: []\n", "%YAML 1.2\n---\njobs: []\n...\n# the end\n",
                           "# c\n--- {jobs: []}\n", "jobs: []\n----: x\n",
                           "jobs:\n  - name: a\n    schedule: \"@hourly\"\n    shell: true\n"
                           "    command: |\n      echo ---\n      --- not a marker here\n"}) {
    auto load = parse_config(yaml, "f");
    std::string all = all_errors(load);
    EXPECT_EQ(all.find("second YAML document"), std::string::npos) << yaml << "\n" << all;
  }
}

TEST(ConfigValidation, ErrorsAreSortedByPosition) {
  auto load = parse_config("jobs:\n  - name: b\n    schedule: \"* * * * *\"\n    command: [x]\n"
                           "    timeout: 0s\n    colour: red\nnode:\n  heartbeat: 0s\n",
                           "f");
  ASSERT_EQ(load.errors.size(), 3u) << all_errors(load);
  for (std::size_t i = 1; i < load.errors.size(); ++i) {
    EXPECT_LE(load.errors[i - 1].line, load.errors[i].line) << all_errors(load);
  }
  EXPECT_EQ(load.errors[2].key, "node.heartbeat");
}

TEST(ConfigValidation, ReadsInheritEnv) {
  auto load = parse_config("jobs:\n"
                           "  - {name: a, schedule: \"@hourly\", command: [x]}\n"
                           "  - {name: b, schedule: \"@hourly\", command: [x], inherit_env: all}\n"
                           "  - {name: c, schedule: \"@hourly\", command: [x], inherit_env: none}\n"
                           "  - {name: d, schedule: \"@hourly\", command: [x], inherit_env: [PATH, PGPASSWORD]}\n",
                           "f");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  auto mode = [&](int i) { return std::get<CommandSpec>(load.config.jobs.at(i).action).inherit_env; };
  EXPECT_EQ(mode(0).mode, InheritEnv::Mode::all_but_credentials);
  EXPECT_EQ(mode(1).mode, InheritEnv::Mode::all);
  EXPECT_EQ(mode(2).mode, InheritEnv::Mode::none);
  EXPECT_EQ(mode(3).mode, InheritEnv::Mode::only);
  EXPECT_EQ(mode(3).names, (std::vector<std::string>{"PATH", "PGPASSWORD"}));
  EXPECT_FALSE(inherits(mode(0), "PGPASSWORD"));
  EXPECT_FALSE(inherits(mode(0), "SOLOCRON_STORE"));
  EXPECT_TRUE(inherits(mode(0), "PATH"));
  EXPECT_TRUE(inherits(mode(1), "PGPASSWORD"));
  EXPECT_FALSE(inherits(mode(2), "PATH"));
  EXPECT_TRUE(inherits(mode(3), "PGPASSWORD"));
  EXPECT_FALSE(inherits(mode(3), "HOME"));
}

TEST(ConfigValidation, TheSizeLimitIsCheckedBeforeParsing) {
  const std::string text = "jobs: []\n" + std::string(2000, '#') + "\n";
  auto load = parse_config(text, "f", ConfigLimits{1000});
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_TRUE(load.fatal);
  EXPECT_EQ(load.errors[0].to_string(),
            "f: the file is 2010 bytes, over the limit of 1000 bytes (a larger limit can be given "
            "with --max-config-bytes)");
  EXPECT_TRUE(parse_config(text, "f", ConfigLimits{2010}).errors.empty());
}

TEST(ConfigValidation, AliasesCannotMultiplyTheWork) {
  // One list of 2000 strings named by 2000 jobs: four million values from a 40 kB file.
  std::string yaml = "node: {}\njobs:\n  - name: j0\n    schedule: \"@hourly\"\n    command: &big [";
  for (int i = 0; i < 2000; ++i) yaml += (i ? ",x" : "x");
  yaml += "]\n";
  for (int i = 1; i < 2000; ++i) {
    yaml += "  - {name: j" + std::to_string(i) + ", schedule: \"@hourly\", command: *big}\n";
  }
  auto load = parse_config(yaml, "f");
  EXPECT_TRUE(load.fatal || !load.bad_jobs.empty());
  EXPECT_NE(all_errors(load).find("expands (through YAML aliases)"), std::string::npos)
      << all_errors(load).substr(0, 500);
}

TEST(ConfigValidation, AGoodFileWithEverySettingIsAccepted) {
  auto load = parse_config(R"(node:
  id: node-a.1
  store: "postgres://app:S3cret@db:5432/app?sslmode=verify-full&connect_timeout=3"
  http: ":9180"
  log_level: warn
  max_clock_skew: 500ms
  shutdown_grace: 0s
jobs:
  - name: a
    schedule: "@every 1m"
    command: [x]
    kill_grace: 0s
    env: {_UNDER: "1", PATH2: ""}
    inherit_env: [PATH]
)",
                           "f");
  EXPECT_TRUE(load.errors.empty()) << all_errors(load);
  EXPECT_EQ(load.config.http_address, ":9180");
  EXPECT_EQ(load.config.log_level, "warn");
}

}  // namespace
}  // namespace solocron::detail
