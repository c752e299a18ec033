#include "cli/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <set>

#include "cli/event_log.hpp"
#include "cli/health_server.hpp"
#include "cli/store_options.hpp"
#include "config/config.hpp"
#include "solocron/scheduler.hpp"

namespace solocron::cli {

namespace {

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

void apply_overrides(const DaemonOptions& o, detail::Config& c) {
  if (!o.store_url.empty()) c.store_url = o.store_url;
  if (c.store_url.empty()) c.store_url = kDefaultStoreUrl;
  if (!o.node_id.empty()) c.node.node_id = o.node_id;
  if (!o.http_address.empty()) c.http_address = o.http_address;
  if (c.node.node_id.empty()) c.node.node_id = host_name();
}

void log_errors(EventLog& log, const detail::ConfigLoad& load) {
  for (const auto& e : load.errors) log.error("config_error", e.to_string());
}

constexpr int kStoppedBySignal = -1;

// The store may be down when the node starts: that is a partition, not a reason to exit.
// Keep trying until it answers or a signal asks us to stop. Returns 0 when the store is ready,
// else the exit status: 2 for a store that cannot work as configured, 1 otherwise, or
// kStoppedBySignal when SIGTERM/SIGINT arrived while waiting.
int migrate_with_retry(Store& store, EventLog& log, const sigset_t& signals) {
  for (int attempt = 1;; ++attempt) {
    try {
      store.migrate();
      return 0;
    } catch (const StoreError& e) {
      if (e.kind() != StoreError::Kind::unavailable) {
        log.error("store_error", e.what());
        return e.kind() == StoreError::Kind::invalid ? 2 : 1;
      }
      if (attempt == 1 || attempt % 10 == 0) log.warn("store_error", std::string(e.what()) + "; retrying");
    }
    timespec wait{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) return kStoppedBySignal;
  }
}

void reload(Scheduler& scheduler, const DaemonOptions& options, EventLog& log) {
  detail::ConfigLoad load = detail::load_config_file(options.config_path);
  log_errors(log, load);
  if (load.fatal) {
    log.error("reload_rejected", options.config_path + " is unusable; the running jobs are kept");
    return;
  }
  // A job whose new definition is broken keeps running with its old one.
  std::set<std::string> kept(load.bad_jobs.begin(), load.bad_jobs.end());
  for (const auto& name : kept) {
    if (auto old = scheduler.find(name)) {
      load.config.jobs.push_back(old->spec);
      log.warn("reload_kept_old", "job " + name + " keeps its previous definition");
    }
  }
  ApplyResult r = scheduler.apply(std::move(load.config.jobs));
  for (const auto& [job, message] : r.errors) log.error("job_rejected", message);
  log.info("reloaded", std::to_string(r.added.size()) + " added, " +
                           std::to_string(r.removed.size()) + " removed, " +
                           std::to_string(r.changed.size()) + " changed");
}

int serve(Scheduler& scheduler, const DaemonOptions& options, EventLog& log,
          const sigset_t& signals) {
  scheduler.start();
  log.info("node_started", "node " + scheduler.node_id() + " started");
  for (;;) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (auto fatal = scheduler.fatal_error()) {
      log.error("fatal", *fatal);
      scheduler.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    if (sig == SIGHUP) {
      log.info("reload", "SIGHUP: reloading " + options.config_path);
      reload(scheduler, options, log);
    } else if (sig == SIGTERM || sig == SIGINT) {
      log.info("shutdown", std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                               ": no new runs; waiting for running jobs");
      scheduler.shutdown();
      log.info("node_stopped", "lease released, exiting");
      return 0;
    }
  }
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  sigset_t signals = block_signals();
  detail::ConfigLoad load = detail::load_config_file(options.config_path);
  if (load.fatal) {
    for (const auto& e : load.errors) std::cerr << "error: " << e.to_string() << "\n";
    return 2;
  }
  detail::Config& config = load.config;
  apply_overrides(options, config);
  EventLog log(config.node.node_id, config.log_format == "json", config.log_level);
  log_errors(log, load);  // bad jobs are left out; the others run

  // Probes are answered from the start: "not ready" while the store is still out of reach.
  HealthServer health;
  if (!config.http_address.empty()) {
    auto port = health.listen(config.http_address);
    if (!port) {
      log.error("config_error", "node.http: " + port.error());
      return 2;
    }
    log.info("http", "serving /healthz, /readyz and /metrics on port " + std::to_string(*port));
  }

  std::unique_ptr<Store> store;
  try {
    store = open_store(config.store_url);
  } catch (const StoreError& e) {
    log.error("store_error", e.what());
    return e.kind() == StoreError::Kind::invalid ? 2 : 1;
  }
  log.info("store", "using " + store->describe());
  if (int rc = migrate_with_retry(*store, log, signals); rc != 0) {
    if (rc != kStoppedBySignal) return rc;
    log.info("node_stopped", "stopped while waiting for the store");
    return 0;
  }

  std::unique_ptr<Scheduler> scheduler;
  try {
    scheduler = std::make_unique<Scheduler>(config.node, *store);
  } catch (const std::invalid_argument& e) {
    log.error("config_error", e.what());
    return 2;
  }
  scheduler->set_observer(&log);
  for (auto& job : config.jobs) {
    std::string name = job.name;
    if (auto r = scheduler->add(std::move(job)); !r) log.error("job_rejected", r.error());
  }
  health.attach(scheduler.get());
  int rc = serve(*scheduler, options, log, signals);
  health.stop();
  return rc;
}

}  // namespace solocron::cli
