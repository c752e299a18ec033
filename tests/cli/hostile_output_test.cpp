// Output is bytes: jobs that print NUL, invalid UTF-8, terminal escapes and a 1 MiB line run
// beside an at_least_once per-second job on a real node. Nothing they print fails a store
// write, breaks JSON or reaches the text log raw.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <sstream>

#include "cli/daemon_process.hpp"
#include "store/backends.hpp"

namespace solocron::testing {
namespace {

using namespace std::chrono_literals;

const std::map<std::string, std::string> kHostile = {
    {"nul", R"(printf 'before\000after\n\000\000\n')"},
    {"invalid", R"(printf 'bad \377\376 bytes \300\257 \355\240\200\n\342\202')"},
    {"escapes", R"(printf 'a\rb\033]0;retitled\007\033[2J\033[Hforged 2026-01-01T00:00:00.000Z error n1 fatal: x\n\b\177\302\233z\n')"},
    {"long_line", "head -c 1048576 /dev/zero | tr '\\000' x; echo"},
    {"random", "head -c 65536 /dev/urandom"},
};

std::string config_yaml(const std::filesystem::path& neighbour, bool json_log) {
  std::string yaml = std::string("node:\n  log_format: ") + (json_log ? "json" : "text") +
                     "\n  heartbeat: 500ms\n  node_ttl: 3s\njobs:\n";
  for (const auto& [name, script] : kHostile) {
    nlohmann::json command = script;
    yaml += "  - name: " + name + "\n    schedule: \"* * * * * *\"\n    shell: true\n    command: " +
            command.dump() + "\n";
  }
  yaml += "  - name: neighbour\n    schedule: \"* * * * * *\"\n    delivery: at_least_once\n"
          "    command: [\"sh\", \"-c\", \"echo $SOLOCRON_SCHEDULED_AT >> " + neighbour.string() + "\"]\n";
  return yaml;
}

// No byte that a terminal obeys: C0 controls other than \n and \t, DEL, C1 (U+0080-U+009F).
void expect_no_raw_control(const std::string& log) {
  for (std::size_t i = 0; i < log.size(); ++i) {
    const auto b = static_cast<unsigned char>(log[i]);
    const bool c1 = b == 0xC2 && i + 1 < log.size() && static_cast<unsigned char>(log[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(log[i + 1]) <= 0x9F;
    if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7F || c1) {
      ADD_FAILURE() << "raw control byte 0x" << std::hex << int(b) << " at " << std::dec << i << ": "
                    << nlohmann::json(log.substr(i > 40 ? i - 40 : 0, 80))
                           .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
}

void run_hostile_node(const std::string& store, bool json_log) {
  TempDir dir;
  const auto neighbour = dir / "neighbour";
  const auto cfg = (dir / "jobs.yaml").string();
  write_file(cfg, config_yaml(neighbour, json_log));
  Daemon d({"run", "--config", cfg, "--store", store, "--node-id", "n1"}, dir / "n1.log");
  std::this_thread::sleep_for(10s);
  d.signal(SIGTERM);
  ASSERT_EQ(d.wait(), 0) << d.log().substr(0, 4000);

  auto h = run_child({"history", "--limit", "10000", "--json", "--store", store}, dir.path());
  ASSERT_EQ(h.code, 0) << h.output.substr(0, 2000);
  nlohmann::json history = nlohmann::json::parse(h.output);  // throws if not JSON
  std::map<std::string, std::vector<nlohmann::json>> by_job;
  for (const auto& r : history) by_job[r["job"].get<std::string>()].push_back(r);
  for (const auto& r : history) EXPECT_NE(r["state"], "lost") << r.dump();
  for (const auto& [name, script] : kHostile) {
    ASSERT_GE(by_job[name].size(), 5u) << name;
    for (const auto& r : by_job[name]) {
      if (r["state"] == "missed") continue;  // the first second, before the lease
      // Queued when SIGTERM came: interrupted before it started, so not a run.
      if (r["state"] == "interrupted" && r["started_at"].is_null()) continue;
      EXPECT_EQ(r["state"], "succeeded") << name << ": " << r.dump().substr(0, 500);
      EXPECT_EQ(r["exit_code"], 0) << name;
    }
  }
  const std::string nul_tail = by_job["nul"].at(0)["output_tail"];
  EXPECT_NE(nul_tail.find("before\xE2\x90\x80" "after"), std::string::npos) << nul_tail;
  const std::string bad_tail = by_job["invalid"].at(0)["output_tail"];
  EXPECT_NE(bad_tail.find("bad \xEF\xBF\xBD\xEF\xBF\xBD bytes"), std::string::npos) << bad_tail;
  EXPECT_EQ(by_job["long_line"].at(0)["output_tail"], std::string(4095, 'x') + "\n");  // the last 4 KiB

  // The neighbour ran once per occurrence, each recorded once.
  std::set<std::string> seen;
  std::stringstream ticks(read_file(neighbour));
  std::size_t lines = 0;
  for (std::string t; std::getline(ticks, t); ++lines) EXPECT_TRUE(seen.insert(t).second) << "twice: " << t;
  std::size_t succeeded = 0;
  for (const auto& r : by_job["neighbour"]) succeeded += r["state"] == "succeeded";
  EXPECT_GE(lines, 5u);
  EXPECT_EQ(succeeded, lines);

  auto s = run_child({"status", "--json", "--store", store}, dir.path());
  ASSERT_EQ(s.code, 0) << s.output.substr(0, 2000);
  EXPECT_TRUE(nlohmann::json::accept(s.output)) << s.output.substr(0, 300);

  const std::string log = d.log();
  expect_no_raw_control(log);
  if (json_log) {
    std::stringstream lines_of_log(log);
    for (std::string line; std::getline(lines_of_log, line);) {
      EXPECT_TRUE(nlohmann::json::accept(line)) << line.substr(0, 300);
    }
  } else {
    EXPECT_NE(log.find("a\\rb\\e]0;retitled\\a\\e[2J\\e[Hforged"), std::string::npos);
    EXPECT_NE(log.find("before\\0after"), std::string::npos);
  }
}

TEST(HostileOutput, OnSqliteWithTheTextLog) {
  TempDir store_dir;
  run_hostile_node("sqlite:" + (store_dir / "s.db").string(), false);
}

TEST(HostileOutput, OnPostgresWithTheJsonLog) {
  PostgresBackend pg;
  run_hostile_node(pg.url(), true);
}

}  // namespace
}  // namespace solocron::testing
