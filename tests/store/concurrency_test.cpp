// Conformance: double claims from many threads and from several processes, each with its own
// connection to the store. Exactly one winner per occurrence, and distinct fences.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

#include "store/conformance.hpp"

namespace solocron::testing {
namespace {

template <class B>
class ConcurrencyTest : public StoreConformance<B> {};
TYPED_TEST_SUITE(ConcurrencyTest, Backends, BackendNames);

constexpr int kThreads = 8;
constexpr int kOccurrences = 500;

struct Win {
  int occurrence;
  std::int64_t fence;
};

// Claims every occurrence one by one (the contended path), starting at a different offset
// per contender so that they collide in different orders.
std::vector<Win> claim_all(Store& store, int contender, std::chrono::sys_seconds base,
                           int occurrences) {
  std::vector<Win> wins;
  const std::string node = "n" + std::to_string(contender);
  for (int n = 0; n < occurrences; ++n) {
    int i = (n + contender * 37) % occurrences;
    ClaimRequest r;
    r.key = {"race", base + std::chrono::seconds(i), ""};
    r.node_id = node;
    auto res = store.claim(std::span(&r, 1)).at(0);
    if (res.outcome == ClaimResult::Outcome::won) wins.push_back({i, res.fence});
  }
  return wins;
}

void expect_one_winner_each(const std::vector<Win>& wins, int occurrences) {
  std::map<int, int> per_occurrence;
  std::set<std::int64_t> fences;
  for (const Win& w : wins) {
    per_occurrence[w.occurrence]++;
    EXPECT_TRUE(fences.insert(w.fence).second) << "fence " << w.fence << " issued twice";
  }
  EXPECT_EQ(per_occurrence.size(), static_cast<std::size_t>(occurrences));
  for (auto [occurrence, count] : per_occurrence) {
    EXPECT_EQ(count, 1) << "occurrence " << occurrence;
  }
}

TYPED_TEST(ConcurrencyTest, ManyThreadsOneWinnerPerOccurrence) {
  const auto base = this->store_second(-3600s);
  std::vector<std::shared_ptr<Store>> connections;
  for (int t = 0; t < kThreads; ++t) connections.push_back(this->backend_.connect());
  std::vector<std::vector<Win>> wins(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { wins[t] = claim_all(*connections[t], t, base, kOccurrences); });
  }
  for (auto& th : threads) th.join();
  std::vector<Win> all;
  for (auto& w : wins) all.insert(all.end(), w.begin(), w.end());
  expect_one_winner_each(all, kOccurrences);
}

// Forks a child per contender; each opens its own store from the URL and reports its wins
// through a pipe. Returns all the wins.
[[maybe_unused]] std::vector<Win> claim_from_processes(const std::string& url,
                                                       std::chrono::sys_seconds base, int processes,
                                                       int occurrences) {
  std::vector<std::pair<pid_t, int>> children;
  for (int p = 0; p < processes; ++p) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      int status = 0;
      try {
        auto store = open_store(url);
        for (const Win& w : claim_all(*store, p, base, occurrences)) {
          if (write(fds[1], &w, sizeof w) != sizeof w) status = 3;
        }
      } catch (const std::exception& e) {
        fprintf(stderr, "child %d: %s\n", p, e.what());
        status = 2;
      }
      close(fds[1]);
      _exit(status);
    }
    close(fds[1]);
    children.emplace_back(pid, fds[0]);
  }
  std::vector<Win> all;
  for (auto [pid, fd] : children) {
    Win w;
    while (read(fd, &w, sizeof w) == sizeof w) all.push_back(w);
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
  }
  return all;
}

TYPED_TEST(ConcurrencyTest, SeveralProcessesOneWinnerPerOccurrence) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    const auto base = this->store_second(-3600s);
    auto wins = claim_from_processes(this->backend_.url(), base, 4, 300);
    expect_one_winner_each(wins, 300);
  }
}

TYPED_TEST(ConcurrencyTest, RacingReclaimsOfALostRunHaveOneWinner) {
  this->register_live("dead", 300ms);
  auto k = this->key("j", this->store_second(-1s));
  auto first = this->claim_one(this->request(k, "dead"));
  ASSERT_EQ(first.outcome, ClaimResult::Outcome::won);
  this->backend_.advance(600ms);
  ASSERT_EQ(this->store().mark_lost().size(), 1u);

  std::vector<std::shared_ptr<Store>> connections;
  for (int t = 0; t < 4; ++t) connections.push_back(this->backend_.connect());
  std::vector<std::optional<RunRecord>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back(
        [&, t] { got[t] = connections[t]->reclaim_lost(k, "n" + std::to_string(t)); });
  }
  for (auto& th : threads) th.join();
  int winners = 0;
  for (int t = 0; t < 4; ++t) {
    if (!got[t]) continue;
    ++winners;
    EXPECT_EQ(got[t]->node, "n" + std::to_string(t));
    EXPECT_GT(got[t]->fence, first.fence);
    EXPECT_EQ(got[t]->attempt, 2);
    EXPECT_EQ(got[t]->state, RunState::claimed);
    EXPECT_EQ(this->find(k)->fence, got[t]->fence);
  }
  EXPECT_EQ(winners, 1);
}

// A node killed in the middle of a claim batch (SIGKILL: no rollback, no goodbye) leaves
// whole claims only: every record it wrote has its own fence, and the next fence issued is
// larger than all of them.
TYPED_TEST(ConcurrencyTest, AClaimerKilledMidBatchLeavesNoHalfWrittenClaim) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    this->store();  // migrated before the child starts
    const auto base = this->store_second(-86400s);
    const std::string url = this->backend_.url();
    pid_t pid = fork();
    if (pid == 0) {
      try {
        auto store = open_store(url);
        for (int round = 0;; ++round) {
          std::vector<ClaimRequest> batch(2000);
          for (int i = 0; i < 2000; ++i) {
            batch[i].key = {"killed", base + std::chrono::seconds(round * 2000 + i), ""};
            batch[i].node_id = "victim";
          }
          store->claim(batch);
        }
      } catch (...) {
      }
      _exit(1);
    }
    // Kill it once its first batches are in, while it is writing the next ones.
    HistoryQuery some;
    some.job = "killed";
    some.limit = 1;
    for (int i = 0; i < 200 && this->store().history(some).empty(); ++i) {
      std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(30ms);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child was still claiming when killed";

    HistoryQuery q;
    q.job = "killed";
    q.limit = 10'000'000;
    auto records = this->store().history(q);
    EXPECT_FALSE(records.empty());
    std::set<std::int64_t> fences;
    std::int64_t max_fence = 0;
    for (const auto& r : records) {
      EXPECT_EQ(r.state, RunState::claimed);
      EXPECT_GT(r.fence, 0);
      EXPECT_TRUE(fences.insert(r.fence).second) << "fence " << r.fence << " twice";
      max_fence = std::max(max_fence, r.fence);
    }
    auto next = this->claim_one(this->request(this->key("killed", base - 1s), "survivor"));
    ASSERT_EQ(next.outcome, ClaimResult::Outcome::won);
    EXPECT_GT(next.fence, max_fence);
  }
}

// Two processes started with the same node id at the same moment: one gets the lease, the
// others are told who holds it.
TYPED_TEST(ConcurrencyTest, RacingRegistrationsOfOneIdHaveOneWinner) {
  this->store();
  for (int round = 0; round < 5; ++round) {
    const std::string id = "same-" + std::to_string(round);
    std::vector<std::shared_ptr<Store>> connections;
    for (int t = 0; t < 6; ++t) connections.push_back(this->backend_.connect());
    std::vector<RegisterResult> got(6);
    std::vector<std::string> errors(6);
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        try {
          got[t] = connections[t]->register_node(id, 60s);
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    }
    for (auto& th : threads) th.join();
    int winners = 0;
    std::int64_t token = 0;
    for (int t = 0; t < 6; ++t) {
      EXPECT_EQ(errors[t], "");
      if (got[t].acquired) {
        ++winners;
        token = got[t].lease.token;
      }
    }
    ASSERT_EQ(winners, 1) << id;
    for (int t = 0; t < 6; ++t) {
      EXPECT_EQ(got[t].lease.token, token) << "losers are told the holder's lease";
    }
  }
}

}  // namespace
}  // namespace solocron::testing
