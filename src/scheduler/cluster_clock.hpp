// ClusterClock: the store's clock as this node sees it (cluster contract section 4).
//
// At every heartbeat the node session measures the store's clock in the middle of a round
// trip, as NTP does, and records its offset to the node's monotonic clock. Between
// measurements the estimate runs on the monotonic clock, so a step of the node's wall clock
// (NTP, VM resume) does not move it at all, and every node fires the same instant whatever its
// own wall clock says. Until the first measurement the node's wall clock stands in.
//
// Reads are one atomic load: the timer loop reads this clock on every wake.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "solocron/clock.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

// This node's wall clock at monotonic time `s`, from readings of both clocks taken together: a
// jump between two separate reads (a VM resumed, a test's FakeClock advanced) would pair the
// old wall time with the new monotonic one and be off by the whole jump.
Clock::wall_time wall_at(const Clock& clock, Clock::steady_time s);

class ClusterClock {
 public:
  using WallTime = Clock::wall_time;
  using SteadyTime = Clock::steady_time;

  explicit ClusterClock(const Clock& clock) : clock_(clock) {}

  // The cluster's time at monotonic time `s`.
  WallTime at(SteadyTime s) const;
  WallTime now() const { return at(clock_.steady_now()); }
  // The monotonic time at which the cluster's clock will read `t` (for waiting).
  SteadyTime steady_at(WallTime t) const;

  // A measurement: the store's clock read `store` between `sent` and `received`, while this
  // node's wall clock read `wall` (at the midpoint). Returns how far the estimate moved
  // (measured minus predicted): a large value is a step of the store's clock.
  std::chrono::milliseconds measure(SteadyTime sent, SteadyTime received, StoreTime store,
                                    WallTime wall);
  bool measured() const { return measured_.load(std::memory_order_acquire); }
  // This node's wall clock minus the store's, as last measured (0 before).
  std::chrono::milliseconds wall_offset() const {
    return std::chrono::milliseconds(wall_offset_ms_.load(std::memory_order_relaxed));
  }

 private:
  const Clock& clock_;
  std::atomic<bool> measured_{false};
  std::atomic<std::int64_t> offset_ns_{0};  // store time minus steady time, nanoseconds
  std::atomic<std::int64_t> wall_offset_ms_{0};
};

}  // namespace solocron::detail
