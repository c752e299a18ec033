// memory:-specific behaviour beyond the conformance suite: URL and default clock.
#include <gtest/gtest.h>

#include "solocron/store.hpp"

namespace solocron {
namespace {

TEST(OpenStore, MemoryUrl) {
  auto s = open_store("memory:");
  EXPECT_EQ(s->describe(), "memory:");
  s->migrate();
  auto host = std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(s->now() - host), std::chrono::seconds(1)) << "defaults to the host";
}

TEST(OpenStore, MemoryConnectionsShareOneStoreAndEachStoreIsItsOwn) {
  auto s = open_store("memory:", {.read_only = true});  // accepted: nothing to protect
  auto other = s->another_connection(std::chrono::seconds(1));
  ASSERT_TRUE(other->register_node("a", std::chrono::seconds(60)).acquired);
  EXPECT_EQ(s->nodes().size(), 1u);
  EXPECT_EQ(other->identity(), s->identity());
  EXPECT_NE(open_store("memory:")->identity(), s->identity());
  s.reset();
  EXPECT_EQ(other->nodes().size(), 1u) << "the state lives while a connection does";
}

TEST(OpenStore, UnknownSchemeIsInvalid) {
  for (std::string url : {"", "mysql://x", "memory", "etcd://h:2379"}) {
    try {
      open_store(url);
      ADD_FAILURE() << url;
    } catch (const StoreError& e) {
      EXPECT_EQ(e.kind(), StoreError::Kind::invalid) << url;
      EXPECT_NE(std::string(e.what()).find('"' + url + '"'), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace solocron
