// The `http:` action in the job file: what it reads, and the positioned errors it gives.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "config/config.hpp"

namespace solocron::detail {
namespace {

using namespace std::chrono_literals;

std::string all_errors(const ConfigLoad& load) {
  std::string all;
  for (const auto& e : load.errors) all += e.to_string() + "\n";
  return all;
}

TEST(HttpConfig, ReadsEveryKey) {
  ::setenv("SOLOCRON_TEST_API_TOKEN", "s3cr3t", 1);
  auto load = parse_config(R"(jobs:
  - name: report
    schedule: "0 * * * *"
    timeout: 2m
    http:
      url: "https://app:p%40ss@127.0.0.1:4443/jobs/report?full=1"
      method: PUT
      headers: {Authorization: "Bearer ${SOLOCRON_TEST_API_TOKEN}", X-Cost: "$$5"}
      body: '{"kind": "hourly"}'
      timeout: 10s
      success: [200-299, 304]
      ca_file: /etc/ssl/certs/ca-certificates.crt
)",
                           "f.yaml");
  ::unsetenv("SOLOCRON_TEST_API_TOKEN");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  const auto& http = std::get<HttpSpec>(load.config.jobs.at(0).action);
  EXPECT_EQ(http.url, "https://app:p%40ss@127.0.0.1:4443/jobs/report?full=1");
  EXPECT_EQ(http.method, "PUT");
  EXPECT_EQ(http.headers.at("Authorization"), "Bearer s3cr3t");
  EXPECT_EQ(http.headers.at("X-Cost"), "$5");
  EXPECT_EQ(http.body, "{\"kind\": \"hourly\"}");
  EXPECT_EQ(http.timeout, 10s);
  EXPECT_EQ(http.success, (std::vector<std::pair<int, int>>{{200, 299}, {304, 304}}));
  EXPECT_EQ(http.ca_file, "/etc/ssl/certs/ca-certificates.crt");
}

TEST(HttpConfig, DefaultsArePostWithinThirtySecondsExpecting2xx) {
  auto load = parse_config("jobs:\n  - name: a\n    schedule: \"* * * * *\"\n    http: {url: \"http://127.0.0.1:4000/\"}\n", "f");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  const auto& http = std::get<HttpSpec>(load.config.jobs.at(0).action);
  EXPECT_EQ(http.method, "POST");
  EXPECT_EQ(http.timeout, 30s);
  EXPECT_EQ(http.success, (std::vector<std::pair<int, int>>{{200, 299}}));
}

TEST(HttpConfig, RejectsWithFileLineColumnAndKey) {
  struct Case {
    std::string yaml;
    std::string want;  // the first error
  };
  const std::string job = "  - name: a\n    schedule: \"* * * * *\"\n";
  const Case cases[] = {
      {"jobs:\n" + job + "    http: \"http://x/\"\n", "f:4:11: jobs[0].http: expected a mapping with at least url"},
      {"jobs:\n" + job + "    http: {method: GET}\n", "f:4:11: jobs[0].http: missing required key \"url\""},
      {"jobs:\n" + job + "    http: {url: \"ftp://x/\"}\n", "f:4:17: jobs[0].http.url: the scheme must be http or https"},
      {"jobs:\n" + job + "    http: {url: \"127.0.0.1:80/x\"}\n", "jobs[0].http.url: expected an http:// or https:// URL"},
      {"jobs:\n" + job + "    http: {url: \"http://h:0/\"}\n", "jobs[0].http.url: the port must be a number 1-65535"},
      {"jobs:\n" + job + "    http: {url: \"http:///x\"}\n", "jobs[0].http.url: the URL has no host"},
      {"jobs:\n" + job + "    http: {url: \"http://h/a b\"}\n", "jobs[0].http.url: the URL holds a space"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", method: \"GE T\"}\n", "f:4:38: jobs[0].http.method: \"GE T\" is not an HTTP method"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", success: [200-199]}\n", "f:4:40: jobs[0].http.success[0]: \"200-199\" is not an HTTP status or range"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", success: 700}\n", "jobs[0].http.success: \"700\" is not an HTTP status"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", success: []}\n", "jobs[0].http.success: the list is empty"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", timeout: 0s}\n", "jobs[0].http.timeout: \"0s\" must be more than 0"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", headers: {\"Bad Name\": x}}\n", "jobs[0].http.headers.Bad Name: \"Bad Name\" is not an HTTP header name"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", headers: {X-A: \"a\\r\\nX-Evil: 1\"}}\n", "jobs[0].http.headers.X-A: a header value may not hold a line break"},
      {"jobs:\n" + job + "    http: {url: \"http://h/${SOLOCRON_TEST_UNSET_VAR}\"}\n", "jobs[0].http.url: environment variable \"SOLOCRON_TEST_UNSET_VAR\" is not set"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", body: \"${OPEN\"}\n", "jobs[0].http.body: \"${\" without a closing \"}\""},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", ca_file: /nonexistent/ca.pem}\n", "jobs[0].http.ca_file: cannot read \"/nonexistent/ca.pem\""},
      {"jobs:\n" + job + "    http: {url: \"http://h/\", colour: red}\n", "jobs[0].http.colour: unknown key \"colour\""},
      {"jobs:\n" + job + "    command: [x]\n    http: {url: \"http://h/\"}\n", "f:4:14: jobs[0].command: a job has either command or http, not both"},
      {"jobs:\n" + job + "    http: {url: \"http://h/\"}\n    env: {A: b}\n", "f:5:10: jobs[0].env: env applies to a command; this job's action is http"},
      {"jobs:\n" + job, "jobs[0]: missing required key \"command\" (a list such as [\"backup.sh\", \"--full\"]), or \"http\""},
  };
  for (const auto& c : cases) {
    auto load = parse_config(c.yaml, "f");
    ASSERT_FALSE(load.errors.empty()) << c.yaml;
    EXPECT_NE(load.errors[0].to_string().find(c.want), std::string::npos)
        << c.yaml << "\nwant: " << c.want << "\ngot:\n" << all_errors(load);
  }
}

// A password in the URL or a token in a header never appears in an error about the job.
TEST(HttpConfig, ErrorsNeverEchoSecrets) {
  ::setenv("SOLOCRON_TEST_API_TOKEN", "tok-123456", 1);
  auto load = parse_config(R"(jobs:
  - name: a
    schedule: "* * * * *"
    http:
      url: "http://user:hunter2@h:99999/"
      headers: {Authorization: "Bearer ${SOLOCRON_TEST_API_TOKEN}", "X Y": "hunter2"}
)",
                           "f");
  ::unsetenv("SOLOCRON_TEST_API_TOKEN");
  const std::string all = all_errors(load);
  ASSERT_FALSE(load.errors.empty());
  EXPECT_EQ(all.find("hunter2"), std::string::npos) << all;
  EXPECT_EQ(all.find("tok-123456"), std::string::npos) << all;
}

}  // namespace
}  // namespace solocron::detail

namespace solocron::detail {
namespace {

TEST(HookConfig, ReadsJobHooksAndNodeDefaults) {
  ::setenv("SOLOCRON_TEST_HOOK_TOKEN", "t0k", 1);
  auto load = parse_config(R"(node:
  hooks:
    on_missed: {url: "https://alerts.test/solocron", headers: {Authorization: "Bearer ${SOLOCRON_TEST_HOOK_TOKEN}"}}
jobs:
  - name: backup
    schedule: "0 3 * * *"
    command: [backup.sh]
    on_failure: {command: [notify.sh, --urgent], timeout: 30s}
    on_success: {url: "http://127.0.0.1:9/ok"}
)",
                           "f");
  ::unsetenv("SOLOCRON_TEST_HOOK_TOKEN");
  ASSERT_TRUE(load.errors.empty()) << all_errors(load);
  const auto& node = load.config.node.hooks;
  ASSERT_TRUE(node.on_missed);
  EXPECT_EQ(node.on_missed->url, "https://alerts.test/solocron");
  EXPECT_EQ(node.on_missed->headers.at("Authorization"), "Bearer t0k");
  const auto& job = load.config.jobs.at(0).hooks;
  ASSERT_TRUE(job.on_failure && job.on_success);
  EXPECT_FALSE(job.on_missed);
  EXPECT_EQ(job.on_failure->command, (std::vector<std::string>{"notify.sh", "--urgent"}));
  EXPECT_EQ(job.on_failure->timeout, 30s);
  EXPECT_EQ(job.on_success->url, "http://127.0.0.1:9/ok");
}

TEST(HookConfig, RejectsWithFileLineColumnAndKey) {
  const std::string job = "  - name: a\n    schedule: \"* * * * *\"\n    command: [x]\n";
  const std::pair<std::string, std::string> cases[] = {
      {"jobs:\n" + job + "    on_failure: notify.sh\n", "f:5:17: jobs[0].on_failure: expected {command: [program, arg, ...]} or {url:"},
      {"jobs:\n" + job + "    on_failure: {}\n", "f:5:17: jobs[0].on_failure: missing \"command\""},
      {"jobs:\n" + job + "    on_failure: {command: [x], url: \"http://h/\"}\n", "jobs[0].on_failure: a hook has either command or url, not both"},
      {"jobs:\n" + job + "    on_missed: {command: []}\n", "jobs[0].on_missed.command: the command list is empty"},
      {"jobs:\n" + job + "    on_success: {url: \"ftp://h/\"}\n", "jobs[0].on_success.url: the scheme must be http or https"},
      {"jobs:\n" + job + "    on_success: {command: [x], headers: {A: b}}\n", "jobs[0].on_success.headers: headers applies to a url hook"},
      {"jobs:\n" + job + "    on_success: {url: \"http://h/\", timeout: 0s}\n", "jobs[0].on_success.timeout: \"0s\" must be more than 0"},
      {"jobs:\n" + job + "    on_success: {url: \"http://h/\", retries: 3}\n", "jobs[0].on_success.retries: unknown key \"retries\""},
      {"node:\n  hooks: {on_error: {command: [x]}}\n", "f:2:11: node.hooks.on_error: unknown key \"on_error\""},
      {"node:\n  hooks: [x]\n", "f:2:10: node.hooks: expected a mapping with on_failure, on_missed or on_success"},
  };
  for (const auto& [yaml, want] : cases) {
    auto load = parse_config(yaml, "f");
    ASSERT_FALSE(load.errors.empty()) << yaml;
    EXPECT_NE(load.errors[0].to_string().find(want), std::string::npos)
        << yaml << "\nwant: " << want << "\ngot:\n" << all_errors(load);
  }
}

}  // namespace
}  // namespace solocron::detail
