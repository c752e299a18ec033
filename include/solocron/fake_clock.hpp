// FakeClock: a simulated Clock that moves only when told.
//
// Tests drive time explicitly: advance() moves the wall and the steady clock together (time
// passing), step_wall() moves only the wall clock (an NTP step or a VM resume). A thread blocked
// in wait_until() is woken as soon as the steady clock reaches its deadline, so scheduling tests
// are deterministic and never sleep. Safe to use from several threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "solocron/clock.hpp"

namespace solocron {

class FakeClock final : public Clock {
 public:
  // Starts at `wall` (default 2026-01-01T00:00:00Z); the steady clock starts at an arbitrary
  // non-zero point so that code never relies on it being near zero.
  explicit FakeClock(wall_time wall = kDefaultStart);

  wall_time now() const override;
  steady_time steady_now() const override;
  void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                  steady_time deadline) override;

  // Time passes: both clocks move forward by `d` (must not be negative), waking every waiter
  // whose deadline is reached.
  void advance(std::chrono::nanoseconds d);
  // The wall clock is stepped by `d` (either sign); the steady clock does not move.
  void step_wall(std::chrono::nanoseconds d);
  void set_wall(wall_time t);
  // Number of threads currently blocked in wait_until().
  std::size_t waiters() const;

  static constexpr wall_time kDefaultStart =
      wall_time{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}.time_since_epoch()};

 private:
  struct Waiter;
  mutable std::mutex mutex_;
  wall_time wall_;
  steady_time steady_;
  std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace solocron
