// Store throughput: three nodes (three connections, three threads) and 10,000 occurrences
// due in the same instant. Each node claims every due occurrence in batches, as the
// scheduler does, and records each one it won as running, then succeeded. The time is from
// the instant the nodes start until all 10,000 occurrences are claimed and recorded.
//
//   build/bin/bench_store                               memory:, sqlite: and a PostgreSQL 15
//                                                       started with scripts/pg-server.sh
//   SOLOCRON_BENCH_PG=postgres://u@h:p/db build/bin/bench_store   an existing server instead
//
// Arguments: /batch size/rotated. rotated=1: node i starts with the i-th third of the batch
// (a spread the scheduler can use), rotated=0: all nodes claim in the same order.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pg_bench_server.hpp"
#include "solocron/store.hpp"
#include "store/memory/memory_store.hpp"

namespace {

using namespace solocron;
namespace fs = std::filesystem;

constexpr int kNodes = 3;
constexpr int kOccurrences = 10'000;

// --- the stores under test ---

using bench::fresh_pg_database;

// One node: its connection and the lease its claims are made under.
struct Node {
  std::shared_ptr<Store> store;
  NodeLease lease;
};

// Three connections to one store, each with a node lease.
std::vector<Node> open_nodes(const std::string& kind) {
  std::vector<std::shared_ptr<Store>> stores;
  if (kind == "memory") {
    auto shared = std::make_shared<detail::MemoryStore>();
    stores.push_back(shared);
    for (int i = 1; i < kNodes; ++i)
      stores.push_back(shared->another_connection(std::chrono::seconds(4)));
  } else {
    std::string url;
    if (kind == "sqlite") {
      // Removed when the program ends.
      static const struct TempDir {
        std::string path;
        TempDir() : path((fs::temp_directory_path() / "solocron-bench-XXXXXX").string()) {
          if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp");
        }
        ~TempDir() {
          std::error_code ec;
          fs::remove_all(path, ec);
        }
      } temp;
      const std::string& dir = temp.path;
      fs::remove(dir + "/bench.db");
      fs::remove(dir + "/bench.db-wal");
      fs::remove(dir + "/bench.db-shm");
      url = "sqlite://" + dir + "/bench.db";
    } else {
      url = fresh_pg_database("solocron_bench");
    }
    for (int i = 0; i < kNodes; ++i) stores.push_back(open_store(url));
  }
  stores[0]->migrate();
  std::vector<Node> nodes;
  for (int i = 0; i < kNodes; ++i) {
    stores[i]->migrate();
    auto reg = stores[i]->register_node("node-" + std::to_string(i), std::chrono::minutes(10));
    if (!reg.acquired) throw std::runtime_error("node-" + std::to_string(i) + ": lease held");
    nodes.push_back({stores[i], reg.lease});
  }
  return nodes;
}

// --- one node's work for one instant ---

void run_node(const Node& self, int node, std::chrono::sys_seconds instant, std::size_t batch,
              bool rotated) {
  Store& store = *self.store;
  std::vector<ClaimRequest> requests(kOccurrences);
  for (int j = 0; j < kOccurrences; ++j) {
    // Node i starts at the i-th third when rotated.
    int k = rotated ? (j + node * kOccurrences / kNodes) % kOccurrences : j;
    requests[j].key = {"job-" + std::to_string(k), instant, ""};
    requests[j].node_id = self.lease.node_id;
    requests[j].lease_token = self.lease.token;
  }
  for (std::size_t start = 0; start < requests.size(); start += batch) {
    std::span<const ClaimRequest> chunk(requests.data() + start,
                                        std::min(batch, requests.size() - start));
    auto results = store.claim(chunk);
    std::vector<StateUpdate> running, done;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (results[i].outcome != ClaimResult::Outcome::won) continue;
      running.push_back({chunk[i].key, results[i].fence, RunState::running, {}, {}, {}, {}});
      done.push_back({chunk[i].key, results[i].fence, RunState::succeeded, 0, {}, "ok\n", {}});
    }
    store.update(running);
    store.update(done);
  }
}

void BM_ClaimAndRecord(benchmark::State& state, const std::string& kind) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const bool rotated = state.range(1) != 0;
  auto nodes = open_nodes(kind);
  // A new instant each round, in the past so that the skew guard admits it, and later than
  // the previous rounds' so that history(since) lists this round only.
  auto base =
      std::chrono::floor<std::chrono::seconds>(nodes[0].store->now()) - std::chrono::hours(1);
  int round = 0;
  for (auto _ : state) {
    const auto instant = base + std::chrono::seconds(++round);
    std::barrier start(kNodes + 1);
    std::vector<std::thread> threads;
    for (int n = 0; n < kNodes; ++n) {
      threads.emplace_back([&, n] {
        start.arrive_and_wait();
        run_node(nodes[n], n, instant, batch, rotated);
      });
    }
    start.arrive_and_wait();
    auto t0 = std::chrono::steady_clock::now();
    for (auto& t : threads) t.join();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    HistoryQuery q;
    q.since = instant;
    q.limit = kOccurrences * 2;
    std::size_t recorded = 0;
    for (auto& r : nodes[0].store->history(q)) {
      recorded += r.key.scheduled_at == instant && r.state == RunState::succeeded;
    }
    if (recorded != kOccurrences) {
      state.SkipWithError(("recorded " + std::to_string(recorded) + " of " +
                           std::to_string(kOccurrences) + " occurrences")
                              .c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kOccurrences);
  state.counters["occurrences/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kOccurrences), benchmark::Counter::kIsRate);
}

void claim_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "rotated"});
  for (int batch : {100, 1000, 10000}) b->Args({batch, 1});
  b->Args({1000, 0});
  b->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
}

BENCHMARK_CAPTURE(BM_ClaimAndRecord, memory, std::string("memory"))->Apply(claim_args);
BENCHMARK_CAPTURE(BM_ClaimAndRecord, sqlite, std::string("sqlite"))->Apply(claim_args);
BENCHMARK_CAPTURE(BM_ClaimAndRecord, postgres, std::string("postgres"))->Apply(claim_args);

// The latency of one uncontended claim (one round trip, one transaction).
void BM_ClaimOne(benchmark::State& state, const std::string& kind) {
  auto nodes = open_nodes(kind);
  auto base =
      std::chrono::floor<std::chrono::seconds>(nodes[0].store->now()) - std::chrono::hours(24);
  int i = 0;
  for (auto _ : state) {
    ClaimRequest r;
    r.key = {"single", base + std::chrono::seconds(++i), ""};
    r.node_id = nodes[0].lease.node_id;
    r.lease_token = nodes[0].lease.token;
    benchmark::DoNotOptimize(nodes[0].store->claim(std::span(&r, 1)));
  }
}
BENCHMARK_CAPTURE(BM_ClaimOne, sqlite, std::string("sqlite"))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ClaimOne, postgres, std::string("postgres"))->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
