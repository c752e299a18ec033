// Shared pieces of the scheduler tests: a recording observer, a fixture with a FakeClock and
// a MemoryStore on the same clock, a store wrapper that can be cut off (a partition), and
// helpers that advance simulated time step by step, letting the scheduler settle after each.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "solocron/fake_clock.hpp"
#include "solocron/scheduler.hpp"
#include "store/memory/memory_store.hpp"

namespace solocron::testing {

using namespace std::chrono_literals;
using std::chrono::sys_seconds;

// "2026-03-08T07:00:00Z" -> instant.
inline sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

inline Schedule parse(const std::string& expr, const std::string& tz = "UTC") {
  auto s = Schedule::parse(expr, ParseOptions{tz, {}});
  if (!s) throw std::runtime_error(s.error().message());
  return *s;
}

// Stored copy of a RunEvent (the `line` view is copied).
struct Seen {
  RunEvent e;
  std::string line;
};

class Recorder final : public SchedulerObserver {
 public:
  void on_event(const RunEvent& e) override {
    std::lock_guard<std::mutex> g(mu_);
    events_.push_back({e, std::string(e.line)});
    events_.back().e.line = {};
    cv_.notify_all();
  }
  std::vector<RunEvent> of(RunEventKind kind, const std::string& job = {}) const {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<RunEvent> out;
    for (const auto& s : events_) {
      if (s.e.kind == kind && (job.empty() || s.e.job == job)) out.push_back(s.e);
    }
    return out;
  }
  std::vector<std::string> lines(const std::string& job) const {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> out;
    for (const auto& s : events_) {
      if (s.e.kind == RunEventKind::output && s.e.job == job) out.push_back(s.line);
    }
    return out;
  }
  std::string dump() const {
    std::lock_guard<std::mutex> g(mu_);
    std::string out;
    for (const auto& s : events_) {
      out += std::string(to_string(s.e.kind)) + " " + s.e.job + " " + s.e.message + " " + s.line + "\n";
    }
    return out;
  }
  std::size_t count(RunEventKind kind, const std::string& job = {}) const { return of(kind, job).size(); }
  // Waits (real time, bounded) until `n` events of `kind` were seen.
  bool wait_count(RunEventKind kind, std::size_t n, const std::string& job = {},
                  std::chrono::milliseconds timeout = 10s) const {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] {
      std::size_t c = 0;
      for (const auto& s : events_) c += s.e.kind == kind && (job.empty() || s.e.job == job);
      return c >= n;
    });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Seen> events_;
};

// A gate a callable blocks on until the test opens it, or until its stop token is requested.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> g(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Returns true if opened, false if stopped.
  bool wait(std::stop_token st) {
    // Registered before locking: a callback for an already requested stop runs right here.
    std::stop_callback cb(st, [this] {
      std::lock_guard<std::mutex> g(mu_);
      cv_.notify_all();
    });
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return open_ || st.stop_requested(); });
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A job whose runs block on a gate (or their stop token).
struct Blocking {
  Gate gate;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  JobCallable fn() {
    return [this](const RunContext& ctx) {
      ++started;
      if (!gate.wait(ctx.stop)) {
        ++stopped;
        return 1;
      }
      return 0;
    };
  }
};

// Wraps a store; while `down` is set every call throws StoreError(unavailable). Connections
// made with another_connection() share the switches (a partition cuts them all), unless
// `lease_spared` is set: then calls on the other connections go through (a stall of the main
// connection only, e.g. a slow claim batch).
class CuttableStore final : public Store {
 public:
  struct Switches {
    std::atomic<bool> down{false};
    std::atomic<int> blocked{0};
    std::atomic<bool> lease_spared{false};
    std::mutex hang_mu;
    std::condition_variable hang_cv;
    bool hanging = false;
    bool pausing = false;  // calls wait, then go through (a slow store, not a dead one)
    bool pausing_lease_only = false;
    // Batches with an outcome of this job throw (a write the store refuses), this many times.
    std::atomic<int> reject_outcomes{0};
    std::string reject_job;
    std::mutex identity_mu;
    std::string identity;  // non-empty: identity() answers this (the store was replaced)
  };

 private:
  Store& inner_;
  std::shared_ptr<Switches> s_;
  std::unique_ptr<Store> own_;
  bool secondary_ = false;

 public:
  explicit CuttableStore(Store& inner) : inner_(inner), s_(std::make_shared<Switches>()) {}
  std::atomic<bool>& down = s_->down;
  std::atomic<int>& blocked = s_->blocked;
  // While set, calls block (a store that does not answer) until release(), then fail.
  void hang() {
    std::lock_guard<std::mutex> g(s_->hang_mu);
    s_->hanging = true;
  }
  void release() {
    std::lock_guard<std::mutex> g(s_->hang_mu);
    s_->hanging = false;
    s_->hang_cv.notify_all();
  }
  // While paused, calls wait; after resume() they proceed and succeed (a slow store). With
  // `lease_only`, only the calls of the other connections (the node's lease) wait.
  void pause(bool lease_only = false) {
    std::lock_guard<std::mutex> g(s_->hang_mu);
    s_->pausing = true;
    s_->pausing_lease_only = lease_only;
  }
  void resume() {
    std::lock_guard<std::mutex> g(s_->hang_mu);
    s_->pausing = false;
    s_->hang_cv.notify_all();
  }
  // The next `times` update batches holding an outcome of `job` throw StoreError(internal), as
  // a database refusing one row fails its whole statement.
  void reject_outcomes_of(std::string job, int times) {
    s_->reject_job = std::move(job);
    s_->reject_outcomes = times;
  }
  // identity() answers `id` from now on (the store behind the URL is another one).
  void replace_identity(std::string id) {
    std::lock_guard<std::mutex> g(s_->identity_mu);
    s_->identity = std::move(id);
  }
  void spare_lease(bool spared) { s_->lease_spared = spared; }

  void migrate() override { check(); inner_.migrate(); }
  StoreTime now() override { check(); return inner_.now(); }
  std::string describe() const override { return "cuttable(" + inner_.describe() + ")"; }
  std::string identity() override {
    check();
    {
      std::lock_guard<std::mutex> g(s_->identity_mu);
      if (!s_->identity.empty()) return s_->identity;
    }
    return inner_.identity();
  }
  std::unique_ptr<Store> another_connection(std::chrono::milliseconds d) override {
    auto other = std::make_unique<CuttableStore>(inner_, s_, inner_.another_connection(d));
    return other;
  }
  using Store::register_node;
  RegisterResult register_node(std::string_view id, std::chrono::milliseconds ttl,
                               const NodeInfo& info) override {
    check();
    return inner_.register_node(id, ttl, info);
  }
  std::optional<NodeLease> renew_node(std::string_view id, std::int64_t token,
                                      std::chrono::milliseconds ttl) override {
    check();
    return inner_.renew_node(id, token, ttl);
  }
  void release_node(std::string_view id, std::int64_t token) override {
    check();
    inner_.release_node(id, token);
  }
  std::vector<NodeLease> nodes() override { check(); return inner_.nodes(); }
  bool publish_jobs(std::string_view node_id, std::int64_t token, std::span<const PublishedJob> jobs) override {
    check();
    return inner_.publish_jobs(node_id, token, jobs);
  }
  std::vector<PublishedJobRow> published_jobs() override { check(); return inner_.published_jobs(); }
  RunRequest request_run(std::string_view job, std::string_view by, std::string_view note) override {
    check();
    return inner_.request_run(job, by, note);
  }
  std::vector<RunRequest> pending_requests(std::string_view node_id,
                                           std::chrono::sys_seconds since) override {
    check();
    return inner_.pending_requests(node_id, since);
  }
  std::vector<JobControl> job_controls() override {
    check();
    return inner_.job_controls();
  }
  std::optional<JobControl> pause_job(std::string_view job, std::string_view by,
                                      std::string_view note) override {
    check();
    return inner_.pause_job(job, by, note);
  }
  std::optional<JobControl> resume_job(std::string_view job, std::chrono::sys_seconds paused_at,
                                       std::chrono::sys_seconds until, std::string_view by,
                                       std::string_view note,
                                       const std::optional<PausedSpan>& span) override {
    check();
    return inner_.resume_job(job, paused_at, until, by, note, span);
  }
  void seed_paused(std::span<const std::string> jobs) override {
    check();
    inner_.seed_paused(jobs);
  }
  std::vector<ClaimResult> claim(std::span<const ClaimRequest> r) override {
    check();
    return inner_.claim(r);
  }
  std::vector<bool> update(std::span<const StateUpdate> u) override {
    check();
    if (s_->reject_outcomes > 0 && std::any_of(u.begin(), u.end(), [&](const StateUpdate& x) {
          return x.key.job == s_->reject_job && !is_active(x.state);
        })) {
      --s_->reject_outcomes;
      throw StoreError(StoreError::Kind::internal, "invalid byte sequence for encoding (test)");
    }
    return inner_.update(u);
  }
  std::vector<bool> record_missed(std::span<const OccurrenceKey> k) override {
    check();
    return inner_.record_missed(k);
  }
  std::vector<bool> recorded(std::span<const OccurrenceKey> k) override { check(); return inner_.recorded(k); }
  std::vector<std::optional<RunRecord>> reclaim(std::span<const ReclaimRequest> r) override {
    check();
    return inner_.reclaim(r);
  }
  std::vector<std::optional<RunRecord>> retry(std::span<const ReclaimRequest> r) override {
    check();
    return inner_.retry(r);
  }
  std::vector<RunRecord> retry_candidates(std::span<const std::string> jobs, StoreTime since) override {
    check();
    return inner_.retry_candidates(jobs, since);
  }
  std::vector<RunRecord> earlier_attempts(std::span<const OccurrenceKey> k) override {
    check();
    return inner_.earlier_attempts(k);
  }
  std::int64_t request_backfill(std::string_view job, std::span<const sys_seconds> at,
                                std::string_view by, std::string_view note) override {
    check();
    return inner_.request_backfill(job, at, by, note);
  }
  std::vector<BackfillItem> pending_backfill(StoreTime since) override {
    check();
    return inner_.pending_backfill(since);
  }
  std::vector<RunRecord> history(const HistoryQuery& q) override { check(); return inner_.history(q); }
  std::vector<std::optional<sys_seconds>> last_scheduled(std::span<const std::string> jobs) override {
    check();
    return inner_.last_scheduled(jobs);
  }
  std::vector<RunRecord> active_runs(std::string_view n) override { check(); return inner_.active_runs(n); }
  std::vector<RunRecord> orphaned_runs() override { check(); return inner_.orphaned_runs(); }
  void prune(std::string_view job, std::size_t keep, std::optional<std::chrono::seconds> age) override {
    check();
    inner_.prune(job, keep, age);
  }

  CuttableStore(Store&, std::shared_ptr<Switches> s, std::unique_ptr<Store> own)
      : inner_(*own), s_(std::move(s)), own_(std::move(own)), secondary_(true) {}

 private:
  void check() {
    if (secondary_ && s_->lease_spared) return;
    {
      std::unique_lock<std::mutex> lk(s_->hang_mu);
      if (s_->hanging) {
        ++s_->blocked;
        s_->hang_cv.wait(lk, [&] { return !s_->hanging; });
        --s_->blocked;
        throw StoreError(StoreError::Kind::unavailable, "store call timed out (test)");
      }
      if (s_->pausing && (secondary_ || !s_->pausing_lease_only)) {
        ++s_->blocked;
        s_->hang_cv.wait(lk, [&] { return !s_->pausing; });
        --s_->blocked;
      }
    }
    if (s_->down) throw StoreError(StoreError::Kind::unavailable, "store cut off by the test");
  }
};

// Waits (real time, bounded) for a condition another thread makes true.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

inline StoreTime store_time(const Clock& c) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(c.now());
}

// Advances `clock` by `total` in `step`s, letting each scheduler settle after every step
// (with `runs_too`, until its runs finished as well: only for jobs that do not block).
inline void advance(FakeClock& clock, std::chrono::nanoseconds total,
                    std::vector<Scheduler*> schedulers, std::chrono::nanoseconds step = 1s,
                    bool runs_too = true) {
  for (std::chrono::nanoseconds done{0}; done < total; done += step) {
    clock.advance(std::min(step, total - done));
    for (Scheduler* s : schedulers) {
      ASSERT_TRUE(s->wait_idle(10s, runs_too)) << "scheduler did not settle";
    }
  }
}

inline JobSpec callable_job(std::string name, const std::string& expr, JobCallable fn,
                            const std::string& tz = "UTC") {
  JobSpec j;
  j.name = std::move(name);
  j.schedule = parse(expr, tz);
  j.action = std::move(fn);
  return j;
}

// A single node on a MemoryStore whose clock is the node's FakeClock.
class SchedulerTest : public ::testing::Test {
 protected:
  // The store's clock runs with real (steady) time from `start`, plus `store_offset`; a step of
  // the node's wall clock does not move it, as with a real database server.
  explicit SchedulerTest(Clock::wall_time start = FakeClock::kDefaultStart)
      : clock(start), steady_start(clock.steady_now()), store_start(start), store([this] {
          return std::chrono::time_point_cast<std::chrono::milliseconds>(
              store_start + (clock.steady_now() - steady_start) +
              std::chrono::milliseconds(store_offset.load()));
        }) {}

  NodeSettings node_settings() {
    NodeSettings s;
    s.node_id = "node-a";
    return s;
  }
  Scheduler& make(NodeSettings s) {
    sched = std::make_unique<Scheduler>(std::move(s), store, clock);
    sched->set_observer(&rec);
    return *sched;
  }
  Scheduler& make() { return make(node_settings()); }
  void run_for(std::chrono::nanoseconds total, std::chrono::nanoseconds step = 1s,
               bool runs_too = true) {
    advance(clock, total, {sched.get()}, step, runs_too);
  }
  // For jobs whose runs block: settle the timers only.
  void tick_for(std::chrono::nanoseconds total) { run_for(total, 1s, false); }
  std::vector<RunRecord> history(const std::string& job) {
    // State writes are batched: let those already submitted reach the store.
    if (sched) {
      EXPECT_TRUE(sched->wait_idle(10s, false));
    }
    HistoryQuery q;
    q.job = job;
    q.limit = 100000;
    auto h = store.history(q);
    std::reverse(h.begin(), h.end());  // oldest first
    return h;
  }

  FakeClock clock;
  Clock::steady_time steady_start;
  Clock::wall_time store_start;
  std::atomic<std::int64_t> store_offset{0};  // milliseconds
  detail::MemoryStore store;
  Recorder rec;
  Blocking b;  // outlives the scheduler, so a failed assertion cannot leave a run on a dead gate
  std::unique_ptr<Scheduler> sched;
};

// Counts calls of a callable job by scheduled instant.
class Calls {
 public:
  JobCallable fn(int rc = 0) {
    return [this, rc](const RunContext& ctx) {
      std::lock_guard<std::mutex> g(mu_);
      contexts_.push_back(ctx);
      return rc;
    };
  }
  std::vector<RunContext> contexts() const {
    std::lock_guard<std::mutex> g(mu_);
    return contexts_;
  }
  std::vector<sys_seconds> instants() const {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<sys_seconds> out;
    for (const auto& c : contexts_) out.push_back(c.scheduled_at);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return contexts_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<RunContext> contexts_;
};

}  // namespace solocron::testing
