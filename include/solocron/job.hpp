// Jobs: what runs, when, and under which policies.
//
// A JobSpec is plain data (an aggregate with defaulted members), so a three-line job is valid:
// a name, a schedule and an action. Policies follow the cluster contract
// (docs/cluster.md): overlap, timeout, misfire with a bounded catch-up, delivery, placement.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "solocron/cron.hpp"
#include "solocron/environment.hpp"
#include "solocron/hooks.hpp"
#include "solocron/store.hpp"

namespace solocron {

enum class MisfirePolicy { skip, run_once, run_all };
enum class Delivery { at_most_once, at_least_once };
enum class RunOn { once, every_node, local };

// What an in-process job receives (section 12 of the cluster contract).
struct RunContext {
  std::string job;
  std::chrono::sys_seconds scheduled_at;
  std::string node;
  int attempt = 1;
  std::int64_t fence = 0;  // 0 for memory: and run_on: local
  std::stop_token stop;    // requested on timeout, replace, shutdown or lost lease
};

// Result of an in-process callable: 0 means success; anything else is a failure exit code.
using JobCallable = std::function<int(const RunContext&)>;

struct CommandSpec {
  std::vector<std::string> argv;  // run without a shell...
  std::string shell_command;      // ...or, when `shell` is true, `/bin/sh -c shell_command`
  bool shell = false;
  std::string working_dir;                   // empty: the node's working directory
  std::map<std::string, std::string> env;    // added to the inherited environment
  InheritEnv inherit_env;                    // what is inherited from the node
};

// An HTTP request as the job's action (solocron as a sidecar calling its application). The
// request also carries X-Solocron-Job, -Scheduled-At, -Node, -Fence and -Attempt; a response
// whose status is in `success` is a succeeded run, the end of its body is the run's output.
struct HttpSpec {
  std::string url;  // http:// or https://, [user:password@]host[:port][/path][?query]
  std::string method = "POST";
  std::map<std::string, std::string> headers{};
  std::string body{};
  // Bounds the connection and each read and write; the job's `timeout` bounds the whole run.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::vector<std::pair<int, int>> success{{200, 299}};  // inclusive status ranges
  std::string ca_file{};  // PEM bundle that verifies an https server (empty: the system's CAs)
};

// New attempts of a run that ended failed or timed_out (cluster contract, "Retries"): attempt
// n+1 starts min(backoff * 2^(n-1), max_backoff) after attempt n ended, on any live node that
// has the job, with a new fencing token. `attempts` counts them all: 1 is no retry.
struct RetryPolicy {
  int attempts = 1;
  std::chrono::milliseconds backoff{std::chrono::seconds(30)};
  std::chrono::milliseconds max_backoff{std::chrono::minutes(10)};
  // Each delay is shortened by up to half, by an amount derived from the job, the instant and
  // the attempt (the same on every node): retries of many jobs that failed together spread.
  bool jitter = false;
  // No new attempt once the job's next scheduled occurrence is due.
  bool until_next = false;
  bool operator==(const RetryPolicy&) const = default;
};

struct JobSpec {
  std::string name;          // [A-Za-z0-9_.-]{1,128}, unique
  Schedule schedule;         // already parsed (carries its zone)
  std::variant<CommandSpec, JobCallable, HttpSpec> action;

  OverlapMode overlap = OverlapMode::allow;
  std::optional<std::chrono::milliseconds> timeout{};      // none: no limit
  std::chrono::milliseconds kill_grace{std::chrono::seconds(10)};  // SIGTERM -> SIGKILL
  MisfirePolicy misfire = MisfirePolicy::skip;
  std::size_t max_catchup = 10;
  std::optional<std::chrono::milliseconds> starting_deadline{};  // none: no limit
  // Each occurrence starts up to this long after its instant, by an amount derived from the job
  // and the instant (the same on every node), less than the gap to the next occurrence.
  std::optional<std::chrono::milliseconds> jitter{};
  Delivery delivery = Delivery::at_most_once;
  RunOn run_on = RunOn::once;
  std::size_t output_tail_bytes = 4096;
  RetryPolicy retry{};
  bool paused = false;
  Hooks hooks{};  // each unset one falls back to the node's default (NodeSettings::hooks)
};

// Returns an error message if the name is not [A-Za-z0-9_.-]{1,128}.
std::optional<std::string> validate_job_name(const std::string& name);

}  // namespace solocron
