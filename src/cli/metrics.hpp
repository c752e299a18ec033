// The node's Prometheus metrics (GET /metrics): what it ran, per job; how late it fired; how its
// store calls and lease renewals went; the scheduler's own counters. Fed by the scheduler's
// events and the store connection's calls (store/observed_store.hpp), never by the claim path's
// own code: recording is a short lock and a few additions.
//
// Labels stay bounded: `job` takes the names of this node's jobs, `state`, `outcome`, `op` and
// `result` fixed sets. Every family has HELP and TYPE; times are seconds.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "solocron/scheduler.hpp"
#include "store/observed_store.hpp"

namespace solocron::cli {

// A Prometheus histogram: cumulative counts per upper bound, sum and count.
struct Histogram {
  explicit Histogram(const std::vector<double>* bounds = nullptr) : bounds(bounds) {}
  void observe(double v);
  const std::vector<double>* bounds;
  std::vector<std::uint64_t> counts;  // per bound (not cumulative); sized at first use
  double sum = 0;
  std::uint64_t count = 0;
};

class Metrics final : public SchedulerObserver, public detail::StoreObserver {
 public:
  Metrics();
  void on_event(const RunEvent& e) override;
  void on_call(std::string_view op, std::chrono::nanoseconds took, detail::CallOutcome outcome) override;
  // Errors in the configuration last read (the start, or the last reload).
  void set_config_errors(std::size_t n);
  // The text exposition; `scheduler` (null before it exists) gives the gauges and per-job facts.
  std::string render(const Scheduler* scheduler) const;

 private:
  struct Job {
    std::map<std::string, std::uint64_t> runs;  // by final state
    Histogram duration;
    std::optional<double> last_success;  // unix seconds
    std::uint64_t missed = 0;
  };
  Job& job_locked(const std::string& name);

  mutable std::mutex mu_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, std::uint64_t> claims_;  // by outcome
  Histogram lateness_;
  std::map<std::string, Histogram> store_calls_;  // by op
  std::map<std::string, std::uint64_t> renewals_;  // by result
  std::size_t config_errors_ = 0;
};

// Hands each event to two observers (the log and the metrics).
class TeeObserver final : public SchedulerObserver {
 public:
  TeeObserver(SchedulerObserver& a, SchedulerObserver& b) : a_(a), b_(b) {}
  void on_event(const RunEvent& e) override {
    a_.on_event(e);
    b_.on_event(e);
  }

 private:
  SchedulerObserver& a_;
  SchedulerObserver& b_;
};

}  // namespace solocron::cli
