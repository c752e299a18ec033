// `solocron run`. The main thread does one thing throughout: it takes SIGTERM, SIGINT and
// SIGHUP (blocked in every thread, waited for with sigtimedwait). Whatever may take long runs
// on a Background task it polls: reading the file, making the store ready, starting the
// scheduler, reading the file again on SIGHUP. So a signal is answered at any point, and every
// failure of the start-up ends the process with its message instead of a node that hangs.
#include "cli/daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <set>

#include "cli/api_server.hpp"
#include "cli/api_tokens.hpp"
#include "cli/background.hpp"
#include "cli/event_log.hpp"
#include "cli/health_server.hpp"
#include "cli/metrics.hpp"
#include "store/observed_store.hpp"
#include "cli/reload_settings.hpp"
#include "cli/store_options.hpp"
#include "cli/user_text.hpp"
#include "config/http_address.hpp"
#include "cron/duration.hpp"
#include "solocron/scheduler.hpp"

namespace solocron::cli {

namespace {

// Reading a jobs file builds a YAML tree (yaml-cpp: kilobytes per job) on a thread of its own,
// and a reload replaces every job definition; both free far more than they keep, and glibc
// keeps freed memory in its arenas. Handing it back after each load keeps a node's resident
// memory near what it holds (200,000 jobs: 523 MB instead of 1.35 GB, and 615 MB instead of
// 2.3 GB after a reload; bench/daemon_memory.sh, docs/benchmarks.md).
void release_freed_heap() { ::malloc_trim(0); }

using namespace std::chrono_literals;

// Start-up retries of a store that cannot be reached: 1 s, doubling, at most 30 s apart.
constexpr auto kFirstRetry = 1s;
constexpr auto kMaxRetry = 30s;
constexpr timespec kSignalPoll{0, 100'000'000};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "solocron";
  return buf;
}

// Signals are taken synchronously by the main thread; every other thread inherits the mask.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

bool is_stop(int sig) { return sig == SIGTERM || sig == SIGINT; }
const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : "SIGINT"; }

// Polls `task` while taking signals. Returns the first SIGTERM/SIGINT, or 0 once `task` is
// done; a SIGHUP meanwhile sets `hup` (the file is read again once the node serves).
template <class T>
int wait_for(const Background<T>& task, const sigset_t& signals, bool& hup) {
  while (!task.done()) {
    const int sig = sigtimedwait(&signals, nullptr, &kSignalPoll);
    if (is_stop(sig)) return sig;
    if (sig == SIGHUP) hup = true;
  }
  return 0;
}

// The file's settings with the command line's overrides, checked before anything is logged
// or opened: an invalid node id would otherwise be written into log lines first.
std::optional<std::string> apply_overrides(const DaemonOptions& o, detail::Config& c) {
  try {
    c.store_url = resolve_store_url(o.store_url, c.store_url);
  } catch (const StoreError& e) {
    return e.what();
  }
  if (!o.node_id.empty()) {
    if (auto bad = detail::node_id_error(o.node_id)) return "--node-id: " + *bad;
    c.node.node_id = o.node_id;
  }
  if (c.node.node_id.empty()) {
    c.node.node_id = host_name();
    if (auto bad = detail::node_id_error(c.node.node_id)) {
      return "the host name as node id: " + *bad + "; set node.id or --node-id";
    }
  }
  if (!o.http_address.empty()) {
    if (auto a = detail::parse_http_address(o.http_address); !a) return "--http: " + a.error();
    c.http_address = o.http_address;
  }
  // One on the command line is relative to the working directory.
  c.api_tokens_file = tokens_path_in(c.api_tokens_file, c.file);
  if (!o.api_tokens_file.empty()) c.api_tokens_file = o.api_tokens_file;
  return std::nullopt;
}

void log_errors(EventLog& log, const detail::ConfigLoad& load) {
  for (const auto& e : load.errors) log.error("config_error", e.to_string());
}

class Node {
 public:
  Node(const DaemonOptions& options, const sigset_t& signals, detail::Config config)
      : options_(options),
        signals_(signals),
        config_(std::move(config)),
        log_(config_.node.node_id, config_.log_format == "json", config_.log_level),
        metrics_(std::make_shared<Metrics>()),
        observers_(log_, *metrics_),
        api_(api_settings(), [this] { return store_->another_connection(config_.node.store_call_deadline); }),
        health_(*metrics_, &api_) {}

  // `hup`: a SIGHUP came while the file was read (it is read again once the node serves).
  int run(bool hup);

 private:
  std::optional<int> start_in_background();
  int make_store_ready();
  int start_scheduler();
  int serve();
  int stop(int sig);
  void apply_reload(detail::ConfigLoad load);
  void apply_settings(const detail::Config& loaded);
  ApiSettings api_settings();
  // Reads the API's tokens file into the API; false (logged) when it is unusable.
  bool load_api_tokens(const std::string& path, bool at_start);

  enum class Phase { opening, starting };

  const DaemonOptions& options_;
  const sigset_t& signals_;
  detail::Config config_;  // the running configuration
  EventLog log_;
  std::shared_ptr<Metrics> metrics_;  // fed by the scheduler's events and the store's calls
  TeeObserver observers_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  ApiServer api_;  // its own store connection, from store_; goes before store_ does
  HealthServer health_;  // after the scheduler: stops serving before the scheduler goes
  std::atomic<Phase> phase_{Phase::opening};
  bool reload_wanted_ = false;  // a SIGHUP not acted on yet
  std::optional<Background<detail::ConfigLoad>> reloading_;
};

int Node::run(bool hup) {
  reload_wanted_ = hup;
  try {
    store_ = std::make_unique<detail::ObservedStore>(open_store(config_.store_url), metrics_);
  } catch (const StoreError& e) {
    log_.error("store_error", e.what());
    return e.kind() == StoreError::Kind::invalid ? 2 : 1;
  }
  log_.info("store", "using " + store_->describe());
  // Probes are answered from here on: "not ready" while the store is still out of reach.
  if (!config_.http_address.empty()) {
    if (!load_api_tokens(config_.api_tokens_file, true)) return 2;
    auto port = health_.listen(config_.http_address);
    if (!port) {
      log_.error("config_error", "node.http: " + port.error());
      return 2;
    }
    log_.info("http", "serving /healthz, /readyz, /metrics, the API (/api/v1/) and the dashboard (/) on port " +
                          std::to_string(*port));
  }
  if (auto finished = start_in_background()) {
    health_.stop();
    return *finished;
  }
  const int served = serve();
  health_.stop();
  return served;
}

// The store made ready and the scheduler started on a Background task; nullopt when the node
// is to serve, else the exit status. A SIGTERM before the scheduler starts ends the process at
// once: it holds no lease and runs nothing yet, and a store call in progress (a connect may
// take its connect_timeout) must not delay it.
std::optional<int> Node::start_in_background() {
  Background<int> starting([this] {
    if (int rc = make_store_ready(); rc != 0) return rc;
    return start_scheduler();
  });
  int sig = wait_for(starting, signals_, reload_wanted_);
  if (sig != 0 && phase_ == Phase::opening) {
    log_.info("node_stopped", std::string(signal_name(sig)) + " during start-up: exiting");
    exit_now(0);
  }
  const int rc = starting.take();  // the scheduler's start() is one store call: bounded
  if (rc != 0) return rc;
  if (sig != 0) return stop(sig);
  return std::nullopt;
}

// Migrates the store, retrying while it is unavailable (down, refusing connections,
// refusing the password) with a backoff; a configuration error ends the start-up.
int Node::make_store_ready() {
  std::chrono::milliseconds wait = kFirstRetry;
  for (int attempt = 1;; ++attempt) {
    try {
      store_->migrate();
      api_.set_store_ready();
      if (attempt > 1) log_.info("store", "the store answered after " + std::to_string(attempt) + " attempts");
      return 0;
    } catch (const StoreError& e) {
      if (e.kind() != StoreError::Kind::unavailable) {
        log_.error("store_error", e.what());
        return e.kind() == StoreError::Kind::invalid ? 2 : 1;
      }
      log_.warn("store_error", std::string(e.what()) + "; retrying in " +
                                   detail::format_duration(wait) + " (attempt " +
                                   std::to_string(attempt) + ")");
    } catch (const std::exception& e) {
      log_.error("store_error", e.what());
      return 1;
    }
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(wait * 2, kMaxRetry);
  }
}

int Node::start_scheduler() {
  phase_ = Phase::starting;
  try {
    scheduler_ = std::make_unique<Scheduler>(config_.node, *store_);
  } catch (const std::invalid_argument& e) {
    log_.error("config_error", e.what());
    return 2;
  }
  scheduler_->set_observer(&observers_);
  for (auto job : config_.jobs) {
    if (auto r = scheduler_->add(std::move(job)); !r) log_.error("job_rejected", r.error());
  }
  health_.attach(scheduler_.get());
  scheduler_->start();
  log_.info("node_started", "node " + scheduler_->node_id() + " started");
  return 0;
}

int Node::stop(int sig) {
  log_.info("shutdown", std::string(signal_name(sig)) + ": no new runs; waiting for running jobs");
  scheduler_->shutdown();
  log_.info("node_stopped", "drained; exiting");
  // A reload still being read is abandoned, not waited for: its result has no use now.
  if (reloading_ && !reloading_->done()) exit_now(0);
  return 0;
}

int Node::serve() {
  for (;;) {
    if (reload_wanted_ && !reloading_) {
      reload_wanted_ = false;
      log_.info("reload", "SIGHUP: reloading " + options_.config_path);
      reloading_.emplace([path = options_.config_path, limits = options_.limits] {
        return detail::load_config_file(path, limits);
      });
    }
    const int sig = sigtimedwait(&signals_, nullptr, &kSignalPoll);
    if (auto fatal = scheduler_->fatal_error()) {
      log_.error("fatal", *fatal);
      scheduler_->shutdown(std::chrono::milliseconds(0));
      if (reloading_ && !reloading_->done()) exit_now(1);
      return 1;
    }
    if (is_stop(sig)) return stop(sig);
    if (sig == SIGHUP) reload_wanted_ = true;  // during a reload: read once more after it
    if (reloading_ && reloading_->done()) {
      detail::ConfigLoad load = reloading_->take();
      reloading_.reset();
      apply_reload(std::move(load));
    }
  }
}

// Logs what the reload does with the node settings and applies those that can change live.
// The log level changes last, after the reload's own lines.
void Node::apply_settings(const detail::Config& loaded) {
  SettingsChange change = compare_node_settings(config_, loaded);
  auto names = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& n : v) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (!change.need_restart.empty()) {
    log_.warn("reload", "node settings changed that take effect only after a restart: " +
                            names(change.need_restart) + "; the running values are kept");
  }
  if (!change.applied.empty()) {
    log_.info("reload", "node settings applied: " + names(change.applied));
    config_.node.default_time_zone = loaded.node.default_time_zone;  // the jobs are read in it
    config_.log_level = loaded.log_level;
  }
}

ApiSettings Node::api_settings() {
  ApiSettings s;
  s.node_id = config_.node.node_id;
  s.loopback_bind = is_loopback_address(config_.http_address);
  s.audit = [this](bool refused, const std::string& line) {
    if (refused) {
      log_.warn("api_refused", line);
    } else {
      log_.info("api_operation", line);
    }
  };
  return s;
}

bool Node::load_api_tokens(const std::string& path, bool at_start) {
  if (path.empty()) {
    api_.set_tokens(std::nullopt);
    return true;
  }
  auto tokens = ApiTokens::load(path);
  if (!tokens) {
    log_.error("api_tokens_rejected", tokens.error() + (at_start ? "" : "; the tokens in force are kept"));
    return false;
  }
  if (auto who = readable_by_others(path)) {
    log_.warn("api_tokens", path + " may be read by its " + *who + ": it holds secrets (chmod 600)");
  }
  log_.info("api_tokens", std::to_string(tokens->size()) + " API token(s) from " + path);
  api_.set_tokens(std::move(*tokens));
  return true;
}

void Node::apply_reload(detail::ConfigLoad load) {
  log_errors(log_, load);
  metrics_->set_config_errors(load.errors.size());
  if (load.fatal) {
    log_.error("reload_rejected", options_.config_path + " is unusable; the running jobs are kept");
    return;
  }
  detail::Config& loaded = load.config;
  if (auto bad = apply_overrides(options_, loaded)) {
    log_.error("reload_rejected", *bad + "; the running jobs are kept");
    return;
  }
  apply_settings(loaded);
  if (!config_.http_address.empty() && load_api_tokens(loaded.api_tokens_file, false)) {
    config_.api_tokens_file = loaded.api_tokens_file;
  }
  // A job whose new definition is broken keeps running with its old one.
  std::set<std::string> kept(load.bad_jobs.begin(), load.bad_jobs.end());
  for (const auto& name : kept) {
    if (auto old = scheduler_->find(name)) {
      loaded.jobs.push_back(old->spec);
      log_.warn("reload_kept_old", "job " + name + " keeps its previous definition");
    }
  }
  ApplyResult r = scheduler_->apply(std::move(loaded.jobs));
  for (const auto& [job, message] : r.errors) log_.error("job_rejected", message);
  log_.info("reloaded", std::to_string(r.added.size()) + " added, " +
                            std::to_string(r.removed.size()) + " removed, " +
                            std::to_string(r.changed.size()) + " changed");
  log_.set_level(config_.log_level);
  release_freed_heap();
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  const sigset_t signals = block_signals();
  bool hup = false;
  Background<detail::ConfigLoad> reading([&options] {
    return detail::load_config_file(options.config_path, options.limits);
  });
  if (int sig = wait_for(reading, signals, hup); sig != 0) {
    std::fprintf(stderr, "%s while reading %s: exiting\n", signal_name(sig),
                 text_line(options.config_path).c_str());
    exit_now(0);
  }
  detail::ConfigLoad load = reading.take();
  // `run` starts only with a file `check` accepts: the same reading, the same verdict.
  if (!load.errors.empty()) {
    for (const auto& e : load.errors) print_error(e.to_string());
    return 2;
  }
  detail::Config config = std::move(load.config);
  release_freed_heap();  // before the scheduler forks its guardian, which would share it
  if (auto bad = apply_overrides(options, config)) {
    print_error(*bad);
    return 2;
  }
  Node node(options, signals, std::move(config));
  return node.run(hup);
}

}  // namespace solocron::cli
