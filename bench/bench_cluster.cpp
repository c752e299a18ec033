// The cluster under load: three Scheduler instances in one process, each with its own store
// connection (open_store(url) per node) to one store, the whole scheduler path (timer loop,
// rendezvous stagger, batched claims, worker pool, fenced state writes), in-process callables.
//
// A plain program rather than a Google Benchmark loop: every round waits for a real wall-clock
// instant, so a round takes seconds and few rounds are run; each is printed, then the median.
//
//   burst:  N jobs (default 10,000) all due at one chosen second ~5 s ahead (a 6-field
//           schedule naming that second). Reports the time from the scheduled instant until
//           all N occurrences are claimed, and until all are recorded `succeeded` (every
//           node's scheduler idle: runs done and its batched state writes in the store), the
//           rate, and fire lateness (callable start minus scheduled instant) p50/p99/max.
//           Checked: each occurrence ran exactly once, and the history of the store holds
//           exactly N `succeeded` records for that instant.
//   steady: M jobs (default 1,000) every second for S seconds (default 10); lateness of every
//           occurrence in the window, checked the same way.
//
//   build/bin/bench_cluster [--store sqlite|postgres|both] [--rounds R] [--jobs N]
//                           [--steady-jobs M] [--steady-seconds S] [--no-burst] [--no-steady]
//                           [--no-startup] [--profile] [--lease-stall]
// PostgreSQL: SOLOCRON_BENCH_PG=postgres://... (a database solocron_cluster_bench is created
// and dropped there), otherwise a throwaway server from scripts/pg-server.sh, stopped at exit.
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg_bench_server.hpp"
#include "solocron/scheduler.hpp"
#include "solocron/store.hpp"
#include "store/observed_store.hpp"

namespace {

using namespace solocron;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;
using std::chrono::sys_seconds;
using solocron::detail::CallOutcome;
using solocron::detail::ObservedStore;
using solocron::detail::StoreObserver;

constexpr int kNodes = 3;
constexpr double kBurstTimeout = 120;  // seconds after the instant

struct Options {
  std::vector<std::string> stores{"sqlite", "postgres"};
  int rounds = 3;
  int jobs = 10'000;
  int steady_jobs = 1'000;
  int steady_seconds = 10;
  bool burst = true;
  bool steady = true;
  bool startup = true;
  bool profile = false;
  bool lease_stall = false;  // store calls per node after each burst round (always for steady)
};

// --- stores: a temp sqlite file, or a fresh database on a PostgreSQL server ---

using bench::fresh_pg_database;

struct TempDir {
  std::string path = (fs::temp_directory_path() / "solocron-cluster-bench-XXXXXX").string();
  TempDir() {
    if (!mkdtemp(path.data())) throw std::runtime_error("mkdtemp");
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string fresh_store_url(const std::string& kind, const TempDir& temp, int round) {
  if (kind == "postgres") return fresh_pg_database("solocron_cluster_bench");
  return "sqlite://" + temp.path + "/cluster-" + std::to_string(round) + ".db";
}

// --- what the callables record ---

struct Record {
  int job;
  sys_seconds at;
  int node;
  double late_ms;
};

struct Recorder {
  std::mutex mu;
  std::vector<Record> records;
  void add(Record r) {
    std::lock_guard g(mu);
    records.push_back(r);
  }
};

JobCallable recording_callable(Recorder& rec, int job, int node) {
  return [&rec, job, node](const RunContext& ctx) {
    const auto late = Clock::now() - Clock::time_point(ctx.scheduled_at);
    rec.add({job, ctx.scheduled_at, node, std::chrono::duration<double, std::milli>(late).count()});
    return 0;
  };
}

// A 6-field expression that fires at `t` (UTC) and then only a year later.
std::string expression_at(sys_seconds t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  return std::to_string(hms.seconds().count()) + " " + std::to_string(hms.minutes().count()) + " " +
         std::to_string(hms.hours().count()) + " " + std::to_string(unsigned(ymd.day())) + " " +
         std::to_string(unsigned(ymd.month())) + " *";
}

Schedule parse_or_die(const std::string& text) {
  auto s = Schedule::parse(text);
  if (!s) throw std::runtime_error(s.error().message());
  return *s;
}

// A node's store connection with a stopwatch: each call's time (including the wait for the
// backend's connection mutex) is kept per method, and the start of every lease renewal, so
// that a lost lease can be traced to the heartbeat's calls.
class TimedStore final : public ObservedStore {
 public:
  struct Calls {
    std::size_t count = 0;
    std::vector<double> ms;  // per call
  };
  // Shared by a node's connections (the lease has its own).
  struct Stats final : StoreObserver {
    std::mutex mu;
    std::map<std::string, Calls> calls;
    std::vector<Clock::time_point> renewals;
    std::atomic<int> slow_last_scheduled_ms{0};
    void on_call(std::string_view op, std::chrono::nanoseconds took, CallOutcome) override {
      std::lock_guard g(mu);
      Calls& c = calls[std::string(op)];
      ++c.count;
      c.ms.push_back(std::chrono::duration<double, std::milli>(took).count());
      if (op == "renew_node") renewals.push_back(Clock::now() - took);
    }
  };

  explicit TimedStore(std::unique_ptr<Store> inner, std::shared_ptr<Stats> stats = nullptr)
      : TimedStore(std::move(inner), stats ? std::move(stats) : std::make_shared<Stats>(), 0) {}

  std::map<std::string, Calls> calls() const {
    std::lock_guard g(stats_->mu);
    return stats_->calls;
  }
  std::vector<Clock::time_point> renewals() const {
    std::lock_guard g(stats_->mu);
    return stats_->renewals;
  }
  std::atomic<int>& slow_last_scheduled_ms;

  std::vector<std::optional<sys_seconds>> last_scheduled(std::span<const std::string> jobs) override {
    // --lease-stall: a slow store for the catch-up pass, once per job asked.
    std::this_thread::sleep_for(std::chrono::milliseconds(slow_last_scheduled_ms.load()) *
                                static_cast<int>(jobs.size()));
    return ObservedStore::last_scheduled(jobs);
  }

 private:
  TimedStore(std::unique_ptr<Store> inner, std::shared_ptr<Stats> stats, int)
      : ObservedStore(std::move(inner), stats),
        slow_last_scheduled_ms(stats->slow_last_scheduled_ms),
        stats_(std::move(stats)) {}
  std::shared_ptr<Stats> stats_;
};

// Prints node-level trouble (lease lost, store errors, ...) as it happens, with the time.
class TroubleLog : public SchedulerObserver {
 public:
  void on_event(const RunEvent& e) override {
    switch (e.kind) {
      case RunEventKind::lease_lost:
      case RunEventKind::lease_acquired:
      case RunEventKind::lease_waiting:
      case RunEventKind::store_error:
      case RunEventKind::stale_write:
      case RunEventKind::fatal:
      case RunEventKind::clock_skew:
      case RunEventKind::catch_up:
        break;
      default:
        return;
    }
    const auto now = std::chrono::floor<std::chrono::milliseconds>(Clock::now());
    const auto ms = (now - std::chrono::floor<std::chrono::seconds>(now)).count();
    std::lock_guard g(mu_);
    // Stale writes come by the thousand once a lease is lost: print the first few only.
    if (++printed_[e.kind == RunEventKind::stale_write] > (e.kind == RunEventKind::stale_write ? 3 : 40)) return;
    std::printf("    [%s.%03d] %s %s: %s\n",
                format_rfc3339(std::chrono::floor<std::chrono::seconds>(now), "UTC", true).c_str(),
                int(ms), e.node.c_str(), std::string(to_string(e.kind)).c_str(), e.message.c_str());
  }

 private:
  std::mutex mu_;
  int printed_[2] = {0, 0};
};

// --- the cluster ---

struct Cluster {
  std::vector<std::unique_ptr<TimedStore>> stores;
  std::vector<std::unique_ptr<Scheduler>> nodes;
  TroubleLog trouble;

  explicit Cluster(const std::string& url) {
    for (int n = 0; n < kNodes; ++n) {
      stores.push_back(std::make_unique<TimedStore>(open_store(url)));
      stores.back()->migrate();
      NodeSettings s;
      s.node_id = "n" + std::to_string(n + 1);
      if (const char* slots = std::getenv("SOLOCRON_BENCH_SLOTS")) s.max_concurrent_runs = std::stoul(slots);
      nodes.push_back(std::make_unique<Scheduler>(s, *stores.back()));
      nodes.back()->set_observer(&trouble);
    }
  }
  ~Cluster() { stop(); }
  void stop() {
    for (auto& n : nodes) n->shutdown(5s);
  }

  // Starts the nodes and waits until each has its lease and has seen the others live (the
  // live list, refreshed on every heartbeat, decides the rendezvous stagger of claims).
  void start() {
    for (auto& n : nodes) n->start();
    const auto deadline = Clock::now() + 30s;
    for (auto& n : nodes) {
      while (!n->ready()) {
        if (Clock::now() > deadline) throw std::runtime_error("node not ready: " + n->status());
        std::this_thread::sleep_for(10ms);
      }
    }
    std::this_thread::sleep_for(nodes[0]->settings().heartbeat * 3 / 2);
  }

  Statistics total() const {
    Statistics t;
    for (auto& n : nodes) {
      const Statistics s = n->statistics();
      t.claims_won += s.claims_won;
      t.claims_taken += s.claims_taken;
      t.succeeded += s.succeeded;
      t.failed += s.failed;
      t.missed += s.missed;
      t.not_claimed += s.not_claimed;
      t.too_early += s.too_early;
      t.stale_writes += s.stale_writes;
      t.store_errors += s.store_errors;
      t.lease_lost += s.lease_lost;
    }
    return t;
  }
};

void add_jobs(Cluster& c, Recorder& rec, int count, const Schedule& schedule) {
  for (int n = 0; n < kNodes; ++n) {
    for (int j = 0; j < count; ++j) {
      JobSpec spec;
      spec.name = "job-" + std::to_string(j);
      spec.schedule = schedule;
      spec.action = recording_callable(rec, j, n);
      if (auto r = c.nodes[n]->add(std::move(spec)); !r) throw std::runtime_error(r.error());
    }
  }
}

// --- checks and statistics ---

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::max(0.0, std::ceil(p * double(v.size())) - 1));
  return v[std::min(i, v.size() - 1)];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

struct Lateness {
  double p50 = 0, p99 = 0, max = 0;
};

// Every (job, instant) in [from, to) ran exactly once, and the store holds exactly one
// `succeeded` record for it. Returns an error message, or "" when all is right.
std::string check_once(const std::vector<Record>& recs, Store& store, int jobs, sys_seconds from,
                       sys_seconds to, Lateness* late) {
  std::map<std::pair<int, sys_seconds>, int> runs;
  std::vector<double> lateness;
  for (const Record& r : recs) {
    if (r.at < from || r.at >= to) continue;
    ++runs[{r.job, r.at}];
    lateness.push_back(r.late_ms);
  }
  const auto expected = static_cast<std::size_t>(jobs) * static_cast<std::size_t>((to - from).count());
  std::size_t dup = 0;
  for (auto& [k, n] : runs) dup += n > 1;
  HistoryQuery q;
  q.since = from;
  q.limit = 10'000'000;  // newest first: everything after `to` comes first
  std::set<std::pair<std::string, sys_seconds>> ok;
  std::map<std::string, std::size_t> states;  // of the window's records
  for (const RunRecord& r : store.history(q)) {
    if (r.key.scheduled_at >= to) continue;
    ++states[std::string(to_string(r.state))];
    if (r.state == RunState::succeeded) ok.emplace(r.key.job, r.key.scheduled_at);
  }
  std::string state_text;
  for (const auto& [name, n] : states) state_text += " " + name + " " + std::to_string(n);
  *late = {percentile(lateness, 0.5), percentile(lateness, 0.99), percentile(lateness, 1.0)};
  if (runs.size() == expected && dup == 0 && ok.size() == expected) return "";
  return "ran " + std::to_string(runs.size()) + " of " + std::to_string(expected) + ", " +
         std::to_string(dup) + " twice; history:" + state_text;
}

void print_counters(const Statistics& t) {
  std::printf("    counters: claims won %llu, taken %llu, succeeded %llu, failed %llu, missed %llu,"
              " not_claimed %llu, too_early %llu, stale %llu, store_errors %llu, lease_lost %llu\n",
              (unsigned long long)t.claims_won, (unsigned long long)t.claims_taken,
              (unsigned long long)t.succeeded, (unsigned long long)t.failed,
              (unsigned long long)t.missed, (unsigned long long)t.not_claimed,
              (unsigned long long)t.too_early, (unsigned long long)t.stale_writes,
              (unsigned long long)t.store_errors, (unsigned long long)t.lease_lost);
}

// Per node: store calls by method (count, p50/p99/max ms, including the wait for the
// connection) and the longest gap between two lease renewals (node_ttl is 5 s).
void print_store_calls(const Cluster& c, Clock::time_point from) {
  for (std::size_t n = 0; n < c.stores.size(); ++n) {
    std::printf("    %s store calls:", c.nodes[n]->node_id().c_str());
    for (const auto& [name, calls] : c.stores[n]->calls()) {
      if (name == "migrate" || name == "history") continue;
      std::printf(" %s %zu (%.1f/%.1f/%.0f ms)", name.c_str(), calls.count,
                  percentile(calls.ms, 0.5), percentile(calls.ms, 0.99), percentile(calls.ms, 1.0));
    }
    double gap = 0;
    const auto r = c.stores[n]->renewals();
    for (std::size_t i = 1; i < r.size(); ++i) {
      if (r[i] >= from) gap = std::max(gap, std::chrono::duration<double>(r[i] - r[i - 1]).count());
    }
    std::printf("; longest gap between renewals %.2f s\n", gap);
  }
}

// --- burst: N jobs due at the same second ---

struct BurstResult {
  double claimed_s = 0, recorded_s = 0, rate = 0;
  Lateness late;
  std::vector<std::uint64_t> won;  // per node
  bool ok = false;
};

BurstResult burst_round(const std::string& url, int jobs, bool profile) {
  Cluster c(url);
  Recorder rec;
  rec.records.reserve(static_cast<std::size_t>(jobs));
  c.start();
  // Far enough ahead that the 3 x N add() calls are done.
  const auto instant = std::chrono::ceil<std::chrono::seconds>(Clock::now()) + 5s;
  add_jobs(c, rec, jobs, parse_or_die(expression_at(instant)));
  if (Clock::now() > Clock::time_point(instant) - 500ms) {
    throw std::runtime_error("adding the jobs took too long: the instant passed");
  }
  std::this_thread::sleep_until(Clock::time_point(instant) - 5ms);
  BurstResult res;
  const auto since = [&] { return std::chrono::duration<double>(Clock::now() - instant).count(); };
  double next_report = 5;  // progress lines when a round is slow
  for (;;) {
    const Statistics t = c.total();
    if (res.claimed_s == 0 && t.claims_won >= std::uint64_t(jobs)) res.claimed_s = since();
    if (t.succeeded + t.failed >= std::uint64_t(jobs)) break;
    if (since() > next_report) {
      next_report += 5;
      std::printf("    after %.0f s:", since());
      print_counters(t);
      std::fflush(stdout);
    }
    if (since() > kBurstTimeout) throw std::runtime_error("burst did not finish in time");
    std::this_thread::sleep_for(1ms);
  }
  // The counters move when a run ends; its outcome reaches the store in the next batch of the
  // node's state writer. "Recorded" is when every node has written everything.
  for (auto& n : c.nodes) n->wait_idle(std::chrono::milliseconds(long(kBurstTimeout * 1000)), true);
  res.recorded_s = since();
  res.rate = jobs / res.recorded_s;
  for (auto& n : c.nodes) res.won.push_back(n->statistics().claims_won);
  std::lock_guard g(rec.mu);
  const std::string err =
      check_once(rec.records, *c.stores[0], jobs, instant, instant + 1s, &res.late);
  print_counters(c.total());
  if (profile) print_store_calls(c, Clock::time_point(instant));
  if (!err.empty()) std::printf("    CHECK FAILED: %s\n", err.c_str());
  res.ok = err.empty();
  return res;
}

void run_burst(const std::string& kind, const Options& o, TempDir& temp) {
  std::printf("\n== burst: %s, %d nodes, %d jobs due at the same second ==\n", kind.c_str(), kNodes,
              o.jobs);
  std::vector<double> claimed, recorded, rate, p50, p99, mx;
  for (int r = 0; r < o.rounds; ++r) {
    const BurstResult b = burst_round(fresh_store_url(kind, temp, r), o.jobs, o.profile);
    std::printf("  round %d: all claimed %.3f s, all recorded %.3f s -> %.0f occurrences/s;"
                " lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms; won per node %llu/%llu/%llu%s\n",
                r + 1, b.claimed_s, b.recorded_s, b.rate, b.late.p50, b.late.p99, b.late.max,
                (unsigned long long)b.won[0], (unsigned long long)b.won[1],
                (unsigned long long)b.won[2], b.ok ? "" : "  (FAILED CHECK)");
    claimed.push_back(b.claimed_s);
    recorded.push_back(b.recorded_s);
    rate.push_back(b.rate);
    p50.push_back(b.late.p50);
    p99.push_back(b.late.p99);
    mx.push_back(b.late.max);
  }
  std::printf("  median of %d: all claimed %.3f s, all recorded %.3f s, %.0f occurrences/s;"
              " lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              o.rounds, median(claimed), median(recorded), median(rate), median(p50), median(p99),
              median(mx));
}

// --- steady: M jobs every second for S seconds ---

void run_steady(const std::string& kind, const Options& o, TempDir& temp) {
  std::printf("\n== steady: %s, %d nodes, %d jobs every second, %d s window ==\n", kind.c_str(),
              kNodes, o.steady_jobs, o.steady_seconds);
  Cluster c(fresh_store_url(kind, temp, 100));
  Recorder rec;
  c.start();
  add_jobs(c, rec, o.steady_jobs, parse_or_die("* * * * * *"));
  // Skip the first seconds: jobs were being added while they already fired.
  const auto from = std::chrono::ceil<std::chrono::seconds>(Clock::now()) + 2s;
  const auto to = from + std::chrono::seconds(o.steady_seconds);
  // Wait until every occurrence of the window has run (or 60 s), then a little for the last
  // `succeeded` writes.
  std::this_thread::sleep_until(Clock::time_point(to) + 1s);
  const auto expected = static_cast<std::size_t>(o.steady_jobs) * std::size_t(o.steady_seconds);
  for (const auto give_up = Clock::now() + 60s; Clock::now() < give_up;) {
    std::size_t n = 0;
    {
      std::lock_guard g(rec.mu);
      for (const Record& r : rec.records) n += r.at >= from && r.at < to;
    }
    if (n >= expected) break;
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(1s);
  c.stop();  // graceful: runs in progress finish and are recorded
  Lateness late;
  const std::string err = check_once(rec.records, *c.stores[0], o.steady_jobs, from, to, &late);
  print_counters(c.total());
  print_store_calls(c, Clock::time_point(from));
  std::printf("  %d occurrences in the window: lateness p50 %.1f ms, p99 %.1f ms, max %.1f ms%s\n",
              o.steady_jobs * o.steady_seconds, late.p50, late.p99, late.max,
              err.empty() ? "" : ("  CHECK FAILED: " + err).c_str());
}

// --- startup: how long one node's first heartbeat (registration, then catch-up over every
// job, on the lease thread) takes with N jobs. Run twice on one store: on an empty history,
// and again (a restart) once every job has a record.

void run_startup(const std::string& kind, const Options& o, TempDir& temp) {
  std::printf("\n== startup: %s, one node, %d jobs ==\n", kind.c_str(), o.jobs);
  const std::string url = fresh_store_url(kind, temp, 200);
  Recorder rec;
  const auto instant = std::chrono::ceil<std::chrono::seconds>(Clock::now()) + 4s;
  const Schedule once = parse_or_die(expression_at(instant));
  for (const char* pass : {"empty history", "restart, every job has a record"}) {
    auto store = open_store(url);
    store->migrate();
    NodeSettings s;
    s.node_id = "n1";
    Scheduler node(s, *store);
    for (int j = 0; j < o.jobs; ++j) {
      JobSpec spec;
      spec.name = "job-" + std::to_string(j);
      spec.schedule = once;
      spec.action = recording_callable(rec, j, 0);
      if (auto r = node.add(std::move(spec)); !r) throw std::runtime_error(r.error());
    }
    const auto t0 = std::chrono::steady_clock::now();
    node.start();
    const bool idle = node.wait_idle(std::chrono::seconds(120));
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Statistics st = node.statistics();
    std::printf("  %s: start() to idle (lease registered, catch-up done) %.2f s%s; lease_lost %llu\n",
                pass, took, idle ? "" : " (timed out)", (unsigned long long)st.lease_lost);
    // Let the one-off instant pass so that every job has a record for the restart pass.
    std::this_thread::sleep_until(Clock::time_point(instant) + 2s);
    node.wait_idle(std::chrono::seconds(120));
    node.shutdown(5s);
    std::lock_guard g(rec.mu);
    if (rec.records.size() != static_cast<std::size_t>(o.jobs)) {
      std::printf("    (the jobs ran %zu times, not %d: the restart pass is not meaningful)\n",
                  rec.records.size(), o.jobs);
    }
  }
}

// --- lease stall: does a node whose lease thread is busy keep claiming past node_ttl? ---
// n1's catch-up pass (one last_scheduled per job, on the lease thread) is made slow: 20 jobs x
// 500 ms = 10 s without a renewal. The contract says a node that could not renew for node_ttl
// stops claiming; this samples n1's claims and its lease as the other nodes see it.

void run_lease_stall(TempDir& temp) {
  std::printf("\n== lease stall: sqlite, 3 nodes, 20 jobs every second, n1's catch-up 10 s ==\n");
  Cluster c(fresh_store_url("sqlite", temp, 300));
  c.stores[0]->slow_last_scheduled_ms = 500;
  Recorder rec;
  add_jobs(c, rec, 20, parse_or_die("* * * * * *"));
  const auto t0 = Clock::now();
  for (auto& n : c.nodes) n->start();
  std::uint64_t won_expired = 0, won_at_expiry = 0;
  double expired_at = -1;
  for (int i = 0; i < 150; ++i) {
    std::this_thread::sleep_for(100ms);
    bool live = true;
    for (const NodeLease& l : c.stores[1]->nodes()) {
      if (l.node_id == "n1") live = l.live;
    }
    const std::uint64_t won = c.nodes[0]->statistics().claims_won;
    if (!live && expired_at < 0) {
      expired_at = std::chrono::duration<double>(Clock::now() - t0).count();
      won_at_expiry = won;
    }
    if (!live) won_expired = won - won_at_expiry;
  }
  const Statistics st = c.nodes[0]->statistics();
  std::printf("  n1 lease expired in the store %.1f s after start; n1 then won %llu more claims"
              " (stale writes %llu, lease_lost events %llu)\n",
              expired_at, (unsigned long long)won_expired, (unsigned long long)st.stale_writes,
              (unsigned long long)st.lease_lost);
  c.stores[0]->slow_last_scheduled_ms = 0;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--store") {
      const std::string v = value();
      o.stores = v == "both" ? std::vector<std::string>{"sqlite", "postgres"} : std::vector{v};
    } else if (a == "--rounds") {
      o.rounds = std::stoi(value());
    } else if (a == "--jobs") {
      o.jobs = std::stoi(value());
    } else if (a == "--steady-jobs") {
      o.steady_jobs = std::stoi(value());
    } else if (a == "--steady-seconds") {
      o.steady_seconds = std::stoi(value());
    } else if (a == "--no-burst") {
      o.burst = false;
    } else if (a == "--no-steady") {
      o.steady = false;
    } else if (a == "--lease-stall") {
      o.lease_stall = true;
    } else if (a == "--profile") {
      o.profile = true;
    } else if (a == "--no-startup") {
      o.startup = false;
    } else {
      throw std::runtime_error("unknown argument '" + a + "' (see the comment at the top of bench/bench_cluster.cpp)");
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_options(argc, argv);
    TempDir temp;
    if (o.lease_stall) {
      run_lease_stall(temp);
      return 0;
    }
    for (const std::string& kind : o.stores) {
      if (kind != "sqlite" && kind != "postgres") throw std::runtime_error("unknown store " + kind);
      if (o.burst) run_burst(kind, o, temp);
      if (o.steady) run_steady(kind, o, temp);
      if (o.startup) run_startup(kind, o, temp);
    }
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cluster: %s\n", e.what());
    return 1;
  }
}
