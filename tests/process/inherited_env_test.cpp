// The environment policy applied where the child's environment is built: what a job inherits
// of the node's variables under each InheritEnv mode.
#include <gtest/gtest.h>

#include <algorithm>

#include "process/process_test_support.hpp"
#include "solocron/environment.hpp"

namespace solocron::detail {
namespace {

using testing::command;
using testing::start;

// The names of the variables the child sees.
std::vector<std::string> names_seen(InheritEnv policy) {
  ProcessSpec spec = command({"/usr/bin/env"});
  spec.inherit_env = std::move(policy);
  spec.extra_env = {{"JOB_OWN", "1"}};
  ProcessRunner runner;
  auto run = start(runner, std::move(spec));
  EXPECT_TRUE(run->wait_exit());
  std::vector<std::string> names;
  for (const auto& line : run->stdout_lines()) names.push_back(line.substr(0, line.find('=')));
  std::sort(names.begin(), names.end());
  return names;
}

bool has(const std::vector<std::string>& names, const char* name) {
  return std::binary_search(names.begin(), names.end(), std::string(name));
}

TEST(InheritedEnvironment, EachModeLetsThroughWhatItSays) {
  ::setenv("PGPASSWORD", "S3cretPa55", 1);
  ::setenv("SOLOCRON_STORE", "postgres://u:S3cretPa55@h/db", 1);
  ::setenv("INHERIT_TEST_PLAIN", "x", 1);
  const auto def = names_seen({});
  EXPECT_FALSE(has(def, "PGPASSWORD"));
  EXPECT_FALSE(has(def, "SOLOCRON_STORE"));
  EXPECT_TRUE(has(def, "INHERIT_TEST_PLAIN"));
  EXPECT_TRUE(has(def, "JOB_OWN"));

  const auto all = names_seen({InheritEnv::Mode::all, {}});
  EXPECT_TRUE(has(all, "PGPASSWORD"));
  EXPECT_TRUE(has(all, "SOLOCRON_STORE"));

  EXPECT_EQ(names_seen({InheritEnv::Mode::none, {}}), std::vector<std::string>{"JOB_OWN"});
  EXPECT_EQ(names_seen({InheritEnv::Mode::only, {"PGPASSWORD", "NOT_SET_ANYWHERE"}}),
            (std::vector<std::string>{"JOB_OWN", "PGPASSWORD"}));
  ::unsetenv("PGPASSWORD");
  ::unsetenv("SOLOCRON_STORE");
  ::unsetenv("INHERIT_TEST_PLAIN");
}

TEST(InheritedEnvironment, CredentialsAreTheStoresAndSolocronsOwn) {
  for (const char* name : {"PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE", "SOLOCRON_STORE", "SOLOCRON_X"}) {
    EXPECT_TRUE(is_node_credential(name)) << name;
  }
  for (const char* name : {"PATH", "HOME", "PGHOST", "PGUSER", "SOLOCRON", "MY_SOLOCRON_X"}) {
    EXPECT_FALSE(is_node_credential(name)) << name;
  }
}

}  // namespace
}  // namespace solocron::detail
