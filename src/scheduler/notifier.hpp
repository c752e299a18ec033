// Notifier: delivers the on_failure, on_missed and on_success hooks, on a thread of its own.
//
// A hook is asked for by the component whose store write recorded the event (the executor for
// an outcome, the claimer for `missed` and `lost`), so each event is notified by one node: the
// store decides which write applies. Delivery is a webhook (the record as JSON, POSTed) or a
// command (the record in its environment), retried with backoff on failure, logged either way.
// It is at most once per event: a node that dies with a delivery queued loses it.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "scheduler/events.hpp"
#include "scheduler/job_table.hpp"
#include "solocron/clock.hpp"
#include "solocron/node.hpp"

namespace solocron::detail {

class ProcessRunner;

// The first problem of a set of hooks ("on_failure: ..."), or nothing.
std::optional<std::string> hooks_error(const Hooks& hooks);

enum class HookEvent { failure, missed, success };

// What happened, as the hook receives it.
struct HookRecord {
  OccurrenceKey key;
  RunState state = RunState::failed;
  std::int64_t fence = 0;
  int attempt = 1;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string message;
  std::string output_tail;
  std::optional<std::chrono::milliseconds> duration;
  std::optional<Trigger> trigger{};  // none: the key's (schedule, or manual for a request)
};

class Notifier {
 public:
  Notifier(const NodeSettings& settings, Clock& clock, Events& events);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void start();
  // Waits up to `grace` for queued deliveries (and their retries), then drops the rest
  // (logged) and joins.
  void stop(std::chrono::milliseconds grace);

  // The event's hook: the job's own (`job_hooks`, null when it has none or this node does not
  // have the job), else the node's default; nothing when neither is set.
  void notify(const Hooks* job_hooks, HookEvent event, HookRecord record);
  // failed, timed_out, lost: failure; missed; succeeded: success; others (interrupted by a
  // shutdown or replace, skipped_overlap) are operations, not events anyone is told of.
  static std::optional<HookEvent> event_of(RunState state);
  bool idle() const;

 private:
  struct Delivery {
    HookSpec hook;
    HookEvent event;
    std::string job;
    std::string body;  // the record as JSON
    std::vector<std::pair<std::string, std::string>> env;
    int attempt = 1;
    Clock::steady_time not_before{};
  };
  void main();
  bool deliver(const Delivery& d, std::string& why);
  bool run_command(const Delivery& d, std::string& why);

  const NodeSettings& settings_;
  Clock& clock_;
  Events& events_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Delivery> queue_;  // ordered by not_before (retries go to their place)
  bool stop_ = false;
  bool busy_ = false;
  Clock::steady_time drop_after_ = Clock::steady_time::max();
  std::unique_ptr<ProcessRunner> runner_;  // for command hooks, made at the first one
  std::thread thread_;
};

}  // namespace solocron::detail
