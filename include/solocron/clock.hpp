// Clocks: where the scheduler reads the time and how it waits.
//
// A node fires by the cluster's clock (the store's, measured at every heartbeat) carried on the
// monotonic clock, so a step of the wall clock does not stretch or shrink a sleep nor move a
// fire; the wall clock stands in until the store was first reached, and stamps events. Every
// component that reads the time or waits takes a Clock&, so tests drive time with FakeClock and
// never sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace solocron {

class Clock {
 public:
  using wall_time = std::chrono::system_clock::time_point;
  using steady_time = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual wall_time now() const = 0;
  virtual steady_time steady_now() const = 0;
  // Waits on `cv` (with `lock` held) until notified or until steady_now() >= deadline.
  // FakeClock wakes the waiter when time is advanced past the deadline.
  virtual void wait_until(std::condition_variable_any& cv, std::unique_lock<std::mutex>& lock,
                          steady_time deadline) = 0;
};

// The process's real clocks.
Clock& system_clock();

}  // namespace solocron
