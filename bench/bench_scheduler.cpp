// Scheduler runtime benchmarks (results in docs/benchmarks.md, "Scheduler runtime"):
//  - loading one million jobs: wall time and resident memory per job;
//  - fire lateness (callable start minus scheduled instant) p50/p99/max for 10,000 callables
//    due in the same second, and for a steady 10,000 fires per second;
// on the real clocks, local jobs (no store) and once jobs through the memory: store.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "solocron/scheduler.hpp"
#include "store/memory/memory_store.hpp"

namespace {

using namespace std::chrono_literals;
using namespace solocron;

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

Schedule parse(const std::string& text) {
  auto s = Schedule::parse(text);
  if (!s) throw std::runtime_error(s.error().message());
  return *s;
}

NodeSettings settings() {
  NodeSettings s;
  s.node_id = "bench";
  return s;
}

// One million jobs with a few distinct schedules (a Schedule is shared when copied) and short
// names (inline in std::string): what is measured is the scheduler's own cost per job.
void BM_Load1M(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<Schedule> schedules = {parse("0 0 * * *"), parse("*/5 * * * *"),
                                           parse("30 2 * * 1-5"), parse("0 9 1 * *")};
  for (auto _ : state) {
    detail::MemoryStore store;
    const std::size_t rss_before = resident_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    {
      Scheduler s(settings(), store);
      for (std::size_t i = 0; i < n; ++i) {
        JobSpec j;
        char name[24];
        std::snprintf(name, sizeof name, "job-%07zu", i);
        j.name = name;
        j.schedule = schedules[i % schedules.size()];
        j.action = JobCallable([](const RunContext&) { return 0; });
        if (!s.add(std::move(j))) state.SkipWithError("add failed");
      }
      const auto t1 = std::chrono::steady_clock::now();
      const std::size_t rss_after = resident_bytes();
      state.counters["load_s"] = std::chrono::duration<double>(t1 - t0).count();
      state.counters["rss_bytes_per_job"] =
          static_cast<double>(rss_after - rss_before) / static_cast<double>(n);
      state.counters["jobs"] = static_cast<double>(n);
    }
  }
}
BENCHMARK(BM_Load1M)->Arg(1000000)->Iterations(1)->Unit(benchmark::kMillisecond);

struct Lateness {
  explicit Lateness(std::size_t capacity) : samples(capacity) {}
  std::vector<std::int64_t> samples;  // microseconds
  std::atomic<std::size_t> n{0};
  void record(std::chrono::sys_seconds at) {
    const auto late = std::chrono::system_clock::now() - at;
    const std::size_t i = n.fetch_add(1);
    if (i < samples.size()) {
      samples[i] = std::chrono::duration_cast<std::chrono::microseconds>(late).count();
    }
  }
  void report(benchmark::State& state) {
    std::vector<std::int64_t> v(samples.begin(), samples.begin() + std::min(n.load(), samples.size()));
    std::sort(v.begin(), v.end());
    if (v.empty()) return;
    state.counters["fires"] = static_cast<double>(v.size());
    state.counters["min_ms"] = static_cast<double>(v.front()) / 1000.0;
    state.counters["p50_ms"] = static_cast<double>(v[v.size() / 2]) / 1000.0;
    state.counters["p99_ms"] = static_cast<double>(v[v.size() * 99 / 100]) / 1000.0;
    state.counters["max_ms"] = static_cast<double>(v.back()) / 1000.0;
  }
};

// range(0): jobs; range(1): seconds to run (0: a single burst at one instant);
// range(2): 1 = run_on once through the memory: store, 0 = run_on local.
void BM_FireLateness(benchmark::State& state) {
  const std::size_t jobs = static_cast<std::size_t>(state.range(0));
  const int seconds = static_cast<int>(state.range(1));
  const bool claimed = state.range(2) != 0;
  for (auto _ : state) {
    detail::MemoryStore store;
    Scheduler s(settings(), store);
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::chrono::sys_seconds first = now + 2s;
    Schedule sch;
    if (seconds == 0) {
      // Daily at `first`'s time of day: fires once during the measurement.
      const auto day = std::chrono::floor<std::chrono::days>(first);
      const std::chrono::hh_mm_ss<std::chrono::seconds> hms{first - day};
      sch = parse(std::to_string(hms.seconds().count()) + " " + std::to_string(hms.minutes().count()) +
                  " " + std::to_string(hms.hours().count()) + " * * *");
    } else {
      sch = parse("* * * * * *");
    }
    const std::size_t total = jobs * static_cast<std::size_t>(std::max(seconds, 1));
    Lateness lateness(total + jobs * 2);
    for (std::size_t i = 0; i < jobs; ++i) {
      JobSpec j;
      j.name = "j" + std::to_string(i);
      j.schedule = sch;
      j.run_on = claimed ? RunOn::once : RunOn::local;
      j.action = JobCallable([&lateness](const RunContext& c) {
        lateness.record(c.scheduled_at);
        return 0;
      });
      s.add(std::move(j));
    }
    s.start();
    const auto stop_at = first + std::chrono::seconds(std::max(seconds, 1)) - 1s;
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(stop_at) + 500ms);
    s.wait_idle(30s);
    s.shutdown(5s);
    // Only occurrences from `first` on: a steady run also fires the partial second before it.
    lateness.report(state);
  }
}
BENCHMARK(BM_FireLateness)
    ->ArgNames({"jobs", "seconds", "claimed"})
    ->Args({10, 0, 0})
    ->Args({1000, 0, 0})
    ->Args({1000, 5, 0})
    ->Args({10000, 0, 0})
    ->Args({10000, 0, 1})
    ->Args({10000, 5, 0})
    ->Args({10000, 5, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
