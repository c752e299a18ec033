// Schedule engine speed: parse, chained next/prev, leap day, never-fires detection.
// Run: build/bin/bench_cron --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
// The "chained next" loop is the one bench/peers/run.sh runs through robfig/cron, croner and
// croniter: start at 2026-01-01T00:00:00Z, t = next(t), start over when the schedule ends.
#include <benchmark/benchmark.h>

#include <chrono>

#include "solocron/cron.hpp"

namespace {

using solocron::Schedule;
using solocron::sys_seconds;

// 2026-01-01T00:00:00Z
constexpr sys_seconds kStart{std::chrono::seconds{1767225600}};

struct Row {
  const char* name;
  const char* expr;
  const char* zone;
};

// The representative set: UTC and DST zones, fixed-time and interval-like, L/#/W, leap day.
constexpr Row kRows[] = {
    {"every_minute_utc", "* * * * *", "UTC"},
    {"every_15min_utc", "*/15 * * * *", "UTC"},
    {"daily_midnight_utc", "0 0 * * *", "UTC"},
    {"weekdays_9am_utc", "0 9 * * 1-5", "UTC"},
    {"every_10s_utc", "*/10 * * * * *", "UTC"},
    {"last_day_utc", "0 0 L * *", "UTC"},
    {"last_friday_utc", "0 0 * * 5L", "UTC"},
    {"second_monday_utc", "0 12 * * 1#2", "UTC"},
    {"leap_day_utc", "30 2 29 2 *", "UTC"},
    {"daily_0230_new_york", "30 2 * * *", "America/New_York"},
    {"every_5min_new_york", "*/5 * * * *", "America/New_York"},
    {"weekdays_9am_berlin", "0 9 * * 1-5", "Europe/Berlin"},
    {"hourly_lord_howe", "0 * * * *", "Australia/Lord_Howe"},
    {"leap_day_new_york", "30 2 29 2 *", "America/New_York"},
};

Schedule parse_or_die(const Row& row) {
  auto s = Schedule::parse(row.expr, solocron::ParseOptions{row.zone});
  if (!s) std::abort();
  return *s;
}

void chained_next(benchmark::State& state, Row row) {
  const Schedule s = parse_or_die(row);
  sys_seconds t = kStart;
  for (auto _ : state) {
    auto n = s.next(t);
    t = n ? *n : kStart;
    benchmark::DoNotOptimize(t);
  }
}

void chained_prev(benchmark::State& state, Row row) {
  const Schedule s = parse_or_die(row);
  sys_seconds t = kStart;
  for (auto _ : state) {
    auto p = s.prev(t);
    t = p ? *p : kStart;
    benchmark::DoNotOptimize(t);
  }
}

void parse(benchmark::State& state, Row row) {
  for (auto _ : state) {
    auto s = Schedule::parse(row.expr, solocron::ParseOptions{row.zone});
    benchmark::DoNotOptimize(s);
  }
}

// A never-firing expression is rejected by parse: the whole parse is the detection.
void never_fires(benchmark::State& state, const char* expr) {
  for (auto _ : state) {
    auto s = Schedule::parse(expr);
    if (s || !s.error().never_fires) state.SkipWithError("expected never fires");
    benchmark::DoNotOptimize(s);
  }
}

int register_all() {
  for (const Row& row : kRows) {
    benchmark::RegisterBenchmark((std::string("next/") + row.name).c_str(), chained_next, row);
  }
  for (const Row& row : {kRows[0], kRows[2], kRows[8], kRows[9], kRows[10]}) {
    benchmark::RegisterBenchmark((std::string("prev/") + row.name).c_str(), chained_prev, row);
  }
  for (const Row& row : {kRows[0], kRows[3], kRows[7], kRows[9]}) {
    benchmark::RegisterBenchmark((std::string("parse/") + row.name).c_str(), parse, row);
  }
  benchmark::RegisterBenchmark("parse/cron_tz_prefix", parse,
                               Row{"", "CRON_TZ=America/New_York 30 2 * * *", "UTC"});
  benchmark::RegisterBenchmark("never_fires/0 0 30 2 *", never_fires, "0 0 30 2 *");
  benchmark::RegisterBenchmark("never_fires/0 0 31 4,6,9,11 *", never_fires, "0 0 31 4,6,9,11 *");
  benchmark::RegisterBenchmark("never_fires/0 0 0 29 2 * 2100", never_fires, "0 0 0 29 2 * 2100");
  return 0;
}

const int kRegistered = register_all();

}  // namespace

BENCHMARK_MAIN();
