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

constexpr int kThreads = 8;
constexpr int kOccurrences = 500;

struct Win {
  int occurrence;  // for "orphan": the epoch second of the occurrence
  std::int64_t fence;
};

template <class B>
class ConcurrencyTest : public StoreConformance<B> {
 protected:
  // `count` occurrences of job "orphan" claimed by a node whose lease then expired, with
  // their fences.
  std::vector<Win> orphans(int count) {
    this->register_live("dead", 300ms);
    const auto base = this->store_second(-600s);
    std::vector<ClaimRequest> batch;
    for (int i = 0; i < count; ++i) {
      batch.push_back(this->request(this->key("orphan", base + std::chrono::seconds(i)), "dead"));
    }
    std::vector<Win> claimed;
    auto results = this->store().claim(batch);
    for (int i = 0; i < count; ++i) {
      EXPECT_EQ(results[i].outcome, ClaimResult::Outcome::won);
      claimed.push_back({static_cast<int>(base.time_since_epoch().count()) + i, results[i].fence});
    }
    this->backend_.advance(600ms);
    return claimed;
  }
};
TYPED_TEST_SUITE(ConcurrencyTest, Backends, BackendNames);

// The lease of contender `contender`, node "n<contender>".
NodeLease contender_lease(Store& store, int contender) {
  auto reg = store.register_node("n" + std::to_string(contender), 10min);
  if (!reg.acquired)
    throw std::runtime_error("contender " + std::to_string(contender) + ": no lease");
  return reg.lease;
}

// Claims every occurrence one by one (the contended path), starting at a different offset
// per contender so that they collide in different orders.
std::vector<Win> claim_all(Store& store, int contender, std::chrono::sys_seconds base,
                           int occurrences) {
  std::vector<Win> wins;
  const NodeLease lease = contender_lease(store, contender);
  for (int n = 0; n < occurrences; ++n) {
    int i = (n + contender * 37) % occurrences;
    ClaimRequest r;
    r.key = {"race", base + std::chrono::seconds(i), ""};
    r.node_id = lease.node_id;
    r.lease_token = lease.token;
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
  auto wins = wins_from_threads(this->backend_, kThreads, [&](Store& store, int t) {
    return claim_all(store, t, base, kOccurrences);
  });
  expect_one_winner_each(wins, kOccurrences);
}

// Forks a child per contender; each opens its own store from the URL, runs `work` on it and
// reports its wins through a pipe. Returns all the wins.
template <class Work>
std::vector<Win> wins_from_processes(const std::string& url, int processes, Work work) {
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
        for (const Win& w : work(*store, p)) {
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

// Runs `work` on a connection of its own in each of `threads` threads; returns all the wins.
template <class Backend, class Work>
std::vector<Win> wins_from_threads(Backend& backend, int threads, Work work) {
  std::vector<std::shared_ptr<Store>> connections;
  for (int t = 0; t < threads; ++t) connections.push_back(backend.connect());
  std::vector<std::vector<Win>> wins(threads);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      try {
        wins[t] = work(*connections[t], t);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : running) th.join();
  std::vector<Win> all;
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    all.insert(all.end(), wins[t].begin(), wins[t].end());
  }
  return all;
}

TYPED_TEST(ConcurrencyTest, SeveralProcessesOneWinnerPerOccurrence) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    const auto base = this->store_second(-3600s);
    auto wins = wins_from_processes(this->backend_.url(), 4, [&](Store& store, int p) {
      return claim_all(store, p, base, 300);
    });
    expect_one_winner_each(wins, 300);
  }
}

// Re-claims every orphan one by one, in an order of its own.
std::vector<Win> reclaim_all(Store& store, int contender, const std::vector<Win>& orphans) {
  const NodeLease lease = contender_lease(store, contender);
  std::vector<Win> wins;
  const int n = static_cast<int>(orphans.size());
  for (int step = 0; step < n; ++step) {
    const Win& o = orphans[(step + contender * 7) % n];
    ReclaimRequest r{{"orphan", std::chrono::sys_seconds(std::chrono::seconds(o.occurrence)), ""},
                     o.fence,
                     lease.node_id,
                     lease.token,
                     2};
    auto got = store.reclaim(std::span(&r, 1)).at(0);
    if (!got) continue;
    if (got->node != lease.node_id || got->fence <= o.fence || got->attempt != 2) {
      throw std::runtime_error("unexpected re-claim of " + std::to_string(o.occurrence));
    }
    wins.push_back({o.occurrence, got->fence});
  }
  return wins;
}

TYPED_TEST(ConcurrencyTest, RacingReclaimsFromThreadsHaveOneWinnerEach) {
  auto lost = this->orphans(40);
  auto wins = wins_from_threads(this->backend_, 4,
                                [&](Store& store, int t) { return reclaim_all(store, t, lost); });
  std::map<int, int> per_occurrence;
  for (const Win& w : wins) per_occurrence[w.occurrence]++;
  EXPECT_EQ(per_occurrence.size(), lost.size());
  for (auto [occurrence, count] : per_occurrence) EXPECT_EQ(count, 1) << occurrence;
  for (const Win& w : wins) {
    auto rec = this->find(
        this->key("orphan", std::chrono::sys_seconds(std::chrono::seconds(w.occurrence))));
    EXPECT_EQ(rec->fence, w.fence) << "the stored record is the winner's";
  }
}

TYPED_TEST(ConcurrencyTest, RacingReclaimsFromProcessesHaveOneWinnerEach) {
  if constexpr (!TypeParam::kMultiProcess) {
    GTEST_SKIP() << TypeParam::kName << " is process-local";
  } else {
    auto lost = this->orphans(40);
    auto wins = wins_from_processes(
        this->backend_.url(), 4, [&](Store& store, int p) { return reclaim_all(store, p, lost); });
    std::map<int, int> per_occurrence;
    for (const Win& w : wins) per_occurrence[w.occurrence]++;
    EXPECT_EQ(per_occurrence.size(), lost.size());
    for (auto [occurrence, count] : per_occurrence) EXPECT_EQ(count, 1) << occurrence;
  }
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
        const auto lease = store->register_node("victim", 10min).lease;
        for (int round = 0;; ++round) {
          std::vector<ClaimRequest> batch(2000);
          for (int i = 0; i < 2000; ++i) {
            batch[i].key = {"killed", base + std::chrono::seconds(round * 2000 + i), ""};
            batch[i].node_id = "victim";
            batch[i].lease_token = lease.token;
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
    this->register_live("survivor");
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
