// The cluster's job set: each node publishes its definitions under its lease at registration
// and after every change (add, update, pause, remove, apply), within a heartbeat; the
// published definition has what decides the job and no secret value.
#include <nlohmann/json.hpp>

#include "scheduler/cluster_fixture.hpp"
#include "scheduler/job_publish.hpp"

namespace solocron::testing {
namespace {

std::map<std::string, std::map<std::string, std::string>> published(detail::MemoryStore& store) {
  std::map<std::string, std::map<std::string, std::string>> out;  // job -> node -> fingerprint
  for (const auto& row : store.published_jobs()) out[row.job.job][row.node_id] = row.job.fingerprint;
  return out;
}

TEST_F(Cluster, EveryChangeIsPublishedWithinAHeartbeat) {
  Node& a = add_node("a");
  Node& b = add_node("b");
  Calls calls;
  for (Node* n : {&a, &b}) {
    ASSERT_TRUE(n->sched->add(callable_job("report", "0 * * * *", calls.fn())));
    ASSERT_TRUE(n->sched->add(callable_job("tick", "* * * * * *", calls.fn())));
    n->sched->start();
  }
  run_for(1500ms);
  auto p = published(store);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p["report"].size(), 2u);
  EXPECT_EQ(p["report"]["a"], p["report"]["b"]) << "same definition, same fingerprint";

  JobSpec changed = callable_job("report", "30 * * * *", calls.fn());
  ASSERT_TRUE(a.sched->update(changed));
  run_for(1500ms);
  p = published(store);
  EXPECT_NE(p["report"]["a"], p["report"]["b"]) << "a's update was not published (drift)";
  ASSERT_TRUE(b.sched->update(changed));
  ASSERT_TRUE(b.sched->pause("tick"));
  ASSERT_TRUE(a.sched->remove("tick"));
  run_for(1500ms);
  p = published(store);
  EXPECT_EQ(p["report"]["a"], p["report"]["b"]);
  ASSERT_EQ(p["tick"].size(), 1u) << "a removed tick";
  for (const auto& row : store.published_jobs()) {
    if (row.job.job == "tick") {
      EXPECT_TRUE(nlohmann::json::parse(row.job.definition)["paused"].get<bool>());
    }
  }
}

TEST(JobPublish, TheDefinitionHasEverythingButSecrets) {
  JobSpec cmd;
  cmd.name = "backup";
  cmd.schedule = parse("0 3 * * *", "Europe/Berlin");
  CommandSpec backup;
  backup.argv = {"backup.sh", "--full"};
  backup.env = {{"API_KEY", "env-secret"}};
  cmd.action = backup;
  cmd.timeout = std::chrono::minutes(10);
  cmd.jitter = std::chrono::seconds(30);
  const PublishedJob p = detail::published_job(cmd, false);
  EXPECT_EQ(p.job, "backup");
  EXPECT_EQ(p.fingerprint.size(), 16u);
  const auto d = nlohmann::json::parse(p.definition);
  EXPECT_EQ(d["schedule"], "0 3 * * *");
  EXPECT_EQ(d["time_zone"], "Europe/Berlin");
  EXPECT_EQ(d["timeout_ms"], 600000);
  EXPECT_EQ(d["jitter_ms"], 30000);
  EXPECT_EQ(d["action"]["argv"], nlohmann::json({"backup.sh", "--full"}));
  EXPECT_EQ(d["action"]["env"], nlohmann::json({"API_KEY"}));
  EXPECT_EQ(p.definition.find("env-secret"), std::string::npos);

  JobSpec http = cmd;
  http.action = HttpSpec{.url = "https://app:url-secret@h/x", .headers = {{"Authorization", "Bearer hdr-secret"}},
                         .body = "body-secret", .ca_file = {}};
  const PublishedJob h = detail::published_job(http, false);
  EXPECT_EQ(h.definition.find("url-secret"), std::string::npos);
  EXPECT_EQ(h.definition.find("hdr-secret"), std::string::npos);
  EXPECT_EQ(h.definition.find("body-secret"), std::string::npos);
  EXPECT_NE(h.definition.find("https://app:***@h:443/x"), std::string::npos) << h.definition;
  EXPECT_NE(h.fingerprint, p.fingerprint);

  // The same definition gives the same fingerprint; any policy change another.
  EXPECT_EQ(detail::published_job(cmd, false).fingerprint, p.fingerprint);
  EXPECT_NE(detail::published_job(cmd, true).fingerprint, p.fingerprint);
  cmd.overlap = OverlapMode::forbid;
  EXPECT_NE(detail::published_job(cmd, false).fingerprint, p.fingerprint);
}

}  // namespace
}  // namespace solocron::testing
