// NodeSession: the node lease, kept alive for the life of the node (etcd's concurrency.Session,
// client-go's LeaderElector) — cluster contract section 5.
//
// It has its own thread and its own store connection, so no claim batch, state write or slow
// query can delay a renewal. It registers the node (waiting for an expired lease of the same id
// after a crash, giving up when another live process holds the id), renews every heartbeat,
// measures the store's clock at each renewal (ClusterClock), checks the store's identity, and
// keeps renewing until release(), also while a shutdown drains the node's runs.
//
// The lease is valid until node_ttl after the last successful renewal was *sent* (the store
// counts from a later instant, when it applied it), on the monotonic clock. Whoever acts on the
// lease asks valid(); when the deadline passes without a renewal, check_deadline() (armed on the
// timer loop, which never waits on the store) fences the node even while a renewal hangs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "scheduler/cluster_clock.hpp"
#include "scheduler/events.hpp"
#include "solocron/node.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

class NodeSession {
 public:
  using SteadyTime = Clock::steady_time;

  // What the rest of the node does about the lease. Called from the session's thread (or the
  // timer's, for a deadline), never with the session's lock held.
  class Listener {
   public:
    virtual ~Listener() = default;
    // (Re-)registered or renewed after a fence: occurrences nobody claimed meanwhile must be
    // caught up.
    virtual void lease_acquired() = 0;
    // The lease may be gone: stop claiming, stop the running `once` jobs.
    virtual void fenced(const std::string& why) = 0;
    // After every successful renewal: the per-heartbeat work (lost runs, retention, ...).
    virtual void heartbeat() = 0;
    // The lease is valid until `deadline`: arm check_deadline() for then.
    virtual void deadline_moved(SteadyTime deadline) = 0;
  };

  NodeSession(const NodeSettings& settings, std::string node_id, Store& store, Clock& clock,
              ClusterClock& cluster_clock, Events& events, Listener& listener);
  ~NodeSession();  // stops the thread; does not release the lease (release() does)
  NodeSession(const NodeSession&) = delete;
  NodeSession& operator=(const NodeSession&) = delete;

  // First registration attempt, on the caller's thread (so a healthy node is ready when
  // Scheduler::start() returns), then the heartbeat thread.
  void start();
  // Stops renewing and releases the lease (end of a drain). Emits lease_released.
  void release();
  // The watchdog: fences if the lease's deadline has passed without a renewal.
  void check_deadline();
  // The store refused a claim for want of a live lease: renew now rather than at the next beat.
  void renew_soon();
  // The store answered with something it could not have said if it were the store this node
  // started on (a fence lower than one already issued: a database restored from a backup).
  void store_changed(const std::string& why);

  struct View {
    bool held = false;
    std::int64_t token = 0;
    SteadyTime deadline{};
    bool store_ok = true;
    bool identity_ok = true;
    std::optional<std::string> fatal;
  };
  View view() const;
  // Held, within its deadline and on the store the node started on.
  bool valid() const;
  // Waiting for its next heartbeat with nothing to do (for Scheduler::wait_idle).
  bool idle() const;

 private:
  void main();
  void beat();
  void try_register();
  void renew();
  void check_identity();
  void fence(const std::string& why);
  void measure(SteadyTime sent, SteadyTime received, StoreTime store_time);
  void emit_acquired(const std::string& message);

  const NodeSettings& settings_;
  const std::string node_id_;
  Store& store_;
  Clock& clock_;
  ClusterClock& cluster_clock_;
  Events& events_;
  Listener& listener_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool held_ = false;
  std::int64_t token_ = 0;  // of the last lease this node held (0: never registered)
  SteadyTime deadline_{};
  bool store_ok_ = true;
  bool skew_bad_ = false;
  std::optional<std::string> identity_;  // the store id the node started on
  bool identity_ok_ = true;
  std::optional<std::string> fatal_;
  std::optional<SteadyTime> conflict_since_;
  std::optional<StoreTime> conflict_first_renewal_;
  bool started_ = false;
  bool stop_ = false;
  bool wake_ = false;
  bool parked_ = false;
  SteadyTime park_deadline_{};
  std::thread thread_;
};

}  // namespace solocron::detail
