// The documentation names everything an operator meets: every log event the code emits is in
// docs/operations.md, every key the configuration reader accepts is in docs/configuration.md.
// The names are read from the sources, so a new event or key without documentation fails here.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "cli/daemon_process.hpp"

namespace solocron::testing {
namespace {

const std::filesystem::path kTop = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();

std::set<std::string> matches(const std::string& text, const std::regex& re) {
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

// The quoted words of the initializer that follows `marker` (up to its "};").
std::set<std::string> quoted_list(const std::string& source, const std::string& marker) {
  const auto at = source.find(marker);
  if (at == std::string::npos) return {};
  const auto end = source.find("};", at);
  return matches(source.substr(at, end - at), std::regex("\"([a-z_]+)\""));
}

TEST(Docs, OperationsNamesEveryLogEvent) {
  std::set<std::string> events =
      quoted_list(read_file(kTop / "src/scheduler/events.cpp"), "kNames[] = {");
  ASSERT_GT(events.size(), 15u) << "the scheduler's event names were not found";
  for (const auto& file : std::filesystem::directory_iterator(kTop / "src/cli")) {
    for (const auto& e : matches(read_file(file.path()), std::regex(R"(log_?\.(?:info|warn|error)\("([a-z_]+)\")")))
      events.insert(e);
  }
  const std::string doc = read_file(kTop / "docs/operations.md");
  for (const auto& e : events) EXPECT_NE(doc.find("`" + e + "`"), std::string::npos) << "event " << e;
}

TEST(Docs, ConfigurationNamesEveryKey) {
  const std::string doc = read_file(kTop / "docs/configuration.md");
  const auto node_keys = quoted_list(read_file(kTop / "src/config/node_reader.cpp"), "kNodeKeys = {");
  const auto job_keys = quoted_list(read_file(kTop / "src/config/job_reader.cpp"), "kJobKeys = {");
  ASSERT_GT(node_keys.size(), 10u);
  ASSERT_GT(job_keys.size(), 15u);
  for (const auto& k : node_keys) EXPECT_NE(doc.find("| `" + k + "` |"), std::string::npos) << "node." << k;
  for (const auto& k : job_keys) EXPECT_NE(doc.find("| `" + k + "` |"), std::string::npos) << "jobs[]." << k;
  const auto http_keys = quoted_list(read_file(kTop / "src/config/http_reader.cpp"), "kHttpKeys = {");
  ASSERT_GT(http_keys.size(), 5u);
  for (const auto& k : http_keys) EXPECT_NE(doc.find("| `http." + k + "` |"), std::string::npos) << "http." << k;
  const auto retry_keys = quoted_list(read_file(kTop / "src/config/job_reader.cpp"), "kRetryKeys = {");
  ASSERT_EQ(retry_keys.size(), 5u);
  for (const auto& k : retry_keys) EXPECT_NE(doc.find("| `" + k + "` |"), std::string::npos) << "retry." << k;
  for (const char* word : {"SOLOCRON_STORE", "--max-config-bytes", "4 KiB", "inherit_env", "PGPASSWORD"}) {
    EXPECT_NE(doc.find(word), std::string::npos) << word;
  }
}

// Every example file is one a user can start from: `solocron check` accepts it.
TEST(Docs, EveryExampleFileIsValid) {
  const auto dir = std::filesystem::temp_directory_path();
  int files = 0;
  for (const auto& file : std::filesystem::directory_iterator(kTop / "examples")) {
    if (file.path().extension() != ".yaml") continue;
    ++files;
    auto [code, out] = run({"check", file.path().string()}, dir, Env{{{"APP_TOKEN", "example"}}, {}});
    EXPECT_EQ(code, 0) << file.path() << "\n" << out;
  }
  EXPECT_GE(files, 2);
}

}  // namespace
}  // namespace solocron::testing
