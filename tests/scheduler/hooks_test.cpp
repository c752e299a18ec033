// Notifications in-process: each failure is notified once across two nodes, by the node whose
// outcome write recorded it; a failed delivery is tried again after its backoff; a success
// notifies on_success (the node default when the job has none); an interruption notifies nobody.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "scheduler/cluster_fixture.hpp"

namespace solocron::testing {
namespace {

namespace fs = std::filesystem;

class HookDir {
 public:
  HookDir() : dir_(fs::temp_directory_path() / ("solocron-hooks-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~HookDir() { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> lines(const std::string& name) const {
    std::ifstream in(path(name));
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

 private:
  fs::path dir_;
};

HookSpec append_hook(const std::string& file) {
  HookSpec h;
  h.command = {"sh", "-c", "echo $SOLOCRON_EVENT $SOLOCRON_SCHEDULED_AT $SOLOCRON_NODE $SOLOCRON_STATE >> " + file};
  return h;
}

TEST_F(Cluster, EachFailureIsNotifiedOnceByTheNodeThatRecordedIt) {
  HookDir dir;
  Node& a = add_node("a");
  Node& b = add_node("b");
  for (Node* n : {&a, &b}) {
    JobSpec j = callable_job("fails", "* * * * * *", [](const RunContext&) { return 7; });
    j.hooks.on_failure = append_hook(dir.path("failures"));
    ASSERT_TRUE(n->sched->add(std::move(j)));
    n->sched->start();
  }
  run_for(2s);
  run_for(10s);
  const auto records = history("fails");
  std::set<std::string> failed;
  for (const RunRecord& r : records) {
    if (r.state == RunState::failed) failed.insert(format_rfc3339(r.key.scheduled_at, "UTC", true));
  }
  ASSERT_GE(failed.size(), 8u);
  std::multiset<std::string> notified;
  std::set<std::string> by;
  for (const auto& line : dir.lines("failures")) {
    std::istringstream in(line);
    std::string event, at, node, state;
    in >> event >> at >> node >> state;
    EXPECT_EQ(event, "failure");
    EXPECT_EQ(state, "failed");
    notified.insert(at);
    by.insert(node);
  }
  EXPECT_EQ(std::set<std::string>(notified.begin(), notified.end()), failed);
  EXPECT_EQ(notified.size(), failed.size()) << "an occurrence was notified twice";
  EXPECT_EQ(by, (std::set<std::string>{"a", "b"})) << "each node notifies what it recorded";
}

// The hook fails the first time for each occurrence: it is run again after a second (the fake
// clock), and the failure is reported with the retry.
TEST_F(SchedulerTest, AFailedDeliveryIsTriedAgainAfterItsBackoff) {
  HookDir dir;
  NodeSettings s = node_settings();
  s.hooks.on_success = HookSpec{};
  s.hooks.on_success->command = {"sh", "-c",
                                 "f=" + dir.path("seen-") + "$SOLOCRON_SCHEDULED_AT; if [ -e $f ]; then echo ok >> " +
                                     dir.path("delivered") + "; else touch $f; exit 1; fi"};
  Scheduler& sched = make(s);
  ASSERT_TRUE(sched.add(callable_job("ok", "*/5 * * * * *", [](const RunContext&) { return 0; })));
  sched.start();
  run_for(12s);
  const std::size_t succeeded = history("ok").size();
  ASSERT_GE(succeeded, 2u);
  EXPECT_EQ(dir.lines("delivered").size(), succeeded) << rec.dump();
  EXPECT_EQ(rec.count(RunEventKind::hook_failed, "ok"), succeeded);
  EXPECT_EQ(rec.count(RunEventKind::hook_delivered, "ok"), succeeded);
  for (const auto& e : rec.of(RunEventKind::hook_failed, "ok")) {
    EXPECT_NE(e.message.find("on_success command sh (attempt 1 of 5): exit status 1; again in 1s"), std::string::npos)
        << e.message;
  }
}

TEST_F(SchedulerTest, AnInterruptedRunNotifiesNobody) {
  HookDir dir;
  NodeSettings s = node_settings();
  s.hooks.on_failure = append_hook(dir.path("failures"));
  Scheduler& sched = make(s);
  ASSERT_TRUE(sched.add(callable_job("long", "*/10 * * * * *", b.fn())));
  sched.start();
  tick_for(11s);
  ASSERT_TRUE(eventually([&] { return b.started.load() >= 1; }));
  sched.shutdown(std::chrono::milliseconds(0));
  ASSERT_FALSE(history("long").empty());
  EXPECT_EQ(history("long").back().state, RunState::interrupted);
  EXPECT_TRUE(dir.lines("failures").empty());
}

}  // namespace
}  // namespace solocron::testing
