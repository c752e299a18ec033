#include <gtest/gtest.h>

#include "solocron/fake_clock.hpp"
#include "solocron/scheduler.hpp"
#include "store/memory/memory_store.hpp"

namespace solocron {
namespace {

using namespace std::chrono_literals;

// Designated initialisers would warn (-Wmissing-field-initializers) for the fields left out.
template <class F>
std::string message_of(F change) {
  NodeSettings s;
  change(s);
  auto e = validate(s);
  return e ? *e : "";
}

TEST(NodeSettings, DefaultsAreValid) { EXPECT_EQ(validate(NodeSettings{}), std::nullopt); }

TEST(NodeSettings, MessagesNameTheSettingAndValue) {
  // A renewal cycle (wait a heartbeat, then a call that may last its deadline) must fit in the
  // lease's time to live, as client-go's "leaseDuration must be greater than renewDeadline".
  EXPECT_EQ(message_of([](auto& s) { s.heartbeat = 1s; s.node_ttl = 3s; }),
            "node_ttl (3s) must be greater than heartbeat (1s) + store_call_deadline (2s)");
  EXPECT_EQ(message_of([](auto& s) { s.heartbeat = 1500ms; s.node_ttl = 1s; s.store_call_deadline = 500ms; }),
            "node_ttl (1s) must be greater than heartbeat (1500ms) + store_call_deadline (500ms)");
  EXPECT_EQ(message_of([](auto& s) { s.heartbeat = 500ms; s.node_ttl = 3s; }), "");
  EXPECT_EQ(message_of([](auto& s) { s.store_call_deadline = 0ms; }),
            "store_call_deadline (0s) must be positive");
  EXPECT_EQ(message_of([](auto& s) { s.heartbeat = 0ms; }), "heartbeat (0s) must be positive");
  EXPECT_EQ(message_of([](auto& s) { s.max_clock_skew = -1ms; }), "max_clock_skew (-1ms) must not be negative");
  EXPECT_EQ(message_of([](auto& s) { s.shutdown_grace = -2s; }), "shutdown_grace (-2s) must not be negative");
  EXPECT_EQ(message_of([](auto& s) { s.max_concurrent_runs = 0; }), "max_concurrent_runs (0) must be at least 1");
  EXPECT_EQ(message_of([](auto& s) { s.history_keep_last = 0; }), "history_keep_last (0) must be at least 1");
  EXPECT_EQ(message_of([](auto& s) { s.node_id = "a b"; }), "node_id \"a b\" must match [A-Za-z0-9_.-]{1,128}");
  EXPECT_EQ(message_of([](auto& s) { s.default_time_zone = "Mars/Olympus"; }),
            "default_time_zone \"Mars/Olympus\" is not a known IANA time zone");
}

TEST(NodeSettings, SchedulerConstructorThrowsTheMessage) {
  FakeClock clock;
  detail::MemoryStore store;
  try {
    NodeSettings bad;
    bad.heartbeat = 1s;
    bad.node_ttl = 1s;
    Scheduler s(bad, store, clock);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "node_ttl (1s) must be greater than heartbeat (1s) + store_call_deadline (2s)");
  }
}

TEST(JobName, Validation) {
  EXPECT_EQ(validate_job_name("backup.db-1_x"), std::nullopt);
  EXPECT_EQ(validate_job_name(std::string(128, 'a')), std::nullopt);
  EXPECT_EQ(*validate_job_name(""), "job name \"\" must match [A-Za-z0-9_.-]{1,128}");
  EXPECT_EQ(*validate_job_name("a/b"), "job name \"a/b\" must match [A-Za-z0-9_.-]{1,128}");
  EXPECT_TRUE(validate_job_name(std::string(129, 'a')));
}

TEST(NodeSettings, EmptyNodeIdIsTheHostName) {
  FakeClock clock;
  detail::MemoryStore store;
  Scheduler s(NodeSettings{}, store, clock);
  EXPECT_FALSE(s.node_id().empty());
}

}  // namespace
}  // namespace solocron
