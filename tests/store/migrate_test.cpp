// Conformance: the schema is created from an empty store and migrate() is safe to run from
// many threads and processes at once (ten nodes starting together).
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class MigrateTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(MigrateTest, Backends, BackendNames);

TYPED_TEST(MigrateTest, FromAnEmptyStoreAndAgain) {
  auto s = this->backend_.connect();
  s->migrate();
  EXPECT_TRUE(s->nodes().empty());
  EXPECT_TRUE(s->history({}).empty());
  s->migrate();  // idempotent
  auto reg = s->register_node("a", 60s);
  EXPECT_TRUE(reg.acquired);
  auto again = this->backend_.connect();
  again->migrate();  // keeps the data
  EXPECT_EQ(again->nodes().size(), 1u);
}

TYPED_TEST(MigrateTest, ConcurrentMigrationsFromThreads) {
  constexpr int kNodes = 10;
  std::vector<std::shared_ptr<Store>> connections;
  for (int i = 0; i < kNodes; ++i) connections.push_back(this->backend_.connect());
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      try {
        connections[i]->migrate();
        auto r = connections[i]->register_node("n" + std::to_string(i), 60s);
        if (!r.acquired) errors[i] = "not acquired";
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(errors[i], "") << "node " << i;
  EXPECT_EQ(this->store().nodes().size(), static_cast<std::size_t>(kNodes));
}

TYPED_TEST(MigrateTest, ConcurrentMigrationsFromProcesses) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    constexpr int kNodes = 10;
    const std::string url = this->backend_.url();
    std::vector<pid_t> children;
    for (int i = 0; i < kNodes; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        int status = 0;
        try {
          auto s = open_store(url);
          s->migrate();
          if (!s->register_node("p" + std::to_string(i), 60s).acquired) status = 3;
        } catch (const std::exception& e) {
          fprintf(stderr, "child %d: %s\n", i, e.what());
          status = 2;
        }
        _exit(status);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
    }
    EXPECT_EQ(this->store().nodes().size(), static_cast<std::size_t>(kNodes));
  }
}

TYPED_TEST(MigrateTest, StoreClockIsCloseToThisHost) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << "memory: runs on a fake clock here";
  } else {
    auto host = std::chrono::system_clock::now();
    auto store_now = this->store().now();
    EXPECT_LT(std::chrono::abs(store_now - host), 2s) << "test server runs on this host";
    this->backend_.advance(20ms);
    EXPECT_GT(this->store().now(), store_now);
    EXPECT_NE(this->store().describe(), "");
  }
}

}  // namespace
}  // namespace solocron::testing
