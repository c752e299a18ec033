// The backends the conformance suite runs against. Each gives the suite a fresh, empty store
// per test and a way to open more connections to it (threads), by URL from child processes
// (processes), and to let store time pass (a fake clock for memory:, real time elsewhere).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "solocron/store.hpp"
#include "store/memory/memory_store.hpp"

namespace solocron::testing {

class MemoryBackend {
 public:
  static constexpr const char* kName = "memory";
  static constexpr bool kMultiProcess = false;  // process-local by definition
  static constexpr bool kHasSchema = false;

  MemoryBackend()
      : store_(std::make_shared<detail::MemoryStore>(
            [this] { return StoreTime(std::chrono::milliseconds(now_ms_.load())); })) {}
  // All "connections" of a process share the one store.
  std::shared_ptr<Store> connect() { return store_; }
  std::string url() const { return "memory:"; }
  // Store time moves only when told.
  void advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<std::int64_t> now_ms_{1'800'000'000'000};
  std::shared_ptr<detail::MemoryStore> store_;
};

// A fresh database file in a temporary directory removed at the end of the test.
class SqliteBackend {
 public:
  static constexpr const char* kName = "sqlite";
  static constexpr bool kMultiProcess = true;
  static constexpr bool kHasSchema = true;

  SqliteBackend();
  ~SqliteBackend();
  std::shared_ptr<Store> connect() { return open_store(url()); }
  std::string url() const { return "sqlite://" + path_; }
  // SQLite's store clock is the host's clock: time passes for real.
  void advance(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }
  // The store as solocron's schema version 1 left it, holding one succeeded run of `job`
  // at `at` by node "a" with fence 7, exit code 0 and output "v1 output".
  void create_version_1_with_run(const std::string& job, std::chrono::sys_seconds at);
  // The store as schema version 4 left it (before retries and backfill), holding a failed run
  // of `job` at `at` (node "a", fence 7, exit code 2, output "v4 output", message "exit 2")
  // and request 1 (by "alice", note "v4 note") with its succeeded run at `at` + 30 s (fence 8,
  // the fence counter's last).
  void create_version_4_with_runs(const std::string& job, std::chrono::sys_seconds at);

 private:
  std::string dir_;
  std::string path_;
};

// A fresh database on the throwaway PostgreSQL 15 server that the test binary starts
// (scripts/pg-server.sh) on first use and stops when the tests end.
class PostgresBackend {
 public:
  static constexpr const char* kName = "postgres";
  static constexpr bool kMultiProcess = true;
  static constexpr bool kHasSchema = true;

  PostgresBackend();
  ~PostgresBackend();
  std::shared_ptr<Store> connect() { return open_store(url()); }
  std::string url() const { return url_; }
  void advance(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }
  // As SqliteBackend's.
  void create_version_1_with_run(const std::string& job, std::chrono::sys_seconds at);
  void create_version_4_with_runs(const std::string& job, std::chrono::sys_seconds at);

 private:
  std::string database_;
  std::string url_;
};

// The URL of the test server's maintenance database ("postgres"), starting it if needed.
std::string postgres_server_url();
// Stops / starts the test server in place (its data kept), for outage tests.
// This process gets a server of its own even when SOLOCRON_TEST_PG_HOSTPORT names a shared
// one: for tests that halt the server. Call before anything else uses PostgreSQL.
void postgres_server_private();
void postgres_server_halt();
void postgres_server_resume();

}  // namespace solocron::testing
